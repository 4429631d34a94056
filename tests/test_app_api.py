"""The web demo through its API (gradio_client), against the in-process app.

Networks: the shipped weights when ``weights/`` has them, otherwise small randomly initialised
ones written to a temporary folder (these tests check the wiring, files and messages, not image
quality). Inputs are the project's synthetic examples and crops the tests write; the "authors'
examples" are two such crops served by a local http.server (see ``support.running_app``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402

from l1bsr_core import weights  # noqa: E402
from l1bsr_demo import examples, pipelines  # noqa: E402

gradio_client = pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402

from support import running_app  # noqa: E402

WINDOW = 128  # px; keeps every network call small


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(URL, root folder) of the running app; the fetched examples are under root / "mirror"."""
    root = tmp_path_factory.mktemp("app")
    with running_app(root) as url:
        yield url, root


@pytest.fixture(scope="module")
def client(app, tmp_path_factory):
    return Client(app[0], verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")),
                  analytics_enabled=False)


@pytest.fixture(scope="module")
def fetched(app) -> Path:
    """A copy of the first fetched "authors' example" (what a visitor would upload)."""
    return app[1] / "mirror" / "00.tif"


def by_suffix(files, suffix: str) -> Path:
    matches = [Path(f) for f in files if str(f).endswith(suffix)]
    assert len(matches) == 1, f"expected one {suffix} file in {files}"
    return matches[0]


# --- the two endpoints ---------------------------------------------------------------------------


def test_superresolve_a_fetched_example(client, fetched):
    result = client.predict(handle_file(fetched), window_x0=40, window_y0=60, window_size=WINDOW,
                            api_name="/superresolve")
    slider, zoom_before, zoom_after, zoom_truth, fringe_before, fringe_after, summary, files, status = result
    assert zoom_truth is None  # a real crop has no truth
    sr = tifffile.imread(by_suffix(files, ".tif"))
    assert sr.shape == (2 * WINDOW, 2 * WINDOW, 4) and sr.dtype == np.uint16
    assert len(slider) == 2 and all(str(p).endswith(".png") for p in slider)
    assert all(Path(p).is_file() for p in (zoom_before, zoom_after, fringe_before, fringe_after))
    assert "REC super-resolution" in summary and "window 128 × 128 px at (40, 60)" in summary
    assert "L1B 00 (real)" in summary  # recognised as one of the fetched examples by its hash
    assert "no ground truth" in summary
    assert status.startswith("**Super-resolution done**")


def test_register_a_fetched_example(client, fetched):
    result = client.predict(handle_file(fetched), window_size=WINDOW, api_name="/register")
    (slider, flows, quiver, stats, misregistration, fringe_before, fringe_after, summary, files, status,
     ndvi_before, ndvi_after) = result
    registered = tifffile.imread(by_suffix(files, "_registered.tif"))
    flow = np.load(by_suffix(files, ".npy"))
    assert registered.shape == (WINDOW, WINDOW, 4) and registered.dtype == np.uint16
    assert flow.shape == (3, 2, WINDOW, WINDOW) and flow.dtype == np.float32
    original = tifffile.imread(fetched)[:WINDOW, :WINDOW]
    assert np.array_equal(registered[..., 1], original[..., 1])  # G is the reference, unchanged
    assert [row[0] for row in stats["data"]] == ["B", "R", "NIR"]
    assert [row[0] for row in misregistration["data"]] == ["B", "R", "NIR"]
    assert Path(flows).is_file() and Path(quiver).is_file()
    assert Path(ndvi_before).is_file() and Path(ndvi_after).is_file()
    assert "CSR registration" in summary


