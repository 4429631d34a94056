"""``l1bsr product`` and ``l1bsr pairs``: an L1B product to detector strips, or to overlap pairs.

``l1bsr product`` also takes an L1C or L2A product (outside the networks' L1B domain: one tile,
bands co-registered): it writes ``OUT_DIR/<product>_<task>.tif`` for a window of it (``--window``,
``--bbox``) through :mod:`l1bsr_core.coregistered`, or ``<product>_misregistration.json`` for
registration (a check of the product's own band registration), and says which path it took.

Errors found before any work (a missing path, not an L1B product, an L1C/L2A product, a damaged
zip, a granule without its band files, bad arguments: the networks' tile size, device and weights
are checked once, not per detector; pairs' size and overlap against the strips) print one line
and exit 2, leaving nothing: no OUT_DIR is made, or the one made is removed while empty. A
detector that fails later (e.g. a JPEG 2000 that does not decode) is reported in the manifest and
on stderr (one line) while the other detectors are written: exit 1. If every detector fails,
nothing that looks finished is written: exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..command_kit import (
    EXIT_USER_ERROR,
    OneLineParser,
    TileProgressBar,
    add_coregistered_arguments,
    add_network_arguments,
    check_networks,
    report_domain,
    run_reporting_errors,
)
from ..errors import ArgumentError, L1BSRError, one_line
from ..io import write_bgrn
from ..jobs import MODEL_KINDS
from ..outputs import write_json
from .layout import product_stem
from .overlap import (
    EXPECTED_OVERLAP_PX,
    REAL_PAIR_SUFFIXES,
    check_expected_overlap,
    cut_pairs,
    find_overlap,
    plan_pairs,
    shared_rows,
)
from .process import (
    PRODUCT_TASKS,
    OpenProduct,
    aligned_strip,
    check_detectors,
    open_product,
    output_name,
    process_detector,
)
from .strips import detector_granules, strip_size

EXIT_PARTIAL = 1
MANIFEST = "manifest.json"
PAIRS_MANIFEST = "pairs.json"
DEFAULT_PAIR_ROWS = 384
"""Pair crops along track, px (the authors' crops are ~400 px tall)."""
MIN_PAIR_ROWS = 64


def _detectors(text: str) -> list[int]:
    try:
        detectors = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of detector numbers like 1,2,3") from None
    if not detectors or any(not 1 <= d <= 12 for d in detectors):
        raise argparse.ArgumentTypeError(f"{text!r}: detectors are numbered 1 to 12, e.g. 1,2,3")
    return detectors


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("product", type=Path, help="an L1B SAFE folder or its .zip")
    parser.add_argument("out_dir", type=Path, help="folder for the outputs (created if missing)")
    parser.add_argument("--detectors", type=_detectors, help="detectors to use, e.g. 1,2 (default: all)")


def product_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="l1bsr product", description="Sentinel-2 L1B product → one BGRN GeoTIFF per "
                           "detector strip (D01.tif, …), bands coarsely aligned, then registered or 2x super-resolved. "
                           "An L1C/L2A product (outside the networks' L1B domain) → one GeoTIFF of its 10 m B, G, R, "
                           "NIR (a window with --window/--bbox): super-resolved without CSR alignment, or a JSON "
                           "report of its residual band misregistration for --task registration.")
    _common(parser)
    parser.add_argument("--task", choices=PRODUCT_TASKS, default="registration",
                        help="none: coarse band alignment only; registration; superresolution (2x)")
    add_network_arguments(parser)
    add_coregistered_arguments(parser, files=False)
    return parser


def pairs_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="l1bsr pairs", description="Sentinel-2 L1B product → overlap pairs of adjacent "
                           "detectors (NAME_0.tif, NAME_1.tif: the same ground, for training with --real-pairs).")
    _common(parser)
    parser.add_argument("--size", type=int, default=DEFAULT_PAIR_ROWS,
                        help=f"rows of each pair along track (default {DEFAULT_PAIR_ROWS}, at least {MIN_PAIR_ROWS})")
    parser.add_argument("--overlap", type=int, default=EXPECTED_OVERLAP_PX,
                        help=f"expected overlap of adjacent detectors in px (default {EXPECTED_OVERLAP_PX})")
    return parser


