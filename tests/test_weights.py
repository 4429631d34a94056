"""Tests of l1bsr_core.weights: the registry (every registered name), safetensors checkpoints,
the published layouts, and refusals."""

import json
import math

import pytest
import torch
from safetensors import safe_open

from l1bsr_core.errors import WeightsError
from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig, build_network
from l1bsr_core.outputs import sha256_of
from l1bsr_core.weights import (
    PROJECT_WEIGHTS_DIR,
    PUBLISHED_CSR_KEY,
    load_model,
    read_registry,
    register_weights,
    save_checkpoint,
)

from test_models import PUBLISHED_REC_PARAMS

REGISTRY = read_registry(PROJECT_WEIGHTS_DIR)
"""The networks the project ships, by name (``weights/registry.json``)."""


@pytest.fixture
def project_weights(monkeypatch):
    monkeypatch.delenv("L1BSR_WEIGHTS_DIR", raising=False)


def test_the_default_names_are_registered():
    assert {"rec", "csr"} <= set(REGISTRY)
    assert (PROJECT_WEIGHTS_DIR / "MODEL_CARD.md").is_file()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_network_loads_with_its_hash_and_config(project_weights, name):
    entry = REGISTRY[name]
    path = PROJECT_WEIGHTS_DIR / entry.file
    assert sha256_of(path) == entry.sha256
    model, info = load_model(entry.kind, name)
    assert info["name"] == name and info["kind"] == entry.kind
    assert build_network(entry.kind, entry.config).config == model.config  # the registry's config is the model's
    with safe_open(str(path), framework="pt") as handle:  # counted from the file, not from the model
        stored = sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())
        assert json.loads(handle.metadata()["config"]) == entry.config
    buffers = sum(b.numel() for b in model.buffers())
    assert info["parameters"] + buffers == stored
    with pytest.raises(WeightsError, match=f"expected '{'csr' if entry.kind == 'rec' else 'rec'}'"):
        load_model("csr" if entry.kind == "rec" else "rec", name)


def test_published_rec_layout_loads(tmp_path):
    """A plain RCAN state dict with the published module names (REC_Real_L1B.pt) loads strictly."""
    torch.manual_seed(1)
    original = RCAN(RECConfig.paper())
    path = tmp_path / "REC_Real_L1B.pt"
    torch.save(original.state_dict(), path)
    keys = set(original.state_dict())
    assert {"head.0.weight", "body.0.body.0.body.3.conv_du.0.weight", "body.9.body.20.weight",
            "body.10.weight", "tail.0.0.weight", "tail.1.weight"} <= keys
    loaded, info = load_model("rec", path)
    assert info["version"] == "published" and info["parameters"] == PUBLISHED_REC_PARAMS
    x = torch.rand(1, 4, 16, 16)
    with torch.inference_mode():
        assert torch.equal(loaded(x), original.eval()(x))


def test_published_csr_layout_loads(tmp_path):
    """A dict with key state_dictCSR (CSR_Real_L1B.pth.tar) loads strictly."""
    torch.manual_seed(2)
    original = CSRNet(CSRConfig.paper())
    path = tmp_path / "CSR_Real_L1B.pth.tar"
    torch.save({PUBLISHED_CSR_KEY: original.state_dict(), "epoch": 10}, path)
    assert "convPool1.convleaky.conv1.weight" in original.state_dict()
    assert "convBinl4.convleaky.conv2.weight" in original.state_dict()
    loaded, _ = load_model("csr", path)
    x = torch.randn(1, 2, 32, 32)
    with torch.inference_mode():
        assert torch.equal(loaded(x), original.eval()(x))


def test_pickled_code_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pwned')",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(WeightsError, match="weights-only"):
        load_model("rec", path)


def test_wrong_layout_is_refused(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save(RCAN(RECConfig()).state_dict(), path)
    with pytest.raises(WeightsError, match="state_dictCSR"):
        load_model("csr", path)
    with pytest.raises(WeightsError, match="does not fit"):
        load_model("rec", path)  # a small RCAN is not the published size


def test_safetensors_round_trip_keeps_config(tmp_path):
    config = RECConfig(n_groups=1, n_blocks=2, n_feats=16, reduction=4)
    model = RCAN(config)
    save_checkpoint(model, tmp_path / "m.safetensors", version="t1")
    loaded, info = load_model("rec", tmp_path / "m.safetensors")
    assert loaded.config == config and info["version"] == "t1"
    with pytest.raises(WeightsError, match="expected 'csr'"):
        load_model("csr", tmp_path / "m.safetensors")


def test_registry_checks_hash_and_lists_names(tmp_path, monkeypatch):
    monkeypatch.setenv("L1BSR_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError, match="no trained REC weights"):
        load_model("rec")
    model = CSRNet(CSRConfig(encoder=(8, 8, 8, 8), decoder=(8, 8, 8, 8), head=4))
    save_checkpoint(model, tmp_path / "small.safetensors")
    register_weights("csr-small", tmp_path / "small.safetensors", folder=tmp_path)
    assert load_model("csr", "csr-small")[0].config == model.config
    with pytest.raises(WeightsError, match="csr-small"):
        load_model("csr", "no-such-model")
    registry = json.loads((tmp_path / "registry.json").read_text())
    registry["csr-small"]["sha256"] = "0" * 64
    (tmp_path / "registry.json").write_text(json.dumps(registry))
    with pytest.raises(WeightsError, match="refusing"):
        load_model("csr", "csr-small")
