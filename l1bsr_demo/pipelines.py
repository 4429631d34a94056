"""The demo's two tasks, from a file to every picture, table, text and file the page shows.

:func:`run_superresolution` and :func:`run_registration` read an uploaded or chosen crop
(optionally a window of it, :mod:`l1bsr_demo.inputs`), run the networks of
:mod:`l1bsr_core.inference` and return a :class:`SuperResolutionResult` or a
:class:`RegistrationResult`, whose fields are the page's outputs in order. Files go to a fresh
folder per request (:func:`l1bsr_demo.paths.new_request_dir`). Problems the user can fix raise
:class:`~l1bsr_core.errors.L1BSRError` with a one-line message; nothing here knows about gradio.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); flows are
(3, 2, H, W) for B, R, NIR onto G, channel 0 = dx, 1 = dy, ``registered(y, x) = band(y + dy, x + dx)``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from l1bsr_core import inference
from l1bsr_core.bands import MOVING_BAND_NAMES, MOVING_BANDS, SCALE_FACTOR
from l1bsr_core.errors import InputError, L1BSRError
from l1bsr_core.io import read_bgrn, write_bgrn
from l1bsr_core.misregistration import misregistration
from l1bsr_core.outputs import atomic_output, save_flow
from l1bsr_core.resample import UPSAMPLING_METHODS, block_mean, upsample

from . import figures, paths, records, speed, summaries, viz
from .inputs import LoadedInput, load_input

log = logging.getLogger(__name__)

DEVICE_ENV = "L1BSR_DEVICE"
"""Environment variable naming the torch device of the demo ("cpu", "cuda")."""

Progress = Callable[[float, str], None]
"""Called as ``progress(fraction_done, what_is_being_done)``, fraction in [0, 1]."""

DETAIL_SIZE = 96
"""Side of the zoomed detail, in input pixels."""

REGISTRATION_DETAIL_SIZE = DETAIL_SIZE + 32
"""Side of the registration's fringe detail, in input pixels (shown at 10 m, so a little larger)."""

DETAIL_ZOOM = 2
"""Enlargement of the super-resolution detail views (applied at 5 m: 4 screen pixels per input pixel)."""

FRINGE_ZOOM = 3
"""Enlargement of the registration fringe views (input pixels)."""

QUIVER_CELLS = 12
"""About this many arrows along the shorter side of the quiver figure …"""

QUIVER_MIN_STEP = 16
"""… but never closer than this, in input pixels."""

MISREGISTRATION_MIN_SIDE = 64
"""Smallest side on which the residual misregistration is measured (one correlation window)."""

MISREGISTRATION_STEP = 32
"""Spacing of the correlation windows of the residual misregistration, input pixels."""

UPSAMPLING_CHOICES = [("Bicubic", "bicubic"), ("Nearest neighbour (pixels as they are)", "nearest")]
MODE_CHOICES = [(label, key) for key, label in viz.MODE_LABELS.items()]
FRINGE_CHOICES = [(f"{name} vs G", name) for name in MOVING_BAND_NAMES]
DEFAULT_FRINGE_BAND = MOVING_BAND_NAMES[0]


@dataclass(frozen=True)
class PageResult:
    """A task's result; its fields are the page's outputs, in order."""

    @classmethod
    def output_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def outputs(self) -> tuple:
        """The field values in order (what the page's event returns)."""
        return tuple(getattr(self, name) for name in self.output_names())

    @classmethod
    def failed(cls, message: str) -> tuple:
        """The page's outputs after a failed run: every picture, table and file cleared, the
        one-line ``message`` in place of the summary and as the status beside the Run button."""
        return tuple(message if name in ("summary", "status") else None for name in cls.output_names())


