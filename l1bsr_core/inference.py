"""Numpy-in, numpy-out inference: ``superresolve`` (REC) and ``register`` (CSR), tiled.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR (see :mod:`l1bsr_core.bands`).
Flows are (3, 2, H, W) float32 for B, R, NIR onto G, in pixels, channel 0 = dx, channel 1 = dy,
in the :func:`l1bsr_core.warp.warp` convention ``registered(y, x) = band(y + dy, x + dx)``.

How each architecture runs is its runtime's business (:mod:`l1bsr_core.runtime`): large inputs
are cut into overlapping tiles (:mod:`l1bsr_core.tiling`) with margins sized to each network's
receptive field, so memory is bounded by the tile size and seams do not show. Everything runs
under ``torch.inference_mode()``.
"""

from __future__ import annotations

import numpy as np
import torch

from .devices import resolve_device
from .io import validate_bgrn
from .runtime import Run, TileProgress, band_statistics, runtime_of
from .weights import get_model

__all__ = ["superresolve", "register", "get_model", "model_info", "band_statistics"]


def model_info(kind: str, weights: str | None = None) -> dict:
    """Name, version, config and parameter count of the weights ``superresolve``/``register`` use."""
    return dict(get_model(kind, weights, "cpu")[1])


def superresolve(
    bgrn: np.ndarray,
    *,
    weights: str | torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: TileProgress | None = None,
    out=None,
    align: bool = True,
    band_means: np.ndarray | None = None,
    rows: slice | None = None,
) -> np.ndarray:
    """Super-resolve a BGRN crop by :data:`SCALE_FACTOR` with REC.

    Args:
        bgrn: (H, W, 4) or (4, H, W) uint16 L1B digital numbers, bands B, G, R, NIR.
        weights: registered name, checkpoint path or REC network (default: the shipped ``rec``).
        device: "cpu" or "cuda".
        tile: tile side in input pixels; ``None`` chooses, 0 disables tiling.
        progress: called as ``progress(done_tiles, total_tiles)``.
        out: where to write the output instead of a new array: a (2H, 2W, 4) array-like taking
            ``out[rows, cols] = tile`` in row-major tile order, e.g. the writer of
            :func:`~l1bsr_core.io.write_bgrn_rows`, which streams a large image to its file.
        align: align B, R, NIR onto G with the CSR first (L1B input, the default); False for bands
            already co-registered (L1C/L2A products and their exports: see :mod:`l1bsr_core.domain`).
            A REC that never aligns (the plain RCAN) ignores it.
        band_means: (4,) per-band means of the whole image when ``bgrn`` is one block of it, so that
            blocks processed apart agree (:func:`band_statistics`); None: ``bgrn``'s own.
        rows: the input rows to super-resolve (a slice, step 1); the others are only context (the
            alignment's flows and the tiles' margins read them), e.g. a block of a long strip read
            with context. None: all.

    Returns:
        (2H, 2W, 4) uint16 (or ``out``), all bands in the input G band's geometry; with ``rows``,
        (2·len(rows), 2W, 4).

    Raises:
        InputError: for an array that is not a BGRN crop.
        ArgumentError: for a ``tile`` under :data:`~l1bsr_core.tiling.MIN_TILE` (other than 0) or an
            unusable ``device``.
        WeightsError: for weights that cannot be loaded.
    """
    bgrn = validate_bgrn(bgrn)
    device = resolve_device(device)
    model, _ = get_model("rec", weights, device)
    run = Run(device, tile, progress, out, align=align, band_means=band_means, rows=rows)
    return runtime_of(model).superresolve(model, bgrn, run)


def register(
    bgrn: np.ndarray,
    *,
    weights: str | torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: TileProgress | None = None,
    out=None,
    with_flow: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Register B, R and NIR onto G with CSR.

    Args: as :func:`superresolve` (``out`` of the input's shape), and
        with_flow: also return the flow (24 bytes a pixel); False returns None in its place.

    Returns:
        ``(registered, flow)``: registered (H, W, 4) uint16 (or ``out``) with G unchanged, and flow
        (3, 2, H, W) float32 for B, R, NIR (channel 0 dx, 1 dy, px) such that
        ``registered[..., b] = warp(bgrn[..., b], flow[i])`` on valid pixels. No-data (0)
        pixels stay 0 and are not blended into valid ones: a registered pixel is 0 where the
        warp would sample a 0 (see :func:`~l1bsr_core.warp.align_to_reference`).
        Band statistics for the flow network leave no-data out.

    Raises:
        InputError: for an array that is not a BGRN crop.
        ArgumentError: for a ``tile`` that is not 0 or a multiple of the network's block size,
            or an unusable ``device``.
        WeightsError: for weights that cannot be loaded.
    """
    bgrn = validate_bgrn(bgrn)
    device = resolve_device(device)
    model, _ = get_model("csr", weights, device)
    return runtime_of(model).register(model, bgrn, Run(device, tile, progress, out, with_flow))
