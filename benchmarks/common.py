"""What the benchmark scripts share: command line, crops, baselines, simulated pairs, scores, tables.

Conventions (as in the library): a BGRN crop is (H, W, 4), bands B, G, R, NIR (Sentinel-2 B2, B3,
B4, B8), uint16 digital numbers (DN) unless stated; a flow is (3, 2, H, W) for B, R, NIR onto G,
channel 0 = dx, 1 = dy, in pixels, with ``band(y + dy, x + dx) ≈ G(y, x)``. Every score leaves
out :data:`BORDER_PX` input pixels along each edge (``2 * BORDER_PX`` on a 2× output), or a
simulated pair's ``margin`` where that is larger.

The scripts import this module after putting the project root on ``sys.path`` (it does that
itself too, so ``python benchmarks/NAME.py`` works from any folder).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from l1bsr_core import inference  # noqa: E402
from l1bsr_core.arrays import to_uint16  # noqa: E402
from l1bsr_core.bands import GREEN, MOVING_BAND_NAMES, MOVING_BANDS, N_BANDS, NO_DATA, SCALE_FACTOR  # noqa: E402
from l1bsr_core.classical_registration import classical_flow, classical_register  # noqa: E402
from l1bsr_core.io import read_bgrn_array  # noqa: E402
from l1bsr_core.metrics import (  # noqa: E402
    bandpass_energy,
    border_ring_gain,
    bright_points,
    cpsnr,
    cssim,
    flow_epe,
    halo_depth,
    ncc,
    psnr,
    ssim,
    tilewise_cpsnr,
)
from l1bsr_core.resample import upsample  # noqa: E402
from l1bsr_core.scenes import make_scene, real_scene  # noqa: E402
from l1bsr_core.simulate import SimulatedPair, SimulationConfig, degrade, psf_sigma_for_mtf, simulate_pair  # noqa: E402
from l1bsr_core.warp import warp_bands  # noqa: E402

DEFAULT_CROPS = ROOT.parent / "shared" / "data" / "l1b-examples"
BORDER_PX = 16
"""Input pixels left out along each edge in every score (warps and networks reflect there)."""
QUICK_CROPS = 2
"""Real crops a ``--quick`` run uses."""
QUICK_SCENES = 1
"""Procedural scenes (and as many real-crop scenes) per simulator configuration in ``--quick``."""
DEFAULT_THREADS = 2
SIMULATION_SEED = 7
"""Seed of the simulated pairs: the same pairs in every script and run."""
PROCEDURAL_SEED = 1000
"""Procedural scene ``i`` is ``make_scene(..., seed=PROCEDURAL_SEED + i)``."""
PROCEDURAL_SCENE_PX = 704
"""Side of a procedural high-resolution scene (5 m px): its views are 352 × 352, like a real crop."""
SIMULATIONS = {"training": SimulationConfig(), "held-out": SimulationConfig.held_out()}
"""The simulator configurations every simulated table is printed for: the one training uses and
the one it never sees (issue #8, item 2)."""
SUBPIXEL = 4
"""Tile-wise cPSNR is also reported with shifts refined to 1/SUBPIXEL px (see metrics.tilewise_cpsnr)."""

NCC_MIN = 0.97
"""A processed band must correlate at least this much with its own input band (issues #8, #9)."""
MEAN_TOLERANCE_PCT = 1.0
"""... and keep its mean within this many percent of the input band's."""
DETAIL_MIN = 0.85
"""... and keep at least this share of the input band's band-pass energy (issue #8)."""


# === Command line, header, tables ============================================================


def parse_and_start(
    doc: str, kind: str, *, simulated: int, title: str
) -> tuple[argparse.Namespace, list[str], list[Path]]:
    """The command line of a benchmark of ``kind`` ("rec" or "csr") networks, then its header.

    Flags: ``--rec``/``--csr NAME_OR_PATH`` (repeatable; default the registered name ``kind``)
    and those of :func:`add_common_arguments`. Prints the title, command line, date and one line
    per network. Returns ``(args, weights, crop_paths)``.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{kind}", action="append", dest="weights", metavar="NAME_OR_PATH",
                        help=f"{kind.upper()} weights to benchmark (repeatable; default: the registered `{kind}`)")
    add_common_arguments(parser, simulated=simulated)
    args = parser.parse_args()
    weights = args.weights or [kind]
    paths = start(args, title)
    describe_weights(kind, weights)
    return args, weights, paths


def add_common_arguments(parser: argparse.ArgumentParser, *, simulated: int) -> None:
    """``--crops``, ``--simulated`` (default ``simulated``), ``--quick``, ``--threads``, ``--device``."""
    parser.add_argument("--crops", type=Path, default=DEFAULT_CROPS, help="folder of real BGRN crops (*.tif)")
    parser.add_argument("--simulated", type=int, default=simulated,
                        help="procedural scenes per simulator configuration, and as many real-crop scenes")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_CROPS} crops, {2 * QUICK_SCENES} simulated pairs per configuration")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads")
    parser.add_argument("--device", default="cpu", help="cpu or cuda, for the networks")


def start(args: argparse.Namespace, title: str) -> list[Path]:
    """Set the threads, print the title, command line and date; return the crop paths to use."""
    torch.set_num_threads(args.threads)
    if args.quick:
        args.simulated = min(args.simulated, QUICK_SCENES)
    paths = sorted(args.crops.glob("*.tif"))
    if not paths:
        sys.exit(f"no crops (*.tif) in {args.crops}")
    if args.quick:
        paths = paths[:QUICK_CROPS]
    print(f"# {title}\n")
    print(f"`{shlex.join(['python', *sys.argv])}`, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"{len(paths)} real crops from `{args.crops.name}`, {2 * args.simulated} simulated pairs per "
          f"simulator configuration, threads {args.threads}{', quick smoke run' if args.quick else ''}.")
    return paths


def describe_weights(kind: str, names: list[str]) -> None:
    """Print one line per network: name or path, version, parameter count."""
    for name in names:
        info = inference.model_info(kind, name)
        print(f"- {kind.upper()} `{name}`: {info['name']}, version {info['version'] or '?'}, "
              f"{info['parameters']:,} parameters")


def load_crops(paths: list[Path]) -> list[np.ndarray]:
    """The crops as (H, W, 4) uint16 arrays, bands B, G, R, NIR."""
    return [read_bgrn_array(p) for p in paths]


def table(title: str, header: list[str], rows: list[list], note: str = "") -> None:
    """Print a Markdown table: floats with 3 decimals, anything else as given."""
    print(f"\n### {title}\n")
    if note:
        print(f"{note}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


def misregistration_table(title: str, reports: dict[str, list[dict]], note: str) -> None:
    """One row per method: the mean over crops of each crop's median and p90 (px), B, R, NIR.

    ``reports`` maps a method's label to its :func:`~l1bsr_core.misregistration.misregistration`
    reports, one per crop.
    """
    stats = ("median_px", "p90_px")
    rows = [
        [label, *[float(np.nanmean([r[band][stat] for r in per_crop])) for band in MOVING_BAND_NAMES for stat in stats]]
        for label, per_crop in reports.items()
    ]
    header = ["method"] + [f"{band} {stat}" for band in MOVING_BAND_NAMES for stat in ("median", "p90")]
    table(title, header, rows, note)


def signed(value: float, digits: int = 2) -> str:
    """``+0.12`` / ``−0.12`` (true minus sign), for gains and deviations."""
    text = f"{round(value, digits) + 0.0:+.{digits}f}"  # + 0.0: no "−0.00"
    return text.replace("-", "−")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def interior(border: int) -> tuple[slice, slice]:
    """Row and column slices leaving ``border`` px out on each side."""
    return slice(border, -border), slice(border, -border)


# === Baselines ===============================================================================


def bicubic(bgrn: np.ndarray) -> np.ndarray:
    """(H, W, 4) → (2H, 2W, 4) float64, the project's bicubic baseline (overshoot kept)."""
    return upsample(bgrn, SCALE_FACTOR, "bicubic").astype(np.float64)


def register_with(bgrn: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Warp B, R, NIR of (H, W, 4) by a (3, 2, H, W) flow onto G; float64, unrounded."""
    return warp_bands(bgrn, flow, MOVING_BANDS)


def classical_bicubic(bgrn: np.ndarray) -> np.ndarray:
    """Classical registration (:func:`classical_register`) then bicubic: (2H, 2W, 4) float64."""
    return bicubic(classical_register(bgrn)[0])


# === Reduced-scale super-resolution on real crops ============================================


def degrade_bgrn(bgrn: np.ndarray) -> np.ndarray:
    """(H, W, 4) 10 m → (H/2, W/2, 4) uint16 20 m with the simulator's acquisition operator.

    Gaussian PSF of the training configuration's MTF at Nyquist, then 2 × 2 area decimation
    (:func:`l1bsr_core.simulate.degrade`), rounded to DN like a product.
    """
    sigma = psf_sigma_for_mtf(SimulationConfig().mtf_nyquist, SCALE_FACTOR)
    t = torch.from_numpy(bgrn.astype(np.float32)).permute(2, 0, 1)[None]
    return to_uint16(degrade(t, SCALE_FACTOR, sigma)[0].permute(1, 2, 0).numpy())


REDUCED_SCALE_SCORES = ("cpsnr", "cssim", "tile", "tile_sub", "g")
"""Keys of :func:`reduced_scale_scores`."""


def reduced_scale_scores(superresolve: Callable[[np.ndarray], np.ndarray], crops: list[np.ndarray]) -> dict[str, float]:
    """Degrade each 10 m crop to 20 m, super-resolve it back, score against the crop (dB).

    ``superresolve`` maps an (h, w, 4) uint16 crop to (2h, 2w, 4). Returns the means over bands
    and crops of: ``cpsnr`` and ``cssim`` (whole interior, integer shifts ±2 px, bias-corrected),
    ``tile`` and ``tile_sub`` (4 × 4 tiles with their own integer / 1/:data:`SUBPIXEL` px shifts),
    and ``g``, the cPSNR of G alone (mean over crops). The data range of each band is its own
    peak-to-peak range in the crop.
    """
    scores = {key: [] for key in REDUCED_SCALE_SCORES}
    rows, cols = interior(BORDER_PX)
    for hr in crops:
        sr = np.asarray(superresolve(degrade_bgrn(hr)), dtype=np.float64)
        for band in range(N_BANDS):
            data_range = float(np.ptp(hr[..., band]))
            s, r = sr[rows, cols, band], hr[rows, cols, band]
            scores["cpsnr"].append(cpsnr(s, r, data_range=data_range))
            scores["cssim"].append(cssim(s, r, data_range=data_range))
            scores["tile"].append(tilewise_cpsnr(s, r, data_range=data_range))
            scores["tile_sub"].append(tilewise_cpsnr(s, r, data_range=data_range, subpixel=SUBPIXEL))
            if band == GREEN:
                scores["g"].append(scores["cpsnr"][-1])
    return {key: float(np.mean(values)) for key, values in scores.items()}


def reduced_scale_edges(superresolve: Callable[[np.ndarray], np.ndarray],
                        crops: list[np.ndarray]) -> dict[str, list[float]]:
    """Border ring and halos at reduced scale: each 10 m crop degraded to 20 m, super-resolved back.

    Per crop: ``ring``, the G band's outer ring (:data:`~l1bsr_core.metrics.RING_PX` px of the
    10 m output, where every other score leaves :data:`BORDER_PX` out) against the crop,
    :func:`~l1bsr_core.metrics.border_ring_gain` over bicubic, dB (G: not moved by registration,
    so no shift is needed); ``halo`` and ``truth_halo``, :func:`~l1bsr_core.metrics.halo_depth`
    of the output's G and of the crop's own G round the bright points of bicubic's G (the same
    points for every method).
    """
    out = {"ring": [], "halo": [], "truth_halo": []}
    for hr in crops:
        lr = degrade_bgrn(hr)
        sr = np.asarray(superresolve(lr), dtype=np.float64)[..., GREEN]
        base = bicubic(lr)[..., GREEN]
        truth = hr[..., GREEN].astype(np.float64)
        points = bright_points(base)
        out["ring"].append(border_ring_gain(sr, base, truth))
        out["halo"].append(halo_depth(sr, points))
        out["truth_halo"].append(halo_depth(truth, points))
    return out


def full_scale_halos(superresolve: Callable[[np.ndarray], np.ndarray], crops: list[np.ndarray]) -> np.ndarray:
    """(crops, 4): :func:`~l1bsr_core.metrics.halo_depth` of each output band round the bright
    points of bicubic's same band (the real 10 m crop super-resolved to 5 m; no truth there)."""
    depths = []
    for crop in crops:
        sr = np.asarray(superresolve(crop), dtype=np.float64)
        base = bicubic(crop)
        depths.append([halo_depth(sr[..., b], bright_points(base[..., b])) for b in range(N_BANDS)])
    return np.asarray(depths)


