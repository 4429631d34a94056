"""Registration benchmark (issue #8): the classical pipeline and every CSR, side by side.

Prints Markdown tables; not a test; never trains. Usage::

    python benchmarks/registration.py [--csr csr] [--csr runs/csr-joint/last.pt ...]
                                      [--simulated 4] [--crops DIR] [--quick] [--threads 2]

Bands are B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); B, R and NIR are registered onto G.

1. Real crops, residual misregistration against G (px), the mean over crops of each crop's
   median and 90th percentile, by two estimators:
   (a) the phase-correlation estimate (:func:`l1bsr_core.misregistration.misregistration`:
   windowed phase correlation on complex gradients, the same method family as the CSR and the
   classical pipeline, so a consistency check, not an independent score);
   (b) the NGF estimate (:func:`l1bsr_core.misregistration.ngf_misregistration`: normalised
   gradient fields, Gauss–Newton, 40 px blocks, no shared code path: independent, but noisier;
   its own floor on simulated crops with known flows is about 0.05 px for B and R and 0.17 px
   for NIR, median); (c) NIR by the NGF estimate with 64 and 80 px blocks.
2. Real crops, guards (so that a score cannot come from copying G or blurring), per method and
   band, worst crop shown, PASS when every crop passes: (a) NCC ≥ 0.97 with the input band warped
   onto the registered band by the classical flow between them, and above the registered band's
   NCC with G; (b) band mean within 1 % of the input's; (c) band-pass energy (difference of
   Gaussians σ 0.7 − 2 px) ≥ 0.85 of the input's; (d) G bit-identical.
3. Simulated pairs, flow endpoint error (px) of view 0's B, R, NIR onto G against the true flows,
   on the interior (the pair's margin, at least 16 px), for the training simulator configuration
   and the held-out one, on procedural scenes and on real crops used as aligned 10 m scenes; and
   the held-out one on the same procedural scenes with a NIR of their own (issue #24:
   ``make_scene(own_nir=True)``; same displacements and noise), where NIR's edges are not all G's.
4. An independent simulator (not :mod:`l1bsr_core.simulate`'s physics): real crops, registered
   classically, each moving band warped at 10 m by its own flow, plus noise; three cases:
   ``affine`` (each band its own constant + affine offset, nothing shared), ``uncoupled`` (each
   band its own constant + affine + smooth field), ``coupled`` (one relief field scaled by each
   band's time lag, B −1, R +0.91, NIR −0.50, plus a small static part per band). A joint NIR
   estimate must not be worse where the coupling is absent. Its scenes are registered by the
   classical pipeline (phase correlation against G), so their truth carries that estimator's NIR
   reading (table 5): methods of the same family are favoured there.
5. Readings where nothing is misregistered: the scenes of table 3, simulated with every
   displacement zero (held-out PSF and noise), twice with different noise. Each method's flow
   (or the NGF estimator's block shifts) should be 0; what it reads is its floor on that content.
   NIR r: correlation of the NIR readings of the two noise draws (near 1: the reading is set by
   the content, not by noise, so more of the same data would not lower it) and with the NGF
   estimator's (near 0: the two read different NIR geometry in the same scene), per scene, mean.
   Sampled at the NGF blocks that the NGF estimator keeps. The NGF estimator with 64 and 80 px
   blocks is read at its own blocks (a scene where it keeps none is left out of its row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import common  # first: it puts the project root on sys.path
import numpy as np
import torch
from common import BandIdentity

from l1bsr_core import inference
from l1bsr_core.bands import BAND_NAMES, BAND_TIME_RATIOS, GREEN, MOVING_BAND_NAMES, MOVING_BANDS, NIR
from l1bsr_core.classical_registration import classical_register
from l1bsr_core.metrics import flow_epe
from l1bsr_core.misregistration import NGF_MIN_COHERENCE, misregistration, ngf_misregistration, ngf_shifts
from l1bsr_core.simulate import SimulationConfig, invert_flow, random_relief_flow, random_smooth_flow, simulate_pair
from l1bsr_core.warp import warp

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
    ngf = {label: [] for label in methods}
    ngf_larger = {(label, size): [] for label in methods for size in LARGER_NGF_BLOCKS}
    guards = {label: [] for label in methods if label != INPUT}
    for crop in crops:
        for label, method in methods.items():
            registered, _ = method(crop)
            residuals[label].append(misregistration(registered))
            ngf[label].append(ngf_misregistration(registered))
            for size in LARGER_NGF_BLOCKS:
                ngf_larger[label, size].append(ngf_misregistration(registered, window=size)[NIR_NAME])
            if label in guards:
                guards[label].append(guard_scores(crop, registered))

    common.misregistration_table(
        f"Residual misregistration against G on {len(crops)} real crops, phase-correlation estimate (px)",
        residuals,
        "Mean over crops of each crop's median and 90th percentile, by `misregistration`: windowed phase "
        "correlation, the same method family as the CSR and the classical pipeline (a consistency check, "
        "not an independent score; the classical row is its own floor).")
    common.misregistration_table(
        f"Residual misregistration against G on {len(crops)} real crops, NGF estimate (px)", ngf,
        "The same by `ngf_misregistration` (normalised gradient fields, Gauss–Newton, 40 px blocks; no code "
        "or method shared with the CSR). Independent but noisier: its own floor on simulated crops with "
        "known flows is about 0.05 px (B, R) and 0.17 px (NIR), median.")
    rows = [[label, *[f"{np.nanmean([r['median_px'] for r in ngf_larger[label, size]]):.3f} / "
                      f"{np.nanmean([r['p90_px'] for r in ngf_larger[label, size]]):.3f} "
                      f"({np.mean([r['n_windows'] for r in ngf_larger[label, size]]):.0f})"
                      for size in LARGER_NGF_BLOCKS]]
            for label in methods]
    common.table(
        f"Residual NIR misregistration on {len(crops)} real crops, NGF estimate with larger blocks (px)",
        ["method", *[f"NIR median / p90 (blocks kept per crop), {size} px blocks" for size in LARGER_NGF_BLOCKS]],
        rows,
        "As the table above, NIR only: larger blocks average more of the estimator's own noise and bias "
        "away, but see less of the flow's variation and keep fewer blocks. Its readings where nothing is "
        "misregistered are in table 5.")

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


OWN_NIR_SIMULATION = "held-out"
"""The simulator configuration of table 3's scenes with a NIR of their own."""


