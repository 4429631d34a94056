"""An L1B product, detector by detector: strip, coarse alignment, then the chosen task, to GeoTIFF.

Tasks: ``none`` (the coarse alignment only, like the authors' crops), ``registration`` (then the
CSR aligns B, R, NIR onto G) and ``superresolution`` (then REC, 2×). Each detector's output is
``D<dd>.tif``: BGRN uint16 in G's geometry, with the strip's GCPs (pixel coordinates doubled for
the 2× output), written atomically. The networks run tile by tile (:mod:`l1bsr_core.inference`).

Bounded memory: a strip is processed in blocks of about a granule's rows (:data:`BLOCK_ROWS`),
each read from the granules with :data:`CONTEXT_ROWS` of context on both sides, run through the
task, and only its core rows written, as they come, to the GeoTIFF. The coarse offsets are
measured once per strip (on blocks read from it); the joint CSR's flows, its NIR model included,
are fitted per block: local along the strip, as the satellite's attitude varies along a datastrip.
Super-resolution scales every block by the whole strip's band means, so blocks agree.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

from ..arrays import band_sums
from ..bands import BAND_NAMES, SCALE_FACTOR
from ..errors import InputError, L1BSRError, one_line
from ..georaster import COMPRESSION_THREADS, check_complete_geotiff
from ..jobs import TASKS
from ..outputs import atomic_output, sha256_of
from ..tiling import plan_row_blocks
from .coarse import BandOffset, aligned_rows, measure_offsets
from .layout import ProductFiles, find_product
from .metadata import DatastripMetadata, parse_datastrip
from .strips import DetectorStrip, Granule, StripSource, check_band_files, list_granules

PRODUCT_TASKS = ("none", *TASKS)
"""``none`` (the coarse alignment only) and the command line's tasks."""
GEOTIFF_OPTIONS = {"driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256,
                   "compress": "deflate", "predictor": 2, "interleave": "pixel", "BIGTIFF": "IF_SAFER",
                   "NUM_THREADS": COMPRESSION_THREADS}
WRITE_ROWS = 1024
"""Rows written to the GeoTIFF at a time (a multiple of its 256 px blocks)."""
BLOCK_ROWS = 2304
"""Strip rows whose output one block gives: about a granule (2304 rows in real products), so a
strip of any length costs what a granule costs."""
CONTEXT_ROWS = 128
"""Rows read on each side of a block (clipped at the strip's ends) whose output is dropped: the
joint CSR's reach and REC's margin, so the output near a block's edge is that of its
neighbourhood, not of the edge. Measured on a 3-granule strip against the whole strip registered
at once (model card, issue #27, session 12): B's and R's flows unchanged (within 0.0001 px) from
128 rows up, 0.0003 px off at 96 and 0.013 at 64; NIR's, whose model is fitted per block,
within 0.018 px at 128 (0.013 at 256, the previous value), its error against the truth the same."""
GRID_ALIGN = 16
"""Blocks start at multiples of the joint CSR's window step, so their windows are the strip's."""


@dataclass
class OpenProduct:
    """A product's files, its datastrip metadata and its granules (no pixel read)."""

    files: ProductFiles
    datastrip: DatastripMetadata
    granules: list[Granule]

    @property
    def detectors(self) -> list[int]:
        return sorted({g.metadata.detector for g in self.granules})

    def missing_granules(self) -> list[str]:
        """Granules the datastrip lists that the product does not hold."""
        present = {g.metadata.granule_id for g in self.granules} | {g.files.name for g in self.granules}
        return sorted(set(self.datastrip.granule_rows) - present)


def open_product(path) -> OpenProduct:
    """Find and parse an L1B product (SAFE folder or .zip) and check its BGRN band files exist.

    Raises:
        InputError: for anything that is not a readable L1B product (see
            :func:`~l1bsr_core.products.layout.find_product`), malformed metadata, or a granule
            without its four 10 m band files.
    """
    files = find_product(path)
    datastrip = parse_datastrip(files.read_bytes(files.datastrip), files.datastrip)
    granules = list_granules(files)
    check_band_files(files, {g.files.name for g in granules})
    return OpenProduct(files, datastrip, granules)


def list_detectors(path) -> list[int]:
    """The detectors (1–12) the product at ``path`` has granules of."""
    return open_product(path).detectors


def check_detectors(product: OpenProduct, detectors) -> list[int]:
    """The detectors asked for, all of the product's when None; InputError for one it lacks."""
    if detectors is None:
        return product.detectors
    missing = sorted(set(detectors) - set(product.detectors))
    if missing:
        raise InputError(f"the product has no granule of detector(s) {', '.join(map(str, missing))}; "
                         f"it has {', '.join(map(str, product.detectors))}")
    return sorted(set(detectors))


def output_name(detector: int) -> str:
    return f"D{detector:02d}.tif"


def aligned_strip(product: OpenProduct, detector: int) -> tuple[DetectorStrip, list[BandOffset]]:
    """(strip, offsets): the detector's whole strip in memory with B, R, NIR coarsely aligned to G."""
    source = StripSource(product.granules, detector)
    offsets = measure_offsets(source)
    bgrn = aligned_rows(source, offsets, 0, source.shape[0])
    return DetectorStrip(detector, bgrn, source.first_row, source.gcps, source.crs, source.granules,
                         source.missing_rows), offsets


