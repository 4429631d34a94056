"""Model shapes for every config, published checkpoint layouts, and the weights registry."""

import json

import pytest
import torch

from l1bsr_core.errors import WeightsError
from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig, build_csr
from l1bsr_core.weights import (
    PUBLISHED_CSR_KEY, load_model, register_weights, save_checkpoint,
)

PUBLISHED_REC_PARAMS = 15_445_796
PUBLISHED_CSR_PARAMS = 4_104_674


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_configs_match_published_parameter_counts():
    assert n_params(RCAN(RECConfig.paper())) == PUBLISHED_REC_PARAMS
    assert n_params(CSRNet(CSRConfig.paper())) == PUBLISHED_CSR_PARAMS


REC_CONFIGS = [RECConfig(), RECConfig(n_groups=1, n_blocks=1, n_feats=8, reduction=4), RECConfig(scale=4),
               RECConfig(upsampler="rcan"), RECConfig(upsampler="rcan", scale=4)]
CSR_CONFIGS = [CSRConfig(), CSRConfig(encoder=(8, 8, 8), decoder=(8, 8, 8), head=4), CSRConfig(max_flow_px=3.0),
               CSRConfig.lucas_kanade(), CSRConfig(encoder=(8, 8, 8), architecture="lucas_kanade", grid_px=8,
                                                     max_flow_px=3.0)]


@pytest.mark.parametrize("config", REC_CONFIGS, ids=str)
def test_rec_output_shape(config):
    out = RCAN(config).eval()(torch.rand(2, 4, 24, 20))
    assert out.shape == (2, 4, 24 * config.scale, 20 * config.scale)


@pytest.mark.parametrize("config", CSR_CONFIGS, ids=str)
def test_csr_output_shape_and_range(config):
    m = config.size_multiple
    net = build_csr(config).eval()
    out = net(torch.randn(3, 2, 2 * m * 8, 3 * m * 8))
    assert out.shape == (3, 2, 2 * m * 8, 3 * m * 8)
    assert out.abs().max() <= config.max_flow_px
    assert build_csr(CSRConfig.from_dict(config.to_dict())).config == config  # config round-trips


def test_edge_magnitude_ignores_contrast_polarity_and_offset():
    """The Lucas–Kanade CSR's first layer: an inverted or brightened patch gives the same features."""
    from l1bsr_core.models.csr_lk import EdgeMagnitude
    torch.manual_seed(0)
    layer = EdgeMagnitude(4, 8)
    x = torch.randn(2, 4, 20, 20)
    features = layer(x)
    torch.testing.assert_close(layer(-x), features)
    inside = (..., slice(1, -1), slice(1, -1))  # the zero padding is not offset with the patch
    torch.testing.assert_close(layer(x + 3.0)[inside], features[inside], atol=1e-5, rtol=1e-5)
    assert features.std() > 0.1  # not a constant


@pytest.mark.parametrize("shift", [(0.4, -0.3), (1.7, 1.2), (-2.0, 1.5)])
def test_untrained_lucas_kanade_csr_recovers_a_constant_shift(real_crop, shift):
    """The solver works before any training: a shifted copy of a real G band is registered."""
    from l1bsr_core.train.losses import csr_pair
    from l1bsr_core.warp import warp
    torch.manual_seed(0)
    net = build_csr(CSRConfig.lucas_kanade()).eval()
    green = torch.from_numpy(real_crop[..., 1].astype("float32"))[None, None]
    constant = torch.tensor(shift).view(1, 2, 1, 1).expand(1, 2, *green.shape[-2:])
    moved = warp(green, constant)  # moved(p) = green(p + shift): the flow back is -shift
    with torch.no_grad():
        flow = net(csr_pair(green[:, 0], moved[:, 0]))[0, :, 48:-48, 48:-48]
    torch.testing.assert_close(flow.mean(dim=(1, 2)), -torch.tensor(shift), atol=0.15, rtol=0)


def test_csr_refuses_sizes_that_are_not_multiples():
    with pytest.raises(ValueError, match="multiples of 16"):
        CSRNet()(torch.zeros(1, 2, 40, 48))


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
