"""Pictures of BGRN crops and flows: numpy in, uint8 RGB (or PNG bytes) out.

Images are (H, W, 4) arrays in band order B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); any real
dtype is accepted. Flows follow :mod:`l1bsr_core.warp`: (2, H, W) in pixels, channel 0 = dx
(right), channel 1 = dy (down), with ``registered(y, x) = band(y + dy, x + dx)``; a stack of
flows is (3, 2, H, W) for B, R, NIR onto G.

Comparisons are honest when both sides go through the same :class:`Stretch`: compute it once on
the input and apply it to the input and to the output, so a brightness difference on screen is
a difference in the data. Figures with axes and legends (matplotlib) are in
:mod:`l1bsr_demo.figures`.
"""

from __future__ import annotations

import functools
import io as _io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from l1bsr_core.bands import BAND_NAMES, BLUE, GREEN, N_BANDS, NIR, RED, band_index
from l1bsr_core.resample import block_mean

DISPLAY_MODES: dict[str, tuple[int, ...]] = {
    "true": (RED, GREEN, BLUE),
    "false": (NIR, RED, GREEN),
    "B": (BLUE,),
    "G": (GREEN,),
    "R": (RED,),
    "NIR": (NIR,),
}
"""Display mode → bands shown as (red, green, blue) channels; one band is shown in grey."""

MODE_LABELS: dict[str, str] = {
    "true": "True colour (R, G, B)",
    "false": "False colour (NIR, R, G)",
    "B": "Blue band (B2)",
    "G": "Green band (B3)",
    "R": "Red band (B4)",
    "NIR": "Near infrared (B8)",
}
"""Display mode → words for a menu."""

BOX_LINE_FRACTION = 1 / 240
"""Width of a drawn box's line as a fraction of the picture's longer side (:func:`box_line_width`)."""

DEFAULT_PERCENTILES = (1.0, 99.0)

# Colour wheel anchors (hue position in [0, 1) → RGB in [0, 1]). The arc lengths between anchors
# follow the Middlebury flow wheel's proportions (red→yellow 15, yellow→green 6, green→cyan 4,
# cyan→blue 11, blue→magenta 13, magenta→red 6), which spreads the hues evenly to the eye.
_WHEEL_STEPS = (15, 6, 4, 11, 13, 6)
_WHEEL_COLOURS = np.array(
    [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1], [1, 0, 0]], dtype=np.float64
)
_WHEEL_POSITIONS = np.concatenate(([0.0], np.cumsum(_WHEEL_STEPS) / sum(_WHEEL_STEPS)))
_OUT_OF_RANGE_DIM = 0.75

FRINGE_SIGMA = 1.5
"""Gaussian blur (px) removed from each band to keep only the detail shown by :func:`fringe`."""

FRINGE_MATCH_SIGMA = 3.0
"""Gaussian window (px) over which :func:`matched_detail` measures the sign and the gain that
relate a band's detail to G's."""

FRINGE_GAIN = 2.0
"""Factor applied to the G − band difference in :func:`fringe` so that 1 px fringes are visible."""


# === Contrast ================================================================================


@dataclass(frozen=True)
class Stretch:
    """A linear contrast stretch per band: ``(value - low) / (high - low)``, clipped to [0, 1].

    Compute it once from the input with :meth:`from_image`, then apply it to every image that is
    compared with that input (an upsampled input, a super-resolved or registered output).
    """

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def from_image(
        cls,
        image: np.ndarray,
        *,
        percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
        shared: bool = False,
    ) -> Stretch:
        """Percentile stretch of an (H, W, C) image.

        Args:
            image: (H, W, C) array, C bands (4 for BGRN).
            percentiles: lower and upper percentile mapped to black and white.
            shared: one range for all bands (keeps the bands' relative brightness) instead of
                one range per band.
        """
        image = _as_hwc(image)
        lo_p, hi_p = percentiles
        if shared:
            lo, hi = np.percentile(image, (lo_p, hi_p))
            low, high = np.full(image.shape[-1], lo), np.full(image.shape[-1], hi)
        else:
            flat = image.reshape(-1, image.shape[-1])
            low, high = np.percentile(flat, (lo_p, hi_p), axis=0)
        high = np.maximum(high, low + 1e-6)  # a constant band maps to black, not NaN
        return cls(tuple(float(v) for v in low), tuple(float(v) for v in high))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """(H, W, C) image → float32 (H, W, C) in [0, 1]."""
        image = _as_hwc(image)
        if image.shape[-1] != len(self.low):
            raise ValueError(f"stretch has {len(self.low)} bands, image has {image.shape[-1]}")
        low = np.asarray(self.low, np.float64)
        span = np.maximum(np.asarray(self.high, np.float64) - low, 1e-12)  # before rounding to float32
        return np.clip((image.astype(np.float32) - low.astype(np.float32)) / span.astype(np.float32), 0.0, 1.0)


