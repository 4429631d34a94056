"""Georeferenced GeoTIFF outputs written through GDAL (rasterio), block of rows by block of rows.

One writer for the outputs of L1C/L2A products and their exports: the input's CRS, its transform
(pixel size divided by the output's scale, same upper-left corner), bands named B02, B03, B04, B08,
the no-data value, GDAL scale/offset so that GIS tools read reflectance, and metadata items (the
input's level, the domain notice, the path taken, the radiometry). Tiled and deflate-compressed,
BigTIFF when needed; written to a temporary name and renamed when complete
(:func:`~l1bsr_core.outputs.atomic_output`), so a failure leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.windows import Window

from .errors import InputError, one_line
from .outputs import atomic_output
from .radiometry import FLOAT, Radiometry

GDAL_CACHE_MB = 256
"""GDAL's block cache, MB, unless the user's ``GDAL_CACHEMAX`` says otherwise: GDAL's default is 5 % of
the machine's memory (1.2 GiB here), far more than blocks of rows need. Set when this module is
imported, before GDAL reads its first block (it reads the value once). Its share of the peaks
measured (1.1–1.2 GiB for 2048² and 4096² windows) was not measured apart."""
os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHE_MB))

BAND_DESCRIPTIONS = ("B02", "B03", "B04", "B08")
"""Output band names, in this project's order B, G, R, NIR."""
COMPRESSION_THREADS = "ALL_CPUS"
"""GDAL ``NUM_THREADS`` of the GeoTIFF writers: tiles are deflated on every core (the same bytes
as one thread; a 2-granule strip's `--task none` took 1.4 s less on 2 cores)."""
BLOCK_PX = 512
"""GeoTIFF internal tile side."""
TAG_RADIOMETRY = "L1BSR_RADIOMETRY"


@dataclass
class OpenBands:
    """Four bands of a GDAL dataset, open for windowed reads (a context manager): ``indexes`` are the
    1-based GDAL band numbers of B, G, R, NIR (Sentinel-2 B02, B03, B04, B08)."""

    source: str
    """The path the user gave (named in errors)."""
    dataset: rasterio.DatasetReader
    indexes: list[int]

    @property
    def crs(self):
        return self.dataset.crs

    @property
    def transform(self) -> Affine:
        return self.dataset.transform

    @property
    def shape(self) -> tuple[int, int]:
        return self.dataset.height, self.dataset.width

    def read(self, window: Window, out_shape: tuple[int, int] | None = None) -> np.ndarray:
        """(h, w, 4) stored values of ``window`` (float as float32, else as stored), bands B, G, R, NIR;
        with ``out_shape`` (h, w), a nearest-neighbour decimated view (GDAL then decodes a JPEG 2000
        at a reduced resolution level when the file has one)."""
        shape = None if out_shape is None else (len(self.indexes), *out_shape)
        try:
            planes = self.dataset.read(self.indexes, window=window, out_shape=shape)
        except RasterioIOError as error:
            raise InputError(f"cannot read the pixels of {self.source}: {error}") from error
        values = np.ascontiguousarray(np.moveaxis(planes, 0, -1))
        return values.astype(np.float32, copy=False) if values.dtype.kind == "f" else values

    def close(self) -> None:
        self.dataset.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class GeoGrid:
    """Where an image lies: its CRS (None: not georeferenced) and pixel-to-map transform."""

    crs: object | None
    transform: Affine = field(default_factory=Affine.identity)

    def window(self, window: Window) -> GeoGrid:
        """The grid of ``window`` of this image (same pixel size, its own origin)."""
        return GeoGrid(self.crs, rasterio.windows.transform(window, self.transform))

    def scaled(self, factor: int) -> GeoGrid:
        """The grid of the same ground with ``factor`` times more pixels per side (same origin)."""
        return GeoGrid(self.crs, self.transform @ Affine.scale(1 / factor))


def _nodata(radiometry: Radiometry) -> float:
    if radiometry.kind == FLOAT:
        return float("nan") if radiometry.nodata is None else float(radiometry.nodata)
    return 0


@contextlib.contextmanager
def geotiff_writer(path, height: int, width: int, grid: GeoGrid, radiometry: Radiometry,
                   tags: dict[str, str]) -> Iterator[rasterio.io.DatasetWriter]:
    """An open (H, W) 4-band GeoTIFF at a temporary name beside ``path``; renamed to ``path`` on success.

    Write (h, w, 4) blocks with :func:`write_block`. Raises InputError when GDAL cannot write there
    or leaves the file incomplete (a full disk: :func:`check_complete_geotiff`)."""
    dtype = radiometry.dtype
    predictor = 3 if dtype.kind == "f" else 2
    scale, offset = radiometry.gdal_scale_offset()
    with atomic_output(path) as temp:
        try:
            dataset = rasterio.open(
                temp, "w", driver="GTiff", width=width, height=height, count=len(BAND_DESCRIPTIONS),
                dtype=dtype.name, crs=grid.crs, transform=grid.transform, nodata=_nodata(radiometry),
                tiled=True, blockxsize=BLOCK_PX, blockysize=BLOCK_PX, compress="deflate", predictor=predictor,
                bigtiff="IF_SAFER", interleave="pixel", num_threads=COMPRESSION_THREADS,
            )
        except RasterioIOError as error:
            raise InputError(f"cannot write {path}: {error}") from error
        with dataset:
            for band, name in enumerate(BAND_DESCRIPTIONS, start=1):
                dataset.set_band_description(band, name)
            dataset.scales = (scale,) * len(BAND_DESCRIPTIONS)
            dataset.offsets = (offset,) * len(BAND_DESCRIPTIONS)
            dataset.update_tags(**tags, **{TAG_RADIOMETRY: radiometry.describe()})
            yield dataset
        check_complete_geotiff(temp, path)


CHECK_ROWS = 512
"""Rows of a written GeoTIFF decoded at a time by :func:`check_complete_geotiff` (bounded memory)."""


def check_complete_geotiff(path, shown=None) -> None:
    """InputError unless every pixel of the GeoTIFF at ``path``, which GDAL has just closed,
    decodes. GDAL reports a full disk during block writes or at close only on its own stderr, not
    to the caller, and leaves a file whose directory can still be read; decoding it, a band of
    :data:`CHECK_ROWS` rows at a time, is what finds it (0.21 s for a 4096 × 4096 output on 2 cores;
    its 2048² input takes about 14 s to super-resolve at the measured 3.4 µs/px).
    ``shown``: the output's name in the message."""
    try:
        with rasterio.open(path) as dataset:
            for row in range(0, dataset.height, CHECK_ROWS):
                dataset.read(window=Window(0, row, dataset.width, min(CHECK_ROWS, dataset.height - row)))
    except RasterioError as error:
        raise InputError(f"cannot write {shown or path}: the file was left incomplete (disk full?): "
                         f"{one_line(error)}") from error


def write_block(dataset, row: int, block: np.ndarray, *, col: int = 0) -> None:
    """Write the (h, w, 4) ``block`` with its upper-left corner at (``row``, ``col``) of ``dataset``."""
    planes = np.moveaxis(block, -1, 0)
    dataset.write(planes, window=Window(col, row, block.shape[1], block.shape[0]))


def write_geotiff(path, stored: np.ndarray, grid: GeoGrid, radiometry: Radiometry, tags: dict[str, str]) -> None:
    """Write a whole (H, W, 4) array of stored values (``radiometry``'s convention) as one GeoTIFF."""
    with geotiff_writer(path, stored.shape[0], stored.shape[1], grid, radiometry, tags) as dataset:
        write_block(dataset, 0, stored)
