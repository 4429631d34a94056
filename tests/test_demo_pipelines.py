"""Tests of l1bsr_demo.pipelines and l1bsr_demo.events: the two tasks from a file to what the page
shows, and what a failed run shows (small random networks: plumbing, not image quality)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
import tifffile

from l1bsr_core import weights
from l1bsr_demo import events, examples, paths, pipelines

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
    assert [Path(f).suffix for f in result.files[1:]] == [".png", ".png", ".json"]
    record = json.loads(Path(result.files[-1]).read_text())
    assert record["task"] == "superresolution" and record["input"]["file"] == "synthetic_1.tif"
    assert record["input"]["sha256"] == weights.sha256_of(example_crops[0])
    assert record["window"] == {"x0": 8, "y0": 16, "width": WINDOW, "height": WINDOW, "whole_image": False,
                                "moved_from": None}
    assert record["parameters"]["upsampling"] == "nearest" and record["parameters"]["fringe_band"] == "NIR"
    assert set(record["networks"]) == {"rec", "csr"} and len(record["networks"]["rec"]["weights_sha256"]) == 64
    assert "torch" in record["versions"] and "super-resolution (REC, cpu)" in record["timings_s"]
    assert record["outputs"] == [Path(f).name for f in result.files[:-1]]
    assert "window 96 × 96 px at (8, 16) of 192 × 192 px" in result.summary
    assert "PSNR vs true 5 m" in result.summary  # a synthetic example is scored against its truth
    fractions = [fraction for fraction, _ in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(result.outputs()) == len(pipelines.SuperResolutionResult.output_names()) == 9
    assert result.status.startswith("**Super-resolution done**") and result.status.endswith("→ 192 × 192 px.")


def test_registration_outputs(example_crops):
    result = pipelines.run_registration(example_crops[1], window_size=WINDOW)
    registered = tifffile.imread(result.files[0])
    flow = np.load(result.files[1])
    assert json.loads(Path(result.files[-1]).read_text())["networks"].keys() == {"csr"}
    original = tifffile.imread(example_crops[1])[:WINDOW, :WINDOW]
    np.testing.assert_array_equal(registered[..., 1], original[..., 1])  # G is the reference, unchanged
    assert flow.shape == (3, 2, WINDOW, WINDOW) and flow.dtype == np.float32
    assert [row[0] for row in result.flow_stats] == [row[0] for row in result.misregistration] == ["B", "R", "NIR"]
    assert result.flows.ndim == result.quiver.ndim == 3
    assert "Against the true flows" in result.summary and "CSR registration" in result.summary
    assert result.status.startswith("**Registration done**")
    assert result.ndvi_before.shape == result.ndvi_after.shape == result.fringe_before.shape


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
    assert outputs[names.index("status")] == summary  # beside the Run button too, in view
    assert all(value is None for name, value in zip(names, outputs) if name not in ("summary", "status"))
    assert error.value.message in summary and not error.value.visible  # for API clients, no pop-up
    # on the page the same failure is shown, not raised (no "Error" badge over the result), and
    # the optional truth detail is hidden
    (on_page,) = list(events.superresolve(bad, "true", "bicubic", "B", 0, 0, 0, on_page=True))
    shown = dict(zip(names, on_page))
    assert shown["zoom_truth"] == gr.update(value=None, visible=False)
    assert shown["summary"] == shown["status"] == summary and shown["slider"] is None
    (good,) = list(events.register(example_crops[0], "true", "B", 0, 0, WINDOW))
    assert "CSR registration" in good[pipelines.RegistrationResult.output_names().index("summary")]


@pytest.mark.parametrize("run", [events.superresolve, events.register])
def test_a_page_run_stops_at_its_next_progress_report_once_its_session_changes_input(example_crops, run,
                                                                                     monkeypatch):
    """The visitor's new file stops their run after the tile being computed (nothing drawn, no file
    written, no output); another visitor's new file does not, nor the visitor's own file picked
    again, nor the change to the run's own file handled after the run started (the page's events
    are not ordered)."""
    monkeypatch.setattr(events, "_PAGE_FILES", {})
    steps = []
    picked = {}  # session → the file it picks while the networks are at work

    def progress(fraction, text):
        steps.append(text)
        if "tile" in text and picked:
            session, image = picked.popitem()
            events.new_file(image, SimpleNamespace(session_hash=session))

    options = ("true", "B", 0, 0, WINDOW) if run is events.register else ("true", "bicubic", "B", 0, 0, WINDOW)
    events.new_file(example_crops[0], SimpleNamespace(session_hash="visitor"))
    picked["visitor"] = example_crops[1]
    assert list(run(example_crops[0], *options, progress, on_page=True, session="visitor")) == []
    assert "tile" in steps[-1] and "Drawing" not in steps
    assert not (paths.TEMP_ROOT.exists() and any(paths.TEMP_ROOT.iterdir()))
    for session, image, shown in (("another visitor", example_crops[1], example_crops[0]),
                                  ("visitor", example_crops[0], example_crops[0]),
                                  ("visitor", example_crops[0], example_crops[1])):
        events.new_file(shown, SimpleNamespace(session_hash="visitor"))
        steps.clear()
        picked[session] = image
        (outputs,) = list(run(example_crops[0], *options, progress, on_page=True, session="visitor"))
        assert steps[-1] == "Done" and not picked


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
    assert "Running on the CPU (`cpu`)" in banner
    assert "step" not in banner  # no checkpoint jargon at the top of the page


def test_the_run_buttons_are_off_while_running_and_for_a_bad_file(tmp_path, example_crops):
    status, *buttons = events.run_started("superresolution")
    assert "running" in status and all(b["interactive"] is False for b in buttons)
    assert all(b["interactive"] is True for b in events.run_finished(True))
    assert all(b["interactive"] is False for b in events.run_finished(False))
    bad = tmp_path / "holiday.tif"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    preview, about, x0, y0, size, panel, sr, reg, usable = events.describe_input(str(bad))
    assert preview is None and about.startswith(events.FAILURE_MARK) and not usable
    assert sr["interactive"] is False and reg["interactive"] is False
    preview, about, x0, y0, size, panel, sr, reg, usable = events.describe_input(str(example_crops[0]))
    assert usable and sr["interactive"] is True and (x0, y0, size) == (0, 0, 0) and panel["open"] is False


def test_nir_note_when_nir_scores_below_enlargement(example_crops, monkeypatch):
    monkeypatch.setattr(pipelines.summaries, "nir_below_enlargement", lambda *args: True)
    result = pipelines.run_superresolution(example_crops[0], window_size=WINDOW)
    assert "NIR is the weakest band" in result.summary


def test_the_airborne_example_is_shown_beside_its_truth_and_scored():
    """The teaching example: the true 5 m detail beside the output, per-band scores, what it teaches."""
    airborne = next(e for e in examples.synthetic_examples() if e.source == examples.AIRBORNE)
    result = pipelines.run_superresolution(airborne.path)
    assert result.zoom_truth is not None and result.zoom_truth.shape == result.zoom_after.shape
    assert "PSNR vs true 5 m (dB) | B | G | R | NIR | mean" in result.summary
    assert "of this airborne example" in result.summary and "what it invents" in result.summary
    registered = pipelines.run_registration(airborne.path)
    assert "Against the true flows" in registered.summary and "Known displacements" in registered.summary
    assert "invents" not in registered.summary  # each task says its own lesson


def test_an_example_without_truth_has_no_truth_detail(tmp_path, example_crops):
    upload = tmp_path / "mine.tif"
    tifffile.imwrite(upload, tifffile.imread(example_crops[0])[::-1].copy())  # not an example any more
    assert pipelines.run_superresolution(upload, window_size=WINDOW).zoom_truth is None


def test_large_results_are_shown_reduced_with_a_visible_box():
    """A 4000² result is shown at most SLIDER_MAX_SIDE px a side, its box a few pixels wide (not a
    hairline once the browser shrinks it); the misregistration of a large image uses fewer windows."""
    side = 4000
    before = np.zeros((side, side, 3), np.uint8)
    after = np.full((side, side, 3), 200, np.uint8)
    shown_before, shown_after = pipelines._slider_pair(before, after, (1000, 1000, 400, 400))
    assert shown_before.shape == shown_after.shape == (1333, 1333, 3)  # 3 × 3 block means
    assert max(shown_after.shape[:2]) <= pipelines.SLIDER_MAX_SIDE and shown_after[700, 700].tolist() == [200] * 3
    yellow = (shown_before == (255, 214, 0)).all(axis=-1)
    assert yellow[333:339, 400].all() and not yellow[340, 400]  # the top edge: 6 px wide, at 1000 / 3
    assert pipelines.misregistration_step((192, 192)) == pipelines.MISREGISTRATION_STEP
    step = pipelines.misregistration_step((1024, 1024))
    assert (1024 // step) ** 2 <= pipelines.MISREGISTRATION_MAX_WINDOWS


def test_a_copernicus_browser_export_is_super_resolved_with_its_notice(tmp_path):
    import rasterio
    from coregistered_support import EPSG, ORIGIN, reflectance_scene, write_export

    values = reflectance_scene(96, 96).astype(np.float32)
    values[:4] = np.nan
    export = write_export(tmp_path / "browser_export.tif", values, nodata=float("nan"))
    result = pipelines.run_superresolution(export)
    assert "Input L1C/L2A: outside the networks' L1B training domain" in result.status
    assert "REC without CSR alignment" in result.status
    with rasterio.open(result.files[0]) as dataset:
        sr = dataset.read()
        assert dataset.dtypes[0] == "float32" and dataset.crs.to_epsg() == EPSG
        assert (dataset.transform.a, dataset.transform.c, dataset.transform.f) == (5.0, *ORIGIN)
        assert dataset.tags()["L1BSR_INPUT_LEVEL"] == "L1C/L2A"
    assert np.isnan(sr[:, :8]).all() and np.isfinite(sr[:, 8:]).all()
    assert abs(np.nanmean(sr[1, 16:]) / np.nanmean(values[8:, :, 1]) - 1) < 0.01
    record = json.loads(Path(result.files[-1]).read_text())
    assert record["input_domain"]["in_domain"] is False and record["input_domain"]["input_level"] == "L1C/L2A"
