"""Speed, peak memory and arithmetic rate of REC and CSR per 352 x 352 crop, and of a large tiled run.

Prints tables; not a test. Usage::

    python benchmarks/speed.py [--device cpu|cuda] [--configs default paper] [--repeats 3] [--threads 2]
                               [--load none busy threaded] [--large 4096] [--cli-large 4096] [--startup 7]

``default`` uses the shipped weights' configs when ``weights/`` has them (else the default
config, randomly initialised: speed does not depend on the weights); ``paper`` is the published
size. Each measurement runs through the public API (``superresolve`` / ``register``) in a fresh
process.

What is printed:

* a header with this machine's convolution rate (GFLOP/s): the best of a few timed runs of one
  dense 3 x 3 convolution (:data:`CONV_RATE_CHANNELS` channels in and out, a
  :data:`CONV_RATE_SIDE` px square, channels-last float32), measured once per run, with no load;
* per load scenario (``--load``, default ``none``; several run the whole table once each): one
  row per network with its parameters, seconds per run (median of ``--repeats``), peak memory,
  FLOPs per input pixel of one forward pass (kFLOP/px, the FFT part separately) and the share
  of the convolution rate that pass achieves (FLOPs / seconds / convolution rate);
* per scenario, when both configs ran: how many times slower the published sizes are than the
  shipped networks (seconds ``paper`` / ``default``, per 352 x 352 crop, same run);
* with ``--cli-large``: the command line's times, once, with no load, on a mirrored mosaic of the
  first synthetic example, each per-pixel time also over that of a crop of the same image through
  the API (content changes the CSR's cost: the table's crops of noise are slower per pixel).

FLOPs are those of an untimed single-threaded pass: :class:`torch.utils.flop_counter.FlopCounterMode`
counts convolutions and matrix products (2 FLOPs per multiply-add); FFTs (the CSR's windowed
phase correlation) are added analytically, ``5 · n · log2(n)`` per complex ``n``-point transform,
by counting every ``torch.fft.fft2`` / ``ifft2`` call. Peak memory is the process's peak
resident set (CPU) or ``torch.cuda.max_memory_allocated`` (GPU).

* with ``--startup R``: the start-up table, both tasks, ``R`` alternating runs each of a bare
  ``python -c "import torch"`` (as is, and :data:`TUNED_IMPORT`: made as the commands make it) and
  of ``python -m l1bsr_core`` on a :data:`CROP` px crop (reading, writing, weights included), the
  crop's own work through the API (median of ``--repeats`` after a warm-up, in another fresh
  process), and what is left: the project's start-up, median command minus median ``import torch``
  minus the API's work, against either import.

Load scenarios: ``busy`` runs a single-threaded Python busy loop in another process, ``threaded``
a :data:`LOAD_THREADS`-thread torch matrix-product loop; the load starts before the scenario's
measurements and is stopped after them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CROP = 352
"""Side (px) of the crop every network row is timed on (the size of a real example crop)."""
CONFIGS = ("default", "paper")
"""Network sizes: the shipped configs, the published ones."""
KINDS = ("rec", "csr")
"""The networks timed, in table order."""

CONV_RATE_CHANNELS = 64
"""Channels in and out of the convolution that measures this machine's convolution rate."""
CONV_RATE_SIDE = 512
"""Side (px) of its single square input image."""
CONV_RATE_KERNEL = 3
"""Its kernel side (px)."""
CONV_RATE_RUNS = 10
"""Timed runs of it, after one warm-up; the fastest gives the rate."""

FFT_FLOPS_PER_POINT_LOG = 5
"""Real FLOPs of a complex ``n``-point FFT per ``n · log2(n)`` (the usual radix-2 count)."""
COUNTED_FFTS = ("fft2", "ifft2")
"""``torch.fft`` functions whose calls are counted (the only ones the networks use)."""

