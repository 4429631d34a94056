"""Tests of l1bsr_demo.figures: the flow colour legend, the flow panel, the arrows."""

from __future__ import annotations

import numpy as np
import pytest

from l1bsr_demo import figures


def test_legend_is_an_image_with_white_centre():
    legend = figures.flow_legend(2.0)
    assert legend.dtype == np.uint8 and legend.ndim == 3 and legend.shape[2] == 3
    assert min(legend.shape[:2]) > 150
    assert len(np.unique(legend.reshape(-1, 3), axis=0)) > 100  # a colour wheel, not a blank
    with pytest.raises(ValueError):
        figures.flow_legend(0.0)


def test_flow_panel_with_and_without_truth():
    flows = np.random.default_rng(2).normal(0, 1, (3, 2, 32, 32)).astype(np.float32)
    one_row = figures.flow_panel(flows)
    two_rows = figures.flow_panel(flows, true_flows=flows * 0.5)
    assert one_row.dtype == np.uint8 and two_rows.shape[0] > one_row.shape[0]


def test_quiver_returns_an_image():
    image = np.full((64, 80, 3), 128, np.uint8)
    flow = np.zeros((3, 2, 64, 80), np.float32)
    flow[:, 0] = 1.0
    picture = figures.quiver_figure(image, flow, step=16)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    # Arrows are drawn in their colour.
    red = (picture[..., 0] > 180) & (picture[..., 1] < 80) & (picture[..., 2] < 80)
    assert red.sum() > 50
    single = figures.quiver_figure(image, flow[0], step=16)
    assert single.shape[1] < picture.shape[1]
    with pytest.raises(ValueError, match="differ in size"):
        figures.quiver_figure(image[:32], flow)
