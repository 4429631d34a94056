"""NIR's composite reference and its trusted residual (issue #24), on project-made data.

Flows follow ``warp(band, flow) ≈ G`` (channel 0 dx, px); window shifts follow
:mod:`l1bsr_core.phase_correlation` (``moving(y + dy, x + dx) ≈ reference(y, x)``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core import band_alignment, inference
from l1bsr_core.bands import BLUE, GREEN, MOVING_BANDS, NIR, RED
from l1bsr_core.models import JointCSR
from l1bsr_core.models.csr_joint import JointCSRConfig
from l1bsr_core.models.nir_reference import composite_nir_windows
from l1bsr_core.phase_correlation import window_grid, windowed_phase_correlation
from l1bsr_core.scenes import make_scene
from l1bsr_core.simulate import simulate_pair
from l1bsr_core.warp import warp

from support import constant_flow, simulated_view, ten_metre_bands

torch.set_num_threads(1)

SIZE = 128
"""Side of the synthetic bands: a 5 × 5 grid of 64 px windows every 16 px."""
WINDOW, STEP = 64, 16
SHIFT = (0.4, -0.25)
"""NIR's misregistration, px (dx, dy)."""
COMPOSITE_TOLERANCE_PX = 0.05
"""The composite reference holds NIR's edges exactly here: what is left is the Hann-window bias
and bicubic resampling of the shifted band."""


def mixed_polarity_bands() -> torch.Tensor:
    """(1, 4, SIZE, SIZE) B, G, R, NIR: two unrelated textures T1, T2 of equal contrast, B = T1,
    R = T2, G = T1 + T2 and NIR = T1 − T2 + a level, NIR shifted by :data:`SHIFT`: in every window
    half of NIR's edges have G's polarity and half the opposite one."""
    first, second = (ten_metre_bands(SIZE, SIZE, seed=seed)[GREEN] for seed in (3, 4))
    first, second = ((t - t.mean()) / t.std() * 100 for t in (first, second))
    bands = torch.zeros(1, 4, SIZE, SIZE, dtype=torch.float64)
    bands[0, BLUE], bands[0, RED] = first + 1000, second + 1000
    bands[0, GREEN] = first + second + 1000
    nir = (first - second + 2000)[None, None]
    # NIR(p) = true NIR(p − SHIFT): NIR(p + SHIFT) matches G(p), its window shift is +SHIFT
    bands[0, NIR] = warp(nir, -constant_flow(*SHIFT, SIZE, SIZE, torch.float64))[0, 0]
    return bands.float()


def window_errors(shift: torch.Tensor) -> np.ndarray:
    """Distance of each window shift (1, 1, 2, gy, gx) from SHIFT, px."""
    truth = torch.tensor(SHIFT).view(2, 1, 1)
    return (shift[0, 0] - truth).norm(dim=0).flatten().numpy()


def test_composite_reference_reads_a_nir_of_mixed_polarity():
    """Against the composite, NIR's windows read its shift; against G alone, whose edges NIR has with
    both signs in every window, they cannot (the two halves of the correlation cancel)."""
    bands = mixed_polarity_bands()
    composite, confidence = composite_nir_windows(bands, window=WINDOW, step=STEP)
    green, green_confidence = windowed_phase_correlation(bands[:, GREEN], bands[:, [NIR]], window=WINDOW, step=STEP)
    assert composite.shape == (1, 1, 2, 5, 5) and confidence.shape == (1, 1, 5, 5)
    assert np.median(window_errors(composite)) < COMPOSITE_TOLERANCE_PX
    assert float(confidence.min()) > float(green_confidence.max())
    assert np.median(window_errors(green)) > 2 * np.median(window_errors(composite))


def test_nir_without_texture_falls_back_to_the_joint_model():
    """Where NIR has no confident window, its flow is the joint model (here an affine field, no
    coupling: B and R are still), not a residual carried over from a cluster of windows far away."""
    gy, gx, confident_cols = 12, 40, 16
    ys, xs = np.mgrid[0:gy, 0:gx].astype(np.float32)
    affine = np.stack((0.3 + 0.01 * xs, -0.2 + 0.01 * ys))  # (2, gy, gx) px
    windows = affine.copy()
    windows[0, 4:7, confident_cols - 3:confident_cols] += 0.6  # a cluster NIR's own residual follows
    shift = torch.zeros(1, 3, 2, gy, gx)
    shift[0, MOVING_BANDS.index(NIR)] = torch.from_numpy(windows)
    confidence = torch.zeros(1, 3, gy, gx)
    confidence[0, :, :, :confident_cols] = 0.8
    classical = torch.zeros(1, 3, 2, gy, gx)  # B and R still: no shared displacement to couple to
    far = slice(confident_cols + 10, gx)  # beyond the reach of the widest residual smoothing (σ 3 → 9 steps)

    def nir_parts(support: float) -> tuple[np.ndarray, np.ndarray]:
        model = JointCSR(JointCSRConfig(nir_coupling=True, nir_residual_support=support, corrected=(False,) * 3))
        (joint, residual), = model.joint_nir_parts(shift, confidence, classical)
        return joint.numpy(), residual.numpy()

    joint, residual = nir_parts(0.1)
    assert np.abs(joint - affine).max() < 0.1  # the fit: an affine field pulled a little by the cluster
    assert np.abs(residual[..., far]).max() == 0  # no residual where NIR has no window in reach
    bump = (0, slice(4, 7), slice(confident_cols - 3, confident_cols))
    assert residual[bump].mean() > 0.02  # ... but NIR's own residual is kept where its windows are
    _, untrusted = nir_parts(0.0)  # without the fallback the residual's mean spreads over the textureless part
    assert np.abs(untrusted[..., far]).max() > 0.005


