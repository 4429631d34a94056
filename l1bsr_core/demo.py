"""Everything the web demo does, so that ``app.py`` only lays out the page and wires events.

Three parts:

* **Examples.** Synthetic crops shipped in ``assets/examples/`` (with their true 5 m image and
  true flows) and the real L1B crops of the authors' repository, downloaded at run time into a
  cache folder and kept only when their SHA-256 matches (:class:`RealExamples`). The download
  runs in the background with a short timeout, so the page opens at once, and offline the
  gallery simply shows the synthetic examples with a note.
* **Pipelines.** :func:`run_superresolution` and :func:`run_registration` read an uploaded or
  chosen crop (optionally a window of it), run the networks of :mod:`l1bsr_core.inference`,
  and return every picture, table, text and file the page shows, in the order of
  :data:`SR_OUTPUTS` and :data:`REGISTRATION_OUTPUTS`. Files go to a fresh folder per request
  under :data:`TEMP_ROOT`.
* **Messages.** Problems the user can fix (:class:`~l1bsr_core.errors.L1BSRError`: a bad file,
  missing weights) reach the page as their one-line message through :class:`gradio.Error`;
  anything else is logged and reported as an internal error, never as a stack trace.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); flows are
(3, 2, H, W) for B, R, NIR onto G, channel 0 = dx, 1 = dy, ``registered(y, x) = band(y + dy, x + dx)``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np

from . import inference, metrics, viz
from .bands import BAND_NAMES, MOVING_BANDS, SCALE_FACTOR
from .errors import InputError, L1BSRError
from .io import MIN_SIZE_PX, atomic_output, read_bgrn, write_bgrn
from .weights import sha256_of

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[1]
ASSETS_DIR = PROJECT_DIR / "assets" / "examples"
"""Synthetic examples shipped with the project (``examples.json`` describes them)."""

TEMP_ROOT = Path(tempfile.gettempdir()) / "l1bsr-demo"
"""Everything the demo writes: thumbnails, copies of chosen examples, per-request outputs."""

REQUEST_TTL_S = 2 * 3600
"""Request folders older than this are deleted when a new request starts."""

EXAMPLES_URL_ENV = "L1BSR_EXAMPLES_URL"
DEFAULT_EXAMPLES_URL = "https://raw.githubusercontent.com/centreborelli/L1BSR/master/examples"
"""The authors' repository (GPL-3.0), folder of the ten example crops ``00.tif`` … ``09.tif``."""

CACHE_ENV = "L1BSR_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "l1bsr" / "examples"

DEVICE_ENV = "L1BSR_DEVICE"

REAL_EXAMPLE_SHA256 = {
    "00": "6b13bcbe66de6066fe52bb1828b56742288fc30cd0b1dfe1d69a7304c0a9f442",
    "01": "4ace0e06bab79ac3ba07ed54680c1592a3d7a138cf36ab11929d048182321dbd",
    "02": "896946aea5890d59669e0040fab96fe94d7a738509b2d50db4bd7cf062f5f26a",
    "03": "504ddb4f0f0046ff86f48ea5c94acd172e0d6c6940b4cf27c43127381db592fe",
    "04": "9308295503f7a587edbd8c54dbaf0eaf46119363235b62229a514fab0a14ec46",
    "05": "828fde0cd88876b707b3d847683b72de55a4a84282d39429715fd393017cc4a1",
    "06": "4add6db29938d4897d2c2d0c983df77b0bd3d4ae3cb7e2eca685ed609e832d31",
    "07": "a197b80577c76341efdd8af5afb1728e1c5f6d95c06e5c033a2b7fbb22f993af",
    "08": "9a5bca437df191e3da3681861b1d583b062f83cadda37c12b34f7d169196d298",
    "09": "02596cabfb5ee993e388219703b929b1d18a82d6536e4442a9a338aa23054342",
}
"""SHA-256 of the authors' example crops; a download that does not match is discarded."""

FETCH_TIMEOUT_S = 3.0
"""Socket timeout of one download; the first network failure stops the whole fetch (offline)."""

FETCH_BUDGET_S = 60.0
"""Total time allowed for downloading all real examples."""

MAX_DOWNLOAD_BYTES = 16 << 20
"""A real example is ~1 MB; anything larger than this is not one of them."""

DEMO_MAX_SIDE = 2048
"""Largest image side processed at once; larger uploads need a window (x0, y0, size)."""

DETAIL_SIZE = 96
"""Side of the zoomed detail, in input pixels."""

DETAIL_ZOOM = 2
"""Enlargement of the detail views (applied at 5 m, i.e. 4 screen pixels per input pixel)."""

FRINGE_ZOOM = 3
"""Enlargement of the registration fringe views (input pixels)."""

MISREGISTRATION_MIN_SIDE = 64
"""Smallest side on which the residual misregistration is measured (one correlation window)."""

