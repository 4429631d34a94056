"""Properties of the torch windowed phase correlation (:mod:`l1bsr_core.phase_correlation`).

Shifts follow ``moving(y + dy, x + dx) ≈ reference(y, x)``, so a reference made as
``warp(moving, s)`` must give ``s`` in every window. Shifted pairs are cut from the interior of a
larger image, so no window sees the warp's reflected border.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core import classical_registration
from l1bsr_core import phase_correlation as phase_correlation_module
from l1bsr_core.bands import BLUE, GREEN, NIR, RED
from l1bsr_core.phase_correlation import gradient_reach, window_grid, windowed_phase_correlation
from l1bsr_core.warp import warp

from support import constant_flow, simulated_view, ten_metre_bands

torch.set_num_threads(1)

WINDOW, STEP = 64, 32
SIZE = 128
"""Side of the measured crops: (SIZE − WINDOW) is a multiple of STEP, so the numpy estimator's
windows (its last one flush with the edge) are exactly ours."""
MARGIN = 16
"""Rows and columns around the crop that the shift brings in: no window sees a reflected border."""

SHIFT_TOLERANCE_PX = 0.05
"""Largest error of any window on a known translation: Hann-apodised windows bias multi-pixel
shifts towards zero by ~1.5 % of the shift, and bicubic resampling adds ~0.01 px."""
NUMERIC_PX = 1e-4
"""Float32 rounding: what "the same shift" means when the phase should be exactly unchanged."""
NUMERIC_CONFIDENCE = 1e-3
"""The same for the confidence, which float32 rounding moves more: a 3000 DN offset on a
half-gain band leaves ~2e-4 DN of rounding in gradients of a few DN (measured ≤ 4e-4)."""
AGREEMENT_PX = 1e-3
"""Torch against numpy estimator: float32 against float64, and a 1/16 px grid + parabola
against a 1/64 px grid (measured: ≤ 2e-4 px)."""
CONFIDENCE_AGREEMENT = 2e-3
"""The same for the confidence (peak height, measured ≤ 5e-4)."""
IDENTICAL_CONFIDENCE = 0.99
"""Identical windows: the normalised peak is 1 up to the frequencies the detection leaves out."""
UNRELATED_CONFIDENCE = 0.2
"""Independent noise: the peak of a random phase in 64 px windows is about 0.1."""


@pytest.fixture(scope="module")
def band() -> torch.Tensor:
    """(SIZE + 2·MARGIN)² float64 textured G band."""
    return ten_metre_bands(SIZE + 2 * MARGIN, SIZE + 2 * MARGIN, seed=3)[GREEN]


def shifted_pair(band: torch.Tensor, dx: float, dy: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(reference (1, SIZE, SIZE), moving (1, 1, SIZE, SIZE))`` with moving(y + dy, x + dx) = reference(y, x)."""
    height, width = band.shape
    reference = warp(band[None, None], constant_flow(dx, dy, height, width, band.dtype))[0]
    crop = (..., slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    return reference[crop][0][None], band[crop][None, None]


def correlate(reference, moving, **kwargs):
    return windowed_phase_correlation(reference, moving, window=WINDOW, step=STEP, **kwargs)


def smooth_noise(count: int, size: int, seed: int) -> torch.Tensor:
    """(count, size, size) independent noise fields, 3 × 3 box-smoothed (texture at every window)."""
    noise = torch.randn(count, 1, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.nn.functional.avg_pool2d(noise, 3, stride=1, padding=1)[:, 0]


@pytest.mark.parametrize("dx, dy", [(1.0, -2.0), (0.3, -0.7), (-1.25, 0.6)])
def test_known_translation_is_recovered_in_every_window(band, dx, dy):
    reference, moving = shifted_pair(band, dx, dy)
    shift, confidence = correlate(reference, moving)
    grid = window_grid(SIZE, WINDOW, STEP)
    assert shift.shape == (1, 1, 2, grid, grid)
    assert confidence.shape == (1, 1, grid, grid)
    assert shift.dtype == torch.float32
    assert (shift[0, 0, 0] - dx).abs().max() < SHIFT_TOLERANCE_PX
    assert (shift[0, 0, 1] - dy).abs().max() < SHIFT_TOLERANCE_PX


@pytest.mark.parametrize("gain, offset", [(-1.0, 0.0), (-0.5, 3000.0), (3.7, 250.0), (0.02, -40.0)])
def test_contrast_inversion_gain_and_offset_do_not_change_the_shift(band, gain, offset):
    """NIR against G over vegetation is contrast-inverted; bands differ in gain and level."""
    reference, moving = shifted_pair(band, 0.3, -0.7)
    shift, confidence = correlate(reference, moving)
    other_shift, other_confidence = correlate(reference, gain * moving + offset)
    assert (other_shift - shift).abs().max() < NUMERIC_PX
    assert (other_confidence - confidence).abs().max() < NUMERIC_CONFIDENCE


def test_confidence_is_one_for_identical_windows_and_low_for_unrelated_noise(band):
    image = band[:SIZE, :SIZE][None]
    shift, confidence = correlate(image, image[:, None])
    assert confidence.min() > IDENTICAL_CONFIDENCE
    assert confidence.max() <= 1
    assert shift.abs().max() < NUMERIC_PX
    noise = smooth_noise(2, SIZE, seed=0)
    _, confidence = correlate(noise[:1], noise[1:, None])
    assert confidence.max() < UNRELATED_CONFIDENCE


def test_bands_and_batch_items_are_measured_independently(band):
    """K moving bands and N samples at once give what one call per pair gives."""
    pairs = [shifted_pair(band, dx, dy) for dx, dy in ((0.3, -0.7), (-1.25, 0.6))]
    reference = torch.cat([ref for ref, _ in pairs])  # (2, H, W)
    moving = torch.cat([torch.cat([mov, -mov, mov.flip(-1)], dim=1) for _, mov in pairs])  # (2, 3, H, W)
    shift, confidence = correlate(reference, moving)
    for n in range(2):
        for k in range(3):
            alone_shift, alone_confidence = correlate(reference[n:n + 1], moving[n:n + 1, k:k + 1])
            assert torch.allclose(shift[n, k], alone_shift[0, 0], atol=NUMERIC_PX)
            assert torch.allclose(confidence[n, k], alone_confidence[0, 0], atol=NUMERIC_PX)


@pytest.mark.parametrize("first, last", [(0, 3), (3, 6), (6, 9), (2, 9)])
def test_a_slab_with_context_gives_the_windows_of_the_full_image(first, last):
    """Rows of windows first … last − 1, cut with the gradient filters' context, as in band_alignment."""
    window, step, reach = 32, 16, gradient_reach()
    view = torch.from_numpy(simulated_view(160, 96, seed=2).astype(np.float32))  # 9 rows of windows
    reference, moving = view[GREEN][None], view[[RED, NIR]][None]
    full_shift, full_confidence = windowed_phase_correlation(reference, moving, window=window, step=step)
    assert full_shift.shape[-2] == 9
    y0, y1 = first * step, (last - 1) * step + window
    r0, r1 = max(y0 - reach, 0), min(y1 + reach, view.shape[-2])
    shift, confidence = windowed_phase_correlation(reference[..., r0:r1, :], moving[..., r0:r1, :], window=window,
                                                   step=step, context=(y0 - r0, r1 - y1))
    assert shift.shape[-2] == last - first
    assert torch.allclose(shift, full_shift[..., first:last, :], atol=NUMERIC_PX)
    assert torch.allclose(confidence, full_confidence[..., first:last, :], atol=NUMERIC_PX)


def test_agrees_with_the_numpy_classical_estimator(band):
    """The same estimator as :func:`l1bsr_core.classical_registration.windowed_shifts`, on a known shift and
    on real cross-band pairs (B and R onto G of a simulated view).

    Not NIR: on its weak, multi-modal peaks the two refinement schedules can stop at different
    points (up to 1/8 px where the confidence is under the fusion's threshold).
    """
    reference, moving = shifted_pair(band, -1.25, 0.6)
    view = simulated_view(SIZE, SIZE, seed=4).astype(np.float64)
    pairs = [(reference[0].numpy(), moving[0, 0].numpy())] + [(view[GREEN], view[b]) for b in (BLUE, RED)]
    for ref, mov in pairs:
        shift, confidence = correlate(torch.from_numpy(ref)[None], torch.from_numpy(mov)[None, None])
        _, _, dx, dy, expected_confidence = classical_registration.windowed_shifts(ref, mov, window=WINDOW, step=STEP)
        assert expected_confidence.min() > classical_registration.MIN_CONFIDENCE  # well-defined peaks only
        difference = np.abs(np.stack((dx, dy)) - shift[0, 0].numpy())
        assert difference.max() < AGREEMENT_PX
        assert np.abs(expected_confidence - confidence[0, 0].numpy()).max() < CONFIDENCE_AGREEMENT


def test_an_image_smaller_than_the_window_is_refused():
    with pytest.raises(ValueError, match="smaller than the 64 px"):
        windowed_phase_correlation(torch.zeros(1, 40, 80), torch.zeros(1, 1, 40, 80), window=WINDOW, step=STEP)


def test_blocks_and_worker_threads_do_not_change_the_measurements(band, monkeypatch):
    """Windows are correlated in blocks by single-threaded workers: neither the block size nor
    the number of workers may change a window's shift or confidence."""
    reference, moving = shifted_pair(band, 0.4, -1.3)
    moving = torch.cat((moving, moving.flip(-1), 2 * moving), dim=1)
    results = []
    for pairs, threads in ((10_000, 1), (5, 1), (5, 2), (64, 2)):
        monkeypatch.setattr(phase_correlation_module, "PAIRS_PER_CHUNK", pairs)
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.inference_mode():
                results.append(correlate(reference, moving))
        finally:
            torch.set_num_threads(previous)
    for shift, confidence in results[1:]:
        torch.testing.assert_close(shift, results[0][0], rtol=0, atol=NUMERIC_PX)
        torch.testing.assert_close(confidence, results[0][1], rtol=0, atol=NUMERIC_CONFIDENCE)


def test_apodized_spectra_are_the_spectra_of_hann_weighted_windows_without_their_weighted_mean():
    patches = torch.randn(6, 48, 40, dtype=torch.complex128, generator=torch.Generator().manual_seed(4)) + 3 - 2j
    weight = phase_correlation_module.hann(48)[:, None] * phase_correlation_module.hann(40)
    mean = (patches * weight).sum(dim=(-2, -1), keepdim=True) / weight.sum()
    expected = torch.fft.fft2((patches - mean) * weight)
    torch.testing.assert_close(phase_correlation_module.apodized_spectra(patches), expected)
