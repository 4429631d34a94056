"""A TIFF whose pixels are written band of rows by band of rows (large outputs in bounded memory).

:func:`l1bsr_core.io.write_bgrn_rows` lays out an uncompressed BGRN TIFF with tifffile, pixels
in one block, and hands out a :class:`RowWriter` that writes into that block. Tiles arrive in
row-major order (as :func:`l1bsr_core.tiling.plan_tiles` makes them); the writer keeps the current
band of rows in memory and writes it when the next band starts, so a 2x super-resolved 4096 ×
4096 image never has its 512 MiB in memory at once.
"""

from __future__ import annotations

import numpy as np

from .bands import N_BANDS
from .errors import InputError, one_line

PIXEL_DTYPE = np.dtype("<u2")
"""Pixels on disk: little-endian uint16 (tifffile's default byte order)."""


class RowWriter:
    """``writer[rows, cols] = tile`` into a TIFF's pixel block, a band of rows at a time.

    ``tile`` is (rows, cols, 4) uint16, bands B, G, R, NIR; ``rows`` and ``cols`` are slices of
    the (height, width) image. All tiles of a band share its ``rows``; bands come top to bottom
    and each must be covered before the next starts. The pixel block starts at byte ``offset``
    of ``file``: interleaved (row by row, 4 samples a pixel) or, when ``planar``, one plane per band.
    """

    def __init__(self, file, offset: int, height: int, width: int, *, planar: bool, source: str):
        self.file, self.offset, self.planar, self.source = file, offset, planar, source
        self.shape = (height, width, N_BANDS)
        self.rows: slice | None = None
        self.band: np.ndarray | None = None
        self.written: np.ndarray | None = None  # columns of the current band written
        self.next_row = 0  # first row not yet written to the file

    def __setitem__(self, key: tuple[slice, slice], tile: np.ndarray) -> None:
        rows, cols = key
        rows = slice(*rows.indices(self.shape[0]))
        cols = slice(*cols.indices(self.shape[1]))
        if rows != self.rows:
            self._flush()
            if rows.start != self.next_row or rows.step != 1:
                raise ValueError(f"rows {rows.start}:{rows.stop} written out of order (row {self.next_row} is next)")
            self.rows = rows
            self.band = np.empty((rows.stop - rows.start, self.shape[1], N_BANDS), PIXEL_DTYPE)
            self.written = np.zeros(self.shape[1], bool)
        self.band[:, cols] = tile
        self.written[cols] = True

    def _flush(self) -> None:
        """Write the current band (complete) to the file."""
        if self.rows is None:
            return
        if not self.written.all():
            raise ValueError(f"rows {self.rows.start}:{self.rows.stop}: "
                             f"{int(self.written.sum())} of {self.shape[1]} columns written")
        height, width = self.shape[:2]
        try:
            if self.planar:
                for band in range(N_BANDS):
                    self.file.seek(self.offset + PIXEL_DTYPE.itemsize * width * (band * height + self.rows.start))
                    self.file.write(np.ascontiguousarray(self.band[..., band]).tobytes())
            else:
                self.file.seek(self.offset + PIXEL_DTYPE.itemsize * width * N_BANDS * self.rows.start)
                self.file.write(self.band.tobytes())
        except OSError as error:
            raise InputError(f"cannot write {self.source}: {error.strerror or one_line(error)}") from error
        self.next_row, self.rows, self.band, self.written = self.rows.stop, None, None, None

    def close(self) -> None:
        """Write the last band; ValueError unless every row was written."""
        self._flush()
        if self.next_row != self.shape[0]:
            raise ValueError(f"only rows 0:{self.next_row} of {self.shape[0]} were written")
