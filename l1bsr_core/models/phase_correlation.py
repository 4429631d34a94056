"""Phase correlation in PyTorch, once: the measurement layer of the joint CSR and, in float64, of
the classical pipeline (:mod:`l1bsr_core.registration`); its constants live here.

A grid of square windows (``window`` px, every ``step`` px) is cut from a reference band and a
moving band; each window pair gives a sub-pixel shift and a confidence. Batched FFTs, no
learnable parameters, no gradient needed.

Shift convention (the one of :func:`l1bsr_core.warp.warp`): a window shift ``(dx, dy)`` means
``moving(y + dy, x + dx) ≈ reference(y, x)`` over the window, in pixels.

Why these choices (they follow the project's classical pipeline, see
:mod:`l1bsr_core.registration`):

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

import math

import torch
import torch.nn.functional as F

from ..filters import gaussian_radius, gaussian_taps

# The constants of phase correlation, here once: the joint CSR (this module, :mod:`.csr_joint`) and
# the classical pipeline (:mod:`l1bsr_core.registration`) use these.

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
    n, c, h, w = bands.shape
    smooth, derivative = _gaussian_taps(sigma, bands.dtype, bands.device)
    r = smooth.numel() // 2
    planes = bands.reshape(n * c, 1, h, w)
    mode = "reflect" if min(h, w) > r else "replicate"
    rows = F.pad(planes, (0, 0, r, r), mode=mode)
    smooth_y = F.conv2d(rows, smooth.view(1, 1, -1, 1))
    diff_y = F.conv2d(rows, derivative.view(1, 1, -1, 1))
    gx = F.conv2d(F.pad(smooth_y, (r, r, 0, 0), mode=mode), derivative.view(1, 1, 1, -1))
    gy = F.conv2d(F.pad(diff_y, (r, r, 0, 0), mode=mode), smooth.view(1, 1, 1, -1))
    return torch.complex(gx, gy).reshape(n, c, h, w)


def window_grid(length: int, window: int, step: int) -> int:
    """Number of windows along an axis of ``length`` px (the last one may leave < ``step`` px uncovered)."""
    if length < window:
        raise ValueError(f"an image side of {length} px is smaller than the {window} px correlation window")
    return (length - window) // step + 1


def window_centres(count: int, window: int, step: int) -> torch.Tensor:
    """Pixel coordinate of the centre of each of ``count`` windows: ``k·step + (window − 1) / 2``."""
    return torch.arange(count, dtype=torch.float32) * step + (window - 1) / 2


def hann(n: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """Hann window of ``n`` samples at pixel centres (every sample inside the window is non-zero)."""
    return torch.sin(math.pi * (torch.arange(n, dtype=dtype, device=device) + 0.5) / n) ** 2


def apodize(patches: torch.Tensor) -> torch.Tensor:
    """(..., h, w) windows with their Hann-weighted mean removed, times the 2D Hann window."""
    dtype = patches.real.dtype
    weight = hann(patches.shape[-2], dtype, patches.device)[:, None] * hann(patches.shape[-1], dtype, patches.device)
    mean = (patches * weight).sum(dim=(-2, -1), keepdim=True) / weight.sum()
    return (patches - mean) * weight


def _windows(gradient: torch.Tensor, window: int, step: int) -> torch.Tensor:
    """(N, H, W) complex → (N, gy, gx, window, window) apodised windows (weighted mean removed)."""
    return apodize(gradient.unfold(-2, window, step).unfold(-2, window, step))


def _frequencies(size: int, dtype, device) -> torch.Tensor:
    return torch.fft.fftfreq(size, dtype=dtype, device=device)


def _dft_kernels(centre: torch.Tensor, size: int, half: int, step: float) -> torch.Tensor:
    """exp(2πi·s·k / size) for the sample positions ``centre + j·step``, j in [−half, half]: (..., 2·half + 1, size)."""
    offsets = torch.arange(-half, half + 1, dtype=centre.dtype, device=centre.device) * step
    k = _frequencies(size, centre.dtype, centre.device)  # cycles / px
    per_centre = torch.polar(torch.ones_like(k).expand(*centre.shape, -1), 2 * math.pi * centre[..., None] * k)
    per_offset = torch.polar(torch.ones(len(offsets), size, dtype=centre.dtype, device=centre.device),
                             2 * math.pi * offsets[:, None] * k)
    return per_centre[..., None, :] * per_offset


def _sample_correlation(spectrum: torch.Tensor, cy: torch.Tensor, cx: torch.Tensor, half: int, step: float):
    """|correlation| sampled on a (2·half + 1)² grid of ``step`` px around (cy, cx): (M, a, a) real."""
    ky = _dft_kernels(cy, spectrum.shape[-2], half, step)  # (M, a, h)
    kx = _dft_kernels(cx, spectrum.shape[-1], half, step)  # (M, a, w)
    return torch.matmul(torch.matmul(ky, spectrum), kx.transpose(-1, -2)).abs()


def _parabola(minus: torch.Tensor, centre: torch.Tensor, plus: torch.Tensor) -> torch.Tensor:
    curvature = minus - 2 * centre + plus
    offset = torch.where(curvature < 0, 0.5 * (minus - plus) / curvature.clamp(max=-1e-12), torch.zeros_like(centre))
    return offset.clamp(-0.5, 0.5)


def _refine(spectrum: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, half: int, step: float):
    """Move (cx, cy) to the maximum of the sampled |correlation|, then to the parabola's vertex."""
    surface = _sample_correlation(spectrum, cy, cx, half, step)
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


