"""Detector strips: one detector's granules stacked along track, in BGRN order, read through GDAL.

GDAL's SENTINEL2 driver opens a granule as ``SENTINEL2_L1B:<granule metadata>:10m``: a 4-band
uint16 stack in the order B4, B3, B2, B8 (this module reorders it to B, G, R, NIR by the bands'
descriptions) with GCPs at the granule's corners. It applies no band or detector alignment.
Granules are placed at their ``Granule_Position``; rows of a granule missing from the product
(listed by the datastrip, not delivered) are no-data (0).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from ..bands import BAND_NAMES, NO_DATA
from ..errors import InputError, one_line
from .layout import GranuleFiles, ProductFiles
from .metadata import GranuleMetadata, parse_granule

GDAL_BAND_NAMES = {"B2": "B", "B3": "G", "B4": "R", "B8": "NIR"}
"""GDAL band description prefix → our band name."""


@dataclass(frozen=True)
class Granule:
    files: GranuleFiles
    metadata: GranuleMetadata

    @property
    def gdal_path(self) -> str:
        return f"SENTINEL2_L1B:{self.files.metadata}:10m"


@dataclass
class DetectorStrip:
    """One detector's strip: (rows, cols, 4) uint16 BGRN, and where it lies."""

    detector: int
    bgrn: np.ndarray = field(repr=False)
    first_row: int
    """0-based datastrip row of the strip's first line."""
    gcps: list[GroundControlPoint] = field(repr=False)
    crs: object
    granules: list[str]
    missing_rows: list[tuple[int, int]] = field(default_factory=list)
    """(start, stop) strip rows of granules the product lacks (filled with no-data)."""


def list_granules(product: ProductFiles) -> list[Granule]:
    """Every granule of the product with its parsed metadata (no pixel read)."""
    granules = []
    for files in product.granules:
        metadata = parse_granule(product.read_bytes(files.metadata), files.metadata)
        granules.append(Granule(_gdal_files(product, files), metadata))
    return granules


def _gdal_files(product: ProductFiles, files: GranuleFiles) -> GranuleFiles:
    return GranuleFiles(files.name, product.gdal_path(files.metadata), tuple(product.gdal_path(b) for b in files.bands))


def check_band_files(product: ProductFiles, granules) -> None:
    """InputError naming the first BGRN band file (B02, B03, B04, B08) a granule lacks."""
    for files in product.granules:
        if files.name not in granules:
            continue
        for band in files.bands:
            if not product.exists(band):
                raise InputError(f"granule {files.name} lacks its band file {band.rsplit('/', 1)[-1]}; expected the "
                                 f"four 10 m JPEG 2000 files B02, B03, B04, B08 in IMG_DATA")


def _bgrn_order(descriptions) -> list[int]:
    """1-based GDAL band indexes of B, G, R, NIR, from descriptions like 'B4, central wavelength 665 nm'."""
    names = [GDAL_BAND_NAMES.get((d or "").split(",")[0].strip()) for d in descriptions]
    try:
        return [names.index(band) + 1 for band in BAND_NAMES]
    except ValueError as error:
        raise InputError(f"GDAL gave bands {list(descriptions)}; expected B2, B3, B4, B8") from error


def read_granule(granule: Granule) -> tuple[np.ndarray, list[GroundControlPoint], object]:
    """(rows, cols, 4) uint16 BGRN pixels of one granule, its GCPs and their CRS.

    Raises:
        InputError: when GDAL cannot open or decode the granule (says which, and why).
    """
    name = granule.files.name
    try:
        with rasterio.open(granule.gdal_path) as dataset:
            order = _bgrn_order(dataset.descriptions)
            pixels = dataset.read(order)
            gcps, crs = dataset.gcps
    except RasterioError as error:
        raise InputError(f"granule {name} does not decode: {_failing_file(granule) or _gdal_message(error)}") from error
    expected = (granule.metadata.rows, granule.metadata.cols)
    if pixels.shape[1:] != expected or pixels.dtype != np.uint16:
        raise InputError(f"granule {name} has {pixels.dtype} pixels of {pixels.shape[1:]}; expected uint16 {expected}")
    return np.moveaxis(pixels, 0, -1), list(gcps), crs


def _failing_file(granule: Granule) -> str | None:
    """'<band file>: <GDAL's reason>' for the first band file of a granule that does not decode alone."""
    for band in granule.files.bands:
        try:
            with warnings.catch_warnings():  # a band file alone has no georeferencing: expected
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                dataset = rasterio.open(band)
            with dataset:
                dataset.read(1)
        except RasterioError as error:
            return f"{band.rsplit('/', 1)[-1]}: {_gdal_message(error)}"
    return None


def _gdal_message(error: BaseException) -> str:
    """GDAL's own reason (rasterio chains it as the cause), paths shortened to file names."""
    message = one_line(error.__cause__ or error)
    return re.sub(r"[`'\"]?(?:/[^/\s`'\"]+)+/([^/\s`'\"]+)[`'\"]?", r"\1", message)


def read_strip(granules: list[Granule], detector: int) -> DetectorStrip:
    """Stack a detector's granules along track (rows), gaps of missing granules left as no-data."""
    own = sorted((g for g in granules if g.metadata.detector == detector), key=lambda g: g.metadata.first_row)
    if not own:
        raise InputError(f"the product has no granule of detector {detector}")
    cols = {g.metadata.cols for g in own}
    if len(cols) != 1:
        raise InputError(f"detector {detector}'s granules differ in width {sorted(cols)}; expected one width")
    first = own[0].metadata.first_row
    rows = own[-1].metadata.first_row + own[-1].metadata.rows - first
    bgrn = np.full((rows, cols.pop(), len(BAND_NAMES)), NO_DATA, np.uint16)
    covered = np.zeros(rows, bool)
    strip_gcps, crs = [], None
    for granule in own:
        pixels, gcps, crs = read_granule(granule)
        start = granule.metadata.first_row - first
        bgrn[start:start + pixels.shape[0]] = pixels
        covered[start:start + pixels.shape[0]] = True
        strip_gcps += [GroundControlPoint(row=p.row + start, col=p.col, x=p.x, y=p.y, z=p.z) for p in gcps]
    return DetectorStrip(detector, bgrn, first, strip_gcps, crs, [g.files.name for g in own], _gaps(covered))


def _gaps(covered: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[1, covered.astype(np.int8), 1]))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