def _out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ArgumentError(f"OUT_DIR {path} is a file; expected a folder")
    if not path.parent.is_dir():
        raise ArgumentError(f"the folder {path.parent} of OUT_DIR does not exist")
    return path


@contextlib.contextmanager
def _made(out_dir: Path) -> Iterator[None]:
    """Make OUT_DIR for the block; after it, remove the OUT_DIR it made if still empty: a run that
    wrote nothing (refused, or every detector failed) leaves no folder behind. A folder that existed
    before, or holds anything, is kept."""
    new = not out_dir.exists()
    out_dir.mkdir(exist_ok=True)
    try:
        yield
    finally:
        if new:
            with contextlib.suppress(OSError):  # not empty: something was written, keep it
                out_dir.rmdir()


def _check_networks(args) -> None:
    """Refuse once, before anything is written, a tile size, device or weights the task's networks
    cannot run with; they are loaded on ``--device``, where the detectors' work finds them."""
    check_networks(MODEL_KINDS.get(args.task), weights=args.weights, tile=args.tile, device=args.device)


def _run_tile_product(args) -> int:
    """An L1C/L2A product: one output for the window, a manifest with the domain notice."""
    from ..coregistered import export_window
    from ..jobs import process_file

    out_dir = _out_dir(args.out_dir)
    stem = product_stem(args.product)
    if args.task == "none":
        output = out_dir / f"{stem}_bgrn.tif"
    elif args.task == "registration" and not args.align:
        output = out_dir / f"{stem}_misregistration.json"
    else:
        output = out_dir / f"{stem}_{args.task}.tif"
    _check_networks(args)
    start = time.perf_counter()
    progress = TileProgressBar(f"{stem} {args.task}", unit="blocks")
    with _made(out_dir):  # process_file checks the window
        if args.task == "none":
            record = export_window(args.product, output, window=args.window, bbox=args.bbox, progress=progress)
        else:
            record = process_file(args.product, output, args.task, weights=args.weights, device=args.device,
                                  tile=args.tile, progress=progress, window=args.window, bbox=args.bbox,
                                  align=args.align)
        report_domain("l1bsr product", record)
        manifest = {"product": str(args.product), "task": args.task, "output": output.name, **record,
                    "seconds": round(time.perf_counter() - start, 3)}
        write_json(out_dir / MANIFEST, manifest)
    return 0


def _run_product(args) -> int:
    from .tile_product import is_tile_product

    if is_tile_product(args.product):
        return _run_tile_product(args)
    if args.window is not None or args.bbox is not None or args.align is not None:
        raise ArgumentError("--window, --bbox and --align apply to L1C/L2A products; an L1B product is processed "
                            "per detector strip")
    out_dir = _out_dir(args.out_dir)
    product = open_product(args.product)
    detectors = check_detectors(product, args.detectors)
    _check_networks(args)
    with _made(out_dir):
        failures = _run_detectors(args, product, detectors, out_dir)
    if len(failures) == len(detectors):
        return EXIT_USER_ERROR
    return EXIT_PARTIAL if failures else 0


def _run_detectors(args, product: OpenProduct, detectors: list[int], out_dir: Path) -> list[str]:
    """Each detector's strip to OUT_DIR, the manifest kept current; the failures' one-line messages."""
    manifest = {"product": str(args.product), "datastrip": product.datastrip.datastrip_id, "task": args.task,
                "missing_granules": product.missing_granules(), "detectors": []}
    failures = []
    for detector in detectors:
        output = out_dir / output_name(detector)
        start = time.perf_counter()
        try:
            record = process_detector(product, detector, output, args.task, weights=args.weights,
                                      device=args.device, tile=args.tile,
                                      progress=TileProgressBar(f"D{detector:02d} {args.task}"))
            record["status"] = "done"
        except L1BSRError as error:
            message = f"detector {detector}: {one_line(error)}"
            failures.append(message)
            record = {"detector": detector, "status": "failed", "error": message,
                      "seconds": round(time.perf_counter() - start, 3)}
            print(f"l1bsr product: error: {message}", file=sys.stderr)
        manifest["detectors"].append(record)
        if len(failures) < len(manifest["detectors"]):  # something finished: keep the record current
            write_json(out_dir / MANIFEST, manifest)
    return failures


