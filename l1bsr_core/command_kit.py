"""What every ``l1bsr`` command shares: the one-line error convention, the network options, the progress bar.

``l1bsr`` (:mod:`.cli`), ``l1bsr product`` / ``l1bsr pairs`` (:mod:`.products.commands`) and
``l1bsr batch`` (:mod:`.batch.commands`) build their parsers from :class:`OneLineParser` and
:func:`add_network_arguments`, and run through :func:`run_reporting_errors`: every error the user
can fix (any :class:`~l1bsr_core.errors.L1BSRError`, and argparse's own) prints one line on stderr
and exits with status :data:`EXIT_USER_ERROR`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from .errors import L1BSRError, one_line

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

DEFAULT_DEVICE = "cpu"
DEVICE_HELP = "cpu or cuda (default: cpu)"
WEIGHTS_HELP = "registered name or checkpoint path (default: the shipped model)"
TILE_HELP = "tile side in input pixels for large images (default: automatic, 0 = no tiling)"


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse prints its usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_network_arguments(parser: argparse.ArgumentParser, *, device_help: str = DEVICE_HELP) -> None:
    """``--device``, ``--weights`` and ``--tile``: how a command runs its network (the arguments of
    :func:`~l1bsr_core.jobs.process_file`), declared here once for every command."""
    parser.add_argument("--device", default=DEFAULT_DEVICE, help=device_help)
    parser.add_argument("--weights", help=WEIGHTS_HELP)
    parser.add_argument("--tile", type=int, default=None, help=TILE_HELP)


PROGRESS_BAR_WIDTH = 30
"""Characters of a progress bar."""


def progress_bar(done: int, total: int) -> str:
    """``[#####.....]``: the one bar of the command line (tiles) and of ``l1bsr batch`` (items)."""
    filled = PROGRESS_BAR_WIDTH * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}]"


class TileProgressBar:
    """A tile progress callback (``progress(done_tiles, total_tiles)``) drawing a bar on stderr,
    shown only for runs of more than one tile."""

    def __init__(self, label: str):
        self.label = label
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if total <= 1:
            return
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} {progress_bar(done, total)} {done}/{total} tiles {elapsed:.1f}s")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_reporting_errors(prog: str, action: Callable[[], int | None], *, interrupted: str = "interrupted") -> int:
    """``action()``'s exit status (None: 0); a user error (:class:`L1BSRError`) prints one line on
    stderr and gives 2, Ctrl-C prints ``interrupted`` and gives 130. The one error convention of
    the command line and of its subcommands."""
    try:
        return action() or 0
    except L1BSRError as error:
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
