"""Process-wide settings of the commands (l1bsr_core.process_tuning): the C allocator's thresholds,
set unless the user set them; the imported objects frozen out of the garbage collector's walks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from l1bsr_core import process_tuning

PROBE = ("import l1bsr_core.process_tuning as a, ctypes, platform; "
         "print(a.keep_freed_blocks(), platform.libc_ver()[0])")


def _probe(env: dict[str, str]) -> list[str]:
    """Run :func:`keep_freed_blocks` in a fresh process with ``env``: its result and the C library."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True)
    return out.stdout.split()


def test_the_thresholds_are_set_on_glibc_and_left_alone_when_the_environment_sets_them():
    base = {key: value for key, value in os.environ.items() if key not in process_tuning.ENVIRONMENT}
    result, libc = _probe(base)
    if libc != "glibc":
        pytest.skip("not glibc: nothing to set")
    assert result == "True"
    for name in process_tuning.ENVIRONMENT:
        assert _probe({**base, name: "1048576"})[0] == "False"


def test_the_objects_alive_after_the_imports_are_frozen_and_new_garbage_is_still_collected():
    code = ("import gc, sys; from l1bsr_core.process_tuning import freeze_imported_objects; "
            "before = gc.get_freeze_count(); freeze_imported_objects('l1bsr_core.inference'); "
            "cycle = []; cycle.append(cycle); del cycle; "
            "print(before, gc.get_freeze_count(), 'torch' in sys.modules, gc.isenabled(), gc.collect())")
    before, frozen, imported, enabled, collected = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(before) == 0 and int(frozen) > 10_000  # torch's objects among them
    assert imported == "True"
    assert enabled == "True"  # paused for the imports only
    assert int(collected) >= 1  # the new cycle is not frozen


def test_the_allocator_is_left_to_glibc_tunables_too():
    base = {key: value for key, value in os.environ.items() if key not in process_tuning.ENVIRONMENT}
    if _probe(base)[1] != "glibc":
        pytest.skip("not glibc: nothing to set")
    assert _probe({**base, "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"})[0] == "False"
    assert _probe({**base, "GLIBC_TUNABLES": "glibc.pthread.rseq=0"})[0] == "True"
