"""The Dask cluster a batch runs on, and running items on it.

:func:`open_cluster` starts an embedded ``LocalCluster`` (worker processes on this machine) or
connects to an existing scheduler (``tcp://HOST:PORT``, workers started by hand or by a job
system); the client, and the cluster it started, are closed however the block ends (Ctrl-C
included). :func:`run_items` submits one task per item (``pure=False``: a re-run is a new task)
and yields the results as they arrive. On an existing cluster :func:`check_device` first asks every
worker whether it has the ``--device`` asked for.

A worker lost mid-run (killed, out of memory, its machine gone) is Dask's to handle: the
scheduler runs its tasks again on other workers, up to ``distributed.scheduler.allowed-failures``
times per task (3 by default) before the item fails with ``KilledWorker``. Each task still gives
one result, so an item is reported once. On the embedded cluster each worker runs one item at a
time (the resource :data:`ITEM_RESOURCE`) with ``threads_per_worker`` torch threads.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from distributed.diagnostics.plugin import WorkerPlugin

from ..errors import ArgumentError, error_line, one_line
from .items import Item
from .manifest import FAILED
from .worker import device_problem, machine_cores, run_item

ITEM_RESOURCE = "l1bsr-item"
"""Abstract resource of the embedded cluster's workers (1 each, 1 per item): one item at a time per worker."""

CONNECT_TIMEOUT_S = 10.0
"""How long to try to reach an existing scheduler, and to wait for its first worker."""

SCHEDULER_SCHEMES = ("tcp://", "tls://", "inproc://", "ws://", "wss://", "ucx://")

SHUTDOWN_LOG_LEVEL = logging.CRITICAL
"""Level of Dask's own loggers while the embedded cluster closes: a worker's heartbeat that meets
the closing scheduler logs a comm traceback at ERROR, which is noise, not a failure of any item."""


