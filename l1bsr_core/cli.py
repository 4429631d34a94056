"""Command line: ``python -m l1bsr_core INPUT OUTPUT --task {superresolution,registration}``.

Every error the user can fix (arguments, paths, weights, inputs: any
:class:`~l1bsr_core.errors.L1BSRError`, and argparse's own) prints one line on stderr and exits
with status 2; no output file is left behind. Output names are checked before any work: they
must end in a suffix of the format written and may not name the input, however spelled.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .bands import SCALE_FACTOR
from .errors import InputError, L1BSRError, one_line
from .io import read_bgrn, write_bgrn
from .outputs import TIFF_SUFFIXES, atomic_output, check_output_path, same_file

TASKS = ("superresolution", "registration")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
FLOW_SUFFIXES = (".npy",)
"""Names accepted for ``--flow``: the flow is saved with ``np.save``."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse prints its usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="l1bsr",
        description="Self-supervised 2x super-resolution (REC) and band registration (CSR) "
        "of Sentinel-2 L1B BGRN crops (bands B2, B3, B4, B8 as uint16 TIFF).",
    )
    parser.add_argument("input", type=Path, help="input BGRN TIFF, (H, W, 4) or (4, H, W) uint16")
    parser.add_argument("output", type=Path,
                        help="output TIFF, .tif or .tiff (same layout and metadata as the input; never the input)")
    parser.add_argument("--task", choices=TASKS, default="superresolution")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--flow", type=Path, help="registration: save the (3, 2, H, W) float32 flow here (.npy)")
    parser.add_argument("--weights", help="registered name or checkpoint path (default: the shipped model)")
    parser.add_argument("--tile", type=int, default=None,
                        help="tile side in input pixels for large images (default: automatic, 0 = no tiling)")
    return parser


class _ProgressBar:
    """A progress bar on stderr, shown only for runs of more than one tile."""

    def __init__(self, label: str):
        self.label = label
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if total <= 1:
            return
        width = 30
        filled = int(width * done / total)
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} tiles {elapsed:.1f}s")
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


def save_flow(path: Path, flow: np.ndarray) -> None:
    """``np.save`` to ``path`` (a temporary file of :func:`atomic_output`), as an InputError if it fails."""
    try:
        np.save(path, flow)
    except OSError as error:
        raise InputError(f"cannot write the flow: {error.strerror or one_line(error)}") from error


def run(args: argparse.Namespace) -> None:
    check_paths(args)
    bgrn, info = read_bgrn(args.input)
    from . import inference  # imports torch: keep --help and refused paths fast

    progress = _ProgressBar(args.task)
    if args.task == "superresolution":
        result = inference.superresolve(bgrn, weights=args.weights, device=args.device, tile=args.tile,
                                        progress=progress)
        write_bgrn(args.output, result, like=info, scale=SCALE_FACTOR)
        return
    registered, flow = inference.register(bgrn, weights=args.weights, device=args.device, tile=args.tile,
                                          progress=progress)
    if args.flow is None:
        write_bgrn(args.output, registered, like=info)
        return
    with atomic_output(args.flow, FLOW_SUFFIXES[0]) as temp:  # the flow appears only with the image
        save_flow(temp, flow)
        write_bgrn(args.output, registered, like=info)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status (2 and one line on stderr for a user error)."""
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except L1BSRError as error:
        print(f"l1bsr: error: {one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("l1bsr: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
