"""How long a task takes on this server: seconds per megapixel, measured by the demo's own runs.

The page says how long a large image would take before anyone runs it. The estimate starts from
:data:`DEFAULT_SECONDS_PER_MPX` (measured through the demo on a busy 2-core CPU) and follows the
latest run of :data:`MIN_MEASURED_PIXELS` or more on this server, whatever its device. A run is
timed whole, from reading the file to its last file written, so the estimate, the "done in" line
and the summary's steps agree; only the transfer of the results to the browser is outside it
(the pictures sent are at most :data:`~l1bsr_demo.pipelines.SLIDER_MAX_SIDE` px a side).
"""

from __future__ import annotations

import threading

TASKS = ("superresolution", "registration")

DEFAULT_SECONDS_PER_MPX = {"superresolution": 15.0, "registration": 10.0}
"""Seconds per input megapixel of a whole page run (reading, network, pictures, measurements,
files, record: what :mod:`l1bsr_demo.pipelines` records) on a 2-core CPU shared with other jobs
(load average ~10): a 2000 × 2000 px super-resolution took 59 s, a registration 40 s."""

MIN_MEASURED_PIXELS = 256 * 256
"""Smaller runs are dominated by fixed costs and do not update the estimate."""

_rates = dict(DEFAULT_SECONDS_PER_MPX)
_lock = threading.Lock()


def record(task: str, pixels: int, seconds: float) -> None:
    """Note that ``task`` took ``seconds`` on ``pixels`` input pixels (large enough runs only)."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    if pixels >= MIN_MEASURED_PIXELS and seconds > 0:
        with _lock:
            _rates[task] = seconds / (pixels / 1e6)


def estimate(task: str, pixels: int) -> float:
    """Estimated seconds for ``task`` on ``pixels`` input pixels."""
    with _lock:
        return _rates[task] * pixels / 1e6


def format_seconds(seconds: float) -> str:
    """A duration in round words: "2 s", "40 s", "3 min"."""
    if seconds < 10:
        return f"{max(1, round(seconds))} s"
    if seconds < 120:
        return f"{round(seconds / 5) * 5} s"
    return f"{round(seconds / 60)} min"


def reset() -> None:
    """Back to :data:`DEFAULT_SECONDS_PER_MPX` (tests)."""
    with _lock:
        _rates.clear()
        _rates.update(DEFAULT_SECONDS_PER_MPX)
