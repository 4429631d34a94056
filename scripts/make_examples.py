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

plus one teaching example with a *real* 5 m truth, ``airborne_naip*`` (same four files): a
256 × 256 px crop of a USDA NAIP airborne scene at 5 m (``--airborne-source``, default
``../shared/data/naip-rgbn``; public domain imagery, repository copy under the MIT licence, copied
beside it as ``LICENSE-naip-opengeos-data.txt``), bands reordered to B, G, R, NIR and scaled to
L1B-like digital numbers, is the truth; the same simulator (PSF/MTF blur, 2 × decimation, band
misregistration, noise) makes its 10 m input. Without the source folder the airborne example
already in ``--out`` is kept as it is.

TIFFs are zlib-compressed with the horizontal predictor (tifffile reads them without
imagecodecs); everything is deterministic. Run from the project root::

    python scripts/make_examples.py
"""

from __future__ import annotations

import argparse
import json
import shutil
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
from l1bsr_demo.viz import png_bytes, render  # noqa: E402

DEFAULT_OUT = ROOT / "assets" / "examples"
DEFAULT_AIRBORNE_SOURCE = ROOT.parent / "shared" / "data" / "naip-rgbn"
AIRBORNE_LICENCE = ("LICENSE-MIT-opengeos-data.txt", "LICENSE-naip-opengeos-data.txt")
"""The airborne source's licence file, and its name beside the example."""

THUMBNAIL_COMPRESS_LEVEL = 9
"""Shipped thumbnails are written once: the smallest PNG."""

NAIP_TO_BGRN = (2, 1, 0, 3)
"""NAIP files store R, G, B, NIR: the indices that give B, G, R, NIR."""
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

@dataclass(frozen=True)
class AirborneExample:
    """A crop of a NAIP scene (5 m, uint8 R, G, B, NIR) made into an example with a real 5 m truth."""

    name: str
    file: str
    x0: int
    y0: int
    side: int
    dn_scale: float
    simulation_seed: int
    title: str
    description: str
    note: dict[str, str]
    """Markdown shown with the results of each task (\"superresolution\", \"registration\")."""


AIRBORNE = AirborneExample(
    "airborne_naip", "m_4709963_se_14_1_20160816.tif", 130, 440, 256, 12.0, 2101,
    "Airborne 5 m with its truth",
    "AIRBORNE IMAGERY, NOT SENTINEL-2: a 1.28 km square of North Dakota prairie (ponds, furrowed fields, a road "
    "and field tracks) photographed from an aircraft (USDA NAIP, 2016, resampled to 5 m; public domain). Its "
    "5 m original is the truth; the 10 m input was made from it by this project's Sentinel-2-like "
    "simulator (blur, 2 × decimation, band shifts, noise). Bands co-registered in the source, digital "
    "numbers × 12: outside the L1B domain the networks were trained for.",
    {
        "superresolution":
            "**What super-resolution recovers, and what it invents.** Compare the output with the true 5 m "
            "original beside it: edges that the 10 m input still holds, blurred (field borders, the road, pond "
            "shores), come back sharper and in place, and the colour fringes of the misregistered input are "
            "gone. Detail finer than 10 m that the input lost altogether (furrows, narrow tracks, single "
            "shrubs) cannot come back: where the output shows texture there, it is a plausible guess, "
            "not a measurement. The per-band scores measure the difference against the truth; this is airborne "
            "imagery with another sensor's colours and noise, so the scores are a lesson, not the networks' "
            "accuracy on Sentinel-2.",
        "registration":
            "**Known displacements.** The simulator shifted B, R and NIR by smooth flows it knows (drawn in the "
            "second row of the flow figure); the mean endpoint error above is the distance between those and "
            "the estimated ones. NIR, whose texture here has little in common with G's (water black, vegetation "
            "bright), is the hardest band to align and usually scores worst: read its flow with care, here and "
            "on real crops.",
    },
)

TIFF_OPTIONS = {"photometric": "minisblack", "compression": "zlib", "predictor": True,
                "compressionargs": {"level": 9}, "metadata": None}


