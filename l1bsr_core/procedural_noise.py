"""Random fields and antialiased shapes that procedural scenes are drawn with.

Fields are (H, W) float32 arrays in scene pixels; every function draws from the generator it is
given, so a scene is a deterministic function of its seed.
"""

from __future__ import annotations

import numpy as np


def value_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Smooth value noise with features of about ``cell`` pixels, zero mean, unit variance.

    White noise on a grid of spacing ``cell`` pixels, cubic-interpolated (separable, as two matrix
    products).
    """
    rows = _cubic_weights(height, cell, rng)
    cols = _cubic_weights(width, cell, rng)
    grid = rng.standard_normal((rows.shape[1], cols.shape[1]), dtype=np.float32)
    return (rows @ grid) @ cols.T


def _cubic_weights(size: int, cell: float, rng: np.random.Generator) -> np.ndarray:
    """(size, knots) Catmull-Rom weights for knots ``cell`` pixels apart (random phase), each row
    scaled to unit norm so that interpolated unit white noise has unit variance everywhere."""
    t = (np.arange(size) + rng.uniform(0, cell)) / max(cell, 1.0) + 1.0
    base = np.floor(t).astype(np.int64)
    frac = (t - base)[:, None]
    taps = base[:, None] + np.arange(-1, 3)[None, :]
    d = np.abs(np.arange(-1, 3)[None, :] - frac)
    weight = np.where(d < 1, 1.5 * d**3 - 2.5 * d**2 + 1, -0.5 * d**3 + 2.5 * d**2 - 4 * d + 2)
    weight /= np.sqrt(np.square(weight).sum(1, keepdims=True))  # unit variance per pixel
    matrix = np.zeros((size, int(taps.max()) + 1), np.float32)
    np.put_along_axis(matrix, taps, weight.astype(np.float32), axis=1)
    return matrix


def fractal_noise(rng: np.random.Generator, height: int, width: int, cell: float, octaves: int = 3) -> np.ndarray:
    """(H, W) sum of ``octaves`` :func:`value_noise` fields of cells ``cell``, ``cell / 2``, … (at least 2 px),
    each half the amplitude of the previous one; zero mean, unit variance."""
    total = np.zeros((height, width), np.float32)
    for octave in range(octaves):
        total += 0.5**octave * value_noise(rng, height, width, max(cell / 2**octave, 2.0))
    return total / np.sqrt(sum(0.25**o for o in range(octaves)))


def edge_coverage(signed_inside: np.ndarray) -> np.ndarray:
    """Antialiased coverage from a signed distance (pixels, positive inside)."""
    return np.clip(signed_inside + 0.5, 0.0, 1.0)


def threshold_coverage(field: np.ndarray, level: float, soften: float = 0.0) -> np.ndarray:
    """Antialiased coverage of ``field > level``: the edge is about one pixel wide (plus ``soften``)."""
    gy, gx = np.gradient(field)
    return edge_coverage((field - level) / (np.hypot(gy, gx) + 1e-3 + soften)).astype(np.float32)


def region_coverage(rng: np.random.Generator, height: int, width: int, cell: float, fraction: float) -> np.ndarray:
    """Coverage (H, W) in [0, 1] of blobs of about ``cell`` px occupying about ``fraction`` of the
    scene, antialiased edges."""
    if fraction <= 0:
        return np.zeros((height, width), np.float32)
    field = fractal_noise(rng, height, width, cell, octaves=3)
    return threshold_coverage(field, np.quantile(field[::3, ::3], 1.0 - fraction))
