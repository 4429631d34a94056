"""Array checks and conversions that several modules share (numpy only, no torch).

* :func:`to_uint16`: any real array → uint16 digital numbers, the one rounding of the project
  (half to even, clipped to [0, :data:`~l1bsr_core.bands.DN_MAX`], never wrapped around).
* :func:`as_band` and :func:`as_band_pair`: one band, (H, W), as finite float64, as the
  registration and quality metrics compute.
* :func:`band_statistics` (and :func:`band_sums`, which blocks of an image add up): per-band
  mean and spread of the valid pixels.

Tensor conversions live in :mod:`l1bsr_core.tensors` (they need torch).
"""

from __future__ import annotations

import numpy as np

from .bands import DN_MAX, NO_DATA
from .errors import InputError

STATS_ROWS = 512
"""Rows per chunk when computing band statistics (no full-image float64 temporaries)."""


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


def band_sums(bgrn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per band of an (H, W, C) image: (count, sum, sum of squares) of its valid pixels (not
    :data:`NO_DATA`), float64, computed in chunks of :data:`STATS_ROWS` rows. Sums of blocks of an
    image add up to the image's (see :func:`statistics_of_sums`)."""
    total = np.zeros(bgrn.shape[-1])
    squares = np.zeros(bgrn.shape[-1])
    count = np.zeros(bgrn.shape[-1])
    for start in range(0, bgrn.shape[0], STATS_ROWS):
        rows = bgrn[start:start + STATS_ROWS].reshape(-1, bgrn.shape[-1]).astype(np.float64)
        count += (rows != NO_DATA).sum(axis=0)
        total += rows.sum(axis=0)  # no-data is 0: it adds nothing to the sums
        squares += (rows * rows).sum(axis=0)
    return count, total, squares


def statistics_of_sums(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation (ddof 1) from :func:`band_sums`; a band without valid
    pixels gets mean 0 and std 0."""
    mean = total / np.maximum(count, 1)
    variance = np.maximum(squares - count * mean**2, 0.0) / np.maximum(count - 1, 1)
    return mean, np.sqrt(variance)


def band_statistics(bgrn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation (ddof 1) of the valid pixels of an (H, W, C) image.

    No-data pixels (:data:`NO_DATA`) are left out, so a wide no-data border neither pulls the
    mean down nor inflates the spread; a band without valid pixels gets mean 0 and std 0.
    """
    return statistics_of_sums(*band_sums(bgrn))
