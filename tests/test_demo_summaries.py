"""Tests of l1bsr_demo.summaries: the tables and Markdown of a result."""

from __future__ import annotations

import math

import numpy as np
import pytest

from l1bsr_demo import summaries


def test_flow_stats_rows():
    flow = np.zeros((3, 2, 10, 10), np.float32)
    flow[0, 0] = 3.0
    flow[0, 1] = 4.0
    flow[2, 1, 0, 0] = -2.0
    rows = summaries.flow_stats(flow)
    assert [row[0] for row in rows] == ["B", "R", "NIR"]
    assert rows[0][1:] == [3.0, 4.0, 5.0, 5.0]
    assert rows[1][1:] == [0.0, 0.0, 0.0, 0.0]
    assert rows[2][2] == pytest.approx(-0.02) and rows[2][4] == 2.0
    assert len(summaries.FLOW_STATS_HEADERS) == len(rows[0])


def test_misregistration_rows_keep_band_order_and_mark_what_was_not_measured():
    before = {"B": {"median_px": 1.234, "p90_px": 2.0, "n_windows": 9},
              "R": {"median_px": math.nan, "p90_px": math.nan, "n_windows": 0}}
    rows = summaries.misregistration_rows(before, None)
    assert [row[0] for row in rows] == ["B", "R", "NIR"]
    assert rows[0] == ["B", 1.23, None, 2.0, None, "9 / 0"]
    assert rows[1][1] is None and rows[2][1:5] == [None] * 4
    assert len(rows[0]) == len(summaries.MISREGISTRATION_HEADERS)
    table = summaries.markdown_table(summaries.MISREGISTRATION_HEADERS, rows)
    assert table.splitlines()[2] == "| B | 1.23 | – | 2.0 | – | 9 / 0 |"


def test_psnr_table_and_flow_error_line():
    truth = np.random.default_rng(0).integers(100, 2000, (16, 16, 4)).astype(np.uint16)
    table = summaries.psnr_table(truth, {"exact": truth, "off by one": truth + 1})
    exact, off = table.splitlines()[2:]
    assert exact.startswith("| exact | – | – | – | – | – |")  # infinite PSNR is not a number to show
    assert off.startswith("| off by one |") and "| – |" not in off
    flow = np.zeros((3, 2, 16, 16), np.float32)
    true = flow.copy()
    true[1, 0] = 0.5
    line = summaries.flow_error_line(flow, true)
    assert "B 0.000" in line and "R 0.500" in line and "NIR 0.000" in line
