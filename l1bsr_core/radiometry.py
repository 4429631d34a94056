"""What an input's values mean, and the one conversion to and from the networks' digital numbers.

The networks take (H, W, 4) uint16 digital numbers (DN), 0 no-data (:data:`~l1bsr_core.bands.NO_DATA`),
and are gain-equivariant (their output scales with their input). An L1B crop is fed as it is. An
L1C/L2A input is stored either as integers with ``reflectance = (DN + offset) / quantification``
(products and uint16 exports: quantification 10000, offset −1000 from processing baseline 04.00 on,
0 before) or as float reflectance (Copernicus Browser's 32-bit float export); both are fed as
*working DN*::

    working = round(reflectance · WORKING_QUANTIFICATION) + WORKING_OFFSET_DN      (0 stays no-data)

one convention whatever the product's baseline, so that a scene gives the same result from either,
and reflectances down to −WORKING_OFFSET_DN / WORKING_QUANTIFICATION stay valid (L2A writes small
negative reflectances over dark water). The output goes back to the input's own convention (an
integer input's DN round-trip exactly; a float input comes back as float32 reflectance on a grid
of 1 / :data:`WORKING_QUANTIFICATION`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bands import DN_MAX, NO_DATA

QUANTIFICATION = 10000
"""Reflectance quantification value of Sentinel-2 L1C/L2A products (and their uint16 exports)."""
PRODUCT_OFFSET_DN = -1000
"""Radiometric offset (DN) of L1C/L2A products from processing baseline 04.00 on:
``reflectance = (DN + offset) / quantification``."""
WORKING_QUANTIFICATION = QUANTIFICATION
"""Working DN per unit of reflectance (Sentinel-2's own quantification)."""
WORKING_OFFSET_DN = 1000
"""Working DN of reflectance 0 (as in products of baseline ≥ 04.00): keeps reflectance 0 and small
negative reflectances valid, and sits the networks' input in the range of real L1B DN."""
INTEGER, FLOAT, L1B = "integer", "float", "l1b"
"""Kinds of stored values: integer DN with a reflectance scale, float reflectance, L1B DN."""


@dataclass(frozen=True)
class Radiometry:
    """How stored values map to reflectance (or not, for L1B DN) and which value is no-data.

    ``kind`` :data:`INTEGER`: ``reflectance = (DN + offset) / quantification``, no-data
    ``nodata`` (0); :data:`FLOAT`: values are reflectance, no-data NaN and ``nodata`` (if set);
    :data:`L1B`: uint16 L1B digital numbers, fed to the networks unchanged.
    """

    kind: str
    quantification: float = WORKING_QUANTIFICATION
    offset: float = 0.0
    nodata: float | None = NO_DATA
    source: str = ""
    """Where this was read from, or "assumed" (said wherever the output is described)."""

    @classmethod
    def l1b(cls) -> Radiometry:
        return cls(L1B, source="L1B digital numbers")

    @classmethod
    def integer(cls, quantification: float, offset: float, *, source: str) -> Radiometry:
        return cls(INTEGER, float(quantification), float(offset), NO_DATA, source)

    @classmethod
    def reflectance(cls, nodata: float | None, *, source: str) -> Radiometry:
        return cls(FLOAT, 1.0, 0.0, nodata, source)

    @property
    def dtype(self) -> np.dtype:
        """The type outputs are written in: float32 for float reflectance, else uint16."""
        return np.dtype(np.float32 if self.kind == FLOAT else np.uint16)

    def describe(self) -> str:
        """One phrase, e.g. ``"uint16 DN, reflectance = (DN - 1000) / 10000 (L2A product metadata)"``."""
        if self.kind == L1B:
            return "uint16 L1B digital numbers"
        if self.kind == FLOAT:
            return f"float32 reflectance ({self.source})"
        sign = "-" if self.offset < 0 else "+"
        dn = f"(DN {sign} {abs(self.offset):g})" if self.offset else "DN"
        return f"uint16 DN, reflectance = {dn} / {self.quantification:g} ({self.source})"

    def gdal_scale_offset(self) -> tuple[float, float]:
        """(scale, offset) such that ``reflectance = stored · scale + offset`` (GDAL's convention);
        (1, 0) for float reflectance and L1B DN."""
        if self.kind != INTEGER:
            return 1.0, 0.0
        return 1.0 / self.quantification, self.offset / self.quantification

    def valid(self, values: np.ndarray) -> np.ndarray:
        """(H, W) True where every band holds a measurement: no band is no-data, and (float) not all
        four bands exactly 0, which exporters write outside the data when they declare no no-data."""
        values = np.asarray(values)
        if self.kind == FLOAT:
            bad = ~np.isfinite(values)
            if self.nodata is not None and np.isfinite(self.nodata):
                bad |= values == self.nodata
            return ~bad.any(axis=-1) & ~(values == 0).all(axis=-1)
        return (values != NO_DATA).all(axis=-1)

    def to_working(self, values: np.ndarray) -> np.ndarray:
        """(H, W, 4) stored values → (H, W, 4) uint16 working DN for the networks.

        No-data pixels (any band no-data) become 0 in every band; valid ones at least 1 (a
        reflectance below −WORKING_OFFSET_DN / WORKING_QUANTIFICATION, never written by
        Sentinel-2 processing, is raised to the smallest valid value, as is anything above DN_MAX)."""
        values = np.asarray(values)
        if self.kind == L1B:
            return values.astype(np.uint16, copy=False)
        valid = self.valid(values)
        reflectance = values.astype(np.float64)
        if self.kind == INTEGER:
            reflectance = (reflectance + self.offset) / self.quantification
        working = np.rint(np.nan_to_num(reflectance) * WORKING_QUANTIFICATION) + WORKING_OFFSET_DN
        working = np.clip(working, 1, DN_MAX)
        working[~valid] = NO_DATA
        return working.astype(np.uint16)

    def from_working(self, working: np.ndarray) -> np.ndarray:
        """(H, W, 4) uint16 working DN → stored values in this convention (:attr:`dtype`).

        Working no-data (0) becomes this convention's no-data (0, or NaN / ``nodata`` for float);
        an integer output is kept ≥ 1 where valid and ≤ DN_MAX (a valid pixel never turns no-data)."""
        working = np.asarray(working)
        if self.kind == L1B:
            return working
        nodata = working == NO_DATA
        reflectance = (working.astype(np.float64) - WORKING_OFFSET_DN) / WORKING_QUANTIFICATION
        if self.kind == FLOAT:
            out = reflectance.astype(np.float32)
            out[nodata] = np.nan if self.nodata is None or not np.isfinite(self.nodata) else self.nodata
            return out
        stored = np.clip(np.rint(reflectance * self.quantification - self.offset), 1, DN_MAX)
        stored[nodata] = NO_DATA
        return stored.astype(np.uint16)
