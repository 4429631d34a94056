"""The one Gaussian and the one box mean (l1bsr_core.filters)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from l1bsr_core.filters import box_mean, gaussian_blur, gaussian_radius, gaussian_taps


def test_taps_sum_to_one_and_are_symmetric():
    taps = gaussian_taps(1.5, dtype=torch.float64)
    assert taps.numel() == 2 * gaussian_radius(1.5) + 1
    assert taps.sum().item() == pytest.approx(1.0)
    torch.testing.assert_close(taps, taps.flip(0))


def test_blur_keeps_a_constant_and_matches_scipy_inside():
    image = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, 40, 50)))
    ours = gaussian_blur(image, 1.2)[0, 0].numpy()
    reference = ndimage.gaussian_filter(image[0, 0].numpy(), 1.2, truncate=4.0)
    inner = (slice(8, -8), slice(8, -8))  # borders differ by padding rule only
    np.testing.assert_allclose(ours[inner], reference[inner], atol=1e-3)
    flat = torch.full((1, 1, 20, 20), 7.0, dtype=torch.float64)
    torch.testing.assert_close(gaussian_blur(flat, 2.0), flat)
    torch.testing.assert_close(gaussian_blur(image, 0.0), image)


def test_box_mean_counts_only_pixels_inside():
    image = torch.arange(1.0, 26.0, dtype=torch.float64).reshape(1, 1, 5, 5)
    out = box_mean(image, 1)
    assert out[0, 0, 2, 2].item() == pytest.approx(image[0, 0, 1:4, 1:4].mean().item())
    assert out[0, 0, 0, 0].item() == pytest.approx(image[0, 0, :2, :2].mean().item())
