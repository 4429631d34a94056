"""Where the parts of an L1B product are: a SAFE folder or its .zip, found from the folder structure.

A product holds one datastrip (``DATASTRIP/<id>/<metadata>.xml``) and granules
(``GRANULE/<id>/<metadata>.xml`` with ``IMG_DATA/<id without _Nxx.xx>_B02.jp2`` … per band). The
product-level metadata file is not needed (the real metadata the project has lacks it), and a
product may hold fewer granules than its datastrip lists (an ordered area of interest).
Everything under the product may sit one or two folders down (a zip usually holds ``NAME.SAFE/``).

Pixels are read by GDAL, through ``SENTINEL2_L1B:<granule metadata>:10m`` paths; a zip is read in
place through GDAL's ``/vsizip/`` (nothing is extracted).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputError
from .metadata import BGRN_BAND_FILES

PRODUCT_SUFFIXES = (".zip",)
SAFE_SUFFIX = ".safe"
"""A product folder's name ends with it (any case)."""
STEM_SUFFIXES = (*PRODUCT_SUFFIXES, SAFE_SUFFIX)
"""Suffixes stripped (in this order, any case) from a product's name to make its outputs' stem."""
DATASTRIP_FOLDER, GRANULE_FOLDER = "DATASTRIP", "GRANULE"
"""The sub-folders of an L1B product holding the datastrip's and the granules' metadata."""
OTHER_LEVELS = {"MSIL1C": "L1C", "MSIL2A": "L2A", "MSIL2B": "L2B", "_L1C_": "L1C", "_L2A_": "L2A"}
"""Name fragments of Sentinel-2 products of other processing levels."""
MAX_DEPTH = 3
"""Folders searched below the given path for ``DATASTRIP`` and ``GRANULE``."""


def image_stem(metadata: str) -> str:
    """The common start of a granule's image names, from its metadata file's name, as GDAL finds
    them: ``S2A_OPER_MTD_L1B_GR_…_D01.xml`` → ``S2A_OPER_MSI_L1B_GR_…_D01`` (+ ``_B02.jp2`` …)."""
    return PurePosixPath(metadata).stem.replace("_MTD_", "_MSI_", 1)


@dataclass(frozen=True)
class GranuleFiles:
    """One granule's metadata file and its BGRN band files, as GDAL paths."""

    name: str
    metadata: str
    bands: tuple[str, ...]


@dataclass(frozen=True)
class ProductFiles:
    """The files of an L1B product, with a way to read them (folder or zip)."""

    source: str
    """The path the user gave."""
    datastrip: str
    granules: tuple[GranuleFiles, ...]
    archive: str | None = None
    """The zip's path, or None for a folder."""

    def read_bytes(self, path: str) -> bytes:
        """The bytes of one file of the product (a member name for a zip)."""
        try:
            if self.archive is None:
                return Path(path).read_bytes()
            with zipfile.ZipFile(self.archive) as archive:
                return archive.read(path)
        except (OSError, zipfile.BadZipFile, KeyError) as error:
            raise InputError(f"cannot read {path} in {self.source}: {error}") from error

    def gdal_path(self, path: str) -> str:
        """A path GDAL opens: the file, or ``/vsizip/<zip>/<member>``."""
        return path if self.archive is None else f"/vsizip/{self.archive}/{path}"

    def exists(self, path: str) -> bool:
        if self.archive is None:
            return Path(path).is_file()
        return path in self._members()

    def _members(self) -> frozenset[str]:
        with zipfile.ZipFile(self.archive) as archive:
            return frozenset(archive.namelist())


def _other_level(name: str) -> str | None:
    upper = name.upper()
    return next((level for fragment, level in OTHER_LEVELS.items() if fragment in upper), None)


def _refuse_other_levels(names, source: str) -> None:
    for name in names:
        level = _other_level(PurePosixPath(name).name)
        if level is not None:
            raise InputError(f"{source} is named like a Sentinel-2 {level} product but holds no "
                             f"MTD_MSI{level}.xml; expected a complete {level} product (read with its metadata "
                             f"file, outside the networks' L1B domain) or an L1B product")


