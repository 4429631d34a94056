"""REC: the RCAN-family super-resolution network, sized by :class:`RECConfig`.

Module names follow the published RCAN so that a published state dict (``REC_Real_L1B.pt``)
loads into ``RCAN(RECConfig.paper())`` with ``strict=True``:
``head.0``, ``body.<group>.body.<block>.body.{0,2,3.conv_du.{0,2}}``, ``body.<group>.body.<n_blocks>``,
``body.<n_groups>``, ``tail.0.0`` (upsampler conv), ``tail.1``.

Input and output are (N, 4, H, W) in DN / :data:`~l1bsr_core.bands.RADIOMETRIC_SCALE`, band order
B, G, R, NIR; output is (N, 4, 2H, 2W), all bands in the input G band's geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..bands import N_BANDS, RADIOMETRIC_SCALE, SCALE_FACTOR
from ..resample import upsample_bicubic
from .config import DictConfig

UPSAMPLER_RCAN = "rcan"
UPSAMPLER_DIRECT = "direct"
PLAIN_REC = "rcan"
"""The ``architecture`` of a :class:`RECConfig` that is not ``faithful``: :class:`RCAN`."""
FAITHFUL_REC = "faithful_rec"
"""The ``architecture`` of a ``faithful`` :class:`RECConfig`: :class:`~.rec_faithful.FaithfulREC`."""


@dataclass(frozen=True)
class RECConfig(DictConfig):
    """Constructor arguments of :class:`RCAN`; stored inside every checkpoint."""

    n_groups: int = 2
    n_blocks: int = 4
    n_feats: int = 16
    reduction: int = 4
    scale: int = SCALE_FACTOR
    n_colors: int = N_BANDS
    radiometric_scale: float = RADIOMETRIC_SCALE
    """Plain RCAN: its input and output are DN / this, at inference and in training. The faithful
    REC does not use it (it divides each band by the band's own mean, :class:`~.rec_faithful.FaithfulREC`)."""
    bicubic_skip: bool = True
    """Add the bicubic upsampling of the input to the output, so the network learns a residual
    (and a fresh network, whose last conv starts at zero, outputs bicubic). Off in the paper."""
    faithful: bool = False
    """Wrap the network in the radiometric layers of :class:`~.rec_faithful.FaithfulREC` (gain
    equivariance, low frequencies of the input, no phase pattern, no-data kept); its input is
    then G-aligned DN."""
    align_with: str = "csr"
    """Faithful only: the joint CSR weights (registered name or path) whose flows align the input
    at inference."""
    upsampler: str = UPSAMPLER_DIRECT
    """``"rcan"`` (published: conv to 4·n_feats, pixel shuffle, conv to colours at high resolution)
    or ``"direct"`` (one conv to colours·scale², pixel shuffle: ~5x cheaper, nothing at high resolution)."""

    @classmethod
    def paper(cls) -> RECConfig:
        """The published network: 10 groups × 20 blocks × 64 features, reduction 16 (15.4 M params)."""
        return cls(n_groups=10, n_blocks=20, n_feats=64, reduction=16, bicubic_skip=False, upsampler=UPSAMPLER_RCAN)

    @property
    def architecture(self) -> str:
        """:data:`FAITHFUL_REC` when ``faithful``, else :data:`PLAIN_REC` (the table of
        :mod:`.networks` builds the network it names)."""
        return FAITHFUL_REC if self.faithful else PLAIN_REC


def _conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: global average, bottleneck, sigmoid gate per channel."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(x.mean(dim=(2, 3), keepdim=True))


class RCAB(nn.Module):
    """Residual channel-attention block: conv, ReLU, conv, attention, plus identity."""

    def __init__(self, feats: int, reduction: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv3x3(feats, feats), nn.ReLU(inplace=True), _conv3x3(feats, feats),
            ChannelAttention(feats, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).add_(x)  # in place on the attention's output (autograd keeps no copy of it)


class ResidualGroup(nn.Module):
    """``n_blocks`` RCABs and a closing conv, plus identity."""

    def __init__(self, feats: int, reduction: int, n_blocks: int):
        super().__init__()
        blocks = [RCAB(feats, reduction) for _ in range(n_blocks)]
        self.body = nn.Sequential(*blocks, _conv3x3(feats, feats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).add_(x)  # in place on the closing conv's output (autograd keeps no copy of it)


class RCAN(nn.Module):
    """Residual channel-attention network for ×``scale`` super-resolution of BGRN images."""

    def __init__(self, config: RECConfig | None = None):
        super().__init__()
        self.config = config or RECConfig()
        c = self.config
        if c.scale not in (2, 4):
            raise ValueError(f"scale must be 2 or 4, got {c.scale}")
        self.head = nn.Sequential(_conv3x3(c.n_colors, c.n_feats))
        groups = [ResidualGroup(c.n_feats, c.reduction, c.n_blocks) for _ in range(c.n_groups)]
        self.body = nn.Sequential(*groups, _conv3x3(c.n_feats, c.n_feats))
        if c.upsampler == UPSAMPLER_RCAN:
            upsampler: list[nn.Module] = []
            for _ in range(c.scale.bit_length() - 1):
                upsampler += [_conv3x3(c.n_feats, 4 * c.n_feats), nn.PixelShuffle(2)]
            self.tail = nn.Sequential(nn.Sequential(*upsampler), _conv3x3(c.n_feats, c.n_colors))
        elif c.upsampler == UPSAMPLER_DIRECT:
            self.tail = nn.Sequential(_conv3x3(c.n_feats, c.n_colors * c.scale**2), nn.PixelShuffle(c.scale))
        else:
            raise ValueError(f"upsampler must be {UPSAMPLER_RCAN!r} or {UPSAMPLER_DIRECT!r}, got {c.upsampler!r}")
        if c.bicubic_skip:
            last = self.tail[1] if c.upsampler == UPSAMPLER_RCAN else self.tail[0]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor, bicubic: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 4, H, W) scaled DN → (N, 4, scale·H, scale·W) scaled DN.

        ``bicubic``: ``upsample_bicubic(x, scale)`` when the caller has it already (the skip of a
        ``bicubic_skip`` network then reuses it)."""
        features = self.head(x)
        out = self.tail(features + self.body(features))
        if self.config.bicubic_skip:
            out = out + (upsample_bicubic(x, self.config.scale) if bicubic is None else bicubic)
        return out

