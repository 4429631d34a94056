"""A run's record: what went in, with what, and how long it took, as a JSON file beside the outputs.

One record per run (``<name>_record.json``): the input's name, SHA-256 and size, the window, the
page's choices, the networks (name, version, parameters, SHA-256 of the weights file), the
versions of Python and the libraries, the device and the time of each step. Enough to tell two
results apart, or to run the same thing again with the command line.
"""

from __future__ import annotations

import functools
import json
import platform
import time
from importlib import metadata
from pathlib import Path

from l1bsr_core import inference
from l1bsr_core.outputs import atomic_output, sha256_of

from .inputs import LoadedInput

RECORD_VERSION = 1
"""Bumped when a field changes meaning."""

PACKAGES = ("l1bsr-studio", "torch", "numpy", "scipy", "tifffile", "gradio")
"""Distributions whose versions a record lists (those installed)."""


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, stamp: tuple[int, int]) -> str:
    """SHA-256 of a file, cached by (mtime, size) ``stamp``."""
    return sha256_of(Path(path))


def sha256(path: str | Path) -> str:
    """SHA-256 of the file at ``path`` (computed once per version of the file)."""
    stat = Path(path).stat()
    return _file_sha256(str(path), (stat.st_mtime_ns, stat.st_size))


def network(kind: str) -> dict:
    """The network in use for ``kind`` ("rec", "csr"): name, version, parameters, weights file and hash."""
    info = inference.model_info(kind)
    source = info.get("source")
    entry = {key: info.get(key) for key in ("name", "version", "parameters")}
    if source and Path(source).is_file():
        entry["weights_file"] = Path(source).name
        entry["weights_sha256"] = sha256(source)
    return entry


def versions() -> dict[str, str]:
    """Python and the installed versions of :data:`PACKAGES`."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def write_record(path: Path, task: str, input_path: str | Path, loaded: LoadedInput, parameters: dict,
                 kinds: tuple[str, ...], device: str, timings: dict[str, float], outputs: list[str]) -> Path:
    """Write the record of one run as JSON at ``path`` and return the path.

    Args:
        task: "superresolution" or "registration".
        input_path: the file the run read.
        loaded: the input as processed (window, example).
        parameters: the page's choices (display, enlargement, fringe band, window as asked).
        kinds: the networks the task used ("rec", "csr").
        timings: seconds per step.
        outputs: names of the run's other files.
    """
    x0, y0, w, h = loaded.window
    record = {
        "record_version": RECORD_VERSION,
        "task": task,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": {
            "file": Path(input_path).name,
            "sha256": sha256(input_path),
            "size_px": [loaded.full_shape[1], loaded.full_shape[0]],
            "example": loaded.example.key if loaded.example else None,
        },
        "window": {"x0": x0, "y0": y0, "width": w, "height": h, "whole_image": loaded.is_whole,
                   "moved_from": list(loaded.moved_from) if loaded.moved_from else None},
        "parameters": parameters,
        "networks": {kind: network(kind) for kind in kinds},
        "device": device,
        "versions": versions(),
        "timings_s": {step: round(seconds, 4) for step, seconds in timings.items()},
        "outputs": [Path(name).name for name in outputs],
    }
    with atomic_output(path) as temp:
        temp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
