"""Conversions between numpy images and torch tensors, written once.

Numpy images are (H, W, C), band axis last (B, G, R, NIR for a BGRN crop); the networks and
:func:`l1bsr_core.warp.warp` take (N, C, H, W) float tensors.
"""

from __future__ import annotations

import numpy as np
import torch


def image_to_tensor(image: np.ndarray, device: str | torch.device | None = None) -> torch.Tensor:
    """(H, W, C) numeric numpy image → (1, C, H, W) float32 tensor on ``device``."""
    tensor = torch.from_numpy(np.ascontiguousarray(image))
    return tensor.to(device).permute(2, 0, 1)[None].float()


def conv_memory_format(device: str | torch.device) -> torch.memory_format:
    """The memory layout of networks and their inputs on ``device``: channels-last on the CPU
    (~2x faster convolutions there), the default layout elsewhere."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


def tensor_to_image(tensor: torch.Tensor) -> np.ndarray:
    """(1, C, H, W) tensor → (H, W, C) numpy array of the same dtype, on the CPU."""
    if tensor.ndim != 4 or tensor.shape[0] != 1:
        raise ValueError(f"expected a (1, C, H, W) tensor; got shape {tuple(tensor.shape)}")
    return tensor[0].permute(1, 2, 0).cpu().numpy()
