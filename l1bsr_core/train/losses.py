"""Self-supervised losses of L1BSR. No ground truth enters any of them.

Tensors: views are (N, 4, h, w) float in band order B, G, R, NIR; flows (N, 2, h, w) in pixels in
the :func:`l1bsr_core.warp.warp` convention (channel 0 dx, channel 1 dy).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..bands import MOVING_BANDS, REFERENCE_BAND
from ..filters import box_mean, gaussian_blur
from ..models.csr import contrast_normalise
from ..simulate import invert_flow
from ..warp import compose_flows, upscale_flow, warp

LOSS_BORDER_PX = 8
"""Pixels excluded at each border of every loss (warps sample reflected content there)."""
CONSISTENCY_BORDER_PX = 2 * LOSS_BORDER_PX
"""Pixels excluded at each border of the CSR's two-view consistency loss (two warps deep)."""


CONSISTENCY_BLUR_PX = 1.0
"""Gaussian low-pass (px) of both sides of :func:`two_view_consistency_loss`."""

SMOOTHED_RADIUS_PX = 2
"""Radius of the box filter of the smoothed term of :func:`multiscale_l1`."""

EQUIVARIANCE_SHIFT_PX = 3.0
"""Largest constant shift (px, per axis) applied by :func:`shift_equivariance_loss` in training."""

ANCHOR_GREEN_PROBABILITY = 0.7
"""How often :func:`pairwise_training_loss` anchors on G (the inference reference), not any band."""


def interior(x: torch.Tensor, border: int = LOSS_BORDER_PX) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border else x


def multiscale_l1(a: torch.Tensor, b: torch.Tensor, radius: int = SMOOTHED_RADIUS_PX) -> torch.Tensor:
    """L1 of the images plus L1 of their box-smoothed versions (widens the basin of a flow loss)."""
    return interior((a - b).abs()).mean() + interior((box_mean(a, radius) - box_mean(b, radius)).abs()).mean()


