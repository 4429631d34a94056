"""Helpers shared by the tests: where the data is, crops the project makes, weights, an in-process app,
and the synthetic inputs of the property tests (textured bands, simulated views, constant flows,
randomised networks).

Data: the project's own L1B-like crops (``assets/examples``, made by the simulator) are always
there; the real L1B crops of ``../shared/data/l1b-examples`` are there on CI and on a developer's
machine, not on a fresh clone. Set ``L1BSR_SHARED_DIR`` to another folder (e.g. an empty one) to
run the tests as a fresh clone would.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from l1bsr_core import weights
from l1bsr_core.models import build_network
from l1bsr_core.scenes import make_scene
from l1bsr_core.simulate import simulate_pair

PROJECT = Path(__file__).resolve().parents[1]

SHARED_DIR_ENV = "L1BSR_SHARED_DIR"
SHARED_DIR = Path(os.environ.get(SHARED_DIR_ENV) or PROJECT.parent / "shared")
"""The shared folder beside the project (``../shared``), or the one named by ``L1BSR_SHARED_DIR``."""

SHARED_CROPS = SHARED_DIR / "data" / "l1b-examples"
"""The real Sentinel-2 L1B crops ``00.tif`` … ``06.tif`` (352 × 352, BGRN uint16), when present."""

EXAMPLES_DIR = PROJECT / "assets" / "examples"
"""The project's synthetic examples: simulated L1B-like crops (192 × 192, BGRN uint16) with truth."""


def real_crop_paths() -> list[Path]:
    """The shared real crops, or a skip saying where they were looked for."""
    paths = sorted(SHARED_CROPS.glob("*.tif"))
    if not paths:
        pytest.skip(f"needs the real L1B crops, not found at {SHARED_CROPS} (set {SHARED_DIR_ENV})")
    return paths


def example_crop_paths() -> list[Path]:
    """The project's own L1B-like crops (inputs of the synthetic examples), always in the project."""
    paths = sorted(path for path in EXAMPLES_DIR.glob("synthetic_*.tif") if not path.stem.endswith("_truth"))
    if not paths:
        raise FileNotFoundError(f"no synthetic examples in {EXAMPLES_DIR}: run scripts/make_examples.py")
    return paths


def mosaic(crops: list[np.ndarray]) -> np.ndarray:
    """A (2h, 2w, 4) image from four (h, w, 4) crops, side by side: a large input made in memory."""
    a, b, c, d = crops[:4]
    return np.concatenate([np.concatenate([a, b], 1), np.concatenate([c, d], 1)], 0)


def write_mirror(folder: Path, count: int = 2) -> dict[str, str]:
    """Write a stand-in for the authors' examples folder: ``00.tif`` … from the project's crops.

    Each file is an example crop turned upside down (so it is neither a synthetic example nor a
    real one). Returns name → SHA-256, what :class:`l1bsr_demo.fetch.RealExamples` checks.
    """
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for index, source in enumerate(example_crop_paths()[:count]):
        name = f"{index:02d}"
        tifffile.imwrite(folder / f"{name}.tif", np.ascontiguousarray(tifffile.imread(source)[::-1]))
        hashes[name] = weights.sha256_of(folder / f"{name}.tif")
    return hashes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_folder(folder: Path):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a stand-in for the authors' examples folder)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def ensure_weights(folder: Path) -> None:
    """Use the shipped networks if registered, else write small random ones and point the env at them."""
    if weights.available_models("rec") and weights.available_models("csr"):
        return
    torch.manual_seed(0)
    for kind in weights.KINDS:
        path = folder / f"{kind}.safetensors"
        weights.save_checkpoint(build_network(kind), path, version="random-test")
        weights.register_weights(kind, path, description="random weights for tests", folder=folder)
    os.environ[weights.WEIGHTS_DIR_ENV] = str(folder)


@contextlib.contextmanager
def running_app(root: Path, *, mcp_server: bool = False):
    """Launch ``app.build_demo()`` in-process on a free port, yield its URL, restore the environment.
    With ``mcp_server`` the page is an MCP server too (``/gradio_api/mcp/``), as with
    ``GRADIO_MCP_SERVER=True python app.py``.

    The "authors' examples" are :func:`write_mirror`'s two crops plus one name (``02``) that the
    mirror lacks, served over HTTP; the demo's files go under ``root``.
    """
    from l1bsr_demo import fetch, paths

    saved_env = {k: os.environ.get(k) for k in (weights.WEIGHTS_DIR_ENV,)}
    saved_temp = paths.TEMP_ROOT
    ensure_weights(root)
    hashes = write_mirror(root / "mirror")
    hashes["02"] = "0" * 64  # listed, never served: "not available"
    paths.TEMP_ROOT = root / "temp"
    with serve_folder(root / "mirror") as mirror_url:
        fetch.reset_real_examples(fetch.RealExamples(mirror_url, root / "cache", hashes=hashes))
        import app

        blocks = app.build_demo()
        port = free_port()
        blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                      mcp_server=mcp_server, **app.LAUNCH_OPTIONS)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            blocks.close()
            fetch.reset_real_examples()
            paths.TEMP_ROOT = saved_temp
            shutil.rmtree(root / "temp", ignore_errors=True)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


# === Synthetic inputs of the property tests ====================================================


def ten_metre_bands(height: int, width: int, *, seed: int) -> torch.Tensor:
    """(4, height, width) float64 aligned bands B, G, R, NIR in DN: a procedural scene block-averaged 2 × 2.

    Textured at every scale (fields, roads, tree crowns), no noise, no misregistration.
    """
    scene = torch.from_numpy(make_scene(2 * height, 2 * width, seed=seed)).double()
    return torch.nn.functional.avg_pool2d(scene[None], 2)[0]


def simulated_view(height: int, width: int, *, seed: int) -> np.ndarray:
    """(4, height, width) uint16 simulated L1B view (view 0 of :func:`l1bsr_core.simulate.simulate_pair`).

    Bands B, G, R, NIR with the simulator's band misregistration, MTF, noise and quantisation.
    """
    scene = make_scene(2 * height, 2 * width, seed=seed)
    return simulate_pair(scene, rng=seed, with_flows=False).views[0]


def constant_flow(dx: float, dy: float, height: int, width: int, dtype=None) -> torch.Tensor:
    """(1, 2, height, width) flow equal to (dx, dy) everywhere (channel 0 dx, 1 dy, px)."""
    flow = torch.zeros(1, 2, height, width, dtype=dtype)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def randomise_parameters(model, std: float, seed: int = 0):
    """Every parameter of ``model`` drawn from N(0, std²) (seeded): a network that is neither
    trained nor at its identity-like initialisation, for properties that must hold for any weights."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return model.eval()