UPSAMPLING_CHOICES = [("Bicubic", "bicubic"), ("Nearest neighbour (pixels as they are)", "nearest")]
MODE_CHOICES = [(label, key) for key, label in viz.MODE_LABELS.items()]
FRINGE_CHOICES = [("B (blue) vs G", "B"), ("R (red) vs G", "R"), ("NIR vs G", "NIR")]
DEFAULT_FRINGE_BAND = "B"

MISREGISTRATION_HEADERS = ("band", "median before", "median after", "p90 before", "p90 after", "windows")
"""Columns of the residual misregistration table: shift magnitudes in input pixels (10 m)."""

SR_OUTPUTS = ("slider", "zoom_before", "zoom_after", "fringe_before", "fringe_after", "summary", "files")
"""What :func:`run_superresolution` returns, in order."""

REGISTRATION_OUTPUTS = (
    "slider", "flows", "quiver", "flow_stats", "misregistration", "fringe_before", "fringe_after",
    "summary", "files",
)
"""What :func:`run_registration` returns, in order."""


# === Errors ==================================================================================


def _user_errors(fn: Callable) -> Callable:
    """Show an :class:`L1BSRError` as its one-line message; log anything else, show a short line."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except L1BSRError as error:
            raise gr.Error(str(error), print_exception=False) from None
        except Exception as error:
            log.exception("demo: unexpected error in %s", fn.__name__)
            raise gr.Error(
                f"internal error ({type(error).__name__}); the server log has the details", print_exception=False
            ) from None

    return wrapper


# === Examples ================================================================================


@dataclass(frozen=True)
class Example:
    """One example crop of the gallery.

    Attributes:
        key: unique id ("synthetic-…" or "real-00").
        title, description: words for the gallery and the result summary.
        path: the (H, W, 4) uint16 L1B-like input TIFF.
        truth: the true (2H, 2W, 4) 5 m image (synthetic examples only).
        flow: the true (3, 2, H, W) flows of B, R, NIR onto G, ``.npy`` (synthetic only).
        source: "synthetic" or "real".
    """

    key: str
    title: str
    description: str
    path: Path
    truth: Path | None = None
    flow: Path | None = None
    source: str = "synthetic"

    @property
    def file_name(self) -> str:
        """Name of the input file as the visitor sees it ("synthetic_1.tif", "l1b_03.tif")."""
        return self.path.name if self.source == "synthetic" else f"l1b_{self.key.removeprefix('real-')}.tif"

    @property
    def caption(self) -> str:
        """A short gallery caption ("Farmland", "L1B 03")."""
        title = self.title
        if self.source == "synthetic" and title.lower().startswith("synthetic "):
            title = title[len("synthetic ") :]
        return title[:1].upper() + title[1:]


def _classify_files(files, folder: Path) -> dict[str, Path]:
    """``files`` of an examples.json entry (a dict by role or a list of names) → role → path."""
    roles: dict[str, Path] = {}
    if isinstance(files, dict):
        aliases = {"input": "input", "lr": "input", "image": "input", "l1b": "input", "truth": "truth",
                   "hr": "truth", "target": "truth", "flow": "flow", "flows": "flow"}
        for role, name in files.items():
            if role.lower() in aliases and isinstance(name, str):
                roles[aliases[role.lower()]] = folder / name
        return roles
    for name in files or []:
        lower = str(name).lower()
        if lower.endswith(".npy") and "flow" in lower:
            roles["flow"] = folder / name
        elif lower.endswith((".tif", ".tiff")):
            roles["truth" if "truth" in lower else "input"] = folder / name
    return roles


def synthetic_examples(folder: Path | None = None) -> list[Example]:
    """The shipped synthetic examples whose input file exists (none when ``folder`` is absent).

    Read from ``examples.json`` (a list, or ``{"examples": [...]}``, of entries with ``name``,
    ``title``, ``description`` and ``files``); without it, every ``*.tif`` not ending in
    ``_truth.tif`` is an example, with ``<stem>_truth.tif`` and ``<stem>_flow.npy`` beside it.
    """
    folder = Path(folder or ASSETS_DIR)
    if not folder.is_dir():
        return []
    entries = []
    index = folder / "examples.json"
    if index.is_file():
        try:
            raw = json.loads(index.read_text())
        except (OSError, json.JSONDecodeError) as error:
            log.warning("demo: cannot read %s: %s", index, error)
            raw = []
        items = raw.get("examples", []) if isinstance(raw, dict) else raw
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or "")
            files = _classify_files(item.get("files"), folder)
            if "input" not in files and name:
                files["input"] = folder / f"{name}.tif"
            entries.append((name, item.get("title") or name, item.get("description") or "", files))
    else:
        for path in sorted(folder.glob("*.tif")):
            if path.stem.endswith("_truth"):
                continue
            files = {"input": path, "truth": folder / f"{path.stem}_truth.tif", "flow": folder / f"{path.stem}_flow.npy"}
            entries.append((path.stem, path.stem.replace("_", " "), "", files))
    examples = []
    for name, title, description, files in entries:
        path = files.get("input")
        if path is None or not path.is_file():
            continue
        truth, flow = files.get("truth"), files.get("flow")
        examples.append(Example(
            key=f"synthetic-{name or path.stem}",
            title=str(title),
            description=str(description),
            path=path,
            truth=truth if truth is not None and truth.is_file() else None,
            flow=flow if flow is not None and flow.is_file() else None,
            source="synthetic",
        ))
    return examples




def _real_example(name: str, path: Path) -> Example:
    return Example(
        key=f"real-{name}",
        title=f"L1B {name}",
        description=f"Sentinel-2 L1B crop {name}.tif from the authors' repository (no ground truth).",
        path=path,
        source="real",
    )


@dataclass
class FetchReport:
    """Outcome of fetching the real examples.

    Attributes:
        examples: the verified examples, in name order.
        missing: name → why it is not there ("not available", "SHA-256 mismatch, discarded", …).
        offline: True when the server could not be reached at all.
        done: False while the background fetch is still running.
    """

    examples: list[Example] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    offline: bool = False
    done: bool = False
    url: str = ""

    @property
    def note(self) -> str:
        """One line for the page about the real examples (empty when all are there)."""
        if not self.done:
            return "Fetching the real L1B examples from the authors' repository…"
        if self.offline and not self.examples:
            return (f"The real L1B examples could not be fetched ({self.url} is unreachable); "
                    "showing the synthetic examples only. You can still upload your own crop.")
        if self.missing:
            names = ", ".join(sorted(self.missing))
            return f"{len(self.examples)} real L1B examples available; not available: {names}."
        return ""


class RealExamples:
    """Download, verify and cache the authors' example crops, in the background.

    Args:
        base_url: folder URL holding ``00.tif`` …; default env ``L1BSR_EXAMPLES_URL`` or the
            authors' repository. ``http(s)://`` and ``file://`` URLs work.
        cache_dir: where verified files are kept; default env ``L1BSR_CACHE`` or
            ``~/.cache/l1bsr/examples``.
        hashes: name → expected SHA-256.
        timeout: socket timeout of one request; the first network failure ends the fetch.
        budget: total seconds for all downloads.
    """

    def __init__(
        self,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        *,
        hashes: dict[str, str] = REAL_EXAMPLE_SHA256,
        timeout: float = FETCH_TIMEOUT_S,
        budget: float = FETCH_BUDGET_S,
    ):
        self.base_url = (base_url or os.environ.get(EXAMPLES_URL_ENV) or DEFAULT_EXAMPLES_URL).rstrip("/")
        self.cache_dir = Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)
        self.hashes = dict(hashes)
        self.timeout = float(timeout)
        self.budget = float(budget)
        self._report = FetchReport(url=self.base_url)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()

    def start(self) -> "RealExamples":
        """Start the background fetch (once); return immediately."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="l1bsr-examples", daemon=True)
                self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> FetchReport:
        """Start if needed, wait up to ``timeout`` seconds, and return the report so far."""
        self.start()
        self._finished.wait(timeout)
        return self.report()

    def report(self) -> FetchReport:
        with self._lock:
            r = self._report
            return FetchReport(list(r.examples), dict(r.missing), r.offline, r.done, r.url)

    def _run(self) -> None:
        try:
            self.fetch()
        except Exception:  # never let the thread die silently with done=False
            log.exception("demo: fetching the real examples failed")
            with self._lock:
                self._report.offline = True
        finally:
            with self._lock:
                self._report.done = True
            self._finished.set()

    def fetch(self) -> FetchReport:
        """Fetch synchronously (what the background thread runs); return the final report."""
        deadline = time.monotonic() + self.budget
        offline = False
        for name, expected in sorted(self.hashes.items()):
            cached = self.cache_dir / f"{name}.tif"
            reason = None
            if cached.is_file() and sha256_of(cached) == expected:
                pass
            elif offline:
                reason = "server unreachable"
            elif time.monotonic() > deadline:
                reason = "download time budget exhausted"
            else:
                cached.unlink(missing_ok=True)
                reason, offline = self._download(name, expected, cached)
            with self._lock:
                if reason is None:
                    self._report.examples.append(_real_example(name, cached))
                else:
                    self._report.missing[name] = reason
                self._report.offline = offline
        with self._lock:
            self._report.done = True
        self._finished.set()
        return self.report()

    def _download(self, name: str, expected: str, target: Path) -> tuple[str | None, bool]:
        """Download one file; return (reason it is missing or None, whether the server is unreachable)."""
        url = f"{self.base_url}/{name}.tif"
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            request = urllib.request.Request(url, headers={"User-Agent": "l1bsr-studio"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read(MAX_DOWNLOAD_BYTES + 1)
        except urllib.error.HTTPError as error:
            return f"not available (HTTP {error.code})", False
        except urllib.error.URLError as error:
            if isinstance(error.reason, (FileNotFoundError, NotADirectoryError)):
                return "not available", False
            log.info("demo: %s unreachable: %s", url, error.reason)
            return "server unreachable", True
        except (TimeoutError, OSError) as error:  # socket timeouts, resets, unwritable cache
            log.info("demo: fetching %s failed: %s", url, error)
            return "server unreachable", True
        if len(data) > MAX_DOWNLOAD_BYTES:
            return "not available (file too large)", False
        if hashlib.sha256(data).hexdigest() != expected:
            log.warning("demo: %s does not match its SHA-256; discarded", url)
            return "SHA-256 mismatch, discarded", False
        with atomic_output(target) as temp:
            temp.write_bytes(data)
        return None, False


_REAL_EXAMPLES: RealExamples | None = None
_REAL_LOCK = threading.Lock()


def real_examples() -> RealExamples:
    """The process-wide fetcher (configured from the environment when first asked for)."""
    global _REAL_EXAMPLES
    with _REAL_LOCK:
        if _REAL_EXAMPLES is None:
            _REAL_EXAMPLES = RealExamples()
        return _REAL_EXAMPLES


def reset_real_examples(fetcher: RealExamples | None = None) -> None:
    """Replace the process-wide fetcher (tests point it elsewhere); None re-reads the environment."""
    global _REAL_EXAMPLES
    with _REAL_LOCK:
        _REAL_EXAMPLES = fetcher


def start_fetching_examples() -> None:
    """Begin downloading the real examples in the background (call when building the page)."""
    real_examples().start()


def all_examples(wait: float = 0.0) -> tuple[list[Example], str]:
    """Synthetic then real examples, and the note about the real ones (waits up to ``wait`` s)."""
    report = real_examples().wait(wait)
    examples = synthetic_examples() + report.examples
    note = report.note
    if not examples:
        note = (note + " " if note else "") + "No example is available: upload a BGRN TIFF crop."
    return examples, note


def _thumbnail(example: Example) -> Path:
    """A true-colour PNG of the example under :data:`TEMP_ROOT` (made once)."""
    target = TEMP_ROOT / "thumbnails" / f"{example.key}.png"
    if not target.is_file() or target.stat().st_mtime < example.path.stat().st_mtime:
        target.parent.mkdir(parents=True, exist_ok=True)
        array, _ = read_bgrn(example.path)
        with atomic_output(target) as temp:
            viz.save_png(temp, viz.render(array, "true"))
    return target


def _gallery_items(examples: list[Example]) -> list[tuple[str, str]]:
    items = []
    for example in examples:
        try:
            items.append((str(_thumbnail(example)), example.caption))
        except L1BSRError as error:
            log.warning("demo: example %s skipped: %s", example.key, error)
    return items


def initial_gallery() -> tuple[list[tuple[str, str]], list[str], str]:
    """Gallery items, their keys and a note, without waiting for the download (page build)."""
    start_fetching_examples()
    return gallery(wait=0.0)


def gallery(wait: float = FETCH_TIMEOUT_S + 1.0) -> tuple[list[tuple[str, str]], list[str], str]:
    """Gallery items ``(thumbnail, caption)``, their example keys, and a Markdown note.

    Waits up to ``wait`` seconds for the real examples (on page load).
    """
    examples, note = all_examples(wait)
    usable = [e for e in examples if e.path.is_file()]
    items = _gallery_items(usable)
    keys = [e.key for e, _ in zip(usable, items)]
    return items, keys, f"*{note}*" if note else ""


def find_example(key: str) -> Example:
    for example in all_examples()[0]:
        if example.key == key:
            return example
    raise InputError(f"example {key!r} is not available; choose another one or upload a crop")


def select_example(keys: list[str], evt: gr.SelectData) -> str:
    """Gallery click → path of a copy of that example under :data:`TEMP_ROOT` (for the file input)."""
    try:
        key = keys[evt.index]
        example = find_example(key)
        target = TEMP_ROOT / "inputs" / example.key / example.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.stat().st_size != example.path.stat().st_size:
            with atomic_output(target) as temp:
                shutil.copyfile(example.path, temp)
        return str(target)
    except (IndexError, TypeError) as error:
        raise gr.Error("that example is no longer in the gallery; reload the page", print_exception=False) from error
    except L1BSRError as error:
        raise gr.Error(str(error), print_exception=False) from None


_SYNTHETIC_HASHES: dict[tuple[str, float, int], str] = {}


def _synthetic_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _SYNTHETIC_HASHES:
        _SYNTHETIC_HASHES[key] = sha256_of(path)
    return _SYNTHETIC_HASHES[key]


def identify_example(path: str | Path) -> Example | None:
    """The example whose input file has the same content as ``path``, if any (by SHA-256)."""
    path = Path(path)
    digest = sha256_of(path)
    for name, expected in REAL_EXAMPLE_SHA256.items():
        if digest == expected:
            return _real_example(name, path)
    for example in synthetic_examples():
        if example.path.stat().st_size == path.stat().st_size and _synthetic_hash(example.path) == digest:
            return example
    return None


# === Inputs ==================================================================================


@dataclass(frozen=True)
class LoadedInput:
    """An input crop ready to process."""

    array: np.ndarray  # (h, w, 4) uint16, the window
    info: object  # io.TiffInfo of the file
    name: str  # file stem, for output names
    full_shape: tuple[int, int]
    window: tuple[int, int, int, int]  # x0, y0, w, h in the file's pixels
    example: Example | None


def _as_int(value, name: str) -> int:
    if value is None or value == "":
        return 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number of pixels; got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{name} must be a whole number of pixels >= 0; got {value!r}")
    return int(number)


def _read(path: Path):
    """:func:`read_bgrn`, with messages naming the file, not the server's upload folder."""
    try:
        return read_bgrn(path)
    except InputError as error:
        raise InputError(str(error).replace(str(path), path.name)) from None


def _input_path(image) -> Path:
    if image is None or image == "":
        raise InputError("no input: choose an example above or upload a BGRN TIFF (.tif) crop")
    path = Path(getattr(image, "path", None) or image)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise InputError(f"{path.name} is not a .tif/.tiff file; expected a BGRN TIFF crop (4 bands B, G, R, NIR, uint16)")
    return path


def _cut_window(array: np.ndarray, name: str, x0: int, y0: int, size: int):
    """The window (x0, y0, size) of ``array`` (size 0 = all of it) and its (x0, y0, w, h)."""
    height, width = array.shape[:2]
    if size == 0:
        if max(height, width) > DEMO_MAX_SIDE:
            raise InputError(
                f"{name} is {width} × {height} px; the demo processes at most {DEMO_MAX_SIDE} × {DEMO_MAX_SIDE} px "
                "at once: set a window (x0, y0, size) under 'Window'"
            )
        return array, (0, 0, width, height)
    if size > DEMO_MAX_SIDE:
        raise InputError(f"window size {size} px is larger than the demo's limit of {DEMO_MAX_SIDE} px")
    if x0 >= width or y0 >= height:
        raise InputError(f"window origin ({x0}, {y0}) is outside the {width} × {height} px image")
    w, h = min(size, width - x0), min(size, height - y0)
    if min(w, h) < MIN_SIZE_PX:
        raise InputError(
            f"window at ({x0}, {y0}) of size {size} gives {w} × {h} px inside the image; "
            f"expected at least {MIN_SIZE_PX} × {MIN_SIZE_PX}"
        )
    return np.ascontiguousarray(array[y0 : y0 + h, x0 : x0 + w]), (x0, y0, w, h)


def load_input(image, window_x0=0, window_y0=0, window_size=0) -> LoadedInput:
    """Read ``image`` (a path) and cut the window (x0, y0, size); size 0 = the whole image.

    Raises:
        InputError: bad file (from :func:`~l1bsr_core.io.read_bgrn`), a window outside the
            image or too small, or a whole image larger than :data:`DEMO_MAX_SIDE`.
    """
    path = _input_path(image)
    x0, y0, size = (_as_int(v, n) for v, n in ((window_x0, "x0"), (window_y0, "y0"), (window_size, "window size")))
    full, info = _read(path)
    array, window = _cut_window(full, path.stem, x0, y0, size)
    return LoadedInput(array, info, path.stem, full.shape[:2], window, identify_example(path))


@_user_errors
def describe_input(image):
    """Preview of the chosen or uploaded file and a line about it; (None, "") when there is none.

    A file larger than :data:`DEMO_MAX_SIDE` is previewed by its top-left window. A file that
    cannot be used gives no preview and its one-line reason, in the page and as a warning.
    """
    if image is None or image == "":
        return None, ""
    try:
        path = _input_path(image)
        full, _ = _read(path)
    except L1BSRError as error:
        gr.Warning(str(error))
        return None, f"⚠️ **{error}**"
    height, width = full.shape[:2]
    shown = full[:DEMO_MAX_SIDE, :DEMO_MAX_SIDE]
    example = identify_example(path)
    what = f"**{example.title}**: {example.description} " if example else f"`{path.name}`: "
    text = f"{what}{width} × {height} px, 4 bands (B, G, R, NIR), uint16."
    if example is not None and example.truth is not None:
        text += " Comes with its true 5 m image and flows: results are scored against them."
    if max(height, width) > DEMO_MAX_SIDE:
        text += f" Larger than {DEMO_MAX_SIDE} px: set a window below (the preview shows the top-left corner)."
    return viz.render(shown, "true"), text


# === Requests ================================================================================


def _new_request_dir(prefix: str) -> Path:
    """A fresh folder for one request's files; removes request folders older than the TTL."""
    root = TEMP_ROOT / "requests"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > REQUEST_TTL_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def device() -> str:
    """Device used by the demo: env ``L1BSR_DEVICE``, else CUDA when available, else CPU."""
    chosen = os.environ.get(DEVICE_ENV)
    if chosen:
        return chosen
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _progress_callback(progress, desc: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress((done, total), desc=desc, unit="tiles")

    return report


def _window_text(loaded: LoadedInput) -> str:
    x0, y0, w, h = loaded.window
    full_h, full_w = loaded.full_shape
    if (w, h) == (full_w, full_h):
        return f"{w} × {h} px"
    return f"window {w} × {h} px at ({x0}, {y0}) of {full_w} × {full_h} px"


def _model_line(kind: str) -> str:
    info = inference.model_info(kind)
    version = f", version {info['version']}" if info.get("version") else ""
    return f"`{info['name']}`{version}, {info['parameters'] / 1e6:.2f} M parameters"


def _format(value: float, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


_MISREGISTRATION_CACHE: dict[tuple, dict] = {}
_MISREGISTRATION_CACHE_SIZE = 32


def _misregistration(image: np.ndarray, step: int = 32) -> dict[str, dict] | None:
    """:func:`metrics.misregistration` (None for images under one window), memoised by content."""
    if min(image.shape[:2]) < MISREGISTRATION_MIN_SIDE:
        return None
    image = np.ascontiguousarray(image)
    key = (hashlib.sha256(image.data).hexdigest(), image.shape, image.dtype.str, step)
    if key not in _MISREGISTRATION_CACHE:
        if len(_MISREGISTRATION_CACHE) >= _MISREGISTRATION_CACHE_SIZE:
            _MISREGISTRATION_CACHE.pop(next(iter(_MISREGISTRATION_CACHE)))
        _MISREGISTRATION_CACHE[key] = metrics.misregistration(image, step=step)
    return _MISREGISTRATION_CACHE[key]


def _misregistration_rows(before: dict | None, after: dict | None) -> list[list]:
    """Rows of :data:`MISREGISTRATION_HEADERS` from two :func:`metrics.misregistration` reports."""
    rows = []
    for band in (BAND_NAMES[b] for b in MOVING_BANDS):
        b = (before or {}).get(band, {})
        a = (after or {}).get(band, {})

        def value(stats, key):
            v = stats.get(key, math.nan)
            return round(v, 2) if math.isfinite(v) else None

        rows.append([band, value(b, "median_px"), value(a, "median_px"), value(b, "p90_px"), value(a, "p90_px"),
                     f"{b.get('n_windows', 0)} / {a.get('n_windows', 0)}"])
    return rows


def _markdown_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("–" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _truth_window(example: Example | None, loaded: LoadedInput):
    """The example's true 5 m image and true flows cropped to the processed window, if known."""
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


def _psnr_table(truth: np.ndarray, candidates: dict[str, np.ndarray]) -> str:
    """Markdown table of PSNR (dB) per band of each candidate against the true 5 m image."""
    headers = ["PSNR vs true 5 m (dB)", *BAND_NAMES, "mean"]
    rows = []
    for label, image in candidates.items():
        values = [metrics.psnr(image[..., b].astype(np.float64), truth[..., b].astype(np.float64))
                  for b in range(len(BAND_NAMES))]
        rows.append([label, *(_format(v) for v in values), _format(float(np.mean(values)))])
    return _markdown_table(headers, rows)


def _checked_input(image, display, fringe_band, window_x0, window_y0, window_size, progress):
    """Check the display choices shared by both tasks, then read the crop; returns (input, timings)."""
    if display not in viz.DISPLAY_MODES:
        raise InputError(f"unknown display {display!r}; expected one of {', '.join(viz.DISPLAY_MODES)}")
    if fringe_band not in ("B", "R", "NIR"):
        raise InputError(f"unknown fringe band {fringe_band!r}; expected B, R or NIR")
    start = time.perf_counter()
    progress(0.0, desc="Reading the crop")
    loaded = load_input(image, window_x0, window_y0, window_size)
    return loaded, {"read": time.perf_counter() - start}


# === Super-resolution ========================================================================


@_user_errors
def run_superresolution(
    image,
    display: str = "true",
    upsampling: str = "bicubic",
    fringe_band: str = DEFAULT_FRINGE_BAND,
    window_x0: int = 0,
    window_y0: int = 0,
    window_size: int = 0,
    progress=gr.Progress(),
):
    """Super-resolve a crop with REC and return what the page shows (:data:`SR_OUTPUTS`).

    Returns:
        ``(slider, zoom_before, zoom_after, fringe_before, fringe_after, summary, files)``:
        slider = (upsampled input, REC output) uint8 RGB with the detail outlined; the zooms and
        fringe views are that detail enlarged; summary is Markdown (timings, device, model,
        PSNR for synthetic examples, residual misregistration); files = [super-resolved
        16-bit TIFF, PNG views].
    """
    if upsampling not in ("bicubic", "nearest"):
        raise InputError(f"unknown upsampling {upsampling!r}; expected 'bicubic' or 'nearest'")
    loaded, timings = _checked_input(image, display, fringe_band, window_x0, window_y0, window_size, progress)

    where = device()
    start = time.perf_counter()
    progress(0.05, desc="Super-resolving")
    sr = inference.superresolve(loaded.array, device=where, progress=_progress_callback(progress, "Super-resolving"))
    timings[f"super-resolution (REC, {where})"] = time.perf_counter() - start

    start = time.perf_counter()
    progress(0.9, desc="Drawing")
    s = SCALE_FACTOR
    stretch = viz.Stretch.from_image(loaded.array)
    shown_input = viz.upsample(loaded.array, s, upsampling)
    smooth_input = shown_input if upsampling == "bicubic" else viz.upsample(loaded.array, s, "bicubic")
    x, y, size, _ = viz.detail_box(loaded.array, DETAIL_SIZE)
    box = (x * s, y * s, size * s, size * s)
    before_rgb, after_rgb = viz.render(shown_input, display, stretch), viz.render(sr, display, stretch)
    slider = (viz.draw_box(before_rgb, box), viz.draw_box(after_rgb, box))
    zoom_before, zoom_after = viz.zoom(before_rgb, box, DETAIL_ZOOM), viz.zoom(after_rgb, box, DETAIL_ZOOM)
    fringe_stretch = viz.fringe_stretch(viz.crop(smooth_input, box))
    fringe_before = viz.zoom(viz.fringe(viz.crop(smooth_input, box), fringe_band, fringe_stretch),
                             (0, 0, box[2], box[3]), DETAIL_ZOOM)
    fringe_after = viz.zoom(viz.fringe(viz.crop(sr, box), fringe_band, fringe_stretch),
                            (0, 0, box[2], box[3]), DETAIL_ZOOM)
    timings["pictures"] = time.perf_counter() - start

    start = time.perf_counter()
    progress(0.93, desc="Measuring residual misregistration")
    # Measured at 10 m (the output averaged over s × s blocks), where the input needs no resampling.
    misregistration = _misregistration_rows(_misregistration(loaded.array), _misregistration(metrics.block_mean(sr, s)))
    truth, _ = _truth_window(loaded.example, loaded)
    timings["measurements"] = time.perf_counter() - start

    start = time.perf_counter()
    out = _new_request_dir("sr-")
    tiff = out / f"{loaded.name}_x{s}.tif"
    write_bgrn(tiff, sr, like=loaded.info, scale=s)
    files = [
        str(tiff),
        str(viz.save_png(out / f"{loaded.name}_x{s}_{display}.png", after_rgb)),
        str(viz.save_png(out / f"{loaded.name}_input_{upsampling}_{display}.png", before_rgb)),
    ]
    timings["files"] = time.perf_counter() - start

    source = f"{loaded.example.title} ({loaded.example.source})" if loaded.example else f"`{loaded.name}`"
    h, w = loaded.array.shape[:2]
    parts = [
        f"**REC super-resolution** of {source}: {_window_text(loaded)} → {w * s} × {h * s} px "
        f"(the yellow box is the enlarged detail). Model: {_model_line('rec')}; device `{where}`.",
        _markdown_table(("step", "time (s)"), [[k, f"{v:.2f}"] for k, v in timings.items()]),
        "**Residual misregistration vs G**: shift of B, R, NIR against G by an independent "
        "phase-correlation estimate, in input pixels (10 m); before = the input, after = the REC output "
        "averaged back to 10 m. *windows*: confident measurements before / after.",
        _markdown_table(MISREGISTRATION_HEADERS, misregistration),
    ]
    if truth is not None:
        parts.append("**Against the true 5 m image** of this synthetic example:")
        parts.append(_psnr_table(truth, {"bicubic input": smooth_input, "REC output": sr}))
    elif loaded.example is not None and loaded.example.source == "real":
        parts.append("Real L1B crop: no ground truth exists; judge the detail and the fringe views.")
    progress(1.0, desc="Done")
    return slider, zoom_before, zoom_after, fringe_before, fringe_after, "\n\n".join(parts), files


# === Registration ============================================================================


@_user_errors
def run_registration(
    image,
    display: str = "true",
    fringe_band: str = DEFAULT_FRINGE_BAND,
    window_x0: int = 0,
    window_y0: int = 0,
    window_size: int = 0,
    progress=gr.Progress(),
):
    """Register B, R, NIR onto G with CSR and return what the page shows (:data:`REGISTRATION_OUTPUTS`).

    Returns:
        ``(slider, flows, quiver, flow_stats, misregistration, fringe_before, fringe_after,
        summary, files)``: slider = (input, registered) uint8 RGB; flows = colour-coded flows
        per band with legend (and true flows for synthetic examples); quiver = arrows per band;
        flow_stats and misregistration = table rows (:data:`viz.FLOW_STATS_HEADERS`,
        :data:`MISREGISTRATION_HEADERS`); fringe views of the detail before and after;
        summary Markdown; files = [registered 16-bit TIFF, flow .npy, PNG views].
    """
    loaded, timings = _checked_input(image, display, fringe_band, window_x0, window_y0, window_size, progress)

    where = device()
    start = time.perf_counter()
    progress(0.05, desc="Estimating flows")
    registered, flow = inference.register(loaded.array, device=where, progress=_progress_callback(progress, "Registering"))
    timings[f"registration (CSR, {where})"] = time.perf_counter() - start

    start = time.perf_counter()
    progress(0.7, desc="Drawing")
    _, true_flow = _truth_window(loaded.example, loaded)
    stretch = viz.Stretch.from_image(loaded.array)
    before_rgb, after_rgb = viz.render(loaded.array, display, stretch), viz.render(registered, display, stretch)
    box = viz.detail_box(loaded.array, min(DETAIL_SIZE + 32, *loaded.array.shape[:2]))
    slider = (viz.draw_box(before_rgb, box), viz.draw_box(after_rgb, box))
    flows_png = viz.flow_panel(flow, true_flows=true_flow)
    quiver_png = viz.quiver_figure(viz.render(loaded.array, "true", stretch), flow,
                                   step=max(16, min(loaded.array.shape[:2]) // 12))
    fringe_stretch = viz.fringe_stretch(viz.crop(loaded.array, box))
    fringe_before = viz.zoom(viz.fringe(viz.crop(loaded.array, box), fringe_band, fringe_stretch),
                             (0, 0, box[2], box[3]), FRINGE_ZOOM)
    fringe_after = viz.zoom(viz.fringe(viz.crop(registered, box), fringe_band, fringe_stretch),
                            (0, 0, box[2], box[3]), FRINGE_ZOOM)
    stats = viz.flow_stats(flow)
    timings["pictures"] = time.perf_counter() - start

    start = time.perf_counter()
    progress(0.85, desc="Measuring residual misregistration")
    misregistration = _misregistration_rows(_misregistration(loaded.array), _misregistration(registered))
    timings["measurements"] = time.perf_counter() - start

    start = time.perf_counter()
    out = _new_request_dir("reg-")
    tiff = out / f"{loaded.name}_registered.tif"
    write_bgrn(tiff, registered, like=loaded.info)
    flow_path = out / f"{loaded.name}_flow.npy"
    with atomic_output(flow_path) as temp:
        np.save(temp, flow)
    files = [
        str(tiff),
        str(flow_path),
        str(viz.save_png(out / f"{loaded.name}_flows.png", flows_png)),
        str(viz.save_png(out / f"{loaded.name}_quiver.png", quiver_png)),
        str(viz.save_png(out / f"{loaded.name}_registered_{display}.png", after_rgb)),
    ]
    timings["files"] = time.perf_counter() - start

    source = f"{loaded.example.title} ({loaded.example.source})" if loaded.example else f"`{loaded.name}`"
    parts = [
        f"**CSR registration** of {source}: {_window_text(loaded)}; B, R and NIR warped onto G "
        f"(the yellow box is the enlarged detail). Model: {_model_line('csr')}; device `{where}`.",
        _markdown_table(("step", "time (s)"), [[k, f"{v:.2f}"] for k, v in timings.items()]),
        "Files: the registered crop (16-bit TIFF, G unchanged) and the flows as a NumPy array of "
        f"shape (3, 2, {flow.shape[2]}, {flow.shape[3]}): bands B, R, NIR; channel 0 = dx, 1 = dy in pixels, "
        "with registered(y, x) = band(y + dy, x + dx).",
    ]
    if true_flow is not None:
        epe = [metrics.flow_epe(flow[i], true_flow[i], border=4) for i in range(len(MOVING_BANDS))]
        parts.append("**Against the true flows** of this synthetic example (mean endpoint error, px): "
                     + ", ".join(f"{BAND_NAMES[b]} {_format(e, 3)}" for b, e in zip(MOVING_BANDS, epe)) + ".")
    progress(1.0, desc="Done")
    return (slider, flows_png, quiver_png, stats, misregistration, fringe_before, fringe_after,
            "\n\n".join(parts), files)


# === Page status =============================================================================


def status_banner() -> str:
    """Markdown about the networks in use, or the one-line reason they cannot be loaded."""
    lines = []
    for kind, label in (("rec", "Super-resolution (REC)"), ("csr", "Registration (CSR)")):
        try:
            lines.append(f"{label}: {_model_line(kind)}.")
        except L1BSRError as error:
            lines.append(f"⚠️ {label} unavailable: {error}")
        except Exception as error:  # a broken checkpoint must not stop the page from loading
            log.exception("demo: cannot load %s", kind)
            lines.append(f"⚠️ {label} unavailable ({type(error).__name__}).")
    lines.append(f"Device: `{device()}`.")
    return " ".join(lines)
