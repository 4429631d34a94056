"""Issue #28: L2A-like input with a real 5 m truth, through the real product path.

Each date of ``../shared/data/naip-rgbn`` (airborne R, G, B, NIR at 5 m, bands co-registered in the
source like an L1C/L2A product's; out of the L1B domain, so never the only evidence) is scaled to
surface reflectance (DN / 255 · 0.45), degraded to 10 m with the simulator's Sentinel-2-like
acquisition operator (:func:`benchmarks.common.degrade_bgrn`: Gaussian PSF of the training MTF, 2 × 2
area decimation), stored as an **L2A product of baseline 05.09** (DN = reflectance · 10000 + 1000,
lossless JPEG 2000 in the real SAFE layout) and as a **float32 reflectance GeoTIFF export**, then
super-resolved by ``l1bsr`` exactly as a user would (:func:`l1bsr_core.jobs.process_file`):

* the default co-registered path (REC without CSR alignment), and the same REC with ``--align``;
* per band, cPSNR gain over bicubic of the same 10 m bands against the 5 m truth (dB), and the
  output's band mean against the truth's, in reflectance (%).

Nothing here was tuned on these scenes (the shipped ``rec`` was trained on L1B-like simulations and
real L1B crops); the dates split as the NIR benchmark's (issue #24) does: tuning 2009–2014,
held-out 2015–2017, reported apart all the same.

    python benchmarks/coregistered.py            # all 7 dates, ~3 min on 2 cores
    python benchmarks/coregistered.py --large 2048 4096   # time and peak memory of whole windows
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import BORDER_PX, ROOT, bicubic, degrade_bgrn, signed, table  # noqa: E402
from l1bsr_core.bands import BAND_NAMES, SCALE_FACTOR  # noqa: E402
from l1bsr_core.jobs import process_file  # noqa: E402
from l1bsr_core.metrics import cpsnr  # noqa: E402
from l1bsr_core.products.tile_synthetic import write_tile_product  # noqa: E402
from l1bsr_core.radiometry import PRODUCT_OFFSET_DN, QUANTIFICATION  # noqa: E402

NAIP = ROOT.parent / "shared" / "data" / "naip-rgbn"
REFLECTANCE_PER_DN = 0.45 / 255
"""NAIP uint8 → surface reflectance (the data's README)."""
NAIP_TO_BGRN = [2, 1, 0, 3]
"""NAIP stores R, G, B, NIR."""
HELD_OUT_YEARS = ("2015", "2016", "2017")
L2A_OFFSET_DN = -PRODUCT_OFFSET_DN
"""Added to reflectance · 10000 by L2A products of baseline 05.09."""


def load_truth(path: Path) -> np.ndarray:
    """(H, W, 4) float64 reflectance at 5 m, bands B, G, R, NIR, cropped to even sides."""
    with rasterio.open(path) as dataset:
        rgbn = dataset.read()
    bgrn = np.moveaxis(rgbn[NAIP_TO_BGRN], 0, -1).astype(np.float64) * REFLECTANCE_PER_DN
    return bgrn[: bgrn.shape[0] // 2 * 2, : bgrn.shape[1] // 2 * 2]


def ten_metre_dn(truth: np.ndarray) -> np.ndarray:
    """The 10 m L2A DN (offset +1000) a Sentinel-2-like sensor would record of ``truth``."""
    return degrade_bgrn(np.rint(truth * QUANTIFICATION + L2A_OFFSET_DN).astype(np.uint16))


def write_float_export(path: Path, reflectance: np.ndarray) -> None:
    with rasterio.open(path, "w", driver="GTiff", width=reflectance.shape[1], height=reflectance.shape[0], count=4,
                       dtype="float32", crs="EPSG:32614", transform=rasterio.transform.from_origin(5e5, 5e6, 10, 10),
                       nodata=float("nan")) as dataset:
        dataset.write(np.moveaxis(reflectance.astype(np.float32), -1, 0))
        for band, name in enumerate(("B02", "B03", "B04", "B08"), start=1):
            dataset.set_band_description(band, name)


def read_reflectance(path: Path) -> np.ndarray:
    with rasterio.open(path) as dataset:
        values = np.moveaxis(dataset.read(), 0, -1).astype(np.float64)
        return values * dataset.scales[0] + dataset.offsets[0]


def gains(estimate: np.ndarray, baseline: np.ndarray, truth: np.ndarray) -> list[float]:
    border = SCALE_FACTOR * BORDER_PX
    return [cpsnr(estimate[..., b], truth[..., b], border=border)
            - cpsnr(baseline[..., b], truth[..., b], border=border) for b in range(truth.shape[-1])]


def mean_errors_pct(estimate: np.ndarray, truth: np.ndarray) -> list[float]:
    return [100 * (estimate[..., b].mean() / truth[..., b].mean() - 1) for b in range(truth.shape[-1])]


def run_date(path: Path, work: Path) -> dict[str, list[float]]:
    truth = load_truth(path)
    dn = ten_metre_dn(truth)
    product = write_tile_product(work / path.stem, dn, level="L2A", baseline="05.09", epsg=32614)
    export = work / f"{path.stem}_export.tif"
    write_float_export(export, (dn.astype(np.float64) - L2A_OFFSET_DN) / QUANTIFICATION)
    baseline = (bicubic(dn) - L2A_OFFSET_DN) / QUANTIFICATION
    rows = {"bicubic mean %": mean_errors_pct(baseline, truth)}
    for name, source, align in (("product", product.path, None), ("product --align", product.path, True),
                                ("float export", export, None)):
        output = work / f"{path.stem}_{name.replace(' ', '_')}.tif"
        process_file(source, output, "superresolution", align=align)
        sr = read_reflectance(output)
        rows[f"{name} gain dB"] = gains(sr, baseline, truth)
        rows[f"{name} mean %"] = mean_errors_pct(sr, truth)
    return rows


def large_runs(sides: list[int]) -> None:
    """``l1bsr`` on an L2A product of ``side`` × ``side`` px (a procedural scene), in a fresh process:
    seconds, peak memory (the child's maximum resident set) and µs per output pixel."""
    from l1bsr_core.scenes import make_scene

    rows = []
    for side in sides:
        with tempfile.TemporaryDirectory() as folder:
            scene = np.moveaxis(make_scene(side, side, seed=11), 0, -1)
            product = write_tile_product(Path(folder), np.rint(scene + L2A_OFFSET_DN).astype(np.uint16),
                                         level="L2A", baseline="05.09")
            # A small wrapper process runs the command and reports its child's peak: a child forked
            # from this (large) process would count this process's memory in its own peak.
            wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                       "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
                       "print(r.returncode, time.perf_counter() - t, "
                       "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.stderr.write(r.stderr)")
            result = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "l1bsr_core",
                                     str(product.path), str(Path(folder) / "sr.tif")], capture_output=True, text=True)
            status, seconds, peak_kib = result.stdout.split()
            if status != "0":
                raise SystemExit(result.stderr)
            rows.append([f"{side} x {side}", f"{float(seconds):.1f}", f"{int(peak_kib) / 2**20:.2f}",
                         f"{1e6 * float(seconds) / (4 * side * side):.3f}"])
    table("L2A product, whole window super-resolved by l1bsr (fresh process)",
          ["window (10 m px)", "seconds", "peak GiB", "µs per output pixel"], rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dates", nargs="*", help="NAIP files to use (default: all in ../shared/data/naip-rgbn)")
    parser.add_argument("--large", nargs="*", type=int, help="instead: time and peak memory on products of "
                        "these sides (px), in increasing order")
    args = parser.parse_args(argv)
    if args.large:
        large_runs(sorted(args.large))
        return 0
    paths = [Path(p) for p in args.dates] if args.dates else sorted(NAIP.glob("*.tif"))
    if not paths:
        print(f"skipped: no NAIP scenes in {NAIP}", file=sys.stderr)
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            results[path.stem[-8:]] = run_date(path, Path(folder))
            print(f"{path.stem[-8:]} done", file=sys.stderr, flush=True)
    for key in ("product gain dB", "product --align gain dB", "float export gain dB"):
        rows = [[date, *(signed(v) for v in r[key]), signed(float(np.mean(r[key])))] for date, r in results.items()]
        for split, held_out in (("tuning", False), ("held-out", True)):
            values = np.array([r[key] for d, r in results.items() if (d[:4] in HELD_OUT_YEARS) == held_out])
            if len(values):
                rows.append([f"mean ({split})", *(signed(v) for v in values.mean(0)), signed(float(values.mean()))])
        all_values = np.array([r[key] for r in results.values()])
        rows.append(["min (all)", *(signed(v) for v in all_values.min(0)), signed(float(all_values.min()))])
        table(f"{key.replace(' gain dB', '')}: cPSNR gain over bicubic of the same 10 m bands, vs the 5 m truth (dB)",
              ["date", *BAND_NAMES, "mean"], rows)
    for key in ("bicubic mean %", "product mean %", "float export mean %"):
        rows = [[date, *(f"{v:+.2f}" for v in r[key])] for date, r in results.items()]
        table(f"{key.replace(' mean %', '')}: band mean against the truth's, reflectance (%)", ["date", *BAND_NAMES],
              rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
