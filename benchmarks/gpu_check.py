"""The checks that need a GPU, in one short run: paste its output into the model card.

    bash benchmarks/gpu_check.sh          # on a machine with CUDA, after the README's install

1. The device: torch's CUDA build, the GPU's name and memory.
2. The fixed filters written as convolutions (bicubic phases, box sums) give on CUDA the CPU's
   values within :data:`FILTER_TOLERANCE` relative (cuDNN's TF32 is switched off for them).
   Outputs on CUDA equal the CPU's: ``superresolve`` within 1 DN and ``register`` within 1 DN and
   1e-3 px, on the shipped synthetic examples (``assets/examples``) and, when ``../shared`` is
   there, on the real L1B crops; the L1C/L2A path (REC without alignment) too.
3. Speed on CUDA against the CPU: one 352 × 352 crop per task (median of repeats, after a warm-up),
   and the command line on a 4096 × 4096 mosaic (``--device cuda``), with its peak GPU memory.

Exit status 1 when an equality check fails, 2 when there is no CUDA GPU (one line).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1bsr_core import inference  # noqa: E402
from l1bsr_core.io import read_bgrn_array, write_bgrn  # noqa: E402

DN_TOLERANCE = 1
FLOW_TOLERANCE_PX = 1e-3
FILTER_TOLERANCE = 1e-5
"""Largest relative difference of a fixed filter between CUDA and the CPU (float32 rounding; TF32
would give ~1e-3)."""
REPEATS = 5
LARGE_SIDE = 4096


def crops() -> list[tuple[str, np.ndarray]]:
    paths = sorted((ROOT / "assets" / "examples").glob("synthetic_?.tif"))
    paths += sorted((ROOT.parent / "shared" / "data" / "l1b-examples").glob("*.tif"))
    return [(path.name, read_bgrn_array(path)) for path in paths]


def max_dn_difference(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


def check_equal(named: list[tuple[str, np.ndarray]]) -> bool:
    ok = True
    print("\n## CUDA against CPU (max |difference|)\n")
    print("| crop | SR (DN) | SR no alignment (DN) | registered (DN) | flow (px) |")
    print("|---|---|---|---|---|")
    for name, bgrn in named:
        sr = [inference.superresolve(bgrn, device=d) for d in ("cpu", "cuda")]
        plain = [inference.superresolve(bgrn, device=d, align=False) for d in ("cpu", "cuda")]
        (reg_cpu, flow_cpu), (reg_gpu, flow_gpu) = (inference.register(bgrn, device=d) for d in ("cpu", "cuda"))
        row = (max_dn_difference(*sr), max_dn_difference(*plain), max_dn_difference(reg_cpu, reg_gpu),
               float(np.abs(flow_cpu - flow_gpu).max()))
        good = row[0] <= DN_TOLERANCE and row[1] <= DN_TOLERANCE and row[2] <= DN_TOLERANCE \
            and row[3] <= FLOW_TOLERANCE_PX
        ok &= good
        print(f"| {name} | {row[0]} | {row[1]} | {row[2]} | {row[3]:.2e} | {'' if good else 'FAIL'}")
    return ok


def check_filters() -> bool:
    """Bicubic enlargement and box means on CUDA against the CPU, relative to the image's largest value."""
    from l1bsr_core.filters import box_mean
    from l1bsr_core.resample import upsample_bicubic

    image = torch.rand(2, 4, 300, 260, generator=torch.Generator().manual_seed(0)) * 4000
    rows = []
    for name, apply in (("bicubic x2", lambda x: upsample_bicubic(x, 2)), ("box mean r=4", lambda x: box_mean(x, 4))):
        difference = float((apply(image.cuda()).cpu() - apply(image)).abs().max() / image.max())
        rows.append((name, difference))
    print("\n## Fixed filters, CUDA against CPU (max |difference| / max value)\n")
    for name, difference in rows:
        print(f"- {name}: {difference:.1e}{'' if difference <= FILTER_TOLERANCE else ' FAIL'}")
    return all(difference <= FILTER_TOLERANCE for _, difference in rows)


def median_seconds(call, device: str) -> float:
    call()  # warm-up: loads the weights, CUDA kernels
    times = []
    for _ in range(REPEATS):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(bgrn: np.ndarray) -> None:
    print("\n## One 352 × 352 crop, median of 5 (s)\n\n| task | cpu | cuda | speed-up |\n|---|---|---|---|")
    for task, call in (("superresolution", inference.superresolve),
                       ("registration", lambda x, device: inference.register(x, device=device))):
        cpu = median_seconds(lambda call=call: call(bgrn, device="cpu"), "cpu")
        gpu = median_seconds(lambda call=call: call(bgrn, device="cuda"), "cuda")
        print(f"| {task} | {cpu:.3f} | {gpu:.4f} | {cpu / gpu:.1f}x |")


def command_line(bgrn: np.ndarray) -> None:
    reps = -(-LARGE_SIDE // bgrn.shape[0])
    mosaic = np.tile(bgrn, (reps, reps, 1))[:LARGE_SIDE, :LARGE_SIDE]
    print(f"\n## Command line, {LARGE_SIDE} × {LARGE_SIDE}, --device cuda\n\n| task | seconds | µs per pixel |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "mosaic.tif"
        write_bgrn(source, mosaic)
        for task in ("registration", "superresolution"):
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "l1bsr_core", str(source), str(Path(folder) / "out.tif"),
                                     "--task", task, "--device", "cuda", "--level", "l1b"],
                                    capture_output=True, text=True)
            seconds = time.perf_counter() - start
            status = "" if result.returncode == 0 else f" FAILED: {result.stderr.strip()[-200:]}"
            print(f"| {task} | {seconds:.1f} | {1e6 * seconds / LARGE_SIDE ** 2:.3f} |{status}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-large", action="store_true", help="skip the 4096 x 4096 command-line runs")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); run it on a GPU machine",
              file=sys.stderr)
        return 2
    properties = torch.cuda.get_device_properties(0)
    print(f"# GPU check\n\ntorch {torch.__version__}, CUDA {torch.version.cuda}, {properties.name}, "
          f"{properties.total_memory / 2**30:.0f} GiB")
    named = crops()
    ok = check_filters()
    ok &= check_equal(named)
    speed(named[0][1])
    torch.cuda.reset_peak_memory_stats()
    if not args.no_large:
        command_line(named[0][1])
    print(f"\nequality: {'passed' if ok else 'FAILED'} (tolerance {DN_TOLERANCE} DN, {FLOW_TOLERANCE_PX} px)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
