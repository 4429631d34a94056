"""Properties of :func:`l1bsr_core.warp.align_to_reference`: the band warp that keeps no-data apart.

(The rest of :mod:`l1bsr_core.warp` is tested in ``test_warp.py``.) The bands are random
texture, so a no-data 0 blended into a valid pixel shows as a large error, with holes of every
shape: a block, isolated pixels, a strip along the swath edge.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core.bands import GREEN, MOVING_BANDS, N_BANDS, NO_DATA
from l1bsr_core.simulate import random_smooth_flow
from l1bsr_core.warp import align_to_reference, warp

from support import constant_flow

torch.set_num_threads(1)

SIZE = 64
KEYS_A = -0.75
"""PyTorch's bicubic kernel (Keys, a = −0.75)."""
NEGLIGIBLE_WEIGHT = 2e-3
"""Total |weight| that no-data samples may have in a kept pixel: a sample point within ~1e-3 px
of a pixel gives its outer taps almost no weight (the module keeps a pixel whose validity warps
to within 1e-3 of 1)."""
NUMERIC = 1e-9
"""Float64 rounding of the warp, relative to the values (hundreds of DN)."""


def holes(seed: int) -> torch.Tensor:
    """(SIZE, SIZE) bool no-data mask: a block, scattered pixels, a 3 px strip along the left edge."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((SIZE, SIZE), bool)
    y, x = rng.integers(8, SIZE - 16, 2)
    mask[y:y + 6, x:x + 9] = True
    mask[rng.integers(0, SIZE, 30), rng.integers(0, SIZE, 30)] = True
    mask[:, :3] = True
    return torch.from_numpy(mask)


@pytest.fixture(scope="module")
def complete() -> torch.Tensor:
    """(1, 4, SIZE, SIZE) float64 random texture in [100, 1000] DN, no no-data."""
    return 100 + 900 * torch.rand(1, N_BANDS, SIZE, SIZE, generator=torch.Generator().manual_seed(0),
                                  dtype=torch.float64)


@pytest.fixture(scope="module")
def bands(complete) -> torch.Tensor:
    """``complete`` with other no-data holes in each band."""
    out = complete.clone()
    for band in range(N_BANDS):
        out[0, band, holes(band)] = NO_DATA
    return out


@pytest.fixture(scope="module")
def flows() -> torch.Tensor:
    """(1, 3, 2, SIZE, SIZE) float64 smooth random flows of up to a few pixels, one per moving band."""
    rng = np.random.default_rng(1)
    fields = [random_smooth_flow(SIZE, SIZE, shift=2.5, affine=0.02, lowfreq=0.5, rng=rng) for _ in MOVING_BANDS]
    return torch.from_numpy(np.stack(fields)).double()[None]


def keys(s: np.ndarray) -> np.ndarray:
    s = np.abs(s)
    inner = (KEYS_A + 2) * s**3 - (KEYS_A + 3) * s**2 + 1
    outer = KEYS_A * (s**3 - 5 * s**2 + 8 * s - 4)
    return np.where(s <= 1, inner, np.where(s < 2, outer, 0.0))


def reflect(index: np.ndarray, size: int) -> np.ndarray:
    """The warp's border rule: reflect about the first and last pixel centres."""
    span = 2 * (size - 1)
    index = np.abs(index) % span
    return np.where(index > size - 1, span - index, index)


