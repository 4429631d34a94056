"""Speed and peak memory of REC and CSR per 352 x 352 crop, and of a large tiled run.

Prints a table; not a test. Usage::

    python benchmarks/speed.py [--device cpu|cuda] [--configs default paper] [--large 4096] [--cli-large 4096]

``default`` uses the shipped weights' configs when ``weights/`` has them (else the default
config, randomly initialised: speed does not depend on the weights); ``paper`` is the published
size. Peak memory is the process's peak resident set (CPU, each measurement in a fresh process)
or ``torch.cuda.max_memory_allocated`` (GPU).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CROP = 352


def _measure(kind: str, config: str, device: str, size: int, repeats: int, threads: int) -> dict:
    """Run in a fresh process: time ``repeats`` forward passes on a size x size crop."""
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from l1bsr_core import inference
    from l1bsr_core.models import CSRConfig, RECConfig
    from l1bsr_core.tensors import conv_memory_format
    from l1bsr_core.weights import build_model, read_registry

    torch.set_num_threads(threads)
    registry = read_registry()
    if config == "paper":
        cfg = RECConfig.paper() if kind == "rec" else CSRConfig.paper()
    elif kind in registry:
        cfg = registry[kind].config
    else:
        cfg = None
    model = build_model(kind, cfg).eval().to(device).to(memory_format=conv_memory_format(device))
    info = {"name": f"{kind}/{config}", "kind": kind, "parameters": sum(p.numel() for p in model.parameters())}
    rng = np.random.default_rng(0)
    bgrn = rng.integers(100, 3000, (size, size, 4), dtype=np.uint16)
    task = inference.superresolve if kind == "rec" else inference.register

    def run(image, device):  # this network, through the same code path as the API
        return task(image, weights=model, device=device)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    run(bgrn, device=device)  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        tick = time.perf_counter()
        run(bgrn, device=device)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - tick)
    peak = (torch.cuda.max_memory_allocated() if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {**info, "size": size, "seconds": float(np.median(times)), "peak_mib": peak / 2**20}


def _cli_run(task: str, size: int, threads: int, folder: Path) -> dict:
    """Time ``python -m l1bsr_core`` on a size x size image, reading and writing included.

    The image tiles the demo's first synthetic example in mirror, so it has real structure and
    no seams. Peak memory is the command's own peak resident set (measured by a wrapper process).
    """
    import numpy as np

    from l1bsr_core.io import read_bgrn_array, write_bgrn

    source = folder / f"large_{size}.tif"
    if not source.is_file():
        crop = read_bgrn_array(ROOT / "assets" / "examples" / "synthetic_1.tif")
        mirrored = np.concatenate((crop, crop[::-1]), axis=0)
        mirrored = np.concatenate((mirrored, mirrored[:, ::-1]), axis=1)
        reps = -(-size // mirrored.shape[0])
        write_bgrn(source, np.tile(mirrored, (reps, reps, 1))[:size, :size])
    output = folder / f"out_{task}_{size}.tif"
    command = [sys.executable, "-m", "l1bsr_core", str(source), str(output), "--task", task]
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               f"r = subprocess.run({command!r}, env=dict(__import__('os').environ, OMP_NUM_THREADS='{threads}')); "
               "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    output.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT)
    code, seconds, peak_kib = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"l1bsr {task} on {size} px failed: {out.stderr.strip()[-300:]}")
    return {"task": task, "size": size, "seconds": float(seconds), "peak_mib": int(peak_kib) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--configs", nargs="+", default=["default", "paper"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", type=int, default=0, help="also run the default models on a large x large input")
    parser.add_argument("--cli-large", type=int, default=0,
                        help="also time the command line (read + run + write) on a large x large image and on a crop")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._child:
        kind, config, size, repeats = json.loads(args._child)
        print(json.dumps(_measure(kind, config, args.device, size, repeats, args.threads)))
        return
    jobs = [(kind, config, CROP, args.repeats if config != "paper" else 1)
            for config in args.configs for kind in ("rec", "csr")]
    if args.large:
        jobs += [(kind, "default", args.large, 1) for kind in ("rec", "csr")]
    print(f"device: {args.device}, threads: {args.threads}")
    print(f"{'model':<14} {'params':>10} {'input':>11} {'s / run':>9} {'peak MiB':>9}")
    for job in jobs:
        out = subprocess.run([sys.executable, __file__, "--device", args.device, "--threads", str(args.threads),
                              "--_child", json.dumps(job)], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{job[0]}/{job[1]}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['name']:<14} {r['parameters']:>10,} {r['size']:>5}x{r['size']:<5} "
              f"{r['seconds']:>9.3f} {r['peak_mib']:>9.0f}")
    if args.cli_large:
        import tempfile
        print("\ncommand line (python -m l1bsr_core, start-up, reading and writing included)")
        print(f"{'task':<16} {'input':>11} {'s':>8} {'µs / px':>9} {'peak MiB':>9}")
        with tempfile.TemporaryDirectory() as tmp:
            for task in ("superresolution", "registration"):
                for size in (CROP, args.cli_large):
                    r = _cli_run(task, size, args.threads, Path(tmp))
                    print(f"{task:<16} {size:>5}x{size:<5} {r['seconds']:>8.2f} "
                          f"{1e6 * r['seconds'] / size**2:>9.3f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
