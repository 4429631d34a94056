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
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.windows import Window

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


def _open_granule(granule: Granule):
    """The granule's GDAL dataset; InputError (naming the failing band file) when it does not open."""
    try:
        return rasterio.open(granule.gdal_path)
    except RasterioError as error:
        raise _decode_error(granule, error) from error


def _decode_error(granule: Granule, error: RasterioError) -> InputError:
    return InputError(f"granule {granule.files.name} does not decode: "
                      f"{_failing_file(granule) or _gdal_message(error)}")


def granule_georeference(granule: Granule) -> tuple[list[GroundControlPoint], object]:
    """The granule's GCPs and their CRS (no pixel read)."""
    with _open_granule(granule) as dataset:
        gcps, crs = dataset.gcps
    return list(gcps), crs


def read_granule(granule: Granule, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
    """(rows, cols, 4) uint16 BGRN pixels of one granule (by default all of them).

    ``rows`` and ``cols`` (slices with step 1, clipped to the granule) select a window: only
    that window is decoded.

    Raises:
        InputError: when GDAL cannot open or decode the granule (says which, and why).
    """
    name = granule.files.name
    expected = (granule.metadata.rows, granule.metadata.cols)
    (y0, y1, _), (x0, x1, _) = rows.indices(expected[0]), cols.indices(expected[1])
    try:
        with _open_granule(granule) as dataset:
            if (dataset.height, dataset.width) != expected:
                raise InputError(f"granule {name} has pixels of {(dataset.height, dataset.width)}; "
                                 f"expected {expected}")
            order = _bgrn_order(dataset.descriptions)
            pixels = dataset.read(order, window=Window(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0)))
    except RasterioError as error:
        raise _decode_error(granule, error) from error
    if pixels.dtype != np.uint16:
        raise InputError(f"granule {name} has {pixels.dtype} pixels; expected uint16")
    return np.moveaxis(pixels, 0, -1)


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


GRANULES_KEPT = 2
"""Decoded granules a :class:`StripSource` keeps (about 47 MB each at 2304 × 2552 px): a block of
rows and its context straddle two or three granules, and a pass over the strip (the coarse offsets' blocks,
the band means, the blocks of rows) then decodes each granule once instead of once per window
that touches it. JPEG 2000 decodes little faster by windows: 300 rows of a granule took 1.0 s,
a 512 × 512 window 0.22 s, the whole granule 1.2 s; the coarse offsets read 12 windows a granule."""


def detector_granules(granules: list[Granule], detector: int) -> list[Granule]:
    """The granules of ``detector``, along track (by first row).

    Raises:
        InputError: when it has none, they differ in width, or two of them share rows (a strip read
            up or down would then take those rows from different granules).
    """
    own = sorted((g for g in granules if g.metadata.detector == detector), key=lambda g: g.metadata.first_row)
    if not own:
        raise InputError(f"the product has no granule of detector {detector}")
    cols = {g.metadata.cols for g in own}
    if len(cols) != 1:
        raise InputError(f"detector {detector}'s granules differ in width {sorted(cols)}; expected one width")
    for above, below in zip(own, own[1:]):
        end = above.metadata.first_row + above.metadata.rows
        if below.metadata.first_row < end:
            shared_end = min(end, below.metadata.first_row + below.metadata.rows)
            raise InputError(
                f"detector {detector}'s granules {above.files.name} and {below.files.name} share datastrip rows "
                f"{below.metadata.first_row + 1}–{shared_end} (POSITION is 1-based); expected each granule to "
                f"start after the previous one ends")
    return own


def strip_size(own: list[Granule]) -> tuple[int, int]:
    """(rows, cols) of the strip one detector's granules (:func:`detector_granules`) stack into, from
    their metadata alone: from the first granule's first line to the last granule's last."""
    first, last = own[0].metadata, own[-1].metadata
    return last.first_row + last.rows - first.first_row, first.cols