LOAD_THREADS = 2
"""Torch threads of the ``threaded`` load."""
LOADS = {
    "none": "no other process",
    "busy": "another process runs a single-threaded Python busy loop",
    "threaded": f"another process runs a {LOAD_THREADS}-thread torch matrix-product loop",
}
"""Load scenarios (``--load``) and how the table's header describes them."""
LOAD_MATRIX = 1024
"""Side of the square float32 matrix the ``threaded`` load multiplies by itself, over and over."""
BUSY_CHECK_ITERATIONS = 1_000_000
"""Empty iterations of the ``busy`` load between two checks that its parent still runs."""
LOAD_READY = "ready"
"""Line a load process prints once it is loading the machine."""
LOAD_STOP_S = 5.0
"""Seconds a load process gets to exit after being asked to, before it is killed."""

KILO = 1e3
GIGA = 1e9
PERCENT = 100.0


# === Measurements (each in a fresh process) ==================================================


def _fft_flops(shape: tuple[int, ...], s: tuple[int, ...] | None, dim: tuple[int, ...]) -> float:
    """Real FLOPs of a 2-D complex FFT over ``dim`` of a tensor of ``shape`` (``s``: padded sizes).

    Each transform of ``n = h · w`` points counts ``5 · n · log2(n)``; every other axis is a batch.
    """
    transformed = [shape[d] for d in dim]
    points = math.prod(s) if s is not None else math.prod(transformed)
    batch = math.prod(shape) // max(1, math.prod(transformed))
    return FFT_FLOPS_PER_POINT_LOG * batch * points * math.log2(points) if points > 1 else 0.0


class _FFTCount:
    """FLOPs of the FFTs counted so far (see :func:`_counting_ffts`)."""

    def __init__(self) -> None:
        self.flops = 0.0


@contextlib.contextmanager
def _counting_ffts() -> Iterator[_FFTCount]:
    """Replace ``torch.fft.fft2`` and ``ifft2`` by wrappers that add their FLOPs to the count yielded.

    The library calls them as ``torch.fft.fft2(...)`` at run time, so the wrappers see every call;
    the originals are back when the block exits.
    """
    import torch

    count = _FFTCount()
    originals = {name: getattr(torch.fft, name) for name in COUNTED_FFTS}

    def counted(original: Callable) -> Callable:
        def fft(input, s=None, dim=(-2, -1), norm=None, **kwargs):
            count.flops += _fft_flops(tuple(input.shape), s, dim)
            return original(input, s=s, dim=dim, norm=norm, **kwargs)
        return fft

    try:
        for name, original in originals.items():
            setattr(torch.fft, name, counted(original))
        yield count
    finally:
        for name, original in originals.items():
            setattr(torch.fft, name, original)


def _count_flops(call: Callable[[], object]) -> dict:
    """Run ``call`` once; its FLOPs: ``flops`` (all) and ``fft_flops`` (the FFT part of them)."""
    from torch.utils.flop_counter import FlopCounterMode

    with _counting_ffts() as ffts, FlopCounterMode(display=False) as counter:
        call()
    return {"flops": counter.get_total_flops() + ffts.flops, "fft_flops": ffts.flops}


