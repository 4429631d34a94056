"""Phase correlation in PyTorch, once, without parameters: the measurement layer of the joint CSR
(:mod:`l1bsr_core.models.csr_joint`) and, in float64, of the classical pipeline
(:mod:`l1bsr_core.classical_registration`); its constants live here. It depends on no network.

A grid of square windows (``window`` px, every ``step`` px) is cut from a reference band and a
moving band; each window pair gives a sub-pixel shift and a confidence. Batched FFTs, no
learnable parameters, no gradient needed.

Shift convention (the one of :func:`l1bsr_core.warp.warp`): a window shift ``(dx, dy)`` means
``moving(y + dy, x + dx) ≈ reference(y, x)`` over the window, in pixels.

Why these choices (they follow the project's classical pipeline, see
:mod:`l1bsr_core.classical_registration`):

* the correlation runs on the complex gradient ``gx + i·gy`` (Gaussian derivatives, σ = 1 px): no
  mean level, no slow illumination ramp, and a band whose contrast is inverted (NIR against G
  over vegetation) only negates it, which ``|correlation|`` ignores;
* the cross-power spectrum is normalised to unit magnitude (phase only), so contrast and
  brightness differences between bands do not matter;
* the integer peak uses all frequencies; the sub-pixel refinement (an upsampled DFT around the
  peak, then a parabola) uses Gaussian-low-passed phases, because near Nyquist the phase of an
  aliased L1B band is not a clean ramp.
"""

from __future__ import annotations

import functools
import math

import torch

from .filters import correlate1d, gaussian_radius, gaussian_taps
from .parallel import map_blocks

# The constants of phase correlation, here once: the joint CSR (:mod:`l1bsr_core.models.csr_joint`) and
# the classical pipeline (:mod:`l1bsr_core.classical_registration`) use these.

GRADIENT_SIGMA_PX = 1.0
"""Standard deviation, in pixels, of the Gaussian derivative filters giving the gradient images."""
SUBPIXEL_CUTOFF = 0.2
"""Frequency scale (cycles/px) of the Gaussian low-pass applied to the cross-power spectrum for
the subpixel refinement only. Near Nyquist the phase of a shifted image is not a clean ramp
(aliasing in L1B; interpolation in resampled images), which biases an unweighted estimate by up
to 0.12 px; the integer peak and the confidence still use all frequencies, which is what makes
NIR-against-G windows reliable."""
MIN_CONFIDENCE = 0.15
"""Windows whose phase-correlation peak is below this are ignored by the robust fusion. The peak
of the normalised (unit-magnitude) cross-power spectrum is 1 for identical content; for 64 × 64
windows of unrelated noise it stays below ~0.13. Calibrated on NIR against G of the example
crops (64 px windows): 0.15 keeps 90 % of the windows that agree with their neighbours and 10 %
of those that do not. Smaller windows have a higher noise floor."""
OUTLIER_PX = 0.5
"""A window whose shift differs from the 3 × 3 median of its neighbours by more than this (px) is
treated as an outlier by the robust fusion."""
MIN_WINDOW_PX = 16
"""The smallest side, px, a phase correlation window may have (smaller: too few frequencies): the
classical pipeline's and the joint CSR's (and so the smallest image either takes)."""
REFINE_STAGES = ((4, 0.25), (4, 1 / 16))
"""Sub-pixel refinement: (half-width in samples, sample step in px) of each stage; the first
samples ±1 px every ¼ px around the integer peak, the second ±¼ px every 1/16 px around the
first's maximum, then a parabola through the maximum gives the final shift."""


def gradient_reach(sigma: float = GRADIENT_SIGMA_PX) -> int:
    """How far (px) the gradient filters read: the rows of context a slab needs."""
    return gaussian_radius(sigma)


