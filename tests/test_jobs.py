"""One file in, one file out: the unit of work the command line and the batch workers share."""

import numpy as np
import pytest
import tifffile

from l1bsr_core.errors import ArgumentError
from l1bsr_core.jobs import is_plain_bgrn_tiff, process_file


@pytest.fixture
def crop(tmp_path):
    y, x = np.mgrid[:64, :64]
    path = tmp_path / "crop.tif"
    tifffile.imwrite(path, np.stack([1000 + 7 * x + 3 * y + 50 * b for b in range(4)], -1).astype(np.uint16))
    return path


def test_both_tasks_and_the_flow(use_random_weights, crop, tmp_path):
    process_file(crop, tmp_path / "sr.tif", "superresolution")
    assert tifffile.imread(tmp_path / "sr.tif").shape == (128, 128, 4)
    process_file(crop, tmp_path / "reg.tif", "registration", flow=tmp_path / "flow.npy", tile=0)
    assert tifffile.imread(tmp_path / "reg.tif").shape == (64, 64, 4)
    assert np.load(tmp_path / "flow.npy").shape == (3, 2, 64, 64)


@pytest.mark.parametrize("task, flow, fragment", [("denoise", None, "unknown task"),
                                                  ("superresolution", "f.npy", "only produced by the registration")])
def test_refused_before_reading(crop, tmp_path, task, flow, fragment):
    with pytest.raises(ArgumentError, match=fragment):
        process_file(crop, tmp_path / "o.tif", task, flow=None if flow is None else tmp_path / flow)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crop.tif"]


def test_only_a_tiff_whose_header_shows_an_l1b_crop_is_plain(tmp_path, example_crops):
    """Plain: GDAL could say nothing more about it (no GeoTIFF or GDAL tags, no side-car)."""
    crop = np.full((40, 40, 4), 500, np.uint16)
    assert is_plain_bgrn_tiff(example_crops[0])
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(crop, -1, 0))
    assert is_plain_bgrn_tiff(tmp_path / "planar.tif")
    tifffile.imwrite(tmp_path / "geo.tif", crop, extratags=[(33550, 12, 3, (10.0, 10.0, 0.0), True)])
    tifffile.imwrite(tmp_path / "tagged.tif", crop, extratags=[(42112, 2, 0, "<GDALMetadata></GDALMetadata>", True)])
    tifffile.imwrite(tmp_path / "float.tif", crop.astype(np.float32))
    tifffile.imwrite(tmp_path / "rgb.tif", crop[..., :3])
    tifffile.imwrite(tmp_path / "sidecar.tif", crop)
    (tmp_path / "sidecar.tif.aux.xml").write_text("<PAMDataset/>")
    (tmp_path / "not.tif").write_bytes(b"II*\x00 not a tiff")
    for name in ("geo", "tagged", "float", "rgb", "sidecar", "not", "missing"):
        assert not is_plain_bgrn_tiff(tmp_path / f"{name}.tif"), name
