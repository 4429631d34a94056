"""Lucas–Kanade CSR: learned features, classical sub-pixel solver, smooth flows by construction.

Same contract as :class:`~l1bsr_core.models.csr.CSRNet`: input (N, 2, H, W), channel 0 the
contrast-normalised reference band, channel 1 the moving band (H, W multiples of
:attr:`CSRConfig.size_multiple`); output (N, 2, H, W) flow in pixels (channel 0 dx, 1 dy) with
``warp(moving, flow)`` on the reference, bounded by ``tanh × max_flow_px``.

Why not the published encoder–decoder: it has to *learn* matching from two stacked channels,
which took it a GPU-scale budget; on a 2-core CPU it had not started to register after hundreds
of steps. Here the network only learns *what to match* (features in which B, R, NIR and G look
alike: edges whatever their sign, which NIR against G needs over vegetation); *how to match* is
the Gauss–Newton (Lucas–Kanade) solver, which is sub-pixel accurate by design:

1. one feature extractor shared by both bands: space-to-depth, then a layer of zero-sum 3 × 3
   filters followed by ``abs`` (:class:`EdgeMagnitude`: blind to the local brightness and to
   the *sign* of an edge, which is what flips between NIR and G over vegetation; the classical
   estimator gets the same invariance from ``|phase correlation|``), 3 × 3 convs → features at
   1/2 resolution, then a strided conv → features at 1/4 resolution;
2. the flow lives on a *control grid* of spacing ``grid_px`` (32 px) and is interpolated
   bilinearly to every pixel, so it is smooth by construction (L1B band parallax is smooth);
3. starting from zero, ``coarse_iterations`` steps on the 1/4-resolution features (wide capture
   range), then ``fine_iterations`` steps on the 1/2-resolution features (precision). Each step
   warps the moving features with the current flow, accumulates the normal equations of every
   grid node over the pixels its bilinear hat covers (a 2·grid_px square, weighted by the hat:
   hundreds of pixels, which is where the sub-pixel accuracy comes from) and solves the damped
   2 × 2 system (:func:`lucas_kanade_step`). Pooling with the interpolation hat, not a larger
   box, matters: with a box wider than the hat, grid modes the box cannot see drift from
   iteration to iteration and the solver slowly diverges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..warp import warp

FINE_STRIDE = 2
"""Resolution divisor of the fine (refinement) features."""
COARSE_STRIDE = 4
"""Resolution divisor of the coarse (capture) features."""
LK_DAMPING = 0.05
"""Levenberg damping of the 2 × 2 normal equations, relative to their mean eigenvalue."""
LK_MAX_STEP_PX = 2.0
"""Largest update of one step, full-resolution px (soft-clamped with tanh)."""


def _hat_weights(spacing: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """1-D bilinear "hat" of a grid node, sampled at the ``2 · spacing`` pixels it covers: (2·spacing,)."""
    offsets = torch.arange(2 * spacing, device=device, dtype=dtype) - spacing + 0.5
    return 1.0 - offsets.abs() / spacing


def _pool_to_grid(maps: torch.Tensor, spacing: int) -> torch.Tensor:
    """Weighted mean of ``maps`` (N, C, h, w) around every node of a grid of ``spacing`` px.

    The weights are the nodes' bilinear interpolation hats, so a node gathers exactly the pixels
    whose flow it moves, in proportion (the Jacobi form of Gauss–Newton on the grid). Output
    (N, C, h / spacing, w / spacing); node ``i`` is centred at ``(i + 0.5)·spacing − 0.5``, the
    convention of ``F.interpolate(..., align_corners=False)``. Pixels beyond the image get no weight.
    """
    hat = _hat_weights(spacing, maps.device, maps.dtype)
    kernel = (hat[:, None] * hat[None, :])[None, None]
    channels = maps.shape[1]
    pad = spacing // 2
    total = F.conv2d(F.pad(maps, (pad, pad, pad, pad)), kernel.expand(channels, 1, -1, -1),
                     stride=spacing, groups=channels)
    norm = F.conv2d(F.pad(torch.ones_like(maps[:1, :1]), (pad, pad, pad, pad)), kernel, stride=spacing)
    return total / norm


def _to_pixels(grid_flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear interpolation of a control-grid flow (N, 2, gh, gw) to (N, 2, *size); values unchanged."""
    return F.interpolate(grid_flow, size=size, mode="bilinear", align_corners=False)


