"""The part of an image to process, as the user writes it: a pixel window or a box in map units.

``--window COL,ROW,WIDTH,HEIGHT`` (pixels, COL and ROW of the upper-left corner) and ``--bbox
XMIN,YMIN,XMAX,YMAX`` (the input's CRS units). Parsing only (no GDAL): where they fall on an image
is :func:`l1bsr_core.coregistered.resolve_window`'s business; :func:`coordinates_text` writes
them back in messages.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ArgumentError


def parse_window(text: str) -> tuple[int, int, int, int]:
    """``"COL,ROW,WIDTH,HEIGHT"`` (pixels) → a tuple; ArgumentError otherwise."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or values[0] < 0 or values[1] < 0 or values[2] <= 0 or values[3] <= 0:
        raise ArgumentError(f"window {text!r}; expected COL,ROW,WIDTH,HEIGHT in pixels, e.g. 0,0,1024,1024 "
                            "(COL, ROW >= 0, WIDTH, HEIGHT > 0)")
    return values


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"XMIN,YMIN,XMAX,YMAX"`` (the input's CRS units) → a tuple; ArgumentError otherwise."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4 or not all(map(math.isfinite, values)) or values[0] >= values[2] or values[1] >= values[3]:
        raise ArgumentError(f"bbox {text!r}; expected XMIN,YMIN,XMAX,YMAX in the input's CRS, with XMIN < XMAX "
                            "and YMIN < YMAX")
    return values


def coordinates_text(values) -> str:
    """``"v0,v1,..."``: map coordinates (CRS units) as the messages write them: in full and exactly
    (the shortest decimal that reads back as the same float), so bounds pasted back as ``--bbox``
    give the same pixels (``:g`` would write 6090000 as 6.09e+06)."""
    return ",".join(np.format_float_positional(float(v), trim="-") for v in values)
