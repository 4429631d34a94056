"""What the land looks like in each band: the procedural scenes' class levels, path radiance, pixel size.

Levels are (B, G, R, NIR) = Sentinel-2 B2, B3, B4, B8 top-of-atmosphere-like digital numbers at the
scale of the real L1B example crops. Used by :mod:`l1bsr_core.scenes` and :mod:`l1bsr_core.own_nir`.
"""

from __future__ import annotations

import numpy as np

from .bands import INPUT_GSD_M, SCALE_FACTOR

HR_PIXEL_M = INPUT_GSD_M / SCALE_FACTOR
"""Ground size of one procedural-scene pixel, in metres."""

CLASS_DN: dict[str, np.ndarray] = {
    name: np.asarray(levels, dtype=np.float32)
    for name, levels in {
        #              B     G     R    NIR
        "forest":     (160, 150, 80, 520),
        "conifer":    (150, 135, 70, 380),
        "crop_green": (170, 185, 95, 700),
        "crop_young": (185, 195, 140, 520),
        "crop_ripe":  (215, 230, 220, 440),
        "grass":      (175, 190, 115, 560),
        "soil_dark":  (195, 200, 190, 280),
        "soil_bright": (255, 275, 300, 380),
        "sand":       (330, 350, 370, 420),
        "water":      (165, 140, 75, 45),
        "water_turbid": (185, 175, 120, 70),
        "asphalt":    (240, 245, 245, 270),
        "paved":      (320, 330, 335, 360),
        "concrete":   (420, 440, 450, 470),
        "roof_dark":  (260, 255, 245, 275),
        "roof_red":   (280, 270, 380, 420),
        "roof_bright": (850, 900, 930, 950),
        "roof_metal": (1900, 2100, 2200, 2250),
    }.items()
}
"""Per-class (B, G, R, NIR) DN levels: top-of-atmosphere-like, at the real crops' scale."""

PATH_DN = np.asarray((140, 110, 55, 30), dtype=np.float32)
"""Atmospheric path radiance (DN of a black surface): shadows darken towards it, not towards 0."""
