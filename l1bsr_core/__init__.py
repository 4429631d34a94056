"""L1BSR studio core: super-resolution (REC) and band registration (CSR) of Sentinel-2 L1B crops.

Public API (numpy in, numpy out; arrays are (H, W, 4) uint16 in band order B, G, R, NIR)::

    from l1bsr_core import superresolve, register
    sr = superresolve(bgrn)              # (2H, 2W, 4) uint16, all bands aligned to G
    registered, flow = register(bgrn)    # flow: (3, 2, H, W) float32, B/R/NIR onto G

Torch is imported on first use of these functions.
"""

__version__ = "0.1.0"

__all__ = ["superresolve", "register", "model_info", "__version__"]


def __getattr__(name):
    if name in ("superresolve", "register", "model_info"):
        from . import inference
        return getattr(inference, name)
    raise AttributeError(f"module 'l1bsr_core' has no attribute {name!r}")
