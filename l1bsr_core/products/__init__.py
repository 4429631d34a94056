"""Sentinel-2 L1B products: detector strips, coarse band alignment, overlap pairs.

    from l1bsr_core.products import open_product, process_detector
    product = open_product("S2B_MSIL1B_….SAFE")          # or its .zip
    record = process_detector(product, 1, "D01.tif", "registration")

Modules: :mod:`.layout` (where the files are), :mod:`.metadata` (what GDAL does not expose),
:mod:`.strips` (granules through GDAL, stacked per detector), :mod:`.coarse` (coarse band
offsets), :mod:`.overlap` (adjacent detectors' common ground, pairs), :mod:`.process` (a detector
to GeoTIFF), :mod:`.commands` (``l1bsr product``, ``l1bsr pairs``), :mod:`.timing` (facts of a
real datastrip), :mod:`.synthetic` (a product with known truth, for tests and benchmarks).
"""

from .layout import find_product, is_product
from .process import list_detectors, open_product, process_detector

__all__ = ["find_product", "is_product", "list_detectors", "open_product", "process_detector"]
