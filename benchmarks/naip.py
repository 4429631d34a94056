"""NIR benchmark on real NIR texture (issue #24): NAIP 4-band scenes, known flows, a 5 m truth.

Prints Markdown tables; not a test; never trains. Usage::

    python benchmarks/naip.py [--csr csr] [--rec rec] [--dates 2009 2015 ...] [--kinds affine ...]
                              [--quick] [--threads 2]

Data: ``../shared/data/naip-rgbn`` (seven dates of one airborne tile, bands R, G, B, NIR, uint8,
5 m, co-registered in the source up to ~0.05 px; see its README). Without it the script prints one
line and exits. Each date is cut into :data:`CROPS_PER_DATE` disjoint scenes of
:data:`SCENE_ROWS` × :data:`SCENE_COLS` px at 5 m, reordered to B, G, R, NIR and scaled by
:data:`DN_PER_NAIP` to L1B-like digital numbers: the aligned 5 m truth. L1B-like 10 m input is
made by the project's simulator (:func:`l1bsr_core.simulate.simulate_pair`: Gaussian PSF, 2 × 2
area decimation, signal-dependent noise, uint16; view 0 is used) with displacements of three kinds:

* ``affine``: B, R and NIR each displaced by its own constant + affine field (``≤ 2 px``), nothing
  shared, like the registration benchmark's independent ``affine`` case: NIR not coupled to B, R.
  PSF and noise of the training configuration.
* ``coupled``: the L1B time-lag-coupled model of :mod:`l1bsr_core.simulate` with the held-out
  configuration's displacements (relief-shaped shared field × each band's time lag + per-band
  static parts, which no training run uses) and noise, and the training PSF, centred: the
  held-out PSF's off-centre phase shifts every band by ¼ px against the truth, which the scores'
  integer-shift search cannot undo (B, G and R then gain only ~0.8 dB even with true flows).
* ``co-registered``: no displacement at all (like an L1C / L2A product), training PSF and noise.

Scores (interior: the pair's margin, at least 16 LR px, left out):

1. Flow error of B, R, NIR onto G against the true band flows, per pixel, median and 90th
   percentile per scene (px at 10 m), mean over scenes, and the worst scene's median: the
   classical pipeline and each CSR.
2. Super-resolution, per band, cPSNR (integer shifts ±2 px, bias-corrected) against the 5 m truth,
   as a gain (dB) over the **oracle**: view 0's bands warped onto G by the true flows, then
   bicubic. Rows: classical registration + bicubic, the REC as shipped (``superresolve``: aligned
   by its CSR), and the same REC network fed the bands registered with the true flows.
3. Co-registered kind: the REC with its CSR alignment and without it (the network on the input as
   it is), gains over bicubic per band (dB), and what the CSR reads there (truth 0).
4. Co-registered kind: NIR of the input (aligned: the truth) and of each method's registration,
   read against G by the estimators the registration benchmark scores real crops with (phase
   correlation; NGF with 40 and 80 px blocks): what those readings mean where the truth is known.

Dates: :data:`TUNING_DATES` are the only ones any NIR change was tuned on;
:data:`HELD_OUT_DATES` are used for reporting only. Both tables are printed.

``--procedural N``: instead of NAIP, N procedural scenes whose NIR has a texture of its own
(:func:`l1bsr_core.scenes.make_scene` with ``own_nir=True``: vegetation vigour and stress patches
that only NIR sees, wet margins round water that only the visible bands see), from seeds
:data:`OWN_NIR_SEED` + i, the four landscapes in turn, the same kinds and scores. The truth is
exact (no source residual), no choice was made on them (:data:`OWN_NIR_SEED`), and ``../shared`` is
not needed.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import common  # first: it puts the project root on sys.path
import numpy as np
import registration
import tifffile
import torch

from l1bsr_core import inference
from l1bsr_core.arrays import to_uint16
from l1bsr_core.bands import BAND_NAMES, BLUE, GREEN, MOVING_BAND_NAMES, MOVING_BANDS, N_BANDS, NIR, RED, SCALE_FACTOR
from l1bsr_core.classical_registration import classical_register
from l1bsr_core.metrics import cpsnr
from l1bsr_core.misregistration import misregistration, ngf_misregistration
from l1bsr_core.runtime import band_statistics
from l1bsr_core.scenes import LANDSCAPES, make_scene
from l1bsr_core.simulate import SimulatedPair, SimulationConfig, random_smooth_flow, simulate_pair
from l1bsr_core.tensors import image_to_tensor, tensor_to_image
from l1bsr_core.warp import align_to_reference

NAIP = common.ROOT.parent / "shared" / "data" / "naip-rgbn"
NAIP_BAND_ORDER = {"R": 0, "G": 1, "B": 2, "NIR": 3}
"""Position of each band in a NAIP file (R, G, B, NIR)."""
DN_PER_NAIP = 12
"""NAIP uint8 → L1B-like DN (NAIP 0–255 → 0–3060 DN, L1B's range over land)."""
SCENE_ROWS, SCENE_COLS = 704, 464
"""Side of a scene at 5 m (its 10 m input is 352 × 232)."""
CROPS_PER_DATE = 2
"""Disjoint scenes cut side by side from each 723 × 934 px date."""
TUNING_DATES = ("2009", "2010", "2012", "2014")
"""Dates any NIR change was tuned on."""
HELD_OUT_DATES = ("2015", "2016", "2017")
"""Dates used only to report: no setting was chosen by looking at them."""
PROCEDURAL = "procedural"
"""The ``date`` of the procedural scenes of ``--procedural``."""
OWN_NIR_SEED = 2500
"""Procedural scene i is ``make_scene(..., seed=OWN_NIR_SEED + i, own_nir=True)``: seeds no other
benchmark or test uses, first drawn once the NIR choices and the own-NIR features were fixed (the
features were built looking at seeds 2400–2407)."""
NAIP_SEED = 24
"""Seed of the displacements and noise (issue #24): the same cases in every run."""

AFFINE, COUPLED, COREGISTERED = "affine", "coupled", "co-registered"
KINDS = (AFFINE, COUPLED, COREGISTERED)
KIND_CONFIG = {
    AFFINE: SimulationConfig(),
    COUPLED: dataclasses.replace(SimulationConfig.held_out(), psf_phase_px=0.0,
                                 mtf_nyquist=SimulationConfig().mtf_nyquist),
    COREGISTERED: registration.motionless(SimulationConfig()),
}
"""The simulator configuration of each kind (PSF, noise; the displacements of ``coupled``)."""
AFFINE_SHIFT_PX = 1.2
"""Largest constant part of each band's own affine displacement, LR px."""
AFFINE_SLOPE = 0.002
"""Largest entry of its affine matrix, per LR px from the centre (≤ 0.6 px at the scene's corners)."""

CLASSICAL = "classical (phase corr. + warp)"
TRUTH_ALIGNED = "the input itself (aligned: truth)"
REAL_NGF_BLOCK_PX = 80
"""The larger NGF blocks of the registration benchmark's real-crop NIR table."""
TRUE_FLOWS_REC = "REC fed true-registered bands"
FLOW_STATS = ("median", "p90")

Flows = Callable[[np.ndarray], np.ndarray]
"""(h, w, 4) uint16 view → (3, 2, h, w) flows of B, R, NIR onto G (px, dx then dy)."""
SuperResolve = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(view, true flows) → (2h, 2w, 4) output in G's geometry."""


@dataclass
class Scene:
    """One aligned 5 m scene: ``hr`` (4, H, W) float32 DN, bands B, G, R, NIR."""

    date: str
    index: int
    hr: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.date}-{self.index}"

    @property
    def seed_key(self) -> int:
        """The scene's part of its cases' seed: the year of a NAIP date, 0 for a procedural scene."""
        return 0 if self.date == PROCEDURAL else int(self.date)


