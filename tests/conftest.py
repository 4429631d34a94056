"""Shared fixtures: the real L1B crops beside the project, and small randomly initialised weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

SHARED_CROPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "l1b-examples"

torch.set_num_threads(2)


def real_crop_paths() -> list[Path]:
    paths = sorted(SHARED_CROPS.glob("*.tif"))
    if not paths:
        pytest.skip(f"the shared real crops are not at {SHARED_CROPS}")
    return paths


@pytest.fixture(scope="session")
def real_crops() -> list[Path]:
    return real_crop_paths()


@pytest.fixture(scope="session")
def real_crop(real_crops) -> np.ndarray:
    """(352, 352, 4) uint16 real L1B crop, bands B, G, R, NIR."""
    return tifffile.imread(real_crops[0])


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory) -> Path:
    """A weights folder holding small, randomly initialised REC and CSR networks with a registry.

    For exercising the plumbing only: these are not a model and nothing presents them as one.
    """
    from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig
    from l1bsr_core.weights import register_weights, save_checkpoint

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    rec = RCAN(RECConfig(n_groups=1, n_blocks=2, n_feats=16, reduction=4))
    csr = CSRNet(CSRConfig(encoder=(8, 16, 16, 16), decoder=(16, 16, 16, 8), head=8))
    for name, model in (("rec", rec), ("csr", csr)):
        save_checkpoint(model, folder / f"{name}.safetensors", version="random-test")
        register_weights(name, folder / f"{name}.safetensors", description="random, for tests", folder=folder)
    return folder


@pytest.fixture
def use_random_weights(random_weights_dir, monkeypatch) -> Path:
    monkeypatch.setenv("L1BSR_WEIGHTS_DIR", str(random_weights_dir))
    return random_weights_dir