def smoothness(flow: torch.Tensor) -> torch.Tensor:
    """Total variation (L1 of finite differences) of a flow, mean over pixels."""
    dx = (flow[..., :, 1:] - flow[..., :, :-1]).abs().mean()
    dy = (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean()
    return dx + dy


def csr_pair(reference: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
    """Stack two (N, h, w) bands into CSR's contrast-normalised (N, 2, h, w) input [reference, moving]."""
    return contrast_normalise(torch.stack((reference, moving), dim=1))


def anchor_consistency_loss(
    csr, view0: torch.Tensor, view1: torch.Tensor, band: torch.Tensor, anchor: torch.Tensor,
    *, smooth_weight: float = 0.05,
) -> tuple[torch.Tensor, dict]:
    """CSR's self-supervised loss: flows composed through an anchor band map band i of view 0 onto band i of view 1.

    For each sample n, with ``i = band[n]`` and anchor image ``A = anchor[n]`` (N, h, w) (any band
    of either view, typically G)::

        Fa = CSR([view1_i, A])   # view1_i(p) ~ A(p + Fa(p))       (cross-spectral)
        Fb = CSR([A, view0_i])   # A(q)       ~ view0_i(q + Fb(q)) (cross-spectral)
        warp(view0_i, compose(Fa, Fb)) ~ view1_i                     (same band: photometric)

    The photometric term compares contrast-normalised images of the same band, so no cross-spectral
    similarity is ever assumed. Returns ``(loss, parts)``.
    """
    idx = torch.arange(view0.shape[0], device=view0.device)
    v0 = view0[idx, band]
    v1 = view1[idx, band]
    flow_a = csr(csr_pair(v1, anchor))
    flow_b = csr(csr_pair(anchor, v0))
    composed = compose_flows(flow_a, flow_b)
    pair = contrast_normalise(torch.stack((v0, v1), dim=1))
    warped = warp(pair[:, :1], composed)
    photometric = multiscale_l1(warped, pair[:, 1:])
    smooth = smoothness(flow_a) + smoothness(flow_b)
    loss = photometric + smooth_weight * smooth
    return loss, {"photometric": photometric.item(), "smooth": smooth.item()}


def two_view_consistency_loss(csr, view0: torch.Tensor, view1: torch.Tensor, *, border: int = CONSISTENCY_BORDER_PX):
    """The joint CSR's self-supervised loss: each band, registered onto G in both views, must agree.

    With ``F_v = csr(view_v)`` (N, 3, 2, h, w), the flows of B, R, NIR onto G within view v, and
    ``H`` the flow of view 0's G onto view 1's G (``warp(G_0, H) ≈ G_1``, same band, measured by
    :meth:`~l1bsr_core.models.csr_joint.JointCSR.green_flow` without gradient)::

        warp(view1_i, F_1i)  ≈  warp(view0_i, compose(H, F_0i))     (both in view 1's G geometry)

    Same band on both sides (photometric, contrast-normalised): no cross-spectral similarity is
    assumed and no ground truth enters. Odd and even detectors acquire the bands in opposite
    order, so ``F_0i`` and ``F_1i`` differ and an error that scales with the flow shows.
    Returns ``(loss, parts)``.
    """
    flows0, flows1 = csr(view0), csr(view1)
    with torch.no_grad():
        green = csr.green_flow(view1[:, REFERENCE_BAND], view0[:, REFERENCE_BAND])
    n, height, width = view0.shape[0], view0.shape[-2], view0.shape[-1]
    moving = list(MOVING_BANDS)
    bands0 = contrast_normalise(view0[:, moving]).reshape(n * len(moving), 1, height, width)
    bands1 = contrast_normalise(view1[:, moving]).reshape(n * len(moving), 1, height, width)
    flows0 = flows0.reshape(n * len(moving), 2, height, width)
    flows1 = flows1.reshape(n * len(moving), 2, height, width)
    green = green.repeat_interleave(len(moving), dim=0)
    # Both sides are low-passed before warping: otherwise flows that land between pixels win,
    # because interpolation smooths the noise of both sides (a bias seen in training).
    registered1 = warp(gaussian_blur(bands1, CONSISTENCY_BLUR_PX), flows1)
    registered0 = warp(gaussian_blur(bands0, CONSISTENCY_BLUR_PX), compose_flows(green, flows0))
    photometric = interior((registered0 - registered1).abs(), border).mean()
    return photometric, {"photometric": photometric.item()}


def shift_equivariance_loss(csr, reference: torch.Tensor, moving: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Label-free: shifting the moving band by a constant ``shift`` must change CSR's flow by ``-shift``.

    With ``moved = warp(moving, s)`` (so ``moved(q) = moving(q + s)``), a correct flow satisfies
    ``CSR([reference, moved]) = CSR([reference, moving]) - s`` exactly, whatever the two bands'
    spectra. ``s`` is our own augmentation (N, 2) in pixels, never the scene's truth. The target
    side is detached, so the loss teaches the network to see displacements without fixing their
    absolute value (which the anchor-consistency loss does).
    """
    n, height, width = moving.shape
    constant = shift.view(n, 2, 1, 1).expand(n, 2, height, width)
    moved = warp(moving[:, None], constant)[:, 0]
    flows = csr(torch.cat((csr_pair(reference, moving), csr_pair(reference, moved))))
    base, shifted = flows[:n], flows[n:]
    border = LOSS_BORDER_PX + int(math.ceil(shift.abs().max().item()))
    return interior((shifted - (base.detach() - constant)).abs(), border).mean() + \
        interior((base - (shifted.detach() + constant)).abs(), border).mean()


def joint_view_flows(csr, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
    """The joint CSR's flows carrying view 0's G onto each band of view 1: (N, 4, 2, h, w).

    View 0's G → view 1's G (:meth:`~l1bsr_core.models.csr_joint.JointCSR.green_flow`), then
    G → each band of view 1 (the inverse of the CSR's flows of view 1).
    ``flows[:, i]`` satisfies ``view1_i(p) ~ view0_G(p + flow(p))`` (geometrically).
    """
    n, bands = view1.shape[:2]
    green = csr.green_flow(view1[:, REFERENCE_BAND], view0[:, REFERENCE_BAND])
    to_green = invert_flow(csr(view1).flatten(0, 1))
    moving = list(MOVING_BANDS)
    flows = green[:, None].repeat(1, bands, 1, 1, 1)
    flows[:, moving] = compose_flows(to_green, green.repeat_interleave(len(moving), 0)).reshape(
        n, len(moving), 2, *view1.shape[-2:])
    return flows


def pairwise_view_flows(csr, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
    """A pairwise CSR's flows carrying view 0's G onto each band of view 1: (N, 4, 2, h, w).

    ``flows[:, i]`` satisfies ``view1_i(p) ~ view0_G(p + flow(p))`` (geometrically).
    """
    n, bands = view1.shape[:2]
    ref = view0[:, REFERENCE_BAND:REFERENCE_BAND + 1].expand(-1, bands, -1, -1)
    pairs = csr_pair(view1.reshape(n * bands, *view1.shape[-2:]), ref.reshape(n * bands, *ref.shape[-2:]))
    return csr(pairs).reshape(n, bands, 2, *view1.shape[-2:])


def pairwise_flows_onto_green(csr, view: torch.Tensor) -> torch.Tensor:
    """(N, 4, h, w) view → (N, 3, 2, h, w) a pairwise CSR's flows of B, R, NIR onto G."""
    n = view.shape[0]
    ref = view[:, REFERENCE_BAND:REFERENCE_BAND + 1].expand(-1, len(MOVING_BANDS), -1, -1)
    mov = view[:, list(MOVING_BANDS)]
    pairs = csr_pair(ref.reshape(-1, *view.shape[-2:]), mov.reshape(-1, *view.shape[-2:]))
    return csr(pairs).reshape(n, len(MOVING_BANDS), 2, *view.shape[-2:])


def pairwise_training_loss(
    csr, view0: torch.Tensor, view1: torch.Tensor, rng: np.random.Generator,
    *, smooth_weight: float, equivariance_weight: float,
) -> tuple[torch.Tensor, dict]:
    """One step's loss of a pairwise CSR: :func:`anchor_consistency_loss` on a random band per sample,
    plus ``equivariance_weight`` × :func:`shift_equivariance_loss`. Returns ``(loss, parts)``."""
    n = view0.shape[0]
    band = torch.from_numpy(rng.integers(0, view0.shape[1], n)).to(view0.device)
    # anchor: G of either view most of the time (the inference reference), sometimes any band
    anchor_view = rng.integers(0, 2, n)
    anchor_band = np.where(rng.random(n) < ANCHOR_GREEN_PROBABILITY, REFERENCE_BAND, rng.integers(0, view0.shape[1], n))
    views = torch.stack((view0, view1))
    anchor = views[torch.from_numpy(anchor_view), torch.arange(n), torch.from_numpy(anchor_band)]
    loss, parts = anchor_consistency_loss(csr, view0, view1, band, anchor, smooth_weight=smooth_weight)
    if equivariance_weight > 0:
        # reference: G of view 0; moving: any band of either view (cross-spectral and cross-view)
        moving_band = torch.from_numpy(rng.integers(0, view0.shape[1], n))
        moving = views[torch.from_numpy(rng.integers(0, 2, n)), torch.arange(n), moving_band]
        shift = torch.from_numpy(rng.uniform(-EQUIVARIANCE_SHIFT_PX, EQUIVARIANCE_SHIFT_PX, (n, 2))).float()
        equivariance = shift_equivariance_loss(csr, view0[:, REFERENCE_BAND], moving, shift.to(view0.device))
        loss = loss + equivariance_weight * equivariance
        parts["equivariance"] = equivariance.item()
    return loss, parts


def rec_self_supervised_loss(
    rec_output: torch.Tensor, view1: torch.Tensor, flows: torch.Tensor, degrade, *, factor: int,
) -> torch.Tensor:
    """REC's self-supervised loss: REC(view 0), warped band by band onto view 1 and degraded, must equal view 1.

    Args:
        rec_output: (N, 4, factor·h, factor·w) REC output for view 0 (all bands in view 0's G geometry).
        view1: (N, 4, h, w) the other view, same units as ``rec_output``.
        flows: (N, 4, 2, h, w) from :func:`joint_view_flows` or :func:`pairwise_view_flows`
            (computed without gradient).
        degrade: the acquisition operator, (N, C, H, W) → (N, C, H/factor, W/factor).
    """
    n, bands, height, width = rec_output.shape
    fine_flows = upscale_flow(flows.reshape(n * bands, 2, *flows.shape[-2:]), factor)
    warped = warp(rec_output.reshape(n * bands, 1, height, width), fine_flows).reshape(n, bands, height, width)
    simulated = degrade(warped)
    return interior((simulated - view1).abs()).mean()


def rec_supervised_loss(rec_output: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """The reference upper bound: L1 against the true high-resolution image (simulated data only)."""
    return interior((rec_output - truth).abs(), 2 * LOSS_BORDER_PX).mean()