# === Simulated pairs =========================================================================


def simulated_pairs(config: SimulationConfig, crop_paths: list[Path], n: int, *,
                    own_nir: bool = False) -> list[SimulatedPair]:
    """``n`` procedural scenes and the first ``n`` real crops as aligned HR scenes, simulated.
    ``own_nir``: the procedural scenes with a NIR of their own (their pairs have the same
    displacements and noise as the plain scenes' pairs).

    Procedural scenes are :data:`PROCEDURAL_SCENE_PX` px (5 m) from seeds
    :data:`PROCEDURAL_SEED` + i; real crops are registered first (:func:`real_scene`) and play
    the 10 m → 20 m part. One generator seeded :data:`SIMULATION_SEED` draws every pair in turn,
    so a configuration always gives the same pairs.
    """
    rng = np.random.default_rng(SIMULATION_SEED)
    return [simulate_pair(scene, config, rng=rng) for scene in simulation_scenes(crop_paths, n, own_nir=own_nir)]


def simulation_scenes(crop_paths: list[Path], n: int, *, own_nir: bool = False) -> list[np.ndarray]:
    """The aligned (4, H, W) scenes of :func:`simulated_pairs`: ``n`` procedural (``own_nir``: with a
    NIR of their own), then the first ``n`` real crops."""
    scenes = [make_scene(PROCEDURAL_SCENE_PX, PROCEDURAL_SCENE_PX, seed=PROCEDURAL_SEED + i, own_nir=own_nir)
              for i in range(n)]
    return scenes + [real_scene(p) for p in crop_paths[:n]]


