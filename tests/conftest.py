"""Shared fixtures: the project's own L1B-like crops, the real crops when present, small random weights.

Tests that only need a realistic crop use ``example_crop`` / ``example_crops`` (made by the
project's simulator, always there). Tests that are about real Sentinel-2 L1B data use
``real_crop`` / ``real_crops``, which skip with a reason when ``../shared`` is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from support import example_crop_paths, randomise_parameters, real_crop_paths

RANDOM_REC_STD = 0.03
"""Spread of the random test REC's weights: enough to move the output by tens of DN, not thousands."""

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def real_crops() -> list[Path]:
    return real_crop_paths()


@pytest.fixture(scope="session")
def real_crop(real_crops) -> np.ndarray:
    """(352, 352, 4) uint16 real L1B crop, bands B, G, R, NIR."""
    return tifffile.imread(real_crops[0])


@pytest.fixture(scope="session")
def example_crops() -> list[Path]:
    """Paths of the project's four L1B-like crops (192 × 192, BGRN uint16, bands misregistered)."""
    return example_crop_paths()


@pytest.fixture(scope="session")
def example_crop(example_crops) -> np.ndarray:
    """(192, 192, 4) uint16 L1B-like crop made by the simulator, bands B, G, R, NIR."""
    return tifffile.imread(example_crops[0])


@pytest.fixture(scope="session")
def random_weights_dir(tmp_path_factory) -> Path:
    """A weights folder holding small, randomly initialised REC and CSR networks with a registry.

    For exercising the plumbing only: these are not a model and nothing presents them as one.
    """
    from l1bsr_core.models import JointCSR, JointCSRConfig, RECConfig, build_network
    from l1bsr_core.weights import register_weights, save_checkpoint

    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    # the shipped architectures, small and random; the REC's inner network is randomised so that
    # it really adds something (its output layer would start at zero: plain bicubic), so tiling
    # and no-data tests see a network's reach
    rec = build_network("rec", RECConfig(n_groups=1, n_blocks=2, n_feats=16, reduction=4, faithful=True))
    randomise_parameters(rec, RANDOM_REC_STD)
    csr = JointCSR(JointCSRConfig(width=8, depth=2))
    for name, model in (("rec", rec), ("csr", csr)):
        save_checkpoint(model, folder / f"{name}.safetensors", version="random-test")
        register_weights(name, folder / f"{name}.safetensors", description="random, for tests", folder=folder)
    return folder


@pytest.fixture
def use_random_weights(random_weights_dir, monkeypatch) -> Path:
    monkeypatch.setenv("L1BSR_WEIGHTS_DIR", str(random_weights_dir))
    return random_weights_dir


@pytest.fixture(scope="session")
def synthetic_product(tmp_path_factory):
    """A small L1B product the project writes itself (3 detectors × 2 granules of 256 × 400 px,
    metadata in the real schema, JPEG 2000 through GDAL), with its truth: bands offset by tens of
    px, adjacent detectors overlapping by 140 px, even detectors 37 rows further along track."""
    from l1bsr_core.products.synthetic import write_synthetic_product

    return write_synthetic_product(tmp_path_factory.mktemp("product"), seed=1)


@pytest.fixture(scope="session")
def synthetic_product_zip(synthetic_product, tmp_path_factory) -> Path:
    """The same product as a .zip (``NAME.SAFE/…`` inside, as delivered)."""
    import shutil

    base = tmp_path_factory.mktemp("zipped") / "S2A_MSIL1B_SIMU"
    return Path(shutil.make_archive(str(base), "zip", synthetic_product.path.parent, synthetic_product.path.name))
