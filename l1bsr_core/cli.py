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

from .domain import DECLARABLE_LEVELS
from .errors import L1BSRError, one_line
from .jobs import FLOW_SUFFIXES, REPORT_SUFFIXES, TASKS, process_file
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
                        help="superresolution (2x, the default) or registration")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--flow", type=Path, help="registration: save the (3, 2, H, W) float32 flow here (.npy)")
    parser.add_argument("--weights", help="registered name or checkpoint path (default: the shipped model)")
    parser.add_argument("--tile", type=int, default=None,
                        help="tile side in input pixels for large images (default: automatic, 0 = no tiling)")
    add_coregistered_arguments(parser)
    return parser


def _argument_type(parse: Callable):
    """An argparse type from a parser raising L1BSRError (its message becomes argparse's one line)."""
    def convert(text: str):
        try:
            return parse(text)
        except L1BSRError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    convert.__name__ = parse.__name__
    return convert


COREGISTERED_OPTIONS = ("level", "dn_offset", "window", "bbox", "align")
"""The :func:`add_coregistered_arguments` of files, as :func:`~l1bsr_core.jobs.process_file` names them."""


def add_coregistered_arguments(parser: argparse.ArgumentParser, *, files: bool = True) -> None:
    """The options of L1C/L2A inputs, shared by ``l1bsr``, ``l1bsr batch`` and (without ``--level`` and
    ``--dn-offset``, which a product says itself: ``files`` False) ``l1bsr product``."""
    from .areas import parse_bbox, parse_window

    if files:
        parser.add_argument("--level", choices=sorted(DECLARABLE_LEVELS),
                            help="the input's processing level when the file does not say it (default: from the "
                            "product metadata or the file's tags; a TIFF on a map grid is taken as L1C/L2A, an "
                            "untagged crop as L1B of unknown level)")
    parser.add_argument("--align", action=argparse.BooleanOptionalAction, default=None,
                        help="align B, R, NIR onto G with the CSR (default: yes for L1B, no for L1C/L2A, whose "
                        "bands are already co-registered)")
    parser.add_argument("--window", type=_argument_type(parse_window), metavar="COL,ROW,WIDTH,HEIGHT",
                        help="L1C/L2A: process this pixel window only")
    parser.add_argument("--bbox", type=_argument_type(parse_bbox), metavar="XMIN,YMIN,XMAX,YMAX",
                        help="L1C/L2A: process this box only, in the input's CRS (with --window: both)")
    if files:
        parser.add_argument("--dn-offset", type=float, choices=(0.0, -1000.0), default=None,
                            help="uint16 exports that do not say it: reflectance = (DN + offset) / 10000 (default: "
                            "0, said as assumed; -1000 for processing baseline 04.00 and later, not harmonised)")


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
    suffixes = TIFF_SUFFIXES + REPORT_SUFFIXES if args.task == "registration" else TIFF_SUFFIXES
    check_output_path(args.output, suffixes, keep=(args.input,))
    if args.flow is None:
        return
    check_output_path(args.flow, FLOW_SUFFIXES, keep=(args.input,))
    if same_file(args.flow, args.output):
        raise L1BSRError(f"--flow {args.flow} and the output {args.output} are the same file; expected two files")


def run(args: argparse.Namespace) -> None:
    check_paths(args)
    record = process_file(args.input, args.output, args.task, weights=args.weights, device=args.device,
                          tile=args.tile, flow=args.flow, progress=TileProgressBar(args.task), level=args.level,
                          dn_offset=args.dn_offset, window=args.window, bbox=args.bbox, align=args.align)
    report_domain("l1bsr", record)


def report_domain(prog: str, record: dict) -> None:
    """The domain notice (one line on stderr) for an input outside L1B, and a registration check's lines."""
    if not record.get("in_domain", True):
        print(f"{prog}: note: input {record['domain']} ({record['level_evidence']}); path: {record['path']}",
              file=sys.stderr)
    for band, line in (record.get("misregistration") or {}).items():
        print(f"{prog}: {band} onto G: median {line['median_px']:.3f} px, p90 {line['p90_px']:.3f} px, mean shift "
              f"({line['mean_dx_px']:+.3f}, {line['mean_dy_px']:+.3f}) px", file=sys.stderr)


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
