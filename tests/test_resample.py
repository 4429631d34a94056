"""Tests of l1bsr_core.resample: bicubic and nearest enlargement, block averaging."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core import resample


@pytest.fixture
def bgrn():
    return np.random.default_rng(0).integers(100, 2000, size=(48, 64, 4)).astype(np.uint16)


def test_upsample_nearest_and_bicubic(bgrn):
    nearest = resample.upsample(bgrn, 2, "nearest")
    bicubic = resample.upsample(bgrn, 2, "bicubic")
    assert nearest.shape == bicubic.shape == (96, 128, 4)
    assert np.array_equal(nearest[::2, ::2], bgrn.astype(np.float32))
    assert np.array_equal(nearest[1::2, 1::2], bgrn.astype(np.float32))
    # A constant image stays constant with both methods.
    flat = np.full((16, 16, 4), 500, np.uint16)
    assert np.allclose(resample.upsample(flat, 2, "bicubic"), 500, atol=1e-3)
    with pytest.raises(ValueError, match="upsampling"):
        resample.upsample(bgrn, 2, "lanczos")


def test_bicubic_upsampling_follows_the_area_convention_on_a_ramp():
    """Fine pixels 2i and 2i + 1 sit symmetrically about coarse pixel i (at i -+ 0.25): on a
    linear ramp they average exactly to it (another pixel-centre convention would shift them)."""
    ramp = np.arange(32, dtype=np.float64)[None, :, None].repeat(8, 0)  # value = column index
    big = resample.upsample(ramp, 2, "bicubic")[..., 0]
    pairs = big[:, 0::2] + big[:, 1::2]
    np.testing.assert_allclose(pairs[:, 2:-2] / 2, ramp[0, 2:-2, 0][None].repeat(16, 0), atol=1e-4)
    assert (big[:, 8:-8:2] < ramp[0, 4:-4, 0]).all() and (big[:, 9:-8:2] > ramp[0, 4:-4, 0]).all()
    tensor = torch.from_numpy(ramp[..., 0])[None, None]
    np.testing.assert_allclose(resample.upsample_bicubic(tensor, 2)[0, 0].numpy(), big, atol=1e-5)


def test_block_mean_averages_each_block_and_drops_partial_ones():
    image = np.arange(5 * 6 * 2, dtype=np.uint16).reshape(5, 6, 2)
    out = resample.block_mean(image, 2)
    assert out.shape == (2, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2, 1], image[2:4, 4:6, 1].mean())
    # the super-resolution round trip: a 2x nearest upsampling averages back to the original
    np.testing.assert_array_equal(resample.block_mean(image.repeat(2, 0).repeat(2, 1), 2), image)


@pytest.mark.parametrize("shape", [(1, 4, 30, 17), (2, 3, 1, 5), (1, 1, 2, 2)])
@pytest.mark.parametrize("factor", [2, 4])
def test_bicubic_enlargement_equals_torch_interpolate_with_repeated_edges(shape, factor):
    """The convolution that gives the factor² phases of each coarse pixel is the same bicubic
    as ``F.interpolate`` (Keys a = −0.75, edge pixels repeated), down to 1-pixel-wide images."""
    image = torch.from_numpy(np.random.default_rng(1).uniform(0, 1000, shape))
    reference = torch.nn.functional.interpolate(image, scale_factor=factor, mode="bicubic", align_corners=False)
    torch.testing.assert_close(resample.upsample_bicubic(image, factor), reference, rtol=0, atol=1e-9)


def test_phase_layout_is_the_pixel_unshuffle_of_the_enlargement():
    image = torch.from_numpy(np.random.default_rng(2).uniform(0, 1, (2, 3, 9, 7)))
    phases = resample.bicubic_phases(image, 2)
    assert phases.shape == (2, 3, 2, 2, 9, 7)
    fine = torch.nn.functional.interpolate(image, scale_factor=2, mode="bicubic", align_corners=False)
    # fine pixel (2i + a, 2j + b) sits at [..., a, b, i, j], the layout of pixel_unshuffle
    for a, b, i, j in ((0, 0, 0, 0), (1, 0, 4, 3), (0, 1, 8, 6), (1, 1, 2, 5)):
        torch.testing.assert_close(phases[:, :, a, b, i, j], fine[:, :, 2 * i + a, 2 * j + b], rtol=0, atol=1e-12)
    assert torch.equal(resample.to_phases(resample.from_phases(phases), 2), phases)


def test_bicubic_enlargement_refuses_integer_images():
    with pytest.raises(TypeError, match="floating-point"):
        resample.upsample_bicubic(torch.ones(1, 1, 4, 4, dtype=torch.int64), 2)
