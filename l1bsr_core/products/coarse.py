"""Coarse band alignment of a detector strip: B, R, NIR brought within the CSR's range of G.

In a raw L1B granule the bands are further apart than the CSR's phase-correlation windows reach
(tens of pixels; the authors pre-registered their crops to "typically less than 10 px"). This module
measures one global offset per band and detector from the data, by phase correlation of blocks
of the strip (:func:`l1bsr_core.classical_registration.phase_correlation_shift`, polarity-blind, so NIR works;
it finds shifts up to half a block), takes the robust median of the confident blocks, and applies
it as an integer shift: no resampling, so radiometry is untouched, and the sub-pixel rest and the
smooth variation are left to the CSR.

Offsets follow the project's flow convention: ``(dx, dy)`` of band b means
``band(y + dy, x + dx) ≈ G(y, x)``, so the aligned band is ``aligned(y, x) = band(y + dy, x + dx)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..bands import BAND_NAMES, MOVING_BANDS, NO_DATA, REFERENCE_BAND
from ..classical_registration import MIN_CONFIDENCE, phase_correlation_shift
from ..errors import InputError

BLOCK_PX = 256
"""Side of the blocks measured: shifts up to ±128 px are found; larger blocks hold more of the
smooth variation of the offset, which flattens the correlation peak (NIR's most)."""
CALIBRATED_WINDOW_PX = 64
"""Window side :data:`~l1bsr_core.classical_registration.MIN_CONFIDENCE` is calibrated for. The peak of
unrelated content falls about as 1 / side, so a block of side s is confident above
``MIN_CONFIDENCE · 64 / s``."""
MAX_BLOCKS = 24
"""At most this many blocks per band, spread evenly over the strip's grid of blocks (more adds
time, not accuracy: a granule's 110 blocks took 31 s for the same median)."""
COARSE_UPSAMPLE = 4
"""Sub-pixel grid of the block shifts (1/4 px): the applied offset is an integer anyway."""
MAX_NO_DATA = 0.05
"""Blocks with more no-data than this fraction are not measured."""
SPREAD_WARNING_PX = 2.0
"""Confident blocks disagreeing with their median by more than this (px, median absolute
deviation) say that a global offset does not describe the band well (recorded in the manifest)."""


@dataclass(frozen=True)
class BandOffset:
    """A band's coarse offset against G: measured (sub-pixel), applied (integer), and how sure."""

    band: str
    dx: float
    dy: float
    applied_dx: int
    applied_dy: int
    blocks: int
    """Confident blocks the median is taken over."""
    spread_px: float
    """Median absolute deviation of the confident blocks' shifts from the median, px."""

    def to_dict(self) -> dict:
        return asdict(self)


def _block_starts(length: int, block: int, count: int) -> list[int]:
    if length <= block:
        return [0]
    return sorted({int(round(s)) for s in np.linspace(0, length - block, count)})


def measure_offsets(bgrn, *, block: int = BLOCK_PX, upward: bool = False) -> list[BandOffset]:
    """Coarse offsets of B, R, NIR against G over a whole (H, W, 4) uint16 strip.

    ``bgrn``: an array or anything with ``shape`` that gives ``bgrn[rows, cols]`` (slices) as an
    array, e.g. a :class:`~l1bsr_core.products.strips.StripSource`: only the blocks measured are read.
    Blocks of ``block`` px (smaller strips: their smaller side) are spread along and across track;
    blocks mostly no-data are skipped. ``upward``: read the blocks from the strip's end to its start
    (the offsets are the same, medians of the same blocks; a source that keeps its last decoded
    granules then holds the first ones, where a top-to-bottom pass that follows starts). Raises
    InputError when a band has no confident block (a strip of clouds, water or no-data has nothing
    to align on).
    """
    height, width, _ = bgrn.shape
    side = min(block, height, width)
    rows = _block_starts(height, side, int(np.ceil(height / side)) + 1)
    cols = _block_starts(width, side, int(np.ceil(width / side)) + 1)
    grid = [(y, x) for y in rows for x in cols]
    starts = [grid[i] for i in sorted({int(round(i)) for i in np.linspace(0, len(grid) - 1, MAX_BLOCKS)})]
    shifts: dict[int, list[tuple[float, float]]] = {band: [] for band in MOVING_BANDS}
    for y, x in reversed(starts) if upward else starts:  # each block read once, all bands measured on it
        window = bgrn[y:y + side, x:x + side]
        for band in MOVING_BANDS:
            if np.mean((window[..., REFERENCE_BAND] == NO_DATA) | (window[..., band] == NO_DATA)) > MAX_NO_DATA:
                continue
            dx, dy, confidence = phase_correlation_shift(window[..., REFERENCE_BAND], window[..., band],
                                                         upsample=COARSE_UPSAMPLE)
            if confidence >= MIN_CONFIDENCE * CALIBRATED_WINDOW_PX / side:
                shifts[band].append((dx, dy))
    offsets = []
    for band in MOVING_BANDS:
        if not shifts[band]:
            raise InputError(f"band {BAND_NAMES[band]} has no block that matches G (no texture, or no data); "
                             f"cannot align it coarsely")
        found = np.asarray(shifts[band])
        median = np.median(found, axis=0)
        spread = float(np.median(np.abs(found - median).max(axis=1)))
        offsets.append(BandOffset(BAND_NAMES[band], float(median[0]), float(median[1]),
                                  int(np.round(median[0])), int(np.round(median[1])), len(found), spread))
    return offsets


def aligned_rows(bgrn, offsets: list[BandOffset], start: int, stop: int) -> np.ndarray:
    """Rows ``start … stop − 1`` of the coarsely aligned strip (:func:`apply_offsets` of the whole
    strip), reading only those rows and the few more the offsets reach: (rows, W, 4) uint16.

    ``bgrn`` as in :func:`measure_offsets`. Pixels whose band sample lies outside the strip are
    no-data, as in the whole strip.
    """
    height = bgrn.shape[0]
    reach = max(abs(o.applied_dy) for o in offsets)
    r0, r1 = max(start - reach, 0), min(stop + reach, height)
    block = apply_offsets(np.array(bgrn[r0:r1, :]), offsets)
    return block[start - r0:stop - r0]


def shift_band(band: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``out(y, x) = band(y + dy, x + dx)`` for integer shifts; pixels from outside are no-data (0)."""
    out = np.full_like(band, NO_DATA)
    height, width = band.shape
    ys, yd = slice(max(dy, 0), height + min(dy, 0)), slice(max(-dy, 0), height + min(-dy, 0))
    xs, xd = slice(max(dx, 0), width + min(dx, 0)), slice(max(-dx, 0), width + min(-dx, 0))
    out[yd, xd] = band[ys, xs]
    return out


def apply_offsets(bgrn: np.ndarray, offsets: list[BandOffset]) -> np.ndarray:
    """The strip with each moving band shifted by its integer offset (G untouched), in place."""
    for band, offset in zip(MOVING_BANDS, offsets):
        if offset.band != BAND_NAMES[band]:
            raise ValueError(f"offsets are for {[o.band for o in offsets]}; expected B, R, NIR in order")
        bgrn[..., band] = shift_band(bgrn[..., band], offset.applied_dx, offset.applied_dy)
    return bgrn
