"""The web demo through its API (gradio_client), and the fetching of the real examples.

The app runs in-process on 127.0.0.1. Networks: the shipped weights when ``weights/`` has them,
otherwise small randomly initialised ones written to a temporary folder (these tests check the
wiring, files and messages, not image quality). Real crops come from ``../shared/data/l1b-examples``;
the "remote" examples are served from that folder by a local http.server.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
import pytest
import tifffile

from l1bsr_core import demo, weights

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from support import SHARED_EXAMPLES, free_port, running_app, serve_folder  # noqa: E402

WINDOW = 128  # px; keeps every network call small


@pytest.fixture(scope="module")
def http_mirror():
    """A local HTTP server whose root holds the seven shared crops (00–06), like the authors' folder."""
    if not SHARED_EXAMPLES.is_dir():
        pytest.skip(f"shared example crops not found at {SHARED_EXAMPLES}")
    with serve_folder(SHARED_EXAMPLES) as url:
        yield url


def make_synthetic_examples(folder: Path) -> Path:
    """The shipped synthetic examples if any, else a stand-in built from a real crop (known truth)."""
    if demo.synthetic_examples():
        return demo.ASSETS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    lr = tifffile.imread(SHARED_EXAMPLES / "01.tif")
    truth = np.repeat(np.repeat(lr, 2, axis=0), 2, axis=1)
    flow = np.zeros((3, 2, *lr.shape[:2]), np.float32)
    flow[:, 0] = 0.5
    tifffile.imwrite(folder / "synthetic_1.tif", lr)
    tifffile.imwrite(folder / "synthetic_1_truth.tif", truth)
    np.save(folder / "synthetic_1_flow.npy", flow)
    (folder / "examples.json").write_text(json.dumps([{
        "name": "synthetic_1", "title": "Synthetic fields", "description": "A test scene.",
        "files": ["synthetic_1.tif", "synthetic_1_truth.tif", "synthetic_1_flow.npy"],
    }]))
    return folder


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, http_mirror):
    saved_assets = demo.ASSETS_DIR
    root = tmp_path_factory.mktemp("app")
    demo.ASSETS_DIR = make_synthetic_examples(root / "assets")
    try:
        with running_app(root, http_mirror) as url:
            yield url
    finally:
        demo.ASSETS_DIR = saved_assets


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    return Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")),
                  analytics_enabled=False)


def by_suffix(files, suffix: str) -> Path:
    matches = [Path(f) for f in files if str(f).endswith(suffix)]
    assert len(matches) == 1, f"expected one {suffix} file in {files}"
    return matches[0]


# --- the two endpoints ---------------------------------------------------------------------------


def test_superresolve_real_crop(client):
    result = client.predict(handle_file(SHARED_EXAMPLES / "03.tif"), window_x0=40, window_y0=60,
                            window_size=WINDOW, api_name="/superresolve")
    slider, zoom_before, zoom_after, fringe_before, fringe_after, summary, files = result
    sr = tifffile.imread(by_suffix(files, ".tif"))
    assert sr.shape == (2 * WINDOW, 2 * WINDOW, 4) and sr.dtype == np.uint16
    assert len(slider) == 2 and all(str(p).endswith(".png") for p in slider)
    assert all(Path(p).is_file() for p in (zoom_before, zoom_after, fringe_before, fringe_after))
    assert "REC super-resolution" in summary and "window 128 × 128 px at (40, 60)" in summary
    assert "L1B 03" in summary  # recognised as the authors' example by its hash


def test_register_real_crop(client):
    result = client.predict(handle_file(SHARED_EXAMPLES / "05.tif"), window_size=WINDOW, api_name="/register")
    slider, flows, quiver, stats, misregistration, fringe_before, fringe_after, summary, files = result
    registered = tifffile.imread(by_suffix(files, "_registered.tif"))
    flow = np.load(by_suffix(files, ".npy"))
    assert registered.shape == (WINDOW, WINDOW, 4) and registered.dtype == np.uint16
    assert flow.shape == (3, 2, WINDOW, WINDOW) and flow.dtype == np.float32
    original = tifffile.imread(SHARED_EXAMPLES / "05.tif")[:WINDOW, :WINDOW]
    assert np.array_equal(registered[..., 1], original[..., 1])  # G is the reference, unchanged
    assert [row[0] for row in stats["data"]] == ["B", "R", "NIR"]
    assert [row[0] for row in misregistration["data"]] == ["B", "R", "NIR"]
    assert Path(flows).is_file() and Path(quiver).is_file()
    assert "CSR registration" in summary


def test_synthetic_example_reports_truth(client):
    example = demo.synthetic_examples()[0]
    sr = client.predict(handle_file(example.path), window_size=WINDOW, api_name="/superresolve")
    assert tifffile.imread(by_suffix(sr[-1], ".tif")).shape == (2 * WINDOW, 2 * WINDOW, 4)
    assert "PSNR vs true 5 m" in sr[5] and example.title in sr[5]
    reg = client.predict(handle_file(example.path), window_size=WINDOW, api_name="/register")
    assert np.load(by_suffix(reg[-1], ".npy")).shape == (3, 2, WINDOW, WINDOW)
    assert "true flows" in reg[7]


# --- messages ------------------------------------------------------------------------------------


