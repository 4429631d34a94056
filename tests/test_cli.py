"""The command line end to end on the shared real crops, and its one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, weights_dir=None, cwd=ROOT):
    env = dict(os.environ)
    if weights_dir is not None:
        env["L1BSR_WEIGHTS_DIR"] = str(weights_dir)
    return subprocess.run([sys.executable, "-m", "l1bsr_core", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("index", range(7))
def test_both_tasks_on_each_real_crop(random_weights_dir, real_crops, tmp_path, index):
    if index >= len(real_crops):
        pytest.skip("fewer shared crops")
    src = real_crops[index]
    sr, reg, flow = tmp_path / "sr.tif", tmp_path / "reg.tif", tmp_path / "flow.npy"
    result = cli(src, sr, "--task", "superresolution", weights_dir=random_weights_dir)
    assert result.returncode == 0, result.stderr
    assert tifffile.imread(sr).shape == (704, 704, 4)
    result = cli(src, reg, "--task", "registration", "--flow", flow, weights_dir=random_weights_dir)
    assert result.returncode == 0, result.stderr
    registered = tifffile.imread(reg)
    assert registered.shape == (352, 352, 4) and registered.dtype == np.uint16
    np.testing.assert_array_equal(registered[..., 1], tifffile.imread(src)[..., 1])
    assert np.load(flow).shape == (3, 2, 352, 352)


def test_tiled_run_shows_progress(random_weights_dir, real_crops, tmp_path):
    result = cli(real_crops[0], tmp_path / "sr.tif", "--tile", "128", weights_dir=random_weights_dir)
    assert result.returncode == 0
    assert "9/9 tiles" in result.stderr


def test_no_trained_weights_is_said_not_faked(real_crops, tmp_path):
    empty = tmp_path / "empty-weights"
    empty.mkdir()
    out = tmp_path / "out.tif"
    assert_one_line_error(cli(real_crops[0], out, weights_dir=empty), "no trained REC weights")
    assert not out.exists()


def test_unknown_weights_name_lists_valid_ones(random_weights_dir, real_crops, tmp_path):
    result = cli(real_crops[0], tmp_path / "o.tif", "--weights", "nope", weights_dir=random_weights_dir)
    assert_one_line_error(result, "unknown REC weights 'nope'", "rec")


BAD_INPUTS = {
    "three_bands.tif": lambda p: tifffile.imwrite(p, np.zeros((64, 64, 3), np.uint16)),
    "eight_bit.tif": lambda p: tifffile.imwrite(p, np.zeros((64, 64, 4), np.uint8)),
    "float.tif": lambda p: tifffile.imwrite(p, np.zeros((64, 64, 4), np.float32)),
    "empty.tif": lambda p: p.write_bytes(b""),
    "renamed_png.tif": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    "tiny.tif": lambda p: tifffile.imwrite(p, np.zeros((8, 8, 4), np.uint16)),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_inputs_get_one_line_and_no_output(random_weights_dir, tmp_path, name):
    src = tmp_path / name
    BAD_INPUTS[name](src)
    out = tmp_path / "out.tif"
    result = cli(src, out, weights_dir=random_weights_dir)
    assert_one_line_error(result, "expected")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_truncated_real_crop(random_weights_dir, real_crops, tmp_path):
    data = real_crops[0].read_bytes()
    src = tmp_path / "cut.tif"
    src.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.tif"
    assert_one_line_error(cli(src, out, weights_dir=random_weights_dir), "expected")
    assert not out.exists()


def test_missing_input(random_weights_dir, tmp_path):
    assert_one_line_error(cli(tmp_path / "nope.tif", tmp_path / "o.tif", weights_dir=random_weights_dir))


def test_flow_only_for_registration(random_weights_dir, real_crops, tmp_path):
    result = cli(real_crops[0], tmp_path / "o.tif", "--flow", tmp_path / "f.npy", weights_dir=random_weights_dir)
    assert_one_line_error(result, "--flow")
