"""Changes of pixel grid between 10 m and 5 m: bicubic enlargement and block averaging.

Both follow the "area" pixel-centre convention of a pixel-shuffle network and of the simulator's
decimation: fine pixel ``i`` sits at coarse coordinate ``(i + 0.5) / factor - 0.5``, so fine
pixels (f·i … f·i + f - 1, f·j … f·j + f - 1) cover coarse pixel (i, j). :func:`upsample` is
the baseline every super-resolution comparison uses; :func:`block_mean` brings a super-resolved
image back to the input's grid (e.g. to measure its band alignment). Flows have their own
resampling, :func:`l1bsr_core.warp.upscale_flow`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .tensors import image_to_tensor, tensor_to_image

UPSAMPLING_METHODS = ("bicubic", "nearest")
"""What :func:`upsample` can do."""


def upsample_bicubic(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Bicubic ×``factor`` enlargement of (N, C, H, W), with the "area" pixel-centre convention.

    Fine pixel ``i`` sits at coarse coordinate ``(i + 0.5) / factor - 0.5`` (as in
    :func:`l1bsr_core.warp.upscale_flow` and a pixel-shuffle network): the baseline every
    comparison uses.
    """
    return F.interpolate(image, scale_factor=factor, mode="bicubic", align_corners=False)


def upsample(image: np.ndarray, factor: int = 2, method: str = "bicubic") -> np.ndarray:
    """Enlarge an (H, W, C) numpy image by an integer factor: "nearest" or "bicubic".

    Returns float32 (factor·H, factor·W, C) in the area convention (see the module). Bicubic
    overshoot is kept, not clipped.
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image; got shape {image.shape}")
    if method == "nearest":
        return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1).astype(np.float32)
    if method != "bicubic":
        raise ValueError(f"unknown upsampling {method!r}; expected one of {', '.join(UPSAMPLING_METHODS)}")
    with torch.inference_mode():
        big = upsample_bicubic(image_to_tensor(image), factor)
    return tensor_to_image(big).copy()


def block_mean(image, factor: int) -> np.ndarray:
    """(f·H, f·W, C) → (H, W, C) float32, the mean of each ``factor`` × ``factor`` block.

    The inverse grid change of :func:`upsample` (area convention): a ×2 nearest enlargement
    averages back to the original. Rows and columns beyond a whole block are dropped.
    """
    image = np.asarray(image)
    h, w, c = image.shape[0] // factor, image.shape[1] // factor, image.shape[2]
    blocks = image[: h * factor, : w * factor].astype(np.float32).reshape(h, factor, w, factor, c)
    return blocks.mean(axis=(1, 3))