def test_shipped_csr_keeps_blue_and_red_of_the_previous_one():
    """The composite reference changes NIR only: B's and R's flows are bit-identical to `csr-green-nir`'s."""
    view = np.ascontiguousarray(simulated_view(SIZE, SIZE, seed=5).transpose(1, 2, 0))
    _, shipped = inference.register(view, weights="csr")
    _, previous = inference.register(view, weights="csr-green-nir")
    assert np.array_equal(shipped[:2], previous[:2])
    assert not np.array_equal(shipped[2], previous[2])


@torch.no_grad()
@pytest.mark.parametrize("side", [0, 32])
def test_composite_nir_measured_in_slabs_equals_the_whole_image(monkeypatch, side):
    """Large images are measured slab by slab (:mod:`l1bsr_core.band_alignment`): NIR's composite
    windows (the grid's, or smaller ones centred in them) are per window, so the grid is the whole image's."""
    height, width = 170, 133
    bgrn = np.ascontiguousarray(simulated_view(height + 1, width + 1, seed=7).transpose(1, 2, 0)[:height, :width])
    model = JointCSR(JointCSRConfig(nir_coupling=True, nir_reference="composite", nir_residual_support=0.1,
                                    corrected=(False,) * 3, nir_composite_window=side))
    expected = model.grid(torch.from_numpy(bgrn.astype(np.float32)).permute(2, 0, 1)[None])
    per_row = window_grid(width, model.window_size(height, width), model.config.step)
    monkeypatch.setattr(band_alignment, "WINDOWS_PER_SLAB", 2 * per_row)
    flows = band_alignment.band_flows(model, bgrn, torch.device("cpu"))
    assert torch.allclose(flows.grid, expected, atol=1e-4)


def test_smaller_composite_windows_are_centred_in_the_grid_windows():
    """32 px windows centred in the 64 px grid's: what a 32 px grid read from the image cut 16 px in
    gives, on the 64 px grid's nodes; the full side gives the grid's own windows."""
    bands = mixed_polarity_bands()
    inset = (WINDOW - 32) // 2
    small, small_confidence = composite_nir_windows(bands, window=WINDOW, step=STEP, side=32)
    assert small.shape == (1, 1, 2, 5, 5)
    from l1bsr_core.models.nir_reference import VISIBLE, least_squares_composite
    from l1bsr_core.phase_correlation import complex_gradient, feature_phase_correlation
    gradients = complex_gradient(bands)[..., inset:, inset:]
    direct, direct_confidence = feature_phase_correlation(gradients[:, list(VISIBLE)], gradients[:, [NIR]], window=32,
                                                          step=STEP, composite=least_squares_composite)
    assert torch.equal(small, direct[..., :5, :5]) and torch.equal(small_confidence, direct_confidence[..., :5, :5])
    assert np.median(window_errors(small)) < 2 * COMPOSITE_TOLERANCE_PX  # they read NIR's shift too
    whole, _ = composite_nir_windows(bands, window=WINDOW, step=STEP)
    assert torch.equal(composite_nir_windows(bands, window=WINDOW, step=STEP, side=WINDOW)[0], whole)
    with pytest.raises(ValueError, match="do not fit"):
        composite_nir_windows(bands, window=WINDOW, step=STEP, side=WINDOW + 2)


@pytest.mark.parametrize("side", [8, 31, 66])
def test_composite_window_outside_16_to_the_window_or_odd_is_refused(side):
    with pytest.raises(ValueError, match="nir_composite_window must be 0"):
        JointCSRConfig(nir_reference="composite", nir_composite_window=side)


def test_composite_window_without_the_composite_reference_is_refused():
    with pytest.raises(ValueError, match="needs nir_reference 'composite'"):
        JointCSRConfig(nir_composite_window=32)


@torch.no_grad()
@pytest.mark.parametrize("height", [40, 20])
def test_small_images_take_the_composite_window_within_their_own(height):
    """An image under 64 px has smaller grid windows: NIR's 32 px ones are cut to fit (20 px: the
    grid's own, so every flow is the default setting's). In a 40 px strip the 32 px windows are
    measured, change NIR's flow and read it as well as the grid's; B and R are the default
    setting's. (A square image under 64 px has one window, too few for NIR's joint model: its NIR
    keeps its first estimate whatever the composite windows.)"""
    width = 192  # a row of 10 or 11 windows
    pair = simulate_pair(make_scene(2 * height, 2 * width, seed=9), rng=9)
    bgrn = torch.from_numpy(pair.views[0].astype(np.float32))[None]
    truth = torch.from_numpy(pair.band_flows[0])[None, MOVING_BANDS.index(NIR)]
    flows = {}
    for window in (0, 32):
        model = JointCSR(JointCSRConfig(nir_coupling=True, nir_reference="composite", nir_residual_support=0.1,
                                        corrected=(False,) * 3, nir_composite_window=window))
        flows[window] = model(bgrn)
    assert flows[32].shape == (1, 3, 2, height, width)
    assert torch.equal(flows[32][:, :2], flows[0][:, :2])
    nir = {window: flow[:, MOVING_BANDS.index(NIR)] for window, flow in flows.items()}
    assert torch.equal(nir[32], nir[0]) == (height == 20)
    assert float(truth.norm(dim=1).mean()) > 0.8  # NIR is misregistered by ~0.9 px
    errors = {window: float((flow - truth).norm(dim=1).mean()) for window, flow in nir.items()}
    assert errors[32] < 0.15 and errors[32] < errors[0] + 0.02  # ~0.1 px with either window
