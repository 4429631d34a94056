"""Tests of l1bsr_demo.pipelines and l1bsr_demo.events: the two tasks from a file to what the page
shows, and what a failed run shows (small random networks: plumbing, not image quality)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import tifffile

from l1bsr_demo import events, paths, pipelines

WINDOW = 96


@pytest.fixture(autouse=True)
def temp_root(tmp_path, monkeypatch, use_random_weights):
    monkeypatch.setattr(paths, "TEMP_ROOT", tmp_path / "temp")
    monkeypatch.setenv(pipelines.DEVICE_ENV, "cpu")


def test_superresolution_outputs(example_crops):
    steps = []
    result = pipelines.run_superresolution(example_crops[0], "false", "nearest", "NIR", 8, 16, WINDOW,
                                           progress=lambda fraction, text: steps.append((fraction, text)))
    assert isinstance(result, pipelines.SuperResolutionResult)
    before, after = result.slider
    assert before.shape == after.shape == (2 * WINDOW, 2 * WINDOW, 3) and after.dtype == np.uint8
    assert result.zoom_before.shape == result.zoom_after.shape
    assert result.fringe_before.shape == result.fringe_after.shape
    tiff = Path(result.files[0])
    assert tiff.name == "synthetic_1_x2.tif" and tifffile.imread(tiff).shape == (2 * WINDOW, 2 * WINDOW, 4)
    assert [Path(f).suffix for f in result.files[1:]] == [".png", ".png"]
    assert "window 96 × 96 px at (8, 16) of 192 × 192 px" in result.summary
    assert "PSNR vs true 5 m" in result.summary  # a synthetic example is scored against its truth
    fractions = [fraction for fraction, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(result.outputs()) == len(pipelines.SuperResolutionResult.output_names()) == 7


def test_registration_outputs(example_crops):
    result = pipelines.run_registration(example_crops[1], window_size=WINDOW)
    registered = tifffile.imread(result.files[0])
    flow = np.load(result.files[1])
    original = tifffile.imread(example_crops[1])[:WINDOW, :WINDOW]
    np.testing.assert_array_equal(registered[..., 1], original[..., 1])  # G is the reference, unchanged
    assert flow.shape == (3, 2, WINDOW, WINDOW) and flow.dtype == np.float32
    assert [row[0] for row in result.flow_stats] == [row[0] for row in result.misregistration] == ["B", "R", "NIR"]
    assert result.flows.ndim == result.quiver.ndim == 3
    assert "Against the true flows" in result.summary and "CSR registration" in result.summary


@pytest.mark.parametrize("task, options, fragment", [
    (pipelines.run_superresolution, {"upsampling": "lanczos"}, "unknown upsampling"),
    (pipelines.run_superresolution, {"display": "infrared"}, "unknown display"),
    (pipelines.run_registration, {"fringe_band": "G"}, "unknown fringe band"),
])
def test_bad_choices_are_refused(example_crops, task, options, fragment):
    with pytest.raises(Exception, match=fragment):
        task(example_crops[0], **options)


def test_a_failed_run_clears_every_output_and_says_why_once(tmp_path, example_crops):
    bad = tmp_path / "holiday.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    shown = []
    with pytest.raises(gr.Error) as error:
        for outputs in events.superresolve(bad, "true", "bicubic", "B", 0, 0, 0):
            shown.append(outputs)
    (outputs,) = shown  # one update: the cleared page
    names = pipelines.SuperResolutionResult.output_names()
    summary = outputs[names.index("summary")]
    assert summary.startswith(events.FAILURE_MARK) and "holiday.tif is not a TIFF file" in summary
    assert all(value is None for name, value in zip(names, outputs) if name != "summary")
    assert error.value.message in summary and not error.value.visible  # for API clients, no pop-up
    (good,) = list(events.register(example_crops[0], "true", "B", 0, 0, WINDOW))
    assert "CSR registration" in good[pipelines.RegistrationResult.output_names().index("summary")]


def test_an_internal_error_is_one_line_without_details(example_crops, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals\nline two")

    monkeypatch.setattr(pipelines.inference, "register", broken)
    with pytest.raises(gr.Error) as error:
        list(events.register(example_crops[0], "true", "B", 0, 0, WINDOW))
    assert error.value.message == "internal error (RuntimeError); the server log has the details"


def test_status_banner_names_the_networks_and_device():
    banner = pipelines.status_banner()
    assert "Super-resolution (REC): `rec`" in banner and "Registration (CSR): `csr`" in banner
    assert banner.endswith("Device: `cpu`.")