def assert_one_line_error(client, path: Path, api_name: str, *expected: str) -> str:
    with pytest.raises(Exception) as caught:
        client.predict(handle_file(path), api_name=api_name)
    message = str(caught.value)
    assert "Traceback" not in message and "\n" not in message.strip(), message
    for text in expected:
        assert text in message, message
    assert "/tmp/gradio" not in message  # names the file, not the server's upload folder
    return message


def test_png_renamed_tif_is_refused_with_one_line(client, tmp_path):
    bad = tmp_path / "photo.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert_one_line_error(client, bad, "/superresolve", "photo.tif", "not a TIFF", "PNG")
    assert_one_line_error(client, bad, "/register", "not a TIFF")


def test_three_band_tiff_is_refused_with_one_line(client, tmp_path):
    bad = tmp_path / "rgb.tif"
    tifffile.imwrite(bad, np.zeros((64, 64, 3), np.uint16))
    assert_one_line_error(client, bad, "/superresolve", "3 bands", "B, G, R, NIR")


def test_wrong_extension_and_big_window(client, tmp_path):
    other = tmp_path / "crop.png"
    shutil.copyfile(SHARED_EXAMPLES / "00.tif", other)
    assert_one_line_error(client, other, "/register", ".tif")  # Gradio refuses it from file_types
    with pytest.raises(Exception, match="outside"):
        client.predict(handle_file(SHARED_EXAMPLES / "00.tif"), window_x0=400, window_size=64, api_name="/register")


def test_missing_weights_message_is_shown(client, tmp_path):
    saved = os.environ.get(weights.WEIGHTS_DIR_ENV)
    os.environ[weights.WEIGHTS_DIR_ENV] = str(tmp_path)  # an empty folder: no registry, no weights
    try:
        with pytest.raises(Exception, match=r"(?i)no trained.*REC.*weights"):
            client.predict(handle_file(SHARED_EXAMPLES / "00.tif"), window_size=64, api_name="/superresolve")
        status = client.predict(api_name="/status")
        assert "unavailable" in status and "no trained" in status.lower()
    finally:
        if saved is None:
            os.environ.pop(weights.WEIGHTS_DIR_ENV)
        else:
            os.environ[weights.WEIGHTS_DIR_ENV] = saved


def test_examples_endpoint_lists_synthetic_and_fetched(client):
    items, note = client.predict(api_name="/examples")
    captions = [item["caption"] for item in items]
    assert captions[0] == demo.synthetic_examples()[0].caption
    assert [c for c in captions if c.startswith("L1B ")] == [f"L1B {i:02d}" for i in range(7)]
    assert "not available: 07, 08, 09" in note


# --- fetching the real examples (no app) ---------------------------------------------------------


def test_fetch_verifies_hashes_and_caches(http_mirror, tmp_path):
    fetcher = demo.RealExamples(http_mirror, tmp_path / "cache")
    report = fetcher.fetch()
    assert report.done and not report.offline
    assert [e.key for e in report.examples] == [f"real-{i:02d}" for i in range(7)]
    assert set(report.missing) == {"07", "08", "09"} and "not available" in report.missing["07"]
    for example in report.examples:
        assert weights.sha256_of(example.path) == demo.REAL_EXAMPLE_SHA256[example.key[-2:]]
    # A second run uses the verified cache and needs no server at all.
    again = demo.RealExamples("http://127.0.0.1:9", tmp_path / "cache").fetch()
    assert len(again.examples) == 7 and again.offline


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
    report = demo.RealExamples(mirror.as_uri(), tmp_path / "cache", hashes=hashes).fetch()  # a file:// mirror
    assert [e.key for e in report.examples] == ["real-01"]
    assert "mismatch" in report.missing["00"]
    assert not (tmp_path / "cache" / "00.tif").exists()
    assert report.missing["02"] == "not available" and not report.offline


def test_unreachable_server_falls_back_quickly(tmp_path):
    silent = socket.socket()  # accepts connections but never answers: a hanging server
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fetcher = demo.RealExamples(f"http://127.0.0.1:{silent.getsockname()[1]}", tmp_path / "cache", timeout=0.5)
        report = fetcher.fetch()
    finally:
        silent.close()
    assert report.offline and not report.examples
    assert set(report.missing.values()) == {"server unreachable"}  # one timeout, then the rest skipped
    assert "could not be fetched" in report.note


def test_gallery_offline_shows_synthetic_only_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "ASSETS_DIR", make_synthetic_examples(tmp_path / "assets"))
    monkeypatch.setattr(demo, "TEMP_ROOT", tmp_path / "temp")
    demo.reset_real_examples(demo.RealExamples(f"http://127.0.0.1:{free_port()}", tmp_path / "cache"))
    try:
        items, keys, note = demo.gallery(wait=5.0)
    finally:
        demo.reset_real_examples()
    assert keys and all(key.startswith("synthetic-") for key in keys)
    assert len(items) == len(keys) and Path(items[0][0]).is_file()
    assert "could not be fetched" in note and "synthetic examples only" in note


def test_initial_gallery_does_not_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "TEMP_ROOT", tmp_path / "temp")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    demo.reset_real_examples(demo.RealExamples(f"http://127.0.0.1:{silent.getsockname()[1]}", tmp_path / "cache",
                                               timeout=2.0))
    try:
        _, _, note = demo.initial_gallery()
        assert "Fetching" in note
    finally:
        demo.real_examples().wait(5.0)
        demo.reset_real_examples()
        silent.close()
