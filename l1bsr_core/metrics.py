"""Image-quality metrics: PSNR, SSIM, the PROBA-V challenge's shift-tolerant scores, flow error.

:func:`psnr`, :func:`ssim`, and the shift-tolerant, bias-corrected :func:`cpsnr` /
:func:`cssim` / :func:`tilewise_cpsnr` of the PROBA-V challenge compare one band (H, W) of an
estimate with a reference; :func:`flow_epe` compares flows ((..., 2, H, W), channel 0 = dx,
1 = dy, pixels); :func:`ncc` and :func:`bandpass_energy` check that a processed band is still
itself (its texture, its detail); :func:`border_ring_gain` scores an image's outer ring against a
baseline's (the frame a network can leave along the edges); :func:`bright_points` and
:func:`halo_depth` measure dark rings around bright points. Every function takes numpy arrays
(any real dtype) and computes in float64.
Registration algorithms are in :mod:`l1bsr_core.classical_registration` and the networks; the
misregistration estimators in :mod:`l1bsr_core.misregistration`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .arrays import as_band, as_band_pair

__all__ = ["psnr", "ssim", "cpsnr", "cssim", "tilewise_cpsnr", "flow_epe", "ncc", "bandpass_energy",
           "border_ring", "border_ring_gain", "bright_points", "halo_depth"]

SSIM_SIGMA = 1.5
"""Gaussian window of SSIM (Wang et al. 2004): sigma 1.5 px, truncated to 11 × 11."""

_SSIM_RADIUS = 5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03

BANDPASS_SIGMAS_PX = (0.7, 2.0)
"""Fine and coarse Gaussian standard deviations (px) of :func:`bandpass_energy`'s difference of
Gaussians. Its response peaks at a period of about 6 px and is at least half the peak for periods
of about 3 to 13 px (the detail a blur removes first); at Nyquist it is 0.14 of the peak (mostly
noise and aliasing there), and it removes the mean level and slow ramps."""


def _data_range(reference: np.ndarray, data_range) -> float:
    value = float(np.ptp(reference)) if data_range is None else float(data_range)
    if not value > 0:
        raise ValueError(
            f"data_range must be positive; got {value} (a constant reference needs an explicit one)"
        )
    return value


def psnr_from_mse(mse: float, data_range: float) -> float:
    """``10 log10(data_range² / mse)`` in dB (``inf`` for ``mse`` 0): the one PSNR formula."""
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def psnr(estimate, reference, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(data_range² / MSE)``.

    Args:
        estimate, reference: (H, W) arrays (one band).
        data_range: the signal's peak-to-peak range in the arrays' units (e.g. 4095 for 12-bit
            DN); default ``reference.max() - reference.min()``.

    Returns:
        PSNR in dB (``inf`` for identical images).
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    data_range = _data_range(reference, data_range)
    return psnr_from_mse(float(np.mean((estimate - reference) ** 2)), data_range)


def _ssim_map(estimate: np.ndarray, reference: np.ndarray, data_range: float) -> np.ndarray:
    def blur(image):
        truncate = _SSIM_RADIUS / SSIM_SIGMA
        return ndimage.gaussian_filter(image, SSIM_SIGMA, truncate=truncate, mode="reflect")

    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    mu_e, mu_r = blur(estimate), blur(reference)
    var_e = blur(estimate * estimate) - mu_e**2
    var_r = blur(reference * reference) - mu_r**2
    cov = blur(estimate * reference) - mu_e * mu_r
    numerator = (2 * mu_e * mu_r + c1) * (2 * cov + c2)
    denominator = (mu_e**2 + mu_r**2 + c1) * (var_e + var_r + c2)
    r = _SSIM_RADIUS
    return (numerator / denominator)[r:-r, r:-r]


def ssim(estimate, reference, data_range: float | None = None) -> float:
    """Structural similarity (Wang et al. 2004) with an 11 × 11 Gaussian window (sigma 1.5).

    Constants K1 = 0.01, K2 = 0.03; the mean is taken over pixels at least 5 px from the border
    (where the window lies inside the image).

    Args:
        estimate, reference: (H, W) arrays (one band), at least 11 px on each side.
        data_range: as in :func:`psnr`; default ``reference.max() - reference.min()``.

    Returns:
        Mean SSIM, at most 1 (identical images).
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    if min(reference.shape) <= 2 * _SSIM_RADIUS:
        raise ValueError(
            f"ssim needs images larger than {2 * _SSIM_RADIUS} px; got {reference.shape}"
        )
    return float(_ssim_map(estimate, reference, _data_range(reference, data_range)).mean())


