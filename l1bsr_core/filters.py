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


def separable_filter(image: torch.Tensor, taps: torch.Tensor, mode: str = "reflect") -> torch.Tensor:
    """``image`` correlated with the odd 1-D ``taps`` along rows, then columns; same size.

    Borders: ``mode`` "reflect" (falls back to "replicate" for an image smaller than the
    taps' radius) or "replicate".
    """
    radius = taps.numel() // 2
    channels = image.shape[1]
    if mode == "reflect" and min(image.shape[-2:]) <= radius:
        mode = "replicate"
    rows = taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
    cols = taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    out = F.conv2d(F.pad(image, (0, 0, radius, radius), mode=mode), rows, groups=channels)
    return F.conv2d(F.pad(out, (radius, radius, 0, 0), mode=mode), cols, groups=channels)


def gaussian_blur(image: torch.Tensor, sigma: float, *, radius: int | None = None,
                  mode: str = "reflect") -> torch.Tensor:
    """Separable Gaussian blur of ``sigma`` px (``image`` itself for ``sigma`` ≤ 0); ``radius`` and
    ``mode`` as in :func:`gaussian_taps` and :func:`separable_filter`."""
    if sigma <= 0:
        return image
    return separable_filter(image, gaussian_taps(sigma, radius, dtype=image.dtype, device=image.device), mode)


def box_mean(image: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2·radius + 1)² window, counting only pixels inside the image."""
    return F.avg_pool2d(image, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)
