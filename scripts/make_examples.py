"""Create the demo's synthetic examples: simulated L1B crops with their exact truth.

For each example a procedural 5 m scene (:func:`l1bsr_core.scenes.make_scene`) goes through the
acquisition simulator (:func:`l1bsr_core.simulate.simulate_pair`, default configuration); view 0
is kept. Written to ``--out`` (default ``assets/examples/``)::

    synthetic_K.tif         the L1B-like input: (H, W, 4) uint16 B, G, R, NIR, bands misregistered
    synthetic_K_truth.tif   the true 5 m image in the input's G geometry: (2H, 2W, 4) uint16
    synthetic_K_flow.npy    true flows of B, R, NIR onto G: (3, 2, H, W) float32, LR pixels,
                            channel 0 dx, 1 dy; warp(band, flow) lands on G (l1bsr_core.warp)
    synthetic_K.png         true-colour thumbnail of the input
    examples.json           name, title, description and files of every example

TIFFs are zlib-compressed with the horizontal predictor (tifffile reads them without
imagecodecs); everything is deterministic. Run from the project root::

    python scripts/make_examples.py
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1bsr_core.arrays import to_uint16  # noqa: E402
from l1bsr_core.bands import MOVING_BAND_NAMES  # noqa: E402
from l1bsr_core.io import read_bgrn_array  # noqa: E402
from l1bsr_core.scenes import HR_PIXEL_M, make_scene  # noqa: E402
from l1bsr_core.simulate import SimulationConfig, simulate_pair  # noqa: E402
from l1bsr_demo.viz import render, save_png  # noqa: E402

DEFAULT_OUT = ROOT / "assets" / "examples"
DEFAULT_SIZE = 192
"""LR side in pixels (a multiple of 16). Four examples of this size take about 8 MB (the float32
flows are the largest part; at the real crops' 352 px they would take 20 MB)."""


@dataclass(frozen=True)
class Example:
    name: str
    landscape: str
    scene_seed: int
    simulation_seed: int
    title: str
    description: str


EXAMPLES: tuple[Example, ...] = (
    Example("synthetic_1", "agricultural", 101, 1101, "Synthetic farmland",
            "Field parcels with crop rows at 11-40 m spacing, hedges and tracks, farmsteads and roads."),
    Example("synthetic_2", "river_forest", 202, 1202, "Synthetic river and forest",
            "A meandering river (low NIR) through forest stands with crown texture, meadows and a road."),
    Example("synthetic_3", "urban", 303, 1303, "Synthetic town",
            "Street grid, buildings with gabled and flat roofs and their shadows, gardens and parks."),
    Example("synthetic_4", "mixed", 406, 1404, "Synthetic mixed landscape",
            "Fields, woods, a river, villages and roads together."),
)

TIFF_OPTIONS = {"photometric": "minisblack", "compression": "zlib", "predictor": True,
                "compressionargs": {"level": 9}, "metadata": None}


def make_example(example: Example, out: Path, size: int, config: SimulationConfig) -> dict:
    """Simulate one example, write its files into ``out`` and return its examples.json entry."""
    hr_size = size * config.factor
    scene = make_scene(hr_size, hr_size, seed=example.scene_seed, landscape=example.landscape)
    pair = simulate_pair(scene, config, rng=example.simulation_seed)
    files = {
        "input": f"{example.name}.tif",
        "truth": f"{example.name}_truth.tif",
        "flow": f"{example.name}_flow.npy",
        "thumbnail": f"{example.name}.png",
    }
    lr = np.moveaxis(to_uint16(pair.views[0]), 0, -1)
    tifffile.imwrite(out / files["input"], lr, **TIFF_OPTIONS)
    tifffile.imwrite(out / files["truth"], np.moveaxis(to_uint16(pair.hr), 0, -1), **TIFF_OPTIONS)
    np.save(out / files["flow"], pair.band_flows[0].astype(np.float32))
    save_png(out / files["thumbnail"], render(lr, "true"))
    if not np.array_equal(read_bgrn_array(out / files["input"]), lr):  # readable by the app's reader
        raise RuntimeError(f"{files['input']} does not read back identically")

    norms = np.hypot(pair.band_flows[0][:, 0], pair.band_flows[0][:, 1])
    return {
        "name": example.name,
        "title": example.title,
        "description": example.description,
        "files": files,
        "landscape": example.landscape,
        "size": [size, size],
        "truth_size": [hr_size, hr_size],
        "truth_pixel_m": HR_PIXEL_M,
        "mean_misregistration_px": {band: round(float(norms[i].mean()), 3) for i, band in enumerate(MOVING_BAND_NAMES)},
        "max_misregistration_px": {band: round(float(norms[i].max()), 3) for i, band in enumerate(MOVING_BAND_NAMES)},
        "scene_seed": example.scene_seed,
        "simulation_seed": example.simulation_seed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (created)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="LR side in pixels")
    args = parser.parse_args(argv)
    if args.size < 32 or args.size % 16:
        parser.error(f"--size must be a multiple of 16, at least 32; got {args.size}")
    args.out.mkdir(parents=True, exist_ok=True)
    config = SimulationConfig()
    entries = [make_example(example, args.out, args.size, config) for example in EXAMPLES]
    index = {
        "description": "Synthetic Sentinel-2 L1B-like crops (bands B, G, R, NIR = B2, B3, B4, B8) simulated "
                       "by scripts/make_examples.py from procedural scenes, with their truth.",
        "conventions": {
            "input": "(H, W, 4) uint16 DN, view 0 of l1bsr_core.simulate.simulate_pair",
            "truth": "(2H, 2W, 4) uint16 DN, the 5 m scene in the input's G geometry (what REC should output)",
            "flow": "(3, 2, H, W) float32 for B, R, NIR; channel 0 dx, 1 dy, LR pixels; "
                    "warp(band, flow)(y, x) = band(y + dy, x + dx) lands on G",
        },
        "simulation": asdict(config),
        "examples": entries,
    }
    (args.out / "examples.json").write_text(json.dumps(index, indent=2) + "\n")
    total = sum(path.stat().st_size for path in args.out.iterdir() if path.is_file())
    print(f"wrote {len(entries)} examples to {args.out} ({total / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
