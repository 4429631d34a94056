"""The command line end to end on the project's example crops, and its one-line errors."""

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


@pytest.mark.parametrize("index", range(4))
def test_both_tasks_on_each_example_crop(random_weights_dir, example_crops, tmp_path, index):
    src = example_crops[index]
    side = tifffile.imread(src).shape[0]
    sr, reg, flow = tmp_path / "sr.tif", tmp_path / "reg.tif", tmp_path / "flow.npy"
    result = cli(src, sr, "--task", "superresolution", weights_dir=random_weights_dir)
    assert result.returncode == 0, result.stderr
    assert tifffile.imread(sr).shape == (2 * side, 2 * side, 4)
    result = cli(src, reg, "--task", "registration", "--flow", flow, weights_dir=random_weights_dir)
    assert result.returncode == 0, result.stderr
    registered = tifffile.imread(reg)
    assert registered.shape == (side, side, 4) and registered.dtype == np.uint16
    np.testing.assert_array_equal(registered[..., 1], tifffile.imread(src)[..., 1])
    assert np.load(flow).shape == (3, 2, side, side)


def test_tiled_run_shows_progress(random_weights_dir, example_crops, tmp_path):
    result = cli(example_crops[0], tmp_path / "sr.tif", "--tile", "64", weights_dir=random_weights_dir)
    assert result.returncode == 0
    assert "9/9 tiles" in result.stderr


MADE_SIDE = 64
"""Side of the crops these tests write themselves (no shared data needed)."""


@pytest.fixture
def made_crop(tmp_path) -> Path:
    """A valid (64, 64, 4) uint16 BGRN TIFF with GeoTIFF-free content, written by the test."""
    y, x = np.mgrid[:MADE_SIDE, :MADE_SIDE]
    path = tmp_path / "crop.tif"
    tifffile.imwrite(path, np.stack([1000 + 7 * x + 3 * y + 50 * b for b in range(4)], -1).astype(np.uint16))
    return path


def test_no_trained_weights_is_said_not_faked(made_crop, tmp_path):
    empty = tmp_path / "empty-weights"
    empty.mkdir()
    out = tmp_path / "out.tif"
    assert_one_line_error(cli(made_crop, out, weights_dir=empty), "no trained REC weights")
    assert not out.exists()


def test_unknown_weights_name_lists_valid_ones(random_weights_dir, made_crop, tmp_path):
    result = cli(made_crop, tmp_path / "o.tif", "--weights", "nope", weights_dir=random_weights_dir)
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


def test_truncated_crop(random_weights_dir, example_crops, tmp_path):
    data = example_crops[0].read_bytes()
    src = tmp_path / "cut.tif"
    src.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out.tif"
    assert_one_line_error(cli(src, out, weights_dir=random_weights_dir), "expected")
    assert not out.exists()


def test_missing_input(random_weights_dir, tmp_path):
    assert_one_line_error(cli(tmp_path / "nope.tif", tmp_path / "o.tif", weights_dir=random_weights_dir))


def test_flow_only_for_registration(random_weights_dir, made_crop, tmp_path):
    result = cli(made_crop, tmp_path / "o.tif", "--flow", tmp_path / "f.npy", weights_dir=random_weights_dir)
    assert_one_line_error(result, "--flow")


# --- every refused argument: one line, status 2, nothing written, the input intact -------------


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links followed) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def text_file(folder: Path) -> Path:
    (folder / "notes.pt").write_text("not weights\n")
    return folder / "notes.pt"


def pickled_object(folder: Path) -> Path:
    import datetime

    import torch
    torch.save({"when": datetime.datetime(2024, 1, 1)}, folder / "pickled.pt")  # loading would run code
    return folder / "pickled.pt"


def other_state_dict(folder: Path) -> Path:
    import torch
    torch.save({"conv.weight": torch.zeros(3)}, folder / "other.pt")
    return folder / "other.pt"


def garbage_safetensors(folder: Path) -> Path:
    (folder / "bad.safetensors").write_bytes(b"\xff" * 64)
    return folder / "bad.safetensors"


def symlink_to(crop: Path) -> Path:
    (crop.parent / "link.tif").symlink_to(crop)
    return crop.parent / "link.tif"


def detour_to(crop: Path) -> Path:
    (crop.parent / "sub").mkdir()
    return crop.parent / "sub" / ".." / crop.name


def damage_then_name_output(crop: Path) -> Path:
    """Point the crop's first IFD past the end of the file (tifffile logs its own complaint about
    it); return an output name beside it."""
    data = bytearray(crop.read_bytes())
    data[4:8] = (10**9).to_bytes(4, "little")
    crop.write_bytes(bytes(data))
    return crop.parent / "o.tif"


def cut_to_six_bytes_then_name_output(crop: Path) -> Path:
    """Keep only the crop's first 6 bytes (a TIFF header cut short); return an output name beside it."""
    crop.write_bytes(crop.read_bytes()[:6])
    return crop.parent / "o.tif"