def _synchronize(device: str) -> None:
    """Wait for the GPU's queued work (nothing to do on the CPU)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _timed_runs(call, runs: int, device: str) -> list[float]:
    """Seconds of each of ``runs`` calls of ``call()`` (the GPU's queued work waited for on both sides)."""
    times = []
    for _ in range(runs):
        _synchronize(device)
        tick = time.perf_counter()
        call()
        _synchronize(device)
        times.append(time.perf_counter() - tick)
    return times


def _measure(kind: str, config: str, device: str, size: int, repeats: int, threads: int) -> dict:
    """Run in a fresh process: count one forward pass's FLOPs, time ``repeats`` on a size x size crop.

    The counted pass runs on one thread (the FLOP counter sees only its own thread, and the
    phase correlation otherwise hands its blocks to worker threads); a warm-up follows, untimed,
    so no timed run carries the counters' overhead.
    """
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from l1bsr_core import inference
    from l1bsr_core.models import CSRConfig, RECConfig, build_network
    from l1bsr_core.tensors import conv_memory_format
    from l1bsr_core.weights import read_registry

    torch.set_num_threads(threads)
    registry = read_registry()
    if config == "paper":
        cfg = RECConfig.paper() if kind == "rec" else CSRConfig.paper()
    elif kind in registry:
        cfg = registry[kind].config
    else:
        cfg = None
    model = build_network(kind, cfg).eval().to(device).to(memory_format=conv_memory_format(device))
    info = {"name": f"{kind}/{config}", "kind": kind, "config": config,
            "parameters": sum(p.numel() for p in model.parameters())}
    rng = np.random.default_rng(0)
    bgrn = rng.integers(100, 3000, (size, size, 4), dtype=np.uint16)
    task = inference.superresolve if kind == "rec" else inference.register

    def run():  # this network, through the same code path as the API
        return task(bgrn, weights=model, device=device)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # FlopCounterMode only sees its own thread: the counted pass runs on one (no worker threads)
    torch.set_num_threads(1)
    flops = _count_flops(run)
    torch.set_num_threads(threads)
    run()  # the warm-up, with the worker threads
    times = _timed_runs(run, repeats, device)
    peak = (torch.cuda.max_memory_allocated() if device == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {**info, **flops, "size": size, "seconds": float(np.median(times)), "peak_mib": peak / 2**20}


def _conv_rate(device: str, threads: int) -> dict:
    """Run in a fresh process: this machine's convolution rate, FLOP/s (``flops_per_s``).

    One dense :data:`CONV_RATE_KERNEL`-px convolution, :data:`CONV_RATE_CHANNELS` channels in and
    out, on a 1 x channels x :data:`CONV_RATE_SIDE` x :data:`CONV_RATE_SIDE` channels-last float32
    input; FLOPs as :class:`~torch.utils.flop_counter.FlopCounterMode` counts them (2 per
    multiply-add); the fastest of :data:`CONV_RATE_RUNS` runs after a warm-up.
    """
    import torch

    torch.set_num_threads(threads)
    c, side, k = CONV_RATE_CHANNELS, CONV_RATE_SIDE, CONV_RATE_KERNEL
    conv = torch.nn.Conv2d(c, c, k, padding=k // 2, bias=False).to(device).to(memory_format=torch.channels_last)
    image = torch.randn(1, c, side, side, device=device).to(memory_format=torch.channels_last)
    flops = 2 * c * c * k * k * side * side
    with torch.inference_mode():
        conv(image)  # warm-up
        times = _timed_runs(lambda: conv(image), CONV_RATE_RUNS, device)
    return {"flops_per_s": flops / min(times)}


# === Load scenarios ==========================================================================


def _run_load(name: str, parent: int) -> None:
    """Run in a separate process: load the machine as scenario ``name`` says, until stopped.

    Prints :data:`LOAD_READY` once loading. Also stops by itself when its parent (process id
    ``parent``, given rather than read: the parent may be gone before this process starts) is no
    longer its parent, so a killed benchmark leaves no load spinning.
    """
    if name == "busy":
        print(LOAD_READY, flush=True)
        while os.getppid() == parent:
            for _ in range(BUSY_CHECK_ITERATIONS):
                pass
    elif name == "threaded":
        import torch

        torch.set_num_threads(LOAD_THREADS)
        matrix = torch.randn(LOAD_MATRIX, LOAD_MATRIX)
        matrix @ matrix  # threads started before "ready"
        print(LOAD_READY, flush=True)
        while os.getppid() == parent:
            matrix @ matrix
    else:
        raise ValueError(f"no load process for scenario {name!r}; those with one: busy, threaded")


def _stop(process: subprocess.Popen) -> None:
    """Ask ``process`` to exit; kill it if it has not within :data:`LOAD_STOP_S`."""
    process.terminate()
    try:
        process.wait(timeout=LOAD_STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _load(name: str) -> Iterator[None]:
    """Run the block under load scenario ``name`` (see :data:`LOADS`); the load is stopped after it.

    Raises:
        RuntimeError: when the load process does not start loading.
    """
    if name == "none":
        yield
        return
    command = [sys.executable, __file__, "--_load", json.dumps([name, os.getpid()])]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        if line != LOAD_READY:
            _stop(process)
            raise RuntimeError(f"load {name!r} did not start (said {line!r}): {process.stderr.read().strip()[-300:]}")
        yield
    finally:
        _stop(process)
        process.stdout.close()
        process.stderr.close()


# === Parent: jobs, tables =====================================================================


def _child(args: argparse.Namespace, *options: str) -> subprocess.CompletedProcess:
    """Run this script in a fresh process with the device, threads and ``options`` given."""
    return subprocess.run([sys.executable, __file__, "--device", args.device, "--threads", str(args.threads),
                           *options], capture_output=True, text=True)


def _last_json(out: subprocess.CompletedProcess) -> dict:
    """The JSON object a child printed last."""
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_conv_rate(args: argparse.Namespace) -> float:
    """This machine's convolution rate (FLOP/s), measured in a fresh process.

    Raises:
        RuntimeError: when the measuring process fails.
    """
    out = _child(args, "--_conv-rate")
    if out.returncode != 0:
        raise RuntimeError(f"convolution rate measurement failed: {out.stderr.strip()[-300:]}")
    return _last_json(out)["flops_per_s"]


def _print_table_header() -> None:
    print(f"{'model':<14} {'params':>10} {'input':>11} {'s / run':>9} {'peak MiB':>9} "
          f"{'kFLOP/px':>9} {'FFT part':>9} {'% conv rate':>12}")


def _print_row(r: dict, conv_rate: float) -> None:
    """One network's row; FLOPs per input pixel (all, FFT part) in kFLOP/px."""
    pixels = r["size"] ** 2
    share = PERCENT * r["flops"] / r["seconds"] / conv_rate
    print(f"{r['name']:<14} {r['parameters']:>10,} {r['size']:>5}x{r['size']:<5} "
          f"{r['seconds']:>9.3f} {r['peak_mib']:>9.0f} {r['flops'] / pixels / KILO:>9.1f} "
          f"{r['fft_flops'] / pixels / KILO:>9.1f} {share:>11.1f}%")


def _run_table(args: argparse.Namespace, jobs: list[tuple], conv_rate: float) -> list[dict]:
    """Measure every job in a fresh process, printing its row; the results of those that ran."""
    _print_table_header()
    results = []
    for job in jobs:
        out = _child(args, "--_child", json.dumps(job))
        if out.returncode != 0:
            print(f"{job[0]}/{job[1]}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        results.append(_last_json(out))
        _print_row(results[-1], conv_rate)
    return results


def _print_ratios(results: list[dict]) -> None:
    """``paper`` over ``default`` seconds per crop, per network kind that has both rows."""
    seconds = {(r["kind"], r["config"]): r["seconds"] for r in results if r["size"] == CROP}
    ratios = [f"{kind.upper()} {seconds[kind, 'paper'] / seconds[kind, 'default']:.3g}x"
              for kind in KINDS if (kind, "paper") in seconds and (kind, "default") in seconds]
    if ratios:
        print(f"published size / shipped network, s per {CROP}x{CROP} crop: {', '.join(ratios)} "
              "(how many times faster the shipped networks are)")


def _mosaic(size: int):
    """A size x size image tiling the demo's first synthetic example in mirror: real structure, no
    seams. The image of the command-line table, and the crops it is compared with."""
    import numpy as np

    from l1bsr_core.io import read_bgrn_array

    crop = read_bgrn_array(ROOT / "assets" / "examples" / "synthetic_1.tif")
    mirrored = np.concatenate((crop, crop[::-1]), axis=0)
    mirrored = np.concatenate((mirrored, mirrored[:, ::-1]), axis=1)
    reps = -(-size // mirrored.shape[0])
    return np.ascontiguousarray(np.tile(mirrored, (reps, reps, 1))[:size, :size])


def _api_crop(task: str, repeats: int, threads: int) -> dict:
    """Run in a fresh process: median seconds of ``task`` on a :data:`CROP` px crop of the
    command-line table's image through the API, shipped weights, after a warm-up."""
    import numpy as np
    import torch

    from l1bsr_core import inference

    torch.set_num_threads(threads)
    run = inference.superresolve if task == "superresolution" else inference.register
    crop = _mosaic(CROP)
    run(crop)
    return {"seconds": float(np.median(_timed_runs(lambda: run(crop), repeats, "cpu")))}


def _process_run(command: list[str], threads: int) -> dict:
    """``seconds`` and ``peak_mib`` of ``command`` as a process of its own (start-up included), with
    ``threads`` OpenMP threads. A wrapper process runs and times it, so the peak resident set is the
    command's own (this process's ``RUSAGE_CHILDREN`` holds the largest of all its children's).

    Raises:
        RuntimeError: when it fails.
    """
    wrapper = ("import os, resource, subprocess, time; t = time.perf_counter(); "
               f"r = subprocess.run({command!r}, env=dict(os.environ, OMP_NUM_THREADS='{threads}')); "
               "print(r.returncode, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT)
    result = out.stdout.split()[-3:]  # the command's return code, seconds, peak KiB
    if out.returncode != 0 or result[0] != "0":
        raise RuntimeError(f"{' '.join(command[:4])} failed: {out.stderr.strip()[-300:]}")
    return {"seconds": float(result[1]), "peak_mib": int(result[2]) / 1024}


def _cli_run(task: str, size: int, threads: int, folder: Path) -> dict:
    """Time ``python -m l1bsr_core`` on a size x size :func:`_mosaic` (written in ``folder`` once),
    start-up, reading and writing included; its peak memory (:func:`_process_run`)."""
    from l1bsr_core.io import write_bgrn

    source = folder / f"large_{size}.tif"
    if not source.is_file():
        write_bgrn(source, _mosaic(size))
    output = folder / f"out_{task}_{size}.tif"
    output.unlink(missing_ok=True)
    command = [sys.executable, "-m", "l1bsr_core", str(source), str(output), "--task", task]
    return {"task": task, "size": size, **_process_run(command, threads)}


def _api_seconds(args: argparse.Namespace, task: str) -> float:
    """Median seconds of ``task`` on a :data:`CROP` px crop of :func:`_mosaic` through the API, in a
    fresh process (:func:`_api_crop`).

    Raises:
        RuntimeError: when the measuring process fails.
    """
    out = _child(args, "--_api-crop", json.dumps([task, args.repeats]))
    if out.returncode != 0:
        raise RuntimeError(f"API crop of {task} failed: {out.stderr.strip()[-300:]}")
    return _last_json(out)["seconds"]


def _run_cli(args: argparse.Namespace) -> None:
    """The command line's table: both tasks on a crop and on a ``--cli-large`` image of the same
    content, each per-pixel time also against a crop of that content through the API (same run)."""
    import tempfile

    print("\ncommand line (python -m l1bsr_core, start-up, reading and writing included), on a mirrored mosaic "
          f"of synthetic_1; last column: µs / px over a {CROP} px crop of it through the API")
    print(f"{'task':<16} {'input':>11} {'s':>8} {'µs / px':>9} {'peak MiB':>9} {'vs API':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for task in ("superresolution", "registration"):
            api_per_pixel = _api_seconds(args, task) / CROP**2
            print(f"{task:<16} {CROP:>5}x{CROP:<5} {'API':>8} {1e6 * api_per_pixel:>9.3f} {'':>9} {1.0:>6.2f}x")
            for size in (CROP, args.cli_large):
                r = _cli_run(task, size, args.threads, Path(tmp))
                per_pixel = r["seconds"] / size**2
                print(f"{task:<16} {size:>5}x{size:<5} {r['seconds']:>8.2f} {1e6 * per_pixel:>9.3f} "
                      f"{r['peak_mib']:>9.0f} {per_pixel / api_per_pixel:>6.2f}x")


TUNED_IMPORT = "import gc; gc.disable(); import torch; gc.freeze(); gc.enable()"
"""A bare ``import torch`` made as the commands make theirs (:mod:`l1bsr_core.process_tuning`): the
stricter baseline of the start-up table."""


def _run_startup(args: argparse.Namespace) -> None:
    """The start-up table (``--startup``): a whole process on one crop (:func:`_cli_run`, as the command
    line's table times it) against a bare ``import torch`` (as is, and made as the commands make it)
    and the crop's work through the API, run alternately so that drift hits each alike."""
    import tempfile

    import numpy as np

    print(f"\nstart-up: {args.startup} alternating runs of `python -c 'import torch'` (as is; and tuned: "
          f"{TUNED_IMPORT!r}) and of `python -m l1bsr_core` on a {CROP} px crop of synthetic_1's mosaic "
          "(medians, s); start-up = command - import torch - API work")
    print(f"{'task':<16} {'import torch':>13} {'tuned':>7} {'command':>9} {'API work':>9} {'start-up':>9} "
          f"{'vs tuned':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for task in ("superresolution", "registration"):
            work = _api_seconds(args, task)
            bare, tuned, whole = [], [], []
            for _ in range(args.startup):
                bare.append(_process_run([sys.executable, "-c", "import torch"], args.threads)["seconds"])
                tuned.append(_process_run([sys.executable, "-c", TUNED_IMPORT], args.threads)["seconds"])
                whole.append(_cli_run(task, CROP, args.threads, Path(tmp))["seconds"])
            bare_s, tuned_s, whole_s = (float(np.median(v)) for v in (bare, tuned, whole))
            print(f"{task:<16} {bare_s:>13.3f} {tuned_s:>7.3f} {whole_s:>9.3f} {work:>9.3f} "
                  f"{whole_s - bare_s - work:>9.3f} {whole_s - tuned_s - work:>9.3f}")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS,
                        help="network sizes of the crop table (none: skip it)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--load", nargs="+", default=["none"], choices=list(LOADS),
                        help="load scenarios; the whole table runs once under each")
    parser.add_argument("--large", type=int, default=0, help="also run the default models on a large x large input")
    parser.add_argument("--cli-large", type=int, default=0,
                        help="also time the command line (read + run + write) on a large x large image and on a crop")
    parser.add_argument("--startup", type=int, default=0,
                        help="also time a whole process on a crop against a bare import torch, this many runs each")
    parser.add_argument("--_child", help=argparse.SUPPRESS)
    parser.add_argument("--_conv-rate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_load", help=argparse.SUPPRESS)
    parser.add_argument("--_api-crop", help=argparse.SUPPRESS)
    return parser.parse_args()


def _run_tables(args: argparse.Namespace) -> None:
    """The crop table (under each ``--load``) and, with ``--cli-large``, the command line's."""
    jobs = [(kind, config, CROP, args.repeats if config != "paper" else 1)
            for config in args.configs for kind in KINDS]
    if args.large:
        jobs += [(kind, "default", args.large, 1) for kind in KINDS]
    conv_rate = _measure_conv_rate(args)
    c, side, k = CONV_RATE_CHANNELS, CONV_RATE_SIDE, CONV_RATE_KERNEL
    print(f"device: {args.device}, threads: {args.threads}, convolution rate: {conv_rate / GIGA:.1f} GFLOP/s "
          f"(best of {CONV_RATE_RUNS}: {k}x{k} conv {c}->{c} channels, 1x{c}x{side}x{side} channels-last float32)")
    print("FLOPs per input pixel of one pass (kFLOP/px; FFT part analytic); % conv rate = FLOP/s over that rate")
    for load in args.load:
        print(f"\nload: {load} ({LOADS[load]})")
        with _load(load):
            results = _run_table(args, jobs, conv_rate)
        _print_ratios(results)
    if args.cli_large:
        _run_cli(args)


def main() -> None:
    args = _parse()
    if args._child:
        kind, config, size, repeats = json.loads(args._child)
        print(json.dumps(_measure(kind, config, args.device, size, repeats, args.threads)))
        return
    if args._conv_rate:
        print(json.dumps(_conv_rate(args.device, args.threads)))
        return
    if args._load:
        _run_load(*json.loads(args._load))
        return
    if args._api_crop:
        print(json.dumps(_api_crop(*json.loads(args._api_crop), args.threads)))
        return
    if args.configs or args.large or args.cli_large or not args.startup:  # --startup alone: its table only
        _run_tables(args)
    if args.startup:
        _run_startup(args)


if __name__ == "__main__":
    main()