def test_synthetic_example_reports_truth(client):
    example = examples.synthetic_examples()[0]
    sr = client.predict(handle_file(example.path), window_size=WINDOW, api_name="/superresolve")
    sr = dict(zip(pipelines.SuperResolutionResult.output_names(), sr))
    assert tifffile.imread(by_suffix(sr["files"], ".tif")).shape == (2 * WINDOW, 2 * WINDOW, 4)
    assert "PSNR vs true 5 m" in sr["summary"] and example.title in sr["summary"]
    assert Path(sr["zoom_truth"]).is_file()  # the true 5 m detail, beside input and output
    reg = client.predict(handle_file(example.path), window_size=WINDOW, api_name="/register")
    assert np.load(by_suffix(reg[8], ".npy")).shape == (3, 2, WINDOW, WINDOW)
    assert "true flows" in reg[7]


# --- messages ------------------------------------------------------------------------------------


def assert_one_line_error(client, path: Path, api_name: str, *expected: str, **options) -> str:
    with pytest.raises(Exception) as caught:
        client.predict(handle_file(path), api_name=api_name, **options)
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
    assert_one_line_error(client, bad, "/superresolve", "3 bands", "B02, B03, B04, B08")


def test_wrong_extension_and_window_outside(client, tmp_path, fetched):
    other = tmp_path / "crop.png"
    shutil.copyfile(fetched, other)
    assert_one_line_error(client, other, "/register", ".tif")  # Gradio refuses it from file_types
    assert_one_line_error(client, fetched, "/register", "outside", window_x0=400, window_size=64)
    assert_one_line_error(client, fetched, "/register", "larger than the demo's limit", window_size=5000)


def test_a_failed_call_does_not_spoil_the_next(client, tmp_path, fetched):
    bad = tmp_path / "empty.tif"
    bad.write_bytes(b"")
    assert_one_line_error(client, bad, "/superresolve", "empty.tif is empty")
    result = client.predict(handle_file(fetched), window_size=64, api_name="/superresolve")
    assert "REC super-resolution" in result[pipelines.SuperResolutionResult.output_names().index("summary")]


def test_missing_weights_message_is_shown(client, tmp_path, fetched):
    saved = os.environ.get(weights.WEIGHTS_DIR_ENV)
    os.environ[weights.WEIGHTS_DIR_ENV] = str(tmp_path)  # an empty folder: no registry, no weights
    try:
        assert_one_line_error(client, fetched, "/superresolve", "no trained REC weights", window_size=64)
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
    assert captions == [e.caption for e in examples.synthetic_examples()] + ["L1B 00", "L1B 01"]
    assert "L1B 00 … 01 are real Sentinel-2 L1B crops" in note and "not available: 02" in note


def test_describe_input_endpoint(client, fetched, tmp_path):
    preview, about, x0, y0, size, *_ = client.predict(handle_file(fetched), api_name="/describe_input")
    assert Path(preview).is_file() and about.startswith("**L1B 00**") and size == 0
    bad = tmp_path / "rgb.tif"
    tifffile.imwrite(bad, np.zeros((64, 64, 3), np.uint16))
    preview, about, *_ = client.predict(handle_file(bad), api_name="/describe_input")
    assert preview is None and about.startswith("⚠️ **rgb.tif has 3 bands")


def test_an_offline_page_says_nothing_of_real_examples(tmp_path, monkeypatch):
    """Built while the authors' examples cannot be fetched: no text on the page claims they are there."""
    import app
    from l1bsr_demo import fetch, paths

    from support import free_port

    monkeypatch.setattr(paths, "TEMP_ROOT", tmp_path / "temp")
    fetch.reset_real_examples(fetch.RealExamples(f"http://127.0.0.1:{free_port()}", tmp_path / "cache"))
    try:
        fetch.real_examples().fetch()  # refused at once: offline
        blocks = app.build_demo()
        texts = [c["props"].get("value") for c in blocks.config["components"] if c.get("type") == "markdown"]
    finally:
        fetch.reset_real_examples()
    page = " ".join(text for text in texts if isinstance(text, str))
    assert "could not be fetched" in page and "synthetic examples only" in page
    assert "are real Sentinel-2" not in page and "L1B 0" not in page
