"""Windowed phase correlation in PyTorch: the measurement layer of the joint CSR.

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

GRADIENT_SIGMA_PX = 1.0
"""Standard deviation of the Gaussian derivative filters."""
SUBPIXEL_CUTOFF = 0.2
"""Frequency scale (cycles / px) of the low-pass used by the sub-pixel refinement."""
REFINE_STAGES = ((4, 0.25), (4, 1 / 16))
"""Sub-pixel refinement: (half-width in samples, sample step in px) of each stage; the first
samples ±1 px every ¼ px around the integer peak, the second ±¼ px every 1/16 px around the
first's maximum, then a parabola through the maximum gives the final shift."""


def gradient_reach(sigma: float = GRADIENT_SIGMA_PX) -> int:
    """How far (px) the gradient filters read: the rows of context a slab needs."""
    return max(int(math.ceil(4 * sigma)), 1)


def _gaussian_taps(sigma: float, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    radius = gradient_reach(sigma)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    smooth = torch.exp(-0.5 * (x / sigma) ** 2)
    smooth = smooth / smooth.sum()
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


def _hann(n: int, dtype, device) -> torch.Tensor:
    return torch.sin(math.pi * (torch.arange(n, dtype=dtype, device=device) + 0.5) / n) ** 2


def _windows(gradient: torch.Tensor, window: int, step: int) -> torch.Tensor:
    """(N, H, W) complex → (N, gy, gx, window, window) apodised windows (weighted mean removed)."""
    patches = gradient.unfold(-2, window, step).unfold(-2, window, step)
    hann = _hann(window, gradient.real.dtype, gradient.device)
    weight = hann[:, None] * hann[None, :]
    mean = (patches * weight).sum(dim=(-2, -1), keepdim=True) / weight.sum()
    return (patches - mean) * weight


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
    size = spectrum.shape[-1]
    ky = _dft_kernels(cy, size, half, step)  # (M, a, s)
    kx = _dft_kernels(cx, size, half, step)
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
    cross = mov * ref[:, None].conj()
    power = cross.real.square() + cross.imag.square()
    floor = 1e-24 * power.flatten(-2).amax(-1)[..., None, None] + 1e-30
    phase = (cross * torch.rsqrt(power.maximum(floor))).reshape(-1, window, window)

    freq = _frequencies(window, torch.float32, reference.device)
    detection = torch.ones(window, window, dtype=torch.float32, device=reference.device)
    if window % 2 == 0:
        detection[window // 2, :] = 0
        detection[:, window // 2] = 0
    detection[0, 0] = 0
    spectrum = phase * (detection / detection.sum())
    correlation = torch.fft.ifft2(spectrum)
    peak = (correlation.real.square() + correlation.imag.square()).flatten(-2).argmax(-1)
    py, px = (peak // window).float(), (peak % window).float()
    py = torch.where(py > window // 2, py - window, py)
    px = torch.where(px > window // 2, px - window, px)

    lowpass = detection * torch.exp(-(freq[:, None] ** 2 + freq[None, :] ** 2) / SUBPIXEL_CUTOFF**2)
    smooth = phase * (lowpass / lowpass.sum())
    sx, sy = px, py
    for half, fine in REFINE_STAGES:
        sx, sy = _refine(smooth, sx, sy, half, fine)
    confidence = _sample_correlation(spectrum, sy, sx, 0, 1.0)[:, 0, 0].clamp(0, 1)
    shift = torch.stack((sx, sy), dim=1).reshape(n, k, gy, gx, 2).permute(0, 1, 4, 2, 3)
    return shift.contiguous(), confidence.reshape(n, k, gy, gx)
