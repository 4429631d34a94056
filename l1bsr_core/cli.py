"""Command line: ``python -m l1bsr_core INPUT OUTPUT --task {superresolution,registration}``.

Subcommands (``l1bsr product …``, ``l1bsr pairs …``, ``l1bsr batch …``) live in their own modules
(:data:`SUBCOMMANDS`) and share this module's one-line error conventions.

Every error the user can fix (arguments, paths, weights, inputs: any
:class:`~l1bsr_core.errors.L1BSRError`, and argparse's own) prints one line on stderr and exits
with status 2; no output file is left behind. Output names are checked before any work: they
must end in a suffix of the format written and may not name the input, however spelled.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .errors import L1BSRError, one_line
from .jobs import FLOW_SUFFIXES, TASKS, process_file
from .outputs import TIFF_SUFFIXES, check_output_path, same_file

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse prints its usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="l1bsr",
        description="Self-supervised 2x super-resolution (REC) and band registration (CSR) "
        "of Sentinel-2 L1B BGRN crops (bands B2, B3, B4, B8 as uint16 TIFF).",
        epilog="Also: 'l1bsr product PRODUCT OUT_DIR' (an L1B product to detector strips), 'l1bsr pairs "
        "PRODUCT OUT_DIR' (overlap pairs for training), 'l1bsr batch INPUT... OUT_DIR' (many inputs on Dask); "
        "each with --help.",
    )
    parser.add_argument("input", type=Path, help="input BGRN TIFF, (H, W, 4) or (4, H, W) uint16")
    parser.add_argument("output", type=Path,
                        help="output TIFF, .tif or .tiff (same layout and metadata as the input; never the input)")
    parser.add_argument("--task", choices=TASKS, default="superresolution",
                        help="superresolution (the default: REC, 2x, bands aligned to G) or registration "
                        "(CSR: B, R, NIR moved onto G)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--flow", type=Path, help="registration: save the (3, 2, H, W) float32 flow here (.npy)")
    parser.add_argument("--weights", help="registered name or checkpoint path (default: the shipped model)")
    parser.add_argument("--tile", type=int, default=None,
                        help="tile side in input pixels for large images (default: automatic, 0 = no tiling)")
    return parser


PROGRESS_BAR_WIDTH = 30
"""Characters of a progress bar."""


def progress_bar(done: int, total: int) -> str:
    """``[#####.....]``: the one bar of the command line (tiles) and of ``l1bsr batch`` (items)."""
    filled = PROGRESS_BAR_WIDTH * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}]"


class TileProgressBar:
    """A progress bar on stderr, shown only for runs of more than one tile."""

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


def check_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, output names of a format not written and outputs that are inputs."""
    if args.flow is not None and args.task != "registration":
        raise L1BSRError("--flow is only produced by --task registration")
    check_output_path(args.output, TIFF_SUFFIXES, keep=(args.input,))
    if args.flow is None:
        return
    check_output_path(args.flow, FLOW_SUFFIXES, keep=(args.input,))
    if same_file(args.flow, args.output):
        raise L1BSRError(f"--flow {args.flow} and the output {args.output} are the same file; expected two files")


def run(args: argparse.Namespace) -> None:
    check_paths(args)
    process_file(args.input, args.output, args.task, weights=args.weights, device=args.device, tile=args.tile,
                 flow=args.flow, progress=TileProgressBar(args.task))


SUBCOMMANDS = {
    "product": ("l1bsr_core.products.commands", "product_main"),
    "pairs": ("l1bsr_core.products.commands", "pairs_main"),
    "batch": ("l1bsr_core.batch.commands", "main"),
}
"""First arguments that select a subcommand: its module and entry point ``main(argv) -> status``."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status (2 and one line on stderr for a user error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        import importlib

        module, entry = SUBCOMMANDS[argv[0]]
        return getattr(importlib.import_module(module), entry)(argv[1:])
    args = build_parser().parse_args(argv)
    return run_reporting_errors("l1bsr", lambda: run(args))


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
