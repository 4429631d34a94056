"""Command line: ``python -m l1bsr_core INPUT OUTPUT --task {superresolution,registration}``.

Subcommands (``l1bsr product …``, ``l1bsr pairs …``, ``l1bsr batch …``) live in their own modules
(:data:`SUBCOMMANDS`); every command shares the parser, network options and one-line error
convention of :mod:`.command_kit`.

Every error the user can fix (arguments, paths, weights, inputs: any
:class:`~l1bsr_core.errors.L1BSRError`, and argparse's own) prints one line on stderr and exits
with status 2; no output file is left behind. Output names are checked before any work: they
must end in a suffix of the format written and may not name the input, however spelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .command_kit import (
    OneLineParser,
    TileProgressBar,
    add_coregistered_arguments,
    add_network_arguments,
    report_domain,
    run_reporting_errors,
)
from .errors import L1BSRError
from .jobs import FLOW_SUFFIXES, REPORT_SUFFIXES, TASKS, process_file
from .outputs import TIFF_SUFFIXES, check_output_path, same_file
from .process_tuning import freeze_imported_objects, keep_freed_blocks


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="l1bsr",
        description="Self-supervised 2x super-resolution (REC) and band registration (CSR) "
        "of Sentinel-2 L1B BGRN crops (bands B2, B3, B4, B8 as uint16 TIFF). Also takes L1C/L2A products "
        "(.SAFE folder or .zip) and 4-band GeoTIFF exports (float32 reflectance or uint16), outside the "
        "networks' L1B domain: their bands are already co-registered, so super-resolution runs without "
        "CSR alignment and registration measures their residual misregistration (a .json report).",
        epilog="Also: 'l1bsr product PRODUCT OUT_DIR' (an L1B product to detector strips), 'l1bsr pairs "
        "PRODUCT OUT_DIR' (overlap pairs for training), 'l1bsr batch INPUT... OUT_DIR' (many inputs on Dask); "
        "each with --help.",
    )
    parser.add_argument("input", type=Path, help="input BGRN TIFF, (H, W, 4) or (4, H, W) uint16; or an L1C/L2A "
                        "product or 4-band GeoTIFF export")
    parser.add_argument("output", type=Path,
                        help="output TIFF, .tif or .tiff (same layout and metadata as the input; never the input); "
                        ".json for the registration check of an L1C/L2A input")
    parser.add_argument("--task", choices=TASKS, default="superresolution",
                        help="superresolution (the default: REC, 2x, bands aligned to G) or registration "
                        "(CSR: B, R, NIR moved onto G)")
    parser.add_argument("--flow", type=Path, help="registration: save the (3, 2, H, W) float32 flow here (.npy)")
    add_network_arguments(parser)
    add_coregistered_arguments(parser)
    return parser


def check_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, output names of a format not written and outputs that are inputs."""
    if args.flow is not None and args.task != "registration":
        raise L1BSRError("--flow is only produced by --task registration")
    suffixes = TIFF_SUFFIXES + REPORT_SUFFIXES if args.task == "registration" else TIFF_SUFFIXES
    check_output_path(args.output, suffixes, keep=(args.input,))
    if args.flow is None:
        return
    check_output_path(args.flow, FLOW_SUFFIXES, keep=(args.input,))
    if same_file(args.flow, args.output):
        raise L1BSRError(f"--flow {args.flow} and the output {args.output} are the same file; expected two files")


def run(args: argparse.Namespace, *, as_program: bool = False) -> None:
    """One input to one output. ``as_program``: this process is the command itself, so the
    process-wide settings of :mod:`.process_tuning` are made before the work."""
    check_paths(args)
    if as_program:
        keep_freed_blocks()  # one image: its first tensors are not faulted in one by one
        freeze_imported_objects("l1bsr_core.inference")  # torch and the networks' code, before any work
    record = process_file(args.input, args.output, args.task, weights=args.weights, device=args.device,
                          tile=args.tile, flow=args.flow, progress=TileProgressBar(args.task), level=args.level,
                          dn_offset=args.dn_offset, window=args.window, bbox=args.bbox, align=args.align)
    report_domain("l1bsr", record)


def _product(argv: list[str]) -> int:
    from .products.commands import product_main  # imports torch: only when the subcommand runs

    return product_main(argv)


def _pairs(argv: list[str]) -> int:
    from .products.commands import pairs_main

    return pairs_main(argv)


def _batch(argv: list[str]) -> int:
    from .batch.commands import main as batch_main

    return batch_main(argv)


SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {"product": _product, "pairs": _pairs, "batch": _batch}
"""First arguments that select a subcommand, and its entry point ``main(argv) -> status``."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit status (2 and one line on stderr for a user error).

    Without ``argv`` (the ``l1bsr`` program, ``python -m l1bsr_core``) the arguments are the
    process's and a one-image run tunes the process (:mod:`.process_tuning`); with ``argv`` (a
    caller in Python, e.g. the tests) it does not."""
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    args = build_parser().parse_args(argv)
    return run_reporting_errors("l1bsr", lambda: run(args, as_program=as_program))