def view0(pair: SimulatedPair) -> np.ndarray:
    """View 0 of a pair as an (h, w, 4) BGRN crop (uint16 when the pair is quantised)."""
    return np.ascontiguousarray(pair.views[0].transpose(1, 2, 0))


def pair_border(pair: SimulatedPair) -> int:
    """LR pixels left out along each edge of a pair: its reflection margin, at least :data:`BORDER_PX`."""
    return max(BORDER_PX, pair.margin)


def band_epes(flow: np.ndarray, pair: SimulatedPair) -> list[float]:
    """Endpoint error (px) of a (3, 2, h, w) flow of view 0 against the truth, per band B, R, NIR."""
    truth = pair.band_flows[0]
    return [flow_epe(flow[i], truth[i], border=pair_border(pair)) for i in range(len(MOVING_BANDS))]


def truth_scores(sr: np.ndarray, pair: SimulatedPair) -> tuple[float, float]:
    """PSNR (dB) and SSIM of a (2h, 2w, 4) super-resolution of view 0 against ``pair.hr``.

    Means over the four bands, each with its own peak-to-peak range in ``pair.hr``, on the
    interior (:func:`pair_border` LR px, i.e. twice that in HR px).
    """
    hr = pair.hr.transpose(1, 2, 0).astype(np.float64)
    sr = np.asarray(sr, dtype=np.float64)
    rows, cols = interior(SCALE_FACTOR * pair_border(pair))
    psnrs, ssims = [], []
    for band in range(N_BANDS):
        data_range = float(np.ptp(hr[..., band]))
        psnrs.append(psnr(sr[rows, cols, band], hr[rows, cols, band], data_range=data_range))
        ssims.append(ssim(sr[rows, cols, band], hr[rows, cols, band], data_range=data_range))
    return float(np.mean(psnrs)), float(np.mean(ssims))


