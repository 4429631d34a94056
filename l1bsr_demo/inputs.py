"""The crop a visitor chose or uploaded: read it, check it, cut the window to process.

An input is a path to a BGRN TIFF ((H, W, 4) or (4, H, W) uint16, bands B, G, R, NIR =
Sentinel-2 B2, B3, B4, B8), or to a 4-band GeoTIFF export of L1C/L2A imagery (Copernicus
Browser: B02, B03, B04, B08 as float32 reflectance or uint16), which is read through
:mod:`l1bsr_core.coregistered` into the networks' working DN and keeps its georeferencing and
value convention for the output. Every input says what it is (:class:`~l1bsr_core.domain.InputDomain`):
the gallery's examples by their source, an export as L1C/L2A, any other TIFF as of unknown level.
Images larger than :data:`DEMO_MAX_SIDE` need a square window
(x0, y0, size), in input pixels; size 0 means the whole image. Above :data:`LARGE_SIDE` the page
proposes a window of :data:`PROPOSED_WINDOW` px (:func:`proposed_window`) and says how long the
whole image would take. A window reaching past the image's right or bottom edge is moved inside
it (and says so); one whose corner is outside the image is refused. Every problem is an
:class:`~l1bsr_core.errors.InputError` whose one-line message names the file, not the server's
upload folder.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.windows import Window as GdalWindow

from l1bsr_core.coregistered import open_coregistered, peek_is_coregistered
from l1bsr_core.domain import AIRBORNE, L1B, UNKNOWN, InputDomain
from l1bsr_core.errors import InputError, L1BSRError
from l1bsr_core.georaster import GeoGrid
from l1bsr_core.io import MIN_SIZE_PX, TiffInfo, read_bgrn
from l1bsr_core.outputs import TIFF_SUFFIXES
from l1bsr_core.radiometry import Radiometry

from . import gallery, speed, viz
from .examples import AIRBORNE as AIRBORNE_SOURCE
from .examples import REAL, Example

DEMO_MAX_SIDE = 2048
"""Largest image side processed at once; larger uploads need a window (x0, y0, size)."""

LARGE_SIDE = 1024
"""Images with a side above this get a window proposed by default (:func:`proposed_window`)."""

PROPOSED_WINDOW = 512
"""Side of the window proposed for a large image, input pixels (a few seconds on a CPU)."""

PREVIEW_SIDE = 512
"""Largest side of the input preview, screen pixels (a larger image is shown subsampled)."""

Window = tuple[int, int, int, int]
"""(x0, y0, width, height) in the file's pixels."""


@dataclass(frozen=True)
class Export:
    """A GeoTIFF export's place on the map and what its values mean."""

    grid: GeoGrid
    radiometry: Radiometry


@dataclass(frozen=True)
class FileContent:
    """A whole file as the demo uses it: (H, W, 4) uint16 (working DN for an export), and how to
    write outputs like it."""

    array: np.ndarray
    info: TiffInfo
    domain: InputDomain
    export: Export | None = None


@dataclass(frozen=True)
class LoadedInput:
    """An input crop ready to process.

    Attributes:
        array: (h, w, 4) uint16, the window, bands B, G, R, NIR.
        info: the file's :class:`~l1bsr_core.io.TiffInfo`, for outputs written alike.
        name: the file's stem, for output names.
        full_shape: (H, W) of the whole file.
        window: where ``array`` lies in the file, (x0, y0, w, h).
        example: the example the file is, if it is one.
        moved_from: the (x0, y0) asked for, when the window was moved inside the image.
        path: the file read.
        domain: the input's level, how it is known (examples by source, exports from the file).
        export: a GeoTIFF export's grid and radiometry; ``array`` then holds working DN.
    """

    array: np.ndarray
    info: TiffInfo
    name: str
    full_shape: tuple[int, int]
    window: Window
    example: Example | None
    moved_from: tuple[int, int] | None = None
    path: Path | None = None
    domain: InputDomain = InputDomain(UNKNOWN, "no level in the file")
    """What the input is, and so which path it takes (:meth:`InputDomain.default_align`)."""
    export: Export | None = None
    """For a GeoTIFF export: its grid and value convention (the output is written alike)."""

    @property
    def is_whole(self) -> bool:
        """True when the window is the whole file."""
        return self.window[2:] == (self.full_shape[1], self.full_shape[0])

    @property
    def source(self) -> str:
        """How a summary names the input: the example's title and source, or the file name."""
        return f"{self.example.title} ({self.example.source})" if self.example else f"`{self.name}`"


def _as_pixels(value, name: str) -> int:
    """A window number from the page (None or "" = 0) as a whole number of pixels >= 0."""
    if value is None or value == "":
        return 0
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number of pixels; got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{name} must be a whole number of pixels >= 0; got {value!r}")
    return int(number)