def _metadata_in(folder_files: dict[str, list[str]], kind: str) -> dict[str, str]:
    """``{folder: metadata file}`` for the subfolders of ``DATASTRIP`` or ``GRANULE`` (``kind``)."""
    found = {}
    for folder, files in folder_files.items():
        parts = PurePosixPath(folder).parts
        if len(parts) >= 2 and parts[-2] == kind:
            xml = sorted(f for f in files if f.lower().endswith(".xml"))
            if xml:
                found[folder] = xml[0]
    return found


def _assemble(source: str, folder_files: dict[str, list[str]], join, archive: str | None) -> ProductFiles:
    names = [Path(source).name, *folder_files, *(f for files in folder_files.values() for f in files)]
    _refuse_other_levels(names, source)
    datastrips = _metadata_in(folder_files, DATASTRIP_FOLDER)
    granules = _metadata_in(folder_files, GRANULE_FOLDER)
    if not datastrips or not granules:
        missing = "DATASTRIP/<id>/<metadata>.xml" if not datastrips else "GRANULE/<id>/<metadata>.xml"
        raise InputError(f"{source} is not a Sentinel-2 L1B product: no {missing} found; expected an L1B SAFE "
                         f"folder or its .zip")
    if len(datastrips) > 1:
        raise InputError(f"{source} holds {len(datastrips)} datastrips; expected one L1B product (one datastrip)")
    (datastrip_folder, datastrip_file), = datastrips.items()
    files = []
    for folder, metadata in sorted(granules.items()):
        name = PurePosixPath(folder).name
        stem = image_stem(metadata)
        bands = tuple(join(folder, "IMG_DATA", f"{stem}_{band}.jp2") for band in BGRN_BAND_FILES)
        files.append(GranuleFiles(name, join(folder, metadata), bands))
    return ProductFiles(source, join(datastrip_folder, datastrip_file), tuple(files), archive)


def _folder_listing(root: Path) -> dict[str, list[str]]:
    listing = {}
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        depth = len(relative.parts)
        if depth > MAX_DEPTH + 2:  # DATASTRIP/<id> or GRANULE/<id> under MAX_DEPTH folders
            subfolders[:] = []
            continue
        listing[relative.as_posix()] = files
    return listing


def _zip_listing(path: Path, source: str) -> dict[str, list[str]]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise InputError(f"{source} is not a readable zip ({error}); expected an L1B SAFE folder or its .zip"
                         ) from error
    listing: dict[str, list[str]] = {}
    for name in names:
        if name.endswith("/"):
            continue
        member = PurePosixPath(name)
        listing.setdefault(member.parent.as_posix(), []).append(member.name)
    return listing


def product_stem(product: Path) -> str:
    """``S2A_…_L1B.SAFE`` and ``S2A_…_L1B.SAFE.zip`` → ``S2A_…_L1B``."""
    name = product.name
    for suffix in STEM_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


def find_product(path) -> ProductFiles:
    """The datastrip and granule files of the L1B product at ``path`` (a SAFE folder or a .zip).

    Raises:
        InputError: for a missing path, a file that is not a zip, a zip that cannot be read, a
            product of another level (L1C, L2A: says so), or a folder without the L1B structure.
    """
    source = os.fspath(path)
    path = Path(source)
    if not path.exists():
        raise InputError(f"{source} does not exist; expected an L1B SAFE folder or its .zip")
    if path.is_dir():
        root = path.resolve()
        return _assemble(source, _folder_listing(root), lambda *parts: str(root.joinpath(*parts)), None)
    if path.suffix.lower() not in PRODUCT_SUFFIXES:
        raise InputError(f"{source} is a file; expected an L1B SAFE folder or its .zip")
    listing = _zip_listing(path, source)
    return _assemble(source, listing, lambda *parts: PurePosixPath(*parts).as_posix(), str(path.resolve()))


def is_product(path) -> bool:
    """True for a folder or .zip that has the structure of an L1B product (no pixel is read)."""
    try:
        find_product(path)
    except InputError:
        return False
    return True
