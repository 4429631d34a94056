"""``l1bsr product`` and ``l1bsr pairs``: outputs, manifest, one-line errors, partial failures."""

import json
import shutil

import numpy as np
import pytest
import tifffile
import torch

from l1bsr_core.cli import main
from l1bsr_core.products.process import aligned_strip, open_product


def run(capsys, *argv):
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    captured = capsys.readouterr()
    return status, [line for line in captured.err.splitlines() if line.strip() and "\r" not in line]


def finished_files(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_product_none_writes_one_strip_per_detector_and_a_manifest(synthetic_product_zip, tmp_path, capsys):
    status, errors = run(capsys, "product", str(synthetic_product_zip), str(tmp_path / "out"), "--task", "none",
                         "--detectors", "1,3")
    assert status == 0 and errors == []
    assert finished_files(tmp_path / "out") == ["D01.tif", "D03.tif", "manifest.json"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["task"] == "none" and [d["detector"] for d in manifest["detectors"]] == [1, 3]
    record = manifest["detectors"][0]
    assert record["status"] == "done" and [o["band"] for o in record["coarse_offsets"]] == ["B", "R", "NIR"]
    assert abs(record["coarse_offsets"][0]["applied_dy"]) > 15


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "nothing.SAFE", "does not exist"),
    (lambda tmp: (tmp / "plain").mkdir() or tmp / "plain", "is not a Sentinel-2 L1B product"),
    (lambda tmp: (tmp / "S2A_MSIL2A_X.SAFE" / "GRANULE").mkdir(parents=True) or tmp / "S2A_MSIL2A_X.SAFE",
     "named like a Sentinel-2 L2A product but holds no MTD_MSIL2A.xml"),
    (lambda tmp: (tmp / "bad.zip").write_bytes(b"PK\x03\x04 truncated") and tmp / "bad.zip", "not a readable zip"),
])
def test_bad_products_get_one_line_and_leave_nothing(tmp_path, capsys, make, message):
    status, errors = run(capsys, "product", str(make(tmp_path)), str(tmp_path / "out"), "--task", "none")
    assert status == 2 and len(errors) == 1 and message in errors[0]
    assert finished_files(tmp_path / "out") == []


@pytest.mark.parametrize("argv, message", [
    (["--detectors", "0,13"], "detectors are numbered 1 to 12"),
    (["--detectors", "7"], "has no granule of detector(s) 7"),
    (["--task", "denoise"], "invalid choice"),
    (["--task", "none", "--tile", "64"], "--task none runs none"),
])
def test_bad_arguments_get_one_line(synthetic_product, tmp_path, capsys, argv, message):
    status, errors = run(capsys, "product", str(synthetic_product.path), str(tmp_path / "out"), *argv)
    assert status == 2 and len(errors) == 1 and message in errors[0]
    assert finished_files(tmp_path / "out") == []


@pytest.mark.parametrize("argv, message", [
    (["--device", "cuda:99"], "'cuda:99'"),
    (["--weights", "corrupt.pt"], "corrupt.pt is not a weights-only torch checkpoint"),
    (["--weights", "nope"], "unknown CSR weights 'nope'"),
    (["--tile", "31"], "tile size is 31"),
])
def test_network_arguments_are_checked_once_before_anything_is_written(use_random_weights, synthetic_product,
                                                                        tmp_path, capsys, argv, message):
    """They were checked by every detector: one line each, and an empty OUT_DIR left behind."""
    (tmp_path / "corrupt.pt").write_bytes(b"garbage")
    argv = [str(tmp_path / arg) if arg.endswith(".pt") else arg for arg in argv]
    status, errors = run(capsys, "product", str(synthetic_product.path), str(tmp_path / "out"),
                         "--task", "registration", *argv)
    assert status == 2 and len(errors) == 1 and message in errors[0], errors
    assert "detector" not in errors[0] and not (tmp_path / "out").exists()


def test_an_l2a_product_refused_after_the_window_is_read_leaves_no_folder(use_random_weights, tmp_path, capsys):
    from coregistered_support import make_product

    product = make_product(tmp_path / "in", level="L2A", baseline="05.09", as_zip=True)
    for argv in (["--task", "superresolution", "--device", "cuda:99"], ["--task", "none", "--window", "0,0,9999,9"]):
        status, errors = run(capsys, "product", str(product.path), str(tmp_path / "out"), *argv)
        assert status == 2 and len(errors) == 1 and not (tmp_path / "out").exists(), errors


DEVICES = ["cpu", "cpu:0",  # cpu:0: the check before the work once loaded on "cpu", the work again on cpu:0
           pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))]


@pytest.mark.parametrize("device", DEVICES)
def test_each_network_is_loaded_once_on_the_device_that_runs_it(use_random_weights, synthetic_product, tmp_path,
                                                                 capsys, monkeypatch, device):
    """The check before any work loaded them on the CPU: on a GPU the detectors loaded them again."""
    from l1bsr_core import weights

    loads, load_model = [], weights.load_model

    def counted(kind, name_or_path=None, device="cpu"):
        loads.append((kind, str(device)))
        return load_model(kind, name_or_path, device)

    weights._cached_model.cache_clear()
    monkeypatch.setattr(weights, "load_model", counted)
    status, _ = run(capsys, "product", str(synthetic_product.path), str(tmp_path / "out"),
                    "--task", "superresolution", "--detectors", "1,3", "--device", device)
    assert status == 0
    assert sorted(loads) == [("csr", device), ("rec", device)]  # the REC and the CSR it aligns with