def default_workers(threads_per_worker: int) -> int:
    """Worker processes of the embedded cluster: this machine's cores over ``threads_per_worker``."""
    return max(1, machine_cores() // threads_per_worker)


@dataclass
class Cluster:
    """A connected client and how to submit to it.

    Attributes:
        client: the ``distributed.Client``.
        description: one line for the user (embedded: workers x threads; else the address).
        threads: torch threads per item (None on an existing cluster: each worker decides).
        resources: what each task asks of a worker (the embedded cluster's one-item-at-a-time).
    """

    client: object
    description: str
    threads: int | None = None
    resources: dict = field(default_factory=dict)


class IgnoreInterrupts(WorkerPlugin):
    """Ctrl-C is the command's (it closes the cluster): the embedded cluster's worker processes, which
    share its terminal, ignore it instead of each printing a traceback."""

    name = "l1bsr-ignore-interrupts"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


DASK_LOGGERS = ("distributed", "tornado")


def _quiet_dask_logs() -> None:
    """Raise Dask's loggers in this process to :data:`SHUTDOWN_LOG_LEVEL`."""
    for name in DASK_LOGGERS:
        logging.getLogger(name).setLevel(SHUTDOWN_LOG_LEVEL)


def _restore_levels(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _quiet_shutdown(client) -> None:
    """Quiet Dask's own logging in this process (the scheduler's), the workers and their nannies
    before the embedded cluster closes. Best effort: a worker already gone is skipped."""
    _quiet_dask_logs()
    for nanny in (False, True):
        with contextlib.suppress(Exception):
            client.run(_quiet_dask_logs, nanny=nanny, on_error="ignore")


def check_scheduler_address(address: str) -> None:
    """ArgumentError unless ``address`` is a Dask scheduler address such as ``tcp://HOST:PORT``."""
    if not address.startswith(SCHEDULER_SCHEMES) or not address.split("://", 1)[1]:
        raise ArgumentError(f"scheduler address {address!r} is not a Dask address; expected tcp://HOST:PORT "
                            f"(what 'dask scheduler' prints)")


@contextlib.contextmanager
def open_cluster(*, scheduler: str | None = None, workers: int | None = None,
                 threads_per_worker: int | None = None) -> Iterator[Cluster]:
    """Yield a :class:`Cluster`: connected to ``scheduler``, or an embedded one of ``workers`` processes
    (default :func:`default_workers`) of ``threads_per_worker`` threads (default 1). On an existing
    cluster ``threads_per_worker``, when given, is the torch threads of each item.

    Raises:
        ArgumentError: for a scheduler that cannot be reached within :data:`CONNECT_TIMEOUT_S`
            or has no worker.
    """
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            threads = threads_per_worker or 1
            n_workers = workers or default_workers(threads)
            # runs last on exit: this process's loggers as they were once the cluster has closed
            stack.callback(_restore_levels, {name: logging.getLogger(name).level for name in DASK_LOGGERS})
            local = stack.enter_context(LocalCluster(
                n_workers=n_workers, threads_per_worker=threads, processes=True, resources={ITEM_RESOURCE: 1},
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(local))
            stack.callback(_quiet_shutdown, client)  # runs first on exit: before the client and cluster close
            client.register_plugin(IgnoreInterrupts())
            yield Cluster(client, f"{n_workers} local worker(s) x {threads} thread(s)", threads=threads,
                          resources={ITEM_RESOURCE: 1})
            return
        check_scheduler_address(scheduler)
        try:
            client = stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT_S))
        except (OSError, TimeoutError, ValueError) as error:
            raise ArgumentError(f"cannot reach the Dask scheduler at {scheduler}: {one_line(error)}; "
                                f"expected a running 'dask scheduler'") from error
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as error:
            raise ArgumentError(f"the Dask scheduler at {scheduler} has no worker; expected 'dask worker "
                                f"{scheduler}' running") from error
        yield Cluster(client, f"scheduler {scheduler}", threads=threads_per_worker)


def check_device(cluster: Cluster, device: str) -> None:
    """ArgumentError unless every worker of ``cluster`` now can run the networks on ``device``: on an
    existing cluster the workers, not this machine, need it (a GPU cluster reached from a laptop).
    A worker that joins later is checked by its first item, which fails with the same one line."""
    answers = cluster.client.run(device_problem, device, on_error="return")
    if not answers:
        raise ArgumentError(f"{cluster.description} has no worker left; expected at least one running")
    problems = {}
    for address, answer in answers.items():
        if isinstance(answer, BaseException):  # e.g. a worker without l1bsr_core, or one that left
            problems[address] = f"cannot check device {device!r}: {type(answer).__name__}: {one_line(answer)}"
        elif answer is not None:
            problems[address] = answer
    if problems:
        address, problem = sorted(problems.items())[0]
        others = f" (and {len(problems) - 1} other worker(s))" if len(problems) > 1 else ""
        raise ArgumentError(f"worker {address}{others}: {problem}")


def _failure(error: BaseException) -> dict:
    """The result of a task Dask could not run (its workers kept dying: ``KilledWorker``, ...)."""
    return {"status": FAILED, "error": error_line(error), "worker": None,
            "sha256": None, "detail": None, "seconds": None}


def run_items(cluster: Cluster, items: Iterable[Item], *, task: str, weights: str | None = None,
              device: str = "cpu", tile: int | None = None, options: dict | None = None
              ) -> Iterator[tuple[Item, dict]]:
    """Submit one task per item; yield ``(item, result)`` as each finishes (see
    :func:`l1bsr_core.batch.worker.run_item` for the result). Tasks not finished when the
    iteration stops early (an error, Ctrl-C) are cancelled."""
    from distributed import as_completed

    client = cluster.client
    futures = {
        client.submit(run_item, task, str(item.input), str(item.output), item.detector, weights=weights,
                      device=device, tile=tile, threads=cluster.threads, options=options, pure=False,
                      resources=cluster.resources or None): item
        for item in items
    }
    try:
        for future in as_completed(futures):
            item = futures[future]
            try:
                result = future.result()
            except Exception as error:
                result = _failure(error)
            future.release()
            yield item, result
    finally:
        pending = [future for future in futures if not future.done()]
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(pending)
