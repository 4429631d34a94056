"""Detector strips read through GDAL: BGRN order, granules stacked along track, gaps as no-data."""

import numpy as np
import pytest

from l1bsr_core.errors import InputError
from l1bsr_core.products.process import open_product
from l1bsr_core.products.strips import StripSource, read_strip
from l1bsr_core.products.synthetic import write_synthetic_product


def test_strips_equal_the_written_pixels_in_bgrn_order(synthetic_product):
    product = open_product(synthetic_product.path)
    for detector in synthetic_product.detectors:
        strip = read_strip(product.granules, detector)
        assert strip.bgrn.dtype == np.uint16
        np.testing.assert_array_equal(strip.bgrn, synthetic_product.images[detector])
        assert strip.missing_rows == [] and len(strip.granules) == 2
        assert len(strip.gcps) == 8 and max(p.row for p in strip.gcps) == synthetic_product.strip_rows


def test_zip_reads_the_same_pixels(synthetic_product, synthetic_product_zip):
    strip = read_strip(open_product(synthetic_product_zip).granules, 2)
    np.testing.assert_array_equal(strip.bgrn, synthetic_product.images[2])


def test_a_granule_missing_from_the_product_leaves_no_data(tmp_path):
    made = write_synthetic_product(tmp_path, detectors=(1,), granules=3, rows=128, cols=160, overlap=60,
                                   skip_granules=[(1, 1)])
    product = open_product(made.path)
    assert len(product.missing_granules()) == 1
    strip = read_strip(product.granules, 1)
    assert strip.missing_rows == [(128, 256)]
    assert not strip.bgrn[128:256].any()
    np.testing.assert_array_equal(strip.bgrn[256:], made.images[1][256:])


def test_a_granule_that_does_not_decode_is_named(synthetic_product, tmp_path):
    import shutil

    copy = tmp_path / synthetic_product.path.name
    shutil.copytree(synthetic_product.path, copy)
    victim = sorted(copy.glob("GRANULE/*D02*/IMG_DATA/*_B03.jp2"))[0]
    victim.write_bytes(victim.read_bytes()[:200])
    product = open_product(copy)
    with pytest.raises(InputError, match=f"does not decode: .*{victim.name}") as error:
        read_strip(product.granules, 2)
    assert str(copy) not in str(error.value)  # file names, not long paths
    read_strip(product.granules, 1)  # the others still read


def test_a_window_of_a_strip_decodes_only_its_granules_rows(synthetic_product):
    source = StripSource(open_product(synthetic_product.path).granules, 1)
    image = synthetic_product.images[1]
    assert source.shape == image.shape
    np.testing.assert_array_equal(source[200:300, 50:170], image[200:300, 50:170])  # across the granules' seam
    np.testing.assert_array_equal(source.read(-10, 40), image[:40])  # clipped to the strip
    np.testing.assert_array_equal(source[300:], image[300:])
