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


def test_a_window_of_a_strip_reads_its_rows_across_the_granules_seam(synthetic_product):
    source = StripSource(open_product(synthetic_product.path).granules, 1)
    image = synthetic_product.images[1]
    assert source.shape == image.shape
    np.testing.assert_array_equal(source[200:300, 50:170], image[200:300, 50:170])  # across the granules' seam
    np.testing.assert_array_equal(source.read(-10, 40), image[:40])  # clipped to the strip
    np.testing.assert_array_equal(source[300:], image[300:])


def test_a_pass_over_the_strip_decodes_each_granule_once_and_keeps_two(tmp_path, monkeypatch):
    """Blocks with context straddle granules; a top-to-bottom pass decodes each granule once (the
    last two decoded are kept), and what it reads equals the granules as written."""
    from l1bsr_core.products import strips

    made = write_synthetic_product(tmp_path, detectors=(1,), granules=3, rows=128, cols=160, overlap=60)
    decoded = []
    original = strips.read_granule
    monkeypatch.setattr(strips, "read_granule", lambda granule, *args: decoded.append(granule.files.name)
                        or original(granule, *args))
    source = StripSource(open_product(made.path).granules, 1)
    image = made.images[1]
    for start in range(0, 384, 96):  # blocks of 96 rows with 16 of context on each side
        np.testing.assert_array_equal(source[max(start - 16, 0):start + 112], image[max(start - 16, 0):start + 112])
    assert len(decoded) == 3 and len(set(decoded)) == 3
    np.testing.assert_array_equal(source[200:300, 10:20], image[200:300, 10:20])  # granules 2 and 3: kept
    assert len(decoded) == 3
    np.testing.assert_array_equal(source[0:10], image[0:10])  # granule 1 was dropped: decoded again
    assert len(decoded) == 4 and decoded[-1] == decoded[0]


@pytest.mark.parametrize("task, decodes", [("none", 6), ("registration", 6), ("superresolution", 8)])
def test_passes_over_a_long_strip_alternate_directions_and_decode_fewer_granules(tmp_path, monkeypatch, task,
                                                                                  decodes):
    """4 granules, 2 kept: each pass starts where the last one ended (process.offsets_upward), so the
    coarse offsets, (super-resolution) the band means and the blocks of rows decode 2n − 2 = 6 /
    3n − 4 = 8 granules, not 2n = 8 / 3n = 12; what is written is the task on the strip as before."""
    from l1bsr_core.products import process, strips

    made = write_synthetic_product(tmp_path, detectors=(1,), granules=4, rows=288, cols=128, overlap=60, seed=3)
    decoded = []
    original = strips.read_granule
    monkeypatch.setattr(strips, "read_granule", lambda granule, *args: decoded.append(granule.files.name)
                        or original(granule, *args))
    record = process.process_detector(made.path, 1, tmp_path / f"{task}.tif", task, block_rows=288, context_rows=16)
    assert record["blocks"] == 4
    assert len(decoded) == decodes
    down = [granule.files.name for granule in StripSource(open_product(made.path).granules, 1).own]
    upward_first = task != "superresolution"  # registration's offsets go up; super-resolution's means do
    assert decoded[:4] == (down[::-1] if upward_first else down)  # the first pass decodes every granule
    assert decoded[-2:] == down[2:]  # the blocks, top to bottom, find the first two granules kept
    if task == "none":  # what is written: the coarsely aligned strip, as a whole-strip read gives it
        import rasterio
        with rasterio.open(tmp_path / "none.tif") as written:
            pixels = written.read().transpose(1, 2, 0)
        np.testing.assert_array_equal(pixels, process.aligned_strip(process.open_product(made.path), 1)[0].bgrn)


def test_coarse_offsets_and_band_means_do_not_depend_on_the_pass_direction(synthetic_product):
    from l1bsr_core.arrays import band_sums
    from l1bsr_core.products.coarse import aligned_rows, measure_offsets
    from l1bsr_core.products.process import strip_band_means

    image = synthetic_product.images[1]
    offsets = measure_offsets(image.copy())
    assert measure_offsets(image.copy(), upward=True) == offsets
    count, total, _ = band_sums(aligned_rows(image, offsets, 0, image.shape[0]))
    np.testing.assert_array_equal(strip_band_means(image, offsets, block_rows=96), total / np.maximum(count, 1))


def test_granules_that_share_rows_are_refused_with_their_names(synthetic_product):
    import dataclasses

    from l1bsr_core.products.strips import detector_granules

    granules = open_product(synthetic_product.path).granules
    own = detector_granules(granules, 1)  # two granules, the second starting on the row after the first's last
    first, second = own[0].metadata, own[1].metadata
    assert second.first_row == first.first_row + first.rows and StripSource(own, 1).missing_rows == []

    def moved(rows_up: int, rows: int | None = None):
        metadata = dataclasses.replace(second, first_row=second.first_row - rows_up, rows=rows or second.rows)
        return [own[0], dataclasses.replace(own[1], metadata=metadata)]

    names = f"{own[0].files.name} and {own[1].files.name} share datastrip rows"
    last = first.first_row + first.rows  # the first granule's last row, 1-based
    for granules_, shared in ((moved(1), f"{last}–{last}"), (moved(5), f"{last - 4}–{last}"),
                              (moved(20, rows=10), f"{last - 19}–{last - 10}")):  # the second inside the first
        with pytest.raises(InputError, match=f"{names} {shared} ") as error:
            StripSource(granules_, 1)
        assert "\n" not in str(error.value)
