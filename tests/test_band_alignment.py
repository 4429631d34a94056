"""Band flows measured slab by slab (:mod:`l1bsr_core.band_alignment`) equal the one-shot joint CSR."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core import band_alignment
from l1bsr_core.models import JointCSR
from l1bsr_core.phase_correlation import window_grid
from l1bsr_core.tensors import image_to_tensor

from support import randomise_parameters, simulated_view

torch.set_num_threads(1)

HEIGHT, WIDTH = 170, 133
"""Neither a multiple of the 16 px step: the last windows leave a few pixels uncovered."""
RANDOM_STD = 0.05
"""Randomised fusion network: the grid goes through a learned correction, not just the classical fusion."""
NUMERIC_PX = 1e-4
"""Float32 rounding: slabs and the whole image run the same windows, but FFTs and products
batched over another number of windows round differently (measured ≤ 4e-5 px)."""
INTERPOLATION_PX = 1e-6
"""Interpolating the same grid at the same pixels: equal up to float32 rounding."""
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def bgrn() -> np.ndarray:
    """(HEIGHT, WIDTH, 4) uint16 simulated L1B view, bands misregistered."""
    return np.ascontiguousarray(simulated_view(HEIGHT + HEIGHT % 2, WIDTH + WIDTH % 2, seed=7)
                                .transpose(1, 2, 0)[:HEIGHT, :WIDTH])


@pytest.fixture(scope="module")
def model() -> JointCSR:
    return randomise_parameters(JointCSR(), RANDOM_STD)


def windows_per_row(model: JointCSR) -> int:
    return window_grid(WIDTH, model.window_size(HEIGHT, WIDTH), model.config.step)


@torch.no_grad()
@pytest.mark.parametrize("rows_per_slab", [1, 2, 3, None])  # None: the default, one slab here
def test_slabs_give_the_grid_of_the_whole_image(bgrn, model, monkeypatch, rows_per_slab):
    expected = model.grid(image_to_tensor(bgrn))
    if rows_per_slab is not None:
        monkeypatch.setattr(band_alignment, "WINDOWS_PER_SLAB", rows_per_slab * windows_per_row(model))
    slabs = []
    measure = model.measure
    monkeypatch.setattr(model, "measure",
                        lambda *args, **kwargs: slabs.append(args[0].shape) or measure(*args, **kwargs))
    flows = band_alignment.band_flows(model, bgrn, CPU)
    rows_of_windows = expected.shape[-2]
    passes = 2 if model.refined_bands() else 1  # the refined bands are measured a second time
    assert len(slabs) == passes * (1 if rows_per_slab is None else -(-rows_of_windows // rows_per_slab))
    assert flows.grid.shape == expected.shape
    assert torch.allclose(flows.grid, expected, atol=NUMERIC_PX)
    assert (flows.height, flows.width, flows.window) == (HEIGHT, WIDTH, model.window_size(HEIGHT, WIDTH))


@torch.no_grad()
def test_dense_flows_of_a_window_are_the_crop_of_the_full_field(bgrn, model, monkeypatch):
    monkeypatch.setattr(band_alignment, "WINDOWS_PER_SLAB", 2 * windows_per_row(model))
    flows = band_alignment.band_flows(model, bgrn, CPU)
    full = flows.dense()
    assert full.shape == (1, 3, 2, HEIGHT, WIDTH)
    assert torch.allclose(full, model(image_to_tensor(bgrn)), atol=NUMERIC_PX)
    for top, left, rows, cols in ((0, 0, 40, 40), (37, 21, 50, 60), (HEIGHT - 9, WIDTH - 70, 9, 70)):
        tile = flows.dense(top, left, rows, cols)
        assert tile.shape == (1, 3, 2, rows, cols)
        assert torch.allclose(tile, full[..., top:top + rows, left:left + cols], atol=INTERPOLATION_PX)