def _write_example(name: str, pair, out: Path) -> tuple[dict, dict]:
    """Write view 0, the truth, the true band flows and a thumbnail of ``pair`` as ``name…`` in
    ``out``; return the files and the examples.json fields they give."""
    files = {
        "input": f"{name}.tif",
        "truth": f"{name}_truth.tif",
        "flow": f"{name}_flow.npy",
        "thumbnail": f"{name}.png",
    }
    lr = np.moveaxis(to_uint16(pair.views[0]), 0, -1)
    tifffile.imwrite(out / files["input"], lr, **TIFF_OPTIONS)
    tifffile.imwrite(out / files["truth"], np.moveaxis(to_uint16(pair.hr), 0, -1), **TIFF_OPTIONS)
    np.save(out / files["flow"], pair.band_flows[0].astype(np.float32))
    (out / files["thumbnail"]).write_bytes(png_bytes(render(lr, "true"), THUMBNAIL_COMPRESS_LEVEL))
    if not np.array_equal(read_bgrn_array(out / files["input"]), lr):  # readable by the app's reader
        raise RuntimeError(f"{files['input']} does not read back identically")
    norms = np.hypot(pair.band_flows[0][:, 0], pair.band_flows[0][:, 1])
    size = list(lr.shape[:2])
    return files, {
        "size": size,
        "truth_size": [side * pair.config.factor for side in size],
        "truth_pixel_m": HR_PIXEL_M,
        "mean_misregistration_px": {band: round(float(norms[i].mean()), 3) for i, band in enumerate(MOVING_BAND_NAMES)},
        "max_misregistration_px": {band: round(float(norms[i].max()), 3) for i, band in enumerate(MOVING_BAND_NAMES)},
    }


def make_example(example: Example, out: Path, size: int, config: SimulationConfig) -> dict:
    """Simulate one example, write its files into ``out`` and return its examples.json entry."""
    hr_size = size * config.factor
    scene = make_scene(hr_size, hr_size, seed=example.scene_seed, landscape=example.landscape)
    pair = simulate_pair(scene, config, rng=example.simulation_seed)
    files, fields = _write_example(example.name, pair, out)
    return {"name": example.name, "title": example.title, "description": example.description, "files": files,
            "landscape": example.landscape, **fields, "scene_seed": example.scene_seed,
            "simulation_seed": example.simulation_seed}


def airborne_truth(example: AirborneExample, source: Path) -> np.ndarray:
    """(4, side, side) float32 B, G, R, NIR in L1B-like DN: the NAIP crop, reordered and scaled."""
    rgbn = tifffile.imread(source / example.file)
    crop = rgbn[example.y0 : example.y0 + example.side, example.x0 : example.x0 + example.side]
    if crop.shape != (example.side, example.side, len(NAIP_TO_BGRN)):
        raise ValueError(f"{example.file}: the crop at ({example.x0}, {example.y0}) is {crop.shape}, "
                         f"expected ({example.side}, {example.side}, 4)")
    return np.moveaxis(crop[..., NAIP_TO_BGRN].astype(np.float32) * example.dn_scale, -1, 0)


def make_airborne_example(example: AirborneExample, source: Path, out: Path, config: SimulationConfig) -> dict:
    """The teaching example: its files (and the source's licence) in ``out``, its examples.json entry."""
    pair = simulate_pair(airborne_truth(example, source), config, rng=example.simulation_seed)
    files, fields = _write_example(example.name, pair, out)
    shutil.copyfile(source / AIRBORNE_LICENCE[0], out / AIRBORNE_LICENCE[1])
    return {
        "name": example.name, "title": example.title, "description": example.description, "note": example.note,
        "source": "airborne", "files": files, **fields,
        "origin": {"file": example.file, "x0": example.x0, "y0": example.y0, "side": example.side,
                   "band_order_in_file": "R, G, B, NIR", "dn_scale": example.dn_scale,
                   "simulation_seed": example.simulation_seed},
        "attribution": "USDA Farm Service Agency, National Agriculture Imagery Program (NAIP), public domain; "
                       "resampled 5 m copy from the opengeos/data repository (naip/), MIT licence: "
                       + AIRBORNE_LICENCE[1],
    }


def _kept_airborne_entry(out: Path) -> list[dict]:
    """The airborne entry of the examples.json already in ``out`` (when its input is there)."""
    index = out / "examples.json"
    if not index.is_file():
        return []
    entries = json.loads(index.read_text())["examples"]
    return [entry for entry in entries
            if entry.get("source") == "airborne" and (out / entry["files"]["input"]).is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (created)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="LR side in pixels")
    parser.add_argument("--airborne-source", type=Path, default=DEFAULT_AIRBORNE_SOURCE,
                        help="folder of the NAIP scenes (the teaching example with a real 5 m truth)")
    args = parser.parse_args(argv)
    if args.size < 32 or args.size % 16:
        parser.error(f"--size must be a multiple of 16, at least 32; got {args.size}")
    args.out.mkdir(parents=True, exist_ok=True)
    config = SimulationConfig()
    entries = [make_example(example, args.out, args.size, config) for example in EXAMPLES]
    if (args.airborne_source / AIRBORNE.file).is_file():
        entries.append(make_airborne_example(AIRBORNE, args.airborne_source, args.out, config))
    else:
        print(f"{args.airborne_source / AIRBORNE.file} not found: the airborne example is kept as it is")
        entries += _kept_airborne_entry(args.out)
    index = {
        "description": "Sentinel-2 L1B-like crops (bands B, G, R, NIR = B2, B3, B4, B8) simulated by "
                       "scripts/make_examples.py, with their truth: from procedural scenes, and one from a real "
                       "airborne 5 m scene (NAIP, public domain; source 'airborne').",
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