def _check_pair_arguments(args, product: OpenProduct, neighbours: list[tuple[int, int]]) -> None:
    """Refuse, before anything is written, a ``--size`` longer than a pair's strips or an ``--overlap``
    their overlap cannot be searched with (:func:`~l1bsr_core.products.overlap.expected_overlap_range`)."""
    sizes = {detector: strip_size(detector_granules(product.granules, detector))
             for pair in neighbours for detector in pair}
    for first, second in neighbours:
        rows, cols = (min(a, b) for a, b in zip(sizes[first], sizes[second]))
        if args.size > rows:
            raise ArgumentError(f"--size {args.size} is longer than the strips of detectors {first} and {second} "
                                f"({rows} rows); expected at most {rows} rows")
        check_expected_overlap(args.overlap, cols, name="--overlap")


def _run_pairs(args) -> int:
    from .tile_product import describe_tile_product, is_tile_product

    if is_tile_product(args.product):
        level = describe_tile_product(args.product).level
        raise ArgumentError(f"{args.product} is an {level} product: one orthorectified tile has no detector "
                            "overlap to pair; expected an L1B product")
    if args.size < MIN_PAIR_ROWS:
        raise ArgumentError(f"--size {args.size} is too small; expected at least {MIN_PAIR_ROWS} rows")
    out_dir = _out_dir(args.out_dir)
    product = open_product(args.product)
    detectors = check_detectors(product, args.detectors)
    neighbours = [(d, d + 1) for d in detectors if d + 1 in detectors]
    if not neighbours:
        raise ArgumentError(f"detectors {detectors} include no adjacent pair (d, d+1); expected at least two "
                            f"neighbours")
    _check_pair_arguments(args, product, neighbours)
    with _made(out_dir):
        return _write_pairs(args, product, neighbours, out_dir)


def _write_pairs(args, product: OpenProduct, neighbours: list[tuple[int, int]], out_dir: Path) -> int:
    """The pairs of each two neighbours and ``pairs.json`` in OUT_DIR; the exit status."""
    strips = {}
    record = {"product": str(args.product), "datastrip": product.datastrip.datastrip_id, "size": args.size,
              "pairs": []}
    written = 0
    for first, second in neighbours:
        for detector in list(strips):  # at most two strips in memory: a granule strip can weigh GBs
            if detector not in (first, second):
                del strips[detector]
        for detector in (first, second):
            if detector not in strips:
                strips[detector] = aligned_strip(product, detector)[0].bgrn
        overlap = find_overlap(strips[first], strips[second], expected=args.overlap)
        crops = plan_pairs(strips[first].shape, strips[second].shape, overlap, args.size)
        names = []
        for index, a, b in cut_pairs(strips[first], strips[second], crops):
            name = f"D{first:02d}-D{second:02d}_{index:03d}"
            for view, suffix in zip((a, b), REAL_PAIR_SUFFIXES):
                write_bgrn(out_dir / f"{name}{suffix}", view)
            names.append(name)
        written += len(names)
        record["pairs"].append({"detectors": [first, second], "overlap": overlap.to_dict(), "names": names})
        shared = len(shared_rows(strips[first].shape, strips[second].shape, overlap))
        short = f" (the strips share {shared} rows, fewer than --size {args.size})" if shared < args.size else ""
        print(f"D{first:02d}-D{second:02d}: overlap {overlap.width} px ({overlap.side}), along-track offset "
              f"{overlap.dy:+.1f} px, {len(names)} pairs{short}", file=sys.stderr)
    write_json(out_dir / PAIRS_MANIFEST, record)
    return 0 if written else EXIT_PARTIAL


def _main(parser_factory, runner, name: str, argv) -> int:
    args = parser_factory().parse_args(argv)
    return run_reporting_errors(f"l1bsr {name}", lambda: runner(args))


def product_main(argv: list[str] | None = None) -> int:
    """``l1bsr product PRODUCT OUT_DIR --task none|registration|superresolution``; the exit status."""
    return _main(product_parser, _run_product, "product", argv)


def pairs_main(argv: list[str] | None = None) -> int:
    """``l1bsr pairs PRODUCT OUT_DIR [--size N]``; the exit status."""
    return _main(pairs_parser, _run_pairs, "pairs", argv)
