"""The table of networks: each architecture's kind, network class, config class and runtime, in one place.

:data:`NETWORKS` is read by :mod:`l1bsr_core.weights` (which network a checkpoint describes, its kind),
:mod:`l1bsr_core.runtime` (how it runs at inference) and :mod:`l1bsr_core.train` (how it trains);
nothing else tests a network's type. A config names its architecture (``config.architecture``);
a checkpoint's config dict names it by its ``architecture`` key, or is of its kind's default
(:data:`DEFAULT_ARCHITECTURES`: a REC dict tells the faithful REC by its ``faithful`` flag).

A new network: its module in ``models/`` (the network, built as ``Network(config)``, and a frozen
:class:`~.config.DictConfig` whose ``architecture`` names it), then one line in :data:`NETWORKS`.
Its ``runtime`` names how it runs: an existing one, or a new runtime in :mod:`l1bsr_core.runtime`
(inference) and :mod:`l1bsr_core.train.networks` (training) under that name.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..errors import WeightsError
from .config import DictConfig
from .csr import ENCODER_DECODER, CSRConfig, CSRNet
from .csr_joint import JOINT, JointCSR, JointCSRConfig
from .rec import FAITHFUL_REC, PLAIN_REC, RCAN, RECConfig
from .rec_faithful import FaithfulREC

KINDS = ("rec", "csr")
"""``"rec"``: super-resolution (BGRN → 2x BGRN); ``"csr"``: registration (BGRN → flows of B, R, NIR onto G)."""


@dataclass(frozen=True)
class Network:
    """One architecture: what it does, how it is built, how it runs."""

    architecture: str
    """The ``architecture`` of its config."""
    kind: str
    """One of :data:`KINDS`."""
    network: type[nn.Module]
    """Built as ``network(config)``."""
    config: type[DictConfig]
    """Its constructor arguments, stored inside every checkpoint."""
    runtime: str
    """How it runs: the key of its runtime in :data:`l1bsr_core.runtime.RUNTIMES` and of its training
    hooks in :data:`l1bsr_core.train.networks.TRAINING` (networks that run alike share one)."""


NETWORKS: dict[str, Network] = {network.architecture: network for network in (
    Network(PLAIN_REC, "rec", RCAN, RECConfig, runtime="plain_rec"),
    Network(FAITHFUL_REC, "rec", FaithfulREC, RECConfig, runtime="aligned_rec"),
    Network(ENCODER_DECODER, "csr", CSRNet, CSRConfig, runtime="pairwise_csr"),
    Network(JOINT, "csr", JointCSR, JointCSRConfig, runtime="joint_csr"),
)}
"""Every architecture, by name: the one place that maps an architecture to its kind, classes and runtime."""

DEFAULT_ARCHITECTURES = {"rec": PLAIN_REC, "csr": JOINT}
"""The architecture of a config dict of each kind that names none."""
DEFAULT_CONFIGS = {"rec": RECConfig(), "csr": JointCSRConfig()}
"""What a new network of each kind is, when no config is given (the shipped weights' sizes)."""


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise WeightsError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")


def architecture(name: str, kind: str) -> Network:
    """The table's line for the architecture ``name`` of ``kind``.

    Raises:
        ValueError: for an architecture not in :data:`NETWORKS` or of another kind.
    """
    known = [network.architecture for network in NETWORKS.values() if network.kind == kind]
    if name not in NETWORKS or NETWORKS[name].kind != kind:
        raise ValueError(f"unknown {kind.upper()} architecture {name!r}; expected one of {', '.join(known)}")
    return NETWORKS[name]


def config_from_dict(kind: str, values: dict) -> DictConfig:
    """The config of ``kind`` that ``values`` (a checkpoint's config dict) describe."""
    _check_kind(kind)
    return architecture(values.get("architecture", DEFAULT_ARCHITECTURES[kind]), kind).config.from_dict(values)


def build_network(kind: str, config: dict | DictConfig | None = None) -> nn.Module:
    """A randomly initialised network of ``kind`` ("rec" or "csr") for ``config`` (a config, its
    dict, or None / an empty dict for :data:`DEFAULT_CONFIGS`)."""
    _check_kind(kind)
    if isinstance(config, dict):
        config = config_from_dict(kind, config) if config else None
    config = config or DEFAULT_CONFIGS[kind]
    return architecture(config.architecture, kind).network(config)


def network_of(model: nn.Module) -> Network:
    """The table's line for ``model``'s class (or its nearest base class in the table).

    Raises:
        WeightsError: for a network of no architecture in :data:`NETWORKS`.
    """
    by_class = {network.network: network for network in NETWORKS.values()}
    for cls in type(model).__mro__:
        if cls in by_class:
            return by_class[cls]
    known = ", ".join(network.network.__name__ for network in NETWORKS.values())
    raise WeightsError(f"not a REC or CSR network: {type(model).__name__} (known: {known})")


def kind_of(model: nn.Module) -> str:
    """"rec" or "csr": the kind of ``model``'s architecture."""
    return network_of(model).kind
