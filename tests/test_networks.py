"""The table of networks: every architecture builds, has a kind, a runtime and training hooks, found by its type."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from l1bsr_core import inference, weights
from l1bsr_core.errors import WeightsError
from l1bsr_core.models import (
    NETWORKS,
    RCAN,
    CSRConfig,
    JointCSRConfig,
    Network,
    RECConfig,
    build_network,
    config_from_dict,
    kind_of,
    network_of,
)
from l1bsr_core.models.config import DictConfig
from l1bsr_core.runtime import RUNTIMES, CSRRuntime, RECRuntime, runtime_of
from l1bsr_core.train.networks import TRAINING, CSRTraining, PlainRECTraining, RECTraining, training_of

CONFIGS = [("rec", RECConfig(n_groups=1, n_blocks=1, n_feats=8)),
           ("rec", RECConfig(n_groups=1, n_blocks=1, n_feats=8, faithful=True)),
           ("csr", CSRConfig(encoder=(8, 8), decoder=(8, 8), head=4)),
           ("csr", JointCSRConfig(width=8, depth=2))]


@pytest.mark.parametrize("kind, config", CONFIGS, ids=lambda c: getattr(c, "architecture", None) or str(c))
def test_every_buildable_network_has_its_line_runtime_and_training(kind, config):
    model = build_network(kind, config)
    line = network_of(model)
    assert type(model) is line.network and line is NETWORKS[config.architecture]
    assert line.kind == kind == kind_of(model)
    assert isinstance(runtime_of(model), RECRuntime if kind == "rec" else CSRRuntime)
    assert isinstance(training_of(model), RECTraining if kind == "rec" else CSRTraining)
    assert build_network(kind, config.to_dict()).config == config  # a checkpoint's dict rebuilds it


def test_every_line_of_the_table_is_reached_and_runs_and_trains():
    assert {config.architecture for _, config in CONFIGS} == set(NETWORKS)
    assert {line.runtime for line in NETWORKS.values()} == set(RUNTIMES) == set(TRAINING)


def test_a_config_dict_without_architecture_is_its_kinds_default():
    assert isinstance(config_from_dict("csr", {"width": 8}), JointCSRConfig)
    assert config_from_dict("rec", {"faithful": True}).architecture == "faithful_rec"
    with pytest.raises(ValueError, match="unknown CSR architecture 'rcan'"):
        config_from_dict("csr", {"architecture": "rcan"})
    with pytest.raises(WeightsError, match="unknown model kind 'sr'"):
        build_network("sr")


def test_a_subclass_gets_its_base_class_line_and_an_unknown_network_is_refused():
    class Wider(RCAN):
        pass

    assert runtime_of(Wider(RECConfig(n_groups=1, n_blocks=1, n_feats=8))) is RUNTIMES["plain_rec"]
    with pytest.raises(WeightsError, match="not a REC or CSR network: Conv2d"):
        runtime_of(torch.nn.Conv2d(1, 1, 1))


@dataclass(frozen=True)
class TinyRECConfig(DictConfig):
    """The config of a sixth network, made for this test."""

    architecture: str = "tiny_rec"
    scale: int = 2
    radiometric_scale: float = 400.0
    n_feats: int = 4


class TinyREC(torch.nn.Module):
    """A 2x super-resolution network that runs like RCAN: one conv, a pixel shuffle."""

    def __init__(self, config: TinyRECConfig):
        super().__init__()
        self.config = config
        self.conv = torch.nn.Conv2d(4, 4 * config.scale**2, 3, padding=1)
        self.shuffle = torch.nn.PixelShuffle(config.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x))


def test_a_sixth_network_is_one_line_of_the_table(monkeypatch, tmp_path):
    """Its module and one line: weights build, save and load it, inference and training run it."""
    monkeypatch.setitem(NETWORKS, "tiny_rec", Network("tiny_rec", "rec", TinyREC, TinyRECConfig, runtime="plain_rec"))
    model = build_network("rec", {"architecture": "tiny_rec", "n_feats": 2})
    assert isinstance(model, TinyREC) and model.config == TinyRECConfig(n_feats=2) and kind_of(model) == "rec"
    path = tmp_path / "tiny.safetensors"
    weights.save_checkpoint(model, path)
    loaded, info = weights.load_model("rec", path)
    assert isinstance(loaded, TinyREC) and info["config"] == model.config.to_dict()
    bgrn = np.random.default_rng(0).integers(1, 3000, (40, 48, 4), dtype=np.uint16)
    out = inference.superresolve(bgrn, weights=loaded)
    assert out.shape == (80, 96, 4) and out.dtype == np.uint16
    assert isinstance(training_of(loaded), PlainRECTraining)
