"""Tests of l1bsr_core.tiling: tile plans cover an image once, with aligned, clipped margins."""

from __future__ import annotations

import numpy as np
import pytest

from l1bsr_core.errors import ArgumentError
from l1bsr_core.tiling import DEFAULT_TILE, MIN_TILE, plan_bands, plan_row_blocks, plan_tiles, resolve_tile


def test_plan_tiles_cover_the_image_once():
    cover = np.zeros((300, 517), int)
    for t in plan_tiles(300, 517, tile=128, margin=32, align=16):
        cover[t.core_y, t.core_x] += 1
        assert t.read_y.start % 16 == 0 and t.read_x.start % 16 == 0
    assert (cover == 1).all()


def test_tiles_read_their_margin_and_place_their_core_inside_it():
    image = np.arange(300 * 517).reshape(300, 517)
    for t in plan_tiles(300, 517, tile=128, margin=32):
        read = image[t.read_y, t.read_x]
        np.testing.assert_array_equal(read[t.inner_y, t.inner_x], image[t.core_y, t.core_x])
        assert t.core_y.start - t.read_y.start == min(32, t.core_y.start)  # margin, clipped at the border
        assert t.read_x.stop - t.core_x.stop == min(32, 517 - t.core_x.stop)


def test_one_tile_when_tiling_is_off_or_the_image_fits():
    for tile in (0, 600):
        (only,) = plan_tiles(300, 517, tile=tile, margin=32)
        assert (only.core_y, only.core_x) == (slice(0, 300), slice(0, 517))


def test_resolve_tile_chooses_and_checks():
    assert resolve_tile(None, DEFAULT_TILE, DEFAULT_TILE) == 0  # fits: untiled
    assert resolve_tile(None, DEFAULT_TILE + 1, 10, size=256) == 256
    assert resolve_tile(0, 4096, 4096) == 0 and resolve_tile(96, 4096, 4096, multiple=32) == 96
    for bad in (-1, MIN_TILE - 1, 100.0):
        with pytest.raises(ArgumentError):
            resolve_tile(bad, 4096, 4096)
    with pytest.raises(ArgumentError, match="multiple of 32"):
        resolve_tile(100, 4096, 4096, multiple=32)


def test_bands_cover_every_row_once_with_context_clipped_at_the_borders():
    bands = plan_bands(101, 40, 3, 8)
    covered = [row for band in bands for row in range(band.core_y.start, band.core_y.stop)]
    assert covered == list(range(101))
    assert [b.read_y.start for b in bands] == [0, bands[1].core_y.start - 8, bands[2].core_y.start - 8]
    assert bands[-1].read_y.stop == 101 and bands[0].read_y.stop == bands[0].core_y.stop + 8
    for band in bands:
        assert band.read_x == band.core_x == band.inner_x == slice(0, 40)
        assert band.inner_y.stop - band.inner_y.start == band.core_y.stop - band.core_y.start


@pytest.mark.parametrize("height", [100, 2304, 4645, 13824])
def test_row_blocks_cover_a_strip_once_with_aligned_context(height):
    blocks = plan_row_blocks(height, 2552, rows=2304, margin=256, align=16)
    assert len(blocks) == -(-height // 2304)
    cover = np.zeros(height, int)
    for t in blocks:
        cover[t.core_y] += 1
        assert t.read_y.start % 16 == 0 and t.core_y.start % 16 == 0
        assert t.read_y.start == max(t.core_y.start - 256, 0) and t.read_y.stop == min(t.core_y.stop + 256, height)
        assert t.inner_y == slice(t.core_y.start - t.read_y.start, t.core_y.stop - t.read_y.start)
        assert t.read_x == t.core_x == slice(0, 2552)
    assert (cover == 1).all()
