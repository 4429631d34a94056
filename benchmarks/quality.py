"""Quality benchmark: registration and super-resolution on the real crops and on simulated pairs.

Prints Markdown tables; not a test. Usage::

    python benchmarks/quality.py [--crops ../shared/data/l1b-examples] [--simulated 8]
                                 [--rec rec] [--csr csr] [--extra-rec rec-supervised ...]
                                 [--parts registration sr-real simulated-sr simulated-flow]

Protocols (see weights/MODEL_CARD.md for the discussion):

1. Registration on real crops: residual misregistration of B, R, NIR against G measured by
   windowed phase correlation on gradient images (:func:`l1bsr_core.registration.misregistration`,
   independent of CSR), per crop median and 90th percentile of the window shift magnitudes, then
   averaged over crops. The classical pipeline is measured by the estimator it is built on, which
   flatters it.
2. Super-resolution on real crops, reduced scale: each 10 m crop is degraded to 20 m (the
   simulator's MTF blur + 2x decimation), super-resolved back to 10 m and compared with the crop:
   cPSNR (bias-corrected, integer shifts within +-2 px) and cSSIM over the whole crop, tile-wise
   cPSNR (4 x 4 tiles, each with its own integer shift, and again with shifts refined to 1/4 px,
   since the reference's own bands are misregistered by sub-pixel amounts that vary across the
   crop), and cPSNR on G alone, averaged over bands/crops. Δ columns are gains over bicubic.
3. Simulated pairs (procedural and real-crop scenes): PSNR/SSIM of view 0's super-resolution
   against the true high-resolution image, and flow endpoint error of B, R, NIR onto G.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import common  # first: it puts the project root on sys.path
import numpy as np
import torch
from common import bicubic, register_with, table

from l1bsr_core import inference
from l1bsr_core.bands import GREEN, MOVING_BANDS, SCALE_FACTOR
from l1bsr_core.io import read_bgrn_array
from l1bsr_core.registration import classical_flow, classical_register, misregistration
from l1bsr_core.resample import block_mean
from l1bsr_core.simulate import SimulationConfig

DEFAULT_CROPS = common.DEFAULT_CROPS
PARTS = ("registration", "sr-real", "simulated-sr", "simulated-flow")


def registration_real(crops, csr: str, rec: str) -> None:
    methods = {
        "input (none)": lambda x: x,
        "classical (phase corr. + warp)": lambda x: classical_register(x)[0],
        f"CSR ({csr})": lambda x: inference.register(x, weights=csr)[0],
        f"REC ({rec}) output, averaged back to 10 m":
            lambda x: block_mean(inference.superresolve(x, weights=rec), SCALE_FACTOR),
    }
    rows = []
    for name, method in methods.items():
        stats = [misregistration(method(c)) for c in crops]
        row = [name]
        for band in ("B", "R", "NIR"):
            row += [float(np.nanmean([s[band]["median_px"] for s in stats])),
                    float(np.nanmean([s[band]["p90_px"] for s in stats]))]
        rows.append(row)
    table("Registration on real crops: residual misregistration vs G (px, mean over crops)",
          ["method", "B median", "B p90", "R median", "R p90", "NIR median", "NIR p90"], rows)


def sr_real(crops, recs: list[str], csr: str) -> None:
    methods = {
        "bicubic": bicubic,
        "classical registration + bicubic": common.classical_bicubic,
    }
    for rec in recs:
        methods[f"REC ({rec})"] = lambda lr, rec=rec: inference.superresolve(lr, weights=rec)
    rows = []
    for name, method in methods.items():
        tick = time.perf_counter()
        scores = common.reduced_scale_scores(method, crops)
        rows.append([name] + [scores[k] for k in ("cpsnr", "cssim", "tile", "tile_sub", "g")]
                    + [(time.perf_counter() - tick) / len(crops)])
    base = rows[0]
    for row in rows:
        row[6:6] = [row[3] - base[3], row[4] - base[4], row[5] - base[5]]
    table("Super-resolution on real crops, reduced scale (20 m → 10 m), mean over bands and crops",
          ["method", "cPSNR dB", "cSSIM", "tile cPSNR dB", "tile cPSNR ¼ px dB", "G cPSNR dB",
           "Δ tile", "Δ tile ¼ px", "Δ G", "s/crop"], rows)


def simulated(crops_dir: Path | None, n: int, recs: list[str], csr: str, *, with_sr: bool = True,
              with_flows: bool = True) -> None:
    paths = sorted(crops_dir.glob("*.tif")) if crops_dir is not None else []
    pairs = common.simulated_pairs(SimulationConfig(), paths, n)
    sr_rows, flow_rows = {}, {}
    sr_methods = {
        "bicubic": lambda v, p: bicubic(v),
        "true flows + bicubic": lambda v, p: bicubic(register_with(v, p.band_flows[0])),
    } if with_sr else {}
    for rec in recs if with_sr else []:
        sr_methods[f"REC ({rec})"] = lambda v, p, rec=rec: inference.superresolve(v, weights=rec)
    flow_methods = {
        "zero flow": lambda v: np.zeros((3, 2, *v.shape[:2]), np.float32),
        "classical": lambda v: np.stack([classical_flow(v[..., GREEN], v[..., b]) for b in MOVING_BANDS]),
        f"CSR ({csr})": lambda v: inference.register(v, weights=csr)[1],
    } if with_flows else {}
    for pair in pairs:
        view = common.view0(pair)
        for name, method in sr_methods.items():
            psnr_db, ssim_value = common.truth_scores(method(view, pair), pair)
            acc = sr_rows.setdefault(name, {"psnr": [], "ssim": []})
            acc["psnr"].append(psnr_db)
            acc["ssim"].append(ssim_value)
        for name, method in flow_methods.items():
            errors = common.band_epes(method(view), pair)
            acc = flow_rows.setdefault(name, [[] for _ in MOVING_BANDS])
            for i, error in enumerate(errors):
                acc[i].append(error)
    if with_sr:
        base = float(np.mean(sr_rows["true flows + bicubic"]["psnr"]))
        table(f"Simulated pairs ({len(pairs)} scenes): super-resolution of view 0 against the true 5 m image",
              ["method", "PSNR dB", "SSIM", "Δ vs true flows + bicubic"],
              [[k, float(np.mean(v["psnr"])), float(np.mean(v["ssim"])), float(np.mean(v["psnr"])) - base]
               for k, v in sr_rows.items()])
    if with_flows:
        table("Simulated pairs: flow endpoint error onto G (px)",
              ["method", "B", "R", "NIR", "mean"],
              [[k, *[float(np.mean(e)) for e in v], float(np.mean([np.mean(e) for e in v]))]
               for k, v in flow_rows.items()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, default=DEFAULT_CROPS)
    parser.add_argument("--simulated", type=int, default=4, help="procedural scenes (and as many real-crop scenes)")
    parser.add_argument("--rec", default="rec")
    parser.add_argument("--csr", default="csr")
    parser.add_argument("--extra-rec", nargs="*", default=[], help="more REC weights to compare (names or paths)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which tables to compute (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recs = [args.rec, *args.extra_rec]
    paths = sorted(args.crops.glob("*.tif"))
    if not paths:
        sys.exit(f"no crops in {args.crops}")
    crops = [read_bgrn_array(p) for p in paths]
    print(f"# L1BSR quality benchmark ({len(crops)} real crops from {args.crops.name}; "
          f"REC {', '.join(recs)}; CSR {args.csr})")
    if "registration" in args.parts:
        registration_real(crops, args.csr, args.rec)
    if "sr-real" in args.parts:
        sr_real(crops, recs, args.csr)
    if "simulated-sr" in args.parts or "simulated-flow" in args.parts:
        simulated(args.crops, args.simulated, recs, args.csr,
                  with_sr="simulated-sr" in args.parts, with_flows="simulated-flow" in args.parts)


if __name__ == "__main__":
    main()