def procedural_scenes(count: int) -> list[Scene]:
    """``count`` procedural 5 m scenes with a NIR of their own (``--procedural``), 352 × 352 px views."""
    side = common.PROCEDURAL_SCENE_PX
    return [Scene(PROCEDURAL, i, make_scene(side, side, seed=OWN_NIR_SEED + i,
                                            landscape=LANDSCAPES[i % len(LANDSCAPES)], own_nir=True))
            for i in range(count)]


def naip_files(folder: Path = NAIP) -> dict[str, Path]:
    """Year → file of each date in ``folder`` (``m_..._<yyyymmdd>.tif``)."""
    return {path.stem.rsplit("_", 1)[-1][:4]: path for path in sorted(folder.glob("*.tif"))}


def load_scenes(path: Path, date: str) -> list[Scene]:
    """The :data:`CROPS_PER_DATE` disjoint scenes of one date, centred in the tile, B, G, R, NIR in DN."""
    rgbn = tifffile.imread(path)
    bgrn = rgbn[..., [NAIP_BAND_ORDER[name] for name in ("B", "G", "R", "NIR")]].astype(np.float32) * DN_PER_NAIP
    height, width, _ = bgrn.shape
    top = (height - SCENE_ROWS) // 2
    left = (width - CROPS_PER_DATE * SCENE_COLS) // 2
    if top < 0 or left < 0:
        raise ValueError(f"{path.name}: {height} × {width} px is too small for {CROPS_PER_DATE} scenes")
    return [Scene(date, i, np.ascontiguousarray(
        bgrn[top:top + SCENE_ROWS, left + i * SCENE_COLS:left + (i + 1) * SCENE_COLS].transpose(2, 0, 1)))
        for i in range(CROPS_PER_DATE)]


