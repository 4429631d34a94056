"""Batch inputs: files, folders (sorted, not recursive), products (one item per detector), refusals."""

import shutil
import zipfile
from pathlib import Path

import pytest

from l1bsr_core.batch import items
from l1bsr_core.batch.items import Item, expand_inputs, remove_leftovers
from l1bsr_core.errors import ArgumentError
from l1bsr_core.products.layout import product_stem


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"II*\x00")
    return path


def test_folders_sorted_not_recursive_tiffs_only(tmp_path):
    for name in ("b.tif", "a.TIFF", "c.tiff", ".hidden.tif", "notes.txt", "sub/d.tif"):
        touch(tmp_path / "in" / name)
    single = touch(tmp_path / "other" / "z.tif")
    found = expand_inputs([single, tmp_path / "in"], tmp_path / "out")
    assert [item.input.name for item in found] == ["z.tif", "a.TIFF", "b.tif", "c.tiff"]
    assert [item.output for item in found] == [tmp_path / "out" / n for n in ("z.tif", "a.tif", "b.tif", "c.tif")]
    assert all(item.key == str(item.input.resolve()) and item.detector is None for item in found)


def test_a_file_given_twice_is_one_item_and_any_file_is_an_item(tmp_path):
    crop = touch(tmp_path / "in" / "a.tif")
    other = touch(tmp_path / "in" / "picture.png")  # not a TIFF: it fails as an item, the others go on
    found = expand_inputs([crop, tmp_path / "in", other], tmp_path / "out")
    assert [item.input.name for item in found] == ["a.tif", "picture.png"]


@pytest.mark.parametrize("case, fragment", [
    ("missing", "does not exist"),
    ("empty folder", "no input images"),
    ("same name twice", "would both be written to"),
    ("out dir is the input folder", "is the input file"),
])
def test_refusals(tmp_path, case, fragment):
    (tmp_path / "empty").mkdir()
    touch(tmp_path / "one" / "a.tif")
    touch(tmp_path / "two" / "a.tif")
    arguments = {
        "missing": ([tmp_path / "nope.tif"], tmp_path / "out"),
        "empty folder": ([tmp_path / "empty"], tmp_path / "out"),
        "same name twice": ([tmp_path / "one", tmp_path / "two"], tmp_path / "out"),
        "out dir is the input folder": ([tmp_path / "one"], tmp_path / "one" / ".." / "one"),
    }[case]
    with pytest.raises(ArgumentError, match=fragment):
        expand_inputs(*arguments)



def test_a_folder_that_is_its_own_out_dir_leaves_out_the_outputs_its_manifest_made(tmp_path):
    folder = tmp_path / "in"
    touch(folder / "a.tiff")
    made = touch(folder / "a.tif")  # the first run's output of a.tiff
    with pytest.raises(ArgumentError, match="would both be written to"):
        expand_inputs([folder], folder)  # unknown to the manifest: an input like any other
    found = expand_inputs([folder], folder, made_outputs=[folder / ".." / "in" / "a.tif"])
    assert [item.input.name for item in found] == ["a.tiff"]
    with pytest.raises(ArgumentError, match="would both be written to"):  # named as an input, it stays one
        expand_inputs([folder, made], folder, made_outputs=[made])
    (folder / "a.tiff").unlink()
    with pytest.raises(ArgumentError, match=r"no input images in .*in \(only 1 output\(s\) that OUT_DIR's manifest"):
        expand_inputs([folder], folder, made_outputs=[made])

def test_a_product_is_one_item_per_detector(tmp_path, monkeypatch):
    product = tmp_path / "S2A_MSIL1B_TEST.SAFE"
    product.mkdir()
    crop = touch(tmp_path / "crop.tif")
    monkeypatch.setattr(items, "is_product", lambda path: path.name.endswith(".SAFE"))
    monkeypatch.setattr(items, "list_detectors", lambda path: [1, 12])
    found = expand_inputs([product, crop], tmp_path / "out")
    key = str(product.resolve())
    assert found[:2] == [Item(f"{key}#D01", product, tmp_path / "out" / "S2A_MSIL1B_TEST_D01.tif", 1),
                         Item(f"{key}#D12", product, tmp_path / "out" / "S2A_MSIL1B_TEST_D12.tif", 12)]
    assert found[2].input == crop and found[2].detector is None


