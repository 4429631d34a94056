"""Throughput of ``l1bsr batch``: items per minute and per-pixel cost with 1 and 2 workers (1 thread
each) on the same inputs, and one large image through batch vs the classic command line.

Prints a table; not a test. Usage::

    python benchmarks/batch.py [--task registration|superresolution] [--items 16] [--side 352]
                               [--large 2048] [--weights NAME] [--workers 1 2]
    python benchmarks/batch.py --quick      # tiny inputs: checks that the script runs, times mean nothing

Every run is a fresh ``python -m l1bsr_core …`` process, timed from start to exit (cluster start,
imports and network loading included: what a user waits for). "compute" is the sum of the
per-item seconds of the manifest (the workers' time on the items only). Inputs are simulated
L1B crops (BGRN uint16), written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1bsr_core.batch.worker import machine_cores  # noqa: E402
from l1bsr_core.scenes import make_scene  # noqa: E402
from l1bsr_core.simulate import simulate_pair  # noqa: E402


def simulated_crop(side: int, seed: int) -> np.ndarray:
    """(side, side, 4) uint16 simulated L1B view, bands B, G, R, NIR."""
    view = simulate_pair(make_scene(2 * side, 2 * side, seed=seed), rng=seed, with_flows=False).views[0]
    return np.ascontiguousarray(np.moveaxis(view, 0, -1))


def large_image(side: int, block: int = 256) -> np.ndarray:
    """(side, side, 4): simulated blocks, mirrored in turn so that the seams are continuous."""
    tile = simulated_crop(min(block, side), seed=99)
    reps = -(-side // tile.shape[0])
    rows = [np.concatenate([tile if (i + j) % 2 == 0 else tile[:, ::-1] for j in range(reps)], 1)
            for i in range(reps)]
    return np.ascontiguousarray(np.concatenate(rows, 0)[:side, :side])


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}")
    return seconds


def manifest_seconds(out_dir: Path) -> float:
    lines = (out_dir / "manifest.jsonl").read_text().splitlines()
    return sum(json.loads(line)["seconds"] or 0.0 for line in lines)


def common_options(args) -> list[str]:
    return ["--task", args.task] + (["--weights", args.weights] if args.weights else [])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=("registration", "superresolution"), default="registration")
    parser.add_argument("--items", type=int, default=16, help="crops in the batch")
    parser.add_argument("--side", type=int, default=352, help="side of each crop, px")
    parser.add_argument("--large", type=int, default=2048, help="side of the large image, px (0: skip)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--weights")
    parser.add_argument("--quick", action="store_true", help="3 crops of 64 px and a 128 px large image")
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.side, args.large = 3, 64, 128
    cores = machine_cores()
    python = [sys.executable, "-m", "l1bsr_core"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="l1bsr-batch-bench-") as folder:
        folder = Path(folder)
        (folder / "in").mkdir()
        for index in range(args.items):
            tifffile.imwrite(folder / "in" / f"crop{index:03d}.tif", simulated_crop(args.side, seed=index))
        pixels = args.items * args.side ** 2
        for workers in args.workers:
            out = folder / f"out{workers}"
            wall = timed(python + ["batch", str(folder / "in"), str(out), *common_options(args),
                                   "--workers", str(workers), "--threads-per-worker", "1"])
            compute = manifest_seconds(out)
            rows.append((f"{args.items} x {args.side} px, {workers} worker(s) x 1 thread", wall,
                         f"{args.items / wall * 60:.1f}", f"{wall / pixels * 1e6:.2f}",
                         f"{compute / pixels * 1e6:.2f}"))
        if args.large:
            big = folder / "large.tif"
            tifffile.imwrite(big, large_image(args.large))
            big_pixels = args.large ** 2
            wall = timed(python + [str(big), str(folder / "large_cli.tif"), *common_options(args)])
            rows.append((f"{args.large} px, classic CLI (torch default threads)", wall, "",
                         f"{wall / big_pixels * 1e6:.2f}", ""))
            out = folder / "large_batch"
            wall = timed(python + ["batch", str(big), str(out), *common_options(args), "--workers", "1",
                                   "--threads-per-worker", str(cores)])
            rows.append((f"{args.large} px, batch, 1 worker x {cores} threads", wall, "",
                         f"{wall / big_pixels * 1e6:.2f}", f"{manifest_seconds(out) / big_pixels * 1e6:.2f}"))
    print(f"task {args.task}, {cores} cores{' (--quick: times mean nothing)' if args.quick else ''}\n")
    print("| run | wall s | items/min | wall µs/px | compute µs/px |")
    print("| --- | --- | --- | --- | --- |")
    for name, wall, per_minute, per_pixel, compute in rows:
        print(f"| {name} | {wall:.1f} | {per_minute} | {per_pixel} | {compute} |")


if __name__ == "__main__":
    main()
