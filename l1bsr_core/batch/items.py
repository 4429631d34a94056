"""The work of a batch: INPUT arguments expanded into items, each with a stable key and its output name.

An INPUT is a BGRN TIFF file (or a 4-band GeoTIFF export of L1C/L2A imagery), a folder of them
(its ``.tif``/``.tiff`` files, not its sub-folders, sorted by name; hidden files and the outputs
OUT_DIR's manifest records left out, so a folder can be its own OUT_DIR), a
Sentinel-2 L1B product (a ``.SAFE`` folder or its ``.zip``, read by :mod:`l1bsr_core.products`),
which gives one item per detector, or an L1C/L2A product, which gives one item (its tile).
Outputs all go into OUT_DIR: ``<input stem>.tif``, ``<product stem>_D01.tif`` for detector 1 of an
L1B product, ``<product stem>.tif`` for an L1C/L2A product.
Two items with one output name, or an output that is an input, are refused before any work.
An input meant as a product that cannot be read as one (damaged metadata, a ``.SAFE`` folder
without granules, a ``.zip`` that is no product) is one item that has already failed
(:attr:`Item.error`): it fails alone, like a file that is not a BGRN TIFF, and the others run.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ArgumentError, error_line
from ..outputs import TIFF_SUFFIXES
from ..products import is_product, list_detectors
from ..products.layout import DATASTRIP_FOLDER, GRANULE_FOLDER, PRODUCT_SUFFIXES, SAFE_SUFFIX, product_stem
from ..products.tile_product import is_tile_product

OUTPUT_SUFFIX = ".tif"
PRODUCT_FOLDERS = (GRANULE_FOLDER, DATASTRIP_FOLDER)
"""Sub-folders that make a folder a product (one renamed without its ``.SAFE``); a folder named
``*.SAFE`` (any case) is meant as a Sentinel-2 product whatever it holds."""


@dataclass(frozen=True)
class Item:
    """One unit of work: ``input`` (a TIFF, or a product and one of its detectors) → ``output``.

    Attributes:
        key: stable between runs (the resolved input path, ``#D01`` added for detector 1): the
            manifest's name for the item.
        input: the path as given (a file, or a product).
        output: the file to write, in OUT_DIR.
        detector: the detector number of a product item, None for a TIFF.
        error: why the input gives no work (one line: a product that cannot be read), None for an
            item to run: such an item is recorded as failed without running.
    """

    key: str
    input: Path
    output: Path
    detector: int | None = None
    error: str | None = None


def _tiffs_in(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.iterdir()
        if path.suffix.lower() in TIFF_SUFFIXES and not path.name.startswith(".") and path.is_file()
    )


def _is_meant_as_product(path: Path) -> bool:
    """True for a ``.zip`` file, a ``*.SAFE`` folder or a folder with ``GRANULE``/``DATASTRIP`` in it: an
    input given as a Sentinel-2 product, which fails as an item if it cannot be read as one."""
    if path.is_file():
        return path.suffix.lower() in PRODUCT_SUFFIXES
    if not path.is_dir():
        return False
    return path.suffix.lower() == SAFE_SUFFIX or any((path / name).is_dir() for name in PRODUCT_FOLDERS)


def _product_items(path: Path, out_dir: Path) -> list[Item]:
    """One item per detector of the L1B product at ``path``; one failed item when it cannot be read."""
    key, stem = str(path.resolve()), product_stem(path)
    try:
        detectors = list_detectors(path)
    except Exception as error:  # a damaged product costs only its own item (its XML can raise anything)
        return [Item(key, path, out_dir / f"{stem}{OUTPUT_SUFFIX}", error=error_line(error))]
    return [Item(f"{key}#D{detector:02d}", path, out_dir / f"{stem}_D{detector:02d}{OUTPUT_SUFFIX}", detector)
            for detector in detectors]


def _items_of(path: Path, out_dir: Path, made: set) -> list[Item]:
    if is_tile_product(path):  # an L1C/L2A product: one tile, one item
        return [Item(str(path.resolve()), path, out_dir / f"{product_stem(path)}{OUTPUT_SUFFIX}")]
    if _is_meant_as_product(path) or is_product(path):  # a broken product by its name or folders, or one found
        return _product_items(path, out_dir)
    if path.is_dir():
        return [Item(str(tiff.resolve()), tiff, out_dir / f"{tiff.stem}{OUTPUT_SUFFIX}") for tiff in _tiffs_in(path)
                if _identity(tiff) not in made]
    if path.exists():  # any file: one that is not a BGRN TIFF fails as an item, the others go on
        return [Item(str(path.resolve()), path, out_dir / f"{path.stem}{OUTPUT_SUFFIX}")]
    raise ArgumentError(f"input {path} does not exist; expected a BGRN TIFF, a folder of them or an L1B product")


def expand_inputs(inputs, out_dir, made_outputs=()) -> list[Item]:
    """The items of ``inputs`` in the order given (folders sorted), each input file once.

    ``made_outputs``: the outputs OUT_DIR's manifest records as done. A folder's listing leaves them
    out, so a batch whose OUT_DIR is its input folder can be run again (a file named as an input
    is always an input).

    A product that cannot be read is one item with its :attr:`Item.error` (it writes nothing: the
    checks of output names below leave it out).

    Raises:
        ArgumentError: for an input that does not exist, no item at all, two items with one
            output name, or an output that is one of the inputs.
    """
    out_dir = Path(out_dir)
    made = {_identity(Path(output)) for output in made_outputs}
    items: dict[str, Item] = {}
    for path in map(Path, inputs):
        for item in _items_of(path, out_dir, made):
            items.setdefault(item.key, item)
    if not items:
        given = ", ".join(map(str, inputs)) or "nothing"
        ours = sum(_identity(tiff) in made for path in map(Path, inputs) if path.is_dir() for tiff in _tiffs_in(path))
        why = f" (only {ours} output(s) that OUT_DIR's manifest records)" if ours else ""
        raise ArgumentError(f"no input images in {given}{why}; expected BGRN TIFF files (.tif, .tiff), folders of "
                            f"them or L1B products")
    _check_outputs([item for item in items.values() if item.error is None])
    return list(items.values())


def _check_outputs(items: list[Item]) -> None:
    """ArgumentError for two items with one output name, or an output that is one of the inputs."""
    by_output: dict[str, Item] = {}
    for item in items:
        other = by_output.setdefault(os.path.normcase(item.output.name), item)
        if other is not item:
            raise ArgumentError(f"{other.input} and {item.input} would both be written to {item.output}; "
                                f"expected inputs of distinct names")
    sources = {_identity(item.input): item.input for item in items}
    for item in items:
        source = sources.get(_identity(item.output))
        if source is not None:
            raise ArgumentError(f"the output {item.output} is the input file {source}: writing it would destroy "
                                f"the input; expected another OUT_DIR")


def _identity(path: Path):
    """What makes two paths one file, however spelled: (device, inode) of an existing file, else
    the resolved path (as :func:`l1bsr_core.outputs.same_file`, in one lookup per path)."""
    try:
        stat = path.stat()
        return stat.st_dev, stat.st_ino
    except OSError:
        return str(path.resolve())


_TEMP_NAME = re.compile(r"\.(?P<output>.+)\.[0-9a-f]{8}\.tmp", re.DOTALL)
"""The name :func:`l1bsr_core.outputs.atomic_output` gives a temporary file: ``.<output name>.<8 hex>.tmp<suffix>``."""


def _temp_files_in(folder: Path, names: set[str]) -> list[Path]:
    """The temporary files in ``folder`` whose output name is one of ``names`` (one listing of the folder)."""
    with contextlib.suppress(FileNotFoundError):
        return [path for path in folder.iterdir()
                if (match := _TEMP_NAME.match(path.name)) and match["output"] in names]
    return []


def remove_leftovers(items) -> int:
    """Delete the temporary files :func:`l1bsr_core.outputs.atomic_output` made for any item's output and
    never renamed (their writer was killed): ``.<name>.<8 hex>.tmp<suffix>`` beside it. Call it when
    no writer is running.

    Each output folder is listed once, however many items write there."""
    names_by_folder: dict[Path, set[str]] = {}
    for item in items:
        names_by_folder.setdefault(item.output.parent, set()).add(item.output.name)
    removed = 0
    for folder, names in names_by_folder.items():
        for path in _temp_files_in(folder, names):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