def affine_displacements(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(2, 4, 2, h, w) displacements of the ``affine`` kind: each moving band its own, G none, both views equal."""
    disp = np.zeros((2, N_BANDS, 2, height, width), np.float64)
    for band in MOVING_BANDS:
        disp[:, band] = random_smooth_flow(height, width, shift=AFFINE_SHIFT_PX, affine=AFFINE_SLOPE, lowfreq=0.0,
                                           rng=rng)[None]
    return disp


def make_case(scene: Scene, kind: str) -> SimulatedPair:
    """The simulated L1B-like pair of ``scene`` for ``kind`` (view 0 is the input; its band flows the
    truth), drawn from a generator seeded by the scene's date and place and the kind: the same case
    whichever dates a run selects."""
    rng = np.random.default_rng((NAIP_SEED, scene.seed_key, scene.index, KINDS.index(kind)))
    height, width = (side // SCALE_FACTOR for side in scene.hr.shape[1:])
    displacements = affine_displacements(height, width, rng) if kind == AFFINE else None
    return simulate_pair(scene.hr, KIND_CONFIG[kind], rng=rng, displacements=displacements)


# === Scores ==================================================================================


def flow_errors(flow: np.ndarray, pair: SimulatedPair) -> np.ndarray:
    """(3, 2): median and 90th percentile of the per-pixel endpoint error of B, R, NIR (interior, px)."""
    rows, cols = common.interior(common.pair_border(pair))
    error = np.hypot(*(flow - pair.band_flows[0])[:, :, rows, cols].transpose(1, 0, 2, 3))
    return np.stack([np.median(error, axis=(1, 2)), np.percentile(error, 90, axis=(1, 2))], axis=1)


def band_cpsnr(sr: np.ndarray, pair: SimulatedPair) -> np.ndarray:
    """(4,) cPSNR (dB) of each band of a (2h, 2w, 4) output against the 5 m truth, interior.

    Each band's data range is its own peak-to-peak range in the truth."""
    border = SCALE_FACTOR * common.pair_border(pair)
    sr = np.asarray(sr, dtype=np.float64)
    return np.asarray([cpsnr(sr[..., b], pair.hr[b].astype(np.float64), border=border,
                             data_range=float(np.ptp(pair.hr[b]))) for b in range(N_BANDS)])


def rec_on(model: torch.nn.Module, bgrn: np.ndarray, flow: np.ndarray | None) -> np.ndarray:
    """The REC network on ``bgrn`` (h, w, 4) uint16 aligned by ``flow`` (3, 2, h, w), or as it is (None).

    What :class:`~l1bsr_core.runtime.FaithfulRECRuntime` does for an image of one tile, with the
    flows given instead of its CSR's. Returns (2h, 2w, 4) uint16."""
    mean, _ = band_statistics(bgrn)
    x = image_to_tensor(bgrn)
    if flow is not None:
        x = align_to_reference(x, torch.from_numpy(np.asarray(flow, np.float32))[None], MOVING_BANDS)
    with torch.inference_mode():
        y = model(x, torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
    return to_uint16(tensor_to_image(y))


def flow_methods(csrs: dict[str, torch.nn.Module | str]) -> dict[str, Flows]:
    """The classical pipeline, then each CSR (name → registered name, path or network)."""
    methods: dict[str, Flows] = {CLASSICAL: lambda view: classical_register(view)[1]}
    for label, weights in csrs.items():
        methods[label] = lambda view, weights=weights: inference.register(view, weights=weights)[1]
    return methods


def sr_methods(rec: str, csrs: dict[str, torch.nn.Module | str]) -> dict[str, SuperResolve]:
    """Classical registration + bicubic, the REC as shipped (its own CSR), the REC network aligned by
    each other CSR of ``csrs`` (flows given), and the REC fed the true flows."""
    network = inference.get_model("rec", rec)[0]
    methods: dict[str, SuperResolve] = {
        "classical registration + bicubic": lambda view, truth: common.classical_bicubic(view),
        f"REC `{rec}` (`superresolve`)": lambda view, truth: inference.superresolve(view, weights=rec),
    }
    for label, weights in csrs.items():
        if weights != network.config.align_with:
            methods[f"REC `{rec}` aligned by {label}"] = lambda view, truth, weights=weights: rec_on(
                network, view, inference.register(view, weights=weights)[1])
    methods[TRUE_FLOWS_REC] = lambda view, truth: rec_on(network, view, truth)
    return methods


@dataclass
class Results:
    """Scores per (scene name, kind, method): flow errors (3, 2) or cPSNR gains (4,)."""

    flows: dict[tuple[str, str, str], np.ndarray]
    gains: dict[tuple[str, str, str], np.ndarray]
    readings: dict[tuple[str, str], np.ndarray] = dataclasses.field(default_factory=dict)
    """(scene name, method) → NIR median and p90 read by the real-crop estimators on the
    co-registered kind (:func:`estimator_readings`)."""


ESTIMATORS = ("phase correlation", "NGF 40 px", f"NGF {REAL_NGF_BLOCK_PX} px")
"""The estimators the registration benchmark reads the real crops' residual NIR with."""


def estimator_readings(registered: np.ndarray) -> np.ndarray:
    """(3, 2): NIR median and p90 (px) by each of :data:`ESTIMATORS` on an (h, w, 4) image: what the
    registration benchmark's real-crop tables would read on it."""
    reports = (misregistration(registered), ngf_misregistration(registered),
               ngf_misregistration(registered, window=REAL_NGF_BLOCK_PX))
    return np.asarray([[r["NIR"]["median_px"], r["NIR"]["p90_px"]] for r in reports])


def evaluate(scenes: list[Scene], kinds: list[str], flows: dict[str, Flows], srs: dict[str, SuperResolve],
             coregistered_srs: dict[str, Callable[[np.ndarray], np.ndarray]], *, log=print) -> Results:
    """Every method on every scene and kind (see the module docstring for what is scored)."""
    results = Results({}, {})
    for scene in scenes:
        for kind in kinds:
            started = time.perf_counter()
            pair = make_case(scene, kind)
            view, truth = common.view0(pair), pair.band_flows[0]
            results.flows[scene.name, kind, registration.INPUT] = flow_errors(np.zeros_like(truth), pair)
            for label, method in flows.items():
                results.flows[scene.name, kind, label] = flow_errors(method(view), pair)
            if kind == COREGISTERED:
                results.readings[scene.name, TRUTH_ALIGNED] = estimator_readings(view)
                for label, method in flows.items():
                    registered = to_uint16(common.register_with(view, method(view)))
                    results.readings[scene.name, label] = estimator_readings(registered)
                base = band_cpsnr(common.bicubic(view), pair)
                for label, method in coregistered_srs.items():
                    results.gains[scene.name, kind, label] = band_cpsnr(method(view), pair) - base
            else:
                base = band_cpsnr(common.bicubic(common.register_with(view, truth)), pair)
                for label, method in srs.items():
                    results.gains[scene.name, kind, label] = band_cpsnr(method(view, truth), pair) - base
            log(f"<!-- {scene.name} {kind}: {time.perf_counter() - started:.1f} s -->")
    return results


# === Tables ==================================================================================


def _methods(scores: dict, kind: str) -> list[str]:
    return list(dict.fromkeys(method for _, k, method in scores if k == kind))


def _stack(scores: dict, names: list[str], kind: str, method: str) -> np.ndarray:
    return np.stack([scores[name, kind, method] for name in names])


def flow_table(results: Results, names: list[str], kind: str, title: str) -> None:
    """Table 1 for one kind and one set of scenes."""
    header = ["method", *[f"{band} {stat}" for band in MOVING_BAND_NAMES for stat in FLOW_STATS],
              "NIR median, worst scene"]
    rows = []
    for method in _methods(results.flows, kind):
        errors = _stack(results.flows, names, kind, method)  # (scenes, 3, 2)
        rows.append([method, *errors.mean(axis=0).ravel().tolist(), float(errors[:, -1, 0].max())])
    common.table(title, header, rows,
                 f"{len(names)} scenes; per-pixel endpoint error onto G against the true flows, each scene's "
                 "median and 90th percentile, mean over scenes (10 m px).")


def gain_table(results: Results, names: list[str], kind: str, title: str, baseline: str) -> None:
    """Table 2 (or 3) for one kind and one set of scenes: per-band gains over ``baseline``, dB."""
    header = ["method", *[f"{band} mean" for band in BAND_NAMES], "NIR worst scene", "B, G, R worst band-scene"]
    rows = []
    for method in _methods(results.gains, kind):
        gains = _stack(results.gains, names, kind, method)  # (scenes, 4)
        rows.append([method, *[common.signed(g) for g in gains.mean(axis=0)], common.signed(gains[:, NIR].min()),
                     common.signed(gains[:, [BLUE, GREEN, RED]].min())])
    common.table(title, header, rows,
                 f"{len(names)} scenes; cPSNR gain over {baseline} against the 5 m truth, per band, dB.")


def scene_table(results: Results, names: list[str], kinds: list[str], flow_label: str, rec_label: str) -> None:
    """Per scene: the NIR flow error median of ``flow_label`` and the NIR gain of ``rec_label``."""
    rows = []
    for name in names:
        row = [name]
        for kind in kinds:
            row.append(float(results.flows[name, kind, flow_label][-1, 0]))
            if (name, kind, rec_label) in results.gains:
                row.append(common.signed(results.gains[name, kind, rec_label][NIR]))
        rows.append(row)
    header = ["scene"]
    for kind in kinds:
        header.append(f"{kind}: NIR flow median")
        if kind != COREGISTERED:
            header.append(f"{kind}: NIR gain")
    common.table(f"Per scene: {flow_label} NIR flow error (px) and {rec_label} NIR gain over the oracle (dB)",
                 header, rows)


def readings_table(results: Results, names: list[str], title: str) -> None:
    """What the real-crop estimators read on the co-registered kind, where the truth is 0."""
    methods = list(dict.fromkeys(method for name, method in results.readings if name in names))
    rows = []
    for method in methods:
        values = np.stack([results.readings[name, method] for name in names]).mean(axis=0)  # (3, 2)
        rows.append([method, *[f"{median:.3f} / {p90:.3f}" for median, p90 in values]])
    common.table(title, ["NIR of", *[f"{estimator}: median / p90" for estimator in ESTIMATORS]], rows,
                 f"{len(names)} scenes, co-registered kind (no displacement: the input's NIR is on G, exactly in "
                 "procedural scenes, up to the source's own ~0.05 px in NAIP). Each image's NIR against G by the "
                 "registration benchmark's real-crop estimators, mean over scenes: what they read where the truth "
                 "is known.")


def report(results: Results, scenes: list[Scene], kinds: list[str], flow_label: str, rec_label: str) -> None:
    """Every table, for the tuning dates and the held-out dates separately (procedural scenes: one set)."""
    groups = (("procedural scenes", (PROCEDURAL,)),) if any(s.date == PROCEDURAL for s in scenes) else (
        ("tuning dates", TUNING_DATES), ("held-out dates", HELD_OUT_DATES))
    for label, dates in groups:
        names = [s.name for s in scenes if s.date in dates]
        if not names:
            continue
        print(f"\n## {label.capitalize()} ({', '.join(d for d in dates if any(s.date == d for s in scenes))})")
        for kind in kinds:
            flow_table(results, names, kind, f"Flow error, `{kind}`, {label} (px)")
            if kind == COREGISTERED:
                gain_table(results, names, kind, f"Co-registered input (L1C/L2A-like): REC with and without "
                           f"its CSR alignment, gain over bicubic, {label} (dB)", "bicubic")
            else:
                gain_table(results, names, kind, f"Super-resolution, `{kind}`, {label}: gain over the oracle (dB)",
                           "the oracle (true flows + bicubic)")
        scene_table(results, names, kinds, flow_label, rec_label)
        if any(name in names for name, _ in results.readings):
            readings_table(results, names, f"Real-crop estimators on co-registered scenes, {label} (px)")


def selected_scenes(dates: list[str] | None, quick: bool, procedural: int = 0) -> list[Scene]:
    """The scenes of the requested dates (all by default); ``quick``: one scene per date.
    ``procedural`` > 0: that many procedural scenes instead (:func:`procedural_scenes`; ``dates``
    ignored, ``quick``: two of them)."""
    if procedural:
        return procedural_scenes(min(procedural, 2) if quick else procedural)
    files = naip_files()
    unknown = sorted(set(dates or []) - set(files))
    if unknown:
        sys.exit(f"no NAIP date {', '.join(unknown)} in {NAIP} (have {', '.join(files)})")
    scenes = [s for date, path in files.items() if not dates or date in dates for s in load_scenes(path, date)]
    return [s for s in scenes if s.index == 0] if quick else scenes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dates``, ``--procedural``, ``--kinds``, ``--quick``, ``--threads``."""
    parser.add_argument("--dates", nargs="+", metavar="YYYY", help="NAIP dates to use (default: all)")
    parser.add_argument("--procedural", type=int, default=0, metavar="N",
                        help="N procedural scenes with a NIR of their own instead of NAIP (no ../shared needed; "
                             "--dates is then ignored, --quick takes 2)")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="displacement kinds")
    parser.add_argument("--quick", action="store_true", help="one scene per date (2 procedural scenes)")
    parser.add_argument("--threads", type=int, default=common.DEFAULT_THREADS, help="torch threads")


def start(parser: argparse.ArgumentParser, title: str) -> argparse.Namespace:
    """Parse, exit in one line without the data, set threads, print the header."""
    args = parser.parse_args()
    if args.procedural < 0:
        parser.error(f"--procedural takes a number of scenes ≥ 0; got {args.procedural}")
    if not args.procedural and not naip_files():
        print(f"NAIP benchmark skipped: no scenes in {NAIP}")
        sys.exit(0)
    torch.set_num_threads(args.threads)
    print(f"# {title}\n")
    scenes = (f"{args.procedural} procedural scenes with a NIR of their own (seeds from {OWN_NIR_SEED}; no "
              f"NIR choice was made on them)" if args.procedural else
              f"Tuning dates {', '.join(TUNING_DATES)}; held-out dates {', '.join(HELD_OUT_DATES)} (reporting only)")
    print(f"`{shlex.join(['python', *sys.argv])}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"threads {args.threads}. {scenes}.")
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csr", action="append", dest="csrs", metavar="NAME_OR_PATH",
                        help="CSR weights (repeatable; default the registered `csr`)")
    parser.add_argument("--rec", default="rec", help="REC weights (default the registered `rec`)")
    add_arguments(parser)
    args = start(parser, "L1BSR NIR benchmark with a 5 m truth (issue #24)")
    csrs = {f"CSR `{name}`": name for name in args.csrs or ["csr"]}
    common.describe_weights("csr", list(csrs.values()))
    common.describe_weights("rec", [args.rec])
    scenes = selected_scenes(args.dates, args.quick, args.procedural)
    coregistered = {
        f"REC `{args.rec}` with its CSR alignment": lambda view: inference.superresolve(view, weights=args.rec),
        f"REC `{args.rec}` without alignment (`align=False`)": lambda view: inference.superresolve(
            view, weights=args.rec, align=False),
    }
    started = time.perf_counter()
    results = evaluate(scenes, args.kinds, flow_methods(csrs), sr_methods(args.rec, csrs), coregistered)
    report(results, scenes, args.kinds, next(iter(csrs)), f"REC `{args.rec}` (`superresolve`)")
    print(f"\n{len(scenes)} scenes × {len(args.kinds)} kinds in {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
