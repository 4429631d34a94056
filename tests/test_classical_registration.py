"""Tests of l1bsr_core.classical_registration (phase correlation, windowed shifts, classical flow and
registration) and of the misregistration estimator (l1bsr_core.misregistration). Crops are the
project's simulated L1B-like examples, whose true flows are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core import classical_registration as classical
from l1bsr_core.bands import BAND_NAMES, GREEN, MOVING_BAND_NAMES, MOVING_BANDS, NIR
from l1bsr_core.errors import InputError
from l1bsr_core.metrics import flow_epe
from l1bsr_core.misregistration import misregistration
from l1bsr_core.warp import warp

torch.set_num_threads(1)

SUBPIXEL_TOLERANCE_PX = 0.05


@pytest.fixture(scope="module")
def crop(example_crop) -> np.ndarray:
    return example_crop


def warp_numpy(image: np.ndarray, flow) -> np.ndarray:
    """The project's warp on a 2D image: out(y, x) = image(y + dy, x + dx).

    ``flow`` is a constant (dx, dy) or a (2, H, W) array.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim == 1:
        flow = np.broadcast_to(flow[:, None, None], (2, *image.shape))
    image_t = torch.from_numpy(image.astype(np.float64))[None, None]
    return warp(image_t, torch.from_numpy(np.ascontiguousarray(flow))[None])[0, 0].numpy()


# --- phase correlation ------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [(0.3, -1.7), (-1.25, 0.6)])
def test_phase_correlation_recovers_subpixel_shift(crop, shift):
    moving = crop[..., GREEN].astype(np.float64)
    # reference(p) = moving(p + shift), i.e. moving(y + dy, x + dx) = reference(y, x).
    reference = warp_numpy(moving, shift)
    dx, dy, confidence = classical.phase_correlation_shift(reference, moving)
    assert dx == pytest.approx(shift[0], abs=SUBPIXEL_TOLERANCE_PX)
    assert dy == pytest.approx(shift[1], abs=SUBPIXEL_TOLERANCE_PX)
    assert confidence > 0.5


def test_phase_correlation_sign_on_integer_roll(crop):
    reference = crop[..., GREEN]
    moving = np.roll(reference, shift=(2, 3), axis=(0, 1))  # moving(y + 2, x + 3) = reference(y, x)
    dx, dy, _ = classical.phase_correlation_shift(reference, moving)
    assert (dx, dy) == (pytest.approx(3, abs=0.02), pytest.approx(2, abs=0.02))


def test_phase_correlation_shift_aligns_with_warp(crop):
    reference = crop[..., GREEN].astype(np.float64)
    moving = warp_numpy(reference, (-0.8, 1.1))
    dx, dy, _ = classical.phase_correlation_shift(reference, moving)
    realigned = warp_numpy(moving, (dx, dy))
    residual = classical.phase_correlation_shift(reference, realigned)
    assert abs(residual[0]) < SUBPIXEL_TOLERANCE_PX and abs(residual[1]) < SUBPIXEL_TOLERANCE_PX


def test_phase_correlation_contrast_inversion(crop):
    band = crop[..., GREEN].astype(np.float64)
    reference = warp_numpy(band, (0.3, -1.7))
    dx, dy, _ = classical.phase_correlation_shift(reference, band.max() - band)
    assert dx == pytest.approx(0.3, abs=SUBPIXEL_TOLERANCE_PX)
    assert dy == pytest.approx(-1.7, abs=SUBPIXEL_TOLERANCE_PX)


def test_phase_correlation_confidence(crop):
    band = crop[:128, :128, GREEN]
    assert classical.phase_correlation_shift(band, band)[2] == pytest.approx(1.0, abs=1e-3)
    noise = np.random.default_rng(0).normal(size=(2, 64, 64))
    assert classical.phase_correlation_shift(noise[0], noise[1])[2] < classical.MIN_CONFIDENCE


def test_phase_correlation_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        classical.phase_correlation_shift(np.zeros((32, 32)), np.zeros((32, 40)))
    with pytest.raises(ValueError, match="2D"):
        classical.phase_correlation_shift(np.zeros((32, 32, 2)), np.zeros((32, 32, 2)))


# --- windowed shifts and classical flow ---------------------------------------------------------


def test_windowed_shifts_grid(crop):
    moving = crop[:160, :184, GREEN].astype(np.float64)
    reference = warp_numpy(moving, (0.4, -0.6))
    centres_y, centres_x, dx, dy, confidence = classical.windowed_shifts(
        reference, moving, window=64, step=48
    )
    # Starts 0, 48, 96 (flush with 160) and 0, 48, 96, 120 (last flush with 184).
    np.testing.assert_allclose(centres_y, [31.5, 79.5, 127.5])
    np.testing.assert_allclose(centres_x, [31.5, 79.5, 127.5, 151.5])
    assert dx.shape == dy.shape == confidence.shape == (3, 4)
    assert np.abs(dx - 0.4).max() < SUBPIXEL_TOLERANCE_PX
    assert np.abs(dy + 0.6).max() < SUBPIXEL_TOLERANCE_PX