def footprint(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 4 × 4 input pixels that bicubic sampling at ``p + flow(p)`` reads, for every p.

    Returns ``(rows, cols, weights, nearest)``: rows and cols (H, W, 4, 4) input indices,
    weights (H, W, 4, 4), nearest (2, H, W) the rounded sample point (row, col), reflected.
    """
    height, width = flow.shape[-2:]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    px, py = xs + flow[0], ys + flow[1]
    fx, fy = np.floor(px), np.floor(py)
    taps = np.arange(-1, 3)
    wx = keys(px[..., None] - fx[..., None] - taps)  # (H, W, 4)
    wy = keys(py[..., None] - fy[..., None] - taps)
    cols = reflect((fx[..., None] + taps).astype(int), width)
    rows = reflect((fy[..., None] + taps).astype(int), height)
    shape = (height, width, 4, 4)
    rows4 = np.broadcast_to(rows[..., :, None], shape)
    cols4 = np.broadcast_to(cols[..., None, :], shape)
    nearest = np.stack((reflect(np.rint(py).astype(int), height), reflect(np.rint(px).astype(int), width)))
    return rows4, cols4, wy[..., :, None] * wx[..., None, :], nearest


@torch.no_grad()
def test_zero_flow_is_the_identity_no_data_included(bands):
    out = align_to_reference(bands, torch.zeros(1, len(MOVING_BANDS), 2, SIZE, SIZE, dtype=bands.dtype),
                             MOVING_BANDS)
    assert torch.allclose(out, bands, rtol=0, atol=NUMERIC * bands.max())
    assert torch.equal(out == NO_DATA, bands == NO_DATA)


@torch.no_grad()
def test_an_integer_flow_moves_the_no_data_with_the_band(bands):
    dx, dy = 3, -2
    flow = constant_flow(dx, dy, SIZE, SIZE, bands.dtype)
    out = align_to_reference(bands, flow[:, None].expand(-1, len(MOVING_BANDS), -1, -1, -1), MOVING_BANDS)
    rolled = torch.roll(bands, shifts=(-dy, -dx), dims=(-2, -1))  # out(y, x) = in(y + dy, x + dx)
    inner = (..., slice(abs(dy), SIZE - abs(dy)), slice(abs(dx), SIZE - abs(dx)))
    moving = list(MOVING_BANDS)
    assert torch.allclose(out[:, moving][inner], rolled[:, moving][inner], rtol=0, atol=NUMERIC * bands.max())


@torch.no_grad()
def test_no_kept_pixel_reads_no_data_and_every_clean_pixel_is_kept(complete, bands, flows):
    out = align_to_reference(bands, flows, MOVING_BANDS)
    for i, band in enumerate(MOVING_BANDS):
        flow = flows[0, i].numpy()
        no_data = (bands[0, band] == NO_DATA).numpy()
        kept = (out[0, band] != NO_DATA).numpy()
        rows, cols, weights, nearest = footprint(flow)
        read = no_data[rows, cols]  # (H, W, 4, 4): which footprint samples are no-data
        no_data_weight = np.where(read, np.abs(weights), 0).sum(axis=(-2, -1))
        # no-data is never blended into a valid pixel: its samples carry (almost) no weight …
        assert no_data_weight[kept].max() < NEGLIGIBLE_WEIGHT
        # … so a kept pixel is the warp of the complete band (whatever the hidden values were)
        expected = warp(complete[:, band:band + 1], flows[:, i])[0, 0].numpy()
        error = np.abs(out[0, band].numpy() - expected)[kept]
        assert error.max() < NEGLIGIBLE_WEIGHT * complete.max().item()
        # no-data stays no-data: a pixel whose nearest sample is no-data is no-data
        assert not kept[no_data[nearest[0], nearest[1]]].any()
        # and nothing more is lost: a pixel whose footprint is all valid is kept, with the plain warp
        clean = ~read.any(axis=(-2, -1))
        assert kept[clean].all()
        plain = warp(bands[:, band:band + 1], flows[:, i])[0, 0].numpy()
        assert np.allclose(out[0, band].numpy()[clean], plain[clean], rtol=0, atol=NUMERIC * complete.max().item())
        assert 0 < clean.mean() < 1  # both cases occur


@torch.no_grad()
@pytest.mark.parametrize("moving", [MOVING_BANDS, (MOVING_BANDS[0],), (MOVING_BANDS[2], MOVING_BANDS[1])])
def test_bands_that_do_not_move_are_unchanged(bands, flows, moving):
    """G (with its own no-data) is never touched, nor any band left out of ``moving``."""
    out = align_to_reference(bands, flows[:, :len(moving)], moving)
    still = [band for band in range(N_BANDS) if band not in moving]
    assert GREEN in still
    assert torch.equal(out[:, still], bands[:, still])
    assert not torch.equal(out[:, list(moving)], bands[:, list(moving)])


@torch.no_grad()
def test_bands_without_no_data_are_warped_as_when_another_band_has_some(complete, flows):
    """Without any no-data the validity mask is not warped (it would warp to 1 everywhere): the
    bands come out as the masked warp gives them when another band's hole makes it run."""
    plain = align_to_reference(complete, flows, MOVING_BANDS)
    holed = complete.clone()
    holed[0, MOVING_BANDS[2], holes(7)] = NO_DATA  # NIR only: B and R stay complete
    masked = align_to_reference(holed, flows, MOVING_BANDS)
    for i, band in enumerate(MOVING_BANDS):
        assert torch.allclose(plain[0, band], warp(complete[:, band:band + 1], flows[:, i])[0, 0], rtol=0,
                              atol=NUMERIC * complete.max().item())
    first_two = list(MOVING_BANDS[:2])
    assert torch.allclose(plain[:, first_two], masked[:, first_two], rtol=0, atol=NUMERIC * complete.max().item())
    assert (masked[0, MOVING_BANDS[2]] == NO_DATA).any() and not (plain == NO_DATA).any()
