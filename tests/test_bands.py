"""Tests of l1bsr_core.bands: band names and indices, the reference/moving pairing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from l1bsr_core.bands import (
    BAND_NAMES,
    GREEN,
    MOVING_BAND_NAMES,
    MOVING_BANDS,
    NIR,
    REFERENCE_BAND,
    SENTINEL2_BANDS,
    band_index,
    band_pairs,
)


def test_band_index_takes_short_and_sentinel2_names():
    assert [band_index(name) for name in BAND_NAMES] == [0, 1, 2, 3]
    assert [band_index(name) for name in SENTINEL2_BANDS] == [0, 1, 2, 3]
    assert band_index(" nir ") == NIR
    with pytest.raises(ValueError, match="B, G, R, NIR"):
        band_index("SWIR")


def test_moving_band_names_follow_the_flow_order():
    assert MOVING_BAND_NAMES == tuple(BAND_NAMES[b] for b in MOVING_BANDS) == ("B", "R", "NIR")
    assert REFERENCE_BAND == GREEN and GREEN not in MOVING_BANDS


def test_band_pairs_on_numpy_and_torch():
    image = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # value % 4 = band index
    triples = list(band_pairs(image))
    assert [band for band, _, _ in triples] == list(MOVING_BANDS)
    for band, reference, moving in triples:
        assert reference.shape == moving.shape == (2, 3)
        assert (reference % 4 == GREEN).all() and (moving % 4 == band).all()
    tensor = torch.arange(4).view(1, 4, 1, 1).expand(2, 4, 5, 6)
    for band, reference, moving in band_pairs(tensor, axis=1):
        assert reference.shape == (2, 5, 6) and (reference == GREEN).all() and (moving == band).all()