def offsets_upward(task: str) -> bool:
    """Whether the coarse offsets of a strip are measured from its end to its start for ``task``.

    The passes over a strip alternate directions, so each starts where the last one ended and finds
    those granules still decoded (:data:`~l1bsr_core.products.strips.GRANULES_KEPT`): the blocks
    of rows go top to bottom (:func:`write_strip`: the GeoTIFF is written as they come); before
    them super-resolution's band means go bottom up (:func:`strip_band_means`), after coarse
    offsets measured top down; the other tasks' offsets go bottom up. A strip of n > 2 granules is
    then decoded 2n − 2 times for registration (was 2n) and 3n − 4 times for super-resolution (was
    3n); n ≤ 2 granules are decoded once each.
    """
    return task != "superresolution"


def strip_blocks(source, offsets: list[BandOffset], block_rows: int = BLOCK_ROWS,
                 context_rows: int = CONTEXT_ROWS, *, upward: bool = False):
    """``(tile, bgrn)`` for each block of rows of the coarsely aligned strip, top to bottom (bottom
    up with ``upward``): ``tile.read_y`` the strip rows read (core and context), ``tile.core_y``
    those the block's output keeps, ``tile.inner_y`` where they are in ``bgrn`` ((read rows, W, 4)
    uint16 BGRN)."""
    tiles = plan_row_blocks(source.shape[0], source.shape[1], block_rows, context_rows, GRID_ALIGN)
    for tile in reversed(tiles) if upward else tiles:
        yield tile, aligned_rows(source, offsets, tile.read_y.start, tile.read_y.stop)


def strip_band_means(source, offsets: list[BandOffset], block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """(4,) means of the valid pixels of each band of the coarsely aligned strip, read block by block
    from the strip's end to its start (:func:`offsets_upward`; the counts and sums are whole
    numbers, exact in float64, so the order does not change them)."""
    sums = [np.zeros(len(BAND_NAMES)) for _ in range(3)]
    for _, bgrn in strip_blocks(source, offsets, block_rows, 0, upward=True):
        sums = [a + b for a, b in zip(sums, band_sums(bgrn))]
    count, total, _ = sums
    return total / np.maximum(count, 1)


def _scaled_gcps(gcps, scale: int) -> list[GroundControlPoint]:
    return [GroundControlPoint(row=p.row * scale, col=p.col * scale, x=p.x, y=p.y, z=p.z) for p in gcps]


def _open_geotiff(path: Path, height: int, width: int, gcps, crs, scale: int, tags: dict):
    with warnings.catch_warnings():  # no geotransform: the GCPs are the georeferencing
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dataset = rasterio.open(path, "w", width=width, height=height, count=len(BAND_NAMES), dtype="uint16",
                                nodata=0, **GEOTIFF_OPTIONS)
    if gcps:
        dataset.gcps = (_scaled_gcps(gcps, scale), crs)
    dataset.descriptions = BAND_NAMES
    dataset.update_tags(**tags)
    return dataset


class GeoTiffRows:
    """Rows of an (H, W, 4) uint16 BGRN image appended top to bottom to an open GeoTIFF, written
    :data:`WRITE_ROWS` at a time (whole blocks of the file's tiling: none is written twice)."""

    def __init__(self, dataset):
        self.dataset = dataset
        self.next_row = 0
        self.pending = np.empty((0, dataset.width, len(BAND_NAMES)), np.uint16)

    def append(self, rows: np.ndarray) -> None:
        """Append (n, W, 4) rows; whole chunks of :data:`WRITE_ROWS` go to the file at once."""
        start = 0
        if len(self.pending):
            start = min(WRITE_ROWS - len(self.pending), len(rows))
            self.pending = np.concatenate((self.pending, rows[:start]))
            if len(self.pending) < WRITE_ROWS:
                return
            self._write(self.pending)
        whole = start + (len(rows) - start) // WRITE_ROWS * WRITE_ROWS
        for first in range(start, whole, WRITE_ROWS):
            self._write(rows[first:first + WRITE_ROWS])
        self.pending = rows[whole:].copy()

    def close(self) -> None:
        """Write the last rows; ValueError unless the image's every row was appended."""
        if len(self.pending):
            self._write(self.pending)
        if self.next_row != self.dataset.height:
            raise ValueError(f"only rows 0:{self.next_row} of {self.dataset.height} were written")

    def _write(self, block: np.ndarray) -> None:
        window = Window(0, self.next_row, block.shape[1], block.shape[0])
        self.dataset.write(np.moveaxis(block, -1, 0), window=window)
        self.next_row += block.shape[0]
        self.pending = self.pending[:0]


def write_strip(path: Path, source, offsets: list[BandOffset], *, task: str = "none", weights=None,
                device="cpu", tile=None, tags: dict | None = None, progress=None,
                block_rows: int = BLOCK_ROWS, context_rows: int = CONTEXT_ROWS) -> tuple:
    """Run ``task`` on a strip (a :class:`~l1bsr_core.products.strips.StripSource`, coarsely aligned
    by ``offsets``) block by block and write the result as a tiled GeoTIFF with GCPs (pixel
    coordinates scaled for a 2× output), atomically. Returns the output's shape.

    Memory is that of one block (``block_rows`` plus twice ``context_rows`` rows), its output and
    the source's last two decoded granules (:data:`~l1bsr_core.products.strips.GRANULES_KEPT`),
    whatever the strip's length.
    """
    scale = SCALE_FACTOR if task == "superresolution" else 1
    height, width, bands = source.shape
    means = strip_band_means(source, offsets, block_rows) if task == "superresolution" else None
    blocks = plan_row_blocks(height, width, block_rows, context_rows, GRID_ALIGN)
    with atomic_output(path) as temp:
        try:
            with _open_geotiff(temp, height * scale, width * scale, source.gcps, source.crs, scale,
                               tags or {}) as dataset:
                rows = GeoTiffRows(dataset)
                for index, (block, bgrn) in enumerate(strip_blocks(source, offsets, block_rows, context_rows)):
                    result = run_task(bgrn, task, weights=weights, device=device, tile=tile, band_means=means,
                                      rows=block.inner_y, progress=_block_progress(progress, index, len(blocks)))
                    rows.append(result)
                    del result, bgrn
                rows.close()
            check_complete_geotiff(temp, path)
        except RasterioError as error:
            raise InputError(f"cannot write {path}: {one_line(error)}") from error
    return height * scale, width * scale, bands


def _block_progress(progress, index: int, blocks: int):
    """Tile progress of block ``index`` of ``blocks`` as progress over the whole strip."""
    if progress is None:
        return None
    return lambda done, total: progress(index * total + done, blocks * total)


def run_task(bgrn: np.ndarray, task: str, *, weights=None, device="cpu", tile=None, progress=None,
             band_means: np.ndarray | None = None, rows: slice | None = None) -> np.ndarray:
    """The task on a coarsely aligned strip or block of one (``none`` returns it as it is).

    ``band_means``: super-resolution's (4,) band means of the whole strip (None: the block's own).
    ``rows``: the rows of ``bgrn`` whose output is returned (None: all); the others are context.
    Super-resolution runs the REC on those rows only (with its margin); registration warps
    every row and returns those.
    """
    rows = slice(0, bgrn.shape[0]) if rows is None else rows
    if task == "none":
        return bgrn[rows]
    from .. import inference  # torch: only when a network runs

    if task == "registration":
        return inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress,
                                  with_flow=False)[0][rows]
    if task == "superresolution":
        return inference.superresolve(bgrn, weights=weights, device=device, tile=tile, progress=progress,
                                      band_means=band_means, rows=rows)
    raise InputError(f"task {task!r} is not one of {', '.join(PRODUCT_TASKS)}")


