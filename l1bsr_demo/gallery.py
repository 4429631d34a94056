"""The gallery of examples: which ones are there, their thumbnails, and the line about them.

Synthetic examples come first, then the real ones as far as :mod:`l1bsr_demo.fetch` has fetched
them. Thumbnails are true-colour PNGs made once under :data:`l1bsr_demo.paths.TEMP_ROOT`; a
chosen example is copied there too, so that the page's file input holds a file of its own.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from l1bsr_core.errors import InputError, L1BSRError
from l1bsr_core.io import read_bgrn
from l1bsr_core.outputs import atomic_output

from . import paths, viz
from .examples import Example, identify_example, synthetic_examples
from .fetch import FETCH_TIMEOUT_S, real_examples

log = logging.getLogger(__name__)

GALLERY_WAIT_S = FETCH_TIMEOUT_S + 1.0
"""How long the page load waits for the real examples before showing what is there."""

NO_EXAMPLE_NOTE = "No example is available: upload a BGRN TIFF crop."

GalleryItems = list[tuple[str, str]]
"""(thumbnail path, caption) per example, in gallery order."""


def all_examples(wait: float = 0.0) -> tuple[list[Example], str]:
    """Synthetic then real examples, and a Markdown note about them (waits up to ``wait`` s).

    The note says what the real examples are only when some are in the list, and why others are
    missing (still fetching, unreachable, not available).
    """
    report = real_examples().wait(wait)
    examples = synthetic_examples() + report.examples
    lines = [line for line in (report.about, report.note) if line]
    if not examples:
        lines.append(NO_EXAMPLE_NOTE)
    return examples, " ".join(lines)


def _thumbnail(example: Example) -> Path:
    """A true-colour PNG of the example under :data:`~l1bsr_demo.paths.TEMP_ROOT` (made once)."""
    target = paths.TEMP_ROOT / "thumbnails" / f"{example.key}.png"
    if not target.is_file() or target.stat().st_mtime < example.path.stat().st_mtime:
        target.parent.mkdir(parents=True, exist_ok=True)
        array, _ = read_bgrn(example.path)
        with atomic_output(target) as temp:
            viz.save_png(temp, viz.render(array, "true"))
    return target


def gallery(wait: float = GALLERY_WAIT_S) -> tuple[GalleryItems, list[str], str]:
    """Gallery items ``(thumbnail, caption)``, their example keys, and a Markdown note.

    Waits up to ``wait`` seconds for the real examples (on page load). An example whose file is
    gone or cannot be read is left out (the latter is logged).
    """
    examples, note = all_examples(wait)
    items, keys = [], []
    for example in (e for e in examples if e.path.is_file()):
        try:
            items.append((str(_thumbnail(example)), example.caption))
        except L1BSRError as error:
            log.warning("demo: example %s skipped: %s", example.key, error)
            continue
        keys.append(example.key)
    return items, keys, f"*{note}*" if note else ""


def initial_gallery() -> tuple[GalleryItems, list[str], str]:
    """Start fetching the real examples and return the gallery without waiting (page build)."""
    real_examples().start()
    return gallery(wait=0.0)


def find_example(key: str) -> Example:
    """The example of the gallery with this key.

    Raises:
        InputError: when it is not (or no longer) available.
    """
    for example in all_examples()[0]:
        if example.key == key:
            return example
    raise InputError(f"example {key!r} is not available; choose another one or upload a crop")


def copy_for_input(key: str) -> Path:
    """A copy of example ``key``'s input under :data:`~l1bsr_demo.paths.TEMP_ROOT`, named as the
    visitor sees it (what the page's file input then holds)."""
    example = find_example(key)
    target = paths.TEMP_ROOT / "inputs" / example.key / example.file_name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.is_file() or target.stat().st_size != example.path.stat().st_size:
        with atomic_output(target) as temp:
            shutil.copyfile(example.path, temp)
    return target


def identify(path: str | Path) -> Example | None:
    """The example ``path`` holds (a synthetic one, or a real one the fetcher knows), or None."""
    return identify_example(path, real_examples().hashes)
