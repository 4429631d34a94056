"""Tests of l1bsr_core.models: REC and CSR shapes for every config, the published sizes, the Lucas–Kanade CSR."""

import pytest
import torch

from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig, build_csr

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
def test_csr_output_shape(config):
    m = config.size_multiple
    net = build_csr(config).eval()
    out = net(torch.randn(3, 2, 2 * m * 8, 3 * m * 8))
    assert out.shape == (3, 2, 2 * m * 8, 3 * m * 8)
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
    """The solver works before any training: a shifted copy of a real G band is registered.

    On real texture: on the simulated scenes (smoother, with wide flat fields) the untrained
    features do not carry the 2 px shifts, so this needs the real crops.
    """
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