def _check_shift_border(shape, max_shift: int, border: int | None) -> tuple[int, int]:
    max_shift = int(max_shift)
    border = max_shift if border is None else int(border)
    if max_shift < 0 or border < max_shift:
        raise ValueError(
            f"need 0 <= max_shift <= border; got max_shift {max_shift}, border {border}"
        )
    if min(shape) <= 2 * border:
        raise ValueError(f"images {shape} are too small for a border of {border} px")
    return max_shift, border


def _bias_corrected_mse(reference: np.ndarray, estimate: np.ndarray) -> tuple[float, float]:
    """MSE after removing the brightness bias ``mean(reference - estimate)``; returns (mse, bias)."""
    difference = reference - estimate
    bias = float(difference.mean())
    return float(np.mean((difference - bias) ** 2)), bias


def _best_shift(estimate, reference, max_shift: int, rows: slice, cols: slice, subpixel: int = 1):
    """Best shift of the PROBA-V cPSNR over one region of the reference.

    ``reference[rows, cols]`` is compared with the same-size region of ``estimate`` displaced
    by (sy, sx) in ±``max_shift`` (the region must stay ``max_shift`` px inside the image),
    after removing the bias mean(reference − estimate). With ``subpixel`` > 1 the best integer
    shift is then refined on a grid of step ``1 / subpixel`` px within ±0.5 px of it (the
    estimate resampled by cubic splines; the region must then stay ``max_shift + 1`` px inside).
    Returns ``(mse, (sy, sx), bias, reference_crop, estimate_crop)`` for the smallest MSE.
    """
    ref_crop = reference[rows, cols]
    best = None
    for sy in range(-max_shift, max_shift + 1):
        for sx in range(-max_shift, max_shift + 1):
            est_crop = estimate[rows.start + sy : rows.stop + sy, cols.start + sx : cols.stop + sx]
            mse, bias = _bias_corrected_mse(ref_crop, est_crop)
            if best is None or mse < best[0]:
                best = (mse, (sy, sx), bias, ref_crop, est_crop)
    if subpixel <= 1:
        return best
    sy, sx = best[1]
    pad = 2  # spline context around the region, px
    window = estimate[rows.start + sy - pad : rows.stop + sy + pad, cols.start + sx - pad : cols.stop + sx + pad]
    fractions = np.arange(-subpixel // 2, subpixel // 2 + 1) / subpixel
    coefficients = ndimage.spline_filter(window, order=3, mode="nearest")
    for fy in fractions:
        for fx in fractions:
            if fy == 0 and fx == 0:
                continue
            moved = ndimage.shift(coefficients, (-fy, -fx), order=3, mode="nearest", prefilter=False)
            est_crop = moved[pad:-pad, pad:-pad]
            mse, bias = _bias_corrected_mse(ref_crop, est_crop)
            if mse < best[0]:
                best = (mse, (sy + fy, sx + fx), bias, ref_crop, est_crop)
    return best


def _inner(shape, border: int) -> tuple[slice, slice]:
    return slice(border, shape[0] - border), slice(border, shape[1] - border)


def cpsnr(
    estimate,
    reference,
    *,
    max_shift: int = 2,
    data_range: float | None = None,
    border: int | None = None,
) -> float:
    """Shift-tolerant, bias-corrected PSNR (cPSNR of the PROBA-V super-resolution challenge).

    The reference is cropped by ``border`` px on each side; for every integer shift (sy, sx)
    in ±``max_shift`` the estimate's crop of the same size displaced by (sy, sx) is compared
    after removing the mean difference (brightness bias); the best (highest) PSNR is kept.

    Args:
        estimate, reference: (H, W) arrays (one band).
        max_shift: largest integer shift tried, in pixels, along each axis.
        data_range: peak-to-peak range for the PSNR, in the arrays' units (e.g. 4095 for 12-bit
            DN); default ``reference.max() - reference.min()`` of the whole reference.
        border: pixels excluded on each side of the reference; default (and minimum)
            ``max_shift``.

    Returns:
        cPSNR in dB (``inf`` if some shift matches exactly up to a constant).
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    data_range = _data_range(reference, data_range)
    max_shift, border = _check_shift_border(reference.shape, max_shift, border)
    mse = _best_shift(estimate, reference, max_shift, *_inner(reference.shape, border))[0]
    return psnr_from_mse(mse, data_range)


def cssim(
    estimate,
    reference,
    *,
    max_shift: int = 2,
    data_range: float | None = None,
    border: int | None = None,
) -> float:
    """SSIM at the integer shift and bias chosen by :func:`cpsnr` (same arguments).

    The shift and bias maximising cPSNR are applied to the estimate's crop, then :func:`ssim`
    compares it with the cropped reference. (The shift is chosen by MSE, not re-optimised for
    SSIM: cheaper, and the two scores then describe the same alignment.)
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    data_range = _data_range(reference, data_range)
    max_shift, border = _check_shift_border(reference.shape, max_shift, border)
    _, _, bias, ref_crop, est_crop = _best_shift(
        estimate, reference, max_shift, *_inner(reference.shape, border)
    )
    return ssim(est_crop + bias, ref_crop, data_range)


def tilewise_cpsnr(
    estimate,
    reference,
    *,
    tiles: int = 4,
    max_shift: int = 2,
    data_range: float | None = None,
    subpixel: int = 1,
) -> float:
    """cPSNR tolerant of a shift that varies across the image: each tile gets its own best shift.

    The reference, cropped by ``max_shift`` px on each side as in :func:`cpsnr`, is split into
    ``tiles`` × ``tiles`` near-equal tiles; each tile finds its own best integer shift in
    ±``max_shift`` and bias, as in :func:`cpsnr` (the displaced estimate may read pixels of
    neighbouring tiles). The tiles' best MSEs are pooled (pixel-weighted mean) into one PSNR:
    pooling MSE rather than averaging per-tile PSNRs keeps a flat tile with a tiny MSE from
    dominating. With ``tiles=1`` this equals :func:`cpsnr`.

    Args:
        estimate, reference: (H, W) arrays (one band).
        tiles: tiles per side.
        max_shift: largest integer shift per tile, in pixels.
        data_range: as in :func:`cpsnr`, taken from the whole reference by default.
        subpixel: 1 = integer shifts only (PROBA-V); n > 1 refines each tile's shift to 1/n px
            (the reference's own sub-pixel band misregistration then stops counting as error).

    Returns:
        PSNR of the pooled MSE, in dB.
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    data_range = _data_range(reference, data_range)
    max_shift, border = _check_shift_border(reference.shape, max_shift, None)
    if subpixel > 1:  # room for the refinement's half pixel and the spline's context
        max_shift, border = _check_shift_border(reference.shape, max_shift, max_shift + 3)
    tiles = int(tiles)
    rows, cols = _inner(reference.shape, border)
    inner_h, inner_w = rows.stop - rows.start, cols.stop - cols.start
    if tiles < 1 or min(inner_h, inner_w) < tiles:
        raise ValueError(
            f"cannot split {reference.shape} (less a {border} px border) "
            f"into {tiles} × {tiles} tiles"
        )
    edges_y = border + np.linspace(0, inner_h, tiles + 1).round().astype(int)
    edges_x = border + np.linspace(0, inner_w, tiles + 1).round().astype(int)
    total, count = 0.0, 0
    for y0, y1 in zip(edges_y[:-1], edges_y[1:]):
        for x0, x1 in zip(edges_x[:-1], edges_x[1:]):
            rows, cols = slice(y0, y1), slice(x0, x1)
            mse, _, _, ref_crop, _ = _best_shift(estimate, reference, max_shift, rows, cols, subpixel)
            total += mse * ref_crop.size
            count += ref_crop.size
    return psnr_from_mse(total / count, data_range)


def flow_epe(estimated, true, *, border: int = 0) -> float:
    """Mean endpoint error between two flows, in pixels.

    Args:
        estimated, true: (..., 2, H, W) arrays of the same shape, channel 0 = dx, 1 = dy.
        border: pixels excluded on each side of H and W.

    Returns:
        Mean over all leading indices and remaining pixels of ``hypot(Δdx, Δdy)``.
    """
    estimated = np.asarray(estimated, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if estimated.shape != true.shape or estimated.ndim < 3 or estimated.shape[-3] != 2:
        raise ValueError(
            f"flows must both be (..., 2, H, W) with the same shape; "
            f"got {estimated.shape} and {true.shape}"
        )
    height, width = estimated.shape[-2:]
    border = int(border)
    if border < 0 or 2 * border >= min(height, width):
        raise ValueError(f"border {border} does not fit flows of size {height} × {width}")
    difference = (estimated - true)[..., border : height - border, border : width - border]
    return float(np.hypot(difference[..., 0, :, :], difference[..., 1, :, :]).mean())


def ncc(first, second) -> float:
    """Normalised cross-correlation (Pearson correlation) of two bands, in [-1, 1].

    Args:
        first, second: (H, W) arrays of the same shape (crop borders first if they should not
            count).

    Returns:
        ``mean((a - mean a)(b - mean b)) / (std a · std b)``; 1 for images equal up to a
        positive gain and an offset.

    Raises:
        ValueError: for a constant image (its correlation is undefined).
    """
    first, second = as_band_pair(first, second, ("first", "second"))
    a, b = first - first.mean(), second - second.mean()
    norm = math.sqrt(float(np.sum(a * a)) * float(np.sum(b * b)))
    if norm == 0:
        raise ValueError("ncc is undefined for a constant image")
    return float(np.sum(a * b)) / norm


def bandpass_energy(image, *, sigmas: tuple[float, float] = BANDPASS_SIGMAS_PX, border: int = 0) -> float:
    """Mean squared band-pass response of one band: how much mid-frequency detail it holds.

    The band-pass is a difference of Gaussians, ``G(sigmas[0]) * image - G(sigmas[1]) * image``
    (reflected borders), computed on the whole image; its square is then averaged over pixels at
    least ``border`` px from the edges. The unit is the image's squared unit (DN²). Compare two
    versions of the same band by their ratio (e.g. registered / input).

    Args:
        image: (H, W) array.
        sigmas: (fine, coarse) Gaussian standard deviations in px, fine < coarse.
        border: pixels left out on each side.
    """
    image = as_band(image, "image")
    fine, coarse = (float(s) for s in sigmas)
    if not 0 < fine < coarse:
        raise ValueError(f"need 0 < fine < coarse sigma; got {sigmas}")
    border = int(border)
    if border < 0 or 2 * border >= min(image.shape):
        raise ValueError(f"border {border} does not fit an image of size {image.shape}")
    response = (ndimage.gaussian_filter(image, fine, mode="reflect")
                - ndimage.gaussian_filter(image, coarse, mode="reflect"))
    inner = response[border : image.shape[0] - border, border : image.shape[1] - border]
    return float(np.mean(inner * inner))


RING_PX = 8
"""Width (px) of the outer ring :func:`border_ring_gain` scores: the frame that zero padding at the
image edge leaves in a network's output is 3–4 px wide (of a 2× output), its ripple reaches ~8."""


def border_ring(shape, width: int = RING_PX) -> np.ndarray:
    """(H, W) bool: the pixels less than ``width`` px from an edge of an image of ``shape``."""
    height, width_px = int(shape[0]), int(shape[1])
    if width < 1 or 2 * width >= min(height, width_px):
        raise ValueError(f"a ring of {width} px does not fit an image of size {height} × {width_px}")
    ring = np.ones((height, width_px), bool)
    ring[width:height - width, width:width_px - width] = False
    return ring


def border_ring_gain(estimate, baseline, reference, *, width: int = RING_PX) -> float:
    """How much better ``estimate`` is than ``baseline`` on the outer ring of ``width`` px, dB.

    ``10 log10(MSE(baseline) / MSE(estimate))`` over :func:`border_ring` against ``reference``,
    no shift and no bias correction (the edge is where a shift would read outside the image).
    Positive: the estimate is better there. All three (H, W), on the same grid and geometry (for
    a 2× output: a band not moved by registration, e.g. G, at reduced scale or on simulated pairs).
    """
    estimate, reference = as_band_pair(estimate, reference, ("estimate", "reference"))
    baseline, _ = as_band_pair(baseline, reference, ("baseline", "reference"))
    ring = border_ring(reference.shape, width)
    mse_estimate = float(np.mean((estimate[ring] - reference[ring]) ** 2))
    mse_baseline = float(np.mean((baseline[ring] - reference[ring]) ** 2))
    if mse_estimate == 0 or mse_baseline == 0:
        return math.inf if mse_estimate == 0 and mse_baseline > 0 else (0.0 if mse_estimate == 0 else -math.inf)
    return 10.0 * math.log10(mse_baseline / mse_estimate)


HALO_RING_PX = (2.0, 4.0)
"""Inner and outer radius (px, Euclidean) of the ring around a bright point where a dark halo is
looked for (of a 2× output: 1–2 input pixels, where bicubic's and a network's ringing lies)."""
HALO_BACKGROUND_PX = (6.0, 10.0)
"""Radii of the annulus whose median is a point's local background (beyond the halo)."""
BRIGHT_POINT_CONTRAST = 0.5
"""A bright point rises at least this fraction of its local background above it."""
BRIGHT_POINT_PEAK_PX = 2
"""A bright point is the maximum of the (2·r + 1)² window around it, r = this."""


def _disc_offsets(inner: float, outer: float) -> np.ndarray:
    r = int(math.ceil(outer))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    distance = np.hypot(dy, dx)
    keep = (distance >= inner) & (distance <= outer)
    return np.stack((dy[keep], dx[keep]), axis=1)


def _ring_values(image: np.ndarray, points: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """(n, k): ``image`` at the k offsets of the annulus [inner, outer] around each of n points (rows, cols)."""
    offsets = _disc_offsets(inner, outer)
    rows = points[:, :1] + offsets[None, :, 0]
    cols = points[:, 1:] + offsets[None, :, 1]
    return image[rows, cols]


def bright_points(image, *, contrast: float = BRIGHT_POINT_CONTRAST, peak_px: int = BRIGHT_POINT_PEAK_PX,
                  max_points: int | None = None) -> np.ndarray:
    """Bright points of one band: (n, 2) int rows and columns, brightest contrast first.

    A pixel is a bright point when it is the maximum of the (2·``peak_px`` + 1)² window around it
    and exceeds the local background (the median of the annulus :data:`HALO_BACKGROUND_PX`) by at
    least ``contrast`` times that background: roofs, cars, glints (not the edge of a large bright
    field, whose annulus is half bright). Points closer to the border than the annulus are left out.
    """
    image = as_band(image, "image")
    reach = int(math.ceil(HALO_BACKGROUND_PX[1]))
    if min(image.shape) <= 2 * reach:
        raise ValueError(f"image {image.shape} is too small to look for bright points")
    peaks = image == ndimage.maximum_filter(image, size=2 * peak_px + 1, mode="nearest")
    peaks[:reach], peaks[-reach:], peaks[:, :reach], peaks[:, -reach:] = False, False, False, False
    points = np.argwhere(peaks)
    if not len(points):
        return points
    background = np.median(_ring_values(image, points, *HALO_BACKGROUND_PX), axis=1)
    rise = image[points[:, 0], points[:, 1]] - background
    keep = (background > 0) & (rise >= contrast * background)
    points, rise = points[keep], rise[keep]
    points = points[np.argsort(-rise, kind="stable")]
    return points if max_points is None else points[:max_points]


def halo_depth(image, points, *, ring_px: tuple[float, float] = HALO_RING_PX) -> float:
    """How dark the ring around bright points goes, as a fraction of the points' height (median).

    For each point (rows, cols of ``image``, e.g. from :func:`bright_points` on a common
    reference so that every method is measured at the same places): ``(min over the ring
    ring_px − background) / (peak − background)``, background the median of the annulus
    :data:`HALO_BACKGROUND_PX`, peak the maximum of ``image`` within ``ring_px[0]`` of the point.
    0 = no undershoot below the background; −0.1 = the ring dips 10 % of the point's height
    below it. Returns the median over points (NaN when there are none).
    """
    image = as_band(image, "image")
    points = np.asarray(points, dtype=int).reshape(-1, 2)
    if not len(points):
        return math.nan
    background = np.median(_ring_values(image, points, *HALO_BACKGROUND_PX), axis=1)
    peak = _ring_values(image, points, 0.0, ring_px[0] - 1e-9).max(axis=1)
    floor = _ring_values(image, points, *ring_px).min(axis=1)
    height = np.maximum(peak - background, 1e-9)
    return float(np.median((floor - background) / height))