def test_product_stem():
    assert product_stem(Path("S2B_X_L1B.SAFE.zip")) == "S2B_X_L1B"
    assert product_stem(Path("S2B_X_L1B.SAFE")) == "S2B_X_L1B"
    assert product_stem(Path("S2B_X_L1B.zip")) == "S2B_X_L1B"


def test_the_leftovers_removed_are_the_temporary_files_of_the_outputs_only(tmp_path):
    output = tmp_path / "a.tif"
    left = touch(tmp_path / ".a.tif.0badc0de.tmp.tif")
    kept = [touch(tmp_path / ".b.tif.0badc0de.tmp.tif"), touch(tmp_path / "a.tif"), touch(tmp_path / ".a.tif.x.tmp")]
    assert remove_leftovers([Item("k", tmp_path / "in.tif", output)]) == 1
    assert not left.exists() and all(path.exists() for path in kept)


def test_remove_leftovers_lists_each_output_folder_once(tmp_path, monkeypatch):
    """Many items in one folder: one listing, not one per item (which made a large batch quadratic)."""
    items = [Item(f"k{i}", tmp_path / f"in{i}.tif", tmp_path / f"out{i}.tif") for i in range(50)]
    left = [touch(tmp_path / f".out{i}.tif.0badc0de.tmp.tif") for i in range(0, 50, 7)]
    stranger = touch(tmp_path / ".other.tif.0badc0de.tmp.tif")
    listings = []
    real_iterdir = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: listings.append(self) or real_iterdir(self))
    assert remove_leftovers(items) == len(left)
    assert listings == [tmp_path]
    assert not any(path.exists() for path in left) and stranger.exists()


def test_a_real_product_and_its_zip_are_one_item_per_detector(synthetic_product, synthetic_product_zip, tmp_path):
    found = expand_inputs([synthetic_product_zip], tmp_path / "out")
    assert [item.detector for item in found] == synthetic_product.detectors
    assert [item.output.name for item in found] == [f"S2A_MSIL1B_SIMU_D0{d}.tif" for d in synthetic_product.detectors]


def broken_product(product: Path, folder: Path) -> Path:
    """A copy of ``product`` (its metadata only) whose datastrip XML is damaged."""
    copy = folder / "brokenxml.SAFE"
    shutil.copytree(product, copy, ignore=shutil.ignore_patterns("*.jp2"))
    next(copy.glob("DATASTRIP/*/*.xml")).write_text("<bad")
    return copy


def test_a_product_that_cannot_be_read_is_one_failed_item_and_the_others_stay(synthetic_product, tmp_path):
    """A damaged product (was: the whole batch refused) or a product folder without granules (was:
    dropped without a word) is one item that has already failed, with its reason; the others stay."""
    crop = touch(tmp_path / "in" / "crop.tif")
    broken = broken_product(synthetic_product.path, tmp_path / "in")
    (tmp_path / "in" / "empty.SAFE").mkdir()
    (tmp_path / "in" / "nogranules.SAFE" / "GRANULE").mkdir(parents=True)
    (tmp_path / "in" / "renamed" / "DATASTRIP").mkdir(parents=True)  # a product folder without its .SAFE
    with zipfile.ZipFile(tmp_path / "in" / "crop.zip", "w") as archive:  # also named like the crop's output
        archive.writestr("notes.txt", "not a product")
    names = ("brokenxml.SAFE", "empty.SAFE", "nogranules.SAFE", "renamed", "crop.zip")
    found = expand_inputs([crop, *(tmp_path / "in" / name for name in names), synthetic_product.path],
                          tmp_path / "out")
    assert found[0] == Item(str(crop.resolve()), crop, tmp_path / "out" / "crop.tif")
    failed = found[1:len(names) + 1]
    assert [item.input.name for item in failed] == list(names)
    assert all(item.detector is None and item.key == str(item.input.resolve()) for item in failed)
    assert "is not readable XML" in failed[0].error and str(broken) in failed[0].error
    for item in failed[1:]:
        assert str(item.input) in item.error and "expected an L1B SAFE folder or its .zip" in item.error
        assert "\n" not in item.error
    assert "not a Sentinel-2 L1B product: no DATASTRIP" in failed[1].error
    assert [item.detector for item in found[len(names) + 1:]] == synthetic_product.detectors
    assert all(item.error is None for item in (found[0], *found[len(names) + 1:]))
