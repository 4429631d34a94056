"""Overlap of adjacent detectors found from the content, and pairs of the same ground."""

import numpy as np
import pytest

from l1bsr_core.classical_registration import phase_correlation_shift
from l1bsr_core.errors import ArgumentError, InputError
from l1bsr_core.products.overlap import (
    MIN_CORRELATION_PX,
    TRIM_PX,
    Overlap,
    cut_pairs,
    edge_px,
    expected_overlap_range,
    find_overlap,
    plan_pairs,
    shared_rows,
)
from l1bsr_core.products.process import aligned_strip, open_product


@pytest.fixture(scope="module")
def strips(synthetic_product):
    product = open_product(synthetic_product.path)
    return {d: aligned_strip(product, d)[0].bgrn for d in synthetic_product.detectors}


def test_overlap_width_and_along_track_offset(synthetic_product, strips):
    for first in (1, 2):
        overlap = find_overlap(strips[first], strips[first + 1])
        assert overlap.side == "right"
        assert overlap.width == pytest.approx(synthetic_product.overlap, abs=1)
        rows = synthetic_product.detector_rows
        assert overlap.dy == pytest.approx(rows[first] - rows[first + 1], abs=0.5)
        assert overlap.dx == pytest.approx(-(synthetic_product.cols - synthetic_product.overlap), abs=0.5)


def test_other_arrangement_is_found_too(strips):
    left = find_overlap(strips[2], strips[1])  # the second strip to the left of the first
    assert left.side == "left" and left.width == pytest.approx(140, abs=1)
    assert left.dx == pytest.approx(400 - 140, abs=0.5)
    pairs = list(cut_pairs(strips[2], strips[1], plan_pairs(strips[2].shape, strips[1].shape, left, 128)))
    assert pairs
    for _, a, b in pairs:
        dx, dy, _ = phase_correlation_shift(a[..., 1], b[..., 1])
        assert max(abs(dx), abs(dy)) < 1.0


def test_pairs_show_the_same_ground(synthetic_product, strips):
    overlap = find_overlap(strips[1], strips[2])
    crops = plan_pairs(strips[1].shape, strips[2].shape, overlap, 128)
    pairs = list(cut_pairs(strips[1], strips[2], crops))
    assert len(pairs) >= 2
    for _, a, b in pairs:
        assert a.shape == b.shape == (128, synthetic_product.overlap - 2 * TRIM_PX, 4)
        dx, dy, confidence = phase_correlation_shift(a[..., 1], b[..., 1])
        assert max(abs(dx), abs(dy)) < 1.0 and confidence > 0.5


def test_strips_without_common_ground_are_refused(strips):
    noise = np.random.default_rng(0).integers(1, 4000, strips[1].shape).astype(np.uint16)
    with pytest.raises(InputError, match="no common ground"):
        find_overlap(strips[1], noise)


def test_the_expected_overlaps_searched_are_those_phase_correlation_and_the_strips_allow(synthetic_product, strips):
    accepted = expected_overlap_range(400)
    assert accepted == range(10, 251)
    assert edge_px(accepted.start) == MIN_CORRELATION_PX and edge_px(accepted.stop - 1) == 400
    assert expected_overlap_range(MIN_CORRELATION_PX - 1) == range(0)
    # The limits run. Strips cut to their facing 224 px: at the upper limit the edge band searched
    # is the whole strip, and the 140 px overlap is within the edge / 2 to edge px it finds; at the
    # lower limit the 16 px edges show ground 124 px apart, which the search refuses.
    first, second = strips[1][:, -224:], strips[2][:, :224]
    limits = expected_overlap_range(224)
    assert limits == range(10, 141) and edge_px(limits.stop - 1) == 224
    found = find_overlap(first, second, expected=limits.stop - 1)
    assert found.side == "right" and found.width == pytest.approx(synthetic_product.overlap, abs=1)
    rows = synthetic_product.detector_rows
    assert found.dy == pytest.approx(rows[1] - rows[2], abs=0.5)
    with pytest.raises(InputError, match="no common ground"):
        find_overlap(first, second, expected=limits.start)
    # Whole strips at their upper limit (250 px): the 140 px overlap is under half the 400 px edge
    # band, where the circular correlation reads a 400 - 140 = 260 px overlap alike (it was taken).
    found = find_overlap(strips[2], strips[3], expected=accepted.stop - 1)
    assert found.side == "right" and found.width == pytest.approx(synthetic_product.overlap, abs=1)
    assert found.dx == pytest.approx(-(synthetic_product.cols - synthetic_product.overlap), abs=0.5)
    left = find_overlap(strips[3], strips[2], expected=accepted.stop - 1)  # the other arrangement
    assert left.side == "left" and left.width == pytest.approx(synthetic_product.overlap, abs=1)
    assert left.dx == pytest.approx(synthetic_product.cols - synthetic_product.overlap, abs=0.5)
    with pytest.raises(InputError, match="no common ground"):  # this pair's peak is too weak over 400 px
        find_overlap(strips[1], strips[2], expected=accepted.stop - 1)
    for expected in (-5, 0, 1, accepted.start - 1, accepted.stop):  # were a ValueError, or a negative overlap
        with pytest.raises(ArgumentError, match=f"expected {accepted.start} to {accepted.stop - 1} px"):
            find_overlap(strips[1], strips[2], expected=expected)
    with pytest.raises(ArgumentError, match="too short"):
        find_overlap(strips[1][:MIN_CORRELATION_PX - 1], strips[2])


@pytest.mark.parametrize("dy, shared", [(10.0, range(0, 90)), (-7.0, range(7, 100)), (0.0, range(0, 100))])
def test_pairs_are_cut_from_the_rows_both_strips_hold(dy, shared):
    """The second strip holds the first's row y at y + dy: pairs come from the rows both hold, and a
    size longer than those gives none (the command then says how many rows the strips share)."""
    overlap = Overlap(dx=-250.0, dy=dy, width=150, side="right", confidence=0.9)
    assert shared_rows((100, 400), (100, 400), overlap) == shared
    crops = plan_pairs((100, 400), (100, 400), overlap, 40)
    assert len(crops) == len(shared) // 40
    for crop in crops:
        assert crop.first_rows.start in shared and crop.first_rows.stop - 1 in shared
        assert crop.second_rows.start == crop.first_rows.start + int(dy)
    assert plan_pairs((100, 400), (100, 400), overlap, len(shared) + 1) == []
