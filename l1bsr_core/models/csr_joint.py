"""Joint CSR: windowed phase correlation measures, a small network fuses the three bands.

Input: (N, 4, H, W) float, bands B, G, R, NIR in digital numbers (0 = no-data), H, W ≥ 16.
Output: (N, 3, 2, H, W) float32 flows of B, R, NIR onto G, in pixels, channel 0 dx, channel 1 dy,
in the :func:`l1bsr_core.warp.warp` convention: ``warp(band, flow)`` lies on G.

Three stages (:meth:`JointCSR.measure`, :meth:`JointCSR.fuse`, :meth:`JointCSR.to_pixels`):

1. **Measure** (classical, no parameters): :func:`.phase_correlation.windowed_phase_correlation`
   of each band against G on a grid of ``window`` px windows every ``step`` px: a shift and a
   confidence per window. Windows that touch no-data get confidence 0.
2. **Fuse** on the window grid: the classical robust fusion (drop windows under
   ``min_confidence`` or further than ``outlier_px`` from their 3 × 3 median, then a
   confidence-weighted Gaussian normalised convolution), then a learned correction. The network
   sees, for all three bands together, each window's deviation from the robust fusion, its
   confidence, and each band's fused field relative to its mean; it outputs a correction per band.
   L1B band fields are largely one displacement field scaled by each band's time lag (see
   :mod:`l1bsr_core.simulate`), so the network can borrow NIR's geometry from B and R, whose
   matching against G is easy. Inputs are differences of shifts, so adding a constant to a
   band's shifts adds it to that band's output: equivariant to shifts by construction. The last
   layer starts at zero, so an untrained network is the classical fusion.
3. **Interpolate** the grid to every pixel (bicubic between window centres, constant beyond the
   outermost centres).

Large images: :meth:`measure` works on any rows of windows independently, so it can run in
chunks; :meth:`fuse` runs on the whole (small) grid; :meth:`to_pixels` on any pixel window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..bands import MOVING_BANDS, NO_DATA, REFERENCE_BAND
from .phase_correlation import window_centres, windowed_phase_correlation

JOINT = "joint_phase_correlation"
"""The ``architecture`` value of :class:`JointCSRConfig`."""

_MEDIAN_SIZE = 3
"""Side of the neighbourhood (windows) of the outlier test."""


@dataclass(frozen=True)
class JointCSRConfig:
    """Constructor arguments of :class:`JointCSR`; stored inside every checkpoint."""

    architecture: str = JOINT
    window: int = 64
    """Correlation window side, px."""
    step: int = 16
    """Window spacing, px: the flow is estimated on this grid."""
    min_confidence: float = 0.15
    """Windows whose correlation peak is lower are ignored by the robust fusion."""
    outlier_px: float = 0.5
    """Windows further than this from their 3 × 3 median are ignored by the robust fusion."""
    smoothing: float = 1.0
    """Standard deviation, in grid steps, of the robust fusion's normalised convolution."""
    width: int = 32
    """Channels of the fusion network."""
    depth: int = 4
    """3 × 3 convolutions of the fusion network (the last one outputs the corrections)."""
    max_correction_px: float = 1.0
    """Largest correction the network may add to the robust fusion (tanh-bounded), px."""

    @property
    def size_multiple(self) -> int:
        """Inputs need no padding: any H, W ≥ 16 work."""
        return 1

    @property
    def receptive_windows(self) -> int:
        """How many grid steps away a window still changes a node's output (fusion and interpolation)."""
        gaussian = math.ceil(3 * self.smoothing)
        return _MEDIAN_SIZE // 2 + gaussian + self.depth + 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "JointCSRConfig":
        return cls(**{k: values[k] for k in cls.__dataclass_fields__ if k in values})


def _median3(values: torch.Tensor) -> torch.Tensor:
    """3 × 3 median of (N, C, gy, gx), edges replicated."""
    padded = F.pad(values, (1, 1, 1, 1), mode="replicate")
    patches = padded.unfold(-2, _MEDIAN_SIZE, 1).unfold(-2, _MEDIAN_SIZE, 1)
    return patches.flatten(-2).median(-1).values


