"""Tests of l1bsr_core.geotiff: the GeoTIFF tags of a 2× output, through read_bgrn / write_bgrn."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from l1bsr_core import geotiff
from l1bsr_core.io import TiffInfo, read_bgrn, write_bgrn

SIDE = 40
"""Side of the small synthetic crop (at least MIN_SIZE_PX)."""

MODEL_PIXEL_SCALE, MODEL_TIEPOINT, MODEL_TRANSFORMATION = 33550, 33922, 34264
GEO_KEY_DIRECTORY, GEO_ASCII_PARAMS = 34735, 34737
DOUBLE, SHORT, ASCII = 12, 3, 2
PIXEL_IS_AREA, PIXEL_IS_POINT = 1, 2
UTM_TIEPOINT = (0.0, 0.0, 0.0, 500_000.0, 4_000_000.0, 0.0)


def geokeys(raster_type: int) -> tuple[int, ...]:
    """GeoKeyDirectory: projected (1024 = 1), raster type (1025), EPSG:32631 (3072)."""
    return (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, raster_type, 3072, 0, 1, 32631)


def geo_extratags(raster_type: int = PIXEL_IS_AREA) -> list[tuple]:
    keys = geokeys(raster_type)
    return [
        (MODEL_PIXEL_SCALE, DOUBLE, 3, (10.0, 10.0, 0.0), True),
        (MODEL_TIEPOINT, DOUBLE, 6, UTM_TIEPOINT, True),
        (GEO_KEY_DIRECTORY, SHORT, len(keys), keys, True),
        (GEO_ASCII_PARAMS, ASCII, 0, "WGS 84 / UTM zone 31N|", True),
    ]


@pytest.fixture
def small_crop() -> np.ndarray:
    """(SIDE, SIDE, 4) uint16 ramp, distinct values per band."""
    return np.arange(SIDE * SIDE * 4, dtype=np.uint16).reshape(SIDE, SIDE, 4)


def test_geotiff_tags_rescaled(tmp_path, small_crop):
    source = tmp_path / "geo.tif"
    tifffile.imwrite(source, small_crop, metadata=None, extratags=geo_extratags())
    array, info = read_bgrn(source)
    assert info.tag_value(geotiff.MODEL_PIXEL_SCALE) is not None and not info.pixel_is_point
    out = tmp_path / "sr.tif"
    write_bgrn(out, np.repeat(np.repeat(array, 2, axis=0), 2, axis=1), like=info, scale=2)
    with tifffile.TiffFile(out) as tif:
        tags = tif.pages[0].tags
        assert tuple(tags[MODEL_PIXEL_SCALE].value) == (5.0, 5.0, 0.0)
        assert tuple(tags[MODEL_TIEPOINT].value) == UTM_TIEPOINT
        assert tuple(tags[GEO_KEY_DIRECTORY].value) == geokeys(PIXEL_IS_AREA)
        assert tags[GEO_ASCII_PARAMS].value == "WGS 84 / UTM zone 31N|"
        assert tif.series[0].shape == (2 * SIDE, 2 * SIDE, 4)


def test_geotiff_pixel_is_point_and_transformation():
    keys = geokeys(PIXEL_IS_POINT)
    transform = (10.0, 0.0, 0.0, 500_000.0, 0.0, -10.0, 0.0, 4_000_000.0) + (0.0,) * 7 + (1.0,)
    info = TiffInfo(
        extratags=(
            (MODEL_TIEPOINT, DOUBLE, 6, UTM_TIEPOINT, True),
            (MODEL_TRANSFORMATION, DOUBLE, 16, transform, True),
            (GEO_KEY_DIRECTORY, SHORT, len(keys), keys, True),
        )
    )
    assert info.pixel_is_point
    tags = {tag[0]: tag[3] for tag in geotiff.rescaled_tags(info.extratags, 2, pixel_is_point=True)}
    # the first input pixel centre (raster 0, 0) is output raster (0.5, 0.5)
    assert tags[MODEL_TIEPOINT] == (0.5, 0.5, 0.0, 500_000.0, 4_000_000.0, 0.0)
    # output pixel (0, 0) centre lies a quarter input pixel up-left of the input's first centre
    matrix = np.asarray(tags[MODEL_TRANSFORMATION]).reshape(4, 4)
    np.testing.assert_allclose(matrix[:2, :2], [[5.0, 0.0], [0.0, -5.0]])
    np.testing.assert_allclose(matrix[:2, 3], [500_000.0 - 2.5, 4_000_000.0 + 2.5])
