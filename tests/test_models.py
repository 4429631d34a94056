"""Tests of l1bsr_core.models: REC and CSR shapes for every config, the published sizes."""

import pytest
import torch

from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig, build_network

PUBLISHED_REC_PARAMS = 15_445_796
PUBLISHED_CSR_PARAMS = 4_104_674


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_paper_configs_match_published_parameter_counts():
    assert n_params(RCAN(RECConfig.paper())) == PUBLISHED_REC_PARAMS
    assert n_params(CSRNet(CSRConfig.paper())) == PUBLISHED_CSR_PARAMS


REC_CONFIGS = [RECConfig(), RECConfig(n_groups=1, n_blocks=1, n_feats=8, reduction=4), RECConfig(scale=4),
               RECConfig(upsampler="rcan"), RECConfig(upsampler="rcan", scale=4)]
CSR_CONFIGS = [CSRConfig(), CSRConfig(encoder=(8, 8, 8), decoder=(8, 8, 8), head=4), CSRConfig(max_flow_px=3.0)]


@pytest.mark.parametrize("config", REC_CONFIGS, ids=str)
def test_rec_output_shape(config):
    out = RCAN(config).eval()(torch.rand(2, 4, 24, 20))
    assert out.shape == (2, 4, 24 * config.scale, 20 * config.scale)


@pytest.mark.parametrize("config", CSR_CONFIGS, ids=str)
def test_csr_output_shape(config):
    m = config.size_multiple
    net = build_network("csr", config).eval()
    out = net(torch.randn(3, 2, 2 * m * 8, 3 * m * 8))
    assert out.shape == (3, 2, 2 * m * 8, 3 * m * 8)
    assert build_network("csr", CSRConfig.from_dict(config.to_dict())).config == config  # config round-trips


def test_csr_refuses_sizes_that_are_not_multiples():
    with pytest.raises(ValueError, match="multiples of 16"):
        CSRNet()(torch.zeros(1, 2, 40, 48))
