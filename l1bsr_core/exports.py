"""4-band GeoTIFF exports of L1C/L2A imagery (Copernicus Browser, CDSE, STAC tools), read through GDAL.

An export holds Sentinel-2 B02, B03, B04, B08 (blue, green, red, NIR; this project's band order
B, G, R, NIR) on a map grid, as

* float32 (or float64) **reflectance**, about 0–1 (Copernicus Browser's "Analytical, 32-bit float"):
  no-data is NaN or the file's declared no-data value; without one, a pixel whose four bands are
  all exactly 0 (nothing measured);
* uint16 **digital numbers** ``reflectance = (DN + offset) / 10000``, 0 no-data. The offset is read
  from the file when it says it: GDAL band scale/offset (``1e-4`` / ``-0.1`` means −1000), or a
  ``BOA_ADD_OFFSET`` / ``RADIO_ADD_OFFSET`` metadata item. A file that says nothing is taken as
  offset 0 (what Copernicus Browser and Sentinel Hub deliver by default: "harmonized" values)
  unless the caller says otherwise; the description of the radiometry says "assumed".

Band names in the file (band descriptions "B02"/"B2"…) are used to reorder the bands when present;
without them the file order is taken as B02, B03, B04, B08. A 3-band (true colour) export, an 8-bit
one, or bands that are not the four 10 m ones get a one-line error that says which export to choose.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from .bands import N_BANDS
from .domain import CO_REGISTERED_LEVELS, DECLARABLE_LEVELS, L1B, L1C, L2A, ORTHO, TAG_LEVEL, UNKNOWN, InputDomain
from .errors import InputError, one_line
from .georaster import OpenBands
from .radiometry import QUANTIFICATION, Radiometry

EXPORT_BANDS = ("B02", "B03", "B04", "B08")
"""The bands of a usable export, in this project's order B, G, R, NIR."""
HOW_TO_EXPORT = ("export the 4 bands B02, B03, B04, B08 as float32 reflectance or uint16 "
                 "(Copernicus Browser: Download, Analytical, TIFF 32-bit float, bands B02 B03 B04 B08)")
OFFSET_TAGS = ("BOA_ADD_OFFSET", "RADIO_ADD_OFFSET")
LEVEL_TAGS = ("PROCESSING_LEVEL", TAG_LEVEL)
MAX_REFLECTANCE = 3.0
"""Largest plausible float reflectance (bright clouds and snow reach about 1.5–2): above it the
floats are digital numbers stored as float, which the file would then have to say."""
SAMPLE_PIXELS = 1 << 20
"""Pixels read to check a float export's range (a decimated view of the whole file)."""


def _band_number(description: str | None) -> str | None:
    """``"B02"`` for descriptions like "B2", "B02", "B02 (blue)", "b8" (``"B8A"`` for "B8A"); None otherwise."""
    match = re.match(r"\s*B(\d{1,2}A?)\b", description or "", re.IGNORECASE)
    if match is None:
        return None
    number = match.group(1).upper()
    return f"B{int(number[:-1])}A" if number.endswith("A") else f"B{int(number):02d}"


def _band_order(dataset, source: str) -> list[int]:
    """1-based GDAL band numbers of B02, B03, B04, B08 (file order when bands are unnamed)."""
    if dataset.count == 3:
        raise InputError(f"{source} has 3 bands (a true-colour or other visual export?); expected "
                         f"4 bands: {HOW_TO_EXPORT}")
    if dataset.count != N_BANDS:
        raise InputError(f"{source} has {dataset.count} bands; expected 4: {HOW_TO_EXPORT}")
    names = [_band_number(text) for text in dataset.descriptions]
    if not any(names):
        return [1, 2, 3, 4]
    if sorted(n or "" for n in names) != sorted(EXPORT_BANDS):
        raise InputError(f"{source} holds bands {', '.join(n or '?' for n in names)}; expected "
                         f"{', '.join(EXPORT_BANDS)}: {HOW_TO_EXPORT}")
    return [names.index(band) + 1 for band in EXPORT_BANDS]


def _declared_offset(dataset) -> float | None:
    """The DN offset the file declares (GDAL scale/offset or an offset metadata item), or None."""
    scales, offsets = set(dataset.scales), set(dataset.offsets)
    if len(scales) == 1 and len(offsets) == 1:
        scale, offset = scales.pop(), offsets.pop()
        if scale and not math.isclose(scale, 1.0) and math.isclose(scale, 1 / QUANTIFICATION, rel_tol=1e-3):
            return round(offset / scale)
    tags = dataset.tags()
    for band in range(1, dataset.count + 1):
        tags.update(dataset.tags(band))
    for name in OFFSET_TAGS:
        if name in tags:
            try:
                return float(tags[name])
            except ValueError:
                continue
    return None


def stated_level(tags: dict[str, str]) -> tuple[str, str] | None:
    """``(level, tag name)`` of the level a raster's GDAL tags (:data:`LEVEL_TAGS`) state, e.g.
    ``("L2A", "PROCESSING_LEVEL")`` for ``Level-2A``, ``ORTHO`` ("L1C/L2A", which ``--level l1c`` or
    ``l2a`` may refine) for this project's outputs of exports of unknown level; None when they state none."""
    for name in LEVEL_TAGS:
        value = tags.get(name, "").upper().replace("LEVEL-", "L")
        if value == ORTHO:  # this project's own tag on the output of an export of unknown level
            return ORTHO, name
        for level in (L1B, L1C, L2A):
            if level in value:
                return level, name
    return None


