"""Small L1C/L2A products and GeoTIFF exports the tests write themselves (no shared data needed)."""

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from l1bsr_core.products.tile_synthetic import write_tile_product
from l1bsr_core.scenes import make_scene

SIDE = 160
"""Side of the tiles written, 10 m pixels."""
NO_DATA_ROWS = 12
"""Rows of no-data (0) at the top of each tile, as at the edge of a real tile's swath."""
ORIGIN = (399960.0, 5000040.0)
EPSG = 32631


def reflectance_scene(height: int = SIDE, width: int = SIDE, seed: int = 3) -> np.ndarray:
    """(H, W, 4) float64 surface reflectance, bands B, G, R, NIR, about 0.005–0.25."""
    return np.moveaxis(make_scene(height, width, seed=seed), 0, -1).astype(np.float64) / 10000


def product_dn(reflectance: np.ndarray, baseline: str) -> np.ndarray:
    """The uint16 DN a product of ``baseline`` stores for ``reflectance`` (offset +1000 from 04.00), no-data rows 0."""
    offset = 1000 if baseline >= "04.00" else 0
    dn = np.rint(reflectance * 10000 + offset).astype(np.uint16)
    dn[:NO_DATA_ROWS] = 0
    return dn


def make_product(folder: Path, *, level="L2A", baseline="05.09", as_zip=False, omit_bands=(), seed=3):
    return write_tile_product(folder, product_dn(reflectance_scene(seed=seed), baseline), level=level,
                              baseline=baseline, epsg=EPSG, origin=ORIGIN, as_zip=as_zip, omit_bands=omit_bands)


def write_export(path: Path, values: np.ndarray, *, crs=True, nodata=None, descriptions=None, scales=None,
                 offsets=None, tags=None) -> Path:
    """A GeoTIFF export of (H, W, C) ``values`` written through GDAL, like Copernicus Browser's."""
    height, width, count = values.shape
    profile = dict(driver="GTiff", width=width, height=height, count=count, dtype=values.dtype.name,
                   crs=CRS.from_epsg(EPSG) if crs else None,
                   transform=from_origin(*ORIGIN, 10, 10) if crs else None, nodata=nodata)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(np.moveaxis(values, -1, 0))
        for band, text in enumerate(descriptions or (), start=1):
            dataset.set_band_description(band, text)
        if scales is not None:
            dataset.scales, dataset.offsets = scales, offsets
        if tags:
            dataset.update_tags(**tags)
    return path
