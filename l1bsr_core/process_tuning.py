"""Process-wide settings the commands make for speed: the C allocator keeps freed blocks of tensor
size (glibc only), and the objects alive once the libraries are imported leave the garbage
collector's view.

**Allocator** (:func:`keep_freed_blocks`). glibc's ``malloc`` serves a block larger than its mmap
threshold (128 KiB at start) with a fresh ``mmap`` and returns it to the system when it is freed,
raising the threshold (up to 32 MiB) only as such blocks are freed. A command's first crop
allocates and frees hundreds of tensors of a few MiB in each worker thread's arena, and every one
of them is faulted in page by page: the first registration of a crop took 0.27–0.29 s against
0.19 s for the next ones (2-core CPU). With the threshold fixed at :data:`MMAP_THRESHOLD_BYTES`
and freed memory trimmed only beyond :data:`TRIM_THRESHOLD_BYTES`, the first one takes
0.22–0.23 s. Settings given in the environment (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, or ``glibc.malloc.*`` in ``GLIBC_TUNABLES``) are left as they are, and
so is any other C library.

**Garbage collector** (:func:`freeze_imported_objects`). Once torch and the project are imported,
Python's next full collection walks every object they made: 56 ms, and it fell on the first
network built. Frozen (:func:`gc.freeze`), those objects are never walked again (nor at exit);
what the work makes is still collected as usual. Imported with the collector paused, torch loads
about 0.1 s faster (its import alone triggers several full collections); the few thousand
garbage objects the import leaves are frozen with the rest and never freed (kilobytes).

Both are process-wide, so only the one-image command run as a program calls them
(:func:`l1bsr_core.cli.main` with no ``argv``: ``l1bsr`` or ``python -m l1bsr_core``), never
the library on import nor a caller of ``main(argv)`` (the tests). The product and batch commands
do not: a strip's run takes minutes, its first crop's faults do not show, and arenas that keep
freed blocks raised the peak of a 2-granule strip's super-resolution by 0.1 GiB (1.27 → 1.37 GiB)
for no time gained.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import os
import platform

MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Blocks up to this size come from the arenas and are reused after being freed (glibc's own
ceiling for the threshold it adapts); larger ones (a strip's rows) are still mapped and unmapped."""
TRIM_THRESHOLD_BYTES = 128 * 2**20
"""Free memory at the top of an arena beyond this is given back to the system."""
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""
ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
"""Environment variables through which a user sets these; when either is set nothing is changed."""


def keep_freed_blocks() -> bool:
    """Fix glibc's mmap and trim thresholds (module docstring); True when they were set."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in ENVIRONMENT) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                               TRIM_THRESHOLD_BYTES))


def freeze_imported_objects(*modules: str) -> None:
    """Import ``modules`` (dotted names) with the garbage collector paused (an import makes objects
    that live as long as the process: walking them is wasted), then move every object alive to
    its permanent generation (module docstring) and resume it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        for name in modules:
            importlib.import_module(name)
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