def check_declared_level(path, declared: str) -> None:
    """InputError when the raster at ``path`` states a level (its tags) other than ``--level``'s
    ``declared`` ("l1b", "l1c", "l2a"): a declaration is for files that do not say. A file GDAL
    cannot open is left to the reader's own message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(os.fspath(path)) as dataset:
                _level(dataset, declared)
    except RasterioIOError:
        return


def _level(dataset, declared: str | None) -> InputDomain:
    stated = stated_level(dataset.tags())
    if declared is not None:
        level = DECLARABLE_LEVELS[declared]
        if stated is not None and stated[0] != level and not (stated[0] == ORTHO and level in CO_REGISTERED_LEVELS):
            raise InputError(f"{dataset.name} says it is {stated[0]} (its {stated[1]} tag) but --level says {level}; "
                             "expected --level only for a file that does not say its level")
        return InputDomain(level, "--level")
    if stated is not None:
        return InputDomain(stated[0], f"the file's {stated[1]} tag")
    if dataset.crs is not None:
        return InputDomain(ORTHO, "map CRS in the GeoTIFF: an orthorectified export")
    if np.dtype(dataset.dtypes[0]).kind == "f":
        return InputDomain(ORTHO, "float reflectance: an L1C/L2A export")
    return InputDomain(UNKNOWN, "no level in the file")


def _check_float_range(dataset, indexes: list[int], source: str) -> None:
    step = max(1, math.ceil(math.sqrt(dataset.width * dataset.height / SAMPLE_PIXELS)))
    shape = (len(indexes), max(1, dataset.height // step), max(1, dataset.width // step))
    try:
        sample = dataset.read(indexes, out_shape=shape)
    except RasterioIOError as error:
        raise InputError(f"{source} does not decode (truncated or damaged?): {one_line(error)}; expected a "
                         "readable 4-band GeoTIFF") from error
    finite = sample[np.isfinite(sample)]
    if finite.size and float(np.percentile(finite, 99)) > MAX_REFLECTANCE:
        raise InputError(f"{source} holds floats up to {float(finite.max()):g}; expected reflectance (about 0 to 1): "
                         f"{HOW_TO_EXPORT}")


@dataclass
class OpenExport(OpenBands):
    """A 4-band export open for windowed reads, with what its values mean."""

    radiometry: Radiometry = None
    domain: InputDomain = None


def open_export(path, *, level: str | None = None, dn_offset: float | None = None) -> OpenExport:
    """Open a 4-band GeoTIFF export of B02, B03, B04, B08.

    Args:
        level: a declared level ("l1b", "l1c", "l2a"; :data:`~l1bsr_core.domain.DECLARABLE_LEVELS`),
            else read from the file's tags or its CRS.
        dn_offset: uint16 files: the DN offset (0 or -1000) when the file does not say it.

    Raises:
        InputError: not a raster GDAL reads, 3 bands (says which export to choose), not 4 bands,
            8-bit or another type, floats that are not reflectance, a declared offset that
            contradicts ``dn_offset``.
    """
    source = os.fspath(path)
    if not Path(source).is_file():
        raise InputError(f"{source} does not exist or is not a file; expected a 4-band GeoTIFF")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            dataset = rasterio.open(source)
    except RasterioIOError as error:
        raise InputError(f"{source} is not an image GDAL can read; expected a 4-band GeoTIFF") from error
    try:
        indexes = _band_order(dataset, source)
        dtype = np.dtype(dataset.dtypes[0])
        domain = _level(dataset, level)
        if dtype.kind == "f":
            if dn_offset is not None:
                raise InputError(f"{source} holds float reflectance, which has no DN offset; expected --dn-offset "
                                 "only for uint16 exports")
            _check_float_range(dataset, indexes, source)
            radiometry = Radiometry.reflectance(dataset.nodata, source="float reflectance")
        elif dtype == np.uint16:
            declared = _declared_offset(dataset)
            if declared is not None and dn_offset is not None and declared != dn_offset:
                raise InputError(f"{source} declares a DN offset of {declared:g}, but {dn_offset:g} was given; "
                                 "expected them to agree (or leave the offset out)")
            if declared is not None:
                radiometry = Radiometry.integer(QUANTIFICATION, declared, source="offset from the file")
            elif dn_offset is not None:
                radiometry = Radiometry.integer(QUANTIFICATION, dn_offset, source="offset given")
            elif domain.level in (L1B, UNKNOWN):
                radiometry = Radiometry.l1b()
            else:
                radiometry = Radiometry.integer(QUANTIFICATION, 0, source="assumed: no offset, the file says none")
        else:
            raise InputError(f"{source} is {dtype} ({'a visual export?' if dtype == np.uint8 else 'unsupported'}); "
                             f"expected float32 reflectance or uint16: {HOW_TO_EXPORT}")
    except InputError:
        dataset.close()
        raise
    return OpenExport(source, dataset, indexes, radiometry, domain)
