"""Array checks and conversions that several modules share (numpy only, no torch).

* :func:`to_uint16`: any real array → uint16 digital numbers, the one rounding of the project
  (half to even, clipped to [0, :data:`~l1bsr_core.bands.DN_MAX`], never wrapped around).
* :func:`as_band` and :func:`as_band_pair`: one band, (H, W), as finite float64, as the
  registration and quality metrics compute.

Tensor conversions live in :mod:`l1bsr_core.tensors` (they need torch).
"""

from __future__ import annotations

import numpy as np

from .bands import DN_MAX
from .errors import InputError


def to_uint16(array) -> np.ndarray:
    """Round (half to even) and clip to [0, :data:`~l1bsr_core.bands.DN_MAX`], then cast to uint16.

    Args:
        array: any shape; bool, unsigned, signed or floating dtype.

    Returns:
        uint16 array of the same shape. Negative values become 0 and values above 65535 become
        65535: nothing wraps around.

    Raises:
        InputError: for NaN values or a dtype that is not a real number.
    """
    array = np.asarray(array)
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.uint16)
    if kind == "u":
        return np.minimum(array, DN_MAX).astype(np.uint16)
    if kind == "i":
        return np.clip(array.astype(np.int64), 0, DN_MAX).astype(np.uint16)
    if kind == "f":
        if np.isnan(array).any():
            raise InputError("the array holds NaN values; expected numbers (they become uint16)")
        return np.clip(np.rint(array), 0, DN_MAX).astype(np.uint16)
    raise InputError(f"the array is {array.dtype.name}; expected real numbers (they become uint16)")


def as_band(array, name: str) -> np.ndarray:
    """``array`` as a finite (H, W) float64 image, or ValueError naming ``name``."""
    image = np.asarray(array, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"{name} must be a 2D array (H, W); got shape {image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return image


def as_band_pair(first, second, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Two bands as finite (H, W) float64 images of the same shape (see :func:`as_band`)."""
    first, second = as_band(first, names[0]), as_band(second, names[1])
    if first.shape != second.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape; got {first.shape} and {second.shape}"
        )
    return first, second
