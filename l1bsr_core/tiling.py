"""Tiling: cover a large image with overlapping tiles, process each, keep only their cores.

Each tile is read with a margin of context on every side (clipped at the image borders) and only
its core is written to the output, so memory is bounded by the tile size and seams do not show
when the margin covers the network's receptive field. Tiles and margins are in input pixels;
slices index rows (y) and columns (x) of an (H, W, ...) image.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .errors import ArgumentError
from .io import MIN_SIZE_PX

DEFAULT_TILE = 512
"""Tile side in input pixels used when ``tile`` is not given and the image is larger than this."""

MIN_TILE = MIN_SIZE_PX
"""Smallest tile side accepted, input pixels: a tile is never smaller than the smallest image."""


@dataclass(frozen=True)
class Tile:
    """One tile: the padded window read from the input and the core written to the output."""

    read_y: slice
    read_x: slice
    core_y: slice  # output rows, input pixel units
    core_x: slice
    inner_y: slice  # the core's position inside the read window
    inner_x: slice


def plan_tiles(height: int, width: int, tile: int, margin: int, align: int = 1) -> list[Tile]:
    """Cover an image with tiles of ``tile`` px plus ``margin`` px of context (clipped at borders).

    Read windows start at multiples of ``align`` so that pooling grids line up with an untiled run.
    """
    if tile <= 0 or tile >= max(height, width):
        return [Tile(slice(0, height), slice(0, width), slice(0, height), slice(0, width),
                     slice(0, height), slice(0, width))]
    if tile % align or margin % align:
        raise ValueError(f"tile ({tile}) and margin ({margin}) must be multiples of {align}")
    tiles = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            ry0, rx0 = max(y0 - margin, 0), max(x0 - margin, 0)
            ry1, rx1 = min(y1 + margin, height), min(x1 + margin, width)
            tiles.append(Tile(
                slice(ry0, ry1), slice(rx0, rx1), slice(y0, y1), slice(x0, x1),
                slice(y0 - ry0, y1 - ry0), slice(x0 - rx0, x1 - rx0),
            ))
    return tiles


def plan_bands(height: int, width: int, count: int, margin: int) -> list[Tile]:
    """Cover an image with ``count`` bands of whole rows, as even as possible, each read with
    ``margin`` rows of context (clipped at the borders): work for ``count`` workers at once."""
    count = max(1, min(count, height))
    return _row_tiles([round(i * height / count) for i in range(count + 1)], width, margin)


def plan_row_blocks(height: int, width: int, rows: int, margin: int, align: int = 1) -> list[Tile]:
    """Cover an image with blocks of whole rows, about ``rows`` each (as even as possible), each
    read with ``margin`` rows of context (clipped at the borders): a long image in bounded memory.

    Block edges and read windows start at multiples of ``align`` (except the image's last row),
    so that a grid of windows every ``align`` px lines up with the whole image's.
    """
    if rows <= 0 or margin % align:
        raise ValueError(f"rows ({rows}) must be positive and margin ({margin}) a multiple of {align}")
    count = max(1, -(-height // rows))
    edges = sorted({min(round(i * height / count / align) * align, height) for i in range(count)} | {height})
    return _row_tiles(edges, width, margin)


def _row_tiles(edges: list[int], width: int, margin: int) -> list[Tile]:
    """Tiles of whole rows between consecutive ``edges``, read with ``margin`` rows of context."""
    height = edges[-1]
    tiles = []
    for y0, y1 in zip(edges[:-1], edges[1:]):
        ry0, ry1 = max(y0 - margin, 0), min(y1 + margin, height)
        tiles.append(Tile(slice(ry0, ry1), slice(0, width), slice(y0, y1), slice(0, width),
                          slice(y0 - ry0, y1 - ry0), slice(0, width)))
    return tiles


def check_tile(tile: int | None, multiple: int = 1) -> None:
    """Refuse a tile size other than ``None`` (automatic), 0 (no tiling) or a whole number of
    pixels of at least :data:`MIN_TILE` that is a multiple of ``multiple``.

    Raises:
        ArgumentError: one line saying what was given and what is accepted.
    """
    if tile is None or (isinstance(tile, numbers.Integral) and tile == 0):
        return
    accepted = f"expected 0 (no tiling) or a whole number of pixels of at least {MIN_TILE}"
    if isinstance(tile, bool) or not isinstance(tile, numbers.Integral):
        raise ArgumentError(f"tile size is {tile!r}; {accepted}")
    if tile < MIN_TILE:
        raise ArgumentError(f"tile size is {tile}; {accepted}")
    if tile % multiple:
        nearest = max(round(tile / multiple), 1) * multiple
        raise ArgumentError(
            f"tile size {tile} is not a multiple of {multiple}, the block size of the registration "
            f"network; expected 0 (no tiling) or a multiple of {multiple}, such as {nearest}"
        )


def resolve_tile(tile: int | None, height: int, width: int, size: int = DEFAULT_TILE, multiple: int = 1) -> int:
    """``None`` → whole image when it fits in one :data:`DEFAULT_TILE`, else tiles of ``size``; 0 → whole.

    A given ``tile`` is checked by :func:`check_tile` (ArgumentError when refused).
    """
    check_tile(tile, multiple)
    if tile is None:
        return 0 if max(height, width) <= DEFAULT_TILE else size
    return int(tile)
