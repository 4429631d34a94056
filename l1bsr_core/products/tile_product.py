"""An L1C or L2A product (one orthorectified 110 km tile): found, described and read through GDAL.

Sentinel-2 L1C (top-of-atmosphere) and L2A (bottom-of-atmosphere) products are what most people
can download. Their bands are already resampled onto one UTM grid and co-registered to within
about 0.3 px (ESA's multispectral registration accuracy), unlike the L1B input the networks were
trained on (sensor geometry, bands a few px apart): they are *outside the networks' domain*.

Reading goes through GDAL's SENTINEL2 driver (rasterio): the product-level metadata file
(``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``, in a ``.SAFE`` folder or its ``.zip``, read in place
with ``/vsizip/``) opens the 10 m subdataset, whose bands B4, B3, B2, B8 are reordered to B, G, R,
NIR. Its radiometry comes from the same metadata: ``reflectance = (DN + offset) / quantification``
with ``offset`` the ``RADIO_ADD_OFFSET`` (L1C) or ``BOA_ADD_OFFSET`` (L2A) of each band, −1000
from processing baseline 04.00 on, and DN 0 no-data.
"""

from __future__ import annotations

import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from ..domain import InputDomain
from ..errors import InputError
from ..georaster import OpenBands
from ..radiometry import QUANTIFICATION, Radiometry

LEVELS = ("L1C", "L2A")
"""Processing levels of the orthorectified products read here."""
METADATA_FILES = {"MTD_MSIL1C.xml": "L1C", "MTD_MSIL2A.xml": "L2A"}
"""Product-level metadata file name → level."""
BGRN_TILE_BANDS = ("B2", "B3", "B4", "B8")
"""GDAL's names of the 10 m bands, in the project's band order B, G, R, NIR."""
ALL_BAND_IDS = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")
"""Sentinel-2's 13 bands in the order of the metadata's ``band_id`` numbers (0…12)."""
OFFSET_BASELINE = (4, 0)
"""The processing baseline from which L1C/L2A products carry
:data:`~l1bsr_core.radiometry.PRODUCT_OFFSET_DN`."""
MAX_DEPTH = 2
"""Folders searched below the given path for the product-level metadata file."""
EXPECTED = ("expected a Sentinel-2 L1C or L2A product (a .SAFE folder with MTD_MSIL1C.xml or MTD_MSIL2A.xml, "
            "or its .zip)")


def parse_baseline(text: str) -> tuple[int, int]:
    """``"05.09"`` (or ``"N0509"``) → ``(5, 9)``; InputError for anything else."""
    match = re.fullmatch(r"N?(\d{2})\.?(\d{2})", text.strip())
    if match is None:
        raise InputError(f"processing baseline {text!r}; expected NN.NN")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class TileProductInfo:
    """What a product is, before any pixel is read."""

    source: str
    """The path the user gave."""
    level: str
    """"L1C" or "L2A"."""
    baseline: str
    """Processing baseline, e.g. "05.09"."""
    metadata: str
    """The product-level metadata file, as GDAL opens it (``/vsizip/…`` inside a zip)."""
    radiometry: Radiometry
    """How the stored DN map to reflectance (quantification, offset, no-data)."""


def _find_metadata(path: Path, source: str) -> tuple[str, str]:
    """(GDAL path of the product-level metadata, level) inside a folder or a zip."""
    if path.is_dir():
        for depth in range(MAX_DEPTH + 1):
            for name, level in METADATA_FILES.items():
                found = sorted(path.glob("/".join(["*"] * depth + [name])))
                if found:
                    return str(found[0].resolve()), level
        raise InputError(f"{source} holds no MTD_MSIL1C.xml or MTD_MSIL2A.xml; {EXPECTED}")
    if path.suffix.lower() != ".zip":
        raise InputError(f"{source} is a file; {EXPECTED}")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise InputError(f"{source} is not a readable zip ({error}); {EXPECTED}") from error
    for name in sorted(names, key=lambda n: n.count("/")):
        level = METADATA_FILES.get(PurePosixPath(name).name)
        if level is not None and name.count("/") <= MAX_DEPTH:
            return f"/vsizip/{path.resolve()}/{name}", level
    raise InputError(f"{source} holds no MTD_MSIL1C.xml or MTD_MSIL2A.xml; {EXPECTED}")


def _zip_member(gdal_path: str) -> tuple[str, str] | None:
    """(zip file, member) of a ``/vsizip/<zip>/<member>`` path; None for a plain file."""
    if not gdal_path.startswith("/vsizip/"):
        return None
    archive, _, member = gdal_path[len("/vsizip/"):].partition(".zip/")
    return archive + ".zip", member


