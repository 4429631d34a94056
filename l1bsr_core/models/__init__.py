"""Networks: REC (RCAN family, super-resolution) and CSR (cross-spectral flow)."""

from .csr import CSRConfig, CSRNet, build_csr, csr_config_from_dict
from .csr_joint import JointCSR, JointCSRConfig
from .rec import RCAN, RECConfig, build_rec
from .rec_faithful import FaithfulREC

__all__ = ["RCAN", "RECConfig", "CSRNet", "CSRConfig", "JointCSR", "JointCSRConfig", "build_csr", "build_rec",
           "FaithfulREC", "csr_config_from_dict"]
