"""CSR: the cross-spectral registration network, sized by :class:`CSRConfig`.

Input: (N, 2, H, W), channel 0 the reference band, channel 1 the moving band, each
contrast-normalised (see :func:`contrast_normalise`); H and W multiples of 2**depth (16).
Output: (N, 2, H, W) flow in pixels (channel 0 dx, channel 1 dy) in the
:func:`l1bsr_core.warp.warp` convention: ``warp(moving, flow)`` lies on the reference.

Module names follow the published ``CSR_Net`` (``convPool1..4``, ``convBinl1..4``, each with
``convleaky.conv1/conv2``, then ``conv1``, ``conv2``) so a published state dict loads into
``CSRNet(CSRConfig.paper())``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..bands import NO_DATA
from .config import DictConfig

ENCODER_DECODER = "encoder_decoder"


@dataclass(frozen=True)
class CSRConfig(DictConfig):
    """Constructor arguments of a CSR network (:class:`CSRNet`); stored inside every checkpoint."""

    encoder: tuple[int, ...] = (16, 32, 48, 64)
    """Widths of the max-pool blocks."""
    decoder: tuple[int, ...] = (64, 48, 32, 16)
    """Widths of the upsampling blocks."""
    head: int = 16
    """Width of the conv before the 2-channel flow."""
    max_flow_px: float = 10.0
    leaky_slope: float = 0.2
    architecture: str = ENCODER_DECODER
    """Always ``"encoder_decoder"`` (the published CSR_Net); tells it from the joint CSR's config."""

    @classmethod
    def paper(cls) -> CSRConfig:
        """The published network: encoder 32-64-128-256, decoder 256-256-128-64, head 32 (4.1 M params)."""
        return cls(encoder=(32, 64, 128, 256), decoder=(256, 256, 128, 64), head=32)

    @property
    def size_multiple(self) -> int:
        """Height and width of the input must be multiples of this."""
        return 2 ** len(self.encoder)


NORMALISATION_EPS = 1e-6
"""Added to a band's standard deviation before dividing by it (a flat band stays finite)."""


def contrast_normalise(bands: torch.Tensor, mean: torch.Tensor | None = None, std: torch.Tensor | None = None,
                       ) -> torch.Tensor:
    """The CSR's input normalisation, in training and at inference: each (N, C) plane of DN minus
    its mean, over its standard deviation (ddof 1), both over the valid pixels; no-data pixels
    (:data:`~l1bsr_core.bands.NO_DATA`) become 0, the plane's mean.

    ``mean`` and ``std`` (broadcastable to the planes) replace the plane's own statistics, e.g.
    a whole image's when a tile of it is normalised, so that tiles see what an untiled run sees.
    """
    valid = bands != NO_DATA
    if mean is None or std is None:
        count = valid.sum(dim=(-2, -1), keepdim=True)
        mean = (bands * valid).sum(dim=(-2, -1), keepdim=True) / count.clamp_min(1)
        squares = (((bands - mean) * valid) ** 2).sum(dim=(-2, -1), keepdim=True)
        std = (squares / (count - 1).clamp_min(1)).sqrt()
    return torch.where(valid, (bands - mean) / (std + NORMALISATION_EPS), torch.zeros_like(bands))


class ConvLeaky(nn.Module):
    """Two reflect-padded 3×3 convs, each followed by a leaky ReLU."""

    def __init__(self, in_ch: int, out_ch: int, slope: float):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, padding_mode="reflect")
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv1(x), self.slope)
        return F.leaky_relu(self.conv2(x), self.slope)


class CSRBlock(nn.Module):
    """:class:`ConvLeaky` then ×½ max-pool (``down=True``) or ×2 bilinear upsampling."""

    def __init__(self, in_ch: int, out_ch: int, slope: float, down: bool):
        super().__init__()
        self.convleaky = ConvLeaky(in_ch, out_ch, slope)
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convleaky(x)
        if self.down:
            return F.max_pool2d(x, kernel_size=2)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class CSRNet(nn.Module):
    """Encoder–decoder predicting the flow that carries the moving band onto the reference."""

    IN_CHANNELS = 2

    def __init__(self, config: CSRConfig | None = None):
        super().__init__()
        self.config = config or CSRConfig()
        c = self.config
        if c.architecture != ENCODER_DECODER:
            raise ValueError(f"CSRNet is the {ENCODER_DECODER!r} architecture; got {c.architecture!r}")
        if len(c.encoder) != len(c.decoder):
            raise ValueError("encoder and decoder must have the same number of blocks")
        widths = (self.IN_CHANNELS, *c.encoder)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            self.add_module(f"convPool{i}", CSRBlock(a, b, c.leaky_slope, down=True))
        widths = (c.encoder[-1], *c.decoder)
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            self.add_module(f"convBinl{i}", CSRBlock(a, b, c.leaky_slope, down=False))
        self.conv1 = nn.Conv2d(c.decoder[-1], c.head, 3, padding=1, padding_mode="reflect")
        self.conv2 = nn.Conv2d(c.head, 2, 3, padding=1, padding_mode="reflect")
        # A fresh network predicts exactly zero flow: random initial flows make the photometric
        # loss push every feature towards a constant (a collapse seen in training).
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        """(N, 2, H, W) contrast-normalised [reference, moving] → (N, 2, H, W) flow in pixels."""
        multiple = self.config.size_multiple
        if pair.shape[1] != self.IN_CHANNELS or pair.shape[-1] % multiple or pair.shape[-2] % multiple:
            raise ValueError(
                f"CSR expects (N, 2, H, W) with H, W multiples of {multiple}; got {tuple(pair.shape)}"
            )
        x = pair
        for i in range(1, len(self.config.encoder) + 1):
            x = getattr(self, f"convPool{i}")(x)
        for i in range(1, len(self.config.decoder) + 1):
            x = getattr(self, f"convBinl{i}")(x)
        x = F.leaky_relu(self.conv1(x), self.config.leaky_slope)
        return torch.tanh(self.conv2(x)) * self.config.max_flow_px

