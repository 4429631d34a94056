"""Many small torch operations, run by single-threaded workers instead of by all threads each.

Each of torch's CPU operations splits its work over the process's threads and waits for all of
them at its end. For the phase correlation's many small operations (a few hundred KiB each) that
wait dominates, and when another program takes one core, every operation waits for the thread
that lost it: measured 2–8× slower. :func:`map_blocks` instead gives independent blocks of work to
as many worker threads as torch would use, each running its operations on one thread: nothing
waits for a descheduled thread but its own block. Results do not depend on the number of workers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import torch


def _single_threaded() -> None:
    torch.set_num_threads(1)  # per thread: the caller's setting is not changed


@functools.lru_cache(maxsize=4)
def _pool(workers: int, process: int) -> ThreadPoolExecutor:
    """The pool of ``workers`` threads of this ``process`` (a forked child gets its own: the
    parent's threads do not exist there)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="l1bsr-block", initializer=_single_threaded)


def workers(device: torch.device) -> int:
    """How many blocks :func:`map_blocks` runs at once on ``device``."""
    return torch.get_num_threads() if device.type == "cpu" else 1


def map_blocks(work: Callable[[object], None], blocks: Iterable, device: torch.device) -> None:
    """Call ``work(block)`` for every block, in parallel on the CPU; ``work`` returns nothing (it
    writes its results into disjoint parts of tensors it was given).

    Runs in the caller's thread when torch uses one thread or the device is not the CPU (a GPU
    queues its operations anyway). Worker threads run with the caller's grad and inference modes.
    The first exception of a block is raised here, after the other blocks finished.
    """
    blocks = list(blocks)
    count = min(workers(device), len(blocks))
    if count <= 1:
        for block in blocks:
            work(block)
        return
    inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

    def run(block) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            work(block)

    for future in [_pool(count, os.getpid()).submit(run, block) for block in blocks]:
        future.result()
