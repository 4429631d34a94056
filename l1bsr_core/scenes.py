"""Scenes: the aligned high-resolution ground truth that :mod:`l1bsr_core.simulate` degrades.

A scene is a (4, H, W) float32 array, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8), in L1B-like
top-of-atmosphere digital numbers (DN), with all four bands in one geometry (no misregistration).

Two sources:

* :func:`make_scene` draws a procedural landscape (fields with crop rows, hedges, forest, rivers,
  lakes, roads, urban blocks with shadows, bare soil). One scene pixel stands for
  :data:`HR_PIXEL_M` = 5 m, half an L1B pixel, so a 704 × 704 scene degrades to a 352 × 352
  L1B-like crop. Class levels are set so that the degraded scenes have the statistics of the real
  example crops (band means ~130–470 DN, NIR highest, maxima of a few thousand on bright roofs).
* :func:`real_scene` reads a real L1B crop and removes its band misregistration with the classical
  registration of :mod:`l1bsr_core.classical_registration` (the reduced-scale protocol: a real 10 m crop is
  the "high-resolution" truth of a simulated 20 m acquisition).

:class:`l1bsr_core.train.sampler.SceneSampler` mixes both into random augmented training crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .bands import DN_MAX
from .land_classes import CLASS_DN, HR_PIXEL_M, PATH_DN
from .own_nir import with_own_nir
from .procedural_noise import edge_coverage, fractal_noise, region_coverage, threshold_coverage, value_noise

__all__ = ["CLASS_DN", "HR_PIXEL_M", "LANDSCAPES", "PATH_DN", "make_scene", "real_scene", "with_own_nir"]

LANDSCAPES: tuple[str, ...] = ("agricultural", "river_forest", "urban", "mixed")
"""Landscape kinds :func:`make_scene` can draw; ``landscape=None`` picks one from the seed."""

_FIELD_CLASSES = ("crop_green", "crop_young", "crop_ripe", "grass", "soil_dark", "soil_bright")
_TABLE = 4096  # size of per-field / per-lot attribute tables (ids are hashed into it)


@dataclass(frozen=True)
class _Recipe:
    """How much of each element a landscape kind draws (areas as fractions, sizes in pixels)."""

    field_size: tuple[float, float]
    strip_layout: float  # probability of strip parcels (else Voronoi parcels)
    field_weights: tuple[float, ...]  # over _FIELD_CLASSES
    hedges: float  # probability that a field boundary is a hedge (else a dirt track)
    forest: float
    river: float  # probability of a river
    river_width: tuple[float, float]
    lakes: float
    urban: float
    straight_roads: tuple[int, int]
    curved_roads: tuple[int, int]


_RECIPES: dict[str, _Recipe] = {
    "agricultural": _Recipe((35, 110), 0.6, (0.3, 0.2, 0.2, 0.1, 0.12, 0.08), 0.35, 0.06, 0.3,
                            (4, 10), 0.0, 0.03, (1, 2), (1, 2)),
    "river_forest": _Recipe((40, 120), 0.3, (0.15, 0.1, 0.1, 0.45, 0.1, 0.1), 0.6, 0.45, 1.0,
                            (10, 30), 0.03, 0.02, (0, 1), (1, 1)),
    "urban": _Recipe((30, 80), 0.5, (0.1, 0.1, 0.1, 0.4, 0.15, 0.15), 0.3, 0.06, 0.3,
                     (6, 16), 0.0, 0.7, (2, 3), (1, 1)),
    "mixed": _Recipe((35, 110), 0.5, (0.25, 0.15, 0.15, 0.2, 0.15, 0.1), 0.45, 0.2, 0.7,
                     (6, 20), 0.01, 0.15, (1, 2), (1, 2)),
}


# ----------------------------------------------------------------------------------------------
# Procedural scenes
# ----------------------------------------------------------------------------------------------


def make_scene(height: int, width: int, *, seed: int, landscape: str | None = None,
               own_nir: bool = False) -> np.ndarray:
    """Draw a procedural high-resolution landscape.

    Args:
        height, width: size in scene pixels (5 m each, :data:`HR_PIXEL_M`); any size >= 8.
        seed: the scene is a deterministic function of ``(height, width, seed, landscape, own_nir)``.
        landscape: one of :data:`LANDSCAPES`, or None to pick one from the seed.
        own_nir: give NIR a texture of its own (:func:`with_own_nir`): edges the visible bands do
            not have and visible edges NIR does not have. False: every NIR edge is a class boundary
            the visible bands share (the scene the other arguments give, unchanged).

    Returns:
        (4, H, W) float32, bands B, G, R, NIR (S2 B2, B3, B4, B8), L1B-like DN in [1, 65535],
        all bands aligned. Edges are antialiased over about one pixel; textures (crop rows, tree
        crowns, roofs) reach periods of ~2 px, so they alias when decimated.
    """
    if height < 8 or width < 8:
        raise ValueError(f"scene must be at least 8 x 8 pixels; got {height} x {width}")
    rng = np.random.default_rng(seed)
    if landscape is None:
        landscape = LANDSCAPES[int(rng.integers(len(LANDSCAPES)))]
    if landscape not in LANDSCAPES:
        raise ValueError(f"unknown landscape {landscape!r}: expected one of {', '.join(LANDSCAPES)}")
    recipe = _RECIPES[landscape]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)

    image = _fields(rng, yy, xx, recipe)
    if rng.random() < 0.9 or recipe.forest > 0.1:
        _forest(rng, image, yy, xx, recipe.forest)
    if recipe.lakes > 0:
        _lakes(rng, image, recipe.lakes)
    if rng.random() < recipe.river:
        _river(rng, image, recipe.river_width)
    if recipe.urban > 0:
        _urban(rng, image, yy, xx, recipe.urban)
    for _ in range(int(rng.integers(recipe.straight_roads[0], recipe.straight_roads[1] + 1))):
        _straight_road(rng, image, yy, xx)
    for _ in range(int(rng.integers(recipe.curved_roads[0], recipe.curved_roads[1] + 1))):
        _curved_road(rng, image)

    # Fine surface texture everywhere, then the scene's illumination (sun elevation) above the path.
    fine = ndimage.gaussian_filter(rng.standard_normal((height, width)).astype(np.float32), 0.7)
    image *= 1.0 + 0.05 * fine
    gain = rng.uniform(0.9, 1.12)
    path = PATH_DN[:, None, None]
    image = path + gain * (image - path)
    if own_nir:
        image = with_own_nir(image, seed=seed)
    return np.clip(image, 1.0, DN_MAX).astype(np.float32)


def _colour_field(table: np.ndarray, index: np.ndarray) -> np.ndarray:
    """(T, 4) table rows picked by an (H, W) index -> (4, H, W)."""
    return np.moveaxis(table[index], -1, 0)


def _paint(image: np.ndarray, colour: np.ndarray, coverage: np.ndarray) -> None:
    """Blend ``colour`` ((4,) or (4, H, W)) over ``image`` where ``coverage`` (H, W) in [0, 1]."""
    if colour.ndim == 1:
        colour = colour[:, None, None]
    ys, xs = np.nonzero(coverage)
    if ys.size > coverage.size // 4:
        image += coverage[None] * (colour - image)
        return
    covered = coverage[ys, xs]
    colour = colour[:, ys, xs] if colour.shape[1] > 1 else colour[:, :, 0]
    image[:, ys, xs] += covered * (colour - image[:, ys, xs])


def _shade(image: np.ndarray, amount: np.ndarray, depth: float = 0.6) -> None:
    """Darken towards the path radiance: a shadow of strength ``amount`` (H, W) in [0, 1]."""
    image -= (depth * amount)[None] * (image - PATH_DN[:, None, None])


def _fields(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, recipe: _Recipe) -> np.ndarray:
    """Parcels covering the scene: per-field class, brightness, rows and texture; boundaries."""
    height, width = yy.shape
    warp_amp = rng.uniform(2.0, 8.0)
    wy = yy + warp_amp * value_noise(rng, height, width, 160)
    wx = xx + warp_amp * value_noise(rng, height, width, 160)
    angle = rng.uniform(0, np.pi)
    size = rng.uniform(*recipe.field_size)
    if rng.random() < recipe.strip_layout:
        field_id, edge, row_angle = _strip_parcels(rng, wy, wx, angle, size)
    else:
        field_id, edge, row_angle = _voronoi_parcels(rng, wy, wx, angle, size)
    field_id %= _TABLE

    weights = np.asarray(recipe.field_weights) / np.sum(recipe.field_weights)
    kind = rng.choice(len(_FIELD_CLASSES), size=_TABLE, p=weights)
    base = np.stack([CLASS_DN[_FIELD_CLASSES[k]] for k in kind])  # (T, 4)
    gain = rng.normal(1.0, 0.07, (_TABLE, 1)).clip(0.8, 1.25)
    nir_gain = rng.normal(1.0, 0.08, _TABLE).clip(0.75, 1.3)
    table = PATH_DN + (base - PATH_DN) * gain
    table[:, 3] *= nir_gain
    colour = _colour_field(table.astype(np.float32), field_id)

    # Rows: vegetation rows over soil (crops) or furrows (soil), per-field period and direction.
    names = np.asarray(_FIELD_CLASSES)[kind]
    is_crop = np.char.startswith(names, "crop")
    is_soil = np.char.startswith(names, "soil")
    row_amp = np.where(is_crop, rng.uniform(0.0, 0.5, _TABLE), 0.0)
    row_amp = np.where(is_soil, rng.uniform(0.0, 0.25, _TABLE), row_amp).astype(np.float32)
    row_amp *= rng.random(_TABLE) < 0.75
    period = rng.uniform(2.2, 8.0, _TABLE).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, _TABLE).astype(np.float32)
    across = rng.random(_TABLE) < 0.3  # rows perpendicular to the parcel's long axis
    theta = row_angle + np.where(across, np.pi / 2, 0.0)[field_id]
    proj = xx * np.cos(theta) + yy * np.sin(theta)
    rows = (0.5 + 0.5 * np.sin(2 * np.pi * proj / period[field_id] + phase[field_id])) * row_amp[field_id]
    under = np.where(is_soil, 0.55, 1.0)[field_id]  # furrow shade for soil, soil colour under crops
    soil = CLASS_DN["soil_dark"][:, None, None] * under[None]
    colour += rows[None] * (soil - colour)

    # Within-field variation (moisture, growth): smooth noise scaled per field.
    texture_amp = rng.uniform(0.02, 0.10, _TABLE).astype(np.float32)[field_id]
    texture = fractal_noise(rng, height, width, 40, octaves=4)
    colour = PATH_DN[:, None, None] + (colour - PATH_DN[:, None, None]) * (1 + texture_amp * texture)[None]

    # Boundaries: hedges (trees) or dirt tracks, about 1–3 px wide.
    hedge = (rng.random(_TABLE) < recipe.hedges)[field_id]
    half_width = rng.uniform(0.4, 1.4, _TABLE).astype(np.float32)[field_id]
    boundary = edge_coverage(half_width - edge)
    _paint(colour, CLASS_DN["soil_bright"], boundary * ~hedge)
    crowns = ndimage.gaussian_filter(rng.standard_normal((height, width)).astype(np.float32), 1.0)
    hedge_colour = CLASS_DN["forest"][:, None, None] * (1 + 0.25 * crowns)[None]
    _paint(colour, hedge_colour, edge_coverage(half_width + 0.6 - edge) * hedge)
    return colour.astype(np.float32)


def _strip_parcels(rng, yy, xx, angle, size):
    """Parcels as strips across the scene, each cut into fields of its own length."""
    u = xx * np.cos(angle) + yy * np.sin(angle)
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    lo, hi = float(u.min()) - size, float(u.max()) + size
    widths = rng.uniform(0.4 * size, 1.2 * size, int((hi - lo) / (0.4 * size)) + 2)
    bounds = lo + np.concatenate(([0.0], np.cumsum(widths)))
    strip = np.searchsorted(bounds, u) - 1
    du = np.minimum(u - bounds[strip], bounds[strip + 1] - u)
    n = len(bounds)
    length = rng.uniform(0.8 * size, 3.0 * size, n).astype(np.float32)
    offset = rng.uniform(0, 1000, n).astype(np.float32)
    t = (v + offset[strip]) / length[strip]
    cell = np.floor(t)
    frac = t - cell
    dv = np.minimum(frac, 1 - frac) * length[strip]
    field_id = (strip * 7919 + cell.astype(np.int64) * 104729) % _TABLE
    return field_id, np.minimum(du, dv), np.float32(angle)


def _voronoi_parcels(rng, yy, xx, angle, size):
    """Voronoi parcels (Worley cells on a jittered grid), stretched along ``angle``."""
    stretch = float(rng.uniform(1.0, 2.5))
    scale_u, scale_v = float(size) * stretch, float(size)
    u = (xx * np.float32(np.cos(angle)) + yy * np.float32(np.sin(angle))) / np.float32(scale_u)
    v = (-xx * np.float32(np.sin(angle)) + yy * np.float32(np.cos(angle))) / np.float32(scale_v)
    iu, iv = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    u0, v0 = iu.min() - 1, iv.min() - 1
    cols = int(iv.max() - v0 + 2)
    shape = (int(iu.max() - u0 + 2), cols)
    site_u = (np.arange(shape[0])[:, None] + u0 + rng.uniform(0.1, 0.9, shape)).astype(np.float32).ravel()
    site_v = (np.arange(shape[1])[None, :] + v0 + rng.uniform(0.1, 0.9, shape)).astype(np.float32).ravel()
    cell = (iu - u0) * cols + (iv - v0)  # flat index of the pixel's own grid cell
    best0 = np.full(u.shape, np.inf, np.float32)
    best1 = np.full(u.shape, np.inf, np.float32)
    near0 = np.zeros(u.shape, np.int64)
    near1 = np.zeros(u.shape, np.int64)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            index = cell + (du * cols + dv)
            dist = np.hypot((u - site_u[index]) * scale_u, (v - site_v[index]) * scale_v)
            first = dist < best0
            second = ~first & (dist < best1)
            near1 = np.where(first, near0, np.where(second, index, near1))
            near0 = np.where(first, index, near0)
            best1 = np.minimum(best1, np.maximum(best0, dist))
            best0 = np.minimum(best0, dist)
    # Distance to the bisector of the two nearest sites (exact for Euclidean Voronoi edges).
    separation = np.hypot((site_u[near0] - site_u[near1]) * scale_u, (site_v[near0] - site_v[near1]) * scale_v)
    edge = (best1**2 - best0**2) / (2 * np.maximum(separation, 1e-3))
    ident = near0 % _TABLE
    row_angle = np.float32(angle) + np.where(rng.random(_TABLE) < 0.5, 0.0, np.pi / 2).astype(np.float32)[ident]
    return ident, edge.astype(np.float32), row_angle


def _forest(rng, image, yy, xx, fraction):
    """Forest stands: crown texture (high NIR, low red), gaps in shadow, ragged antialiased edges."""
    height, width = yy.shape
    fraction = fraction if fraction > 0 else 0.02
    field = fractal_noise(rng, height, width, 90, octaves=3)
    crowns = ndimage.gaussian_filter(rng.standard_normal((height, width)).astype(np.float32), 1.2)
    crowns /= crowns.std() + 1e-6
    ragged = field + 0.06 * crowns
    cover = threshold_coverage(ragged, np.quantile(ragged[::3, ::3], 1.0 - fraction), soften=0.02)
    mix = np.clip(0.5 + value_noise(rng, height, width, 70), 0, 1)  # deciduous vs conifer stands
    colour = CLASS_DN["forest"][:, None, None] * (1 - mix) + CLASS_DN["conifer"][:, None, None] * mix
    colour = colour * (1 + np.asarray([0.08, 0.1, 0.1, 0.2], np.float32)[:, None, None] * crowns)
    _paint(image, colour.astype(np.float32), cover)
    _shade(image, cover * np.clip(-crowns - 0.8, 0, 1), depth=0.5)


def _lakes(rng, image, fraction):
    height, width = image.shape[1:]
    cover = region_coverage(rng, height, width, 60, fraction)
    _paint(image, CLASS_DN["grass"], np.clip(cover * 3, 0, 1) * (cover < 1))  # reed margins
    _paint(image, CLASS_DN["water"], cover)


def _meander(rng, height, width, wiggle, spacing=0.5):
    """A curve crossing the scene; its heading follows a smooth random walk pulled towards the far
    side. Returns (N, 2) points (y, x), ``spacing`` pixels apart."""
    side = int(rng.integers(4))
    t = rng.uniform(0.15, 0.85)
    start = {0: (0.0, t * width), 1: (height - 1.0, t * width),
             2: (t * height, 0.0), 3: (t * height, width - 1.0)}[side]
    step, margin = 2.0, 40.0
    beyond = 4 * margin  # the target lies outside the scene, so the curve leaves it
    target = {0: (height + beyond, rng.uniform(0, width)), 1: (-beyond, rng.uniform(0, width)),
              2: (rng.uniform(0, height), width + beyond), 3: (rng.uniform(0, height), -beyond)}[side]
    y, x = start
    heading = math.atan2(target[0] - y, target[1] - x)
    turn = 0.0
    points = [(y, x)]
    kicks = rng.standard_normal(int(4 * (height + width) / step))
    for kick in kicks:
        goal = math.atan2(target[0] - y, target[1] - x)
        pull = math.remainder(goal - heading, 2 * math.pi)
        turn = 0.9 * turn + wiggle * kick + 0.01 * pull
        heading += turn
        y, x = y + step * math.sin(heading), x + step * math.cos(heading)
        points.append((y, x))
        if not (-margin < y < height + margin and -margin < x < width + margin):
            break
    coarse = np.asarray(points)
    arc = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(coarse, axis=0).T))))
    fine = np.arange(0.0, arc[-1], spacing)
    return np.stack((np.interp(fine, arc, coarse[:, 0]), np.interp(fine, arc, coarse[:, 1])), 1)


def _curve_distance(points, height, width, reach):
    """Distance (H, W) to the nearest of ``points`` (y, x), and its index; inf beyond ``reach``."""
    distance = np.full((height, width), np.inf, np.float32)
    nearest = np.zeros((height, width), np.int64)
    ij = np.round(points).astype(np.int64)
    inside = (ij[:, 0] >= 0) & (ij[:, 0] < height) & (ij[:, 1] >= 0) & (ij[:, 1] < width)
    if not inside.any():
        return distance, nearest
    mask = np.zeros((height, width), bool)
    mask[ij[inside, 0], ij[inside, 1]] = True
    mask = ndimage.maximum_filter(mask, size=2 * int(np.ceil(reach)) + 3)
    ys, xs = np.nonzero(mask)
    d, i = cKDTree(points).query(np.stack((ys, xs), 1), distance_upper_bound=reach)
    distance[ys, xs] = d
    nearest[ys, xs] = np.minimum(i, len(points) - 1)
    return distance, nearest


def _river(rng, image, width_range):
    """A meandering river with varying width, sediment-tinted water and vegetated or sandy banks."""
    height, width = image.shape[1:]
    points = _meander(rng, height, width, wiggle=0.035)
    n = len(points)
    half = 0.5 * rng.uniform(*width_range)
    half_width = half * (1 + 0.3 * np.sin(np.linspace(0, rng.uniform(2, 8), n) + rng.uniform(0, 6)))
    bank = rng.uniform(2, 6)
    distance, nearest = _curve_distance(points, height, width, reach=half_width.max() + bank + 2)
    hw = half_width[nearest].astype(np.float32)
    bank_colour = CLASS_DN["forest"] if rng.random() < 0.7 else CLASS_DN["sand"]
    _paint(image, bank_colour, edge_coverage(hw + bank - distance))
    turbid = np.clip(0.5 + 0.5 * value_noise(rng, height, width, 50), 0, 1)
    water = (CLASS_DN["water"][:, None, None] * (1 - turbid) + CLASS_DN["water_turbid"][:, None, None] * turbid)
    _paint(image, water.astype(np.float32), edge_coverage(hw - distance))


def _straight_road(rng, image, yy, xx):
    height, width = yy.shape
    angle = rng.uniform(0, np.pi)
    cy, cx = rng.uniform(0, height), rng.uniform(0, width)
    distance = np.abs((xx - cx) * np.sin(angle) - (yy - cy) * np.cos(angle))
    half = rng.uniform(0.7, 2.0)
    colour = CLASS_DN["concrete"] if rng.random() < 0.5 else CLASS_DN["asphalt"] * 1.25
    _paint(image, CLASS_DN["soil_bright"], edge_coverage(half + 0.8 - distance) * 0.6)  # verges
    _paint(image, colour, edge_coverage(half - distance))


def _curved_road(rng, image):
    height, width = image.shape[1:]
    points = _meander(rng, height, width, wiggle=0.008)
    half = rng.uniform(0.6, 1.6)
    distance, _ = _curve_distance(points, height, width, reach=half + 2)
    colour = CLASS_DN["concrete"] if rng.random() < 0.6 else CLASS_DN["soil_bright"] * 1.2
    _paint(image, colour, edge_coverage(half - distance))


def _urban(rng, image, yy, xx, fraction):
    """Urban blocks: a rotated street grid, lots with buildings (gabled or flat roofs), shadows."""
    height, width = yy.shape
    region = region_coverage(rng, height, width, 120 if fraction > 0.3 else 60, fraction)
    if region.max() < 0.5:
        return
    angle = rng.uniform(0, np.pi / 2)
    cos, sin = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    shift_u, shift_v = rng.uniform(0, 100, 2).astype(np.float32)
    u = xx * cos + yy * sin + shift_u
    v = -xx * sin + yy * cos + shift_v
    city = _City(rng)

    # Ground of the urban area: lawns, garden trees, paved yards and the street grid.
    ground = np.repeat(CLASS_DN["grass"][:, None, None], height * width, 1).reshape(-1, height, width)
    _paint(ground, CLASS_DN["forest"], threshold_coverage(value_noise(rng, height, width, 12), 0.3))
    _paint(ground, CLASS_DN["paved"], threshold_coverage(value_noise(rng, height, width, 8), -0.2))
    _paint(ground, CLASS_DN["asphalt"] * 1.3, city.street_coverage(u, v))
    _paint(image, ground, region)

    # Whole buildings, in the blocks whose centre lies in the urban region.
    cover, lot, (centre_u, centre_v) = city.buildings(u, v)
    centre_u, centre_v = centre_u - shift_u, centre_v - shift_v
    cy = np.clip(np.round(centre_u * sin + centre_v * cos), 0, height - 1).astype(np.int64)
    cx = np.clip(np.round(centre_u * cos - centre_v * sin), 0, width - 1).astype(np.int64)
    cover *= region[cy, cx] >= 0.5
    # Shadows: each height level's buildings shifted away from the sun (towards north-west).
    towards = rng.uniform(1.1, 1.5) * np.pi  # image-frame direction of the shadows (x right, y down)
    shadow = np.zeros_like(cover)
    for level, length in enumerate(city.levels):
        offset = (length * np.sin(towards), length * np.cos(towards))  # (dy, dx)
        cast = ndimage.shift(cover * (city.level[lot] == level), offset, order=1, mode="nearest")
        shadow = np.maximum(shadow, cast)
    _shade(image, shadow * (1 - cover), depth=0.65)
    roof = _colour_field(city.roof, lot)
    ridge = np.sign(np.sin(np.pi * city.ridge_phase(u, v)))  # sunlit / shaded roof halves
    roof *= (1 + 0.12 * city.gabled[lot] * ridge)[None]
    _paint(image, roof.astype(np.float32), cover)


class _City:
    """Random street grid and per-lot buildings, evaluated at any (u, v) in rotated pixels."""

    def __init__(self, rng: np.random.Generator):
        self.block = rng.uniform(30, 60, 2)
        self.street = rng.uniform(1.0, 2.2)
        n_lots = rng.integers(2, 4, (_TABLE, 2))
        n_lots[rng.random(_TABLE) < 0.2] = 1  # industrial blocks: one big building
        self.n_lots = n_lots
        self.present = rng.random(_TABLE) < 0.8
        self.inset = rng.uniform(0.8, 3.0, (_TABLE, 4)).astype(np.float32)
        names = ("roof_dark", "roof_red", "concrete", "roof_bright", "roof_metal")
        kind = rng.choice(len(names), size=_TABLE, p=(0.3, 0.3, 0.3, 0.08, 0.02))
        gain = rng.uniform(0.85, 1.15, (_TABLE, 1))
        self.roof = (np.stack([CLASS_DN[names[k]] for k in kind]) * gain).astype(np.float32)
        self.gabled = ((rng.random(_TABLE) < 0.5) & (kind < 2)).astype(np.float32)
        self.levels = (1.5, 3.0, 6.0)
        self.level = rng.choice(3, size=_TABLE, p=(0.5, 0.35, 0.15))

    def _block(self, u, v):
        iu, iv = np.floor(u / self.block[0]), np.floor(v / self.block[1])
        fu, fv = u - iu * self.block[0], v - iv * self.block[1]
        block_id = (iu.astype(np.int64) * 7919 + iv.astype(np.int64) * 104729) % _TABLE
        return fu, fv, block_id

    def street_coverage(self, u, v):
        fu, fv, _ = self._block(u, v)
        inside = np.minimum(np.minimum(fu, self.block[0] - fu), np.minimum(fv, self.block[1] - fv))
        return edge_coverage(self.street - inside)

    def ridge_phase(self, u, v):
        fu, fv, block_id = self._block(u, v)
        lot_u = (self.block[0] - 2 * self.street) / self.n_lots[block_id, 0]
        return (fu - self.street) / lot_u * 2

    def buildings(self, u, v):
        """Building coverage, lot id and block centre (u, v) at rotated coordinates (u, v)."""
        fu, fv, block_id = self._block(u, v)
        inner_u = self.block[0] - 2 * self.street
        inner_v = self.block[1] - 2 * self.street
        lot_u = inner_u / self.n_lots[block_id, 0]
        lot_v = inner_v / self.n_lots[block_id, 1]
        ju = np.clip(np.floor((fu - self.street) / lot_u), 0, self.n_lots[block_id, 0] - 1)
        jv = np.clip(np.floor((fv - self.street) / lot_v), 0, self.n_lots[block_id, 1] - 1)
        gu = fu - self.street - ju * lot_u
        gv = fv - self.street - jv * lot_v
        lot = (block_id * 31 + ju.astype(np.int64) * 7 + jv.astype(np.int64) * 3) % _TABLE
        inset = self.inset[lot]
        inside = np.minimum(np.minimum(gu - inset[..., 0], lot_u - inset[..., 1] - gu),
                            np.minimum(gv - inset[..., 2], lot_v - inset[..., 3] - gv))
        cover = edge_coverage(inside) * self.present[lot]
        centre = ((np.floor(u / self.block[0]) + 0.5) * self.block[0],
                  (np.floor(v / self.block[1]) + 0.5) * self.block[1])
        return cover.astype(np.float32), lot, centre


# ----------------------------------------------------------------------------------------------
# Real scenes
# ----------------------------------------------------------------------------------------------


def real_scene(path: str | Path) -> np.ndarray:
    """Read a real L1B crop and return it with B, R and NIR registered onto G.

    Args:
        path: a BGRN TIFF (B, G, R, NIR = S2 B2, B3, B4, B8) that :func:`l1bsr_core.io.read_bgrn`
            accepts (it raises :class:`~l1bsr_core.errors.InputError` otherwise).

    Returns:
        (4, H, W) float32 DN, bands aligned onto the crop's G band by
        :func:`l1bsr_core.classical_registration.classical_register`. For the reduced-scale protocol this 10 m
        image plays the part of the high-resolution scene. A few pixels along the border may hold
        reflected content from the registration warp.
    """
    from .classical_registration import classical_register  # imported here: only this source needs it
    from .io import read_bgrn_array

    registered, _ = classical_register(read_bgrn_array(path))
    return np.ascontiguousarray(np.moveaxis(np.asarray(registered, dtype=np.float32), -1, 0))
