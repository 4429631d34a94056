"""Networks: REC (RCAN family, super-resolution) and CSR (cross-spectral flow), and their table
(:mod:`.networks`: one line per architecture)."""

from .csr import CSRConfig, CSRNet
from .csr_joint import JointCSR, JointCSRConfig
from .networks import DEFAULT_CONFIGS, KINDS, NETWORKS, Network, build_network, config_from_dict, kind_of, network_of
from .rec import RCAN, RECConfig
from .rec_faithful import FaithfulREC

__all__ = ["RCAN", "RECConfig", "CSRNet", "CSRConfig", "JointCSR", "JointCSRConfig", "FaithfulREC",
           "NETWORKS", "Network", "KINDS", "DEFAULT_CONFIGS", "build_network", "config_from_dict", "kind_of",
           "network_of"]
