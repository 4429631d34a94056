"""The task of one batch item, called in this process: a result for every outcome, never an exception."""


import tifffile

from l1bsr_core.batch.manifest import DONE, FAILED
from l1bsr_core.batch.worker import run_item
from l1bsr_core.outputs import sha256_of

from batch_support import assert_within_one_dn, single_run, write_corrupt, write_crops


def test_an_item_is_done_like_a_single_run(use_random_weights, tmp_path):
    (crop,) = write_crops(tmp_path / "in", 1)
    output = tmp_path / "out.tif"
    result = run_item("registration", str(crop), str(output), threads=1)
    assert result["status"] == DONE and result["error"] is None and result["worker"] is None
    assert result["sha256"] == sha256_of(output) and result["seconds"] >= 0
    assert_within_one_dn(tifffile.imread(output), single_run(crop, tmp_path / "single", "registration"))


def test_a_bad_item_is_a_failed_result_in_one_line(use_random_weights, tmp_path):
    bad = write_corrupt(tmp_path / "bad.tif")
    result = run_item("superresolution", str(bad), str(tmp_path / "out.tif"), threads=1)
    assert result["status"] == FAILED and "\n" not in result["error"] and "bad.tif" in result["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tif"]


def test_a_detector_item_goes_to_the_products_api(tmp_path, synthetic_product):
    output = tmp_path / "P_D02.tif"
    result = run_item("registration", str(synthetic_product.path), str(output), 2, threads=1)
    assert result["status"] == DONE, result["error"]
    assert result["detail"]["detector"] == 2 and [o["band"] for o in result["detail"]["coarse_offsets"]] == [
        "B", "R", "NIR"]
    assert result["sha256"] == result["detail"]["sha256"] == sha256_of(output)
