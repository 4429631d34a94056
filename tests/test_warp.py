"""Invariants of the one warp: identity, integer shifts, sub-pixel shifts, composition."""

import numpy as np
import pytest
import torch

from l1bsr_core.warp import compose_flows, upscale_flow, warp, warp_bands

BORDER = 8


def constant_flow(dx: float, dy: float, height: int, width: int) -> torch.Tensor:
    flow = torch.zeros(1, 2, height, width)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


@pytest.fixture
def band(example_crop) -> torch.Tensor:
    """Green band of an L1B-like crop as (1, 1, H, W) float64 (float64 keeps interpolation error tiny)."""
    return torch.from_numpy(example_crop[..., 1].astype(np.float64))[None, None]


def test_zero_flow_is_identity(band):
    out = warp(band, torch.zeros(1, 2, *band.shape[-2:], dtype=band.dtype))
    assert torch.allclose(out, band, atol=1e-6)


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (-4, 5)])
def test_integer_flow_equals_roll_away_from_borders(band, dx, dy):
    out = warp(band, constant_flow(dx, dy, *band.shape[-2:]).double())
    rolled = torch.roll(band, shifts=(-dy, -dx), dims=(-2, -1))  # out(y, x) = in(y + dy, x + dx)
    inner = (..., slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    assert torch.allclose(out[inner], rolled[inner], atol=1e-6)


def test_subpixel_shift_is_recovered(band):
    """Warping by +0.4 then by -0.4 returns the image (smooth content), and the shift moves edges."""
    h, w = band.shape[-2:]
    smooth = torch.nn.functional.avg_pool2d(band, 5, stride=1, padding=2)
    there = warp(smooth, constant_flow(0.4, -0.7, h, w).double())
    back = warp(there, constant_flow(-0.4, 0.7, h, w).double())
    inner = (..., slice(BORDER, -BORDER), slice(BORDER, -BORDER))
    err = (back - smooth)[inner].abs().mean() / smooth[inner].std()
    assert err < 0.02  # two bicubic resamplings of real (aliased) content
    # a ramp image shows the shift directly: in(y, x) = x  ->  out = x + 0.4 (PyTorch's bicubic
    # kernel, a = -0.75, is off by at most ~0.025 px on a ramp; bilinear is exact)
    ramp = torch.arange(w, dtype=torch.float64).expand(1, 1, h, w).clone()
    shifted = warp(ramp, constant_flow(0.4, 0.0, h, w).double())
    assert torch.allclose(shifted[inner], ramp[inner] + 0.4, atol=0.03)
    exact = warp(ramp, constant_flow(0.4, 0.0, h, w).double(), mode="bilinear")
    assert torch.allclose(exact[inner], ramp[inner] + 0.4, atol=1e-9)


def test_flow_broadcasts_over_batch(band):
    images = band.expand(3, 1, -1, -1).contiguous()
    out = warp(images, constant_flow(1, 0, *band.shape[-2:]).double())
    assert out.shape == images.shape
    assert torch.allclose(out[0], out[2])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="flow"):
        warp(torch.zeros(1, 1, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="height and width"):
        warp(torch.zeros(1, 1, 8, 8), torch.zeros(1, 2, 8, 9))


def test_compose_constant_flows_adds():
    a = constant_flow(0.5, 1.0, 32, 32)
    b = constant_flow(-1.5, 0.25, 32, 32)
    c = compose_flows(a, b)
    assert torch.allclose(c[..., 4:-4, 4:-4], (a + b)[..., 4:-4, 4:-4], atol=1e-5)


def test_upscale_flow_is_exact_for_affine_flows():
    """A coarse affine displacement field, upscaled, matches the field evaluated on the fine grid."""
    h, w, factor = 16, 20, 2
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    coarse = torch.stack((0.1 * xs + 0.3, -0.05 * ys + 0.2))[None]
    fine = upscale_flow(coarse, factor)
    fy, fx = torch.meshgrid(torch.arange(h * factor, dtype=torch.float64),
                            torch.arange(w * factor, dtype=torch.float64), indexing="ij")
    cx, cy = (fx + 0.5) / factor - 0.5, (fy + 0.5) / factor - 0.5  # fine pixel centre in coarse px
    expected = factor * torch.stack((0.1 * cx + 0.3, -0.05 * cy + 0.2))[None]
    inner = (..., slice(2, -2), slice(2, -2))
    assert torch.allclose(fine[inner], expected[inner], atol=1e-9)


def test_warp_bands_with_no_data_never_blends_it():
    """The numpy band warp with ``no_data`` follows the rule of ``align_to_reference``: no-data stays
    no-data, pixels whose footprint reaches it become no-data, the others ignore what it holds."""
    rng = np.random.default_rng(0)
    image = rng.uniform(100, 4000, (40, 40, 4))
    image[:, :10] = 0
    flow = np.full((3, 2, 40, 40), 0.5)
    moving = [0, 2, 3]
    kept = warp_bands(image, flow, moving, no_data=0)
    filled = image.copy()
    filled[:, :10] = 9999.0
    plain = warp_bands(filled, flow, moving)
    assert (kept[:, :11][..., moving] == 0).all()
    valid = kept[..., moving] != 0
    assert valid[:, 12:].all()
    np.testing.assert_allclose(kept[..., moving][valid], plain[..., moving][valid], rtol=1e-12)
    np.testing.assert_array_equal(kept[..., 1], image[..., 1])
