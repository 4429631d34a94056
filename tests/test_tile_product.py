"""L1C/L2A products in the real SAFE layout, opened through GDAL's SENTINEL2 driver."""

import numpy as np
import pytest
from coregistered_support import EPSG, ORIGIN, SIDE, make_product, reflectance_scene
from rasterio.windows import Window

from l1bsr_core.errors import InputError
from l1bsr_core.products.tile_product import describe_tile_product, is_tile_product, open_tile_product


@pytest.mark.parametrize("level", ["L1C", "L2A"])
@pytest.mark.parametrize("baseline, offset", [("03.01", 0.0), ("05.09", -1000.0)])
@pytest.mark.parametrize("as_zip", [False, True])
def test_products_open_with_their_level_offset_and_pixels(tmp_path, level, baseline, offset, as_zip):
    product = make_product(tmp_path, level=level, baseline=baseline, as_zip=as_zip)
    assert is_tile_product(product.path)
    info = describe_tile_product(product.path)
    assert (info.level, info.baseline, info.radiometry.offset) == (level, baseline, offset)
    with open_tile_product(product.path) as opened:
        assert opened.shape == (SIDE, SIDE) and opened.crs.to_epsg() == EPSG
        assert (opened.transform.c, opened.transform.f, opened.transform.a) == (*ORIGIN, 10.0)
        np.testing.assert_array_equal(opened.read(Window(0, 0, SIDE, SIDE)), product.dn)
        np.testing.assert_array_equal(opened.read(Window(20, 30, 40, 50)), product.dn[30:80, 20:60])
        assert not opened.domain.in_domain and opened.domain.level == level
    reflectance = product.reflectance[20:]
    np.testing.assert_allclose(reflectance, np.rint(reflectance_scene()[20:] * 10000) / 10000, atol=1e-6)


def test_a_missing_band_file_is_named(tmp_path):
    product = make_product(tmp_path, omit_bands=("B08",))
    with pytest.raises(InputError, match="lacks the band file .*B08"):
        open_tile_product(product.path)


def test_not_a_product(tmp_path):
    (tmp_path / "plain").mkdir()
    assert not is_tile_product(tmp_path / "plain")
    with pytest.raises(InputError, match="holds no MTD_MSIL1C.xml or MTD_MSIL2A.xml"):
        describe_tile_product(tmp_path / "plain")


def test_offset_missing_from_a_recent_baseline_is_refused(tmp_path):
    product = make_product(tmp_path, level="L2A", baseline="05.09")
    metadata = product.path / "MTD_MSIL2A.xml"
    text = metadata.read_text()
    start, end = text.index("<BOA_ADD_OFFSET_VALUES_LIST>"), text.index("</BOA_ADD_OFFSET_VALUES_LIST>")
    metadata.write_text(text[:start] + text[end + len("</BOA_ADD_OFFSET_VALUES_LIST>"):])
    with pytest.raises(InputError, match="lists no BOA_ADD_OFFSET"):
        describe_tile_product(product.path)
