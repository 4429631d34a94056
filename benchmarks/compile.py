"""``torch.compile`` on this CPU, measured (issue #27): is it worth compiling the networks?

Prints one Markdown table; not a test. Usage::

    python benchmarks/compile.py [--rounds 12] [--threads 2]

One 352 × 352 L1B-like crop (a procedural scene through the simulator, so the script needs no
data), two parts of the pipeline, each eager and compiled (``torch.compile``, inductor, static
shapes), in alternating calls of one process after a warm-up:

* the REC network (the faithful REC on the crop as it is: what super-resolution runs after the
  CSR's alignment);
* the CSR's window loop: :func:`~l1bsr_core.phase_correlation.apodized_spectra` and
  :func:`~l1bsr_core.phase_correlation.phase_correlation` compiled (FFTs and complex chains), the
  whole registration of the crop timed.

Each part runs in two fresh processes sharing an empty inductor cache: the first compiles from
nothing (**cold**), the second finds the first one's code in the cache (**warm**), which is what
every later command process would pay. Outputs are compared with the eager ones (max |difference|).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import common  # first: it puts the project root on sys.path
import numpy as np
import torch

from l1bsr_core import inference
from l1bsr_core import phase_correlation as pc
from l1bsr_core.runtime import band_statistics
from l1bsr_core.scenes import make_scene
from l1bsr_core.simulate import SimulationConfig, simulate_pair
from l1bsr_core.tensors import image_to_tensor
from l1bsr_core.weights import get_model

PARTS = ("rec", "csr")
SCENE_SEED = 27


def crop() -> np.ndarray:
    """A (352, 352, 4) uint16 L1B-like crop: view 0 of a simulated procedural scene."""
    pair = simulate_pair(make_scene(common.PROCEDURAL_SCENE_PX, common.PROCEDURAL_SCENE_PX, seed=SCENE_SEED),
                         SimulationConfig(), rng=SCENE_SEED)
    return common.view0(pair)


def rec_calls(bgrn: np.ndarray):
    """(eager call, compiled call) of the REC network on the crop; each returns its output tensor."""
    model, _ = get_model("rec", None, torch.device("cpu"))
    mean = torch.tensor(band_statistics(bgrn)[0], dtype=torch.float32).view(1, -1, 1, 1)
    x = image_to_tensor(bgrn, torch.device("cpu"))
    compiled = torch.compile(model, dynamic=False)

    def call(network):
        def run():
            with torch.inference_mode():
                return network(x, mean, (True, True, True, True))
        return run
    return call(model), call(compiled)


def csr_calls(bgrn: np.ndarray):
    """(eager call, compiled call) of the crop's registration, the window loop's two functions swapped."""
    eager = (pc.apodized_spectra, pc.phase_correlation)
    compiled = tuple(torch.compile(f, dynamic=False) for f in eager)

    def call(functions):
        def run():
            pc.apodized_spectra, pc.phase_correlation = functions
            try:
                return torch.from_numpy(inference.register(bgrn)[1])
            finally:
                pc.apodized_spectra, pc.phase_correlation = eager
        return run
    return call(eager), call(compiled)


def measure(part: str, rounds: int) -> dict:
    """One process's figures for ``part``: first compiled call, medians of alternating calls, max |diff|."""
    bgrn = crop()
    eager, compiled = (rec_calls if part == "rec" else csr_calls)(bgrn)
    reference = eager()
    eager()
    started = time.perf_counter()
    first = compiled()
    first_s = time.perf_counter() - started
    times = {"eager": [], "compiled": []}
    for _ in range(rounds):
        for name, run in (("eager", eager), ("compiled", compiled)):
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {"first_s": first_s, "eager_s": float(np.median(times["eager"])),
            "compiled_s": float(np.median(times["compiled"])),
            "max_diff": float((first.float() - reference.float()).abs().max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="alternating eager / compiled calls per process")
    parser.add_argument("--threads", type=int, default=common.DEFAULT_THREADS, help="torch threads")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # a child process: measure, print JSON
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.part:
        print(json.dumps(measure(args.part, args.rounds)))
        return
    print("# torch.compile on this CPU (issue #27)\n")
    print(f"`python {' '.join(sys.argv)}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, torch "
          f"{torch.__version__}, threads {args.threads}, {args.rounds} alternating rounds per process.")
    rows = []
    for part in PARTS:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
            for state in ("cold", "warm"):
                done = subprocess.run([sys.executable, __file__, "--part", part, "--rounds", str(args.rounds),
                                       "--threads", str(args.threads)], env=env, capture_output=True, text=True)
                if done.returncode:
                    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
                    rows.append([part, state, f"failed: {last}", "", "", "", ""])
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append([part, state, f"{r['first_s']:.1f}", f"{r['eager_s']:.3f}", f"{r['compiled_s']:.3f}",
                             f"{r['eager_s'] / r['compiled_s']:.2f}×", f"{r['max_diff']:.2g}"])
    common.table("Eager against compiled, one 352 × 352 crop",
                 ["part", "inductor cache", "first compiled call (s)", "eager, median (s)", "compiled, median (s)",
                  "speed-up", "max |difference| (DN or px)"], rows,
                 "rec: the REC network alone (DN out); csr: the whole registration with the window loop's "
                 "two functions compiled (flows, px). First call: compilation included (cold: empty cache; "
                 "warm: the cold process's code found in the cache).")


if __name__ == "__main__":
    main()
