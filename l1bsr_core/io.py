"""Read, validate and write BGRN TIFF crops.

In memory a crop is always a C-contiguous (H, W, 4) ``uint16`` array of L1B digital numbers,
band axis last, in the order of :data:`l1bsr_core.bands.BAND_NAMES` (B, G, R, NIR =
Sentinel-2 B2, B3, B4, B8). On disk it may be *interleaved* (one page, samples of a pixel
together, array shape (H, W, 4)) or *planar* (bands stored one after the other: a
``PlanarConfiguration = separate`` page, or a stack of four single-band pages; shape (4, H, W)).

:func:`read_bgrn` returns the pixels and a :class:`TiffInfo` (layout and carried-over tags);
:func:`write_bgrn` writes an array "like" that input, with the georeferencing rescaled when the
output has ``scale`` times more pixels per side. Every problem with an input raises
:class:`~l1bsr_core.errors.InputError` with a one-line message saying what was found and what
was expected; headers are checked before any pixel data is read. Writes are atomic, to checked
names (:mod:`l1bsr_core.outputs`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from . import geotiff
from .arrays import to_uint16
from .bands import BAND_NAMES, DN_MAX, N_BANDS, SENTINEL2_BANDS
from .errors import InputError, one_line
from .outputs import TIFF_SUFFIXES, atomic_output, check_suffix
from .tiff_rows import RowWriter

log = logging.getLogger(__name__)

__all__ = [
    "INTERLEAVED",
    "PLANAR",
    "MIN_SIZE_PX",
    "MAX_PIXELS",
    "TiffInfo",
    "read_bgrn",
    "read_bgrn_array",
    "validate_bgrn",
    "write_bgrn",
]

INTERLEAVED = "interleaved"
"""Layout (H, W, 4): the four samples of a pixel are stored together."""

PLANAR = "planar"
"""Layout (4, H, W): each band is stored as a whole plane."""

LAYOUTS = (INTERLEAVED, PLANAR)

MIN_SIZE_PX = 32
"""Smallest height and width accepted, in pixels (the shipped CSR needs 16 px for a correlation
window; the published and Lucas–Kanade CSRs pad up to their 16 and 32 px blocks)."""

MAX_PIXELS = 100_000_000
"""Largest image accepted, in pixels (H × W); checked from the header before reading pixels."""

BAND_ORDER_TEXT = (
    f"{N_BANDS} bands in the order {', '.join(BAND_NAMES)} "
    f"(Sentinel-2 {', '.join(SENTINEL2_BANDS)})"
)
SHAPE_TEXT = f"one image of shape (H, W, {N_BANDS}) or ({N_BANDS}, H, W)"
DTYPE_TEXT = f"uint16 L1B digital numbers (0 to {DN_MAX})"

# --- TIFF tags -------------------------------------------------------------------------------

IMAGE_DESCRIPTION = 270
DESCRIPTIVE_TAGS = (
    269,  # DocumentName
    IMAGE_DESCRIPTION,
    271,  # Make
    272,  # Model
    285,  # PageName
    305,  # Software
    306,  # DateTime
    315,  # Artist
    316,  # HostComputer
    33432,  # Copyright
    geotiff.GDAL_METADATA,
    42113,  # GDAL_NODATA
)
"""Non-structural tags carried from input to output as they are."""

CARRIED_TAGS = geotiff.GEOTIFF_TAGS + DESCRIPTIVE_TAGS

ASCII = 2
"""TIFF data type code of text tags (tifffile computes their count itself when given 0)."""

X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT = 282, 283, 296
RESOLUTION_UNIT_NONE = 1
"""TIFF ResolutionUnit 1: no absolute unit (the resolution only gives an aspect ratio)."""

# --- recognising files -------------------------------------------------------------------

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
"""Classic TIFF and BigTIFF headers, little and big endian."""

OTHER_FORMATS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xffO\xffQ", "a JPEG 2000 codestream"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"RIFF", "a RIFF file (WebP image?)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5/NetCDF file"),
)
SNIFF_BYTES = 16


TIFFFILE_LOGGER = "tifffile"
"""The logger tifffile reports the damage it works around on (bad offsets, unreadable tags)."""


@dataclass(frozen=True)
class TiffInfo:
    """What is kept from an input TIFF to write an output alike.

    Attributes:
        layout: :data:`INTERLEAVED` (stored as (H, W, 4)) or :data:`PLANAR` (stored as (4, H, W)).
        extratags: tifffile ``extratags`` tuples ``(code, dtype, count, value, writeonce)`` of the
            tags carried over: GeoTIFF (:data:`l1bsr_core.geotiff.GEOTIFF_TAGS`) and descriptive ones
            (:data:`DESCRIPTIVE_TAGS`). Structural tags (sizes, strips, sample format) never are.
        resolution: ((XResolution), (YResolution)) as (numerator, denominator) pixels per
            unit, or None for tifffile's default (1/1, no unit).
        resolution_unit: TIFF ResolutionUnit code (1 none, 2 inch, 3 centimetre) or None.
    """

    layout: str = INTERLEAVED
    extratags: tuple = ()
    resolution: tuple | None = None
    resolution_unit: int | None = None

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            raise InputError(f"unknown TIFF layout {self.layout!r}; expected one of {', '.join(LAYOUTS)}")

    def tag_value(self, code: int):
        """Value of the carried tag ``code``, or None when it is not carried."""
        for tag in self.extratags:
            if tag[0] == code:
                return tag[3]
        return None

    @property
    def pixel_is_point(self) -> bool:
        """True when the GeoKeys say PixelIsPoint (see :func:`l1bsr_core.geotiff.pixel_is_point`)."""
        return geotiff.pixel_is_point(self.tag_value(geotiff.GEO_KEY_DIRECTORY))


# --- validation ------------------------------------------------------------------------------


def _layout_of(shape: tuple[int, ...], source: str) -> str:
    """Layout of an array or file of ``shape``, or InputError naming what is wrong.

    (H, W, 4) is interleaved, (4, H, W) planar; when both match, interleaved wins. A side
    shorter than :data:`MIN_SIZE_PX` cannot be an image side, so it is taken as the band axis
    when reporting a wrong band count.
    """
    shape = tuple(int(side) for side in shape)
    if len(shape) == 3:
        if shape[-1] == N_BANDS:
            return INTERLEAVED
        if shape[0] == N_BANDS:
            return PLANAR
        band_axis_sizes = [side for side in (shape[-1], shape[0]) if side < MIN_SIZE_PX]
        if band_axis_sizes:
            n_bands = band_axis_sizes[0]
            plural = "band" if n_bands == 1 else "bands"
            raise InputError(f"{source} has {n_bands} {plural}; expected {BAND_ORDER_TEXT}")
    if len(shape) == 2:
        raise InputError(
            f"{source} has 1 band (a single-band {shape[0]}x{shape[1]} image); expected {BAND_ORDER_TEXT}"
        )
    raise InputError(f"{source} has shape {shape}; expected {SHAPE_TEXT}, bands {', '.join(BAND_NAMES)}")


def _check_dtype(dtype, source: str) -> None:
    if dtype is None:
        raise InputError(f"{source} has a sample format numpy cannot hold; expected {DTYPE_TEXT}")
    dtype = np.dtype(dtype)
    if dtype.kind != "u" or dtype.itemsize != np.dtype(np.uint16).itemsize:
        raise InputError(f"{source} is {dtype.name}; expected {DTYPE_TEXT}")


def _check_size(height: int, width: int, source: str) -> None:
    if height < MIN_SIZE_PX or width < MIN_SIZE_PX:
        raise InputError(
            f"{source} is {height}x{width} pixels (H x W); expected at least "
            f"{MIN_SIZE_PX}x{MIN_SIZE_PX}"
        )
    if height * width > MAX_PIXELS:
        raise InputError(
            f"{source} is {height}x{width} pixels ({height * width:,}); expected at most "
            f"{MAX_PIXELS:,} pixels (H x W): cut it into smaller crops"
        )


def _check_header(shape: tuple[int, ...], dtype, source: str) -> str:
    """Check shape and dtype (no pixel data needed); return the layout."""
    layout = _layout_of(shape, source)
    _check_dtype(dtype, source)
    height, width = shape[:2] if layout == INTERLEAVED else shape[1:]
    _check_size(int(height), int(width), source)
    return layout


def validate_bgrn(array: np.ndarray, *, source: str = "array") -> np.ndarray:
    """Check an in-memory BGRN crop and return it as (H, W, 4) uint16, C-contiguous.

    Args:
        array: (H, W, 4) or (4, H, W) ``uint16`` numpy array of L1B digital numbers, bands
            B, G, R, NIR (Sentinel-2 B2, B3, B4, B8). When both readings fit, (H, W, 4) wins.
        source: how to name the array in error messages (a file name, "upload", ...).

    Returns:
        (H, W, 4) native-endian ``uint16`` C-contiguous array: ``array`` itself when it already
        is one, a copy otherwise.

    Raises:
        InputError: one line naming what was found and what was expected (not an array, wrong
            number of dimensions or bands, not uint16, sides under :data:`MIN_SIZE_PX`, more
            than :data:`MAX_PIXELS` pixels).
    """
    if not isinstance(array, np.ndarray):
        raise InputError(
            f"{source} is a {type(array).__name__}; expected a numpy array, {SHAPE_TEXT}, {DTYPE_TEXT}"
        )
    layout = _check_header(array.shape, array.dtype, source)
    if layout == PLANAR:
        array = np.moveaxis(array, 0, -1)
    return np.ascontiguousarray(array, dtype=np.uint16)


# --- reading ---------------------------------------------------------------------------------


def _check_is_tiff_file(path: Path, source: str) -> int:
    """Check that ``path`` is a non-empty file starting like a TIFF; return its size in bytes."""
    if not path.exists():
        raise InputError(f"{source} does not exist; expected a BGRN TIFF file")
    if path.is_dir():
        raise InputError(f"{source} is a folder; expected a BGRN TIFF file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            head = file.read(SNIFF_BYTES)
    except OSError as error:
        raise InputError(f"cannot read {source}: {error.strerror or error}") from error
    if size == 0:
        raise InputError(f"{source} is empty (0 bytes); expected a BGRN TIFF file")
    if head[:4] in TIFF_MAGICS:
        return size
    raise InputError(f"{source} is not a TIFF file (it looks like {_guess_format(head)}); expected a BGRN TIFF file")


def _guess_format(head: bytes) -> str:
    for magic, name in OTHER_FORMATS:
        if head.startswith(magic):
            return name
    stripped = head.lstrip()
    if stripped.startswith(b"<"):
        return "an HTML or XML text file"
    if stripped and all(32 <= byte < 127 or byte in b"\t\r\n" for byte in stripped):
        return "a text file"
    return "some other format"


def _main_series(tif: tifffile.TiffFile, source: str) -> tifffile.TiffPageSeries:
    """The one image of the file; masks and reduced-resolution copies are ignored."""
    images = [
        series
        for series in tif.series
        if not (series.keyframe.is_mask or series.keyframe.is_reduced)
    ]
    if not images:
        raise InputError(f"{source} holds no image; expected {SHAPE_TEXT}")
    if len(images) > 1:
        shapes = ", ".join(str(tuple(series.shape)) for series in images)
        raise InputError(f"{source} holds {len(images)} images of shapes {shapes}; expected {SHAPE_TEXT}")
    return images[0]


def _check_pixel_data_in_file(series: tifffile.TiffPageSeries, file_size: int, source: str) -> None:
    """Refuse a truncated or corrupt file from its strip/tile offsets and byte counts.

    tifffile may return zeros instead of failing when pixel data lies past the end of the file.
    """
    keyframe = series.keyframe
    uncompressed = keyframe.compression == tifffile.COMPRESSION.NONE
    for page in series.pages:
        if page is None:
            raise InputError(
                f"{source} is truncated or corrupt (pages are missing); expected a complete BGRN TIFF file"
            )
        offsets, counts = page.dataoffsets, page.databytecounts
        data_end = max((offset + count for offset, count in zip(offsets, counts)), default=0)
        if data_end > file_size:
            raise InputError(
                f"{source} is truncated: its pixel data should end at byte {data_end:,} but the file "
                f"has {file_size:,} bytes; expected a complete BGRN TIFF file"
            )
        if uncompressed and all(counts) and sum(counts) < keyframe.nbytes:
            raise InputError(
                f"{source} is corrupt: its header declares {keyframe.nbytes:,} bytes of pixel data "
                f"per page but the file holds {sum(counts):,}; expected a complete BGRN TIFF file"
            )


def _carried_tags(page: tifffile.TiffPage) -> tuple:
    """tifffile extratags tuples for the :data:`CARRIED_TAGS` of ``page``."""
    carried = []
    for tag in page.tags:
        if tag.code not in CARRIED_TAGS:
            continue
        value = tag.value
        if isinstance(value, np.ndarray):
            value = tuple(value.tolist())
        if tag.code == IMAGE_DESCRIPTION and _is_format_metadata(value):
            continue
        count = 0 if int(tag.dtype) == ASCII else tag.count
        carried.append((tag.code, int(tag.dtype), count, value, True))
    return tuple(carried)


def _is_format_metadata(description) -> bool:
    """True for descriptions that tifffile, ImageJ or OME write about the array layout.

    They describe the input's shape and would be wrong in an output of another size.
    """
    if not isinstance(description, str):
        return False
    text = description.lstrip()
    if text.startswith("ImageJ=") or "<OME" in text[:1000]:
        return True
    try:
        parsed = json.loads(text)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "shape" in parsed


def _tiff_info(page: tifffile.TiffPage, layout: str) -> TiffInfo:
    tags = page.tags
    resolution = resolution_unit = None
    x_res, y_res, unit = (tags.get(code) for code in (X_RESOLUTION, Y_RESOLUTION, RESOLUTION_UNIT))
    if x_res is not None and y_res is not None:
        resolution = (tuple(x_res.value), tuple(y_res.value))
        resolution_unit = int(unit.value) if unit is not None else None
    return TiffInfo(
        layout=layout,
        extratags=_carried_tags(page),
        resolution=resolution,
        resolution_unit=resolution_unit,
    )


def read_bgrn(path) -> tuple[np.ndarray, TiffInfo]:
    """Read a BGRN TIFF crop.

    Accepts interleaved (H, W, 4) pages, ``planarconfig=separate`` pages and stacks of four
    single-band pages (4, H, W); the header (layout, dtype, size, where the pixel data lies)
    is checked before any pixel is read.

    Args:
        path: a TIFF file of ``uint16`` L1B digital numbers, bands B, G, R, NIR
            (Sentinel-2 B2, B3, B4, B8).

    Returns:
        ``(array, info)``: ``array`` is (H, W, 4) ``uint16`` C-contiguous in band order
        B, G, R, NIR, whatever the layout on disk; ``info`` is a :class:`TiffInfo` for
        :func:`write_bgrn` ``(like=info)``.

    Raises:
        InputError: one line, for a missing path, a folder, an empty file, another format
            renamed .tif, a truncated or corrupt file, a wrong shape, band count or dtype, an
            image under :data:`MIN_SIZE_PX` or over :data:`MAX_PIXELS`. What tifffile logs
            about a damaged file is folded into that line (it never reaches stderr by itself);
            for a file that is read, it goes to this module's logger at debug level.
    """
    source = os.fspath(path)
    path = Path(source)
    file_size = _check_is_tiff_file(path, source)
    with tifffile_messages() as complaints:
        try:
            array, info = _read_tiff(path, file_size, source)
        except InputError as error:
            if not complaints:
                raise
            raise InputError(f"{error} ({_summarise_complaints(complaints)})") from error
    if complaints:
        log.debug("%s read despite tifffile's complaints: %s", source, "; ".join(complaints))
    return validate_bgrn(array, source=source), info


def _read_tiff(path: Path, file_size: int, source: str) -> tuple[np.ndarray, TiffInfo]:
    """The pixels (as stored) and :class:`TiffInfo` of the one image of a TIFF file, header checked first."""
    try:
        with tifffile.TiffFile(path) as tif:
            series = _main_series(tif, source)
            layout = _check_header(series.shape, series.dtype, source)
            _check_pixel_data_in_file(series, file_size, source)
            info = _tiff_info(series.keyframe, layout)
            array = series.asarray()
    except InputError:
        raise
    except Exception as error:  # tifffile raises many types on corrupt input; none may escape
        raise InputError(
            f"{source} is not a readable TIFF file ({one_line(error)}); expected a BGRN TIFF file"
        ) from error
    if tuple(array.shape) != tuple(series.shape):
        raise InputError(f"{source} is corrupt: read shape {array.shape}, header says {tuple(series.shape)}")
    return array, info


class _ThreadLog(logging.Handler):
    """Collects the messages logged by the thread that created it (the app reads files in many)."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(one_line(record.getMessage()))