def _gaussian_taps(sigma: float, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    radius = gradient_reach(sigma)
    smooth = gaussian_taps(sigma, radius, dtype=dtype, device=device)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    derivative = x / sigma**2 * smooth  # correlation taps of d/dx (conv2d correlates)
    return smooth, derivative


def complex_gradient(bands: torch.Tensor, sigma: float = GRADIENT_SIGMA_PX) -> torch.Tensor:
    """``gx + i·gy`` of every plane of an (N, C, H, W) real tensor, reflected borders: complex (N, C, H, W)."""
    smooth, derivative = _gaussian_taps(sigma, bands.dtype, bands.device)
    gx = correlate1d(correlate1d(bands, smooth, -2), derivative, -1)
    gy = correlate1d(correlate1d(bands, derivative, -2), smooth, -1)
    return torch.complex(gx, gy)


def window_starts(length: int, window: int, step: int, *, flush_end: bool = False) -> list[int]:
    """Where the windows of a grid start along an axis of ``length`` px: 0, ``step``, 2·``step``, … (the
    last one may leave < ``step`` px uncovered); with ``flush_end`` one more window, flush with the end,
    when it would (the classical registration's grid). A window's centre is ``start + (window − 1) / 2``.

    The one window grid of the project: the joint CSR's (:func:`window_grid`) and the classical
    registration's (:func:`~l1bsr_core.classical_registration.windowed_shifts`).
    """
    if length < window:
        raise ValueError(f"an image side of {length} px is smaller than the {window} px correlation window")
    starts = list(range(0, length - window + 1, step))
    if flush_end and starts[-1] != length - window:
        starts.append(length - window)
    return starts


def window_grid(length: int, window: int, step: int) -> int:
    """Number of windows along an axis of ``length`` px (:func:`window_starts`, no flush window)."""
    return len(window_starts(length, window, step))


def window_centres(count: int, window: int, step: int) -> torch.Tensor:
    """Pixel coordinate of the centre of each of ``count`` windows: ``k·step + (window − 1) / 2``."""
    return torch.arange(count, dtype=torch.float32) * step + (window - 1) / 2


def hann(n: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """Hann window of ``n`` samples at pixel centres (every sample inside the window is non-zero)."""
    return torch.sin(math.pi * (torch.arange(n, dtype=dtype, device=device) + 0.5) / n) ** 2


_LOWEST = [0, 1, -1]
"""The frequencies (per axis) at which a Hann window sampled at pixel centres, a raised cosine
of one period, has a non-zero spectrum."""


@functools.lru_cache(maxsize=8)
def _apodization(h: int, w: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The 2-D Hann window (h, w) in ``dtype`` (complex: multiplying a complex window in place by
    a complex weight is the fast path), its spectrum at the 3 × 3 lowest frequencies and its sum."""
    with torch.inference_mode(False):  # cached: usable inside and outside inference mode
        weight = hann(h, dtype.to_real(), device)[:, None] * hann(w, dtype.to_real(), device)
        lowest = torch.fft.fft2(weight)[_LOWEST][:, _LOWEST]
        return weight.to(dtype), lowest, float(weight.sum())


def apodized_spectra(patches: torch.Tensor) -> torch.Tensor:
    """FFTs (..., h, w) of complex ``(..., h, w)`` windows apodised: their Hann-weighted mean
    removed, then times the 2-D Hann window.

    Computed as ``fft2(patches · hann)`` minus the weighted mean times the window's spectrum, which
    is non-zero at the 3 × 3 lowest frequencies only; the weighted mean is the first spectrum's
    zero frequency over the window's sum. One copy (contiguous: a strided view of overlapping
    windows makes the FFT 2× slower), one multiplication in place and one FFT per window.
    """
    weight, lowest, total = _apodization(*patches.shape[-2:], patches.dtype, patches.device)
    spectra = torch.fft.fft2(patches.clone(memory_format=torch.contiguous_format).mul_(weight))
    rows = torch.tensor(_LOWEST, device=patches.device)[:, None]
    cols = torch.tensor(_LOWEST, device=patches.device)
    spectra[..., rows, cols] -= spectra[..., :1, :1] / total * lowest
    return spectra


def _frequencies(size: int, dtype, device) -> torch.Tensor:
    return torch.fft.fftfreq(size, dtype=dtype, device=device)


@functools.lru_cache(maxsize=32)
def _offset_kernels(size: int, half: int, step: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """exp(2πi·j·step·k / size) for j in [−half, half] and the ``size`` frequencies k: (2·half + 1, size)."""
    with torch.inference_mode(False):  # cached: usable inside and outside inference mode
        offsets = torch.arange(-half, half + 1, dtype=dtype, device=device) * step
        angle = 2 * math.pi * offsets[:, None] * _frequencies(size, dtype, device)
        return torch.polar(torch.ones_like(angle), angle)


def _dft_kernels(centre: torch.Tensor, half: int, step: float, weight: torch.Tensor) -> torch.Tensor:
    """weight(k)·exp(2πi·s·k / size) for the sample positions ``s = centre + j·step``, j in [−half, half],
    and the ``size = len(weight)`` frequencies k: (M, 2·half + 1, size)."""
    size = weight.numel()
    angle = 2 * math.pi * centre[:, None] * _frequencies(size, centre.dtype, centre.device)
    per_centre = torch.polar(weight.expand_as(angle), angle)
    return per_centre[:, None, :] * _offset_kernels(size, half, step, centre.dtype, centre.device)


def _sample_correlation(phase: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, half: int, step: float,
                        row_weight: torch.Tensor, col_weight: torch.Tensor) -> torch.Tensor:
    """|correlation| of the spectrum ``phase · (row_weight ⊗ col_weight)`` sampled on a
    (2·half + 1)² grid of ``step`` px around (cy, cx): (M, a, a) real.

    ``phase`` (M, h, w); the separable weights (h,) and (w,) are folded into the DFT kernels, so
    the weighted spectrum is never formed."""
    ky = _dft_kernels(cy, half, step, row_weight)  # (M, a, h)
    kx = _dft_kernels(cx, half, step, col_weight)  # (M, a, w)
    return torch.matmul(torch.matmul(ky, phase), kx.transpose(-1, -2)).abs()


def _parabola(minus: torch.Tensor, centre: torch.Tensor, plus: torch.Tensor) -> torch.Tensor:
    curvature = minus - 2 * centre + plus
    offset = torch.where(curvature < 0, 0.5 * (minus - plus) / curvature.clamp(max=-1e-12), torch.zeros_like(centre))
    return offset.clamp(-0.5, 0.5)


def _refine(phase: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, half: int, step: float,
            row_weight: torch.Tensor, col_weight: torch.Tensor):
    """Move (cx, cy) to the maximum of the sampled |correlation|, then to the parabola's vertex."""
    surface = _sample_correlation(phase, cy, cx, half, step, row_weight, col_weight)
    size = 2 * half + 1
    best = surface.flatten(-2).argmax(-1)
    iy, ix = best // size, best % size
    rows = torch.arange(surface.shape[0], device=surface.device)
    iy_c, ix_c = iy.clamp(1, size - 2), ix.clamp(1, size - 2)
    top = surface[rows, iy, ix]
    zero = torch.zeros_like(top)
    oy = torch.where(iy == iy_c, _parabola(surface[rows, iy_c - 1, ix], top, surface[rows, iy_c + 1, ix]), zero)
    ox = torch.where(ix == ix_c, _parabola(surface[rows, iy, ix_c - 1], top, surface[rows, iy, ix_c + 1]), zero)
    return cx + (ix - half + ox) * step, cy + (iy - half + oy) * step


@functools.lru_cache(maxsize=8)
def _frequency_weights(h: int, w: int, dtype: torch.dtype, device: torch.device):
    """Separable weights of the frequencies of (h, w) spectra whose mean and Nyquist row and column
    are zeroed (:func:`_drop_undetected`): ``(all_y, all_x)``, the all-frequency correlation
    normalised to 1 for identical windows, and ``(low_y, low_x)``, the Gaussian low-pass of the
    sub-pixel refinement (:data:`SUBPIXEL_CUTOFF`), normalised to sum 1."""
    def detected(size: int) -> torch.Tensor:
        keep = torch.ones(size, dtype=dtype, device=device)
        if (nyquist := _nyquist(size)) is not None:
            keep[nyquist] = 0
        return keep

    with torch.inference_mode(False):  # cached: usable inside and outside inference mode
        all_y, all_x = detected(h), detected(w)
        all_y = all_y / float(all_y.sum() * all_x.sum() - 1)  # minus the mean
        low_y = detected(h) * torch.exp(-_frequencies(h, dtype, device) ** 2 / SUBPIXEL_CUTOFF**2)
        low_x = detected(w) * torch.exp(-_frequencies(w, dtype, device) ** 2 / SUBPIXEL_CUTOFF**2)
        low_y = low_y / (low_y.sum() * low_x.sum() - low_y[0] * low_x[0])
    return (all_y, all_x), (low_y, low_x)


def _nyquist(size: int) -> int | None:
    """Index of the Nyquist frequency in an FFT of ``size`` samples (only an even size has one)."""
    return size // 2 if size % 2 == 0 else None


def _drop_undetected(phase: torch.Tensor) -> None:
    """Zero, in place, the frequencies the peak search leaves out: the mean and the Nyquist row and column."""
    h, w = phase.shape[-2:]
    if (row := _nyquist(h)) is not None:
        phase[..., row, :] = 0
    if (col := _nyquist(w)) is not None:
        phase[..., :, col] = 0
    phase[..., 0, 0] = 0


def phase_correlation(reference: torch.Tensor, moving: torch.Tensor, stages=REFINE_STAGES):
    """Shifts and confidences of pairs of apodised windows, from their spectra: the one phase correlation.

    Args:
        reference, moving: (..., h, w) complex FFTs of apodised windows (e.g. of complex
            gradients), broadcast against each other (one reference spectrum may serve several
            moving ones); M pairs in all.
        stages: sub-pixel refinement, (half-width in samples, sample step in px) of each stage
            (:data:`REFINE_STAGES`); empty for integer shifts.

    Returns:
        ``(dx, dy, confidence)``, each (M,) in the input's real dtype, pairs in the broadcast
        shape's order: the shift with ``moving(y + dy, x + dx) ≈ reference(y, x)`` over the window
        (within ±h/2, ±w/2) and the height of the all-frequency correlation peak, in [0, 1].
    """
    h, w = moving.shape[-2:]
    dtype, device = moving.real.dtype, moving.device
    # unit-magnitude cross-power spectrum (0 where it vanishes); the frequencies the peak search
    # does not use are zeroed in place, so the masks below only need their separable parts
    phase = torch.sgn(moving * reference.conj_physical()).reshape(-1, h, w)  # a lazy conj() multiplies slower
    _drop_undetected(phase)
    all_frequencies, low_pass = _frequency_weights(h, w, dtype, device)

    # Integer peak of |correlation| over the detected frequencies (|.| also catches an inverted peak).
    correlation = torch.view_as_real(torch.fft.ifft2(phase)).square()
    peak = (correlation[..., 0] + correlation[..., 1]).flatten(-2).max(-1).indices
    py, px = (peak // w).to(dtype), (peak % w).to(dtype)
    py = torch.where(py > h // 2, py - h, py)
    px = torch.where(px > w // 2, px - w, px)

    # Sub-pixel, on Gaussian-low-passed phases (see SUBPIXEL_CUTOFF).
    sx, sy = px, py
    for half, fine in stages:
        sx, sy = _refine(phase, sx, sy, half, fine, *low_pass)
    # Confidence: the all-frequency correlation at the final shift.
    confidence = _sample_correlation(phase, sy, sx, 0, 1.0, *all_frequencies)[:, 0, 0].clamp(0, 1)
    return sx, sy, confidence


PAIRS_PER_CHUNK = 64
"""Window pairs correlated at once by :func:`windowed_phase_correlation`. A pair's spectra take
32 KiB (64 px windows, complex64), so a chunk's chain of element-wise operations and FFTs stays in
the CPU's cache: about 3× faster than all windows of a crop at once (1083 pairs, 35 MiB a step);
64 pairs (2 MiB a step, one core's L2 here) registered a crop 8 % faster than 128, 32 pairs 30 %
slower (more, smaller operations)."""


def windowed_phase_correlation(reference: torch.Tensor, moving: torch.Tensor, *, window: int, step: int,
                               context: tuple[int, int] = (0, 0)):
    """Shifts and confidences of a grid of window pairs, for several moving bands at once.

    Args:
        reference: (N, H, W) real tensor (any units; the phase ignores contrast).
        moving: (N, K, H, W) real tensor: K bands, each registered onto ``reference``.
        window, step: window side and spacing, px; windows start at 0, step, 2·step, …
        context: rows (top, bottom) that only serve the gradient filters (a slab cut from a larger
            image with this much context gives exactly the windows of the larger image); windows
            start below the top context.

    Returns:
        ``(shift, confidence)``: shift (N, K, 2, gy, gx) float32 (channel 0 dx, 1 dy, px, in the
        module's convention), confidence (N, K, gy, gx) in [0, 1], the height of the
        all-frequency correlation peak (1 for identical content, about 0.1 for unrelated noise in
        64 px windows).

    The windows are cut, transformed and correlated in blocks of about :data:`PAIRS_PER_CHUNK`
    pairs (one reference window serves the K bands at its place), by single-threaded workers
    (:func:`~l1bsr_core.parallel.map_blocks`); the result depends on neither.
    """
    return feature_phase_correlation(complex_gradient(reference[:, None].float()), complex_gradient(moving.float()),
                                     window=window, step=step, context=context)


def feature_phase_correlation(reference: torch.Tensor, moving: torch.Tensor, *, window: int, step: int,
                              context: tuple[int, int] = (0, 0), composite=None):
    """:func:`windowed_phase_correlation` of feature images already computed: the one window loop.

    Args:
        reference: (N, J, H, W) complex features of the reference (e.g. :func:`complex_gradient`).
        moving: (N, K, H, W) complex features of the K moving bands.
        window, step, context: as in :func:`windowed_phase_correlation`.
        composite: with J > 1, ``composite(reference_spectra, moving_spectra)`` of the apodised
            window spectra, (N, J, by, bx, h, w) and (N, K, by, bx, h, w), gives each window's
            reference spectrum (N, 1 or K, by, bx, h, w) (e.g. a combination of the J bands that
            best predicts the moving band there).

    Returns:
        ``(shift, confidence)`` as :func:`windowed_phase_correlation`.
    """
    n, k = moving.shape[:2]
    top, bottom = context
    gy = window_grid(reference.shape[-2] - top - bottom, window, step)  # raises when a side is smaller
    gx = window_grid(reference.shape[-1], window, step)
    rows = slice(top, reference.shape[-2] - bottom)
    # (N, J or K, gy, gx, window, window) views of the windows; each block is copied when apodised
    ref = reference[:, :, rows].unfold(-2, window, step).unfold(-2, window, step)
    mov = moving[:, :, rows].unfold(-2, window, step).unfold(-2, window, step)
    shift = torch.empty(n, k, 2, gy, gx, device=moving.device)
    confidence = torch.empty(n, k, gy, gx, device=moving.device)
    block_x = min(gx, max(1, PAIRS_PER_CHUNK // (n * k)))
    block_y = min(gy, max(1, PAIRS_PER_CHUNK // (n * k * block_x)))

    def correlate(block: tuple[slice, slice]) -> None:
        y, x = block
        reference_spectra, moving_spectra = apodized_spectra(ref[:, :, y, x]), apodized_spectra(mov[:, :, y, x])
        if composite is not None:
            reference_spectra = composite(reference_spectra, moving_spectra)
        sx, sy, c = phase_correlation(reference_spectra, moving_spectra)
        size = (n, k, y.stop - y.start, x.stop - x.start)
        shift[:, :, 0, y, x] = sx.reshape(size)
        shift[:, :, 1, y, x] = sy.reshape(size)
        confidence[:, :, y, x] = c.reshape(size)

    map_blocks(correlate, [(slice(y0, min(y0 + block_y, gy)), slice(x0, min(x0 + block_x, gx)))
                           for y0 in range(0, gy, block_y) for x0 in range(0, gx, block_x)], moving.device)
    return shift, confidence