@dataclass(frozen=True)
class SuperResolutionResult(PageResult):
    """What a super-resolution shows.

    Attributes:
        slider: (upsampled input, REC output), uint8 (2h, 2w, 3) RGB, the detail outlined.
        zoom_before, zoom_after: that detail enlarged, uint8 RGB.
        fringe_before, fringe_after: fringe views of the detail (:func:`l1bsr_demo.viz.fringe`).
        summary: Markdown (timings, device, model, residual misregistration, PSNR when known).
        files: paths of the super-resolved 16-bit TIFF, the PNG views and the run's record (JSON,
            :mod:`l1bsr_demo.records`).
        status: one line for beside the Run button (what ran, how long, where the results are).
    """

    slider: tuple[np.ndarray, np.ndarray]
    zoom_before: np.ndarray
    zoom_after: np.ndarray
    fringe_before: np.ndarray
    fringe_after: np.ndarray
    summary: str
    files: list[str]
    status: str


@dataclass(frozen=True)
class RegistrationResult(PageResult):
    """What a registration shows.

    Attributes:
        slider: (input, registered), uint8 (h, w, 3) RGB, the detail outlined.
        flows: colour-coded flows per band with legend (and the true flows when known), RGB.
        quiver: arrows per band over the input, RGB.
        flow_stats, misregistration: rows of :data:`~l1bsr_demo.summaries.FLOW_STATS_HEADERS`
            and :data:`~l1bsr_demo.summaries.MISREGISTRATION_HEADERS`.
        fringe_before, fringe_after: fringe views of the detail before and after.
        summary: Markdown.
        files: paths of the registered 16-bit TIFF, the flow ``.npy``, the PNG views and the
            run's record (JSON).
        status: one line for beside the Run button.
        ndvi_before, ndvi_after: NDVI of the detail before and after (:func:`l1bsr_demo.viz.ndvi_colour`).
    """

    slider: tuple[np.ndarray, np.ndarray]
    flows: np.ndarray
    quiver: np.ndarray
    flow_stats: list[list]
    misregistration: list[list]
    fringe_before: np.ndarray
    fringe_after: np.ndarray
    summary: str
    files: list[str]
    status: str
    ndvi_before: np.ndarray
    ndvi_after: np.ndarray


def device() -> str:
    """Device used by the demo: env ``L1BSR_DEVICE``, else CUDA when available, else CPU."""
    chosen = os.environ.get(DEVICE_ENV)
    if chosen:
        return chosen
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def status_banner() -> str:
    """Markdown about the networks in use, or the one-line reason they cannot be loaded."""
    lines = []
    for kind, label in (("rec", "Super-resolution (REC)"), ("csr", "Registration (CSR)")):
        try:
            lines.append(f"{label}: {summaries.model_name(kind)}.")
        except L1BSRError as error:
            lines.append(f"⚠️ {label} unavailable: {error}")
        except Exception as error:  # a broken checkpoint must not stop the page from loading
            log.exception("demo: cannot load %s", kind)
            lines.append(f"⚠️ {label} unavailable ({type(error).__name__}).")
    lines.append(f"Running on {'the GPU' if device().startswith('cuda') else 'the CPU'} (`{device()}`); "
                 "versions and timings are listed under each result.")
    return " ".join(lines)


def _report(progress: Progress | None, fraction: float, text: str) -> None:
    if progress is not None:
        progress(fraction, text)


def _tile_progress(progress: Progress | None, start: float, end: float, text: str):
    """``(done, total)`` tile callback of :mod:`l1bsr_core.inference` → ``progress`` in [start, end]."""
    def report(done: int, total: int) -> None:
        _report(progress, start + (end - start) * done / total, f"{text}: tile {done} / {total}")

    return report


_MISREGISTRATION_CACHE: dict[tuple, dict] = {}
_MISREGISTRATION_CACHE_SIZE = 32


