"""The project's separable image filters, once: Gaussian taps, Gaussian blur and box mean (torch).

Images are (N, C, H, W) tensors; every filter acts on each plane alone and is differentiable.
The Gaussian's default truncation is ±ceil(4σ); the trained networks keep the truncation they
were trained with by passing ``radius`` (the faithful REC's ±round(3σ), the joint CSR's fusion
±ceil(3σ)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GAUSSIAN_TRUNCATE = 4.0
"""Default half-width of a sampled Gaussian, in standard deviations (rounded up)."""


def gaussian_radius(sigma: float, truncate: float = GAUSSIAN_TRUNCATE) -> int:
    """Half-width in px of a Gaussian of ``sigma`` px cut at ``truncate`` σ, rounded up, at least 1."""
    return max(int(math.ceil(truncate * sigma)), 1)


def gaussian_taps(sigma: float, radius: int | None = None, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """Sampled 1-D Gaussian of ``sigma`` px at offsets −radius … radius (default
    :func:`gaussian_radius`), summing to 1: (2·radius + 1,)."""
    radius = gaussian_radius(sigma) if radius is None else radius
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def correlate1d(image: torch.Tensor, taps: torch.Tensor, dim: int, mode: str = "reflect") -> torch.Tensor:
    """``image`` (N, C, H, W) correlated with the odd 1-D ``taps`` along ``dim`` (-2 rows, -1
    columns); same size. Borders: ``mode`` "reflect" (falls back to "replicate" for an axis not
    longer than the taps' radius) or "replicate".

    Written as shifted multiply-adds, not as a convolution: on CPU a single-channel convolution
    costs 2–3× more for these few taps.
    """
    radius = taps.numel() // 2
    size = image.shape[dim]
    if mode == "reflect" and size <= radius:
        mode = "replicate"
    padded = F.pad(image, (0, 0, radius, radius) if dim in (-2, image.ndim - 2) else (radius, radius, 0, 0), mode=mode)
    weights = taps.tolist()
    out = padded.narrow(dim, 0, size) * weights[0]
    for offset, weight in enumerate(weights[1:], start=1):
        out = out.add(padded.narrow(dim, offset, size), alpha=weight)
    return out


def separable_filter(image: torch.Tensor, taps: torch.Tensor, mode: str = "reflect") -> torch.Tensor:
    """``image`` (N, C, H, W) correlated with the odd 1-D ``taps`` along rows, then columns; same
    size; borders as in :func:`correlate1d`."""
    return correlate1d(correlate1d(image, taps, -2, mode), taps, -1, mode)


def gaussian_blur(image: torch.Tensor, sigma: float, *, radius: int | None = None,
                  mode: str = "reflect") -> torch.Tensor:
    """Separable Gaussian blur of ``sigma`` px (``image`` itself for ``sigma`` ≤ 0); ``radius`` and
    ``mode`` as in :func:`gaussian_taps` and :func:`separable_filter`."""
    if sigma <= 0:
        return image
    return separable_filter(image, gaussian_taps(sigma, radius, dtype=image.dtype, device=image.device), mode)


def exact_conv2d(image: torch.Tensor, kernel: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """``F.conv2d(image, kernel, groups=groups)`` at the input's own precision: on a CUDA GPU
    cuDNN's TF32 (a 10-bit mantissa, on by default for convolutions) is switched off for it, so a
    fixed linear filter (the bicubic phases, box sums) gives the same values as on the CPU."""
    if not image.is_cuda:
        return F.conv2d(image, kernel, groups=groups)
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                     allow_tf32=False):
        return F.conv2d(image, kernel, groups=groups)


def _box_sum(image: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Sum over ``±radius`` px along ``dim`` (-2 or -1) of each plane of (N, C, H, W), zeros
    outside: a depthwise convolution with ones (on CPU 1.4× faster than a difference of
    cumulative sums or running sums of doubling length, and its rounding does not grow with the
    line length)."""
    if dim not in (-2, -1, 2, 3):
        raise ValueError(f"box sums run along rows (-2) or columns (-1) of (N, C, H, W); got dim {dim}")
    along_rows = dim in (-2, 2)
    c = image.shape[1]
    taps = 2 * radius + 1
    ones = image.new_ones((c, 1, taps, 1) if along_rows else (c, 1, 1, taps))
    padded = F.pad(image, (0, 0, radius, radius) if along_rows else (radius, radius, 0, 0))
    return exact_conv2d(padded, ones, groups=c)


def _inside(size: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    """How many of the ``±radius`` px around each of ``size`` positions lie inside ``0 … size − 1``: (size,)."""
    position = torch.arange(size, dtype=like.dtype, device=like.device)
    return (position + radius).clamp(max=size - 1) - (position - radius).clamp(min=0) + 1


def box_mean(image: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean of (N, C, H, W) over a (2·radius + 1)² window, counting only pixels inside the image.

    Separable sums (:func:`_box_sum`): the cost per pixel grows with the radius (2·radius + 1
    additions along each axis); the windows used here are at most 15 px wide.
    """
    height, width = image.shape[-2:]
    total = _box_sum(_box_sum(image, radius, -2), radius, -1)
    return total / (_inside(height, radius, image)[:, None] * _inside(width, radius, image))
