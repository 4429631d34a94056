"""An L1B product end to end: time, memory and registration accuracy of real-size granules.

Writes a product with the real datastrip's metadata when ``../shared`` has it (else generated
metadata in the same schema) and simulated pixels of known band offsets (tens of px) and detector
overlap, then runs ``l1bsr product`` in a fresh process per task (reading, writing, start-up
included) and reports:

- seconds and peak resident memory per granule, and the per-pixel time against one 352 × 352 crop
  through the API (measured in this run);
- registration accuracy against the simulator's truth over the whole strips (median / p90 px of
  the coarse shift composed with the CSR flow, on the pixels the output keeps), classical phase
  correlation beside it, the CSR run by blocks of rows (as ``l1bsr product`` runs it, issue #27)
  beside the CSR run on the whole strip at once (as before);
- super-resolution band means against the input's; zip against folder; overlap pairs found.

The real metadata is looked for in ``$L1BSR_SHARED`` (default ``../shared``). Prints a table; not a test.
Usage::

    python benchmarks/product.py [--rows 2304 --cols 2552] [--granules 1] [--detectors 1,2]
        [--tasks none registration superresolution]
    python benchmarks/product.py --quick       # 256 × 400 granules: checks that the script runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED_METADATA = Path(os.environ.get("L1BSR_SHARED", ROOT.parent / "shared")) / "data" / "l1b-product-metadata"
CROP = 352
STRIP_END_ROWS = 256
"""Rows at each end of a strip left out of the blocks-against-whole-strip flow difference."""
CLASSICAL_ROWS, CLASSICAL_CONTEXT_ROWS = 256, 64
"""Rows of the classical reference computed at a time, and their context on each side."""


def _peak_gib(pid: int) -> float:
    """VmHWM of a running process (its own peak resident set: a forked child's rusage would also
    count the pages of this large parent)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_command(*argv, check: bool = True) -> tuple[float, float]:
    """Seconds and peak RSS (GiB) of ``python -m l1bsr_core ARGV`` in a fresh process."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "l1bsr_core", *argv], cwd=ROOT, stderr=subprocess.DEVNULL)
    peak = 0.0
    while child.poll() is None:
        peak = max(peak, _peak_gib(child.pid))
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if check and child.returncode != 0:
        raise SystemExit(f"l1bsr {' '.join(argv)} failed with status {child.returncode}")
    return seconds, peak


def crop_seconds(task: str) -> float:
    """Best of 3 API calls on one 352 × 352 crop (the networks loaded first)."""
    from l1bsr_core import inference
    from l1bsr_core.products.synthetic import write_synthetic_product

    with tempfile.TemporaryDirectory() as folder:
        made = write_synthetic_product(folder, detectors=(1,), granules=1, rows=CROP, cols=CROP, overlap=100)
        crop = made.images[1]
        call = inference.register if task == "registration" else inference.superresolve
        call(crop)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            call(crop)
            times.append(time.perf_counter() - start)
    return min(times)


def block_registration(product, detector: int, offsets) -> tuple[np.ndarray, np.ndarray]:
    """(registered, flow) of a strip as ``l1bsr product`` computes it: block by block, cores kept."""
    from l1bsr_core import inference
    from l1bsr_core.products.process import strip_blocks
    from l1bsr_core.products.strips import StripSource

    source = StripSource(product.granules, detector)
    height, width, bands = source.shape
    registered = np.empty((height, width, bands), np.uint16)
    flow = np.empty((3, 2, height, width), np.float32)
    for tile, bgrn in strip_blocks(source, offsets):
        block_registered, block_flow = inference.register(bgrn)
        registered[tile.core_y] = block_registered[tile.inner_y]
        flow[..., tile.core_y, :] = block_flow[..., tile.inner_y, :]
    return registered, flow


def classical_flow_by_rows(bgrn: np.ndarray) -> np.ndarray:
    """(3, 2, H, W) flow of classical phase correlation, :data:`CLASSICAL_ROWS` rows at a time with
    context (all of a strip's windows at once take tens of GiB)."""
    from l1bsr_core.classical_registration import classical_register
    from l1bsr_core.tiling import plan_row_blocks

    flow = np.empty((3, 2, *bgrn.shape[:2]), np.float32)
    for tile in plan_row_blocks(bgrn.shape[0], bgrn.shape[1], CLASSICAL_ROWS, CLASSICAL_CONTEXT_ROWS, 16):
        flow[..., tile.core_y, :] = classical_register(bgrn[tile.read_y])[1][..., tile.inner_y, :]
    return flow


def accuracy(made, product_path, out: Path) -> list[str]:
    """Table rows: per detector and band, the errors against the truth of the coarse shift alone,
    of classical phase correlation, of the CSR over the whole strip at once (as before #27) and of
    the CSR block by block (what ``l1bsr product`` writes), and the largest flow difference
    between the last two away from the strip's ends (:data:`STRIP_END_ROWS`)."""
    import rasterio

    from l1bsr_core import inference
    from l1bsr_core.bands import MOVING_BANDS, NO_DATA, REFERENCE_BAND
    from l1bsr_core.products.process import aligned_strip, open_product

    product = open_product(product_path)
    rows = []
    for detector in made.detectors:
        strip, offsets = aligned_strip(product, detector)
        _, whole_flow = inference.register(strip.bgrn)
        registered, flow = block_registration(product, detector, offsets)
        with rasterio.open(out / f"D{detector:02d}.tif") as dataset:
            written = np.moveaxis(dataset.read(), 0, -1)
        same = np.array_equal(written, registered)
        classical = classical_flow_by_rows(strip.bgrn)
        inner = slice(STRIP_END_ROWS, max(flow.shape[-2] - STRIP_END_ROWS, STRIP_END_ROWS))
        for index, (band, offset) in enumerate(zip(MOVING_BANDS, offsets)):
            shift = np.array([offset.applied_dx, offset.applied_dy], np.float32)[:, None, None]
            kept = (registered[..., band] != NO_DATA) & (registered[..., REFERENCE_BAND] != NO_DATA)
            truth = made.truth[detector][index]
            errors = [np.hypot(*(f[index] + shift - truth))[kept] for f in (flow, classical, whole_flow)]
            coarse_error = np.hypot(*(shift - truth))[kept]
            change = np.hypot(*(flow[index] - whole_flow[index]))[inner]
            rows.append(f"| D{detector:02d} | {offset.band} | {offset.dx:+.2f}, {offset.dy:+.2f} "
                        f"(true {truth[0].mean():+.2f}, {truth[1].mean():+.2f}) | "
                        f"{np.median(coarse_error):.3f} / {np.percentile(coarse_error, 90):.3f} | "
                        f"{np.median(errors[1]):.3f} / {np.percentile(errors[1], 90):.3f} | "
                        f"{np.median(errors[2]):.3f} / {np.percentile(errors[2], 90):.3f} | "
                        f"**{np.median(errors[0]):.3f} / {np.percentile(errors[0], 90):.3f}** | "
                        f"{change.max() if change.size else 0:.3f} | {'yes' if same else 'NO'} |")
    return rows


def band_means(product_path, out: Path) -> str:
    import rasterio

    from l1bsr_core.bands import BAND_NAMES, NO_DATA
    from l1bsr_core.products.process import aligned_strip, open_product

    strip, _ = aligned_strip(open_product(product_path), 1)
    with rasterio.open(out / "D01.tif") as dataset:
        sr = np.moveaxis(dataset.read(), 0, -1)
    parts = []
    for band, name in enumerate(BAND_NAMES):
        before = strip.bgrn[..., band][strip.bgrn[..., band] != NO_DATA].mean()
        after = sr[..., band][sr[..., band] != NO_DATA].mean()
        parts.append(f"{name} {100 * (after / before - 1):+.2f} %")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2304)
    parser.add_argument("--cols", type=int, default=2552)
    parser.add_argument("--granules", type=int, default=1, help="granules per detector (strip length)")
    parser.add_argument("--overlap", type=int, default=150)
    parser.add_argument("--detectors", default="1,2")
    parser.add_argument("--tasks", nargs="+", default=["none", "registration", "superresolution"])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.cols, args.overlap = 256, 400, 140
    from l1bsr_core.products.synthetic import write_synthetic_product

    detectors = [int(d) for d in args.detectors.split(",")]
    template = SHARED_METADATA if SHARED_METADATA.is_dir() else None
    work = Path(tempfile.mkdtemp(prefix="l1bsr-product-"))
    try:
        start = time.perf_counter()
        made = write_synthetic_product(work, detectors=detectors, granules=args.granules, rows=args.rows,
                                       cols=args.cols, overlap=args.overlap, seed=3, template=template)
        print(f"product: {len(detectors)} detectors x {args.granules} granule(s) of {args.rows} x {args.cols} px, "
              f"metadata "
              f"{'of the real S2A datastrip' if template else 'generated'}; written in "
              f"{time.perf_counter() - start:.0f} s")
        archive = Path(shutil.make_archive(str(work / "product"), "zip", made.path.parent, made.path.name))
        pixels = args.rows * args.cols
        granules = len(detectors) * args.granules
        print("\n| task | seconds per granule | peak memory | per-pixel time vs a 352 crop (API) |")
        print("| --- | --- | --- | --- |")
        results = {}
        for task in args.tasks:
            out = work / f"out-{task}"
            seconds, peak = run_command("product", str(made.path), str(out), "--task", task)
            per_granule = seconds / granules
            ratio = ""
            if task != "none":
                ratio = f"{(per_granule / pixels) / (crop_seconds(task) / CROP**2):.2f}x"
            results[task] = out
            print(f"| {task} | {per_granule:.1f} | {peak:.2f} GiB | {ratio} |")
        if "none" in args.tasks:
            zipped = work / "out-zip"
            run_command("product", str(archive), str(zipped), "--task", "none")
            same = all((zipped / f"D{d:02d}.tif").read_bytes() == (results["none"] / f"D{d:02d}.tif").read_bytes()
                       for d in detectors)
            print(f"\nzip gives the same strips as the folder: {'yes' if same else 'NO'}")
        if "registration" in args.tasks:
            print("\nRegistration against the simulator's truth over the whole strips (pixels kept), "
                  "median / p90 px:\n")
            print("| detector | band | coarse offset measured (true mean) | coarse shift only | "
                  "coarse + classical | coarse + `csr`, whole strip at once | coarse + `csr` by blocks (written) | "
                  "max flow change, px | file = API by blocks |")
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            print("\n".join(accuracy(made, made.path, results["registration"])))
        if "superresolution" in args.tasks:
            means = band_means(made.path, results["superresolution"])
            print(f"\nSuper-resolution band means against the coarse strip's (D01): {means}")
        if len(detectors) < 2:
            return
        pairs = work / "pairs"
        run_command("pairs", str(made.path), str(pairs), "--size", str(min(384, args.rows // 3)), check=False)
        record = json.loads((pairs / "pairs.json").read_text())
        for pair in record["pairs"]:
            overlap = pair["overlap"]
            print(f"pairs {pair['detectors']}: overlap {overlap['width']} px (true {args.overlap}), along-track "
                  f"offset {overlap['dy']:+.1f} px, {len(pair['names'])} pairs")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