def _misregistration(image: np.ndarray) -> dict[str, dict] | None:
    """:func:`l1bsr_core.misregistration.misregistration` (None for images under one window),
    memoised by content (the input is measured again by every run on it)."""
    if min(image.shape[:2]) < MISREGISTRATION_MIN_SIDE:
        return None
    image = np.ascontiguousarray(image)
    key = (hashlib.sha256(image.data).hexdigest(), image.shape, image.dtype.str)
    if key not in _MISREGISTRATION_CACHE:
        if len(_MISREGISTRATION_CACHE) >= _MISREGISTRATION_CACHE_SIZE:
            _MISREGISTRATION_CACHE.pop(next(iter(_MISREGISTRATION_CACHE)))
        _MISREGISTRATION_CACHE[key] = misregistration(image, step=MISREGISTRATION_STEP)
    return _MISREGISTRATION_CACHE[key]


def _truth_window(loaded: LoadedInput) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The example's true 5 m image and true flows cut to the processed window, when known."""
    example = loaded.example
    if example is None:
        return None, None
    x0, y0, w, h = loaded.window
    truth = flow = None
    if example.truth is not None:
        hr, _ = read_bgrn(example.truth)
        s = SCALE_FACTOR
        if hr.shape[:2] == (loaded.full_shape[0] * s, loaded.full_shape[1] * s):
            truth = hr[y0 * s : (y0 + h) * s, x0 * s : (x0 + w) * s]
    if example.flow is not None:
        full = np.load(example.flow)
        if full.shape == (len(MOVING_BANDS), 2, *loaded.full_shape):
            flow = full[:, :, y0 : y0 + h, x0 : x0 + w]
    return truth, flow


def _read_checked(image, display: str, fringe_band: str, window, progress) -> tuple[LoadedInput, dict[str, float]]:
    """Check the display choices both tasks share, then read the crop; returns (input, timings)."""
    if display not in viz.DISPLAY_MODES:
        raise InputError(f"unknown display {display!r}; expected one of {', '.join(viz.DISPLAY_MODES)}")
    if fringe_band not in MOVING_BAND_NAMES:
        raise InputError(f"unknown fringe band {fringe_band!r}; expected one of {', '.join(MOVING_BAND_NAMES)}")
    start = time.perf_counter()
    _report(progress, 0.0, "Reading the crop")
    loaded = load_input(image, *window)
    return loaded, {"read": time.perf_counter() - start}


