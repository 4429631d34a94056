"""The one Gaussian and the one box mean (l1bsr_core.filters)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from l1bsr_core.filters import box_mean, correlate1d, gaussian_blur, gaussian_radius, gaussian_taps


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


def test_box_mean_equals_the_windowed_mean_of_pooling_at_every_pixel():
    image = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 3, 23, 31)))
    for radius in (1, 4, 7, 12):
        reference = torch.nn.functional.avg_pool2d(image, 2 * radius + 1, stride=1, padding=radius,
                                                   count_include_pad=False)
        torch.testing.assert_close(box_mean(image, radius), reference)
    # a window wider than the image is the mean of the whole image at every pixel
    torch.testing.assert_close(box_mean(image, 40), image.mean(dim=(2, 3), keepdim=True).expand_as(image))


def test_correlate1d_equals_a_convolution_with_the_same_borders():
    image = torch.from_numpy(np.random.default_rng(2).normal(size=(1, 2, 17, 19)))
    taps = torch.tensor([0.1, -0.4, 0.25, 0.7, -0.2], dtype=torch.float64)
    for dim, pad, kernel in ((-2, (0, 0, 2, 2), taps.view(1, 1, -1, 1)), (-1, (2, 2, 0, 0), taps.view(1, 1, 1, -1))):
        for mode in ("reflect", "replicate"):
            padded = torch.nn.functional.pad(image, pad, mode=mode)
            reference = torch.nn.functional.conv2d(padded, kernel.expand(2, 1, *kernel.shape[2:]), groups=2)
            torch.testing.assert_close(correlate1d(image, taps, dim, mode), reference)
