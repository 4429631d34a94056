"""The classical robust fusion of window shifts on their grid: outliers out, then a normalised convolution.

Parameter-free, on torch tensors: the joint CSR (:mod:`l1bsr_core.models.csr_joint`) fuses its
phase-correlation windows with it before its learned correction, and the classical registration
(:mod:`l1bsr_core.classical_registration`) fuses its windows with it into a dense flow. Shifts are in
pixels, channel 0 dx, 1 dy, in the :func:`l1bsr_core.warp.warp` convention; grids are (N, C, gy, gx),
one value per window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .filters import gaussian_blur, gaussian_radius

_MEDIAN_SIZE = 3
"""Side of the neighbourhood (windows) of the outlier test."""

FUSION_TRUNCATE = 3.0
"""Half-width, in standard deviations, of the robust fusion's Gaussians (as trained)."""


def _median3(values: torch.Tensor) -> torch.Tensor:
    """3 × 3 median of (N, C, gy, gx), edges replicated."""
    padded = F.pad(values, (1, 1, 1, 1), mode="replicate")
    patches = padded.unfold(-2, _MEDIAN_SIZE, 1).unfold(-2, _MEDIAN_SIZE, 1)
    return patches.flatten(-2).median(-1).values


def _gaussian_smooth(values: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian (radius ceil(3σ), as trained) of (N, C, gy, gx), edges replicated."""
    return gaussian_blur(values, sigma, radius=gaussian_radius(sigma, FUSION_TRUNCATE), mode="replicate")


def robust_fusion(shift: torch.Tensor, confidence: torch.Tensor, *, min_confidence: float, outlier_px: float,
                  smoothing: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The classical grid fusion of one set of window measurements.

    Args:
        shift: (N, 2, gy, gx) window shifts, px. confidence: (N, gy, gx).
        smoothing: standard deviation of the normalised convolution, grid steps.

    Returns:
        ``(fused, weight)``: (N, 2, gy, gx) smoothed shifts and (N, 1, gy, gx) the weight each
        window kept (0 = rejected). With no window kept in a sample its fused shift is 0.
    """
    weight = torch.where(confidence >= min_confidence, confidence, torch.zeros_like(confidence))[:, None]
    kept = weight > 0
    count = kept.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    # rejected windows first take the mean of the kept ones, so they do not drag the median
    mean = (shift * kept).sum(dim=(2, 3), keepdim=True) / count
    median = _median3(torch.where(kept, shift, mean))
    outlier = (shift - median).norm(dim=1, keepdim=True) > outlier_px
    weight = torch.where(outlier, torch.zeros_like(weight), weight)
    norm = _gaussian_smooth(weight, smoothing)
    total = weight.sum(dim=(2, 3), keepdim=True)
    global_mean = (shift * weight).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-12)
    fallback = torch.where(total > 0, global_mean, torch.zeros_like(global_mean))
    smoothed = _gaussian_smooth(shift * weight, smoothing) / norm.clamp_min(1e-12)
    fused = torch.where(norm > 1e-6, smoothed, fallback.expand_as(shift))
    return fused, weight
