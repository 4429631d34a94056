"""Speed and peak memory of REC and CSR per 352 x 352 crop, and of a large tiled run.

Prints a table; not a test. Usage::

    python benchmarks/speed.py [--device cpu|cuda] [--configs default paper] [--large 4096]

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
CROP = 352


def _measure(kind: str, config: str, device: str, size: int, repeats: int, threads: int) -> dict:
    """Run in a fresh process: time ``repeats`` forward passes on a size x size crop."""
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from l1bsr_core import inference
    from l1bsr_core.models import CSRConfig, RECConfig
    from l1bsr_core.weights import build_model, read_registry

    torch.set_num_threads(threads)
    registry = read_registry()
    if config == "paper":
        cfg = RECConfig.paper() if kind == "rec" else CSRConfig.paper()
    elif kind in registry:
        cfg = registry[kind].config
    else:
        cfg = None
    model = build_model(kind, cfg).eval().to(device)
    if device == "cpu":
        model = model.to(memory_format=torch.channels_last)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--configs", nargs="+", default=["default", "paper"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", type=int, default=0, help="also run the default models on a large x large input")
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
        print(f"{r['name']:<14} {r['parameters']:>10,} {r['size']:>5}x{r['size']:<5} {r['seconds']:>9.3f} {r['peak_mib']:>9.0f}")


if __name__ == "__main__":
    main()