def process_detector(product, detector: int, output, task: str, *, weights=None, device="cpu", tile=None,
                     progress: Callable[[int, int], None] | None = None, block_rows: int = BLOCK_ROWS,
                     context_rows: int = CONTEXT_ROWS) -> dict:
    """Strip, coarse alignment and ``task`` for one detector; the GeoTIFF at ``output``; its record.

    ``product`` is a path or an :class:`OpenProduct`. The strip runs in blocks of about
    ``block_rows`` rows with ``context_rows`` of context (see the module's docstring). The record
    (JSON-able) holds the granules used, the rows of missing ones, the coarse offsets per band
    (measured and applied), the band lags from the datastrip's time stamps, the output's shape,
    the number of blocks, its sha256, and seconds.
    """
    start = time.perf_counter()
    if not isinstance(product, OpenProduct):
        product = open_product(product)
    if task not in PRODUCT_TASKS:
        raise InputError(f"task {task!r} is not one of {', '.join(PRODUCT_TASKS)}")
    strip = StripSource(product.granules, detector)
    offsets = measure_offsets(strip, upward=offsets_upward(task))
    tags = {"L1BSR_TASK": task, "L1BSR_DETECTOR": str(detector), "DATASTRIP_ID": product.datastrip.datastrip_id}
    shape = write_strip(Path(output), strip, offsets, task=task, weights=weights, device=device, tile=tile,
                        tags=tags, progress=progress, block_rows=block_rows, context_rows=context_rows)
    try:
        lags = dict(zip(BAND_NAMES, product.datastrip.band_lags(detector)))
    except L1BSRError:
        lags = None
    return {
        "detector": detector,
        "granules": strip.granules,
        "missing_rows": strip.missing_rows,
        "first_row": strip.first_row,
        "coarse_offsets": [o.to_dict() for o in offsets],
        "band_lags_lines": lags,
        "shape": list(shape),
        "blocks": len(plan_row_blocks(strip.shape[0], strip.shape[1], block_rows, context_rows, GRID_ALIGN)),
        "output": str(output),
        "sha256": sha256_of(output),
        "seconds": round(time.perf_counter() - start, 3),
    }