def test_classical_flow_recovers_smooth_flow(crop):
    moving = crop[..., NIR].astype(np.float64)
    height, width = moving.shape
    yy, xx = np.mgrid[0:height, 0:width] / (height - 1)
    true = np.stack([0.5 + xx, 1.5 - yy + 0.3 * xx])  # affine, 0.5 to 1.8 px
    reference = warp_numpy(moving, true)  # moving(p + true(p)) = reference(p)
    flow = classical.classical_flow(reference, moving)
    assert flow.shape == (2, height, width) and flow.dtype == np.float32
    error = np.hypot(*(flow - true))
    assert np.median(error) < 0.15
    assert flow_epe(flow, true, border=32) < 0.1


def test_classical_flow_small_image_and_flat_image():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(40, 48))
    assert classical.classical_flow(image, image).shape == (2, 40, 48)  # window shrinks to 40
    flat = np.zeros((64, 64))
    np.testing.assert_array_equal(classical.classical_flow(flat, flat), 0.0)  # no confident window


# --- misregistration and classical registration -------------------------------------------------


@pytest.mark.parametrize("index", range(4))
def test_misregistration_measures_the_true_misregistration(example_crops, index):
    """On the simulated examples, the estimator's median shift of B and R is the true one."""
    import tifffile
    crop = tifffile.imread(example_crops[index])
    true_flow = np.load(example_crops[index].with_name(f"{example_crops[index].stem}_flow.npy"))
    report = misregistration(crop)
    assert set(report) == set(MOVING_BAND_NAMES)
    for name in MOVING_BAND_NAMES:
        assert set(report[name]) == {"median_px", "p90_px", "mean_dx", "mean_dy", "n_windows"}
        assert report[name]["n_windows"] > 0, name
    for i, name in ((0, "B"), (1, "R")):
        true_median = float(np.median(np.hypot(*true_flow[i])))
        assert report[name]["median_px"] == pytest.approx(true_median, abs=0.15), name


def test_classical_register_undoes_the_true_misregistration(crop, example_crops):
    true_flow = np.load(example_crops[0].with_name(f"{example_crops[0].stem}_flow.npy"))
    registered, flow = classical.classical_register(crop)
    assert registered.shape == crop.shape and registered.dtype == np.uint16
    assert flow.shape == (3, 2, *crop.shape[:2]) and flow.dtype == np.float32
    np.testing.assert_array_equal(registered[..., GREEN], crop[..., GREEN])
    for i in (0, 1):  # B and R: flows within a tenth of a pixel of the truth
        assert flow_epe(flow[i], true_flow[i], border=16) < 0.1, BAND_NAMES[MOVING_BANDS[i]]
    before, after = misregistration(crop), misregistration(registered)
    for name in ("B", "R"):
        assert after[name]["median_px"] < 0.1 * before[name]["median_px"], name
    assert after["NIR"]["median_px"] < 0.5 * before["NIR"]["median_px"]


def test_classical_register_rejects_bad_input(crop):
    with pytest.raises(InputError, match=r"\(H, W, 4\)"):
        classical.classical_register(crop[..., :3])
    with pytest.raises(InputError, match="uint16"):
        classical.classical_register(crop.astype(np.float32))


# --- NGF estimator, independent of phase correlation --------------------------------------------


def test_ngf_estimator_shares_no_code_with_phase_correlation():
    from l1bsr_core.misregistration import _ngf, _ngf_block_shift, ngf_misregistration, ngf_shifts

    names = set()
    for function in (_ngf, _ngf_block_shift, ngf_shifts, ngf_misregistration):
        names |= set(function.__code__.co_names)
        for const in function.__code__.co_consts:  # nested functions
            names |= set(getattr(const, "co_names", ()))
    for shared in ("fft", "_complex_gradient", "windowed_shifts", "phase_correlation_shift", "_shifts_from_stacks",
                   "misregistration", "classical_flow"):
        assert shared not in names, shared


@pytest.mark.parametrize("invert", [False, True])
def test_ngf_shifts_recover_a_known_shift(invert):
    """A band built as a shifted (and, for NIR-like content, contrast-inverted) copy of G."""
    from scipy import ndimage

    from l1bsr_core.misregistration import ngf_shifts

    rng = np.random.default_rng(4)
    scene = ndimage.gaussian_filter(rng.normal(0, 1, (200, 200)), 2.0) * 400 + 1000
    dx, dy = 0.63, -1.37
    moving = ndimage.shift(scene, (dy, dx), order=3, mode="nearest")  # moving(p + d) = scene(p)
    if invert:
        moving = 3000 - moving
    _, _, ex, ey, coherence = ngf_shifts(scene, moving)
    assert (coherence > 0.5).all()
    assert np.abs(ex - dx).max() < 0.05 and np.abs(ey - dy).max() < 0.05
