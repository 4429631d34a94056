"""Tests of l1bsr_demo.inputs: reading a chosen or uploaded crop, its window, the line about it."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from l1bsr_core.errors import InputError
from l1bsr_core.io import MIN_SIZE_PX
from l1bsr_demo import inputs

from support import EXAMPLES_DIR


def test_whole_file_and_window(example_crops):
    whole = inputs.load_input(str(example_crops[0]))
    assert whole.is_whole and whole.window == (0, 0, 192, 192) and whole.example.key == "synthetic-synthetic_1"
    window = inputs.load_input(example_crops[0], 20, 10.0, "64")  # numbers as the page sends them
    assert window.window == (20, 10, 64, 64) and not window.is_whole and window.moved_from is None
    np.testing.assert_array_equal(window.array, whole.array[10:74, 20:84])


def test_a_window_past_the_edge_is_moved_inside_keeping_its_size(example_crops):
    moved = inputs.load_input(example_crops[0], 150, 10, 64)
    assert moved.window == (128, 10, 64, 64) and moved.moved_from == (150, 10)
    larger = inputs.load_input(example_crops[0], 10, 0, 300)  # larger than the image: the whole of it
    assert larger.window == (0, 0, 192, 192) and larger.moved_from == (10, 0)


@pytest.mark.parametrize("x0, y0, size, fragment", [
    (0, 0, inputs.DEMO_MAX_SIDE + 1, "larger than the demo's limit"),
    (192, 0, 64, "outside"),
    (0, 0, MIN_SIZE_PX - 1, f"expected at least {MIN_SIZE_PX}"),
    (-1, 0, 64, "x0 must be a whole number of pixels >= 0"),
    ("abc", 0, 64, "x0 must be a whole number"),
])
def test_bad_windows_are_refused_in_one_line(example_crops, x0, y0, size, fragment):
    with pytest.raises(InputError, match=fragment) as error:
        inputs.load_input(example_crops[0], x0, y0, size)
    assert "\n" not in str(error.value)


def test_a_whole_image_over_the_limit_needs_a_window(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "DEMO_MAX_SIDE", 100)
    with pytest.raises(InputError, match="set a window"):
        inputs.load_input(EXAMPLES_DIR / "synthetic_1.tif")
    preview, text = inputs.describe(EXAMPLES_DIR / "synthetic_1.tif")
    assert preview.shape == (192, 192, 3) and "needs a window" in text and "set a window" in text


def test_a_large_image_gets_a_window_proposed_with_times(tmp_path, example_crops, monkeypatch):
    large = tmp_path / "large.tif"
    tifffile.imwrite(large, np.tile(tifffile.imread(example_crops[0]), (6, 6, 1)))  # 1152 × 1152
    x0, y0, size = inputs.proposed_window(large)
    assert size == inputs.PROPOSED_WINDOW and (x0, y0) == ((1152 - size) // 2,) * 2
    assert inputs.proposed_window(example_crops[0]) == (0, 0, 0)  # small: the whole image
    assert inputs.proposed_window(tmp_path / "missing.tif") == (0, 0, 0)
    preview, text = inputs.describe(large, x0, y0, size)
    assert "Large image" in text and "the whole image would take about" in text and "super-resolution" in text
    assert f"Window: {size} × {size} px at ({x0}, {y0})" in text
    assert max(preview.shape[:2]) <= inputs.PREVIEW_SIDE  # whole image, subsampled
    yellow = (preview == (255, 214, 0)).all(axis=-1)
    assert yellow.any() and not yellow[:, :100].any()  # the box is drawn where the window is
    preview, text = inputs.describe(large, x0, y0, 0)  # the visitor set size 0: the whole image
    assert "Window: none (size 0), the whole image is processed" in text and f"at ({x0}, {y0})" not in text
    assert not (preview == (255, 214, 0)).all(axis=-1).any()


def test_the_preview_shows_a_moved_window_and_says_so(example_crops):
    preview, text = inputs.describe(example_crops[0], 150, 0, 64)
    assert "Window: 64 × 64 px at (128, 0)" in text and "Moved from (150, 0)" in text
    yellow = (preview == (255, 214, 0)).all(axis=-1)
    assert yellow[:, 128:].any() and not yellow[:, :127].any()
    _, text = inputs.describe(example_crops[0], 500, 0, 64)
    assert "⚠️ **Window: window corner (500, 0) is outside" in text


def test_messages_name_the_file_not_its_folder(tmp_path):
    bad = tmp_path / "deep" / "folder" / "photo.tif"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(InputError) as error:
        inputs.load_input(bad)
    assert str(error.value).startswith("photo.tif is not a TIFF file") and str(tmp_path) not in str(error.value)
    with pytest.raises(InputError, match=r"crop.png is not a .tif/.tiff file"):
        inputs.input_path(tmp_path / "crop.png")
    with pytest.raises(InputError, match="no input"):
        inputs.input_path(None)


def test_describe(tmp_path, example_crops):
    assert inputs.describe(None) == (None, "")
    preview, text = inputs.describe(example_crops[0])
    assert preview.shape == (192, 192, 3) and preview.dtype == np.uint8
    assert text.startswith("**Synthetic farmland**") and "true 5 m image" in text
    other = tmp_path / "mine.tif"
    tifffile.imwrite(other, tifffile.imread(example_crops[0])[:64, :80])
    first, notice = inputs.describe(other)[1].split("\n\n")
    assert first == "`mine.tif`: 80 × 64 px, 4 bands (B, G, R, NIR), uint16."
    assert "Input unknown level: not known to be L1B, so outside the networks' known L1B" in notice
    assert "--level" not in notice
    tifffile.imwrite(tmp_path / "three.tif", np.zeros((64, 64, 3), np.uint16))
    preview, text = inputs.describe(tmp_path / "three.tif")
    assert preview is None and text.startswith("⚠️ **three.tif has 3 bands")


def test_inputs_say_what_they_are(tmp_path, example_crops):
    from coregistered_support import reflectance_scene, write_export

    export = write_export(tmp_path / "export.tif", reflectance_scene(64, 64).astype(np.float32))
    loaded = inputs.load_input(export)
    assert loaded.domain.co_registered and loaded.export is not None
    assert loaded.array.dtype == np.uint16 and loaded.array.shape == (64, 64, 4)
    _, text = inputs.describe(str(export))
    assert "GeoTIFF export of B02, B03, B04, B08" in text and "outside the networks' L1B training domain" in text
    assert "without CSR alignment" in text
    example = inputs.load_input(example_crops[0])
    assert example.domain.in_domain and example.export is None
    assert "outside" not in inputs.describe(str(example_crops[0]))[1]
    three = write_export(tmp_path / "truecolour.tif", np.full((64, 64, 3), 90, np.uint8))
    assert "3 bands (a true-colour" in inputs.describe(str(three))[1]
