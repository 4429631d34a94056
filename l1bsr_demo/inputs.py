"""The crop a visitor chose or uploaded: read it, check it, cut the window to process.

An input is a path to a BGRN TIFF ((H, W, 4) or (4, H, W) uint16, bands B, G, R, NIR =
Sentinel-2 B2, B3, B4, B8). Images larger than :data:`DEMO_MAX_SIDE` need a square window
(x0, y0, size), in input pixels; size 0 means the whole image. Every problem is an
:class:`~l1bsr_core.errors.InputError` whose one-line message names the file, not the server's
upload folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from l1bsr_core.errors import InputError, L1BSRError
from l1bsr_core.io import MIN_SIZE_PX, TiffInfo, read_bgrn
from l1bsr_core.outputs import TIFF_SUFFIXES

from . import gallery, viz
from .examples import Example

DEMO_MAX_SIDE = 2048
"""Largest image side processed at once; larger uploads need a window (x0, y0, size)."""

Window = tuple[int, int, int, int]
"""(x0, y0, width, height) in the file's pixels."""


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
    """

    array: np.ndarray
    info: TiffInfo
    name: str
    full_shape: tuple[int, int]
    window: Window
    example: Example | None

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


def read(path: Path) -> tuple[np.ndarray, TiffInfo]:
    """:func:`~l1bsr_core.io.read_bgrn`, with messages naming the file, not its folder."""
    try:
        return read_bgrn(path)
    except InputError as error:
        raise InputError(str(error).replace(str(path), path.name)) from None


def cut_window(array: np.ndarray, name: str, x0: int, y0: int, size: int) -> tuple[np.ndarray, Window]:
    """The window (x0, y0, size) of an (H, W, 4) ``array`` (size 0 = all of it) and its (x0, y0, w, h).

    A window reaching past the right or bottom edge is cut there.

    Raises:
        InputError: a whole image over :data:`DEMO_MAX_SIDE`, a window over it, outside the
            image, or smaller than :data:`~l1bsr_core.io.MIN_SIZE_PX` once cut.
    """
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
        InputError: bad file name or file (from :func:`~l1bsr_core.io.read_bgrn`), or a window
            :func:`cut_window` refuses.
    """
    path = input_path(image)
    x0, y0, size = (
        _as_pixels(value, name)
        for value, name in ((window_x0, "x0"), (window_y0, "y0"), (window_size, "window size"))
    )
    full, info = read(path)
    array, window = cut_window(full, path.stem, x0, y0, size)
    return LoadedInput(array, info, path.stem, full.shape[:2], window, gallery.identify(path))


def describe(image) -> tuple[np.ndarray | None, str]:
    """A true-colour preview of the chosen or uploaded file and a Markdown line about it.

    Returns ``(None, "")`` when there is no file, and ``(None, "⚠️ **reason**")`` for a file that
    cannot be used. A file larger than :data:`DEMO_MAX_SIDE` is previewed by its top-left window.
    """
    if image is None or image == "":
        return None, ""
    try:
        path = input_path(image)
        full, _ = read(path)
    except L1BSRError as error:
        return None, f"⚠️ **{error}**"
    height, width = full.shape[:2]
    example = gallery.identify(path)
    what = f"**{example.title}**: {example.description} " if example else f"`{path.name}`: "
    text = f"{what}{width} × {height} px, 4 bands (B, G, R, NIR), uint16."
    if example is not None and example.truth is not None:
        text += " Comes with its true 5 m image and flows: results are scored against them."
    if max(height, width) > DEMO_MAX_SIDE:
        text += f" Larger than {DEMO_MAX_SIDE} px: set a window below (the preview shows the top-left corner)."
    return viz.render(full[:DEMO_MAX_SIDE, :DEMO_MAX_SIDE], "true"), text
