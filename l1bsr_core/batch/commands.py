"""``l1bsr batch INPUT… OUT_DIR --task …``: many inputs, one command, on Dask.

Exit status: 0 when every item is done or skipped, 1 when some failed (one line each on stderr,
and in the manifest; an input product that cannot be read is such an item, failed without
running), 2 for a usage error (one line, nothing started, OUT_DIR left as it was), 130 on Ctrl-C
(the items done so far are in the manifest; run the command again to finish).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from ..command_kit import (
    COREGISTERED_OPTIONS,
    DEVICE_HELP,
    EXIT_USER_ERROR,
    OneLineParser,
    add_coregistered_arguments,
    add_network_arguments,
    check_networks,
    progress_bar,
    run_reporting_errors,
)
from ..errors import ArgumentError, InputError, one_line
from ..jobs import MODEL_KINDS, TASKS
from ..outputs import sha256_of
from .items import Item, expand_inputs, remove_leftovers
from .manifest import (
    DONE,
    FAILED,
    SKIPPED,
    Manifest,
    check_same_task,
    is_up_to_date,
    last_done,
    make_record,
    read_records,
)

PROG = "l1bsr batch"
EXIT_FAILED_ITEMS = 1


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Run one task on many BGRN TIFFs (files, folders of them, L1B products; also L1C/L2A "
        "products and 4-band GeoTIFF exports, outside the networks' L1B domain) on a Dask "
        "cluster; outputs go to OUT_DIR with a manifest (manifest.jsonl). A re-run skips items done.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                        help="BGRN TIFF, folder of TIFFs (not recursive) or L1B product (.SAFE folder or .zip)")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="output folder (created if missing)")
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--workers", type=_positive_int,
                        help="worker processes of the embedded cluster (default: the cores / threads per worker)")
    parser.add_argument("--threads-per-worker", type=_positive_int,
                        help="threads of each worker, and its torch threads (default 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="use an existing Dask cluster (tcp://HOST:PORT) instead of an embedded one; "
                        "inputs and OUT_DIR must be at the same paths on its workers")
    parser.add_argument("--overwrite", action="store_true",
                        help="redo items already done (never another task's: outputs are named after the input "
                        "only, so OUT_DIR holds one task's outputs)")
    add_network_arguments(parser, device_help=f"{DEVICE_HELP}; with --scheduler, what every worker must have")
    add_coregistered_arguments(parser)
    return parser


def check_arguments(args: argparse.Namespace) -> str:
    """Refuse, before anything starts, arguments that cannot work (ArgumentError, WeightsError).

    Returns which networks the task runs, as ``kind:SHA-256`` of their weights files (the REC's
    with the CSR it aligns with): the manifest records it, so a re-run redoes items made by
    other weights, e.g. after an upgrade changed the shipped ones.
    """
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise ArgumentError(f"OUT_DIR {args.out_dir} is a file; expected a folder (created if missing)")
    existing = next(folder for folder in (args.out_dir, *args.out_dir.absolute().parents) if folder.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ArgumentError(f"cannot write in {existing}: no permission; expected a writable OUT_DIR")
    if args.scheduler is not None and args.workers is not None:
        raise ArgumentError("--workers sizes the embedded cluster; an existing cluster (--scheduler) has its own")
    # the workers load their own networks; the embedded ones run here: this machine needs the device
    networks = check_networks(MODEL_KINDS[args.task], weights=args.weights, tile=args.tile, device=args.device,
                              run_here=False, device_here=args.scheduler is None)
    return "+".join(f"{name}:{sha256_of(info['source'])}" for name, info in networks)


class ItemProgressBar:
    """Items done/total, failures and an ETA on stderr; failed items as one line each above it."""

    def __init__(self, total: int, skipped: int, stream=None):
        self.total, self.stream = total, stream or sys.stderr
        self.counts = {DONE: 0, FAILED: 0, SKIPPED: skipped}
        self.untimed = 0
        """Items failed without running (unreadable products): left out of the ETA, like skipped ones."""
        self.start = time.perf_counter()
        self.drawn = False

    @property
    def finished(self) -> int:
        return sum(self.counts.values())

    def eta(self) -> str:
        ran = self.counts[DONE] + self.counts[FAILED] - self.untimed
        left = self.total - self.finished
        if not ran:
            return "?"
        seconds = round((time.perf_counter() - self.start) / ran * left)
        return f"{seconds // 60}:{seconds % 60:02d}"

    def update(self, status: str | None = None, *, ran: bool = True) -> None:
        """Count an item of ``status`` (``ran`` False: it failed without running) and redraw the bar."""
        if status is not None:
            self.counts[status] += 1
            self.untimed += not ran
        failed = f", {self.counts[FAILED]} failed" if self.counts[FAILED] else ""
        self.stream.write(f"\rbatch {progress_bar(self.finished, self.total)} {self.finished}/{self.total} "
                          f"items{failed}, ETA {self.eta()}  ")
        self.stream.flush()
        self.drawn = True

    def line(self, text: str) -> None:
        """Print ``text`` on a line of its own (ending the bar's line first)."""
        if self.drawn:
            self.stream.write("\n")
            self.drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()


def _name(item: Item) -> str:
    return f"{item.input} detector {item.detector}" if item.detector is not None else str(item.input)


def _report_failure(progress: ItemProgressBar, item: Item, error: str) -> None:
    """The one line of a failed item on stderr, naming the item once (our messages mostly name it already)."""
    progress.line(f"{PROG}: error: {error if _name(item) in error else f'{_name(item)}: {error}'}")


def _options(args: argparse.Namespace) -> dict:
    """The L1C/L2A options of the command, as :func:`~l1bsr_core.jobs.process_file` names them."""
    return {name: getattr(args, name) for name in COREGISTERED_OPTIONS}


def _partition(items: list[Item], done: dict[str, dict], args, networks: str) -> tuple[list[Item], list[Item]]:
    """(to do, up to date): an item is up to date when its output is the one its last done record wrote."""
    if args.overwrite:
        return items, []
    todo, skipped = [], []
    for item in items:
        up_to_date = is_up_to_date(item, done.get(item.key), task=args.task, weights=args.weights,
                                   networks=networks, options=_options(args))
        (skipped if up_to_date else todo).append(item)
    return todo, skipped


def run(args: argparse.Namespace) -> int:
    """Run the batch; return the exit status (L1BSRError for usage errors, before anything is written)."""
    networks = check_arguments(args)
    manifest = Manifest(args.out_dir)
    done = last_done(read_records(manifest.path))
    made = [args.out_dir / Path(record["output"]).name for record in done.values()]  # OUT_DIR, however spelt then
    items = expand_inputs(args.inputs, args.out_dir, made)
    unusable = [item for item in items if item.error is not None]  # failed already: recorded, never run
    usable = [item for item in items if item.error is None]
    check_same_task(usable, done, args.task)
    todo, skipped = _partition(usable, done, args, networks)
    progress = ItemProgressBar(len(items), len(skipped))
    from .engine import check_device, open_cluster, run_items

    with contextlib.ExitStack() as stack:
        stack.callback(remove_leftovers, todo)  # runs last, once the cluster is closed: no writer left
        if todo:  # connect first: an unreachable scheduler is a usage error that leaves OUT_DIR as it was
            cluster = stack.enter_context(open_cluster(scheduler=args.scheduler, workers=args.workers,
                                                       threads_per_worker=args.threads_per_worker))
            if args.scheduler is not None:
                check_device(cluster, args.device)
        try:
            args.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"cannot make OUT_DIR {args.out_dir}: {error.strerror or one_line(error)}") from error
        stack.enter_context(manifest)
        for item in skipped:
            manifest.append(make_record(item, SKIPPED, task=args.task, weights=args.weights,
                                        sha256=done[item.key]["sha256"], networks=networks, options=_options(args)))
        for item in unusable:
            manifest.append(make_record(item, FAILED, task=args.task, weights=args.weights, error=item.error,
                                        networks=networks, options=_options(args)))
            _report_failure(progress, item, item.error)
            progress.update(FAILED, ran=False)
        if todo:
            progress.update()
            options = _options(args)
            outside: dict[str, int] = {}
            for item, result in run_items(cluster, todo, task=args.task, weights=args.weights, device=args.device,
                                          tile=args.tile, options=options):
                manifest.append(make_record(item, result["status"], task=args.task, weights=args.weights,
                                            error=result["error"], seconds=result["seconds"],
                                            worker=result["worker"], sha256=result["sha256"],
                                            detail=result["detail"], networks=networks, options=options))
                if (result["detail"] or {}).get("in_domain") is False:
                    outside[result["detail"]["input_level"]] = outside.get(result["detail"]["input_level"], 0) + 1
                if result["status"] == FAILED:
                    _report_failure(progress, item, result["error"])
                progress.update(result["status"])
    counts = progress.counts
    if todo and outside:
        levels = ", ".join(f"{count} {level}" for level, count in sorted(outside.items()))
        progress.line(f"{PROG}: note: {levels} input(s) outside the networks' L1B training domain; the manifest "
                      "says which and the path each took")
    progress.line(f"{PROG}: {counts[DONE]} done, {counts[FAILED]} failed, {counts[SKIPPED]} skipped in "
                  f"{time.perf_counter() - progress.start:.1f} s; manifest {manifest.path}")
    return EXIT_FAILED_ITEMS if counts[FAILED] else 0


def main(argv: list[str] | None = None) -> int:
    """``l1bsr batch``: return the exit status (2 and one line on stderr for a usage error)."""
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # argparse: --help (0) or one line (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USER_ERROR
    return run_reporting_errors(PROG, lambda: run(args), interrupted="interrupted; the items finished are in the "
                                "manifest, run the command again to do the others")
