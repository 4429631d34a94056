"""Registration benchmark (issue #8): the classical pipeline and every CSR, side by side.

Prints Markdown tables; not a test; never trains. Usage::

    python benchmarks/registration.py [--csr csr] [--csr runs/csr-joint/last.pt ...]
                                      [--simulated 4] [--crops DIR] [--quick] [--threads 2]

Bands are B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); B, R and NIR are registered onto G.

1. Real crops, residual misregistration against G (px) by the project's estimator
   (:func:`l1bsr_core.registration.misregistration`: windowed phase correlation on gradient
   images, independent of CSR), the mean over crops of each crop's median and 90th percentile.
   The classical pipeline is built on that estimator, so its score is a floor, not a ranking.
2. Real crops, guards (so that a score cannot come from copying G or blurring), per method and
   band, worst crop shown, PASS when every crop passes: (a) NCC ≥ 0.97 with the input band warped
   onto the registered band by the classical flow between them, and above the registered band's
   NCC with G; (b) band mean within 1 % of the input's; (c) band-pass energy (difference of
   Gaussians σ 0.7 − 2 px) ≥ 0.85 of the input's; (d) G bit-identical.
3. Simulated pairs, flow endpoint error (px) of view 0's B, R, NIR onto G against the true flows,
   on the interior (the pair's margin, at least 16 px), for the training simulator configuration
   and the held-out one, on procedural scenes and on real crops used as aligned 10 m scenes.
"""

from __future__ import annotations

from collections.abc import Callable

import common  # first: it puts the project root on sys.path
import numpy as np
from common import BandIdentity

from l1bsr_core import inference
from l1bsr_core.bands import GREEN, MOVING_BAND_NAMES, MOVING_BANDS
from l1bsr_core.registration import classical_register, misregistration

Register = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(H, W, 4) uint16 crop → (registered (H, W, 4) uint16, flow (3, 2, H, W) float32)."""

INPUT = "input (none)"
CLASSICAL = "classical (phase corr. + warp)"
DEFAULT_SIMULATED = 4


def unregistered(bgrn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The input itself and a zero flow: the 'no registration' row."""
    return bgrn, np.zeros((len(MOVING_BANDS), 2, *bgrn.shape[:2]), np.float32)


def registration_methods(csrs: list[str], device: str) -> dict[str, Register]:
    """Input, the classical pipeline, then one CSR per name or path, in that order."""
    methods: dict[str, Register] = {INPUT: unregistered, CLASSICAL: classical_register}
    for name in csrs:
        methods[f"CSR `{name}`"] = lambda x, name=name: inference.register(x, weights=name, device=device)
    return methods


def guard_scores(crop: np.ndarray, registered: np.ndarray) -> tuple[dict[int, BandIdentity], bool]:
    """:func:`common.band_identity` of each registered band, and whether G is bit-identical."""
    bands = {b: common.band_identity(registered[..., b], crop[..., b], crop[..., GREEN]) for b in MOVING_BANDS}
    return bands, bool(np.array_equal(registered[..., GREEN], crop[..., GREEN]))


def real_crops(crops: list[np.ndarray], methods: dict[str, Register]) -> None:
    """Tables 1 and 2 of the module docstring."""
    residuals = {label: [] for label in methods}
    guards = {label: [] for label in methods if label != INPUT}
    for crop in crops:
        for label, method in methods.items():
            registered, _ = method(crop)
            residuals[label].append(misregistration(registered))
            if label in guards:
                guards[label].append(guard_scores(crop, registered))

    common.misregistration_table(
        f"Residual misregistration against G on {len(crops)} real crops (px)", residuals,
        "Mean over crops of each crop's median and 90th percentile, by the project's estimator "
        "(`misregistration`). It is the classical pipeline's own estimator: that row is a floor.")

    rows = []
    for label, per_crop in guards.items():
        green_same = all(same for _, same in per_crop)
        for band, name in zip(MOVING_BANDS, MOVING_BAND_NAMES):
            scores = [bands[band] for bands, _ in per_crop]
            own_ok = all(s.ncc_own >= common.NCC_MIN and s.ncc_own > s.ncc_green for s in scores)
            mean_worst = max((s.mean_pct for s in scores), key=abs)
            detail_worst = min(s.detail for s in scores)
            rows.append([label, name, min(s.ncc_own for s in scores), max(s.ncc_green for s in scores),
                         common.verdict(own_ok), common.signed(mean_worst),
                         common.verdict(abs(mean_worst) <= common.MEAN_TOLERANCE_PCT),
                         detail_worst, common.verdict(detail_worst >= common.DETAIL_MIN),
                         common.verdict(green_same)])
    common.table(
        f"Guards on {len(crops)} real crops: each registered band is a warp of its own input band",
        ["method", "band", "NCC own (min)", "NCC with G (max)", f"(a) ≥ {common.NCC_MIN} and > G",
         "mean Δ % (worst)", f"(b) ≤ {common.MEAN_TOLERANCE_PCT:g} %", "detail ratio (min)",
         f"(c) ≥ {common.DETAIL_MIN}", "(d) G identical"],
        rows,
        "NCC own: registered band against its input band warped onto it by the classical flow between "
        f"them; interior ({common.BORDER_PX} px left out). Detail: band-pass energy (DoG σ 0.7 − 2 px), "
        "registered over input. Worst crop shown; PASS when every crop passes.")


def simulated(paths, n: int, methods: dict[str, Register]) -> None:
    """Table 3 of the module docstring, one table per simulator configuration."""
    for config_name, config in common.SIMULATIONS.items():
        pairs = common.simulated_pairs(config, paths, n)
        kinds = ["procedural"] * n + ["real"] * (len(pairs) - n)
        errors = {label: [] for label in methods}  # per pair: [B, R, NIR]
        for pair in pairs:
            view = common.view0(pair)
            for label, method in methods.items():
                errors[label].append(common.band_epes(method(view)[1], pair))
        rows = []
        for label, per_pair in errors.items():
            per_pair = np.asarray(per_pair)
            by_kind = [float(per_pair[[k == kind for k in kinds]].mean()) if kind in kinds else float("nan")
                       for kind in ("procedural", "real")]
            rows.append([label, *per_pair.mean(axis=0).tolist(), float(per_pair.mean()), *by_kind])
        common.table(
            f"Flow endpoint error onto G, simulator `{config_name}` ({kinds.count('procedural')} procedural + "
            f"{kinds.count('real')} real-crop scenes) (px)",
            ["method", *MOVING_BAND_NAMES, "mean", "mean, procedural", "mean, real-crop scenes"], rows,
            "View 0 against the true band flows, interior (the pair's margin, at least "
            f"{common.BORDER_PX} px). The input row is the size of the true flows.")


def main() -> None:
    args, csrs, paths = common.parse_and_start(__doc__, "csr", simulated=DEFAULT_SIMULATED,
                                               title="L1BSR registration benchmark (issue #8)")
    methods = registration_methods(csrs, args.device)
    real_crops(common.load_crops(paths), methods)
    simulated(paths, args.simulated, methods)


if __name__ == "__main__":
    main()
