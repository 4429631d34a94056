"""Stored values ↔ working DN: exact round trips, no-data kept, nothing valid turned into no-data."""

import numpy as np
import pytest

from l1bsr_core.radiometry import WORKING_OFFSET_DN, WORKING_QUANTIFICATION, Radiometry


def stored_dn(offset: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    dn = rng.integers(1, 9000, (16, 16, 4)).astype(np.uint16) + np.uint16(-offset if offset < 0 else 0)
    dn[0, :3] = 0  # no-data
    return dn


@pytest.mark.parametrize("offset", [0, -1000])
def test_integer_products_round_trip_exactly(offset):
    radiometry = Radiometry.integer(10000, offset, source="test")
    dn = stored_dn(offset)
    working = radiometry.to_working(dn)
    np.testing.assert_array_equal(radiometry.from_working(working), dn)
    assert (working[0, :3] == 0).all() and (working[1:] > 0).all()
    reflectance = (dn[1:].astype(float) + offset) / 10000
    np.testing.assert_allclose(working[1:], reflectance * WORKING_QUANTIFICATION + WORKING_OFFSET_DN)


def test_negative_l2a_reflectance_stays_valid():
    radiometry = Radiometry.integer(10000, -1000, source="test")
    dn = np.full((2, 2, 4), 400, np.uint16)  # reflectance -0.06: dark water in L2A
    working = radiometry.to_working(dn)
    assert (working > 0).all()
    np.testing.assert_array_equal(radiometry.from_working(working), dn)


def test_float_reflectance_round_trips_on_the_working_grid():
    radiometry = Radiometry.reflectance(None, source="test")
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 0.8, (8, 8, 4)).astype(np.float32)
    values[0, 0] = np.nan
    values[0, 1] = 0.0  # all four bands 0: outside the data
    values[0, 2, 0] = 0.0  # one band 0: a valid dark pixel
    back = radiometry.from_working(radiometry.to_working(values))
    assert back.dtype == np.float32
    assert np.isnan(back[0, 0]).all() and np.isnan(back[0, 1]).all()
    valid = ~np.isnan(back).any(axis=-1)
    np.testing.assert_allclose(back[valid], values[valid], atol=0.5 / WORKING_QUANTIFICATION)
    assert back[0, 2, 0] == 0.0


def test_declared_float_nodata_is_kept():
    radiometry = Radiometry.reflectance(-9999.0, source="test")
    values = np.full((2, 2, 4), 0.2, np.float32)
    values[1, 1, 2] = -9999.0
    back = radiometry.from_working(radiometry.to_working(values))
    assert (back[1, 1] == -9999.0).all() and (back[0, 0] == np.float32(0.2)).all()


def test_gdal_scale_offset_reads_reflectance():
    scale, offset = Radiometry.integer(10000, -1000, source="test").gdal_scale_offset()
    assert 2000 * scale + offset == pytest.approx(0.1)
    assert Radiometry.reflectance(None, source="x").gdal_scale_offset() == (1.0, 0.0)
    assert "(DN - 1000) / 10000" in Radiometry.integer(10000, -1000, source="x").describe()