def simulated(paths, n: int, methods: dict[str, Register]) -> None:
    """Table 3 of the module docstring, one table per simulator configuration."""
    nir = MOVING_BANDS.index(NIR)
    runs = [(name, config, False) for name, config in common.SIMULATIONS.items()]
    runs.append((OWN_NIR_SIMULATION, common.SIMULATIONS[OWN_NIR_SIMULATION], True))
    for config_name, config, own_nir in runs:
        pairs = common.simulated_pairs(config, [] if own_nir else paths, n, own_nir=own_nir)  # procedural only
        kinds = ["procedural"] * n + ["real"] * (len(pairs) - n)
        errors = {label: [] for label in methods}  # per pair: [B, R, NIR]
        for pair in pairs:
            view = common.view0(pair)
            for label, method in methods.items():
                errors[label].append(common.band_epes(method(view)[1], pair))
        rows = []
        for label, per_pair in errors.items():
            per_pair = np.asarray(per_pair)
            row = [label, *per_pair.mean(axis=0).tolist(), float(per_pair.mean())]
            if not own_nir:  # both kinds of scene: each kind's mean and NIR apart
                of_kind = [per_pair[[k == kind for k in kinds]] for kind in ("procedural", "real")]
                row += [float(chosen.mean()) if len(chosen) else float("nan") for chosen in of_kind]
                row += [float(chosen[:, nir].mean()) if len(chosen) else float("nan") for chosen in of_kind]
            rows.append(row)
        header = ["method", *MOVING_BAND_NAMES, "mean"]
        if own_nir:
            scenes = f"{n} procedural scenes with a NIR of their own"
            note = ("The scenes, displacements and noise draws of the procedural pairs of the table above, each "
                    "scene with a NIR of its own (and its visible bands' wet margins; exact truth).")
        else:
            scenes = f"{kinds.count('procedural')} procedural + {kinds.count('real')} real-crop scenes"
            header += ["mean, procedural", "mean, real-crop scenes", "NIR, procedural", "NIR, real-crop scenes"]
            note = ("Procedural scenes are aligned by construction; real-crop scenes by the classical pipeline, so "
                    "their NIR truth carries what it reads there (table 5).")
        common.table(f"Flow endpoint error onto G, simulator `{config_name}` ({scenes}) (px)", header, rows,
                     "View 0 against the true band flows, interior (the pair's margin, at least "
                     f"{common.BORDER_PX} px). The input row is the size of the true flows. {note}")


INDEPENDENT_CASES = ("affine", "uncoupled", "coupled")
INDEPENDENT_SEED = 11
INDEPENDENT_NOISE_DN = 1.5


