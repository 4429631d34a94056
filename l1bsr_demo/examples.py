"""The example catalogue: synthetic crops shipped in ``assets/examples/`` and the authors' real crops.

A synthetic example (made by ``scripts/make_examples.py``) comes with its true 5 m image and its
true flows, so the demo can score results. A real example is one of the ten L1B crops of the
authors' repository, recognised by its SHA-256 (:data:`REAL_EXAMPLE_SHA256`); it has no ground
truth. Inputs are (H, W, 4) uint16 TIFFs, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from l1bsr_core.outputs import sha256_of

from . import paths

log = logging.getLogger(__name__)

INDEX_FILE = "examples.json"
"""The synthetic examples' index: ``{"examples": [{"name", "title", "description", "files":
{"input", "truth", "flow", …}}, …]}``, file names relative to its folder."""

SYNTHETIC, REAL = "synthetic", "real"
"""The two sources of examples."""

REAL_EXAMPLE_SHA256 = {
    "00": "6b13bcbe66de6066fe52bb1828b56742288fc30cd0b1dfe1d69a7304c0a9f442",
    "01": "4ace0e06bab79ac3ba07ed54680c1592a3d7a138cf36ab11929d048182321dbd",
    "02": "896946aea5890d59669e0040fab96fe94d7a738509b2d50db4bd7cf062f5f26a",
    "03": "504ddb4f0f0046ff86f48ea5c94acd172e0d6c6940b4cf27c43127381db592fe",
    "04": "9308295503f7a587edbd8c54dbaf0eaf46119363235b62229a514fab0a14ec46",
    "05": "828fde0cd88876b707b3d847683b72de55a4a84282d39429715fd393017cc4a1",
    "06": "4add6db29938d4897d2c2d0c983df77b0bd3d4ae3cb7e2eca685ed609e832d31",
    "07": "a197b80577c76341efdd8af5afb1728e1c5f6d95c06e5c033a2b7fbb22f993af",
    "08": "9a5bca437df191e3da3681861b1d583b062f83cadda37c12b34f7d169196d298",
    "09": "02596cabfb5ee993e388219703b929b1d18a82d6536e4442a9a338aa23054342",
}
"""SHA-256 of the authors' example crops ``00.tif`` … ``09.tif``, by name."""


@dataclass(frozen=True)
class Example:
    """One example crop of the gallery.

    Attributes:
        key: unique id ("synthetic-…" or "real-00").
        title, description: words for the gallery and the result summary.
        path: the (H, W, 4) uint16 L1B-like input TIFF.
        truth: the true (2H, 2W, 4) 5 m image (synthetic examples only).
        flow: the true (3, 2, H, W) flows of B, R, NIR onto G, ``.npy`` (synthetic only).
        source: :data:`SYNTHETIC` or :data:`REAL`.
    """

    key: str
    title: str
    description: str
    path: Path
    truth: Path | None = None
    flow: Path | None = None
    source: str = SYNTHETIC

    @property
    def file_name(self) -> str:
        """Name of the input file as the visitor sees it ("synthetic_1.tif", "l1b_03.tif")."""
        return self.path.name if self.source == SYNTHETIC else f"l1b_{self.key.removeprefix('real-')}.tif"

    @property
    def caption(self) -> str:
        """A short gallery caption ("Farmland", "L1B 03")."""
        title = self.title.removeprefix("Synthetic ").removeprefix("synthetic ")
        return title[:1].upper() + title[1:]


def synthetic_examples(folder: Path | None = None) -> list[Example]:
    """The shipped synthetic examples whose input file exists, in :data:`INDEX_FILE` order.

    Args:
        folder: default :data:`l1bsr_demo.paths.ASSETS_DIR`. A missing folder or index gives no
            examples; an unreadable index is logged and gives none.
    """
    folder = Path(folder or paths.ASSETS_DIR)
    index = folder / INDEX_FILE
    if not index.is_file():
        return []
    try:
        entries = json.loads(index.read_text())["examples"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as error:
        log.warning("demo: cannot read %s: %s", index, error)
        return []
    examples = []
    for entry in entries:
        files = {role: folder / name for role, name in entry["files"].items()}
        if not files["input"].is_file():
            continue
        truth, flow = files.get("truth"), files.get("flow")
        examples.append(Example(
            key=f"{SYNTHETIC}-{entry['name']}",
            title=entry["title"],
            description=entry["description"],
            path=files["input"],
            truth=truth if truth is not None and truth.is_file() else None,
            flow=flow if flow is not None and flow.is_file() else None,
        ))
    return examples


def real_example(name: str, path: Path) -> Example:
    """The authors' crop ``name`` ("03"), stored at ``path``."""
    return Example(
        key=f"{REAL}-{name}",
        title=f"L1B {name}",
        description=f"Sentinel-2 L1B crop {name}.tif from the authors' repository (no ground truth).",
        path=path,
        source=REAL,
    )


_FILE_HASHES: dict[tuple[str, float, int], str] = {}


def _cached_sha256(path: Path) -> str:
    """SHA-256 of a shipped file, computed once per (path, mtime, size)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    if key not in _FILE_HASHES:
        _FILE_HASHES[key] = sha256_of(path)
    return _FILE_HASHES[key]


def identify_example(path: str | Path, real_hashes: dict[str, str] = REAL_EXAMPLE_SHA256) -> Example | None:
    """The example whose input file has the same content as ``path`` (by SHA-256), or None.

    Args:
        path: an uploaded or chosen file.
        real_hashes: name → SHA-256 of the real examples to recognise.
    """
    path = Path(path)
    digest = sha256_of(path)
    for name, expected in real_hashes.items():
        if digest == expected:
            return real_example(name, path)
    size = path.stat().st_size
    for example in synthetic_examples():
        if example.path.stat().st_size == size and _cached_sha256(example.path) == digest:
            return example
    return None