def _read_text(gdal_path: str, source: str) -> str:
    if (in_zip := _zip_member(gdal_path)) is not None:
        with zipfile.ZipFile(in_zip[0]) as opened:
            return opened.read(in_zip[1]).decode("utf-8", errors="replace")
    try:
        return Path(gdal_path).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputError(f"cannot read {gdal_path} in {source}: {error.strerror}") from error


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _radiometry_of(xml: str, level: str, source: str) -> tuple[str, Radiometry]:
    """The baseline and the radiometry of the B, G, R, NIR bands from the product metadata."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise InputError(f"the metadata of {source} is not valid XML ({error}); {EXPECTED}") from error
    texts = {}
    offsets = {}
    for element in root.iter():
        name = _local_name(element.tag)
        if name in ("RADIO_ADD_OFFSET", "BOA_ADD_OFFSET"):
            offsets[int(element.get("band_id", "-1"))] = float(element.text)
        elif element.text and element.text.strip():
            texts.setdefault(name, element.text.strip())
    baseline = texts.get("PROCESSING_BASELINE")
    if baseline is None:
        raise InputError(f"the metadata of {source} has no PROCESSING_BASELINE; {EXPECTED}")
    quantification = float(texts.get("QUANTIFICATION_VALUE") or texts.get("BOA_QUANTIFICATION_VALUE")
                           or QUANTIFICATION)
    band_offsets = tuple(offsets.get(ALL_BAND_IDS.index(band), 0.0) for band in BGRN_TILE_BANDS)
    if parse_baseline(baseline) >= OFFSET_BASELINE and not offsets:
        raise InputError(f"{source} is of processing baseline {baseline} but its metadata lists no "
                         f"{'RADIO' if level == 'L1C' else 'BOA'}_ADD_OFFSET; expected them from 04.00 on")
    if len(set(band_offsets)) != 1:
        raise InputError(f"{source} has different offsets per band {band_offsets}; expected one offset")
    return baseline, Radiometry.integer(quantification, band_offsets[0], source=f"{level} product metadata")


def describe_tile_product(path) -> TileProductInfo:
    """Find and describe the L1C/L2A product at ``path`` (a ``.SAFE`` folder or its ``.zip``).

    Raises:
        InputError: for a missing path, something that is not an L1C/L2A product, unreadable metadata.
    """
    source = os.fspath(path)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source} does not exist; {EXPECTED}")
    metadata, level = _find_metadata(path, source)
    xml = _read_text(metadata, source)
    baseline, radiometry = _radiometry_of(xml, level, source)
    _check_band_files(xml, metadata, source)
    return TileProductInfo(source, level, baseline, metadata, radiometry)


def _check_band_files(xml: str, metadata: str, source: str) -> None:
    """InputError naming a 10 m band file the metadata lists but the product lacks (GDAL would skip
    it and read zeros), or a band the metadata does not list."""
    images = [element.text.strip() for element in ElementTree.fromstring(xml).iter()
              if _local_name(element.tag) == "IMAGE_FILE" and element.text]
    root = metadata.rsplit("/", 1)[0]
    for band in BGRN_TILE_BANDS:
        number = f"B{int(band[1:]):02d}"
        listed = [image for image in images if re.search(rf"_{number}(_10m)?$", image)]
        if not listed:
            raise InputError(f"the metadata of {source} lists no {number} image; expected the 10 m bands "
                             "B02, B03, B04, B08")
        if not _exists(f"{root}/{listed[0]}.jp2"):
            raise InputError(f"{source} lacks the band file {PurePosixPath(listed[0]).name}.jp2 that its metadata "
                             "lists; expected every 10 m band file (B02, B03, B04, B08)")


def _exists(gdal_path: str) -> bool:
    if (in_zip := _zip_member(gdal_path)) is not None:
        with zipfile.ZipFile(in_zip[0]) as opened:
            return in_zip[1] in set(opened.namelist())
    return Path(gdal_path).is_file()


def is_tile_product(path) -> bool:
    """True for a folder or .zip holding an L1C/L2A product-level metadata file (no pixel read)."""
    try:
        path = Path(path)
        return path.exists() and bool(_find_metadata(path, str(path)))
    except InputError:
        return False


def _ten_metre_subdataset(info: TileProductInfo) -> str:
    try:
        with warnings.catch_warnings():  # the product-level file has subdatasets, no geotransform
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            product = rasterio.open(info.metadata)
        with product:
            subdatasets = product.subdatasets
    except RasterioIOError as error:
        raise InputError(f"GDAL cannot open {info.source}: {error}; {EXPECTED}") from error
    ten = [name for name in subdatasets if ":10m:" in name]
    if not ten:
        raise InputError(f"{info.source} has no 10 m bands GDAL can read (subdatasets: {len(subdatasets)}); "
                         "expected the B02, B03, B04, B08 image files the metadata lists")
    return ten[0]


def _band_indexes(dataset, source: str) -> list[int]:
    """GDAL band numbers of B2, B3, B4, B8 (descriptions like ``"B4, central wavelength 665 nm"``)."""
    found = {}
    for number, description in enumerate(dataset.descriptions, start=1):
        name = (description or "").split(",")[0].strip()
        found.setdefault(name, number)
    missing = [band for band in BGRN_TILE_BANDS if band not in found]
    if missing:
        raise InputError(f"{source} lacks band(s) {', '.join(missing)} in its 10 m data; expected "
                         f"{', '.join(BGRN_TILE_BANDS)}")
    return [found[band] for band in BGRN_TILE_BANDS]


@dataclass
class OpenTileProduct(OpenBands):
    """An L1C/L2A product's 10 m B, G, R, NIR, open for windowed reads (a context manager)."""

    info: TileProductInfo = None

    @property
    def radiometry(self) -> Radiometry:
        return self.info.radiometry

    @property
    def domain(self) -> InputDomain:
        return InputDomain(self.info.level, f"{self.info.level} product metadata, baseline {self.info.baseline}")


def open_tile_product(path) -> OpenTileProduct:
    """Open the 10 m bands of the L1C/L2A product at ``path`` (see :func:`describe_tile_product`).

    Raises:
        InputError: as :func:`describe_tile_product`, or when GDAL cannot open its 10 m bands (a
            missing band file is named).
    """
    info = describe_tile_product(path)
    subdataset = _ten_metre_subdataset(info)
    try:
        dataset = rasterio.open(subdataset)
    except RasterioIOError as error:
        raise InputError(f"GDAL cannot open the 10 m bands of {info.source}: {error}") from error
    try:
        indexes = _band_indexes(dataset, info.source)
    except InputError:
        dataset.close()
        raise
    return OpenTileProduct(info.source, dataset, indexes, info)
