"""Tests of l1bsr_core.arrays and l1bsr_core.tensors: the one rounding to uint16, band checks, tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core.arrays import as_band, as_band_pair, to_uint16
from l1bsr_core.errors import InputError
from l1bsr_core.tensors import image_to_tensor, tensor_to_image


def test_to_uint16_rounds_half_to_even_and_clips_without_wrapping():
    floats = np.array([-5.0, 0.5, 1.5, 2.5, 65534.6, 70000.0])
    np.testing.assert_array_equal(to_uint16(floats), [0, 0, 2, 2, 65535, 65535])
    np.testing.assert_array_equal(to_uint16(np.array([-1, 65536], np.int32)), [0, 65535])
    np.testing.assert_array_equal(to_uint16(np.array([70000], np.uint32)), [65535])
    assert to_uint16(np.array([True, False])).tolist() == [1, 0]
    assert to_uint16(np.zeros((2, 3), np.float32)).dtype == np.uint16


def test_to_uint16_refuses_nan_and_non_numbers():
    with pytest.raises(InputError, match="NaN"):
        to_uint16(np.array([1.0, np.nan]))
    with pytest.raises(InputError, match="real numbers"):
        to_uint16(np.array(["a"]))


def test_band_checks():
    assert as_band([[1, 2], [3, 4]], "x").dtype == np.float64
    with pytest.raises(ValueError, match="x must be a 2D"):
        as_band(np.zeros((2, 2, 2)), "x")
    with pytest.raises(ValueError, match="NaN"):
        as_band([[np.inf]], "x")
    with pytest.raises(ValueError, match="a and b must have the same shape"):
        as_band_pair(np.zeros((2, 2)), np.zeros((2, 3)), ("a", "b"))


def test_image_tensor_round_trip():
    image = np.random.default_rng(0).integers(0, 4000, (5, 7, 4)).astype(np.uint16)
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, 4, 5, 7) and tensor.dtype == torch.float32
    assert torch.equal(tensor[0, 2], torch.from_numpy(image[..., 2].astype(np.float32)))
    np.testing.assert_array_equal(tensor_to_image(tensor), image.astype(np.float32))
    with pytest.raises(ValueError, match=r"\(1, C, H, W\)"):
        tensor_to_image(tensor[0])