def phase_correlation(reference: torch.Tensor, moving: torch.Tensor, stages=REFINE_STAGES):
    """Shifts and confidences of pairs of apodised windows, from their spectra: the one phase correlation.

    Args:
        reference, moving: (M, h, w) complex FFTs of apodised windows (e.g. of complex gradients).
        stages: sub-pixel refinement, (half-width in samples, sample step in px) of each stage
            (:data:`REFINE_STAGES`); empty for integer shifts.

    Returns:
        ``(dx, dy, confidence)``, each (M,) in the input's real dtype: the shift with
        ``moving(y + dy, x + dx) ≈ reference(y, x)`` over the window (within ±h/2, ±w/2) and the
        height of the all-frequency correlation peak, in [0, 1].
    """
    h, w = reference.shape[-2:]
    dtype, device = reference.real.dtype, reference.device
    cross = moving * reference.conj()
    power = cross.real.square() + cross.imag.square()
    floor = 1e-24 * power.flatten(-2).amax(-1)[..., None, None] + 1e-30
    phase = cross * torch.rsqrt(power.maximum(floor))

    # Integer peak of |correlation| over all frequencies but the mean and the Nyquist row and column
    # (|.| also catches an inverted peak).
    detection = torch.ones(h, w, dtype=dtype, device=device)
    if h % 2 == 0:
        detection[h // 2, :] = 0
    if w % 2 == 0:
        detection[:, w // 2] = 0
    detection[0, 0] = 0
    spectrum = phase * (detection / detection.sum())
    correlation = torch.fft.ifft2(spectrum)
    peak = (correlation.real.square() + correlation.imag.square()).flatten(-2).argmax(-1)
    py, px = (peak // w).to(dtype), (peak % w).to(dtype)
    py = torch.where(py > h // 2, py - h, py)
    px = torch.where(px > w // 2, px - w, px)

    # Sub-pixel, on low-passed phases (see SUBPIXEL_CUTOFF).
    fy, fx = _frequencies(h, dtype, device), _frequencies(w, dtype, device)
    lowpass = detection * torch.exp(-(fy[:, None] ** 2 + fx[None, :] ** 2) / SUBPIXEL_CUTOFF**2)
    smooth = phase * (lowpass / lowpass.sum())
    sx, sy = px, py
    for half, fine in stages:
        sx, sy = _refine(smooth, sx, sy, half, fine)
    # Confidence: the all-frequency correlation at the final shift.
    confidence = _sample_correlation(spectrum, sy, sx, 0, 1.0)[:, 0, 0].clamp(0, 1)
    return sx, sy, confidence


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
    """
    n, k = moving.shape[:2]
    top, bottom = context
    window_grid(reference.shape[-2] - top - bottom, window, step)  # raises when a side is smaller than the window
    window_grid(reference.shape[-1], window, step)
    rows = slice(top, reference.shape[-2] - bottom)
    ref = torch.fft.fft2(_windows(complex_gradient(reference[:, None].float())[:, 0, rows], window, step))
    mov = torch.fft.fft2(_windows(complex_gradient(moving.float())[:, :, rows], window, step))
    gy, gx = ref.shape[1:3]
    sx, sy, confidence = phase_correlation(ref[:, None].expand_as(mov).reshape(-1, window, window),
                                           mov.reshape(-1, window, window))
    shift = torch.stack((sx, sy), dim=1).reshape(n, k, gy, gx, 2).permute(0, 1, 4, 2, 3)
    return shift.contiguous(), confidence.reshape(n, k, gy, gx)
