"""Where the demo reads its shipped examples and writes its files.

Read these as ``paths.ASSETS_DIR`` / ``paths.TEMP_ROOT`` (not ``from … import``), so that a test
can point them elsewhere.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]

ASSETS_DIR = PROJECT_DIR / "assets" / "examples"
"""Synthetic examples shipped with the project (``examples.json`` describes them)."""

TEMP_ROOT = Path(tempfile.gettempdir()) / "l1bsr-demo"
"""Everything the demo writes: thumbnails, copies of chosen examples, per-request outputs."""

REQUEST_TTL_S = 2 * 3600
"""Request folders older than this are deleted when a new request starts."""


def new_request_dir(prefix: str) -> Path:
    """A fresh folder for one request's files under :data:`TEMP_ROOT`; removes folders older than
    :data:`REQUEST_TTL_S`."""
    root = TEMP_ROOT / "requests"
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > REQUEST_TTL_S:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))
