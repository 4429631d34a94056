"""A NIR of its own for procedural scenes (issue #24): features NIR and the visible bands see differently.

A procedural scene's NIR is one level per land class (:mod:`l1bsr_core.land_classes`), so every NIR
edge is an edge of the visible bands too. :func:`with_own_nir` adds what real NIR has and that
matters for registration: NIR-only texture and edges, and features whose strongest edge lies in one
place in G and in another in NIR. Scenes are (4, H, W) float32 DN, bands B, G, R, NIR, in one
geometry; sizes in scene pixels (5 m, :data:`~l1bsr_core.land_classes.HR_PIXEL_M`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .land_classes import CLASS_DN, HR_PIXEL_M, PATH_DN
from .procedural_noise import edge_coverage, fractal_noise, region_coverage

_OWN_NIR_STREAM = 24
"""Second word of the seed of :func:`with_own_nir`'s generator: its draws never touch the scene's own."""
VIGOUR_AMPLITUDE = 0.25
"""Relative NIR variation of vegetation with its vigour (biomass): visible bands barely see it."""
VIGOUR_CELL_PX = 24.0
"""Feature size of the vigour texture, scene px (120 m)."""
STRESS_FRACTION = 0.2
"""Share of the scene in patches of stressed or senescent vegetation."""
STRESS_CELL_PX = 50.0
"""Feature size of the stress patches, scene px (250 m)."""
STRESS_NIR_FACTOR = 0.7
"""NIR of stressed vegetation relative to healthy: a NIR edge with no visible edge."""
WET_MARGIN_PX = (3.0, 8.0)
"""Range of the width (scene px) of the wet margin round open water: darker in the visible, NIR
unchanged (emergent vegetation), so G's shore edge lies this far out from NIR's."""
WET_MARGIN_DARKENING = 0.45
"""How far the wet margin's visible bands go towards the path radiance."""
POTHOLES_PER_KM2 = 2.5
"""Prairie potholes (small wetlands) per km²: about 30 in a 3.5 km scene."""
POTHOLE_RADIUS_PX = (6.0, 20.0)
"""Range of a pothole's radius (scene px, 30–100 m): the extent of its wet margin."""
POTHOLE_WATER_SHARE = (0.35, 0.8)
"""Range of the open water's radius as a share of the pothole's."""
POTHOLE_WATER_OFFSET = 0.8
"""Largest offset of the open water's centre from the pothole's, as a share of the room between
their radii (the water stays inside the margin)."""
POTHOLE_WOBBLE = 0.15
"""Relative amplitude of a pothole's outline, a sine of :data:`POTHOLE_LOBES` lobes round it."""
POTHOLE_LOBES = (2, 4)
"""Range of the number of lobes of a pothole's outline."""
SOLID_WATER = 0.5
"""Water cover (:func:`water_cover`) from which a pixel is open water for the wet margins and for
keeping potholes out of lakes and rivers."""
VEGETATED = 0.5
"""Vegetation weight (:func:`vegetation_weight`) a pothole's centre needs: potholes lie in grassland,
crops and woods, not on roads, roofs or water."""


