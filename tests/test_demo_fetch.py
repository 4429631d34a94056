"""Tests of l1bsr_demo.fetch: downloading, verifying and caching the real examples.

The "authors' folder" is a local http.server (or a file:// folder) holding crops the tests write
from the project's own examples, checked against their own hashes.
"""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest
import tifffile

from l1bsr_core import weights
from l1bsr_demo.fetch import RealExamples

from support import serve_folder, write_mirror


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """(URL, hashes) of a local HTTP mirror with 00 and 01; 02 is expected but absent."""
    folder = tmp_path_factory.mktemp("mirror")
    hashes = write_mirror(folder)
    hashes["02"] = "0" * 64
    with serve_folder(folder) as url:
        yield url, hashes


def test_fetch_verifies_hashes_and_caches(mirror, tmp_path):
    url, hashes = mirror
    report = RealExamples(url, tmp_path / "cache", hashes=hashes).fetch()
    assert report.done and not report.offline
    assert [e.key for e in report.examples] == ["real-00", "real-01"]
    assert set(report.missing) == {"02"} and "not available" in report.missing["02"]
    for example in report.examples:
        assert weights.sha256_of(example.path) == hashes[example.key[-2:]]
    assert report.about == "L1B 00 … 01 are real Sentinel-2 L1B crops from the authors' repository (no ground truth)."
    assert report.note == "2 real L1B examples available; not available: 02."
    # A second run uses the verified cache and needs no server at all.
    again = RealExamples("http://127.0.0.1:9", tmp_path / "cache", hashes=hashes).fetch()
    assert len(again.examples) == 2 and again.offline


def test_fetch_discards_a_file_whose_hash_does_not_match(tmp_path):
    """Runs on crops the test writes itself (no ../shared needed), with their own hashes."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    crops = {name: tmp_path / f"made_{name}.tif" for name in ("00", "01", "02")}
    for value, path in enumerate(crops.values(), start=1):
        tifffile.imwrite(path, np.full((64, 64, 4), value, np.uint16))
    hashes = {name: weights.sha256_of(path) for name, path in crops.items()}
    shutil.copyfile(crops["01"], mirror / "00.tif")  # wrong content under 00
    shutil.copyfile(crops["01"], mirror / "01.tif")  # 02 is not on the mirror at all
    report = RealExamples(mirror.as_uri(), tmp_path / "cache", hashes=hashes).fetch()  # a file:// mirror
    assert [e.key for e in report.examples] == ["real-01"]
    assert "mismatch" in report.missing["00"]
    assert not (tmp_path / "cache" / "00.tif").exists()
    assert report.missing["02"] == "not available" and not report.offline


def test_unreachable_server_falls_back_quickly(tmp_path):
    silent = socket.socket()  # accepts connections but never answers: a hanging server
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fetcher = RealExamples(f"http://127.0.0.1:{silent.getsockname()[1]}", tmp_path / "cache", timeout=0.5)
        report = fetcher.fetch()
    finally:
        silent.close()
    assert report.offline and not report.examples
    assert set(report.missing.values()) == {"server unreachable"}  # one timeout, then the rest skipped
    assert "could not be fetched" in report.note
    assert report.about == ""  # nothing says real examples are there
