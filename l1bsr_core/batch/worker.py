"""The task a Dask worker runs for one item: :func:`run_item`.

It takes only paths, strings and numbers (nothing heavy travels with a task); the networks come
from the process-level cache :func:`l1bsr_core.inference.get_model`, so a worker process loads
each network once and keeps it between tasks. Every error of the item is returned as a result
(status failed, one line), never raised: the worker logs nothing and the client decides what to
print. The output is written atomically, so a worker killed mid-item leaves no partial output
(its temporary file is removed by the client, :func:`~l1bsr_core.batch.items.remove_leftovers`).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import L1BSRError, error_line
from ..jobs import process_file
from ..outputs import TIFF_SUFFIXES, check_output_path, sha256_of
from .manifest import DONE, FAILED


def _worker():
    """The Dask worker running this task, or None when called outside one (tests, benchmarks)."""
    try:
        from distributed import get_worker

        return get_worker()
    except ValueError:
        return None


def machine_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _set_torch_threads(threads: int | None, worker) -> None:
    """Torch's intra-op threads: ``threads``, or this machine's cores shared among the worker's task
    threads when not given (a worker of an existing cluster runs ``nthreads`` items at once)."""
    import torch

    if threads is None:
        threads = max(1, machine_cores() // max(1, getattr(worker, "nthreads", 1) or 1))
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)



def run_item(task: str, input: str, output: str, detector: int | None = None, *, weights: str | None = None,
             device: str = "cpu", tile: int | None = None, threads: int | None = None,
             options: dict | None = None) -> dict:
    """Run one item; return ``{"status", "error", "seconds", "worker", "sha256", "detail"}``.

    Args:
        task: "superresolution" or "registration".
        input: a BGRN TIFF, or an L1B product when ``detector`` is given.
        output: the TIFF to write (atomically).
        detector: the product's detector to process (``l1bsr_core.products.process_detector``).
        weights, device, tile: as :func:`l1bsr_core.jobs.process_file`.
        threads: torch threads of this worker process (None: its cores over its task threads).
        options: for inputs that are not L1B product detectors, more arguments of
            :func:`l1bsr_core.jobs.process_file` (``level``, ``dn_offset``, ``window``, ``bbox``,
            ``align``); its record (the input's level, the path taken) becomes ``detail``.
    """
    start = time.perf_counter()
    worker = _worker()
    result = {"status": DONE, "error": None, "worker": getattr(worker, "address", None), "sha256": None,
              "detail": None}
    try:
        _set_torch_threads(threads, worker)
        check_output_path(output, TIFF_SUFFIXES, keep=(input,))
        if detector is None:
            result["detail"] = process_file(input, output, task, weights=weights, device=device, tile=tile,
                                            **(options or {}))
        else:
            from ..products import process_detector

            result["detail"] = process_detector(Path(input), detector, Path(output), task, weights=weights,
                                                device=device, tile=tile)
        # a product strip is hashed once, by process_detector (it can weigh hundreds of MB)
        result["sha256"] = result["detail"].get("sha256") or sha256_of(output)
    except Exception as error:  # one item's failure is a result: the others go on
        result.update(status=FAILED, error=error_line(error))
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def device_problem(device: str) -> str | None:
    """Run on a worker: why it cannot run the networks on ``device`` (one line), or None when it can."""
    from ..devices import resolve_device  # imports torch: only on the worker

    try:
        resolve_device(device)
    except L1BSRError as error:
        return str(error)
    return None