def vegetation_weight(scene: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1]: how much a (4, H, W) scene pixel looks like vegetation, from NIR / R above
    the path radiance: 0 up to a ratio of 1.5, 1 from 4.5 (class levels: bare soil 1.4–1.9, ripe
    crops 2.5, grass 8.8, green crops 17, forest 20; built-up classes 1.1–1.8, water < 0.8)."""
    red = scene[2] - PATH_DN[2]
    nir = scene[3] - PATH_DN[3]
    return np.clip((nir / np.maximum(red, 1.0) - 1.5) / 3.0, 0.0, 1.0).astype(np.float32)


def water_cover(scene: np.ndarray) -> np.ndarray:
    """(H, W) in [0, 1]: open water, from NIR / G above the path radiance: 1 up to a ratio of 0.6,
    0 from 0.9 (class levels: clear water 0.5, turbid water 0.62, every land class ≥ 1.1)."""
    green = scene[1] - PATH_DN[1]
    nir = scene[3] - PATH_DN[3]
    return np.clip((0.9 - nir / np.maximum(green, 1.0)) / 0.3, 0.0, 1.0).astype(np.float32)


def with_own_nir(scene: np.ndarray, *, seed: int) -> np.ndarray:
    """A (4, H, W) scene, DN, with NIR given a texture of its own, as real NIR has (issue #24).

    Procedural NIR is one level per class, so every NIR edge is an edge of the visible bands too
    and matching NIR against G finds the same structure. Real NIR has its own: on the airborne
    NAIP scenes the NIR windows matched against G read 0.13–0.50 px from the truth (B 0.06–0.09),
    the same in every noise draw. Four effects put that into a procedural scene:

    * **vigour**: vegetation's NIR varies by ±:data:`VIGOUR_AMPLITUDE` with biomass, on
      :data:`VIGOUR_CELL_PX` features; the visible bands do not change;
    * **stress**: patches (:data:`STRESS_FRACTION` of the scene) where vegetation's NIR drops to
      :data:`STRESS_NIR_FACTOR`: sharp NIR edges that G does not have;
    * **wet margins**: a ring of :data:`WET_MARGIN_PX` round open water where the visible bands
      darken (wet soil, emergent vegetation) and NIR does not: G's shore edge lies out on the
      margin, NIR's at the open water;
    * **potholes** (:data:`POTHOLES_PER_KM2` candidates, kept on vegetated land): small wetlands
      whose wet margin is the visible bands' strong edge and whose open water, smaller and
      off-centre in it, is NIR's (G sees the water too, with about half the margin's contrast);
      the same feature's strongest edges lie in different places in G and NIR, as on the NAIP
      prairie's ponds.

    B, G, R are changed only by the wet margins and potholes, NIR only by vigour, stress and the
    potholes' water; the bands stay in one geometry (each feature is where it is in every band).
    Deterministic in ``seed`` (its own generator, independent of the scene's).
    """
    rng = np.random.default_rng([seed, _OWN_NIR_STREAM])
    height, width = scene.shape[1:]
    out = scene.astype(np.float32, copy=True)
    path = PATH_DN[:, None, None]
    vegetation = vegetation_weight(scene)
    vigour = 1.0 + VIGOUR_AMPLITUDE * np.clip(fractal_noise(rng, height, width, VIGOUR_CELL_PX), -2.0, 2.0) / 2.0
    stressed = region_coverage(rng, height, width, STRESS_CELL_PX, STRESS_FRACTION)
    nir_factor = 1.0 + vegetation * (vigour * (1.0 - (1.0 - STRESS_NIR_FACTOR) * stressed) - 1.0)
    out[3] = path[3] + (out[3] - path[3]) * nir_factor
    water = water_cover(scene)
    solid = water >= SOLID_WATER
    if solid.any():  # a distance needs somewhere to measure from: no open water, no margin
        margin = rng.uniform(*WET_MARGIN_PX)
        distance = ndimage.distance_transform_edt(~solid).astype(np.float32)
        ring = edge_coverage(margin - distance) * (1.0 - water)
        out[:3] -= WET_MARGIN_DARKENING * ring[None] * (out[:3] - path[:3])
    _potholes(rng, out, (vegetation >= VEGETATED) & ~solid)
    return out


def _potholes(rng: np.random.Generator, image: np.ndarray, allowed: np.ndarray) -> None:
    """Paint potholes in place on a (4, H, W) scene: wet margin in B, G, R, open water (smaller,
    off-centre) in every band (see :func:`with_own_nir`); wobbly outlines, antialiased edges. A
    candidate is kept only where ``allowed`` (H, W) bool is true at its centre; every candidate
    draws the same numbers, so the others do not depend on which are kept."""
    height, width = image.shape[1:]
    count = rng.poisson(POTHOLES_PER_KM2 * height * width * (HR_PIXEL_M / 1000) ** 2)
    path = PATH_DN[:, None, None]
    for _ in range(count):
        radius = rng.uniform(*POTHOLE_RADIUS_PX)
        water_radius = radius * rng.uniform(*POTHOLE_WATER_SHARE)
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        angle = rng.uniform(0, 2 * np.pi)
        off = rng.uniform(0, POTHOLE_WATER_OFFSET) * (radius - water_radius)
        lobes, phase = rng.integers(POTHOLE_LOBES[0], POTHOLE_LOBES[1] + 1), rng.uniform(0, 2 * np.pi)
        if not allowed[int(cy), int(cx)]:
            continue
        wy, wx = cy + off * np.sin(angle), cx + off * np.cos(angle)
        reach = radius * (1.0 + POTHOLE_WOBBLE) + 2.0  # the outline's farthest point, and its antialiasing
        top, bottom = max(int(cy - reach), 0), min(int(cy + reach) + 2, height)
        left, right = max(int(cx - reach), 0), min(int(cx + reach) + 2, width)
        yy, xx = np.mgrid[top:bottom, left:right].astype(np.float32)
        wobble = 1.0 + POTHOLE_WOBBLE * np.sin(lobes * np.arctan2(yy - cy, xx - cx) + phase)
        margin = edge_coverage(radius * wobble - np.hypot(yy - cy, xx - cx))
        water = edge_coverage(water_radius * wobble - np.hypot(yy - wy, xx - wx)) * margin
        block = image[:, top:bottom, left:right]
        block[:3] -= WET_MARGIN_DARKENING * margin[None] * (block[:3] - path[:3])
        block[:3] += water[None] * (CLASS_DN["water"][:3, None, None] - block[:3])
        block[3] += water * (CLASS_DN["water"][3] - block[3])
