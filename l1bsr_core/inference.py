"""Numpy-in, numpy-out inference: ``superresolve`` (REC) and ``register`` (CSR), tiled.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR (see :mod:`l1bsr_core.bands`).
Flows are (3, 2, H, W) float32 for B, R, NIR onto G, in pixels, channel 0 = dx, channel 1 = dy,
in the :func:`l1bsr_core.warp.warp` convention ``registered(y, x) = band(y + dy, x + dx)``.

Large inputs are cut into overlapping tiles: each tile is processed with a margin of context
on every side, and only its centre is written to the output, so memory is bounded by the tile
size and seams do not show. Everything runs under ``torch.inference_mode()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .bands import DN_MAX, MOVING_BANDS, REFERENCE_BAND
from .io import validate_bgrn
from .warp import warp
from .weights import REGISTRY_FILE, load_model, weights_dir

Progress = Callable[[int, int], None]

DEFAULT_TILE = 512
"""Tile side in input pixels used when ``tile`` is not given and the image is larger than this."""

REC_MARGIN = 32
"""Context added around each REC tile, input pixels (RCAN's receptive field is ~2·blocks·groups)."""

CSR_MARGIN = 128
"""Context added around each CSR tile, input pixels. Covers the published encoder's receptive
field, and the Lucas–Kanade CSR's: a control-grid node pools ±``grid_px`` (32) px of features
(whose own reach is ~10 px), and every solver step couples a node with its neighbours, so the
influence spreads a little further each step. With 128 px, tiled flows stay within 0.02 px of
an untiled run (tested)."""

CSR_TILE = 256
"""Registration tile for images larger than :data:`DEFAULT_TILE` (smaller ones run untiled): the
float32 flow output (24 bytes a pixel) already takes most of the memory of a large image, so
tiles stay small to keep a 4096 x 4096 run under 2 GiB."""

STATS_ROWS = 512
"""Rows per chunk when computing band statistics (no full-image float64 temporaries)."""


@dataclass(frozen=True)
class Tile:
    """One tile: the padded window read from the input and the core written to the output."""

    read_y: slice
    read_x: slice
    core_y: slice  # output rows, input pixel units
    core_x: slice
    inner_y: slice  # the core's position inside the read window
    inner_x: slice


def plan_tiles(height: int, width: int, tile: int, margin: int, align: int = 1) -> list[Tile]:
    """Cover an image with tiles of ``tile`` px plus ``margin`` px of context (clipped at borders).

    Read windows start at multiples of ``align`` so that pooling grids line up with an untiled run.
    """
    if tile <= 0 or tile >= max(height, width):
        return [Tile(slice(0, height), slice(0, width), slice(0, height), slice(0, width),
                     slice(0, height), slice(0, width))]
    if tile % align or margin % align:
        raise ValueError(f"tile ({tile}) and margin ({margin}) must be multiples of {align}")
    tiles = []
    for y0 in range(0, height, tile):
        for x0 in range(0, width, tile):
            y1, x1 = min(y0 + tile, height), min(x0 + tile, width)
            ry0, rx0 = max(y0 - margin, 0), max(x0 - margin, 0)
            ry1, rx1 = min(y1 + margin, height), min(x1 + margin, width)
            tiles.append(Tile(
                slice(ry0, ry1), slice(rx0, rx1), slice(y0, y1), slice(x0, x1),
                slice(y0 - ry0, y1 - ry0), slice(x0 - rx0, x1 - rx0),
            ))
    return tiles


def _resolve_tile(tile: int | None, height: int, width: int, size: int = DEFAULT_TILE) -> int:
    """``None`` → whole image when it fits in one :data:`DEFAULT_TILE`, else tiles of ``size``; 0 → whole."""
    if tile is None:
        return 0 if max(height, width) <= DEFAULT_TILE else size
    if tile < 0:
        raise ValueError(f"tile must be >= 0 (0 = no tiling), got {tile}")
    return tile


def _device(device: str | torch.device) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        from .errors import L1BSRError
        raise L1BSRError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return device


@functools.lru_cache(maxsize=8)
def _cached_model(kind: str, weights: str, device: str, folder: str, stamp: float):
    model, info = load_model(kind, weights, device)
    if device == "cpu":
        model = model.to(memory_format=torch.channels_last)  # ~2x faster convs on CPU
    return model, info


def get_model(kind: str, weights: str | None = None, device: str | torch.device = "cpu"):
    """The network of ``kind`` and its info dict, loaded once per (weights, device)."""
    folder = weights_dir()
    registry = folder / REGISTRY_FILE
    stamp = registry.stat().st_mtime if registry.is_file() else 0.0  # a retrained registry reloads
    return _cached_model(kind, str(weights or kind), str(_device(device)), str(folder), stamp)


def model_info(kind: str, weights: str | None = None) -> dict:
    """Name, version, config and parameter count of the weights ``superresolve``/``register`` use."""
    return dict(get_model(kind, weights, "cpu")[1])


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """(h, w, C) numeric → (1, C, h, w) float32."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(device).permute(2, 0, 1)[None].float()


def _to_dn(tensor: torch.Tensor) -> np.ndarray:
    """(1, C, h, w) float DN → (h, w, C) uint16, rounded and clipped (never wrapped)."""
    return tensor[0].permute(1, 2, 0).round().clamp(0, DN_MAX).to(torch.int32).cpu().numpy().astype(np.uint16)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def superresolve(
    bgrn: np.ndarray,
    *,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Super-resolve a BGRN crop by :data:`SCALE_FACTOR` with REC.

    Args:
        bgrn: (H, W, 4) or (4, H, W) uint16 L1B digital numbers, bands B, G, R, NIR.
        weights: registered name or checkpoint path (default: the shipped ``rec``).
        device: "cpu" or "cuda".
        tile: tile side in input pixels; ``None`` chooses, 0 disables tiling.
        progress: called as ``progress(done_tiles, total_tiles)``.

    Returns:
        (2H, 2W, 4) uint16, all bands in the input G band's geometry.
    """
    bgrn = validate_bgrn(bgrn)
    device = _device(device)
    model, _ = get_model("rec", weights, device)
    scale = model.config.radiometric_scale
    factor = model.config.scale
    height, width, bands = bgrn.shape
    out = np.empty((height * factor, width * factor, bands), np.uint16)
    tiles = plan_tiles(height, width, _resolve_tile(tile, height, width), REC_MARGIN)
    memory_format = torch.channels_last if device.type == "cpu" else torch.contiguous_format
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = _to_tensor(bgrn[t.read_y, t.read_x], device) / scale
            y = model(x.contiguous(memory_format=memory_format)) * scale
            core = y[..., t.inner_y.start * factor:t.inner_y.stop * factor,
                     t.inner_x.start * factor:t.inner_x.stop * factor]
            out[t.core_y.start * factor:t.core_y.stop * factor,
                t.core_x.start * factor:t.core_x.stop * factor] = _to_dn(core)
            _report(progress, done, len(tiles))
    return out


def band_statistics(bgrn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation (ddof 1) of an (H, W, C) image, in chunks of rows."""
    total = np.zeros(bgrn.shape[-1])
    squares = np.zeros(bgrn.shape[-1])
    for start in range(0, bgrn.shape[0], STATS_ROWS):
        rows = bgrn[start:start + STATS_ROWS].reshape(-1, bgrn.shape[-1]).astype(np.float64)
        total += rows.sum(axis=0)
        squares += (rows * rows).sum(axis=0)
    count = bgrn.shape[0] * bgrn.shape[1]
    mean = total / count
    variance = np.maximum(squares - count * mean**2, 0.0) / max(count - 1, 1)
    return mean, np.sqrt(variance)


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom/right of (N, C, h, w) so h and w are multiples of ``multiple``."""
    pad_y = -x.shape[-2] % multiple
    pad_x = -x.shape[-1] % multiple
    if pad_y or pad_x:
        mode = "reflect" if min(x.shape[-2:]) > max(pad_y, pad_x) else "replicate"
        x = F.pad(x, (0, pad_x, 0, pad_y), mode=mode)
    return x


def estimate_flows(model, normalised: torch.Tensor) -> torch.Tensor:
    """CSR flows of the moving bands onto the reference for one (1, 4, h, w) contrast-normalised tile.

    Returns (3, 2, h, w) in pixels, for :data:`MOVING_BANDS` in order.
    """
    height, width = normalised.shape[-2:]
    flows = []
    for band in MOVING_BANDS:  # one pair at a time: a third of the activation memory
        pair = torch.stack((normalised[:, REFERENCE_BAND], normalised[:, band]), dim=1)
        pair = _pad_to_multiple(pair, model.config.size_multiple)
        if normalised.device.type == "cpu":
            pair = pair.contiguous(memory_format=torch.channels_last)
        flows.append(model(pair)[..., :height, :width].float())
    return torch.cat(flows)


def register(
    bgrn: np.ndarray,
    *,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Register B, R and NIR onto G with CSR.

    Args: as :func:`superresolve`.

    Returns:
        ``(registered, flow)``: registered (H, W, 4) uint16 with G unchanged, and flow
        (3, 2, H, W) float32 for B, R, NIR (channel 0 dx, 1 dy, px) such that
        ``registered[..., b] = warp(bgrn[..., b], flow[i])``.
    """
    bgrn = validate_bgrn(bgrn)
    device = _device(device)
    model, _ = get_model("csr", weights, device)
    height, width, _ = bgrn.shape
    # Contrast normalisation uses statistics of the whole image, so tiles see what an untiled run sees.
    mean, std = (torch.tensor(v, dtype=torch.float32, device=device).view(1, -1, 1, 1) for v in band_statistics(bgrn))
    registered = bgrn.copy()
    flow = np.empty((len(MOVING_BANDS), 2, height, width), np.float32)
    multiple = model.config.size_multiple
    margin = CSR_MARGIN + -CSR_MARGIN % multiple
    tiles = plan_tiles(height, width, _resolve_tile(tile, height, width, CSR_TILE), margin, align=multiple)
    moving = list(MOVING_BANDS)
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = _to_tensor(bgrn[t.read_y, t.read_x], device)
            tile_flow = estimate_flows(model, (x - mean) / (std + 1e-6))
            warped = warp(x[0, moving][:, None], tile_flow)  # (3, 1, h, w)
            core = (slice(None), slice(None), t.inner_y, t.inner_x)
            flow[:, :, t.core_y, t.core_x] = tile_flow[core].cpu().numpy()
            registered[t.core_y, t.core_x][..., moving] = _to_dn(warped[core].permute(1, 0, 2, 3))
            _report(progress, done, len(tiles))
    return registered, flow
