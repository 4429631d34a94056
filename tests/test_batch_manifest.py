"""The batch manifest: one JSON line per item and run, read back tolerantly, and what counts as done."""

import json

from l1bsr_core.batch.items import Item
from l1bsr_core.batch.manifest import (
    DONE,
    FAILED,
    SKIPPED,
    Manifest,
    is_up_to_date,
    last_done,
    make_record,
    read_records,
)
from l1bsr_core.outputs import sha256_of


def item_in(tmp_path, name="a") -> Item:
    return Item(str(tmp_path / f"{name}.tif"), tmp_path / f"{name}.tif", tmp_path / "out" / f"{name}.tif")


def test_records_are_appended_one_line_each_and_read_back(tmp_path):
    item = item_in(tmp_path)
    with Manifest(tmp_path) as manifest:
        manifest.append(make_record(item, FAILED, task="registration", weights=None, error="bad", worker="tcp://w"))
        manifest.append(make_record(item, DONE, task="registration", weights=None, seconds=1.5, sha256="ab"))
    with Manifest(tmp_path) as manifest:  # a second run appends
        manifest.append(make_record(item, SKIPPED, task="registration", weights=None, sha256="ab"))
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == [FAILED, DONE, SKIPPED]
    first = json.loads(lines[0])
    assert {k: first[k] for k in ("input", "output", "error", "worker")} == {
        "input": str(item.input), "output": str(item.output), "error": "bad", "worker": "tcp://w"}
    assert last_done(read_records(tmp_path / "manifest.jsonl"))[item.key]["seconds"] == 1.5


def test_a_line_left_unfinished_is_ignored_and_the_next_starts_on_its_own_line(tmp_path):
    item = item_in(tmp_path)
    path = tmp_path / "manifest.jsonl"
    path.write_text(json.dumps(make_record(item, DONE, task="registration", weights=None)) + '\n{"key": "x", "sta')
    with Manifest(tmp_path) as manifest:
        manifest.append(make_record(item, FAILED, task="registration", weights=None, error="e"))
    assert [record["status"] for record in read_records(path)] == [DONE, FAILED]
    assert read_records(tmp_path / "missing.jsonl") == []


def test_up_to_date_means_same_output_bytes_task_weights_and_input(tmp_path):
    item = item_in(tmp_path)
    item.input.write_bytes(b"input")
    item.output.parent.mkdir()
    item.output.write_bytes(b"result")
    done = make_record(item, DONE, task="registration", weights=None, sha256=sha256_of(item.output))
    assert is_up_to_date(item, done, task="registration", weights=None)
    assert not is_up_to_date(item, done, task="superresolution", weights=None)
    assert not is_up_to_date(item, done, task="registration", weights="my-csr")
    assert not is_up_to_date(item, None, task="registration", weights=None)
    assert not is_up_to_date(item, done, task="registration", weights=None, networks="csr:123")  # other weights files
    item.input.write_bytes(item.input.read_bytes() + b"new")  # the input was replaced
    assert not is_up_to_date(item, done, task="registration", weights=None)
    done = make_record(item, DONE, task="registration", weights=None, sha256=sha256_of(item.output))
    assert is_up_to_date(item, done, task="registration", weights=None)
    item.output.write_bytes(b"changed")
    assert not is_up_to_date(item, done, task="registration", weights=None)
    item.output.unlink()
    assert not is_up_to_date(item, done, task="registration", weights=None)


def test_an_output_made_with_other_options_is_not_up_to_date(tmp_path):
    item = item_in(tmp_path)
    item.input.write_bytes(b"input")
    item.output.parent.mkdir()
    item.output.write_bytes(b"result")
    window = {"level": None, "dn_offset": None, "window": (0, 0, 64, 64), "bbox": None, "align": None}
    done = json.loads(json.dumps(make_record(item, DONE, task="superresolution", weights=None,
                                             sha256=sha256_of(item.output), options=window)))  # as read back
    assert done["options"] == {"window": [0, 0, 64, 64]}
    assert is_up_to_date(item, done, task="superresolution", weights=None, options=window)
    assert not is_up_to_date(item, done, task="superresolution", weights=None,
                             options={**window, "window": (0, 0, 128, 64)})
    assert not is_up_to_date(item, done, task="superresolution", weights=None, options={**window, "align": True})
    assert not is_up_to_date(item, done, task="superresolution", weights=None)  # the whole image now
    plain = make_record(item, DONE, task="superresolution", weights=None, sha256=sha256_of(item.output))
    assert "options" not in plain  # manifests of earlier releases still match a run without options
    assert is_up_to_date(item, plain, task="superresolution", weights=None, options=dict.fromkeys(window))
