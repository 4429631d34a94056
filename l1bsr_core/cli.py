"""Command line: ``python -m l1bsr_core INPUT OUTPUT --task {superresolution,registration}``.

Errors the user can fix (bad input, missing weights, no GPU) print one line on stderr and exit
with status 2; no output file is left behind.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .bands import SCALE_FACTOR
from .errors import L1BSRError
from .io import atomic_output, read_bgrn, write_bgrn

TASKS = ("superresolution", "registration")
EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="l1bsr",
        description="Self-supervised 2x super-resolution (REC) and band registration (CSR) "
        "of Sentinel-2 L1B BGRN crops (bands B2, B3, B4, B8 as uint16 TIFF).",
    )
    parser.add_argument("input", type=Path, help="input BGRN TIFF, (H, W, 4) or (4, H, W) uint16")
    parser.add_argument("output", type=Path, help="output TIFF (same layout and metadata as the input)")
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


def run(args: argparse.Namespace) -> None:
    from . import inference  # imports torch: keep --help fast

    if args.flow is not None and args.task != "registration":
        raise L1BSRError("--flow is only produced by --task registration")
    if args.flow is not None and args.flow.suffix != ".npy":
        raise L1BSRError(f"--flow must name a .npy file, got {args.flow}")
    bgrn, info = read_bgrn(args.input)
    progress = _ProgressBar(args.task)
    if args.task == "superresolution":
        result = inference.superresolve(bgrn, weights=args.weights, device=args.device, tile=args.tile, progress=progress)
        write_bgrn(args.output, result, like=info, scale=SCALE_FACTOR)
    else:
        registered, flow = inference.register(bgrn, weights=args.weights, device=args.device, tile=args.tile, progress=progress)
        if args.flow is not None:
            with atomic_output(args.flow, ".npy") as tmp:
                np.save(tmp, flow)
        write_bgrn(args.output, registered, like=info)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except L1BSRError as error:
        print(f"l1bsr: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("l1bsr: interrupted", file=sys.stderr)
        return 130
    return 0