@pytest.fixture
def undecodable_d02(synthetic_product, tmp_path):
    """A copy of the synthetic product whose detector 2 has a band file that does not decode."""
    copy = tmp_path / synthetic_product.path.name
    shutil.copytree(synthetic_product.path, copy)
    victim = sorted(copy.glob("GRANULE/*D02*/IMG_DATA/*_B04.jp2"))[0]
    victim.write_bytes(victim.read_bytes()[:300])
    return copy, victim


def test_a_granule_that_does_not_decode_costs_only_its_detector(undecodable_d02, tmp_path, capsys):
    copy, victim = undecodable_d02
    status, errors = run(capsys, "product", str(copy), str(tmp_path / "out"), "--task", "none")
    assert status == 1 and len(errors) == 1 and "detector 2" in errors[0] and victim.name in errors[0]
    assert finished_files(tmp_path / "out") == ["D01.tif", "D03.tif", "manifest.json"]
    statuses = {d["detector"]: d["status"] for d in json.loads((tmp_path / "out" / "manifest.json").read_text())[
        "detectors"]}
    assert statuses == {1: "done", 2: "failed", 3: "done"}


@pytest.mark.parametrize("before", [None, [], ["notes.txt"]])
def test_a_failed_run_removes_only_the_out_dir_it_made(undecodable_d02, tmp_path, capsys, before):
    """Every detector failing: a new OUT_DIR is removed (nothing was written in it); one that was
    there before (``before``: its files) is left as it was."""
    out = tmp_path / "only2"
    if before is not None:
        out.mkdir()
        for name in before:
            (out / name).write_text("the user's")
    status, errors = run(capsys, "product", str(undecodable_d02[0]), str(out), "--task", "none", "--detectors", "2")
    assert status == 2 and len(errors) == 1 and "detector 2" in errors[0]
    assert out.exists() == (before is not None) and finished_files(out) == (before or [])


@pytest.mark.parametrize("argv, message", [
    (["--overlap", "0"], "--overlap 0 px is outside what strips 400 px wide allow; expected 10 to 250 px"),
    (["--overlap", "1"], "--overlap 1 px"),
    (["--overlap", "9"], "expected 10 to 250 px"),
    (["--overlap", "-5"], "--overlap -5 px"),
    (["--overlap", "251"], "--overlap 251 px"),
    (["--size", "100000"], "--size 100000 is longer than the strips of detectors 1 and 2 (512 rows); "
                           "expected at most 512 rows"),
    (["--size", "32"], "expected at least 64 rows"),
])
def test_pairs_refuse_sizes_and_overlaps_outside_what_works(synthetic_product, tmp_path, capsys, argv, message):
    """They were: a traceback (overlap 0, 1), or pairs.json with 0 pairs and exit 1 (-5, a size beyond the strips)."""
    status, errors = run(capsys, "pairs", str(synthetic_product.path), str(tmp_path / "out"), *argv)
    assert status == 2 and len(errors) == 1 and message in errors[0], errors
    assert not (tmp_path / "out").exists()


def test_pairs_show_the_same_ground_and_a_training_run_starts_from_them(synthetic_product, tmp_path, capsys):
    out = tmp_path / "pairs"
    status, _ = run(capsys, "pairs", str(synthetic_product.path), str(out), "--size", "128")
    assert status == 0
    record = json.loads((out / "pairs.json").read_text())
    assert [p["detectors"] for p in record["pairs"]] == [[1, 2], [2, 3]]
    firsts = sorted(out.glob("*_0.tif"))
    assert len(firsts) >= 4
    product = open_product(synthetic_product.path)
    strips = {d: aligned_strip(product, d)[0].bgrn for d in (1, 2)}
    first = tifffile.imread(firsts[0])
    second = tifffile.imread(str(firsts[0]).replace("_0.tif", "_1.tif"))
    assert first.shape == second.shape and first.dtype == np.uint16
    # the crops are the strips' pixels (no resampling) ...
    overlap = record["pairs"][0]["overlap"]
    assert overlap["width"] == pytest.approx(synthetic_product.overlap, abs=1)
    assert any(np.array_equal(first, strips[1][y:y + 128, -overlap["width"] + 4:][:, :first.shape[1]])
               for y in range(0, strips[1].shape[0] - 127))
    # ... and a training run reads them (the README's command, two steps)
    from l1bsr_core.train.__main__ import main as train

    assert train(["csr", "--out", str(tmp_path / "run"), "--steps", "2", "--batch", "2", "--crop", "64",
                  "--no-procedural", "--real-pairs", str(out), "--val-every", "100", "--ckpt-every", "2"]) == 0
    assert (tmp_path / "run" / "last.pt").is_file()
