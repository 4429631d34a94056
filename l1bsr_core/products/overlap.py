"""Overlap pairs: the ground two adjacent detectors both see, found from the image content.

Adjacent detectors d and d+1 overlap across track by about 124–177 px at 10 m (viewing directions
of a real S2A instrument) and are offset along track (odd and even detectors look fore and aft).
The overlap is found by phase correlation of the G bands of the two strips' facing edges
(:func:`l1bsr_core.classical_registration.phase_correlation_shift`): an edge band of ``edge`` columns of
each strip is correlated over the whole strip height, which gives the along-track offset (up to
half the strip) and the overlap width (up to ``edge`` px: the correlation is circular, so a shift
and the one an edge band away read alike, and the arrangement says which is meant,
:func:`unwrapped_shift`). Both arrangements (d+1 right of d, or left of it) are tried and the
more confident one kept (when the edge band is the whole strip both read the same columns: then
the one whose shared columns agree better). The expected overlap must give an edge band the
correlation can use and the strips can hold (:func:`expected_overlap_range`).

Pairs are then cut from the coarsely aligned strips: BGRN crops of the same ground from d
(``NAME_0.tif``) and d+1 (``NAME_1.tif``), co-registered to the nearest pixel, in the format
``python -m l1bsr_core.train … --real-pairs DIR`` reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..bands import NO_DATA, REFERENCE_BAND
from ..classical_registration import MIN_CONFIDENCE, phase_correlation_shift
from ..errors import ArgumentError, InputError
from ..metrics import ncc
from ..phase_correlation import MIN_WINDOW_PX as MIN_CORRELATION_PX
from .coarse import CALIBRATED_WINDOW_PX

REAL_PAIR_SUFFIXES = ("_0.tif", "_1.tif")
"""The two files of a real overlap pair: ``<name>_0.tif`` (view 0) and ``<name>_1.tif`` (view 1),
as ``l1bsr pairs`` writes them and ``train --real-pairs`` reads them."""

EXPECTED_OVERLAP_PX = 150
"""Typical overlap of adjacent detectors at 10 m (124–177 px by band in the viewing-direction files)."""
EDGE_FACTOR = 1.6
"""Edge band = this × the expected overlap: overlaps up to 1.6× the expected one are found."""
TRIM_PX = 4
"""Columns dropped on each side of the found overlap (its edges are where the two views' footprints
end, and the coarse along-track offset is rounded)."""
MAX_PAIR_NO_DATA = 0.01
"""Pairs with more no-data than this fraction in either crop are not written."""


@dataclass(frozen=True)
class Overlap:
    """Where strip ``second`` (detector d+1) repeats strip ``first`` (detector d).

    Ground at ``first[y, x]`` is at ``second[y + dy, x + dx]`` (px, sub-pixel, the project's flow
    convention), over the ``width`` columns ``first_cols`` of ``first``.
    """

    dx: float
    dy: float
    width: int
    side: str
    """"right": d+1's first columns repeat d's last ones; "left": the other way round."""
    confidence: float

    @property
    def first_cols(self) -> slice:
        return slice(-self.width, None) if self.side == "right" else slice(0, self.width)

    def to_dict(self) -> dict:
        return asdict(self)


def edge_px(expected: int) -> int:
    """Columns of the edge band correlated for an ``expected`` overlap (px)."""
    return int(round(EDGE_FACTOR * expected))


def expected_overlap_range(width: int) -> range:
    """The expected overlaps (px) :func:`find_overlap` can search for between strips ``width`` px wide:
    an edge band (:func:`edge_px`) at least :data:`MIN_CORRELATION_PX` wide (what phase correlation
    needs) and at most ``width`` (so the search spans overlaps up to 1.6× the expected one); empty when
    the strips are narrower than that smallest band."""
    fitting = [expected for expected in range(width + 1) if MIN_CORRELATION_PX <= edge_px(expected) <= width]
    return range(fitting[0], fitting[-1] + 1) if fitting else range(0)


def check_expected_overlap(expected: int, width: int, name: str = "an expected overlap of") -> None:
    """ArgumentError unless ``expected`` is in :func:`expected_overlap_range` of strips ``width`` px
    wide; ``name`` introduces the value in the message (a command names its option)."""
    accepted = expected_overlap_range(width)
    if expected in accepted:
        return
    if not accepted:
        raise ArgumentError(f"strips {width} px wide are too narrow to find an overlap in; expected strips at least "
                            f"{MIN_CORRELATION_PX} px wide")
    raise ArgumentError(f"{name} {expected} px is outside what strips {width} px wide allow; expected "
                        f"{accepted.start} to {accepted.stop - 1} px (the {EDGE_FACTOR}× wider edge band searched "
                        f"must be at least the {MIN_CORRELATION_PX} px phase correlation needs and fit in the strips)")


def find_overlap(first: np.ndarray, second: np.ndarray, *, expected: int = EXPECTED_OVERLAP_PX) -> Overlap:
    """The overlap of two adjacent detectors' (H, W, 4) strips, from their G bands.

    Raises:
        ArgumentError: for an ``expected`` overlap outside :func:`expected_overlap_range`, or strips
            fewer than :data:`MIN_CORRELATION_PX` rows long.
        InputError: when neither arrangement gives a confident correlation peak.
    """
    width = min(first.shape[1], second.shape[1])
    check_expected_overlap(expected, width)
    edge = edge_px(expected)
    rows = min(first.shape[0], second.shape[0])
    if rows < MIN_CORRELATION_PX:
        raise ArgumentError(f"strips of {rows} rows are too short to find their overlap; expected at least "
                            f"{MIN_CORRELATION_PX} rows")
    g1, g2 = first[:rows, :, REFERENCE_BAND], second[:rows, :, REFERENCE_BAND]
    candidates = []
    for side, a, b, offset in (("right", g1[:, -edge:], g2[:, :edge], first.shape[1] - edge),
                               ("left", g1[:, :edge], g2[:, -edge:], edge - second.shape[1])):
        dx, dy, confidence = phase_correlation_shift(a, b, upsample=4)
        dx = unwrapped_shift(dx, edge, side)
        # ground at a(y, x) is at b(y + dy, x + dx): overlap columns where both edges hold it
        overlap = edge - abs(int(round(dx)))
        agreement = _agreement(a, b, int(round(dx)), int(round(dy)))  # decides only between equal peaks
        candidates.append(((confidence, agreement), Overlap(dx - offset, dy, overlap, side, confidence)))
    (confidence, _), best = max(candidates, key=lambda c: c[0])
    threshold = MIN_CONFIDENCE * CALIBRATED_WINDOW_PX / min(edge, rows)
    if confidence < threshold:
        raise InputError(f"adjacent strips show no common ground (correlation {confidence:.3f} < {threshold:.3f}); "
                         f"expected an overlap of about {expected} px")
    return best


def _agreement(a: np.ndarray, b: np.ndarray, dx: int, dy: int) -> float:
    """Correlation coefficient of ``a(y, x)`` and ``b(y + dy, x + dx)`` over the pixels both hold
    (no-data left out); -1 when they share fewer than :data:`MIN_CORRELATION_PX` columns."""
    rows, cols = a.shape
    ys, xs = slice(max(0, -dy), min(rows, rows - dy)), slice(max(0, -dx), min(cols, cols - dx))
    if xs.stop - xs.start < MIN_CORRELATION_PX or ys.stop <= ys.start:
        return -1.0
    first, second = a[ys, xs], b[ys.start + dy:ys.stop + dy, xs.start + dx:xs.stop + dx]
    valid = (first != NO_DATA) & (second != NO_DATA)
    if valid.sum() < MIN_CORRELATION_PX**2:
        return -1.0
    try:
        return ncc(first[valid][None], second[valid][None])
    except ValueError:  # a constant band: nothing to agree on
        return -1.0


def unwrapped_shift(dx: float, edge: int, side: str) -> float:
    """The across-track shift of one arrangement's edge bands (``edge`` columns each; ground at
    ``a(y, x)`` is at ``b(y + dy, x + dx)``) from ``dx`` as the circular phase correlation reads it,
    in (−edge/2, edge/2]: that shift or the one an edge band away, which it reads alike. With the
    second strip to the ``"right"``, ``b``'s columns start where ``a``'s overlap starts, so the
    shift is −(edge − overlap) ≤ 0; to the ``"left"``, edge − overlap ≥ 0."""
    if side == "right":
        return dx - edge if dx > 0 else dx
    return dx + edge if dx < 0 else dx


@dataclass(frozen=True)
class PairCrop:
    """One pair: rows and columns of the crop in each strip."""

    first_rows: slice
    first_cols: slice
    second_rows: slice
    second_cols: slice


def shared_rows(first_shape, second_shape, overlap: Overlap) -> range:
    """The rows of the first strip whose ground the second strip also holds, once shifted by the
    overlap's along-track offset ``dy``."""
    dy = int(round(overlap.dy))
    return range(max(0, -dy), min(first_shape[0], second_shape[0] - dy))


