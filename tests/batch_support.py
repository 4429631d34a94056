"""Helpers of the batch tests: small BGRN crops written to disk, reference outputs, leftovers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tifffile

from l1bsr_core import cli

from support import simulated_view

SIDE = 96
"""Side of the crops the batch tests write (small: the tests run on busy cores)."""


def write_crops(folder: Path, count: int, *, first_seed: int = 0, prefix: str = "crop") -> list[Path]:
    """``count`` simulated L1B crops (SIDE x SIDE, BGRN uint16), planar and interleaved in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        view = simulated_view(SIDE, SIDE, seed=first_seed + index)  # (4, H, W)
        path = folder / f"{prefix}{index:02d}.tif"
        if index % 2:
            tifffile.imwrite(path, view, photometric="minisblack", planarconfig="separate")
        else:
            tifffile.imwrite(path, np.ascontiguousarray(view.transpose(1, 2, 0)))
        paths.append(path)
    return paths


def write_corrupt(path: Path) -> Path:
    """A file that starts like a TIFF and holds nothing readable."""
    path.write_bytes(b"II*\x00" + b"\xff" * 60)
    return path


def single_run(input: Path, folder: Path, task: str) -> np.ndarray:
    """What ``l1bsr INPUT OUTPUT --task`` writes, read back (through the command line itself, not the
    function batch workers share with it)."""
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / f"single_{input.stem}.tif"
    assert cli.main([str(input), str(output), "--task", task]) == 0
    return tifffile.imread(output)


def assert_within_one_dn(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape and actual.dtype == expected.dtype == np.uint16
    assert np.abs(actual.astype(np.int32) - expected.astype(np.int32)).max() <= 1


TEMP_NAME = re.compile(r"^\..*\.tmp")


def temp_files(folder: Path) -> list[str]:
    """Temporary files of atomic writes left in ``folder``."""
    return sorted(path.name for path in folder.iterdir() if TEMP_NAME.match(path.name))