def _as_hwc(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image; got shape {image.shape}")
    return image


def _to_uint8(unit: np.ndarray) -> np.ndarray:
    return np.round(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def render(bgrn: np.ndarray, mode: str = "true", stretch: Stretch | None = None) -> np.ndarray:
    """Display a BGRN image as uint8 (H, W, 3) RGB.

    Args:
        bgrn: (H, W, 4) array, bands B, G, R, NIR.
        mode: a key of :data:`DISPLAY_MODES` ("true", "false", or one band name).
        stretch: contrast to use; default computed from ``bgrn`` itself (pass the input's stretch
            to compare an output with its input).
    """
    bgrn = _as_hwc(bgrn)
    if bgrn.shape[-1] != N_BANDS:
        raise ValueError(f"expected {N_BANDS} bands ({', '.join(BAND_NAMES)}); got shape {bgrn.shape}")
    if mode not in DISPLAY_MODES:
        raise ValueError(f"unknown display mode {mode!r}; expected one of {', '.join(DISPLAY_MODES)}")
    stretch = stretch or Stretch.from_image(bgrn)
    bands = DISPLAY_MODES[mode]
    unit = stretch.apply(bgrn)[..., list(bands)]
    if len(bands) == 1:
        unit = np.repeat(unit, 3, axis=-1)
    return _to_uint8(unit)


# === Crops and boxes =========================================================================


def _check_box(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, w, h = (int(v) for v in box)
    if w <= 0 or h <= 0 or x0 < 0 or y0 < 0 or x0 + w > shape[1] or y0 + h > shape[0]:
        raise ValueError(f"box (x0={x0}, y0={y0}, w={w}, h={h}) does not fit an image of {shape[1]} × {shape[0]} px")
    return x0, y0, w, h


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The part of an (H, W, ...) image inside ``box`` = (x0, y0, width, height), in pixels."""
    x0, y0, w, h = _check_box(np.shape(image), box)
    return image[y0 : y0 + h, x0 : x0 + w]


def zoom(image: np.ndarray, box: tuple[int, int, int, int], factor: int) -> np.ndarray:
    """Crop ``box`` = (x0, y0, width, height) and enlarge it ``factor`` times, nearest neighbour."""
    part = crop(image, box)
    return np.repeat(np.repeat(part, factor, axis=0), factor, axis=1)


def detail_box(image: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """The ``size`` × ``size`` window with the most edges (sum of gradient magnitude) of an (H, W, C) image.

    Returns (x0, y0, size, size), clipped to the image. Used to pick a zoom that shows detail.
    """
    image = _as_hwc(image)
    height, width = image.shape[:2]
    size = int(min(size, height, width))
    energy = edges(image).sum(axis=-1, dtype=np.float64)
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size])
    y0, x0 = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(x0), int(y0), size, size


def draw_box(rgb: np.ndarray, box: tuple[int, int, int, int], colour=(255, 214, 0), width: int = 2) -> np.ndarray:
    """A copy of uint8 (H, W, 3) ``rgb`` with the outline of ``box`` = (x0, y0, w, h) drawn on it."""
    x0, y0, w, h = _check_box(rgb.shape, box)
    out = np.array(rgb, copy=True)
    x1, y1 = x0 + w, y0 + h
    width = max(1, min(width, w // 2, h // 2))
    out[y0 : y0 + width, x0:x1] = colour
    out[y1 - width : y1, x0:x1] = colour
    out[y0:y1, x0 : x0 + width] = colour
    out[y0:y1, x1 - width : x1] = colour
    return out


# === Misregistration made visible ============================================================


def edges(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of each band of an (H, W, C) image (central differences), float32."""
    image = _as_hwc(image).astype(np.float32)
    gy, gx = np.gradient(image, axis=(0, 1))
    return np.hypot(gx, gy)


def details(image: np.ndarray, sigma: float = FRINGE_SIGMA) -> np.ndarray:
    """Fine detail of each band of an (H, W, C) image: the image minus its Gaussian blur, float32.

    Signed (a bright line gives a positive ridge with negative sides), so a shifted band shows
    its ridge beside the reference's, and free of the bands' different brightness levels.
    """
    image = _as_hwc(image).astype(np.float32)
    return image - ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="reflect")


def matched_detail(reference: np.ndarray, other: np.ndarray, sigma: float = FRINGE_MATCH_SIGMA) -> np.ndarray:
    """``other``'s (H, W) detail with the local sign and strength of ``reference``'s, float32.

    Over a Gaussian window of ``sigma`` px, the sign of the two details' covariance and the ratio
    of their energies: NIR's edges, often of the opposite sign to G's (vegetation is bright in
    NIR, dark in the visible) and of another strength, become comparable with G's. A scalar per
    window cannot move an edge, so a shift between the bands stays visible.
    """
    smooth = functools.partial(ndimage.gaussian_filter, sigma=sigma, mode="reflect")
    covariance = smooth(reference * other)
    reference_energy, other_energy = smooth(reference * reference), smooth(other * other)
    floor = 1e-2 * float(other_energy.mean()) + 1e-12  # no gain blown up where ``other`` is flat
    return (other * np.sign(covariance) * np.sqrt(reference_energy / (other_energy + floor))).astype(np.float32)


def fringe_stretch(image: np.ndarray, sigma: float = FRINGE_SIGMA) -> Stretch:
    """The contrast for :func:`fringe`: per band, ±the 99th percentile of ``|details(image)|``.

    Compute it on the "before" image and pass it for both sides so their contrast is the same.
    """
    magnitude = np.percentile(np.abs(details(image, sigma)).reshape(-1, np.shape(image)[-1]), 99, axis=0)
    magnitude = np.maximum(magnitude, 1e-6)
    return Stretch(tuple(float(-m) for m in magnitude), tuple(float(m) for m in magnitude))


def fringe(
    bgrn: np.ndarray, band: int | str, stretch: Stretch | None = None, sigma: float = FRINGE_SIGMA
) -> np.ndarray:
    """Fine detail of G in green and of ``band`` in magenta, over mid grey; uint8 (H, W, 3).

    Where the two bands are registered their details coincide and the picture is grey (black
    and white lines); a shift between them shows as green and magenta fringes on either side of
    every line and edge, like the colour fringes of a misaligned print. The band's detail is
    first given G's local sign and strength (:func:`matched_detail`), so the view is blind to
    contrast polarity: aligned NIR, whose edges over vegetation are inverted, turns grey too.
    What remains coloured once aligned is content one band has and the other lacks. The colour
    difference is amplified by :data:`FRINGE_GAIN`, identically for every image.

    Args:
        bgrn: (H, W, 4) image, bands B, G, R, NIR.
        band: the band compared with G, index or name ("B", "R", "NIR").
        stretch: a :func:`fringe_stretch` of the "before" image, shared with the "after" image
            (G's range is used for both bands, since the band is matched to G).
    """
    bgrn = _as_hwc(bgrn)
    index = band_index(band) if isinstance(band, str) else int(band)
    stretch = stretch or fringe_stretch(bgrn, sigma)
    detail = details(bgrn, sigma)
    reference = detail[..., GREEN]
    other = matched_detail(reference, detail[..., index])
    low, high = stretch.low[GREEN], stretch.high[GREEN]
    reference, other = ((np.clip(d, low, high) - low) / (high - low) for d in (reference, other))
    # Exaggerate the difference between the two (never where they agree) so ~1 px fringes show.
    mean, half_diff = (reference + other) / 2, FRINGE_GAIN * (reference - other) / 2
    return _to_uint8(np.stack((mean - half_diff, mean + half_diff, mean - half_diff), axis=-1))


# === Vegetation index ========================================================================

NDVI_RANGE = (-0.2, 0.9)
"""NDVI values shown at the two ends of :func:`ndvi_colour`'s scale."""

_NDVI_COLOURS = np.array([[140, 81, 10], [246, 232, 195], [199, 234, 229], [90, 174, 97], [0, 90, 50]], np.float64)
"""Brown (bare soil, water, buildings) through pale to dark green (dense vegetation)."""


def ndvi(bgrn: np.ndarray) -> np.ndarray:
    """NDVI = (NIR − R) / (NIR + R) of an (H, W, 4) image, float32 in [-1, 1] (0 where both are 0).

    A pixel-by-pixel ratio of two bands: where R and NIR are misaligned, every boundary between
    two surfaces gets a false thin band of too high or too low NDVI.
    """
    bgrn = _as_hwc(bgrn).astype(np.float32)
    red, nir = bgrn[..., RED], bgrn[..., NIR]
    total = nir + red
    return np.where(total > 0, (nir - red) / np.maximum(total, 1e-6), 0.0).astype(np.float32)


def ndvi_colour(bgrn: np.ndarray, value_range: tuple[float, float] = NDVI_RANGE) -> np.ndarray:
    """:func:`ndvi` of an (H, W, 4) image in colours (brown = none, green = dense vegetation); uint8 RGB."""
    low, high = value_range
    position = np.clip((ndvi(bgrn) - low) / (high - low), 0.0, 1.0)
    anchors = np.linspace(0.0, 1.0, len(_NDVI_COLOURS))
    rgb = np.stack([np.interp(position, anchors, _NDVI_COLOURS[:, c]) for c in range(3)], axis=-1)
    return np.round(rgb).astype(np.uint8)


# === Flows ===================================================================================


def _as_flow(flow: np.ndarray) -> np.ndarray:
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise ValueError(f"expected a flow of shape (2, H, W); got {flow.shape}")
    return flow


def as_flow_stack(flow: np.ndarray) -> np.ndarray:
    """A (2, H, W) flow or a (K, 2, H, W) stack of flows as a float32 (K, 2, H, W) stack."""
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim == 3:
        flow = flow[None]
    if flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(f"expected flows of shape (K, 2, H, W) or (2, H, W); got {flow.shape}")
    return flow


def flow_norm_scale(*flows: np.ndarray, percentile: float = 99.5) -> float:
    """A common ``max_norm`` for several flows: the ``percentile`` of |flow| over all of them.

    Returns at least 0.1 px, so a nearly zero flow stays nearly white instead of being blown up.
    """
    norms = [np.hypot(*as_flow_stack(f).transpose(1, 0, 2, 3)).ravel() for f in flows]
    value = float(np.percentile(np.concatenate(norms), percentile)) if norms else 0.0
    return max(value, 0.1)


def _wheel(angle_position: np.ndarray) -> np.ndarray:
    """Hue position in [0, 1] → RGB in [0, 1], interpolated between the wheel's anchors."""
    return np.stack(
        [np.interp(angle_position, _WHEEL_POSITIONS, _WHEEL_COLOURS[:, c]) for c in range(3)], axis=-1
    )


def flow_to_colour(flow: np.ndarray, max_norm: float | None = None) -> np.ndarray:
    """Colour-code a (2, H, W) flow: hue = direction, saturation = length; uint8 (H, W, 3).

    Zero flow is white; a flow of length ``max_norm`` has the full colour of its direction;
    longer flows keep their hue and darken gradually (to 75 % at twice ``max_norm``). Directions on
    screen (y down): right → red, down → yellow/orange, left → cyan, up → blue/violet.

    Args:
        flow: (2, H, W), channel 0 = dx, 1 = dy, pixels.
        max_norm: length shown fully saturated; default the largest length in ``flow``.
    """
    flow = _as_flow(flow)
    dx, dy = flow[0].astype(np.float64), flow[1].astype(np.float64)
    norm = np.hypot(dx, dy)
    if max_norm is None:
        max_norm = float(norm.max())
    max_norm = max(float(max_norm), 1e-9)
    radius = norm / max_norm
    # Position on the wheel: right (dx > 0) at 0 = red, then clockwise on screen (y down).
    position = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    colour = _wheel(position)
    r = np.clip(radius, 0.0, 1.0)[..., None]
    # Beyond max_norm: darken progressively (continuous at the circle), down to the floor at 2×.
    dim = 1.0 - (1.0 - _OUT_OF_RANGE_DIM) * np.clip(radius - 1.0, 0.0, 1.0)[..., None]
    return _to_uint8((1.0 - r * (1.0 - colour)) * dim)


# === Files ===================================================================================


PNG_COMPRESS_LEVEL = 1
"""zlib level of the PNG files written for download: fast (a 4000² view in well under a second);
the pictures are already lossless, a higher level only makes them a little smaller, slowly."""


def png_bytes(image: np.ndarray, compress_level: int = 6) -> bytes:
    """Lossless PNG encoding of a uint8 (H, W, 3) or (H, W) image."""
    buffer = _io.BytesIO()
    Image.fromarray(_check_uint8(image)).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def save_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 image as PNG at ``path`` (:data:`PNG_COMPRESS_LEVEL`) and return the path."""
    path = Path(path)
    path.write_bytes(png_bytes(image, PNG_COMPRESS_LEVEL))
    return path


def reduction(shape: tuple[int, ...], max_side: int) -> int:
    """The whole factor that brings an image of ``shape`` (H, W, …) to at most ``max_side`` px a side."""
    return max(1, math.ceil(max(shape[:2]) / max_side))


def shrink(rgb: np.ndarray, factor: int) -> np.ndarray:
    """A uint8 (H, W, 3) picture reduced ``factor`` times by averaging ``factor`` × ``factor`` blocks
    (what a screen shows of a large picture anyway); ``factor`` 1 returns it as it is."""
    if factor == 1:
        return rgb
    return np.rint(block_mean(rgb, factor)).astype(np.uint8)


def box_line_width(shape: tuple[int, ...]) -> int:
    """Line width of a box drawn on a picture of ``shape``, in px: about :data:`BOX_LINE_FRACTION` of
    its longer side (at least 2 px), so the box stays visible when a large picture is shown small."""
    return max(2, round(max(shape[:2]) * BOX_LINE_FRACTION))


def _check_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (H, W) or (H, W, 3) image; got {image.dtype} {image.shape}")
    return image