def lucas_kanade_step(ref: torch.Tensor, mov: torch.Tensor, grid_flow: torch.Tensor, stride: int,
                      grid_px: int, robust: float = 0.0) -> torch.Tensor:
    """One damped Gauss–Newton step aligning ``mov`` features onto ``ref`` features.

    Args:
        ref, mov: (N, C, h, w) features at 1/``stride`` resolution.
        grid_flow: (N, 2, H / grid_px, W / grid_px) current flow, full-resolution px.
        stride: resolution divisor of the features.
        grid_px: grid spacing, full-resolution px.
        robust: 0 for least squares; else each pixel's equations are weighted by
            ``1 / (1 + e / (robust · mean e))``, ``e`` its squared feature residual (a Cauchy-type
            reweighting: structures present in one band only lose their pull).

    Returns:
        the updated grid flow (same shape), full-resolution px.
    """
    flow = _to_pixels(grid_flow, ref.shape[-2:]) / stride  # feature px
    warped = warp(mov, flow, mode="bilinear")  # features: smooth enough, 3x cheaper than bicubic
    gx = F.pad(0.5 * (warped[..., :, 2:] - warped[..., :, :-2]), (1, 1, 0, 0), mode="replicate")
    gy = F.pad(0.5 * (warped[..., 2:, :] - warped[..., :-2, :]), (0, 0, 1, 1), mode="replicate")
    residual = warped - ref
    terms = torch.stack(((gx * gx).sum(1), (gx * gy).sum(1), (gy * gy).sum(1),
                         (gx * residual).sum(1), (gy * residual).sum(1)), dim=1)
    if robust:
        energy = (residual * residual).sum(1, keepdim=True)
        terms = terms / (1.0 + energy / (robust * energy.mean(dim=(2, 3), keepdim=True) + 1e-6))
    a11, a12, a22, b1, b2 = _pool_to_grid(terms, grid_px // stride).unbind(1)
    damping = LK_DAMPING * 0.5 * (a11 + a22) + 1e-6
    a11, a22 = a11 + damping, a22 + damping
    det = a11 * a22 - a12 * a12
    step = -torch.stack((a22 * b1 - a12 * b2, a11 * b2 - a12 * b1), dim=1) / det[:, None] * stride
    return grid_flow + LK_MAX_STEP_PX * torch.tanh(step / LK_MAX_STEP_PX)


class EdgeMagnitude(nn.Module):
    """``|w * x|`` with every 3 × 3 filter ``w`` constrained to sum to zero (no bias).

    The response is unchanged when a patch of ``x`` is offset by a constant or negated (away from
    the zero-padded border), so features built on it match structures whatever their contrast
    polarity. Inputs are contrast-normalised, so the padding sits at the image mean.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch, 3, 3))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight - self.weight.mean(dim=(1, 2, 3), keepdim=True)
        return F.conv2d(x, weight, padding=1).abs()


class LucasKanadeCSR(nn.Module):
    """Shared learned features + coarse-to-fine Lucas–Kanade on a control grid; sized by a :class:`CSRConfig`."""

    IN_CHANNELS = 2

    def __init__(self, config):
        super().__init__()
        self.config = c = config
        if len(c.encoder) != 3:
            raise ValueError(f"the Lucas–Kanade CSR needs encoder=(first, fine, coarse) widths; got {c.encoder}")
        if c.grid_px % (2 * COARSE_STRIDE):
            raise ValueError(f"grid_px must be a multiple of {2 * COARSE_STRIDE}; got {c.grid_px}")
        act = lambda: nn.LeakyReLU(c.leaky_slope, inplace=True)  # noqa: E731
        conv = lambda i, o, s=1: nn.Conv2d(i, o, 3, stride=s, padding=1)  # noqa: E731
        first, fine, coarse = c.encoder
        self.fine_features = nn.Sequential(nn.PixelUnshuffle(FINE_STRIDE), EdgeMagnitude(FINE_STRIDE ** 2, first),
                                           conv(first, fine), act(), conv(fine, fine))
        # (index 0 is a placeholder: the activation of the fine features is applied in forward)
        self.coarse_features = nn.Sequential(nn.Identity(), conv(fine, coarse, COARSE_STRIDE // FINE_STRIDE), act(),
                                             conv(coarse, coarse))

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        c = self.config
        multiple = c.size_multiple
        if pair.shape[1] != self.IN_CHANNELS or pair.shape[-1] % multiple or pair.shape[-2] % multiple:
            raise ValueError(
                f"CSR expects (N, 2, H, W) with H, W multiples of {multiple}; got {tuple(pair.shape)}"
            )
        n, _, height, width = pair.shape
        both = torch.cat((pair[:, :1], pair[:, 1:]), dim=0)  # one extractor for both bands
        fine = F.leaky_relu(self.fine_features(both), c.leaky_slope)
        coarse = self.coarse_features(fine)
        grid_flow = pair.new_zeros(n, 2, height // c.grid_px, width // c.grid_px)
        for features, stride, steps in ((coarse, COARSE_STRIDE, c.coarse_iterations),
                                        (fine, FINE_STRIDE, c.fine_iterations)):
            for _ in range(steps):
                grid_flow = lucas_kanade_step(features[:n], features[n:], grid_flow, stride, c.grid_px, c.lk_robust)
        flow = _to_pixels(grid_flow, (height, width))
        return torch.tanh(flow / c.max_flow_px) * c.max_flow_px
