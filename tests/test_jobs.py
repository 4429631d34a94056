"""One file in, one file out: the unit of work the command line and the batch workers share."""

import numpy as np
import pytest
import tifffile

from l1bsr_core.errors import ArgumentError
from l1bsr_core.jobs import process_file


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