def _fringe_pair(before: np.ndarray, after: np.ndarray, box, band: str, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Fringe views of ``box`` in two images, with the contrast of the first, enlarged ``zoom`` times."""
    before, after = viz.crop(before, box), viz.crop(after, box)
    stretch = viz.fringe_stretch(before)
    whole = (0, 0, box[2], box[3])
    return tuple(viz.zoom(viz.fringe(image, band, stretch), whole, zoom) for image in (before, after))


def run_superresolution(
    image,
    display: str = "true",
    upsampling: str = "bicubic",
    fringe_band: str = DEFAULT_FRINGE_BAND,
    window_x0: int = 0,
    window_y0: int = 0,
    window_size: int = 0,
    progress: Progress | None = None,
) -> SuperResolutionResult:
    """Super-resolve a crop with REC and return what the page shows.

    Args:
        image: path of a BGRN TIFF.
        display: a key of :data:`l1bsr_demo.viz.DISPLAY_MODES`.
        upsampling: how the input is enlarged beside the output, "bicubic" or "nearest".
        fringe_band: the band compared with G in the fringe views ("B", "R", "NIR").
        window_x0, window_y0, window_size: the window to process (input pixels; size 0 = all).
        progress: see :data:`Progress`.

    Raises:
        L1BSRError: one line, for a bad file, choice or window, or missing weights.
    """
    if upsampling not in UPSAMPLING_METHODS:
        raise InputError(f"unknown upsampling {upsampling!r}; expected one of {', '.join(UPSAMPLING_METHODS)}")
    loaded, timings = _read_checked(image, display, fringe_band, (window_x0, window_y0, window_size), progress)

    where = device()
    start = time.perf_counter()
    _report(progress, 0.05, "Aligning B, R, NIR to G (whole window), then super-resolving tile by tile")
    sr = inference.superresolve(loaded.array, device=where, progress=_tile_progress(progress, 0.05, 0.9,
                                                                                     "Super-resolving"))
    timings[f"super-resolution (REC, {where})"] = time.perf_counter() - start

    start = time.perf_counter()
    _report(progress, 0.9, "Drawing")
    s = SCALE_FACTOR
    stretch = viz.Stretch.from_image(loaded.array)
    shown_input = upsample(loaded.array, s, upsampling)
    smooth_input = shown_input if upsampling == "bicubic" else upsample(loaded.array, s, "bicubic")
    x, y, size, _ = viz.detail_box(loaded.array, DETAIL_SIZE)
    box = (x * s, y * s, size * s, size * s)
    before_rgb, after_rgb = viz.render(shown_input, display, stretch), viz.render(sr, display, stretch)
    slider = (viz.draw_box(before_rgb, box), viz.draw_box(after_rgb, box))
    zoom_before, zoom_after = viz.zoom(before_rgb, box, DETAIL_ZOOM), viz.zoom(after_rgb, box, DETAIL_ZOOM)
    fringe_before, fringe_after = _fringe_pair(shown_input, sr, box, fringe_band, DETAIL_ZOOM)
    timings["pictures"] = time.perf_counter() - start

    start = time.perf_counter()
    _report(progress, 0.93, "Measuring residual misregistration")
    # Measured at 10 m (the output averaged over s × s blocks), where the input needs no resampling.
    misregistration = summaries.misregistration_rows(_misregistration(loaded.array),
                                                     _misregistration(block_mean(sr, s)))
    truth, _ = _truth_window(loaded)
    psnr = None if truth is None else summaries.psnr_table(truth, {"bicubic input": smooth_input, "REC output": sr})
    nir_note = truth is not None and summaries.nir_below_enlargement(truth, smooth_input, sr)
    timings["measurements"] = time.perf_counter() - start

    start = time.perf_counter()
    out = paths.new_request_dir("sr-")
    tiff = out / f"{loaded.name}_x{s}.tif"
    write_bgrn(tiff, sr, like=loaded.info, scale=s)
    files = [
        str(tiff),
        str(viz.save_png(out / f"{loaded.name}_x{s}_{display}.png", after_rgb)),
        str(viz.save_png(out / f"{loaded.name}_input_{upsampling}_{display}.png", before_rgb)),
    ]
    timings["files"] = time.perf_counter() - start
    parameters = {"display": display, "upsampling": upsampling, "fringe_band": fringe_band,
                  "window_x0": window_x0, "window_y0": window_y0, "window_size": window_size}
    files.append(str(records.write_record(out / f"{loaded.name}_x{s}_record.json", "superresolution",
                                          loaded.path, loaded, parameters, ("rec", "csr"), where, timings,
                                          files)))

    summary = summaries.superresolution_summary(loaded, where, timings, misregistration, psnr, nir_note)
    total = sum(timings.values())
    speed.record("superresolution", loaded.array.shape[0] * loaded.array.shape[1], total)
    h, w = loaded.array.shape[:2]
    status = (f"**Super-resolution done** in {total:.1f} s: {summaries.window_text(loaded)} → "
              f"{w * s} × {h * s} px. Results below.")
    _report(progress, 1.0, "Done")
    return SuperResolutionResult(slider, zoom_before, zoom_after, fringe_before, fringe_after, summary, files,
                                 status)


def run_registration(
    image,
    display: str = "true",
    fringe_band: str = DEFAULT_FRINGE_BAND,
    window_x0: int = 0,
    window_y0: int = 0,
    window_size: int = 0,
    progress: Progress | None = None,
) -> RegistrationResult:
    """Register B, R, NIR onto G with CSR and return what the page shows.

    Args: as :func:`run_superresolution` (without ``upsampling``).

    Raises:
        L1BSRError: one line, for a bad file, choice or window, or missing weights.
    """
    loaded, timings = _read_checked(image, display, fringe_band, (window_x0, window_y0, window_size), progress)

    where = device()
    start = time.perf_counter()
    _report(progress, 0.05, "Estimating flows")
    registered, flow = inference.register(loaded.array, device=where,
                                          progress=_tile_progress(progress, 0.05, 0.7, "Registering"))
    timings[f"registration (CSR, {where})"] = time.perf_counter() - start

    start = time.perf_counter()
    _report(progress, 0.7, "Drawing")
    _, true_flow = _truth_window(loaded)
    stretch = viz.Stretch.from_image(loaded.array)
    before_rgb, after_rgb = viz.render(loaded.array, display, stretch), viz.render(registered, display, stretch)
    box = viz.detail_box(loaded.array, min(REGISTRATION_DETAIL_SIZE, *loaded.array.shape[:2]))
    slider = (viz.draw_box(before_rgb, box), viz.draw_box(after_rgb, box))
    flows_png = figures.flow_panel(flow, true_flows=true_flow)
    step = max(QUIVER_MIN_STEP, min(loaded.array.shape[:2]) // QUIVER_CELLS)
    quiver_png = figures.quiver_figure(viz.render(loaded.array, "true", stretch), flow, step=step)
    fringe_before, fringe_after = _fringe_pair(loaded.array, registered, box, fringe_band, FRINGE_ZOOM)
    whole_box = (0, 0, box[2], box[3])
    ndvi_before, ndvi_after = (viz.zoom(viz.ndvi_colour(viz.crop(image, box)), whole_box, FRINGE_ZOOM)
                               for image in (loaded.array, registered))
    stats = summaries.flow_stats(flow)
    timings["pictures"] = time.perf_counter() - start

    start = time.perf_counter()
    _report(progress, 0.85, "Measuring residual misregistration")
    misregistration = summaries.misregistration_rows(_misregistration(loaded.array), _misregistration(registered))
    timings["measurements"] = time.perf_counter() - start

    start = time.perf_counter()
    out = paths.new_request_dir("reg-")
    tiff = out / f"{loaded.name}_registered.tif"
    write_bgrn(tiff, registered, like=loaded.info)
    flow_path = out / f"{loaded.name}_flow.npy"
    with atomic_output(flow_path) as temp:
        save_flow(temp, flow)
    files = [
        str(tiff),
        str(flow_path),
        str(viz.save_png(out / f"{loaded.name}_flows.png", flows_png)),
        str(viz.save_png(out / f"{loaded.name}_quiver.png", quiver_png)),
        str(viz.save_png(out / f"{loaded.name}_registered_{display}.png", after_rgb)),
    ]
    timings["files"] = time.perf_counter() - start
    parameters = {"display": display, "fringe_band": fringe_band,
                  "window_x0": window_x0, "window_y0": window_y0, "window_size": window_size}
    files.append(str(records.write_record(out / f"{loaded.name}_record.json", "registration", loaded.path, loaded,
                                          parameters, ("csr",), where, timings, files)))

    flow_error = None if true_flow is None else summaries.flow_error_line(flow, true_flow)
    summary = summaries.registration_summary(loaded, where, timings, flow.shape, flow_error)
    total = sum(timings.values())
    speed.record("registration", loaded.array.shape[0] * loaded.array.shape[1], total)
    status = (f"**Registration done** in {total:.1f} s: {summaries.window_text(loaded)}, B, R and NIR "
              "moved onto G. Results below.")
    _report(progress, 1.0, "Done")
    return RegistrationResult(slider, flows_png, quiver_png, stats, misregistration, fringe_before, fringe_after,
                              summary, files, status, ndvi_before, ndvi_after)