@contextlib.contextmanager
def tifffile_messages() -> Iterator[list[str]]:
    """Collect what tifffile logs in this thread meanwhile, instead of it reaching stderr.

    tifffile logs each problem it works around in a damaged file; with no handler of its own
    configured, Python would print every one of them on stderr. While this handler is attached,
    none is printed by that last-resort route.
    """
    handler = _ThreadLog()
    logger = logging.getLogger(TIFFFILE_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _summarise_complaints(messages: list[str]) -> str:
    """'tifffile: FIRST PROBLEM (and N more)', without tifffile's ``<object @offset>`` prefixes."""
    first = re.sub(r"<[^<>]*>\s*", "", messages[0])
    raised = re.fullmatch(r"raised \w+\('(.*)'\)", first)
    first = raised.group(1) if raised else first
    more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
    return f"tifffile: {first}{more}"


def read_bgrn_array(path) -> np.ndarray:
    """Read a BGRN TIFF crop and return only its (H, W, 4) ``uint16`` array (see :func:`read_bgrn`)."""
    return read_bgrn(path)[0]


# --- writing ---------------------------------------------------------------------------------


def _rescaled_resolution(info: TiffInfo, scale: float) -> dict:
    """tifffile ``resolution``/``resolutionunit`` arguments, pixels per unit times ``scale``."""
    if info.resolution is None:
        return {}
    unit = RESOLUTION_UNIT_NONE if info.resolution_unit is None else info.resolution_unit
    factor = Fraction(1) if unit == RESOLUTION_UNIT_NONE else Fraction(scale).limit_denominator()
    resolution = tuple(Fraction(*pair) * factor for pair in info.resolution)
    return {
        "resolution": tuple((value.numerator, value.denominator) for value in resolution),
        "resolutionunit": unit,
    }


def write_bgrn(path, array, *, like: TiffInfo | None = None, scale: float = 1,
               tags: dict[str, str] | None = None) -> None:
    """Write a BGRN crop to a TIFF file, atomically.

    Args:
        path: the output file (its folder must exist); replaced if present.
        array: (H, W, 4) numeric array, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8). Values
            are rounded (half to even) and clipped to [0, 65535] (negatives become 0, never
            wrap), then stored as ``uint16``. NaN is refused.
        like: the :class:`TiffInfo` of the input: layout on disk and tags to carry over.
            Default: interleaved, no extra tags.
        scale: how many output pixels per input pixel along each side (2 for a 2x
            super-resolved output). The GeoTIFF pixel size is divided by it (ModelPixelScale
            X and Y, the pixel terms of ModelTransformation); the image corners keep their
            model coordinates (with PixelIsArea the tiepoint is unchanged).
        tags: GDAL metadata items to write (added to those carried from ``like``).

    The file is uncompressed, PhotometricInterpretation MinIsBlack with unspecified extra
    samples (GDAL's convention for 4-band data), BigTIFF when over 4 GB.

    Raises:
        ArgumentError: for a ``path`` whose name does not end in one of :data:`TIFF_SUFFIXES`.
        InputError: one line, for an array of the wrong shape or type, a bad ``scale``, or a
            file that cannot be written. No file and no temporary file is left behind.
    """
    check_suffix(path, TIFF_SUFFIXES)
    info = TiffInfo() if like is None else like
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[-1] != N_BANDS or array.size == 0:
        raise InputError(
            f"the array to write has shape {array.shape}; expected (H, W, {N_BANDS}) "
            f"with bands {', '.join(BAND_NAMES)}"
        )
    options = _write_options(info, scale, tags)
    data = to_uint16(array)
    if info.layout == PLANAR:
        data = np.ascontiguousarray(np.moveaxis(data, -1, 0))
    source = os.fspath(path)
    with atomic_output(path) as temp:
        try:
            tifffile.imwrite(temp, data, **options)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot write {source}: {one_line(error)}") from error


def _write_options(info: TiffInfo, scale: float, items: dict[str, str] | None = None) -> dict:
    """tifffile ``imwrite`` arguments of a BGRN TIFF written like ``info``'s, ``scale`` times finer,
    with GDAL metadata ``items`` (e.g. the input's level, :meth:`~l1bsr_core.domain.InputDomain.tags`).

    Raises:
        InputError: for a ``scale`` that is not a positive number.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise InputError(f"scale is {scale!r}; expected a positive number of output pixels per input pixel")
    extratags = geotiff.rescaled_tags(info.extratags, scale, pixel_is_point=info.pixel_is_point)
    return dict(
        photometric="minisblack",
        planarconfig="separate" if info.layout == PLANAR else "contig",
        metadata=None,
        software=False,
        extratags=geotiff.with_metadata_items(extratags, items),
        **_rescaled_resolution(info, scale),
    )


@contextlib.contextmanager
def write_bgrn_rows(path, height: int, width: int, *, like: TiffInfo | None = None,
                    scale: float = 1, tags: dict[str, str] | None = None) -> Iterator[RowWriter]:
    """Write a BGRN TIFF of ``height`` × ``width`` px band of rows by band of rows, atomically.

    The same file as :func:`write_bgrn` of the whole image writes (layout, tags, georeferencing
    ``scale``), but only one band of rows is held in memory: the caller assigns tiles
    ``writer[rows, cols] = tile`` ((rows, cols, 4) uint16) in row-major order (see
    :class:`~l1bsr_core.tiff_rows.RowWriter`). The file appears at ``path`` only when the
    block ends normally with every pixel written; otherwise nothing is left behind.

    Raises:
        ArgumentError: for a ``path`` whose name does not end in one of :data:`TIFF_SUFFIXES`.
        InputError: one line, for a bad ``scale`` or when the file cannot be written.
    """
    check_suffix(path, TIFF_SUFFIXES)
    info = TiffInfo() if like is None else like
    options = _write_options(info, scale, tags)
    shape = (N_BANDS, height, width) if info.layout == PLANAR else (height, width, N_BANDS)
    source = os.fspath(path)
    with atomic_output(path) as temp:
        try:
            tifffile.imwrite(temp, None, shape=shape, dtype=np.uint16, **options)
            with tifffile.TiffFile(temp) as tif:
                page = tif.pages[0]
                block = (page.is_contiguous, page.dataoffsets[0], sum(page.databytecounts))
            file = open(temp, "r+b")
        except (OSError, ValueError) as error:
            raise InputError(f"cannot write {source}: {one_line(error)}") from error
        with file:
            contiguous, offset, size = block
            if not contiguous or size != np.dtype(np.uint16).itemsize * height * width * N_BANDS:
                raise InputError(f"cannot write {source}: tifffile did not lay its pixels out in one block")
            writer = RowWriter(file, offset, height, width, planar=info.layout == PLANAR, source=source)
            yield writer
            writer.close()
