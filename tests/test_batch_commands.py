"""``l1bsr batch`` end to end on an embedded cluster (2 worker processes), and its one-line usage errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from l1bsr_core.batch import commands, engine
from l1bsr_core.batch.manifest import DONE, FAILED, SKIPPED

from batch_support import assert_within_one_dn, single_run, temp_files, write_corrupt, write_crops
from support import free_port

ROOT = Path(__file__).resolve().parents[1]
TASK = "superresolution"


def batch(*args, weights_dir):
    env = {**os.environ, "L1BSR_WEIGHTS_DIR": str(weights_dir)}
    return subprocess.run([sys.executable, "-m", "l1bsr_core", "batch", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=600)


def statuses(out: Path, run: int) -> dict[str, str]:
    """Output name → status in the manifest lines of the ``run``-th run (4 items a run)."""
    lines = (out / "manifest.jsonl").read_text().splitlines()[4 * run: 4 * run + 4]
    return {Path(json.loads(line)["output"]).name: json.loads(line)["status"] for line in lines}


def test_a_bad_input_fails_alone_reruns_skip_and_overwrite_redoes(random_weights_dir, use_random_weights, tmp_path):
    crops = write_crops(tmp_path / "in", 2) + write_crops(tmp_path / "more", 1, first_seed=5, prefix="extra")
    bad = write_corrupt(tmp_path / "in" / "bad.tif")
    out = tmp_path / "out"
    args = (tmp_path / "in", crops[2], out, "--task", TASK, "--workers", 2, "--threads-per-worker", 1)

    first = batch(*args, weights_dir=random_weights_dir)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    errors = [line for line in first.stderr.split("\n") if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith("l1bsr batch: error: ") and "bad.tif" in errors[0]
    assert statuses(out, 0) == {"bad.tif": FAILED, "crop00.tif": DONE, "crop01.tif": DONE, "extra00.tif": DONE}
    failed = next(json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()
                  if json.loads(line)["status"] == FAILED)
    assert failed["input"] == str(bad) and "\n" not in failed["error"] and failed["sha256"] is None
    for crop in crops:
        assert_within_one_dn(tifffile.imread(out / crop.name), single_run(crop, tmp_path / "single", TASK))
    assert sorted(p.name for p in out.iterdir()) == ["crop00.tif", "crop01.tif", "extra00.tif", "manifest.jsonl"]
    stamps = {crop.name: (out / crop.name).stat().st_mtime_ns for crop in crops}

    again = batch(*args, weights_dir=random_weights_dir)  # the failed item is tried again, the others skipped
    assert again.returncode == 1, again.stderr
    assert statuses(out, 1) == {"bad.tif": FAILED, "crop00.tif": SKIPPED, "crop01.tif": SKIPPED,
                                "extra00.tif": SKIPPED}
    assert {crop.name: (out / crop.name).stat().st_mtime_ns for crop in crops} == stamps

    bad.unlink()
    redo = batch(*args[:-4], "--overwrite", "--workers", 1, weights_dir=random_weights_dir)
    assert redo.returncode == 0, redo.stderr
    lines = (out / "manifest.jsonl").read_text().splitlines()[8:]
    assert [json.loads(line)["status"] for line in lines] == [DONE] * 3
    assert all((out / crop.name).stat().st_mtime_ns != stamps[crop.name] for crop in crops)
    assert temp_files(out) == []



def test_a_folder_that_is_its_own_out_dir_runs_again(random_weights_dir, use_random_weights, tmp_path):
    """``.tiff`` inputs write ``.tif`` outputs beside them; a re-run skips them, never reads its own outputs."""
    folder = tmp_path / "in"
    crop = write_crops(folder, 1)[0].rename(folder / "crop00.tiff")
    args = (folder, folder, "--task", "registration", "--workers", 1, "--threads-per-worker", 1)
    first = batch(*args, weights_dir=random_weights_dir)
    assert first.returncode == 0, first.stderr
    output = folder / "crop00.tif"
    stamp = output.stat().st_mtime_ns
    again = batch(*args, weights_dir=random_weights_dir)
    assert again.returncode == 0, again.stderr
    records = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    assert [(Path(r["input"]).name, r["status"]) for r in records] == [(crop.name, DONE), (crop.name, SKIPPED)]
    assert output.stat().st_mtime_ns == stamp
    other = output.rename(folder / "other.tif")  # a TIFF the manifest did not make: an input again, which
    before = other.read_bytes()  # would be its own output
    third = batch(*args, weights_dir=random_weights_dir)
    assert third.returncode == 2 and "other.tif is the input file" in third.stderr
    assert other.read_bytes() == before

def broken_products(synthetic_product, folder: Path) -> list[Path]:
    """A product whose datastrip XML is damaged, a .SAFE folder with nothing in it, one with an empty GRANULE/."""
    from test_batch_items import broken_product

    (folder / "empty.SAFE").mkdir(parents=True)
    (folder / "nogranules.SAFE" / "GRANULE").mkdir(parents=True)
    return [broken_product(synthetic_product.path, folder), folder / "empty.SAFE", folder / "nogranules.SAFE"]


def test_a_product_that_cannot_be_read_fails_alone_and_is_tried_again(random_weights_dir, synthetic_product,
                                                                       tmp_path):
    """It was: a damaged product refused the whole batch, a product folder without granules was dropped."""
    crop, = write_crops(tmp_path / "in", 1)
    bad = broken_products(synthetic_product, tmp_path / "in")
    out = tmp_path / "out"
    args = (crop, *bad, out, "--task", "registration", "--workers", 1)
    for run, crop_status in enumerate((DONE, SKIPPED)):
        result = batch(*args, weights_dir=random_weights_dir)
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.split("\n") if "error:" in line]
        assert len(errors) == len(bad) and all(line.startswith("l1bsr batch: error: ") for line in errors)
        for path, line in zip(bad, errors):
            assert str(path) in line
        assert "is not readable XML" in errors[0] and "not a Sentinel-2 L1B product" in errors[1]
        assert f"{1 - run} done, {len(bad)} failed, {run} skipped" in result.stderr
        records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
        assert len(records) == (len(bad) + 1) * (run + 1)
        mine = {record["input"]: record for record in records[(len(bad) + 1) * run:]}
        assert mine[str(crop)]["status"] == crop_status
        for path in bad:
            assert mine[str(path)]["status"] == FAILED and mine[str(path)]["error"] in "\n".join(errors)
            assert mine[str(path)]["sha256"] is None
    assert sorted(p.name for p in out.iterdir()) == ["crop00.tif", "manifest.jsonl"]


def test_only_unreadable_products_fail_as_items_without_a_cluster(use_random_weights, synthetic_product, tmp_path,
                                                                  capsys, monkeypatch):
    bad = broken_products(synthetic_product, tmp_path / "in")
    monkeypatch.setattr(engine, "open_cluster", None)  # nothing to run: no cluster is started
    status = commands.main([*map(str, bad), str(tmp_path / "out"), "--task", "superresolution"])
    errors = [line for line in capsys.readouterr().err.split("\n") if "error:" in line]
    assert status == 1 and len(errors) == len(bad)
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [(record["input"], record["status"]) for record in records] == [(str(path), FAILED) for path in bad]


@pytest.fixture
def inputs(tmp_path) -> Path:
    for folder in ("in", "other", "empty"):  # other/crop00.tif: the name of in/crop00.tif
        (tmp_path / folder).mkdir()
    for folder in ("in", "other"):
        tifffile.imwrite(tmp_path / folder / "crop00.tif", np.full((64, 64, 4), 1000, np.uint16))
    (tmp_path / "a_file").write_text("not a folder")
    return tmp_path


def unreachable() -> list[str]:
    return ["--scheduler", f"tcp://127.0.0.1:{free_port()}"]


USAGE_ERRORS = {  # name: (arguments after the inputs folder and OUT_DIR, fragments of the one line)
    "no task": ([], ("--task",)),
    "workers zero": (["--workers", "0"], ("--workers", "at least 1")),
    "workers not a number": (["--workers", "two"], ("--workers", "'two'")),
    "threads zero": (["--threads-per-worker", "0"], ("--threads-per-worker",)),
    "bad tile": (["--tile", "5"], ("tile size is 5",)),
    "bad device": (["--device", "foo"], ("not a device name",)),
    "device this machine lacks": (["--device", "cuda:99"], ("'cuda:99'",)),  # the embedded workers run here
    # with a scheduler the workers need the device, not this machine: its lack here is not the error
    "device lacking here, cluster elsewhere": (lambda: [*unreachable(), "--device", "cuda:99"],
                                               ("cannot reach the Dask scheduler",)),
    "unknown weights": (["--weights", "nope"], ("unknown",)),
    "not an address": (["--scheduler", "localhost:8786"], ("not a Dask address", "tcp://HOST:PORT")),
    "unreachable scheduler": (unreachable, ("cannot reach the Dask scheduler",)),
    "workers and scheduler": (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], ("--workers",)),
}


@pytest.mark.parametrize("case", [*USAGE_ERRORS, "no images", "out dir a file", "same names", "missing input",
                                  "another task's outputs"])
def test_usage_errors_get_one_line_and_write_nothing(use_random_weights, inputs, monkeypatch, capsys, case):
    monkeypatch.setattr(engine, "CONNECT_TIMEOUT_S", 0.5)
    sources, out = [inputs / "in"], inputs / "out"
    rest, fragments = USAGE_ERRORS.get(case, ([], ()))
    rest = rest() if callable(rest) else rest
    task = [] if case == "no task" else ["--task", "registration"]
    if case == "no images":
        sources, fragments = [inputs / "empty"], ("no input images",)
    elif case == "out dir a file":
        out, fragments = inputs / "a_file", ("is a file",)
    elif case == "same names":
        sources, fragments = [inputs / "in", inputs / "other"], ("would both be written",)
    elif case == "missing input":
        sources, fragments = [inputs / "nope.tif"], ("does not exist",)
    elif case == "another task's outputs":  # OUT_DIR holds a super-resolution of in/crop00.tif
        out.mkdir()
        (out / "crop00.tif").write_bytes(b"made by super-resolution")
        record = {"key": str((inputs / "in" / "crop00.tif").resolve()), "status": DONE, "task": TASK,
                  "output": str(out / "crop00.tif")}
        (out / "manifest.jsonl").write_text(json.dumps(record) + "\n")
        fragments = ("holds superresolution outputs of 1 of these inputs", "crop00.tif", "another OUT_DIR")
    before = sorted(p.relative_to(inputs) for p in inputs.rglob("*"))
    status = commands.main([*map(str, sources), str(out), *task, *rest])
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    lines = captured.err.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("l1bsr batch: error: "), captured.err
    assert all(fragment in lines[0] for fragment in fragments), lines[0]
    assert sorted(p.relative_to(inputs) for p in inputs.rglob("*")) == before  # no OUT_DIR, no manifest
    if case == "another task's outputs":
        assert (out / "crop00.tif").read_bytes() == b"made by super-resolution"


def test_help_and_both_entry_points(capsys):
    assert commands.main(["--help"]) == 0
    assert "--scheduler" in capsys.readouterr().out
    from l1bsr_core.cli import main

    assert main(["batch", "--help"]) == 0


def test_l2a_products_and_exports_run_with_their_domain_in_the_manifest(random_weights_dir, tmp_path):
    from coregistered_support import make_product, reflectance_scene, write_export

    product = make_product(tmp_path / "in", level="L2A", baseline="05.09", as_zip=True)
    export = write_export(tmp_path / "in" / "export.tif", reflectance_scene(seed=4).astype(np.float32),
                          descriptions=("B02", "B03", "B04", "B08"))
    out = tmp_path / "out"
    result = batch(product.path, export, out, "--task", TASK, "--workers", 2, "--window", "0,0,96,64",
                   weights_dir=random_weights_dir)
    assert result.returncode == 0, result.stderr
    assert "2 L1C/L2A input(s) outside the networks' L1B training domain" not in result.stderr  # levels differ
    assert "1 L1C/L2A, 1 L2A input(s) outside the networks' L1B training domain" in result.stderr
    records = {Path(r["output"]).name: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    stem = product.path.name[: -len(".zip")]
    assert set(records) == {f"{stem}.tif", "export.tif"}
    assert records[f"{stem}.tif"]["detail"]["input_level"] == "L2A"
    assert records["export.tif"]["detail"]["path"].startswith("REC without CSR alignment")
    import rasterio
    with rasterio.open(out / "export.tif") as dataset:
        assert dataset.dtypes[0] == "float32" and dataset.shape == (128, 192) and dataset.transform.a == 5.0
