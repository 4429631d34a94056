"""Blocks of work on single-threaded worker threads (l1bsr_core.parallel)."""

import pytest
import torch

from l1bsr_core.parallel import map_blocks

CPU = torch.device("cpu")


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_every_block_runs_once_on_single_threaded_workers_and_the_caller_keeps_its_threads(two_threads):
    seen = {}

    def work(block):
        seen[block] = torch.get_num_threads()

    map_blocks(work, range(7), CPU)
    assert sorted(seen) == list(range(7))
    assert set(seen.values()) == {1}
    assert torch.get_num_threads() == 2


def test_workers_run_in_the_callers_inference_mode(two_threads):
    out = torch.zeros(4)
    with torch.inference_mode():
        out = torch.zeros(4)  # an inference tensor: writing it outside inference mode fails

        def work(i):
            out[i] = i

        map_blocks(work, range(4), CPU)
    assert out.tolist() == [0, 1, 2, 3]


def test_an_error_in_a_block_reaches_the_caller(two_threads):
    def work(i):
        if i == 2:
            raise ValueError("block 2 failed")

    with pytest.raises(ValueError, match="block 2 failed"):
        map_blocks(work, range(4), CPU)


def test_a_forked_child_gets_its_own_workers(two_threads):
    """A process forked after the pool started (multiprocessing's default on Linux) must not wait
    for the parent's threads, which it does not have."""
    import multiprocessing

    map_blocks(lambda i: None, range(4), CPU)  # the parent's pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        assert pool.apply_async(_blocks_in_a_child).get(timeout=60) == [0, 1, 2, 3]


def _blocks_in_a_child() -> list[int]:
    torch.set_num_threads(2)
    done = []
    map_blocks(done.append, range(4), CPU)
    return sorted(done)
