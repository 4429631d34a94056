"""GeoTIFF georeferencing: the tags that place a raster on the ground, and how they change with scale.

An output with ``scale`` times more pixels per side (the 2× super-resolution) covers the same
ground: its pixels are ``scale`` times smaller and its corners keep their model coordinates.
Tags are handled as tifffile ``extratags`` tuples ``(code, dtype, count, value, writeonce)``.
"""

from __future__ import annotations

import numpy as np

MODEL_PIXEL_SCALE = 33550
"""GeoTIFF ModelPixelScale: (ScaleX, ScaleY, ScaleZ), model units per pixel."""
MODEL_TIEPOINT = 33922
"""GeoTIFF ModelTiepoint: (I, J, K, X, Y, Z) * n, raster point (I, J, K) at model (X, Y, Z)."""
MODEL_TRANSFORMATION = 34264
"""GeoTIFF ModelTransformation: 4 × 4 matrix, row-major, model = M @ (I, J, K, 1)."""
GEO_KEY_DIRECTORY = 34735
GEO_DOUBLE_PARAMS = 34736
GEO_ASCII_PARAMS = 34737

GEOTIFF_TAGS = (
    MODEL_PIXEL_SCALE,
    MODEL_TIEPOINT,
    MODEL_TRANSFORMATION,
    GEO_KEY_DIRECTORY,
    GEO_DOUBLE_PARAMS,
    GEO_ASCII_PARAMS,
)

GT_RASTER_TYPE_KEY = 1025
"""GeoKey GTRasterTypeGeoKey: 1 = PixelIsArea (default), 2 = PixelIsPoint."""
RASTER_PIXEL_IS_POINT = 2
GEO_KEY_HEADER_LEN = 4
GEO_KEY_ENTRY_LEN = 4
TIEPOINT_LEN = 6
TRANSFORM_SIDE = 4


def pixel_is_point(geo_keys) -> bool:
    """True when a GeoKeyDirectory says PixelIsPoint (raster (0, 0) is the first pixel's centre).

    False means PixelIsArea, the GeoTIFF default: raster (0, 0) is the first pixel's top-left
    corner. ``geo_keys`` is the GeoKeyDirectory tag's value, or None when there is none.
    """
    if geo_keys is None:
        return False
    entries = geo_keys[GEO_KEY_HEADER_LEN:]
    for start in range(0, len(entries) - GEO_KEY_ENTRY_LEN + 1, GEO_KEY_ENTRY_LEN):
        key_id, location, _count, value = entries[start : start + GEO_KEY_ENTRY_LEN]
        if key_id == GT_RASTER_TYPE_KEY and location == 0:
            return value == RASTER_PIXEL_IS_POINT
    return False


def rescaled_tags(extratags: tuple, scale: float, *, pixel_is_point: bool) -> tuple:
    """``extratags`` with the georeferencing of an output with ``scale`` × more pixels per side.

    Args:
        extratags: tifffile ``extratags`` tuples ``(code, dtype, count, value, writeonce)``; the
            GeoTIFF placement tags among them are rescaled, the others returned as they are.
        scale: output pixels per input pixel along each side (2 for a 2× output).
        pixel_is_point: the raster type of the input (see :func:`pixel_is_point`).

    Pixel sizes are divided by ``scale``; model coordinates of the image corners stay put.
    With PixelIsArea, raster (I, J) in the output is (I, J) * scale in the input; with
    PixelIsPoint raster coordinates are pixel centres, so (I + 0.5) * scale - 0.5.
    """
    if scale == 1:
        return extratags
    # input raster coordinate = output raster coordinate / scale + centre_shift
    centre_shift = (0.5 / scale - 0.5) if pixel_is_point else 0.0
    rescaled = []
    for code, dtype, count, value, writeonce in extratags:
        if code == MODEL_PIXEL_SCALE:
            value = (value[0] / scale, value[1] / scale, *value[2:])
        elif code == MODEL_TIEPOINT:
            points = np.asarray(value, dtype=float).reshape(-1, TIEPOINT_LEN)
            points[:, :2] = (points[:, :2] - centre_shift) * scale
            value = tuple(points.ravel().tolist())
        elif code == MODEL_TRANSFORMATION:
            matrix = np.asarray(value, dtype=float).reshape(TRANSFORM_SIDE, TRANSFORM_SIDE)
            output_to_input = np.diag([1 / scale, 1 / scale, 1.0, 1.0])
            output_to_input[:2, -1] = centre_shift
            value = tuple((matrix @ output_to_input).ravel().tolist())
        rescaled.append((code, dtype, count, value, writeonce))
    return tuple(rescaled)
