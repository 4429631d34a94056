"""Networks: REC (RCAN family, super-resolution) and CSR (cross-spectral flow)."""

from .csr import CSRConfig, CSRNet, build_csr
from .rec import RCAN, RECConfig

__all__ = ["RCAN", "RECConfig", "CSRNet", "CSRConfig", "build_csr"]
