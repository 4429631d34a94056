"""The words and tables of a result: Markdown summaries and the rows of the page's tables.

Shifts and flows are in input pixels (10 m); flows are (3, 2, H, W) for B, R, NIR onto G,
channel 0 = dx, 1 = dy, with ``registered(y, x) = band(y + dy, x + dx)``. Images are (H, W, 4)
in band order B, G, R, NIR.
"""

from __future__ import annotations

import math

import numpy as np

from l1bsr_core import inference, metrics
from l1bsr_core.bands import BAND_NAMES, MOVING_BAND_NAMES, NIR, SCALE_FACTOR

from .examples import REAL
from .inputs import LoadedInput
from .viz import as_flow_stack

MISSING = "–"
"""What a table shows for a value that could not be measured."""

MISREGISTRATION_HEADERS = ("band", "median before", "median after", "p90 before", "p90 after", "windows")
"""Columns of the residual misregistration table: shift magnitudes in input pixels (10 m)."""

FLOW_STATS_HEADERS = ("band", "mean dx (px)", "mean dy (px)", "mean |flow| (px)", "max |flow| (px)")
"""Columns of the flow statistics table."""

EPE_BORDER_PX = 4
"""Pixels left out along each side when a flow is scored against the true one."""


def format_number(value: float | None, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or :data:`MISSING` for None, NaN or infinity."""
    return MISSING if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def markdown_table(headers, rows) -> str:
    """A Markdown table; None cells show as :data:`MISSING`."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(MISSING if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def timings_table(timings: dict[str, float]) -> str:
    """Markdown table of step → seconds."""
    return markdown_table(("step", "time (s)"), [[step, f"{seconds:.2f}"] for step, seconds in timings.items()])


def misregistration_rows(before: dict | None, after: dict | None) -> list[list]:
    """Rows of :data:`MISREGISTRATION_HEADERS` from two :func:`l1bsr_core.misregistration.misregistration`
    reports (None when an image was too small to measure)."""

    def value(stats: dict, key: str) -> float | None:
        v = stats.get(key, math.nan)
        return round(v, 2) if math.isfinite(v) else None

    rows = []
    for band in MOVING_BAND_NAMES:
        b, a = (before or {}).get(band, {}), (after or {}).get(band, {})
        rows.append([band, value(b, "median_px"), value(a, "median_px"), value(b, "p90_px"), value(a, "p90_px"),
                     f"{b.get('n_windows', 0)} / {a.get('n_windows', 0)}"])
    return rows


def flow_stats(flow: np.ndarray, names: tuple[str, ...] = MOVING_BAND_NAMES) -> list[list]:
    """Rows of :data:`FLOW_STATS_HEADERS`: [name, mean dx, mean dy, mean |f|, max |f|] in pixels.

    ``flow`` is (K, 2, H, W) (or one (2, H, W) flow); values are rounded to 3 decimals.
    """
    rows = []
    for name, f in zip(names, as_flow_stack(flow).astype(np.float64)):
        norm = np.hypot(f[0], f[1])
        rows.append([name, *(round(float(v), 3) for v in (f[0].mean(), f[1].mean(), norm.mean(), norm.max()))])
    return rows


def psnr_table(truth: np.ndarray, candidates: dict[str, np.ndarray]) -> str:
    """Markdown table of PSNR (dB) per band of each (2H, 2W, 4) candidate against the true 5 m image."""
    rows = []
    for label, image in candidates.items():
        values = [metrics.psnr(image[..., b].astype(np.float64), truth[..., b].astype(np.float64))
                  for b in range(len(BAND_NAMES))]
        rows.append([label, *(format_number(v) for v in values), format_number(float(np.mean(values)))])
    return markdown_table(["PSNR vs true 5 m (dB)", *BAND_NAMES, "mean"], rows)


def flow_error_line(flow: np.ndarray, true_flow: np.ndarray) -> str:
    """One sentence: the mean endpoint error (px) of each band's flow against the true flow."""
    errors = [metrics.flow_epe(estimated, true, border=EPE_BORDER_PX) for estimated, true in zip(flow, true_flow)]
    return ("**Against the true flows** of this synthetic example (mean endpoint error, px): "
            + ", ".join(f"{band} {format_number(e, 3)}" for band, e in zip(MOVING_BAND_NAMES, errors)) + ".")


def model_name(kind: str) -> str:
    """The network of ``kind`` in a few plain words: name and size (the banner at the top)."""
    info = inference.model_info(kind)
    return f"`{info['name']}` ({info['parameters'] / 1e6:.2f} M parameters)"


def model_line(kind: str) -> str:
    """The network of ``kind`` ("rec" or "csr") in words: name, version, size."""
    info = inference.model_info(kind)
    version = f", version {info['version']}" if info.get("version") else ""
    return f"`{info['name']}`{version}, {info['parameters'] / 1e6:.2f} M parameters"


def window_text(loaded: LoadedInput) -> str:
    """The processed size, and where the window lies when it is not the whole file."""
    x0, y0, w, h = loaded.window
    if loaded.is_whole:
        return f"{w} × {h} px"
    full_h, full_w = loaded.full_shape
    text = f"window {w} × {h} px at ({x0}, {y0}) of {full_w} × {full_h} px"
    if loaded.moved_from is not None:
        text += f" (moved from ({loaded.moved_from[0]}, {loaded.moved_from[1]}) to fit inside the image)"
    return text


ESTIMATE_NAME = ("phase-correlation estimate (same family as the CSR: a consistency check, "
                 "not an independent one)")
"""What the residual misregistration is measured with, in words, wherever the page names it."""

MISREGISTRATION_TEXT = (
    f"**Residual misregistration vs G**: shift of B, R, NIR against G by the project's {ESTIMATE_NAME}, "
    "in input pixels (10 m); before = the input, after = the REC output "
    "averaged back to 10 m. *windows*: confident measurements before / after."
)

NIR_NOTE = (
    "**NIR is the weakest band.** Its edges often have the opposite sign to G's (vegetation is bright "
    "in NIR, dark in the visible) and many have no counterpart in G, so its flow onto G is measured "
    "less precisely: on real crops the estimates read about 0.1 px of residual misregistration for NIR, "
    "against about 0.02 px for B and R, and below about 0.1 px no estimator here can tell NIR's true "
    "residual from its own bias (each reads some even where nothing is misregistered). A 5 m NIR "
    "placed a fraction of a pixel off can score below plain enlargement even where it "
    "is sharper. In the fringe view, what stays coloured once NIR is aligned is content that NIR has "
    "and G lacks (or the reverse), without a partner line beside it."
)
"""Said under a super-resolution where NIR scores below plain enlargement, and on the page."""


def nir_below_enlargement(truth: np.ndarray, enlarged: np.ndarray, output: np.ndarray) -> bool:
    """True when the output's NIR scores a lower PSNR against ``truth`` than the enlarged input's."""
    def score(image):
        return metrics.psnr(image[..., NIR].astype(np.float64), truth[..., NIR].astype(np.float64))
    return score(output) < score(enlarged)


def superresolution_summary(loaded: LoadedInput, device: str, timings: dict[str, float],
                            misregistration: list[list], psnr: str | None, nir_note: bool = False) -> str:
    """The Markdown under a super-resolution: what ran on what, timings, alignment, scores."""
    h, w = loaded.array.shape[:2]
    s = SCALE_FACTOR
    parts = [
        f"**REC super-resolution** of {loaded.source}: {window_text(loaded)} → {w * s} × {h * s} px "
        f"(the yellow box is the enlarged detail). Model: {model_line('rec')}; device `{device}`.",
        timings_table(timings),
        MISREGISTRATION_TEXT,
        markdown_table(MISREGISTRATION_HEADERS, misregistration),
    ]
    if psnr is not None:
        parts += ["**Against the true 5 m image** of this synthetic example:", psnr]
        if nir_note:
            parts.append(NIR_NOTE)
    elif loaded.example is not None and loaded.example.source == REAL:
        parts.append("Real L1B crop: no ground truth exists; judge the detail and the fringe views.")
    return "\n\n".join(parts)


def registration_summary(loaded: LoadedInput, device: str, timings: dict[str, float],
                         flow_shape: tuple[int, ...], flow_error: str | None) -> str:
    """The Markdown under a registration: what ran on what, timings, the files, flow error."""
    parts = [
        f"**CSR registration** of {loaded.source}: {window_text(loaded)}; B, R and NIR warped onto G "
        f"(the yellow box is the enlarged detail). Model: {model_line('csr')}; device `{device}`.",
        timings_table(timings),
        "Files: the registered crop (16-bit TIFF, G unchanged) and the flows as a NumPy array of "
        f"shape (3, 2, {flow_shape[2]}, {flow_shape[3]}): bands B, R, NIR; channel 0 = dx, 1 = dy in pixels, "
        "with registered(y, x) = band(y + dy, x + dx); and the run's record (JSON: input hash, window, "
        "choices, networks and their hashes, versions, timings).",
    ]
    if flow_error is not None:
        parts.append(flow_error)
    return "\n\n".join(parts)
