"""The runtime registry: every network the weights can build has one runtime, found by its type."""

import pytest
import torch

from l1bsr_core.errors import WeightsError
from l1bsr_core.models import RCAN, CSRConfig, JointCSRConfig, RECConfig
from l1bsr_core.runtime import RUNTIMES, CSRRuntime, RECRuntime, runtime_of
from l1bsr_core.weights import build_model, kind_of

CONFIGS = [("rec", RECConfig(n_groups=1, n_blocks=1, n_feats=8)),
           ("rec", RECConfig(n_groups=1, n_blocks=1, n_feats=8, faithful=True)),
           ("csr", CSRConfig(encoder=(8, 8), decoder=(8, 8), head=4)),
           ("csr", JointCSRConfig(width=8, depth=2))]


@pytest.mark.parametrize("kind, config", CONFIGS, ids=lambda c: getattr(c, "architecture", None) or str(c))
def test_every_buildable_network_has_the_runtime_of_its_kind(kind, config):
    model = build_model(kind, config)
    runtime = runtime_of(model)
    assert runtime is RUNTIMES[type(model)]
    assert runtime.kind == kind == kind_of(model)
    assert isinstance(runtime, RECRuntime if kind == "rec" else CSRRuntime)


def test_every_registered_runtime_is_reached_by_some_network():
    built = {type(build_model(kind, config)) for kind, config in CONFIGS}
    assert built == set(RUNTIMES)


def test_a_subclass_gets_its_base_class_runtime_and_an_unknown_network_is_refused():
    class Wider(RCAN):
        pass

    assert runtime_of(Wider(RECConfig(n_groups=1, n_blocks=1, n_feats=8))) is RUNTIMES[RCAN]
    with pytest.raises(WeightsError, match="not a REC or CSR network: Conv2d"):
        runtime_of(torch.nn.Conv2d(1, 1, 1))
