"""Check that a change leaves every output bit-identical: save reference outputs, then compare.

Usage (from the project root)::

    python3 scripts/check_identical.py save /tmp/arch_ref.npz      # before the change
    python3 scripts/check_identical.py compare /tmp/arch_ref.npz   # after it: exit 0 when identical
    python3 scripts/check_identical.py compare /tmp/arch_ref.npz --within   # or within 1 DN / 0.01 px

What it runs, on the CPU with the shipped weights (``l1bsr_core.inference``):

* ``superresolve`` and ``register`` (image and flow) on the real crops
  ``../shared/data/l1b-examples/*.tif`` (or under ``$L1BSR_SHARED_DIR``), read with
  :func:`l1bsr_core.io.read_bgrn_array`;
* the same on view 0 of simulated pairs (:func:`l1bsr_core.simulate.simulate_pair` of
  :func:`l1bsr_core.scenes.make_scene` scenes, fixed seeds), for ``SimulationConfig()`` and
  ``SimulationConfig.held_out()``; the simulated views and their true band flows are saved too;
* the classical registration (image and flow) and the two misregistration estimators on the crops.

``compare`` requires exact equality (``np.array_equal``, NaN equal to NaN) of every saved array and
the same set of names; it prints each difference and exits 1 when there is one. With ``--within``
it accepts differences up to :data:`TOLERANCE` (1 DN for images, 0.01 px for flows and
estimates: what a change that reorders floating-point arithmetic may move) and prints the largest. The outputs hold
crops of real data: keep the ``.npz`` outside the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from l1bsr_core import inference
from l1bsr_core.classical_registration import classical_register
from l1bsr_core.io import read_bgrn_array
from l1bsr_core.misregistration import misregistration, ngf_misregistration
from l1bsr_core.scenes import make_scene
from l1bsr_core.simulate import SimulationConfig, simulate_pair

SHARED_DIR_ENV = "L1BSR_SHARED_DIR"
CROPS = Path(os.environ.get(SHARED_DIR_ENV) or ROOT.parent / "shared") / "data" / "l1b-examples"
"""The real crops: ``../shared/data/l1b-examples`` beside the project, or under ``$L1BSR_SHARED_DIR`` (as the tests)."""
SCENE_SIZE_HR = 256
"""Side of each simulated scene, HR px (the views are half that)."""
SEEDS = (3, 11)
"""Scene and simulation seeds: each seed gives one scene and one pair per simulator config."""
SIMULATORS = {"default": SimulationConfig(), "held_out": SimulationConfig.held_out()}
TOLERANCE = {"u": 1.0, "f": 0.01}
"""``--within``: the largest difference accepted, by dtype kind: unsigned integers (images, DN)
and floats (flows and estimator statistics, px; the window count of an estimate is a float there too)."""
ESTIMATOR_STATS = ("median_px", "p90_px", "mean_dx", "mean_dy", "n_windows")


def _networks(prefix: str, bgrn: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
    outputs[f"{prefix}/superresolved"] = inference.superresolve(bgrn)
    registered, flow = inference.register(bgrn)
    outputs[f"{prefix}/registered"] = registered
    outputs[f"{prefix}/flow"] = flow


def _estimates(report: dict[str, dict]) -> np.ndarray:
    """A misregistration report as a (3, 5) float64 array: bands B, R, NIR × :data:`ESTIMATOR_STATS`."""
    return np.array([[report[band][stat] for stat in ESTIMATOR_STATS] for band in ("B", "R", "NIR")], np.float64)


def compute_outputs() -> dict[str, np.ndarray]:
    """Every output the check compares, by name."""
    outputs: dict[str, np.ndarray] = {}
    crops = sorted(CROPS.glob("*.tif"))
    if not crops:
        raise SystemExit(f"no real crops in {CROPS}")
    for path in crops:
        bgrn = read_bgrn_array(path)
        prefix = f"crop/{path.stem}"
        _networks(prefix, bgrn, outputs)
        registered, flow = classical_register(bgrn)
        outputs[f"{prefix}/classical_registered"] = registered
        outputs[f"{prefix}/classical_flow"] = flow
        outputs[f"{prefix}/misregistration"] = _estimates(misregistration(bgrn))
        outputs[f"{prefix}/ngf_misregistration"] = _estimates(ngf_misregistration(bgrn))
        print(f"{path.name} done", flush=True)
    for label, config in SIMULATORS.items():
        for seed in SEEDS:
            pair = simulate_pair(make_scene(SCENE_SIZE_HR, SCENE_SIZE_HR, seed=seed), config, rng=seed)
            prefix = f"simulated/{label}/{seed}"
            outputs[f"{prefix}/views"] = pair.views
            outputs[f"{prefix}/band_flows"] = pair.band_flows
            _networks(prefix, np.ascontiguousarray(pair.views[0].transpose(1, 2, 0)), outputs)
            print(f"simulated {label} seed {seed} done", flush=True)
    return outputs


def compare(reference: dict[str, np.ndarray], outputs: dict[str, np.ndarray], within: bool = False) -> list[str]:
    """One line per difference between ``reference`` and ``outputs`` (empty: bit-identical, or
    with ``within`` every difference inside :data:`TOLERANCE`)."""
    problems = [f"{name}: missing now" for name in sorted(set(reference) - set(outputs))]
    problems += [f"{name}: new output" for name in sorted(set(outputs) - set(reference))]
    for name in sorted(set(reference) & set(outputs)):
        old, new = reference[name], outputs[name]
        if old.dtype != new.dtype or old.shape != new.shape:
            problems.append(f"{name}: {old.dtype}{old.shape} before, {new.dtype}{new.shape} now")
        elif not np.array_equal(old, new, equal_nan=old.dtype.kind == "f"):
            differ = int(np.sum(old != new))
            largest = float(np.nanmax(np.abs(old.astype(np.float64) - new.astype(np.float64)), initial=0.0))
            same_nan = old.dtype.kind != "f" or np.array_equal(np.isnan(old), np.isnan(new))
            if within and same_nan and largest <= TOLERANCE.get(old.dtype.kind, 0.0):
                print(f"{name}: {differ} of {old.size} values differ, by at most {largest:.3g} (within)")
            else:
                nan = "" if same_nan else ", NaN at other places"
                problems.append(f"{name}: {differ} of {old.size} values differ, by up to {largest:.3g}{nan}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("save", "compare"))
    parser.add_argument("reference", type=Path, help="the .npz of reference outputs (keep it outside the repository)")
    parser.add_argument("--within", action="store_true", help="compare: accept differences up to 1 DN / 0.01 px")
    args = parser.parse_args(argv)
    outputs = compute_outputs()
    if args.mode == "save":
        np.savez_compressed(args.reference, **outputs)
        print(f"saved {len(outputs)} outputs to {args.reference}")
        return 0
    with np.load(args.reference) as saved:
        reference = {name: saved[name] for name in saved.files}
    problems = compare(reference, outputs, args.within)
    for line in problems:
        print(line)
    verdict = ("within tolerance" if args.within else "bit-identical") if not problems else f"{len(problems)} differ"
    print(f"{len(outputs)} outputs: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
