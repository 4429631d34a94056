"""Tests of l1bsr_demo.examples and l1bsr_demo.gallery: the catalogue, recognition by hash, the
gallery and its note (which never claims real examples that are not there)."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import tifffile

from l1bsr_core.errors import InputError
from l1bsr_demo import examples, fetch, gallery, paths

from support import EXAMPLES_DIR, free_port, serve_folder, write_mirror


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "TEMP_ROOT", tmp_path / "temp")
    yield tmp_path
    fetch.reset_real_examples()


def test_shipped_examples_come_with_their_truth():
    found = examples.synthetic_examples()
    assert [e.key for e in found] == [f"synthetic-synthetic_{i}" for i in range(1, 5)] + ["airborne-airborne_naip"]
    for example in found:
        assert example.path.is_file() and example.truth.is_file() and example.flow.is_file()
        assert not example.caption.startswith("Synthetic")
    assert [e.source for e in found] == [examples.SYNTHETIC] * 4 + [examples.AIRBORNE]
    airborne = found[-1]
    assert "NOT SENTINEL-2" in airborne.description and "outside the L1B domain" in airborne.description
    assert "invents" in airborne.notes["superresolution"] and "Known displacements" in airborne.notes["registration"]
    assert airborne.file_name == "airborne_naip.tif"
    assert (EXAMPLES_DIR / "LICENSE-naip-opengeos-data.txt").read_text().startswith("MIT License")
    assert examples.synthetic_examples(EXAMPLES_DIR / "no-such-folder") == []


def test_the_airborne_truth_is_the_real_scene_and_its_input_our_simulation():
    """The truth is the NAIP crop × 12 (co-registered bands), the input its simulated 10 m view:
    block means of the truth stay close to it where the blur and shifts are small (the mean level)."""
    airborne = examples.synthetic_examples()[-1]
    truth, lr = tifffile.imread(airborne.truth).astype(float), tifffile.imread(airborne.path).astype(float)
    assert truth.shape == (256, 256, 4) and lr.shape == (128, 128, 4)
    assert np.all(truth % 12 == 0)  # uint8 digital numbers × 12
    assert np.allclose(lr.mean(axis=(0, 1)), truth.mean(axis=(0, 1)), rtol=0.02)
    assert np.load(airborne.flow).shape == (3, 2, 128, 128)


def test_an_unreadable_index_gives_no_examples(tmp_path):
    shutil.copyfile(EXAMPLES_DIR / "synthetic_1.tif", tmp_path / "synthetic_1.tif")
    (tmp_path / examples.INDEX_FILE).write_text("{not json")
    assert examples.synthetic_examples(tmp_path) == []


def test_identify_example_by_content(tmp_path):
    copy = tmp_path / "renamed.tif"
    shutil.copyfile(EXAMPLES_DIR / "synthetic_2.tif", copy)
    assert examples.identify_example(copy).key == "synthetic-synthetic_2"
    hashes = write_mirror(tmp_path / "mirror", count=1)
    real = examples.identify_example(tmp_path / "mirror" / "00.tif", hashes)
    assert real.key == "real-00" and real.source == examples.REAL and real.file_name == "l1b_00.tif"
    assert examples.identify_example(tmp_path / "mirror" / "00.tif") is None  # not one of the authors'


def test_offline_gallery_shows_synthetic_only_and_says_so(temp_root):
    fetch.reset_real_examples(fetch.RealExamples(f"http://127.0.0.1:{free_port()}", temp_root / "cache"))
    items, keys, note = gallery.gallery(wait=5.0)
    assert keys and all(key.startswith(("synthetic-", "airborne-")) for key in keys)
    assert len(items) == len(keys) and Path(items[0][0]).is_file()
    assert "could not be fetched" in note and "synthetic examples only" in note
    assert "are real Sentinel-2" not in note  # no line says the real examples are there


def test_gallery_with_fetched_examples_says_what_they_are(temp_root):
    hashes = write_mirror(temp_root / "mirror")
    with serve_folder(temp_root / "mirror") as url:
        fetch.reset_real_examples(fetch.RealExamples(url, temp_root / "cache", hashes=hashes))
        items, keys, note = gallery.gallery(wait=30.0)
    assert keys[-2:] == ["real-00", "real-01"] and [caption for _, caption in items[-2:]] == ["L1B 00", "L1B 01"]
    assert "L1B 00 … 01 are real Sentinel-2 L1B crops" in note
    copy = gallery.copy_for_input("real-01")
    assert copy.name == "l1b_01.tif" and copy.read_bytes() == (temp_root / "mirror" / "01.tif").read_bytes()
    assert gallery.identify(copy).key == "real-01"
    with pytest.raises(InputError, match="not available"):
        gallery.copy_for_input("real-07")


def test_initial_gallery_does_not_wait_for_a_hanging_server(temp_root):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    fetch.reset_real_examples(fetch.RealExamples(f"http://127.0.0.1:{silent.getsockname()[1]}", temp_root / "cache",
                                                 timeout=2.0))
    try:
        items, _, note = gallery.initial_gallery()
        assert "Fetching" in note and len(items) == len(examples.synthetic_examples())  # the shipped ones at once
    finally:
        fetch.real_examples().wait(5.0)
        silent.close()
