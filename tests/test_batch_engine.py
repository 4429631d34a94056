"""Items on a real Dask cluster of 2 worker processes (1 thread each), started here: results equal single
runs, networks loaded once per worker, a worker killed mid-run changes nothing, ``--scheduler`` works."""

import json
import logging
import os
import signal
import threading
import time

import pytest
import tifffile
from distributed import Client, LocalCluster

from l1bsr_core.batch import commands, engine
from l1bsr_core.batch.items import expand_inputs
from l1bsr_core.batch.manifest import DONE

from batch_support import assert_within_one_dn, single_run, temp_files, write_crops

TASK = "registration"


@pytest.fixture(scope="module")
def cluster(random_weights_dir):
    """An existing cluster: 2 worker processes that see the random test weights; always shut down."""
    saved = os.environ.get("L1BSR_WEIGHTS_DIR")
    os.environ["L1BSR_WEIGHTS_DIR"] = str(random_weights_dir)  # the worker processes inherit it
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as local, Client(local) as client:
            client.wait_for_workers(2, timeout=120)
            yield local, client
    finally:
        if saved is None:
            os.environ.pop("L1BSR_WEIGHTS_DIR", None)
        else:
            os.environ["L1BSR_WEIGHTS_DIR"] = saved


def test_results_equal_single_runs_and_networks_load_once_per_worker(cluster, tmp_path):
    _, client = cluster
    crops = write_crops(tmp_path / "in", 6)
    (tmp_path / "out").mkdir()
    items = expand_inputs([tmp_path / "in"], tmp_path / "out")
    on = engine.Cluster(client, "test cluster", threads=1)
    results = list(engine.run_items(on, items, task=TASK))
    assert sorted(item.key for item, _ in results) == sorted(item.key for item in items)
    assert {result["status"] for _, result in results} == {DONE}
    assert {result["worker"] for _, result in results} <= set(client.scheduler_info()["workers"])
    for crop in crops:
        assert_within_one_dn(tifffile.imread(tmp_path / "out" / crop.name), single_run(crop, tmp_path / "s", TASK))

    def cache():
        from l1bsr_core.weights import _cached_model

        info = _cached_model.cache_info()
        return info.misses, info.currsize, info.hits

    for misses, size, _ in client.run(cache).values():
        assert misses == size <= 1  # each network loaded once in each worker process, then reused
    assert sum(hits for _, _, hits in client.run(cache).values()) >= len(items) - 2


def kill_a_busy_worker_after_the_first_result(client, manifest, killed: list):
    """SIGKILL a worker that has tasks in flight, once the first record is in the manifest."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if manifest.is_file() and manifest.read_text().count("\n") >= 1:
            busy = [address for address, keys in client.processing().items() if keys]
            if busy:
                pid = client.run(os.getpid, workers=busy[:1])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(busy[0])
            return
        time.sleep(0.01)


def test_a_worker_killed_mid_run_changes_nothing(cluster, tmp_path, capsys):
    _, client = cluster
    crops = write_crops(tmp_path / "in", 10, first_seed=20)
    out, killed = tmp_path / "out", []
    killer = threading.Thread(target=kill_a_busy_worker_after_the_first_result,
                              args=(client, out / "manifest.jsonl", killed))
    killer.start()
    status = commands.main([str(tmp_path / "in"), str(out), "--task", TASK, "--scheduler",
                            client.scheduler.address, "--threads-per-worker", "1"])
    killer.join()
    assert killed, "no worker had an item in flight after the first result"
    assert status == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(record["input"] for record in records) == sorted(map(str, crops))  # each item once
    assert {record["status"] for record in records} == {DONE}
    for crop in crops:
        assert_within_one_dn(tifffile.imread(out / crop.name), single_run(crop, tmp_path / "s", TASK))
    assert temp_files(out) == []
    client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed worker


def test_an_existing_cluster_is_used_and_left_running(cluster, tmp_path, capsys):
    local, client = cluster
    write_crops(tmp_path / "in", 2)
    argv = [str(tmp_path / "in"), str(tmp_path / "out"), "--task", TASK, "--scheduler", local.scheduler_address]
    assert commands.main(argv) == 0
    err = capsys.readouterr().err
    assert "2 done, 0 failed, 0 skipped" in err and "Traceback" not in err
    assert len(client.scheduler_info()["workers"]) == 2  # not closed by the batch


def test_an_existing_cluster_whose_workers_lack_the_device_is_refused_before_anything_is_written(
        cluster, tmp_path, capsys):
    local, client = cluster
    write_crops(tmp_path / "in", 1)
    out = tmp_path / "out"
    argv = [str(tmp_path / "in"), str(out), "--task", TASK, "--scheduler", local.scheduler_address,
            "--device", "cuda:99"]
    assert commands.main(argv) == 2
    lines = capsys.readouterr().err.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith("l1bsr batch: error: worker tcp://"), lines
    assert "'cuda:99'" in lines[0] and "other worker" in lines[0]  # both workers lack it, one line says so
    assert not out.exists()
    assert len(client.scheduler_info()["workers"]) == 2  # the cluster is left running


def _distributed_level() -> int:
    return logging.getLogger("distributed").level


def test_the_embedded_cluster_closes_with_dask_quiet_and_leaves_this_process_as_it_was():
    """A worker's heartbeat that meets the closing scheduler logs a comm traceback: before the embedded
    cluster closes, Dask's loggers in every process are raised above it; this process's are put back."""
    before = _distributed_level()
    with engine.open_cluster(workers=2, threads_per_worker=1) as cluster:
        engine._quiet_shutdown(cluster.client)
        workers = cluster.client.run(_distributed_level)
        nannies = cluster.client.run(_distributed_level, nanny=True)
        here = _distributed_level()
    assert len(workers) == len(nannies) == 2
    assert set(workers.values()) == set(nannies.values()) == {engine.SHUTDOWN_LOG_LEVEL}
    assert here == engine.SHUTDOWN_LOG_LEVEL
    assert _distributed_level() == before
