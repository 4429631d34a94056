"""Band timing of a real Sentinel-2A L1B datastrip, carried into the project as facts.

From the datastrip metadata of S2A_OPER_MSI_L1B_DS_DPRM_20140630T140000_S20200816T120220_N05.00
(test resources of ESA's sen2vm-core, Apache-2.0): for each detector, the GPS time of line 1 of
B2, B4, B8 behind B3, in line periods (1.565873622 ms), as :meth:`DatastripMetadata.band_lags`
computes it. Odd detectors see B2 first and B4 last; even detectors the other way round — the
flip that makes the two views of an overlap disagree about band misregistration, which is what
L1BSR's self-supervision learns from. The demo's "How it works" page draws these numbers, so it
needs no product at hand.
"""

from __future__ import annotations

LINE_PERIOD_MS = 1.565873622
"""Time between two lines of a detector, ms (the datastrip's ``LINE_PERIOD``; the synthetic products use it too)."""

REAL_BAND_LAGS = {
    1: (-341.0, 311.0, -171.0),
    2: (337.0, -312.0, 169.0),
    3: (-337.0, 307.0, -169.0),
    4: (333.0, -309.0, 166.0),
    5: (-334.0, 305.0, -168.0),
    6: (330.0, -307.0, 165.0),
    7: (-333.0, 305.0, -167.0),
    8: (330.0, -307.0, 164.0),
    9: (-335.0, 306.0, -169.0),
    10: (332.0, -309.0, 166.0),
    11: (-338.0, 310.0, -170.0),
    12: (337.0, -312.0, 168.0),
}
"""Detector → lag of (B2, B4, B8) behind B3, line periods (rounded to the line)."""
