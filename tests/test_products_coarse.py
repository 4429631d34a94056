"""Coarse band offsets of a strip: tens of pixels recovered from the data, applied as integer shifts."""

import numpy as np
import pytest

from l1bsr_core.errors import InputError
from l1bsr_core.products.coarse import aligned_rows, apply_offsets, measure_offsets, shift_band


def test_offsets_of_tens_of_pixels_are_recovered_on_every_detector(synthetic_product):
    for detector in synthetic_product.detectors:
        offsets = measure_offsets(synthetic_product.images[detector].copy())
        truth = synthetic_product.coarse(detector)
        assert [o.band for o in offsets] == ["B", "R", "NIR"]
        for offset, (dx, dy) in zip(offsets, truth):
            assert abs(offset.dy) > 15  # really tens of px
            assert offset.dx == pytest.approx(dx, abs=0.5) and offset.dy == pytest.approx(dy, abs=0.5)
            assert (offset.applied_dx, offset.applied_dy) == (round(offset.dx), round(offset.dy))


def test_signs_flip_between_odd_and_even_detectors(synthetic_product):
    odd = measure_offsets(synthetic_product.images[1].copy())
    even = measure_offsets(synthetic_product.images[2].copy())
    for a, b in zip(odd, even):
        assert np.sign(a.dy) == -np.sign(b.dy)


def test_shift_band_follows_the_flow_convention():
    band = np.arange(1, 26, dtype=np.uint16).reshape(5, 5)
    out = shift_band(band, 2, -1)  # out(y, x) = band(y - 1, x + 2)
    assert out[1, 0] == band[0, 2] and out[4, 2] == band[3, 4]
    assert not out[0].any() and not out[:, 3:].any()  # from outside: no-data
    np.testing.assert_array_equal(shift_band(band, 0, 0), band)


def test_applied_offsets_leave_g_alone_and_align_the_rest(synthetic_product):
    image = synthetic_product.images[1]
    aligned = apply_offsets(image.copy(), measure_offsets(image.copy()))
    np.testing.assert_array_equal(aligned[..., 1], image[..., 1])
    again = measure_offsets(aligned.copy())
    assert all(abs(o.dx) < 1 and abs(o.dy) < 1 for o in again)


def test_a_band_without_texture_is_refused():
    flat = np.full((300, 300, 4), 500, np.uint16)
    flat[..., 1] = np.random.default_rng(0).integers(100, 1000, (300, 300))
    with pytest.raises(InputError, match="band B has no block that matches G"):
        measure_offsets(flat)


def test_rows_of_the_aligned_strip_read_alone_equal_the_whole_strip_aligned(synthetic_product):
    image = synthetic_product.images[1]
    offsets = measure_offsets(image.copy())
    assert max(abs(o.applied_dy) for o in offsets) > 10  # the rows read reach past the window
    whole = apply_offsets(image.copy(), offsets)
    for start, stop in ((0, 100), (100, 300), (300, image.shape[0])):
        np.testing.assert_array_equal(aligned_rows(image, offsets, start, stop), whole[start:stop])