class StripSource:
    """One detector's strip, read on demand: any rows (and columns) of the stacked granules.

    ``source[rows, cols]`` (slices) and :meth:`read` decode only the granules that the rows cover,
    each whole, and keep the last :data:`GRANULES_KEPT` decoded, so a strip of any length is
    processed in bounded memory. A read that starts above the previous one (a pass going up the
    strip) visits its granules bottom up, so the granule decoded last is the one the next read
    needs: a read straddles up to three granules (a block, its context and the coarse offsets'
    reach), and in strip order it would evict one the next read needs. Pixels: (rows, cols, 4)
    uint16 BGRN; rows of granules the product lacks are no-data (0). Not thread-safe: one source
    per thread (the kept granules are shared state). A granule that does not decode fails every
    read that touches it.
    """

    def __init__(self, granules: list[Granule], detector: int):
        own = detector_granules(granules, detector)
        self.detector = detector
        self.own = own
        self.first_row = own[0].metadata.first_row
        """0-based datastrip row of the strip's first line."""
        self.shape = (*strip_size(own), len(BAND_NAMES))
        covered = np.zeros(self.shape[0], bool)
        for granule in own:
            start = self.start_of(granule)
            covered[start:start + granule.metadata.rows] = True
        self.missing_rows = _gaps(covered)
        """(start, stop) strip rows of granules the product lacks (filled with no-data)."""
        self._decoded: OrderedDict[str, np.ndarray] = OrderedDict()
        self._last_start = 0
        """The first row of the previous read: where a read starts against it gives the pass's direction."""
        self.gcps: list[GroundControlPoint] = []
        self.crs = None
        for granule in own:
            gcps, self.crs = granule_georeference(granule)
            start = self.start_of(granule)
            self.gcps += [GroundControlPoint(row=p.row + start, col=p.col, x=p.x, y=p.y, z=p.z) for p in gcps]

    @property
    def granules(self) -> list[str]:
        return [g.files.name for g in self.own]

    def start_of(self, granule: Granule) -> int:
        """The strip row of the granule's first line."""
        return granule.metadata.first_row - self.first_row

    def read(self, start: int, stop: int, cols: slice = slice(None)) -> np.ndarray:
        """Strip rows ``start … stop − 1`` (clipped to the strip), columns ``cols``: (rows, cols, 4) uint16 BGRN."""
        start, stop = max(start, 0), min(stop, self.shape[0])
        x0, x1, _ = cols.indices(self.shape[1])
        out = np.full((max(stop - start, 0), max(x1 - x0, 0), len(BAND_NAMES)), NO_DATA, np.uint16)
        upward, self._last_start = start < self._last_start, start
        for granule in reversed(self.own) if upward else self.own:
            g0 = self.start_of(granule)
            y0, y1 = max(start, g0), min(stop, g0 + granule.metadata.rows)
            if y0 < y1:
                out[y0 - start:y1 - start] = self._granule(granule)[y0 - g0:y1 - g0, x0:x1]
        return out

    def _granule(self, granule: Granule) -> np.ndarray:
        """The whole granule decoded, from the last :data:`GRANULES_KEPT` decoded or decoded now."""
        name = granule.files.name
        if name in self._decoded:
            self._decoded.move_to_end(name)
            return self._decoded[name]
        while len(self._decoded) >= GRANULES_KEPT:
            self._decoded.popitem(last=False)
        self._decoded[name] = pixels = read_granule(granule)
        return pixels

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if not isinstance(rows, slice) or not isinstance(cols, slice) or (rows.step or 1) != 1:
            raise TypeError("a strip source is indexed by slices of rows and columns (step 1)")
        start, stop, _ = rows.indices(self.shape[0])
        return self.read(start, stop, cols)


def read_strip(granules: list[Granule], detector: int) -> DetectorStrip:
    """Stack a detector's granules along track (rows), gaps of missing granules left as no-data: the
    whole strip in memory (see :class:`StripSource` to read it by rows)."""
    source = StripSource(granules, detector)
    return DetectorStrip(detector, source.read(0, source.shape[0]), source.first_row, source.gcps, source.crs,
                         source.granules, source.missing_rows)


def _gaps(covered: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.r_[1, covered.astype(np.int8), 1]))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
