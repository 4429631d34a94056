"""Properties of the joint CSR (:mod:`l1bsr_core.models.csr_joint`) that hold for any weights.

Flows of B, R, NIR onto G follow ``warp(band, flow) ≈ G``: if a band is replaced by
``warp(band, s)`` (a constant shift s), its flow becomes ``flow − s``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from l1bsr_core.bands import MOVING_BANDS, NIR, NO_DATA
from l1bsr_core.models import JointCSR
from l1bsr_core.models.csr_joint import JointCSRConfig
from l1bsr_core.shift_fusion import robust_fusion
from l1bsr_core.warp import align_to_reference, warp

from support import constant_flow, randomise_parameters, simulated_view

torch.set_num_threads(1)

SIZE = 128
"""Side of the network's input: a 5 × 5 grid of the default 64 px windows every 16 px."""
MARGIN = 8
"""Extra rows and columns simulated around the input, so a shifted band brings in real content."""
RANDOM_STD = 0.05
"""Standard deviation of randomised weights: a fusion network far from its zero start."""

SHIFTED_BAND_TOLERANCE_PX = 0.05
"""The shifted band's flow moves by −s up to the measurement: the Hann-window bias (~1.5 % of
the band's shift to G) and bicubic resampling of the shifted band."""
OTHER_BANDS_TOLERANCE_PX = 0.01
"""The other bands' flows only see the shifted band's confidences (equal up to resampling)."""
NUMERIC_PX = 1e-5
"""Float32 rounding, where two computations should be the same."""
EXACT_PX = 1e-9
"""Float64 rounding, where two computations are equal in exact arithmetic."""
LEARNED_CORRECTION_PX = 0.01
"""The randomised network must move the fusion at least this much, or it tests nothing."""


@pytest.fixture(scope="module")
def view() -> torch.Tensor:
    """(1, 4, SIZE + 2·MARGIN, SIZE + 2·MARGIN) float32 simulated L1B view, bands misregistered."""
    return torch.from_numpy(simulated_view(SIZE + 2 * MARGIN, SIZE + 2 * MARGIN, seed=5).astype(np.float32))[None]


@pytest.fixture(scope="module")
def bgrn(view) -> torch.Tensor:
    """The network's (1, 4, SIZE, SIZE) input: the view without its margin."""
    return view[..., MARGIN:-MARGIN, MARGIN:-MARGIN].contiguous()


@pytest.fixture(scope="module")
def random_csr() -> JointCSR:
    return randomise_parameters(JointCSR(), RANDOM_STD)