def _gaussian_smooth(values: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian (radius 3σ) of (N, C, gy, gx), edges replicated."""
    radius = max(int(math.ceil(3 * sigma)), 1)
    x = torch.arange(-radius, radius + 1, dtype=values.dtype, device=values.device)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps = taps / taps.sum()
    c = values.shape[1]
    out = F.conv2d(F.pad(values, (0, 0, radius, radius), mode="replicate"), taps.view(1, 1, -1, 1).expand(c, 1, -1, 1),
                   groups=c)
    return F.conv2d(F.pad(out, (radius, radius, 0, 0), mode="replicate"), taps.view(1, 1, 1, -1).expand(c, 1, 1, -1),
                    groups=c)


def robust_fusion(shift: torch.Tensor, confidence: torch.Tensor, config: JointCSRConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The classical grid fusion of one set of window measurements.

    Args:
        shift: (N, 2, gy, gx) window shifts, px. confidence: (N, gy, gx).

    Returns:
        ``(fused, weight)``: (N, 2, gy, gx) smoothed shifts and (N, 1, gy, gx) the weight each
        window kept (0 = rejected). With no window kept in a sample its fused shift is 0.
    """
    weight = torch.where(confidence >= config.min_confidence, confidence, torch.zeros_like(confidence))[:, None]
    kept = weight > 0
    count = kept.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    # rejected windows first take the mean of the kept ones, so they do not drag the median
    mean = (shift * kept).sum(dim=(2, 3), keepdim=True) / count
    median = _median3(torch.where(kept, shift, mean))
    outlier = (shift - median).norm(dim=1, keepdim=True) > config.outlier_px
    weight = torch.where(outlier, torch.zeros_like(weight), weight)
    norm = _gaussian_smooth(weight, config.smoothing)
    total = weight.sum(dim=(2, 3), keepdim=True)
    global_mean = (shift * weight).sum(dim=(2, 3), keepdim=True) / total.clamp_min(1e-12)
    fallback = torch.where(total > 0, global_mean, torch.zeros_like(global_mean))
    smoothed = _gaussian_smooth(shift * weight, config.smoothing) / norm.clamp_min(1e-12)
    fused = torch.where(norm > 1e-6, smoothed, fallback.expand_as(shift))
    return fused, weight


class JointCSR(nn.Module):
    """Phase-correlation measurements + learned joint fusion of B, R, NIR; sized by a :class:`JointCSRConfig`."""

    def __init__(self, config: JointCSRConfig | None = None):
        super().__init__()
        self.config = c = config or JointCSRConfig()
        bands = len(MOVING_BANDS)
        inputs = bands * 6  # per band: deviation (2), fused field minus its mean (2), confidence, weight
        layers: list[nn.Module] = []
        for i in range(c.depth - 1):
            layers += [nn.Conv2d(inputs if i == 0 else c.width, c.width, 3, padding=1, padding_mode="replicate"),
                       nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c.width if c.depth > 1 else inputs, bands * 2, 3, padding=1, padding_mode="replicate",
                              bias=False)  # no constant output: a global bias is invisible to the loss
        nn.init.zeros_(self.head.weight)

    def window_size(self, height: int, width: int) -> int:
        """The correlation window for an image of this size (smaller images use smaller windows)."""
        side = min(self.config.window, height, width)
        if side < 16:
            raise ValueError(f"the joint CSR needs images of at least 16 × 16 px; got {height} × {width}")
        return side - side % 2

    def measure(self, bgrn: torch.Tensor, window: int | None = None,
                context: tuple[int, int] = (0, 0)) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 4, H, W) DN → shifts (N, 3, 2, gy, gx) and confidences (N, 3, gy, gx) of B, R, NIR onto G.

        ``context``: rows (top, bottom) of a slab that only feed the gradient filters (see
        :func:`.phase_correlation.windowed_phase_correlation`): measuring slabs of a large image
        row by row gives the windows of the whole image.
        """
        window = window or self.window_size(*bgrn.shape[-2:])
        step = self.config.step
        moving = bgrn[:, list(MOVING_BANDS)]
        shift, confidence = windowed_phase_correlation(bgrn[:, REFERENCE_BAND], moving, window=window, step=step,
                                                       context=context)
        top, bottom = context
        bgrn = bgrn[..., top:bgrn.shape[-2] - bottom, :]
        no_data = (bgrn == NO_DATA).any(dim=1, keepdim=True).float()
        touched = F.max_pool2d(no_data, window, step)[:, :, :confidence.shape[-2], :confidence.shape[-1]]
        confidence = confidence * (1 - touched)
        return shift, confidence

    def fuse(self, shift: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """Window measurements (from :meth:`measure`) → fused grid flows (N, 3, 2, gy, gx), px."""
        n, bands, _, gy, gx = shift.shape
        flat_shift = shift.reshape(n * bands, 2, gy, gx)
        fused, weight = robust_fusion(flat_shift, confidence.reshape(n * bands, gy, gx), self.config)
        features = torch.cat((
            (flat_shift - fused) * (weight > 0),
            fused - fused.mean(dim=(2, 3), keepdim=True),
            confidence.reshape(n * bands, 1, gy, gx),
            weight,
        ), dim=1).reshape(n, bands * 6, gy, gx)
        correction = self.head(self.body(features))
        bound = self.config.max_correction_px
        correction = bound * torch.tanh(correction / bound)
        return fused.reshape(n, bands, 2, gy, gx) + correction.reshape(n, bands, 2, gy, gx)

    def to_pixels(self, grid: torch.Tensor, height: int, width: int, window: int, *, top: int = 0, left: int = 0,
                  rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        """Grid flows (N, 3, 2, gy, gx) → (N, 3, 2, rows, cols) at pixels ``top … top + rows``, ``left …``.

        Bicubic between window centres (``k·step + (window − 1) / 2``), constant beyond the outermost.
        """
        rows = height - top if rows is None else rows
        cols = width - left if cols is None else cols
        n, bands, _, gy, gx = grid.shape
        step = self.config.step

        def index(start: int, count: int, nodes: int) -> torch.Tensor:
            first = window_centres(1, window, step)[0]
            position = (torch.arange(start, start + count, dtype=torch.float32) - first) / step
            position = position.clamp(0, nodes - 1)
            return 2 * position / max(nodes - 1, 1) - 1 if nodes > 1 else torch.zeros_like(position)

        ys, xs = index(top, rows, gy), index(left, cols, gx)
        sample = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).to(grid)  # (rows, cols, 2)
        planes = grid.reshape(n, bands * 2, gy, gx)
        if gy == 1 and gx == 1:
            return planes.reshape(n, bands, 2, 1, 1).expand(-1, -1, -1, rows, cols).contiguous()
        mode = "bicubic" if min(gy, gx) >= 4 else "bilinear"
        dense = F.grid_sample(planes, sample.expand(n, -1, -1, -1), mode=mode, padding_mode="border", align_corners=True)
        return dense.reshape(n, bands, 2, rows, cols)

    @torch.no_grad()
    def green_flow(self, reference: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        """Same-band flow (N, 2, H, W) of ``moving`` onto ``reference`` (both (N, H, W)), by the
        measurement and the robust fusion only (no learned part): e.g. G of one view onto G of the other."""
        height, width = reference.shape[-2:]
        window = self.window_size(height, width)
        shift, confidence = windowed_phase_correlation(reference, moving[:, None], window=window, step=self.config.step)
        fused, _ = robust_fusion(shift[:, 0], confidence[:, 0], self.config)
        return self.to_pixels(fused[:, None], height, width, window)[:, 0]

    def forward(self, bgrn: torch.Tensor) -> torch.Tensor:
        if bgrn.ndim != 4 or bgrn.shape[1] != 4:
            raise ValueError(f"the joint CSR expects (N, 4, H, W) bands B, G, R, NIR; got {tuple(bgrn.shape)}")
        height, width = bgrn.shape[-2:]
        window = self.window_size(height, width)
        shift, confidence = self.measure(bgrn, window)
        return self.to_pixels(self.fuse(shift, confidence), height, width, window)
