"""Download, verify and cache the authors' real example crops, in the background.

The ten crops ``00.tif`` … ``09.tif`` of the authors' repository (GPL-3.0) are fetched at run time
into a cache folder and kept only when their SHA-256 matches (:data:`REAL_EXAMPLE_SHA256`). The
download runs in a background thread with a short socket timeout, so the page opens at once; the
first network failure ends it (offline), and the gallery then shows the synthetic examples only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from l1bsr_core.outputs import atomic_output, sha256_of

from .examples import REAL_EXAMPLE_SHA256, Example, real_example

log = logging.getLogger(__name__)

EXAMPLES_URL_ENV = "L1BSR_EXAMPLES_URL"
DEFAULT_EXAMPLES_URL = "https://raw.githubusercontent.com/centreborelli/L1BSR/master/examples"
"""The authors' repository (GPL-3.0), folder of the ten example crops ``00.tif`` … ``09.tif``."""

CACHE_ENV = "L1BSR_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "l1bsr" / "examples"

FETCH_TIMEOUT_S = 3.0
"""Socket timeout of one download; the first network failure stops the whole fetch (offline)."""

FETCH_BUDGET_S = 60.0
"""Total time allowed for downloading all real examples."""

MAX_DOWNLOAD_BYTES = 16 << 20
"""A real example is ~1 MB; anything larger than this is not one of them."""


@dataclass
class FetchReport:
    """Outcome of fetching the real examples.

    Attributes:
        examples: the verified examples, in name order.
        missing: name → why it is not there ("not available", "SHA-256 mismatch, discarded", …).
        offline: True when the server could not be reached at all.
        done: False while the background fetch is still running.
    """

    examples: list[Example] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    offline: bool = False
    done: bool = False
    url: str = ""

    @property
    def note(self) -> str:
        """One line for the page about the real examples (empty when all are there)."""
        if not self.done:
            return "Fetching the real L1B examples from the authors' repository…"
        if self.offline and not self.examples:
            return (f"The real L1B examples could not be fetched ({self.url} is unreachable); "
                    "showing the synthetic examples only. You can still upload your own crop.")
        if self.missing:
            names = ", ".join(sorted(self.missing))
            return f"{len(self.examples)} real L1B examples available; not available: {names}."
        return ""

    @property
    def about(self) -> str:
        """What the real examples in the gallery are; empty when there is none (nothing claims
        they are there)."""
        if not self.examples:
            return ""
        first, last = self.examples[0].title, self.examples[-1].title
        names = first if len(self.examples) == 1 else f"{first} … {last.removeprefix('L1B ')}"
        return f"{names} are real Sentinel-2 L1B crops from the authors' repository (no ground truth)."


class RealExamples:
    """Download, verify and cache the authors' example crops, in the background.

    Args:
        base_url: folder URL holding ``00.tif`` …; default env ``L1BSR_EXAMPLES_URL`` or the
            authors' repository. ``http(s)://`` and ``file://`` URLs work.
        cache_dir: where verified files are kept; default env ``L1BSR_CACHE`` or
            ``~/.cache/l1bsr/examples``.
        hashes: name → expected SHA-256.
        timeout: socket timeout of one request; the first network failure ends the fetch.
        budget: total seconds for all downloads.
    """

    def __init__(
        self,
        base_url: str | None = None,
        cache_dir: str | Path | None = None,
        *,
        hashes: dict[str, str] = REAL_EXAMPLE_SHA256,
        timeout: float = FETCH_TIMEOUT_S,
        budget: float = FETCH_BUDGET_S,
    ):
        self.base_url = (base_url or os.environ.get(EXAMPLES_URL_ENV) or DEFAULT_EXAMPLES_URL).rstrip("/")
        self.cache_dir = Path(cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR)
        self.hashes = dict(hashes)
        self.timeout = float(timeout)
        self.budget = float(budget)
        self._report = FetchReport(url=self.base_url)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._finished = threading.Event()

    def start(self) -> RealExamples:
        """Start the background fetch (once); return immediately."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="l1bsr-examples", daemon=True)
                self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> FetchReport:
        """Start if needed, wait up to ``timeout`` seconds, and return the report so far."""
        self.start()
        self._finished.wait(timeout)
        return self.report()

    def report(self) -> FetchReport:
        with self._lock:
            r = self._report
            return FetchReport(list(r.examples), dict(r.missing), r.offline, r.done, r.url)

    def _run(self) -> None:
        try:
            self.fetch()
        except Exception:  # never let the thread die silently with done=False
            log.exception("demo: fetching the real examples failed")
            with self._lock:
                self._report.offline = True
        finally:
            with self._lock:
                self._report.done = True
            self._finished.set()

    def fetch(self) -> FetchReport:
        """Fetch synchronously (what the background thread runs); return the final report."""
        deadline = time.monotonic() + self.budget
        offline = False
        for name, expected in sorted(self.hashes.items()):
            cached = self.cache_dir / f"{name}.tif"
            reason = None
            if cached.is_file() and sha256_of(cached) == expected:
                pass
            elif offline:
                reason = "server unreachable"
            elif time.monotonic() > deadline:
                reason = "download time budget exhausted"
            else:
                cached.unlink(missing_ok=True)
                reason, offline = self._download(name, expected, cached)
            with self._lock:
                if reason is None:
                    self._report.examples.append(real_example(name, cached))
                else:
                    self._report.missing[name] = reason
                self._report.offline = offline
        with self._lock:
            self._report.done = True
        self._finished.set()
        return self.report()

    def _download(self, name: str, expected: str, target: Path) -> tuple[str | None, bool]:
        """Download one file; return (reason it is missing or None, whether the server is unreachable)."""
        url = f"{self.base_url}/{name}.tif"
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            request = urllib.request.Request(url, headers={"User-Agent": "l1bsr-studio"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                data = response.read(MAX_DOWNLOAD_BYTES + 1)
        except urllib.error.HTTPError as error:
            return f"not available (HTTP {error.code})", False
        except urllib.error.URLError as error:
            if isinstance(error.reason, (FileNotFoundError, NotADirectoryError)):
                return "not available", False
            log.info("demo: %s unreachable: %s", url, error.reason)
            return "server unreachable", True
        except (TimeoutError, OSError) as error:  # socket timeouts, resets, unwritable cache
            log.info("demo: fetching %s failed: %s", url, error)
            return "server unreachable", True
        if len(data) > MAX_DOWNLOAD_BYTES:
            return "not available (file too large)", False
        if hashlib.sha256(data).hexdigest() != expected:
            log.warning("demo: %s does not match its SHA-256; discarded", url)
            return "SHA-256 mismatch, discarded", False
        with atomic_output(target) as temp:
            temp.write_bytes(data)
        return None, False


_REAL_EXAMPLES: RealExamples | None = None
_REAL_LOCK = threading.Lock()


def real_examples() -> RealExamples:
    """The process-wide fetcher (configured from the environment when first asked for)."""
    global _REAL_EXAMPLES
    with _REAL_LOCK:
        if _REAL_EXAMPLES is None:
            _REAL_EXAMPLES = RealExamples()
        return _REAL_EXAMPLES


def reset_real_examples(fetcher: RealExamples | None = None) -> None:
    """Replace the process-wide fetcher (tests point it elsewhere); None re-reads the environment."""
    global _REAL_EXAMPLES
    with _REAL_LOCK:
        _REAL_EXAMPLES = fetcher
