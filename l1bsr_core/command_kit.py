"""What every ``l1bsr`` command shares: the one-line error convention, the network options and
their check, the progress bar.

``l1bsr`` (:mod:`.cli`), ``l1bsr product`` / ``l1bsr pairs`` (:mod:`.products.commands`) and
``l1bsr batch`` (:mod:`.batch.commands`) build their parsers from :class:`OneLineParser` and
:func:`add_network_arguments` and run through :func:`run_reporting_errors`; ``l1bsr product`` and
``l1bsr batch``, which run many detectors or items, refuse unusable network options once, first,
with :func:`check_networks`: every error the user can fix (any
:class:`~l1bsr_core.errors.L1BSRError`, and argparse's own) prints one line on stderr and exits with
status :data:`EXIT_USER_ERROR`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from .areas import coordinates_text, parse_bbox, parse_window
from .domain import DECLARABLE_LEVELS, UNKNOWN
from .errors import ArgumentError, L1BSRError, one_line
from .tiling import check_tile

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

DEFAULT_DEVICE = "cpu"
DEVICE_HELP = "cpu or cuda (default: cpu)"
WEIGHTS_HELP = "registered name or checkpoint path (default: the shipped model)"
CHECKING_DEVICE = "cpu"
"""Where :func:`check_networks` loads the networks that other processes run, only to check them."""
TILE_HELP = "tile side in input pixels for large images (default: automatic, 0 = no tiling)"


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (argparse prints its usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_network_arguments(parser: argparse.ArgumentParser, *, device_help: str = DEVICE_HELP) -> None:
    """``--device``, ``--weights`` and ``--tile``: how a command runs its network (the arguments of
    :func:`~l1bsr_core.jobs.process_file`), declared here once for every command."""
    parser.add_argument("--device", default=DEFAULT_DEVICE, help=device_help)
    parser.add_argument("--weights", type=_weights_name, help=WEIGHTS_HELP)
    parser.add_argument("--tile", type=int, default=None, help=TILE_HELP)


def _weights_name(text: str) -> str:
    """``--weights``: a name or a path, not blank (an empty value would silently mean the default)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty value; expected a registered name or a checkpoint path "
                                         "(leave --weights out for the shipped model)")
    return text


def check_networks(kind: str | None, *, weights: str | None, tile: int | None, device: str, run_here: bool = True,
                   device_here: bool = True) -> list[tuple[str, dict]]:
    """Refuse once, before any work, a tile size, device or weights the networks cannot run with
    (ArgumentError, WeightsError: one line); else every detector or item would fail on its own with
    the same line. ``kind``: the task's network (``rec``, ``csr``), None for a task that runs none
    (``l1bsr product --task none``), which takes no ``tile``.

    Returns ``(kind, info)`` of every network the task runs, each loaded to check it
    (:func:`~l1bsr_core.weights.task_networks`: a REC that aligns its input brings its CSR):

    * ``run_here`` (``l1bsr product``): this process runs them, on ``device``, which this machine
      must have: they are loaded there, and the work gets these very networks again from
      :func:`~l1bsr_core.weights.get_model`'s cache (loaded once, on the device that runs them);
    * otherwise (``l1bsr batch``: worker processes load their own): loaded on the CPU, only to be
      checked and their files read, so that this process holds no GPU memory the workers need.
      ``device_here`` False (workers of another machine, checked once connected): only the device's
      name is checked, not that this machine has it.
    """
    if kind is None:
        if tile is not None:
            raise ArgumentError("--tile applies to a network and --task none runs none; expected no --tile with it")
        return []
    check_tile(tile)
    from .devices import parse_device, resolve_device  # imports torch: after the cheap checks
    from .weights import task_networks

    (resolve_device if device_here else parse_device)(device)
    return task_networks(kind, weights, device if run_here else CHECKING_DEVICE)


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


def report_domain(prog: str, record: dict) -> None:
    """The notes of a run's record on stderr, one line each: the domain notice for an input outside
    L1B, a bbox clipped to the image (:func:`clipped_bbox_line`), and a registration check's lines."""
    if not record.get("in_domain", True):
        hint = "; say which it is with --level l1b, l1c or l2a" if record["input_level"] == UNKNOWN else ""
        print(f"{prog}: note: input {record['domain']} ({record['level_evidence']}{hint}); path: {record['path']}",
              file=sys.stderr)
    if record.get("bbox_clipped") is not None:
        print(f"{prog}: {clipped_bbox_line(record['bbox_clipped'])}", file=sys.stderr)
    for band, line in (record.get("misregistration") or {}).items():
        print(f"{prog}: {band} onto G: median {line['median_px']:.3f} px, p90 {line['p90_px']:.3f} px, mean shift "
              f"({line['mean_dx_px']:+.3f}, {line['mean_dy_px']:+.3f}) px", file=sys.stderr)


def clipped_bbox_line(clipped: dict) -> str:
    """The note for a record's ``bbox_clipped`` field
    (:func:`~l1bsr_core.coregistered.clipped_bbox_record`): the bbox asked for and the bounds it
    reached past (CRS units), the window processed (col, row, width, height, px) and its bounds."""
    window = clipped["window"]
    pixels = f"{window['col']},{window['row']},{window['width']},{window['height']}"
    return (f"note: bbox {coordinates_text(clipped['requested_bbox'])} reaches past the {clipped['clipped_to']} "
            f"(bounds {coordinates_text(clipped['clipped_to_bounds'])}); processed the part inside it: {pixels} px "
            f"(bounds {coordinates_text(clipped['bounds'])}, {clipped['crs']})")


PROGRESS_BAR_WIDTH = 30
"""Characters of a progress bar."""


def progress_bar(done: int, total: int) -> str:
    """``[#####.....]``: the one bar of the command line (tiles) and of ``l1bsr batch`` (items)."""
    filled = PROGRESS_BAR_WIDTH * done // max(total, 1)
    return f"[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}]"


class TileProgressBar:
    """A tile progress callback (``progress(done_tiles, total_tiles)``) drawing a bar on stderr,
    shown only for runs of more than one tile. ``unit``: what it counts (``tiles``; the
    co-registered path counts blocks of rows, see :meth:`counting`)."""

    def __init__(self, label: str, unit: str = "tiles"):
        self.label = label
        self.unit = unit
        self.start = time.perf_counter()

    open_line = False
    """Whether a bar was drawn and its line not ended (an error line then starts on a new one)."""

    def counting(self, unit: str) -> TileProgressBar:
        """The same bar (label, start time) counting ``unit``."""
        bar = TileProgressBar(self.label, unit)
        bar.start = self.start
        return bar

    def __call__(self, done: int, total: int) -> None:
        if total <= 1:
            return
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(f"\r{self.label} {progress_bar(done, total)} {done}/{total} {self.unit} {elapsed:.1f}s")
        TileProgressBar.open_line = done < total
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def run_reporting_errors(prog: str, action: Callable[[], int | None], *, interrupted: str = "interrupted") -> int:
    """``action()``'s exit status (None: 0); a user error (:class:`L1BSRError`) or one of the
    system's about files and folders (:class:`OSError`: a read-only or full disk, a name too long)
    prints one line on stderr and gives 2, Ctrl-C prints ``interrupted`` and gives 130. The one
    error convention of the command line and of its subcommands."""
    try:
        return action() or 0
    except (L1BSRError, OSError) as error:
        if TileProgressBar.open_line:  # not after a bar left mid-way on the same line
            sys.stderr.write("\n")
            TileProgressBar.open_line = False
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: {interrupted}", file=sys.stderr)
        return EXIT_INTERRUPTED