def input_path(image) -> Path:
    """The path of the page's file input (a path or an object with ``.path``), checked by name."""
    if image is None or image == "":
        raise InputError("no input: choose an example above or upload a BGRN TIFF (.tif) crop")
    path = Path(getattr(image, "path", None) or image)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise InputError(
            f"{path.name} is not a .tif/.tiff file; expected a BGRN TIFF crop (4 bands B, G, R, NIR, uint16)"
        )
    return path


def read(path: Path) -> FileContent:
    """The file's pixels and description, with messages naming the file, not its folder: an export
    (:func:`~l1bsr_core.coregistered.peek_is_coregistered`) through GDAL, anything else through
    :func:`~l1bsr_core.io.read_bgrn`."""
    try:
        if peek_is_coregistered(path):
            with open_coregistered(path) as source:
                height, width = source.shape
                values = source.read(GdalWindow(0, 0, width, height))
                return FileContent(source.radiometry.to_working(values), TiffInfo(), source.domain,
                                   Export(GeoGrid(source.crs, source.transform), source.radiometry))
        array, info = read_bgrn(path)
        return FileContent(array, info, InputDomain(UNKNOWN, "no level in the file"))
    except InputError as error:
        raise InputError(str(error).replace(str(path), path.name)) from None


def domain_notice(domain: InputDomain) -> str:
    """The page's notice for an input outside L1B: what it is and which path its super-resolution takes."""
    path = domain.path("superresolution", align=domain.default_align())
    return f"ℹ️ **Input {domain.domain_text()}** ({domain.evidence}). Super-resolution: {path}."


def example_domain(example: Example) -> InputDomain:
    """What a gallery example is: real L1B, the simulator's L1B, or airborne imagery made L1B-like."""
    if example.source == REAL:
        return InputDomain(L1B, "a real L1B crop of the authors' examples")
    if example.source == AIRBORNE_SOURCE:
        return InputDomain(AIRBORNE, "airborne 5 m imagery degraded and displaced like L1B by the simulator")
    return InputDomain(L1B, "simulated L1B (the project's simulator)")


def place_window(height: int, width: int, name: str, x0: int, y0: int, size: int) -> tuple[Window, bool]:
    """Where the window (x0, y0, size) of an image of ``height`` × ``width`` px lies, and whether it
    was moved: ``((x0, y0, w, h), moved)``; size 0 = the whole image.

    A window reaching past the right or bottom edge is moved left or up to fit (and shrunk to the
    image's shorter side if it is larger), so that it keeps its size.

    Raises:
        InputError: a whole image over :data:`DEMO_MAX_SIDE`, a window over it, a window whose
            corner is outside the image, or one under :data:`~l1bsr_core.io.MIN_SIZE_PX`.
    """
    if size == 0:
        if max(height, width) > DEMO_MAX_SIDE:
            raise InputError(
                f"{name} is {width} × {height} px; the demo processes at most {DEMO_MAX_SIDE} × {DEMO_MAX_SIDE} px "
                "at once: set a window (x0, y0, size) under 'Window'"
            )
        return (0, 0, width, height), False
    if size > DEMO_MAX_SIDE:
        raise InputError(f"window size {size} px is larger than the demo's limit of {DEMO_MAX_SIDE} px")
    if size < MIN_SIZE_PX:
        raise InputError(f"window size {size} px is too small; expected at least {MIN_SIZE_PX} px (0 = whole image)")
    if x0 >= width or y0 >= height:
        raise InputError(
            f"window corner ({x0}, {y0}) is outside the {width} × {height} px image "
            f"(x0 below {width}, y0 below {height})"
        )
    side = min(size, width, height)
    placed = (min(x0, width - side), min(y0, height - side), side, side)
    return placed, placed[:2] != (x0, y0)


def window_numbers(window_x0, window_y0, window_size) -> tuple[int, int, int]:
    """The page's window numbers as whole pixels (x0, y0, size), checked."""
    return tuple(
        _as_pixels(value, name)
        for value, name in ((window_x0, "x0"), (window_y0, "y0"), (window_size, "window size"))
    )


def load_input(image, window_x0=0, window_y0=0, window_size=0) -> LoadedInput:
    """Read ``image`` (a path) and cut the window (x0, y0, size); size 0 = the whole image.

    Raises:
        InputError: bad file name or file (from :func:`~l1bsr_core.io.read_bgrn`), or a window
            :func:`place_window` refuses.
    """
    path = input_path(image)
    x0, y0, size = window_numbers(window_x0, window_y0, window_size)
    content = read(path)
    full = content.array
    window, moved = place_window(*full.shape[:2], path.stem, x0, y0, size)
    wx, wy, w, h = window
    array = np.ascontiguousarray(full[wy : wy + h, wx : wx + w])
    example = gallery.identify(path)
    domain = example_domain(example) if example is not None else content.domain
    return LoadedInput(array, content.info, path.stem, full.shape[:2], window, example,
                       (x0, y0) if moved else None, path, domain, content.export)