def independent_case(scene: np.ndarray, case: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Table 4: (registered real crop as an aligned scene, case) → (view (H, W, 4) uint16, true flows (3, 2, H, W))."""
    h, w = scene.shape[:2]
    if case == "coupled":
        shared = random_relief_flow(h, w, shift=1.8, affine=0.002, lowfreq=0.8, rng=rng)
        sign = rng.choice([-1, 1])
    view, flows = scene.astype(np.float64), []
    for band in MOVING_BANDS:
        if case == "affine":
            displacement = random_smooth_flow(h, w, shift=1.5, affine=0.003, lowfreq=0.0, rng=rng)
        elif case == "uncoupled":
            displacement = random_smooth_flow(h, w, shift=1.5, affine=0.002, lowfreq=0.6, rng=rng)
        else:
            displacement = sign * BAND_TIME_RATIOS[band] * shared + random_smooth_flow(
                h, w, shift=0.3, affine=0.0005, lowfreq=0.15, rng=rng)
        displacement = torch.from_numpy(displacement)[None]
        plane = torch.from_numpy(scene[..., band].astype(np.float32))[None, None]
        view[..., band] = warp(plane, displacement)[0, 0].numpy()
        flows.append(invert_flow(displacement)[0].numpy())
    view = view + rng.normal(0, INDEPENDENT_NOISE_DN, view.shape)
    return np.clip(np.round(view), 1, 65535).astype(np.uint16), np.stack(flows)


def independent(crops: list[np.ndarray], methods: dict[str, Register]) -> None:
    """Table 4 of the module docstring."""
    scenes = [classical_register(crop)[0] for crop in crops]
    for case in INDEPENDENT_CASES:
        rng = np.random.default_rng(INDEPENDENT_SEED)
        errors = {label: [] for label in methods}
        for scene in scenes:
            view, truth = independent_case(scene, case, rng)
            for label, method in methods.items():
                flow = method(view)[1]
                errors[label].append([flow_epe(flow[i], truth[i], border=common.BORDER_PX)
                                      for i in range(len(MOVING_BANDS))])
        rows = [[label, *np.mean(per, axis=0).tolist()] for label, per in errors.items()]
        common.table(f"Flow endpoint error onto G, independent simulator `{case}` ({len(scenes)} real-crop "
                     "scenes) (px)", ["method", *MOVING_BAND_NAMES], rows,
                     f"Real crops registered classically, each band warped by its own flow ({case}), noise σ "
                     f"{INDEPENDENT_NOISE_DN:g} DN; interior ({common.BORDER_PX} px left out).")


NGF = "NGF estimator (`ngf_shifts`)"
LARGER_NGF_BLOCKS = (64, 80)
"""Block sides (px) the NGF estimate of NIR is also read with (table 1c, table 5)."""
NIR_NAME = BAND_NAMES[NIR]
MOTIONLESS_SEEDS = (common.SIMULATION_SEED, common.SIMULATION_SEED + 1)
"""Noise draws of the motionless pairs (table 5)."""


def motionless(config: SimulationConfig) -> SimulationConfig:
    """``config`` with every displacement zero: the views are the scene, blurred, decimated and noisy."""
    return dataclasses.replace(config, detector_shift_px=0.0, detector_affine=0.0, detector_lowfreq_px=0.0,
                               band_shift_px=0.0, band_affine=0.0, band_lowfreq_px=0.0, band_view_jitter_px=0.0,
                               band_residual_px=0.0, band_residual_lowfreq_px=0.0)


def block_readings(view: np.ndarray, methods: dict[str, Register]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per method: the (3, 2, by, bx) readings of B, R, NIR at the NGF blocks of ``view``, and the
    (3, by, bx) mask of the blocks the NGF estimator keeps (the same mask for every method); then the
    NGF estimator with :data:`LARGER_NGF_BLOCKS`, each at its own blocks and with its own mask."""
    green = view[..., GREEN].astype(np.float64)
    shifts = [ngf_shifts(green, view[..., band].astype(np.float64)) for band in MOVING_BANDS]
    cy, cx = np.round(shifts[0][0]).astype(int), np.round(shifts[0][1]).astype(int)
    kept = np.stack([coherence >= NGF_MIN_COHERENCE for *_, coherence in shifts])
    readings = {label: (method(view)[1][:, :, cy][:, :, :, cx], kept) for label, method in methods.items()}
    readings[NGF] = (np.stack([np.stack((dx, dy)) for _, _, dx, dy, _ in shifts]), kept)
    for size in LARGER_NGF_BLOCKS:  # on their own (coarser) grid of blocks
        larger = [ngf_shifts(green, view[..., band].astype(np.float64), window=size) for band in MOVING_BANDS]
        readings[larger_ngf(size)] = (np.stack([np.stack((dx, dy)) for _, _, dx, dy, _ in larger]),
                                      np.stack([coherence >= NGF_MIN_COHERENCE for *_, coherence in larger]))
    return readings


def larger_ngf(size: int) -> str:
    """The label of the NGF estimator with ``size`` px blocks."""
    return f"NGF estimator, {size} px blocks"


def _correlation(first: np.ndarray, second: np.ndarray, kept: np.ndarray) -> float:
    """Pearson correlation of two (2, by, bx) NIR readings over the kept blocks, dx and dy each
    centred on its own mean first (so that offsets differing between dx and dy do not make it)."""
    a, b = (np.concatenate([c[kept] - c[kept].mean() for c in reading]) for reading in (first, second))
    return float(np.corrcoef(a, b)[0, 1])


KINDS = ("procedural", "real-crop")


def motionless_readings(paths, n: int, methods: dict[str, Register]) -> None:
    """Table 5 of the module docstring."""
    config = motionless(SimulationConfig.held_out())
    methods = {label: method for label, method in methods.items() if label != INPUT}
    nir = MOVING_BANDS.index(NIR)
    labels = [*methods, NGF, *map(larger_ngf, LARGER_NGF_BLOCKS)]
    # per method and kind, one entry per scene
    medians = {label: {kind: [] for kind in KINDS} for label in labels}  # [B, R, NIR] median |reading|
    nir_p90 = {label: {kind: [] for kind in KINDS} for label in labels}
    repeat = {label: {kind: [] for kind in KINDS} for label in labels}
    with_ngf = {label: {kind: [] for kind in KINDS} for label in labels}
    for i, scene in enumerate(common.simulation_scenes(paths, n)):
        kind = KINDS[0] if i < n else KINDS[1]
        draws = [block_readings(common.view0(simulate_pair(scene, config, rng=seed)), methods)
                 for seed in MOTIONLESS_SEEDS]
        for label in labels:
            reading, kept = draws[0][label]
            size = [np.hypot(*reading[b])[kept[b]] for b in range(len(MOVING_BANDS))]
            if not all(len(values) for values in size):  # no block kept (larger blocks on a small scene)
                continue
            medians[label][kind].append([float(np.median(values)) for values in size])
            nir_p90[label][kind].append(float(np.percentile(size[nir], 90)))
            both = kept[nir] & draws[1][label][1][nir]
            if both.sum() > 2:
                repeat[label][kind].append(_correlation(reading[nir], draws[1][label][0][nir], both))
            if label in methods and kept[nir].sum() > 2:
                with_ngf[label][kind].append(_correlation(reading[nir], draws[0][NGF][0][nir], kept[nir]))

    def mean(values) -> float:
        return float(np.mean(values, axis=0)) if len(values) else float("nan")

    def pair(per_kind: dict[str, list[float]]) -> str:
        if not any(per_kind.values()):
            return "–"
        return " / ".join(common.signed(mean(per_kind[kind]), 3) if per_kind[kind] else "–" for kind in KINDS)

    rows = []
    for label in labels:
        cells = [label]
        for kind in KINDS:
            per_band = np.mean(medians[label][kind], axis=0) if medians[label][kind] else [float("nan")] * 3
            cells += [" / ".join(f"{v:.3f}" for v in per_band), mean(nir_p90[label][kind])]
        rows.append(cells + [pair(repeat[label]), pair(with_ngf[label])])
    counts = {kind: len(medians[NGF][kind]) for kind in KINDS}
    common.table(
        f"Readings where nothing is misregistered ({counts[KINDS[0]]} procedural + {counts[KINDS[1]]} real-crop "
        "scenes, held-out PSF and noise, every displacement 0) (px)",
        ["method", "median B / R / NIR, procedural", "NIR p90, procedural", "median B / R / NIR, real-crop",
         "NIR p90, real-crop", "NIR r, two noise draws (procedural / real-crop)",
         "NIR r with NGF (procedural / real-crop)"], rows,
        "|reading| at the NGF blocks the NGF estimator keeps, first noise draw, each scene's median and "
        "90th percentile, mean over scenes; the truth is 0 everywhere, and exactly so in the procedural "
        "scenes (real-crop scenes are aligned by the classical pipeline). Flows are read at the block "
        "centres (they are smooth on that scale), NGF gives one shift per 40 px block. r: correlation of "
        "the NIR readings (dx and dy, each centred), per scene, mean over scenes.")


def main() -> None:
    args, csrs, paths = common.parse_and_start(__doc__, "csr", simulated=DEFAULT_SIMULATED,
                                               title="L1BSR registration benchmark (issue #8)")
    methods = registration_methods(csrs, args.device)
    real_crops(common.load_crops(paths), methods)
    simulated(paths, args.simulated, methods)
    independent(common.load_crops(paths), methods)
    motionless_readings(paths, args.simulated, methods)


if __name__ == "__main__":
    main()
