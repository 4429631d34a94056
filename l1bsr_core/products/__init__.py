"""Sentinel-2 L1B products: detector strips, coarse band alignment, overlap pairs.

    from l1bsr_core.products import open_product, process_detector
    product = open_product("S2B_MSIL1B_….SAFE")          # or its .zip
    record = process_detector(product, 1, "D01.tif", "registration")

Modules: :mod:`.layout` (where the files are), :mod:`.metadata` (what GDAL does not expose),
:mod:`.strips` (granules through GDAL, stacked per detector), :mod:`.coarse` (coarse band
offsets), :mod:`.overlap` (adjacent detectors' common ground, pairs), :mod:`.process` (a detector
to GeoTIFF), :mod:`.commands` (``l1bsr product``, ``l1bsr pairs``), :mod:`.timing` (facts of a
real datastrip), :mod:`.synthetic` (a product with known truth, for tests and benchmarks);
:mod:`.tile_product` and :mod:`.tile_synthetic` for L1C/L2A products (one orthorectified tile).

The names below are imported on first use: importing a module of this package (e.g. to check
whether a path is a product) does not load torch.
"""

import importlib

_LAZY = {"find_product": ".layout", "is_product": ".layout", "list_detectors": ".process",
         "open_product": ".process", "process_detector": ".process"}
"""Public name → the module that defines it."""

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
