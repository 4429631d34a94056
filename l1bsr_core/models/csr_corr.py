"""Correlation CSR: a cross-spectral flow network that compares features instead of learning to.

Same contract as :class:`~l1bsr_core.models.csr.CSRNet`: input (N, 2, H, W), channel 0 the
contrast-normalised reference band, channel 1 the moving band (H, W multiples of
:attr:`CSRConfig.size_multiple`); output (N, 2, H, W) flow in pixels (channel 0 dx, 1 dy) with
``warp(moving, flow)`` on the reference, bounded by ``tanh × max_flow_px``.

Why a second architecture: the published encoder–decoder has to *learn* matching from two
stacked channels, which took it a GPU-scale budget; on a 2-core CPU it had not started to
register after hundreds of steps. Here matching is built in:

1. one feature extractor, shared by both bands (so it learns spectrum-independent structure:
   edges whatever their sign), at 1/``stride`` resolution;
2. a local cost volume: cosine similarity of the reference features with the moving features
   displaced by every integer offset within ±``search_radius`` (coarse pixels);
3. a soft-argmax over the cost volume gives a first sub-pixel flow; a small dilated decoder
   sees the cost volume, the reference features and that flow and predicts a residual;
4. bilinear upsampling to full resolution (flows are smooth), ``tanh × max_flow_px``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CorrelationCSR(nn.Module):
    """Feature correlation + soft-argmax + residual decoder; sized by a :class:`CSRConfig`."""

    IN_CHANNELS = 2

    def __init__(self, config):
        super().__init__()
        self.config = c = config
        feats, slope = c.encoder[-1], c.leaky_slope
        act = lambda: nn.LeakyReLU(slope)  # noqa: E731
        layers: list[nn.Module] = []
        width_in = 1
        for i, width in enumerate(c.encoder):
            stride = 2 if i < c.corr_stride.bit_length() - 1 else 1
            layers += [nn.Conv2d(width_in, width, 3, stride=stride, padding=1, padding_mode="reflect"), act()]
            width_in = width
        self.features = nn.Sequential(*layers)
        displacements = (2 * c.search_radius + 1) ** 2
        decoder: list[nn.Module] = []
        width_in = displacements + feats + 2
        for i, width in enumerate(c.decoder):
            dilation = 2 ** (i % 3)
            decoder += [nn.Conv2d(width_in, width, 3, padding=dilation, dilation=dilation, padding_mode="reflect"), act()]
            width_in = width
        self.decoder = nn.Sequential(*decoder)
        self.head = nn.Conv2d(width_in, 2, 3, padding=1, padding_mode="reflect")
        nn.init.zeros_(self.head.weight)  # start from the soft-argmax flow
        nn.init.zeros_(self.head.bias)
        self.log_temperature = nn.Parameter(torch.tensor(2.3))  # softmax sharpness, learned
        offsets = torch.arange(-c.search_radius, c.search_radius + 1, dtype=torch.float32)
        oy, ox = torch.meshgrid(offsets, offsets, indexing="ij")
        self.register_buffer("offsets", torch.stack((ox.flatten(), oy.flatten())), persistent=False)

    def _correlation(self, ref: torch.Tensor, mov: torch.Tensor) -> torch.Tensor:
        """Cosine similarity for every integer offset within ±search_radius: (N, (2R+1)², h, w)."""
        r = self.config.search_radius
        ref = F.normalize(ref, dim=1)
        mov = F.pad(F.normalize(mov, dim=1), (r, r, r, r), mode="replicate")
        h, w = ref.shape[-2:]
        costs = [(ref * mov[..., r + dy:r + dy + h, r + dx:r + dx + w]).sum(1)
                 for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
        return torch.stack(costs, dim=1)

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        c = self.config
        multiple = c.size_multiple
        if pair.shape[1] != self.IN_CHANNELS or pair.shape[-1] % multiple or pair.shape[-2] % multiple:
            raise ValueError(
                f"CSR expects (N, 2, H, W) with H, W multiples of {multiple}; got {tuple(pair.shape)}"
            )
        n = pair.shape[0]
        feats = self.features(torch.cat((pair[:, :1], pair[:, 1:]), dim=0))  # shared extractor
        ref, mov = feats[:n], feats[n:]
        cost = self._correlation(ref, mov)
        weights = torch.softmax(cost * self.log_temperature.exp(), dim=1)
        coarse = torch.einsum("nkhw,ck->nchw", weights, self.offsets)  # coarse px
        residual = self.head(self.decoder(torch.cat((cost, ref, coarse), dim=1)))
        flow = (coarse + residual) * c.corr_stride  # full-resolution px
        flow = F.interpolate(flow, scale_factor=c.corr_stride, mode="bilinear", align_corners=False)
        return torch.tanh(flow / c.max_flow_px) * c.max_flow_px