def robust_fusions(model: JointCSR, shift: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
    """(N, 3, 2, gy, gx): :func:`robust_fusion` of each band on its own."""
    return torch.stack([robust_fusion(shift[:, i], confidence[:, i], min_confidence=model.config.min_confidence,
                                      outlier_px=model.config.outlier_px, smoothing=model.config.smoothing[i])[0]
                        for i in range(len(MOVING_BANDS))], dim=1)


def first_pass(model: JointCSR, shift: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
    """(N, 3, 2, gy, gx): the joint CSR's first pass on the window grid (classical fusion, learned correction)."""
    first, weight = model.classical_fusion(shift, confidence)
    return model.correct(shift, confidence, first, weight, first)


@torch.no_grad()
def test_an_untrained_network_is_the_classical_robust_fusion(bgrn):
    model = JointCSR().eval()
    shift, confidence = model.measure(bgrn)
    expected = robust_fusions(model, shift, confidence)
    assert torch.allclose(first_pass(model, shift, confidence), expected, atol=NUMERIC_PX)
    # end to end: the refined bands (B, R) are measured again after warping with the first estimate
    window = model.window_size(SIZE, SIZE)
    first = model.to_pixels(expected, SIZE, SIZE, window)
    residual = robust_fusions(model, *model.measure(align_to_reference(bgrn, first, MOVING_BANDS)))
    refined = torch.tensor(model.config.refine).view(1, -1, 1, 1, 1)
    two_pass = expected + residual * refined
    assert torch.allclose(model(bgrn), model.to_pixels(two_pass, SIZE, SIZE, window), atol=NUMERIC_PX)


@torch.no_grad()
@pytest.mark.parametrize("std", [RANDOM_STD, 10 * RANDOM_STD])
@pytest.mark.parametrize("moved", range(len(MOVING_BANDS)))
def test_fusion_is_shift_equivariant_by_construction_for_any_weights(bgrn, moved, std):
    """Adding s to one band's window shifts adds s to that band's fused grid, the others unchanged.

    In float64: with large weights the network amplifies float32 rounding of the shifted inputs.
    """
    model = randomise_parameters(JointCSR(), std, seed=moved).double()
    shift, confidence = (values.double() for values in model.measure(bgrn))
    fused = first_pass(model, shift, confidence)
    learned = (fused - robust_fusions(model, shift, confidence)).abs().max()
    assert learned > LEARNED_CORRECTION_PX
    offset = torch.zeros_like(shift)
    offset[:, moved, 0], offset[:, moved, 1] = 0.8, -1.7
    assert torch.allclose(first_pass(model, shift + offset, confidence), fused + offset[..., :1, :1], atol=EXACT_PX)


@torch.no_grad()
@pytest.mark.parametrize("moved", [0, 1])  # B, R: strong peaks against G (NIR: see the docstring)
@pytest.mark.parametrize("dx, dy", [(1.0, 0.0), (0.4, -0.7), (-2.0, 1.0)])
def test_shifting_one_band_moves_its_flow_by_minus_the_shift(view, bgrn, random_csr, moved, dx, dy):
    """End to end, measurement included: warp one band of the input by a constant s.

    Not NIR: its weak windows (confidence near the fusion's threshold) can cross the threshold or
    jump to another peak when the band moves, a change of the classical measurement (the
    untrained network shows it too), not of the learned fusion, whose equivariance is exact
    (:func:`test_fusion_is_shift_equivariant_by_construction_for_any_weights`).
    """
    band = MOVING_BANDS[moved]
    base = random_csr(bgrn)
    shifted = view.clone()
    shifted[:, band] = warp(view[:, band:band + 1], constant_flow(dx, dy, *view.shape[-2:]))[:, 0]
    change = random_csr(shifted[..., MARGIN:-MARGIN, MARGIN:-MARGIN]) - base
    expected = torch.zeros_like(change)
    expected[:, moved, 0], expected[:, moved, 1] = -dx, -dy
    error = (change - expected).abs()
    assert error[:, moved].max() < SHIFTED_BAND_TOLERANCE_PX
    others = [i for i in range(len(MOVING_BANDS)) if i != moved]
    assert error[:, others].max() < OTHER_BANDS_TOLERANCE_PX


def window_touches(first: int, last: int, count: int, window: int, step: int) -> torch.Tensor:
    """(count,) bool: which windows (k·step … k·step + window − 1) overlap pixels first … last − 1."""
    starts = torch.arange(count) * step
    return (starts < last) & (starts + window > first)


@torch.no_grad()
def test_windows_touching_no_data_get_zero_confidence(bgrn):
    """A hole in one band silences every band's windows that touch it, and only those."""
    model = JointCSR()
    _, confidence = model.measure(bgrn)
    rows, cols = (72, 78), (20, 28)  # > gradient_reach() px from every window that does not overlap it
    holed = bgrn.clone()
    holed[:, NIR, rows[0]:rows[1], cols[0]:cols[1]] = NO_DATA
    _, holed_confidence = model.measure(holed)
    window, step = model.window_size(SIZE, SIZE), model.config.step
    gy, gx = confidence.shape[-2:]
    touched = window_touches(*rows, gy, window, step)[:, None] & window_touches(*cols, gx, window, step)[None, :]
    assert 0 < touched.sum() < touched.numel()
    assert (holed_confidence[..., touched] == 0).all()
    assert torch.allclose(holed_confidence[..., ~touched], confidence[..., ~touched], atol=NUMERIC_PX)
    assert (confidence[..., ~touched] > 0).all()
    assert torch.isfinite(model(holed)).all()


@torch.no_grad()
@pytest.mark.parametrize("height, width", [(16, 16), (17, 23), (31, 64), (64, 41), (48, 48), (64, 64)])
def test_output_shape_for_odd_and_small_sizes(bgrn, random_csr, height, width):
    x = bgrn[..., :height, :width].expand(2, -1, -1, -1)
    out = random_csr(x)
    assert out.shape == (2, len(MOVING_BANDS), 2, height, width)
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("height, width", [(15, 40), (40, 15), (8, 8)])
def test_an_image_under_16_px_is_refused(random_csr, height, width):
    with pytest.raises(ValueError, match="at least 16"):
        random_csr(torch.ones(1, 4, height, width))


def test_bands_other_than_bgrn_are_refused(random_csr):
    with pytest.raises(ValueError, match="B, G, R, NIR"):
        random_csr(torch.ones(1, 3, 32, 32))


@pytest.mark.parametrize("gy, gx", [(1, 1), (1, 5), (2, 3), (5, 6)])
def test_to_pixels_of_a_constant_grid_is_constant(gy, gx):
    """Whatever the interpolation (copy, bilinear, bicubic) and the pixel window asked for."""
    model, window = JointCSR(), 64
    values = torch.tensor([[0.5, -1.25], [2.0, 0.0], [-0.3, 0.7]])  # (band, dx/dy)
    grid = values[None, :, :, None, None].expand(1, -1, -1, gy, gx)
    height, width = (gy - 1) * model.config.step + window, (gx - 1) * model.config.step + window + 5
    for box in ({}, {"top": 7, "left": 30, "rows": 11, "cols": 4}):
        dense = model.to_pixels(grid, height, width, window, **box)
        assert dense.shape[-2:] == (box.get("rows", height), box.get("cols", width))
        assert torch.allclose(dense, values[None, :, :, None, None].expand_as(dense), atol=NUMERIC_PX)


# --- joint NIR estimate (issue #16) ---------------------------------------------------------------

GRID = 20
"""Side of the synthetic window grids of the joint NIR tests (a 368 px image)."""
NIR_WINDOW_NOISE_PX = 0.12
"""Standard deviation of the synthetic NIR window noise (B and R: a third of it)."""


def smooth_field(rng: np.random.Generator, amplitude: float) -> torch.Tensor:
    """(2, GRID, GRID) float64 smooth random field: two plane waves per component, 6–15 grid steps."""
    ys, xs = np.mgrid[0:GRID, 0:GRID].astype(np.float64)
    field = np.zeros((2, GRID, GRID))
    for component in range(2):
        for _ in range(2):
            angle, length, phase = rng.uniform(0, 2 * np.pi), rng.uniform(6, 15), rng.uniform(0, 2 * np.pi)
            field[component] += amplitude / 2 * np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / length
                                                        + phase)
    return torch.from_numpy(field)


def affine_field(rng: np.random.Generator, shift: float, slope: float) -> torch.Tensor:
    ys, xs = np.mgrid[0:GRID, 0:GRID].astype(np.float64) - (GRID - 1) / 2
    constant, matrix = rng.uniform(-shift, shift, 2), rng.uniform(-slope, slope, (2, 2))
    return torch.from_numpy(constant[:, None, None] + np.einsum("ij,jhw->ihw", matrix, np.stack((xs, ys))))


def joint_case(case: str, seed: int):
    """(truth, shift, confidence, classical) on a GRID² window grid for a coupling ``case``.

    ``coupled``: B, R, NIR = own affine + τ_b × one smooth shared field (1 px); ``uncoupled``: each
    band its own affine + its own smooth field (NIR's 0.5 px); ``affine``: affine offsets only.
    B and R enter as fused (``classical``) fields, NIR as noisy windows, a third unconfident.
    """
    from l1bsr_core.bands import BAND_TIME_RATIOS, BLUE, RED

    rng = np.random.default_rng(seed)
    shared = smooth_field(rng, 1.0)
    truth = []
    for band in (BLUE, RED, NIR):
        field = affine_field(rng, 1.0, 0.02)
        if case == "coupled":
            field = field + BAND_TIME_RATIOS[band] * shared
        elif case == "uncoupled":
            field = field + smooth_field(rng, 0.5 if band == NIR else 1.0)
        truth.append(field)
    truth = torch.stack(truth)[None]  # (1, 3, 2, GRID, GRID)
    noise = torch.from_numpy(rng.normal(0, NIR_WINDOW_NOISE_PX, truth.shape))
    shift = truth + noise
    classical = truth + noise / 3
    confidence = torch.from_numpy(np.where(rng.random((1, 3, GRID, GRID)) < 0.33, 0.05, 0.5))
    return truth, shift.float(), confidence.float(), classical.float()


def nir_errors(case: str, seed: int) -> tuple[float, float]:
    """Mean NIR grid error (px) of the classical fusion and of the joint estimate."""
    truth, shift, confidence, classical = joint_case(case, seed)
    classic = JointCSR(JointCSRConfig(nir_coupling=False))
    fused, _ = classic.classical_fusion(shift, confidence)
    classical = torch.cat((classical[:, :2], fused[:, 2:]), dim=1)
    joint = JointCSR(JointCSRConfig(nir_coupling=True)).joint_nir(shift, confidence, classical)
    assert torch.equal(joint[:, :2], classical[:, :2])  # B and R untouched

    def error(grid):
        return float((grid[0, 2].double() - truth[0, 2]).norm(dim=0).mean())

    return error(classical), error(joint)


@pytest.mark.parametrize("seed", range(3))
def test_joint_nir_borrows_the_shared_field_when_nir_is_coupled(seed):
    classical, joint = nir_errors("coupled", seed)
    assert joint < 0.8 * classical, (classical, joint)


@pytest.mark.parametrize("case", ["uncoupled", "affine"])
@pytest.mark.parametrize("seed", range(3))
def test_joint_nir_is_no_worse_when_nir_is_not_coupled(case, seed):
    """With nothing to borrow, the fitted coupling shrinks to 0: NIR keeps (at least) its classical accuracy."""
    classical, joint = nir_errors(case, seed)
    assert joint < classical + 0.01, (classical, joint)


def test_joint_nir_ignores_a_cluster_of_confident_wrong_windows():
    """A quarter of NIR's windows 2 px off (periodic texture): the 3 × 3 median test keeps them,
    the joint model, fitted robustly, drops them."""
    truth, shift, confidence, classical = joint_case("coupled", 0)
    shift[0, 2, 0, : GRID // 2, : GRID // 2] += 2.0
    confidence[0, 2, : GRID // 2, : GRID // 2] = 0.5
    joint = JointCSR(JointCSRConfig(nir_coupling=True)).joint_nir(shift, confidence, classical)
    fused, _ = JointCSR().classical_fusion(shift, confidence)
    quarter = (slice(None), slice(2, GRID // 2 - 2), slice(2, GRID // 2 - 2))
    error = (joint[0, 2].double() - truth[0, 2]).norm(dim=0)[quarter[1:]]
    assert (fused[0, 2].double() - truth[0, 2]).norm(dim=0)[quarter[1:]].mean() > 1.5  # the classical fusion fails
    assert error.max() < 0.3


def test_held_out_score_prefers_more_smoothing_for_a_smoother_field():
    from l1bsr_core.models.csr_joint import held_out_score

    rng = np.random.default_rng(0)
    weight = torch.ones(1, 1, GRID, GRID)
    noise = torch.from_numpy(rng.normal(0, 0.15, (1, 2, GRID, GRID))).float()
    flat = noise
    wavy = noise + torch.from_numpy(np.stack([np.sin(np.arange(GRID) * 2.0)[None].repeat(GRID, 0)] * 2))[None].float()

    def best(values):
        return min((1.0, 1.5, 2.0, 3.0), key=lambda s: float(held_out_score(values, weight, s, 2)[0]))

    assert best(flat) == 3.0
    assert best(wavy) == 1.0


def test_held_out_score_is_infinite_when_no_window_can_be_predicted():
    """An exclusion zone as wide as the Gaussian leaves nothing to predict from: such a smoothing
    must lose to any that can be judged (a score of 0 made it win every time)."""
    from l1bsr_core.models.csr_joint import held_out_score

    rng = np.random.default_rng(1)
    weight = torch.ones(1, 1, GRID, GRID)
    values = torch.from_numpy(rng.normal(0, 0.15, (1, 2, GRID, GRID))).float()
    assert math.isinf(float(held_out_score(values, weight, 1.0, 3)[0]))  # radius ceil(3σ) = 3
    assert math.isinf(float(held_out_score(values, weight, 1.0, 4)[0]))  # wider than the kernel
    assert math.isinf(float(held_out_score(values, weight, 0.3, 2)[0]))
    judged = float(held_out_score(values, weight, 1.5, 3)[0])
    assert 0 < judged < 0.25
    assert min((1.0, 1.5), key=lambda s: float(held_out_score(values, weight, s, 3)[0])) == 1.5
