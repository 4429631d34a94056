"""Band flows of a whole image from the joint CSR, in bounded memory, identical for any tiling.

The joint CSR (:class:`~l1bsr_core.models.csr_joint.JointCSR`) estimates its flows on a coarse
grid of correlation windows. For an image of any size:

1. the windows are measured slab by slab (a few rows of windows at a time, each slab read with
   the few rows of context its gradient filters need), so memory is bounded and the measurements
   are exactly those of the whole image;
2. the grid (4096 × 4096 px → 253 × 253 nodes) is fused in one go; the refined bands are
   warped and measured again slab by slab, and the learned correction is applied to the grid;
3. :meth:`BandFlows.dense` interpolates it to any pixel window, e.g. a tile.

No work is repeated across tiles (no margins to recompute), so a large image costs the same
per pixel as a crop. Flows: B, R, NIR onto G, channel 0 dx, channel 1 dy, px, in the
:func:`l1bsr_core.warp.warp` convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bands import MOVING_BANDS
from .phase_correlation import gradient_reach, window_grid
from .tensors import image_to_tensor
from .warp import align_to_reference

WINDOWS_PER_SLAB = 1536
"""Correlation windows (per band) measured at once: about 150 MiB of complex spectra."""

WARP_REACH_PX = 16
"""Extra rows read around a slab for the second measurement, which warps the bands first: the
largest flow plus the bicubic footprint must stay inside them (L1B bands are a few px apart)."""


@dataclass
class BandFlows:
    """The fused window grid of one image and what is needed to interpolate it."""

    model: torch.nn.Module
    grid: torch.Tensor
    """(1, 3, 2, gy, gx) flows at the window centres, px."""
    height: int
    width: int
    window: int

    def dense(self, top: int = 0, left: int = 0, rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        """(1, 3, 2, rows, cols) flows at image pixels ``top … top + rows − 1``, ``left … left + cols − 1``."""
        return self.model.to_pixels(self.grid, self.height, self.width, self.window, top=top, left=left,
                                    rows=rows, cols=cols)


def _slabs(height: int, window: int, step: int, per_row: int, reach: int):
    """(read rows r0, r1, context (top, bottom)) of each slab of window rows, read with ``reach`` rows of context."""
    rows_of_windows = window_grid(height, window, step)
    chunk = max(1, WINDOWS_PER_SLAB // per_row)
    for first in range(0, rows_of_windows, chunk):
        last = min(first + chunk, rows_of_windows)
        y0, y1 = first * step, (last - 1) * step + window
        r0, r1 = max(y0 - reach, 0), min(y1 + reach, height)
        yield r0, r1, (y0 - r0, r1 - y1)


@torch.inference_mode()
def band_flows(model, bgrn: np.ndarray, device: torch.device) -> BandFlows:
    """Measure and fuse the joint CSR's grid for an (H, W, 4) image (numpy, any size).

    The same computation as ``model(image)``: its pipeline (:meth:`~l1bsr_core.models.csr_joint.JointCSR.combine`)
    with both measurements taken slab by slab.
    """
    height, width, _ = bgrn.shape
    window = model.window_size(height, width)
    step = model.config.step
    per_row = window_grid(width, window, step)
    shifts, confidences = [], []
    for r0, r1, context in _slabs(height, window, step, per_row, gradient_reach()):
        shift, confidence = model.measure(image_to_tensor(bgrn[r0:r1], device), window, context=context)
        shifts.append(shift)
        confidences.append(confidence)
    shift, confidence = torch.cat(shifts, dim=-2), torch.cat(confidences, dim=-2)

    def measure_refined(classical: torch.Tensor, bands: list[int] | None = None):
        residuals, residual_confidences = [], []
        for r0, r1, context in _slabs(height, window, step, per_row, gradient_reach() + WARP_REACH_PX):
            slab = image_to_tensor(bgrn[r0:r1], device)
            dense = model.to_pixels(classical, height, width, window, top=r0, rows=r1 - r0)
            aligned = align_to_reference(slab, dense, MOVING_BANDS)  # every band: no-data of any band blanks a window
            residual, residual_confidence = model.measure(
                aligned, window, context=context, bands=model.refined_bands() if bands is None else bands)
            residuals.append(residual)
            residual_confidences.append(residual_confidence)
        return torch.cat(residuals, dim=-2), torch.cat(residual_confidences, dim=-2)

    return BandFlows(model, model.combine(shift, confidence, measure_refined), height, width, window)
