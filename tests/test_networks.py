"""The table of networks: every architecture builds, has a kind, a runtime and training hooks, found by its type."""

import pytest
import torch

from l1bsr_core.errors import WeightsError
from l1bsr_core.models import (
    NETWORKS,
    RCAN,
    CSRConfig,
    JointCSRConfig,
    RECConfig,
    build_network,
    config_from_dict,
    kind_of,
    network_of,
)
from l1bsr_core.runtime import RUNTIMES, CSRRuntime, RECRuntime, runtime_of
from l1bsr_core.train.networks import TRAINING, CSRTraining, RECTraining, training_of

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
