"""``OUT_DIR/manifest.jsonl``: one JSON line per item and run, appended as results arrive.

Each record says which input went to which output, its status (:data:`DONE`, :data:`FAILED`,
:data:`SKIPPED`), a one-line error, the seconds it took, the Dask worker that ran it, and the
output's SHA-256. Only the client process writes it (one writer; a line that an interrupted run
left unfinished is ignored when reading). A later run skips an item whose output is still the
one its last :data:`DONE` record describes: same task, same networks (the SHA-256 of the weights
files, not only their name: shipped weights change between releases), same input file (size and
modification time), same output SHA-256.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import ArgumentError, InputError, one_line
from ..outputs import sha256_of
from .items import Item

MANIFEST_NAME = "manifest.jsonl"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"
STATUSES = (DONE, FAILED, SKIPPED)


def input_stamp(item: Item) -> list[int] | None:
    """[size, mtime_ns] of an item's input (a product folder: of the folder itself), None if gone."""
    try:
        stat = item.input.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def options_record(options: dict | None) -> dict | None:
    """The options that change an output (``--window``, ``--align``…) as a manifest stores them:
    those set, JSON values (tuples as lists); None when none is set."""
    given = {name: value for name, value in (options or {}).items() if value is not None}
    return json.loads(json.dumps(given)) if given else None


def make_record(item: Item, status: str, *, task: str, weights: str | None, error: str | None = None,
                seconds: float | None = None, worker: str | None = None, sha256: str | None = None,
                detail: dict | None = None, networks: str | None = None, options: dict | None = None) -> dict:
    """A manifest line for ``item`` (``detail``: what the item's run reported; ``networks``: which
    weights files ran; ``options``: the L1C/L2A options given, see :func:`is_up_to_date`)."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r}; expected one of {STATUSES}")
    record = {"key": item.key, "input": str(item.input), "output": str(item.output), "status": status,
              "task": task, "weights": weights, "error": error, "seconds": seconds, "worker": worker,
              "sha256": sha256, "networks": networks, "input_stamp": input_stamp(item),
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if item.detector is not None:
        record["detector"] = item.detector
    if detail is not None:
        record["detail"] = detail
    if options_record(options) is not None:
        record["options"] = options_record(options)
    return record


def read_records(path) -> list[dict]:
    """The records of a manifest file, oldest first; [] when it does not exist. Lines that are not
    JSON objects with a key and a status (a run killed while writing one) are left out."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "key" in record and record.get("status") in STATUSES:
            records.append(record)
    return records


def last_done(records) -> dict[str, dict]:
    """key → the item's last :data:`DONE` record."""
    return {record["key"]: record for record in records if record["status"] == DONE}


def check_same_task(items, done: dict[str, dict], task: str) -> None:
    """Refuse (ArgumentError) to write over outputs that another task made: output names do not
    carry the task, so a registration into a folder of super-resolution outputs would replace them.

    Args:
        items: the batch's items.
        done: :func:`last_done` of OUT_DIR's manifest.
        task: the task asked for.
    """
    others = [(item, done[item.key]["task"]) for item in items
              if item.key in done and done[item.key].get("task") != task and item.output.is_file()]
    if others:
        item, other = others[0]
        raise ArgumentError(f"{item.output.parent} holds {other} outputs of {len(others)} of these inputs "
                            f"(e.g. {item.output.name}); --task {task} would replace them: expected another OUT_DIR")


def is_up_to_date(item: Item, done: dict | None, *, task: str, weights: str | None,
                  networks: str | None = None, options: dict | None = None) -> bool:
    """True when ``item``'s output is the file its last done record describes, made by the same task
    and weights (name and ``networks``, the files' SHA-256) with the same options (a window, a
    forced alignment…) from the same input (size, mtime): present, and of the same SHA-256."""
    if (done is None or done.get("task") != task or done.get("weights") != weights
            or done.get("networks") != networks or done.get("options") != options_record(options)
            or done.get("input_stamp") != input_stamp(item) or not item.output.is_file()):
        return False
    try:
        return sha256_of(item.output) == done.get("sha256")
    except OSError:
        return False


class Manifest:
    """The manifest of OUT_DIR, open for appending (use as a context manager)."""

    def __init__(self, out_dir):
        self.path = Path(out_dir) / MANIFEST_NAME
        self._file = None

    def __enter__(self) -> Manifest:
        try:
            unfinished = self.path.is_file() and _last_byte(self.path) not in (b"", b"\n")
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in __exit__)
            if unfinished:  # end the line an interrupted run left unfinished
                self._file.write("\n")
        except OSError as error:
            raise InputError(f"cannot write the manifest {self.path}: {error.strerror or one_line(error)}") from error
        return self

    def append(self, record: dict) -> None:
        """Write one record as one line, flushed at once."""
        self._file.write(json.dumps(record, sort_keys=False) + "\n")
        self._file.flush()

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if not handle.tell():
            return b""
        handle.seek(-1, 2)
        return handle.read(1)
