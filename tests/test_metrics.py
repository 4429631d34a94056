"""Tests of l1bsr_core.metrics: PSNR, SSIM, cPSNR, cSSIM, tile-wise cPSNR, flow endpoint error, NCC,
band-pass energy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from l1bsr_core import metrics
from l1bsr_core.bands import GREEN

# --- image quality ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(example_crop):
    reference = example_crop[:96, :96, GREEN].astype(np.float64)
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


def test_subpixel_tilewise_cpsnr_forgives_a_half_pixel_shift(example_crop):
    """A band and its copy shifted by half a pixel: integer shifts cannot match them, 1/4 px shifts can."""
    from scipy import ndimage
    reference = example_crop[..., GREEN].astype(np.float64)
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


# --- band identity: correlation and detail -------------------------------------------------------


def test_ncc_is_gain_and_offset_invariant(pair):
    estimate, reference = pair
    assert metrics.ncc(reference, 3.0 * reference + 40.0) == pytest.approx(1.0)
    assert metrics.ncc(reference, -reference) == pytest.approx(-1.0)
    assert 0.9 < metrics.ncc(estimate, reference) < 1.0
    with pytest.raises(ValueError, match="constant"):
        metrics.ncc(reference, np.ones_like(reference))


def test_bandpass_energy_scales_and_drops_with_blur(pair):
    _, reference = pair
    energy = metrics.bandpass_energy(reference, border=8)
    assert metrics.bandpass_energy(2.0 * reference + 100.0, border=8) == pytest.approx(4.0 * energy)
    blurred = ndimage.gaussian_filter(reference, 1.5)
    assert metrics.bandpass_energy(blurred, border=8) < 0.5 * energy
    with pytest.raises(ValueError, match="border"):
        metrics.bandpass_energy(reference, border=48)