def plan_pairs(first_shape, second_shape, overlap: Overlap, size: int) -> list[PairCrop]:
    """Crops of ``size`` rows (along track) × the trimmed overlap width, every ``size`` rows of the
    :func:`shared_rows`."""
    dx, dy = int(round(overlap.dx)), int(round(overlap.dy))
    if overlap.side == "right":
        c1 = first_shape[1] - overlap.width + TRIM_PX
    else:
        c1 = TRIM_PX
    cols = overlap.width - 2 * TRIM_PX
    c2 = c1 + dx
    if cols < 1 or c2 < 0 or c2 + cols > second_shape[1]:
        return []
    rows = shared_rows(first_shape, second_shape, overlap)
    return [PairCrop(slice(y, y + size), slice(c1, c1 + cols), slice(y + dy, y + dy + size), slice(c2, c2 + cols))
            for y in range(rows.start, rows.stop - size + 1, size)]


def cut_pairs(first: np.ndarray, second: np.ndarray, crops: list[PairCrop]):
    """Yield (index, crop of first, crop of second) for crops with little no-data."""
    for index, crop in enumerate(crops):
        a = first[crop.first_rows, crop.first_cols]
        b = second[crop.second_rows, crop.second_cols]
        if max(np.mean(a == NO_DATA), np.mean(b == NO_DATA)) <= MAX_PAIR_NO_DATA:
            yield index, a, b
