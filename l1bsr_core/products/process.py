"""An L1B product, detector by detector: strip, coarse alignment, then the chosen task, to GeoTIFF.

Tasks: ``none`` (the coarse alignment only, like the authors' crops), ``registration`` (then the
CSR aligns B, R, NIR onto G) and ``superresolution`` (then REC, 2×). Each detector's output is
``D<dd>.tif``: BGRN uint16 in G's geometry, with the strip's GCPs (pixel coordinates doubled for
the 2× output), written atomically. The networks run tile by tile (:mod:`l1bsr_core.inference`).
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

from ..bands import BAND_NAMES, SCALE_FACTOR
from ..errors import InputError, L1BSRError, one_line
from ..jobs import TASKS
from ..outputs import atomic_output, sha256_of
from .coarse import apply_offsets, measure_offsets
from .layout import ProductFiles, find_product
from .metadata import DatastripMetadata, parse_datastrip
from .strips import Granule, check_band_files, list_granules, read_strip

PRODUCT_TASKS = ("none", *TASKS)
"""``none`` (the coarse alignment only) and the command line's tasks."""
GEOTIFF_OPTIONS = {"driver": "GTiff", "tiled": True, "blockxsize": 256, "blockysize": 256,
                   "compress": "deflate", "predictor": 2, "interleave": "pixel", "BIGTIFF": "IF_SAFER"}
WRITE_ROWS = 1024
"""Rows written to the GeoTIFF at a time."""


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


def aligned_strip(product: OpenProduct, detector: int):
    """(strip, offsets): the detector's strip with B, R, NIR coarsely aligned to G."""
    strip = read_strip(product.granules, detector)
    offsets = measure_offsets(strip.bgrn)
    apply_offsets(strip.bgrn, offsets)
    return strip, offsets


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


def write_strip(path: Path, bgrn: np.ndarray, gcps, crs, *, task: str = "none", weights=None, device="cpu",
                tile=None, tags: dict | None = None, progress=None) -> tuple:
    """Run ``task`` on an (H, W, 4) uint16 BGRN strip and write the result as a tiled GeoTIFF with
    GCPs (pixel coordinates scaled for a 2× output), atomically. Returns the output's shape.

    The task runs on the whole strip at once (the networks tile it inside, and the CSR fuses one
    flow grid over the whole strip): cutting the strip into chunks of rows changed NIR's flows far
    from the seams (up to 100 DN), so it is not done.
    """
    scale = SCALE_FACTOR if task == "superresolution" else 1
    result = run_task(bgrn, task, weights=weights, device=device, tile=tile, progress=progress)
    with atomic_output(path) as temp:
        try:
            with _open_geotiff(temp, result.shape[0], result.shape[1], gcps, crs, scale, tags or {}) as dataset:
                for rows in range(0, result.shape[0], WRITE_ROWS):  # no full-size planar copy
                    block = result[rows:rows + WRITE_ROWS]
                    dataset.write(np.moveaxis(block, -1, 0), window=Window(0, rows, block.shape[1], block.shape[0]))
        except RasterioError as error:
            raise InputError(f"cannot write {path}: {one_line(error)}") from error
    return result.shape


def run_task(bgrn: np.ndarray, task: str, *, weights=None, device="cpu", tile=None, progress=None) -> np.ndarray:
    """The task on a coarsely aligned strip (``none`` returns it as it is)."""
    if task == "none":
        return bgrn
    from .. import inference  # torch: only when a network runs

    if task == "registration":
        return inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress)[0]
    if task == "superresolution":
        return inference.superresolve(bgrn, weights=weights, device=device, tile=tile, progress=progress)
    raise InputError(f"task {task!r} is not one of {', '.join(PRODUCT_TASKS)}")


def process_detector(product, detector: int, output, task: str, *, weights=None, device="cpu", tile=None,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Strip, coarse alignment and ``task`` for one detector; the GeoTIFF at ``output``; its record.

    ``product`` is a path or an :class:`OpenProduct`. The record (JSON-able) holds the granules
    used, the rows of missing ones, the coarse offsets per band (measured and applied), the
    band lags from the datastrip's time stamps, the output's shape and sha256, and seconds.
    """
    start = time.perf_counter()
    if not isinstance(product, OpenProduct):
        product = open_product(product)
    if task not in PRODUCT_TASKS:
        raise InputError(f"task {task!r} is not one of {', '.join(PRODUCT_TASKS)}")
    strip, offsets = aligned_strip(product, detector)
    tags = {"L1BSR_TASK": task, "L1BSR_DETECTOR": str(detector), "DATASTRIP_ID": product.datastrip.datastrip_id}
    shape = write_strip(Path(output), strip.bgrn, strip.gcps, strip.crs, task=task, weights=weights, device=device,
                        tile=tile, tags=tags, progress=progress)
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
        "output": str(output),
        "sha256": sha256_of(output),
        "seconds": round(time.perf_counter() - start, 3),
    }