# === Is a processed band still its own band? =================================================


class BandIdentity(NamedTuple):
    """How much a processed band (in G's geometry, on the input grid) is still its input band."""

    ncc_own: float
    """NCC with its own input band warped onto it by the classical flow between them."""
    ncc_green: float
    """NCC with the input G band (unwarped: the processed band is meant to be in G's geometry)."""
    mean_pct: float
    """Mean deviation from the input band, % (valid pixels, whole crop)."""
    detail: float
    """Band-pass energy (:func:`l1bsr_core.metrics.bandpass_energy`) over the input band's."""


def mean_deviation_pct(candidate: np.ndarray, reference: np.ndarray) -> float:
    """``100 · (mean(candidate) / mean(reference) − 1)`` over the reference's valid (≠ 0) pixels.

    Both (H, W), the same grid (average a 2× output back with :func:`block_mean` first).
    """
    valid = reference != NO_DATA
    return 100.0 * (float(candidate[valid].mean()) / float(reference[valid].mean()) - 1.0)


def band_identity(candidate: np.ndarray, own_input: np.ndarray, green: np.ndarray) -> BandIdentity:
    """Score a processed band against its own input band and against G (issues #8 item 5, #9 item 4).

    Args:
        candidate: (H, W) processed band, e.g. a registered band or a 2× output averaged back to
            the input grid, meant to be in the input G band's geometry.
        own_input: (H, W) the same band of the input, in its own (misregistered) geometry.
        green: (H, W) the input G band.

    The input band is warped onto ``candidate`` with :func:`classical_flow` (``candidate`` the
    reference, the input band the moving image: the measured local shifts between them), then
    correlated with it on the interior (:data:`BORDER_PX`); a band that is a warp of its input
    scores close to 1, a copy of G or a blend with it scores closer to ``ncc_green``.
    """
    flow = classical_flow(candidate, own_input)
    warped = warp_bands(own_input[..., None], flow[None], [0])[..., 0]
    rows, cols = interior(BORDER_PX)
    inner = candidate[rows, cols].astype(np.float64)
    return BandIdentity(
        ncc_own=ncc(inner, warped[rows, cols]),
        ncc_green=ncc(inner, green[rows, cols]),
        mean_pct=mean_deviation_pct(candidate.astype(np.float64), own_input.astype(np.float64)),
        detail=bandpass_energy(candidate, border=BORDER_PX) / bandpass_energy(own_input, border=BORDER_PX),
    )
