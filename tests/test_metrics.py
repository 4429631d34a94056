"""Tests of l1bsr_core.metrics: phase correlation, classical registration, quality metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from l1bsr_core import metrics
from l1bsr_core.bands import BAND_NAMES, GREEN, MOVING_BANDS, NIR
from l1bsr_core.errors import InputError
from l1bsr_core.warp import warp

torch.set_num_threads(1)

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared/data/l1b-examples"
SUBPIXEL_TOLERANCE_PX = 0.05


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    path = EXAMPLES / "00.tif"
    if not path.exists():
        pytest.skip(f"example crop not found at {path}")
    return tifffile.imread(path)


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
    dx, dy, confidence = metrics.phase_correlation_shift(reference, moving)
    assert dx == pytest.approx(shift[0], abs=SUBPIXEL_TOLERANCE_PX)
    assert dy == pytest.approx(shift[1], abs=SUBPIXEL_TOLERANCE_PX)
    assert confidence > 0.5


def test_phase_correlation_sign_on_integer_roll(crop):
    reference = crop[..., GREEN]
    moving = np.roll(reference, shift=(2, 3), axis=(0, 1))  # moving(y + 2, x + 3) = reference(y, x)
    dx, dy, _ = metrics.phase_correlation_shift(reference, moving)
    assert (dx, dy) == (pytest.approx(3, abs=0.02), pytest.approx(2, abs=0.02))


def test_phase_correlation_shift_aligns_with_warp(crop):
    reference = crop[..., GREEN].astype(np.float64)
    moving = warp_numpy(reference, (-0.8, 1.1))
    dx, dy, _ = metrics.phase_correlation_shift(reference, moving)
    realigned = warp_numpy(moving, (dx, dy))
    residual = metrics.phase_correlation_shift(reference, realigned)
    assert abs(residual[0]) < SUBPIXEL_TOLERANCE_PX and abs(residual[1]) < SUBPIXEL_TOLERANCE_PX


def test_phase_correlation_contrast_inversion(crop):
    band = crop[..., GREEN].astype(np.float64)
    reference = warp_numpy(band, (0.3, -1.7))
    dx, dy, _ = metrics.phase_correlation_shift(reference, band.max() - band)
    assert dx == pytest.approx(0.3, abs=SUBPIXEL_TOLERANCE_PX)
    assert dy == pytest.approx(-1.7, abs=SUBPIXEL_TOLERANCE_PX)


def test_phase_correlation_confidence(crop):
    band = crop[:128, :128, GREEN]
    assert metrics.phase_correlation_shift(band, band)[2] == pytest.approx(1.0, abs=1e-3)
    noise = np.random.default_rng(0).normal(size=(2, 64, 64))
    assert metrics.phase_correlation_shift(noise[0], noise[1])[2] < metrics.MIN_CONFIDENCE


def test_phase_correlation_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        metrics.phase_correlation_shift(np.zeros((32, 32)), np.zeros((32, 40)))
    with pytest.raises(ValueError, match="2D"):
        metrics.phase_correlation_shift(np.zeros((32, 32, 2)), np.zeros((32, 32, 2)))


# --- windowed shifts and classical flow ---------------------------------------------------------


def test_windowed_shifts_grid(crop):
    moving = crop[:160, :224, GREEN].astype(np.float64)
    reference = warp_numpy(moving, (0.4, -0.6))
    centers_y, centers_x, dx, dy, confidence = metrics.windowed_shifts(
        reference, moving, window=64, step=48
    )
    # Starts 0, 48, 96 (flush with 160) and 0, 48, 96, 144, 160 (last flush with 224).
    np.testing.assert_allclose(centers_y, [31.5, 79.5, 127.5])
    np.testing.assert_allclose(centers_x, [31.5, 79.5, 127.5, 175.5, 191.5])
    assert dx.shape == dy.shape == confidence.shape == (3, 5)
    assert np.abs(dx - 0.4).max() < SUBPIXEL_TOLERANCE_PX
    assert np.abs(dy + 0.6).max() < SUBPIXEL_TOLERANCE_PX


def test_classical_flow_recovers_smooth_flow(crop):
    moving = crop[..., NIR].astype(np.float64)
    height, width = moving.shape
    yy, xx = np.mgrid[0:height, 0:width] / (height - 1)
    true = np.stack([0.5 + xx, 1.5 - yy + 0.3 * xx])  # affine, 0.5 to 1.8 px
    reference = warp_numpy(moving, true)  # moving(p + true(p)) = reference(p)
    flow = metrics.classical_flow(reference, moving)
    assert flow.shape == (2, height, width) and flow.dtype == np.float32
    error = np.hypot(*(flow - true))
    assert np.median(error) < 0.15
    assert metrics.flow_epe(flow, true, border=32) < 0.1


def test_classical_flow_small_image_and_flat_image():
    rng = np.random.default_rng(1)
    image = rng.normal(size=(40, 48))
    assert metrics.classical_flow(image, image).shape == (2, 40, 48)  # window shrinks to 40
    flat = np.zeros((64, 64))
    np.testing.assert_array_equal(metrics.classical_flow(flat, flat), 0.0)  # no confident window


# --- misregistration and classical registration -------------------------------------------------


def test_misregistration_before_and_after_classical_register(crop):
    before = metrics.misregistration(crop)
    assert set(before) == {BAND_NAMES[band] for band in MOVING_BANDS}
    for name, stats in before.items():
        assert set(stats) == {"median_px", "p90_px", "mean_dx", "mean_dy", "n_windows"}
        assert 0.2 < stats["median_px"] < 3.0, (name, stats)
        assert stats["n_windows"] >= 20

    registered, flow = metrics.classical_register(crop)
    assert registered.shape == crop.shape and registered.dtype == np.uint16
    assert flow.shape == (3, 2, *crop.shape[:2]) and flow.dtype == np.float32
    np.testing.assert_array_equal(registered[..., GREEN], crop[..., GREEN])

    after = metrics.misregistration(registered)
    for name in ("B", "R"):
        assert after[name]["median_px"] < 0.15, (name, after[name])
        assert after[name]["median_px"] < 0.2 * before[name]["median_px"]
    assert after["NIR"]["median_px"] < 0.3


def test_classical_register_rejects_bad_input(crop):
    with pytest.raises(InputError, match=r"\(H, W, 4\)"):
        metrics.classical_register(crop[..., :3])
    with pytest.raises(InputError, match="uint16"):
        metrics.classical_register(crop.astype(np.float32))


# --- image quality ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(crop):
    reference = crop[:96, :96, GREEN].astype(np.float64)
    noise = np.random.default_rng(2).normal(scale=5.0, size=reference.shape)
    return reference + (noise - noise.mean()), reference


def test_psnr_known_values():
    reference = np.arange(64.0).reshape(8, 8)
    assert metrics.psnr(reference + 1.0, reference, data_range=10.0) == pytest.approx(20.0)
    assert metrics.psnr(reference, reference) == float("inf")


def test_cpsnr_equals_psnr_without_shift_or_bias(pair):
    estimate, reference = pair
    exact = metrics.cpsnr(estimate, reference, max_shift=0, data_range=4095)
    assert exact == pytest.approx(metrics.psnr(estimate, reference, data_range=4095), abs=1e-9)
    cropped = metrics.psnr(estimate[2:-2, 2:-2], reference[2:-2, 2:-2], data_range=4095)
    assert metrics.cpsnr(estimate, reference, data_range=4095) == pytest.approx(cropped, abs=0.05)


def test_cpsnr_invariant_to_bias_and_integer_shift(pair):
    estimate, reference = pair
    base = metrics.cpsnr(estimate, reference, data_range=4095)
    biased = metrics.cpsnr(estimate + 37.0, reference, data_range=4095)
    assert biased == pytest.approx(base, abs=1e-9)
    shifted = np.roll(estimate, shift=(1, -2), axis=(0, 1))
    assert metrics.cpsnr(shifted, reference, data_range=4095) == pytest.approx(base, abs=1e-9)
    assert metrics.psnr(shifted, reference, data_range=4095) < base - 5.0
    with pytest.raises(ValueError, match="border"):
        metrics.cpsnr(estimate, reference, max_shift=2, border=1)


def test_ssim_and_cssim(pair):
    estimate, reference = pair
    assert metrics.ssim(reference, reference) == pytest.approx(1.0)
    plain = metrics.ssim(estimate, reference)
    assert 0.0 < plain < 1.0
    moved = np.roll(estimate, shift=(-1, 1), axis=(0, 1)) - 20.0
    assert metrics.ssim(moved, reference) < plain - 0.05
    inner = (slice(2, -2), slice(2, -2))
    aligned = metrics.ssim(estimate[inner], reference[inner], data_range=np.ptp(reference))
    assert metrics.cssim(moved, reference) == pytest.approx(aligned, abs=1e-6)


def test_tilewise_cpsnr(pair):
    estimate, reference = pair
    assert metrics.tilewise_cpsnr(estimate, reference, tiles=1) == pytest.approx(
        metrics.cpsnr(estimate, reference), abs=1e-9
    )
    # Left half shifted one way, right half the other: one global shift cannot fit both.
    half = reference.shape[1] // 2
    split = np.concatenate(
        [np.roll(estimate, 1, axis=1)[:, :half], np.roll(estimate, -1, axis=1)[:, half:]], axis=1
    )
    tilewise = metrics.tilewise_cpsnr(split, reference, tiles=2)
    assert tilewise > metrics.cpsnr(split, reference) + 3.0
    assert tilewise <= metrics.tilewise_cpsnr(estimate, reference, tiles=2) + 1e-9


def test_block_mean_averages_each_block_and_drops_partial_ones():
    image = np.arange(5 * 6 * 2, dtype=np.uint16).reshape(5, 6, 2)
    out = metrics.block_mean(image, 2)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2, 1], image[2:4, 4:6, 1].mean())
    # the super-resolution round trip: a 2x nearest upsampling averages back to the original
    np.testing.assert_array_equal(metrics.block_mean(image.repeat(2, 0).repeat(2, 1), 2), image)


def test_subpixel_tilewise_cpsnr_forgives_a_half_pixel_shift(real_crop):
    """A real band and its copy shifted by half a pixel: integer shifts cannot match them, 1/4 px shifts can."""
    from scipy import ndimage
    reference = real_crop[..., 1].astype(np.float64)
    shifted = ndimage.shift(reference, (0.5, -0.5), order=3, mode="nearest")
    integer = metrics.tilewise_cpsnr(shifted, reference)
    subpixel = metrics.tilewise_cpsnr(shifted, reference, subpixel=4)
    assert subpixel > integer + 10.0, (integer, subpixel)
    # never worse than the integer search on an unshifted, noisy estimate
    noisy = reference + np.random.default_rng(0).normal(0, 5, reference.shape)
    assert metrics.tilewise_cpsnr(noisy, reference, subpixel=4) >= metrics.tilewise_cpsnr(noisy, reference) - 0.05


def test_flow_epe():
    flow = np.random.default_rng(3).normal(size=(3, 2, 16, 16))
    assert metrics.flow_epe(flow, flow) == 0.0
    offset = flow + np.array([3.0, 4.0])[:, None, None]
    assert metrics.flow_epe(offset, flow, border=2) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="2, H, W"):
        metrics.flow_epe(flow, flow[:, :1])