REG = ("--task", "registration")
REFUSED = {  # name: (arguments after INPUT, built from the crop path; fragments of the one line)
    "negative tile": (lambda c: [c.parent / "o.tif", "--tile", "-1"], ("tile size is -1", "expected 0")),
    "tiny tile": (lambda c: [c.parent / "o.tif", "--tile", "5"], ("tile size is 5", "at least 32")),
    "registration tile too small": (lambda c: [c.parent / "o.tif", *REG, "--tile", "16"],
                                    ("tile size is 16", "at least 32")),
    "tile not a number": (lambda c: [c.parent / "o.tif", "--tile", "abc"], ("--tile", "invalid int")),
    "unknown device": (lambda c: [c.parent / "o.tif", "--device", "foo"], ("not a device name", "'cpu'")),
    "output is the input": (lambda c: [c], ("is the input file",)),
    "output links to the input": (lambda c: [symlink_to(c)], ("is the input file",)),
    "output spells the input": (lambda c: [detour_to(c)], ("is the input file",)),
    "output png": (lambda c: [c.parent / "out.png"], ("'.png'", ".tif or .tiff")),
    "output without extension": (lambda c: [c.parent / "out"], ("no extension", ".tif or .tiff")),
    "flow not npy": (lambda c: [c.parent / "o.tif", *REG, "--flow", c.parent / "f.txt"], ("'.txt'", ".npy")),
    "output folder missing": (lambda c: [c.parent / "no" / "o.tif"], ("does not exist",)),
    "weights a text file": (lambda c: [c.parent / "o.tif", "--weights", text_file(c.parent)], ("not a torch file",)),
    "weights a pickle": (lambda c: [c.parent / "o.tif", "--weights", pickled_object(c.parent)],
                         ("pickled Python object",)),
    "weights a tiff": (lambda c: [c.parent / "o.tif", *REG, "--weights", c], ("not a torch file",)),
    "weights of another net": (lambda c: [c.parent / "o.tif", "--weights", other_state_dict(c.parent)],
                               ("does not fit the REC network", "missing keys")),
    "weights bad safetensors": (lambda c: [c.parent / "o.tif", "--weights", garbage_safetensors(c.parent)],
                                ("not a readable safetensors",)),
    "damaged input": (lambda c: [damage_then_name_output(c)], ("holds no image", "tifffile: invalid offset")),
    "output missing": (lambda c: [], ("required: output",)),
    "header cut short": (lambda c: [cut_to_six_bytes_then_name_output(c)],
                         ("not a readable TIFF file", "expected a BGRN TIFF")),
    "output name too long": (lambda c: [c.parent / f"{'a' * 260}.tif"], ("File name too long",)),
    "weights empty": (lambda c: [c.parent / "o.tif", "--weights", ""], ("--weights", "an empty value")),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_arguments_get_one_line_and_change_nothing(random_weights_dir, made_crop, case):
    arguments, fragments = REFUSED[case]
    rest = arguments(made_crop)
    folder = made_crop.parent
    before = snapshot(folder)
    result = cli(made_crop, *rest, weights_dir=random_weights_dir)
    assert_one_line_error(result, *fragments)
    assert result.stdout == ""
    assert snapshot(folder) == before  # no output, no temporary file, the input byte for byte


def test_registration_on_a_made_crop_writes_image_and_flow(random_weights_dir, made_crop, tmp_path):
    out, flow = tmp_path / "registered.TIFF", tmp_path / "flow.npy"
    original = made_crop.read_bytes()
    result = cli(made_crop, out, *REG, "--flow", flow, weights_dir=random_weights_dir)
    assert result.returncode == 0 and result.stderr.startswith("l1bsr: note: input unknown level"), result.stderr
    assert len(result.stderr.splitlines()) == 1
    result = cli(made_crop, out, *REG, "--flow", flow, "--level", "l1b", weights_dir=random_weights_dir)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    registered = tifffile.imread(out)
    np.testing.assert_array_equal(registered[..., 1], tifffile.imread(made_crop)[..., 1])
    assert np.load(flow).shape == (3, 2, MADE_SIDE, MADE_SIDE)
    assert made_crop.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crop.tif", "flow.npy", "registered.TIFF"]


def test_help_says_the_default_task(capsys):
    from l1bsr_core.cli import build_parser

    help_text = " ".join(build_parser().format_help().split())
    assert "superresolution (the default" in help_text and "registration" in help_text


def test_an_error_after_a_bar_left_mid_way_starts_its_own_line(capsys):
    from l1bsr_core.command_kit import TileProgressBar, run_reporting_errors
    from l1bsr_core.errors import InputError

    def fails_half_way():
        bar = TileProgressBar("superresolution")
        bar(1, 3)
        raise InputError("cannot write out.tif: disk full")

    assert run_reporting_errors("l1bsr", fails_half_way) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "l1bsr: error: cannot write out.tif: disk full"
    assert err.split("\r")[-1].startswith("superresolution [") and "\nl1bsr: error" in err