@functools.lru_cache(maxsize=4)
def _preview_base(path: str, stamp: tuple[int, int]) -> tuple[np.ndarray, int, tuple[int, int], InputDomain]:
    """(true-colour preview subsampled to at most :data:`PREVIEW_SIDE`, its step, (H, W), what the
    file is) of a file; ``stamp`` (mtime, size) keys the cache so that a changed file is read again."""
    content = read(Path(path))
    full = content.array
    step = max(1, math.ceil(max(full.shape[:2]) / PREVIEW_SIDE))
    return viz.render(full[::step, ::step], "true"), step, full.shape[:2], content.domain


def _preview(path: Path) -> tuple[np.ndarray, int, tuple[int, int], InputDomain]:
    stat = path.stat()
    return _preview_base(str(path), (stat.st_mtime_ns, stat.st_size))


def proposed_window(image) -> tuple[int, int, int]:
    """The window (x0, y0, size) the page proposes for a file: a centred :data:`PROPOSED_WINDOW`
    px square when a side is over :data:`LARGE_SIDE`, else (0, 0, 0), the whole image (also for a
    file that cannot be read: its problem is said elsewhere)."""
    try:
        _, _, (height, width), _ = _preview(input_path(image))
    except (L1BSRError, OSError):
        return 0, 0, 0
    if max(height, width) <= min(LARGE_SIDE, DEMO_MAX_SIDE):
        return 0, 0, 0
    side = min(PROPOSED_WINDOW, height, width)
    return (width - side) // 2, (height - side) // 2, side


def _seconds(pixels: int) -> str:
    """Estimated run times of both tasks on ``pixels`` input pixels, in words."""
    return (f"about {speed.format_seconds(speed.estimate('superresolution', pixels))} for super-resolution, "
            f"{speed.format_seconds(speed.estimate('registration', pixels))} for registration")


def describe(image, window_x0=0, window_y0=0, window_size=0) -> tuple[np.ndarray | None, str]:
    """A true-colour preview of the chosen or uploaded file with the window drawn on it, and
    Markdown about the file, its run time and the window.

    Returns ``(None, "")`` when there is no file, and ``(None, "⚠️ **reason**")`` for a file that
    cannot be used. A file larger than :data:`PREVIEW_SIDE` is previewed subsampled, whole.
    """
    if image is None or image == "":
        return None, ""
    try:
        path = input_path(image)
        rgb, step, (height, width), domain = _preview(path)
    except L1BSRError as error:
        return None, f"⚠️ **{error}**"
    example = gallery.identify(path)
    what = f"**{example.title}**: {example.description} " if example else f"`{path.name}`: "
    domain = example_domain(example) if example is not None else domain
    kind = "a GeoTIFF export of B02, B03, B04, B08" if domain.co_registered else "4 bands (B, G, R, NIR), uint16"
    lines = [f"{what}{width} × {height} px, {kind}."]
    if not domain.in_domain:
        lines.append(domain_notice(domain))
    if example is not None and example.truth is not None:
        lines[0] += " Comes with its true 5 m image and flows: results are scored against them."
    if max(height, width) > min(LARGE_SIDE, DEMO_MAX_SIDE):
        whole = (f"over the demo's limit of {DEMO_MAX_SIDE} × {DEMO_MAX_SIDE} px, so it needs a window"
                 if max(height, width) > DEMO_MAX_SIDE else f"the whole image would take {_seconds(height * width)}")
        lines.append(f"**Large image**: {whole}. A window of {PROPOSED_WINDOW} px in its centre is proposed under "
                     "'Window' (size 0 = the whole image).")
    try:
        x0, y0, size = window_numbers(window_x0, window_y0, window_size)
        (wx, wy, w, h), moved = place_window(height, width, path.name, x0, y0, size)
    except InputError as error:
        lines.append(f"⚠️ **Window: {error}.**")
        return rgb, "\n\n".join(lines)
    if (w, h) != (width, height):
        where = f"Window: {w} × {h} px at ({wx}, {wy}), the yellow box ({_seconds(w * h)})."
        if moved:
            where += f" Moved from ({x0}, {y0}) to fit inside the image."
        lines.append(where)
        rgb = viz.draw_box(rgb, _scaled_box((wx, wy, w, h), step, rgb.shape),
                           width=max(2, max(rgb.shape[:2]) // 120))
    elif max(height, width) > min(LARGE_SIDE, DEMO_MAX_SIDE):  # said of a large image only: a choice was made
        lines.append(f"Window: none (size 0), the whole image is processed ({_seconds(w * h)}).")
    return rgb, "\n\n".join(lines)


def _scaled_box(box: Window, step: int, shape: tuple[int, ...]) -> Window:
    """``box`` in a preview subsampled by ``step``, kept inside ``shape``."""
    x0, y0, w, h = (v // step for v in box)
    x0, y0 = min(x0, shape[1] - 1), min(y0, shape[0] - 1)
    return x0, y0, max(1, min(w, shape[1] - x0)), max(1, min(h, shape[0] - y0))
