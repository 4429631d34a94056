"""Numpy-in, numpy-out inference: ``superresolve`` (REC) and ``register`` (CSR), tiled.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR (see :mod:`l1bsr_core.bands`).
Flows are (3, 2, H, W) float32 for B, R, NIR onto G, in pixels, channel 0 = dx, channel 1 = dy,
in the :func:`l1bsr_core.warp.warp` convention ``registered(y, x) = band(y + dy, x + dx)``.

Large inputs are cut into overlapping tiles (:mod:`l1bsr_core.tiling`) with margins sized to each
network's receptive field, so memory is bounded by the tile size and seams do not show.
Everything runs under ``torch.inference_mode()``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .arrays import to_uint16
from .band_alignment import BandFlows, band_flows
from .bands import MOVING_BANDS, NO_DATA, band_pairs
from .errors import ArgumentError, WeightsError
from .io import validate_bgrn
from .models import FaithfulREC, JointCSR
from .tensors import conv_memory_format, image_to_tensor, tensor_to_image
from .tiling import Tile, plan_tiles, resolve_tile
from .warp import align_to_reference
from .weights import REGISTRY_FILE, kind_of, load_model, weights_dir

Progress = Callable[[int, int], None]

REC_MARGIN = 32
"""Context added around each REC tile, input pixels (RCAN's receptive field is ~2·blocks·groups)."""

CSR_MARGIN = 128
"""Context added around each CSR tile, input pixels. Covers the published encoder's receptive
field, and the Lucas–Kanade CSR's: a control-grid node pools ±``grid_px`` (32) px of features
(whose own reach is ~10 px), and every solver step couples a node with its neighbours, so the
influence spreads a little further each step. With 128 px, tiled flows stay within 0.02 px of
an untiled run (tested)."""

ALIGNED_REC_TILE = 768
"""Tile of the faithful REC for large images: its margins then add 17 % of work (tiles of 512
would add 27 %). With 1024 px tiles a 4096 x 4096 run peaked at 2.4 GiB resident."""

WARP_MARGIN = 32
"""Context around each tile when only warping (the joint CSR's flows are computed for the whole
image first): the warp reads a band this far from the pixel at most (flows of a few px plus the
bicubic footprint)."""

CSR_TILE = 256
"""Registration tile for images larger than :data:`~l1bsr_core.tiling.DEFAULT_TILE` (smaller ones run untiled): the
float32 flow output (24 bytes a pixel) already takes most of the memory of a large image, so
tiles stay small to keep a 4096 x 4096 run under 2 GiB."""

STATS_ROWS = 512
"""Rows per chunk when computing band statistics (no full-image float64 temporaries)."""

DEVICE_TYPES = ("cpu", "cuda")
"""Kinds of torch device the networks run on."""

NORMALISATION_EPS = 1e-6
"""Added to a band's standard deviation before dividing by it (a flat band stays finite)."""

def _device(device: str | torch.device) -> torch.device:
    """The torch device named by ``device``: the CPU, or a CUDA GPU that this machine has.

    Raises:
        ArgumentError: for a name torch does not know, another kind of device, or a GPU
            that is not there.
    """
    accepted = "expected 'cpu', 'cuda' or 'cuda:N'"
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ArgumentError(f"device {str(device)!r} is not a device name; {accepted}") from error
    if resolved.type not in DEVICE_TYPES:
        raise ArgumentError(f"device {str(resolved)!r} is not supported; {accepted}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ArgumentError(f"device {str(resolved)!r} was asked for but no CUDA GPU is available; use 'cpu'")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ArgumentError(
                f"device {str(resolved)!r} does not exist: this machine has {count} CUDA GPU(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    return resolved


@functools.lru_cache(maxsize=8)
def _cached_model(kind: str, weights: str, device: str, folder: str, stamp: float):
    model, info = load_model(kind, weights, device)
    return model.to(memory_format=conv_memory_format(device)), info


def get_model(kind: str, weights: str | torch.nn.Module | None = None, device: str | torch.device = "cpu"):
    """The network of ``kind`` and its info dict, loaded once per (weights, device).

    ``weights`` is a registered name, a checkpoint path, or a network already built (used as it
    is, e.g. to time an untrained architecture); WeightsError when it is not of ``kind``.
    """
    if isinstance(weights, torch.nn.Module):
        if kind_of(weights) != kind:
            raise WeightsError(f"the network given is a {kind_of(weights).upper()} network; expected {kind.upper()}")
        info = {"name": type(weights).__name__, "kind": kind, "version": "", "config": weights.config.to_dict(),
                "parameters": sum(p.numel() for p in weights.parameters()), "source": "(in memory)"}
        return weights.to(_device(device)), info
    folder = weights_dir()
    registry = folder / REGISTRY_FILE
    stamp = registry.stat().st_mtime if registry.is_file() else 0.0  # a retrained registry reloads
    return _cached_model(kind, str(weights or kind), str(_device(device)), str(folder), stamp)


def model_info(kind: str, weights: str | None = None) -> dict:
    """Name, version, config and parameter count of the weights ``superresolve``/``register`` use."""
    return dict(get_model(kind, weights, "cpu")[1])


def _to_dn(tensor: torch.Tensor) -> np.ndarray:
    """(1, C, h, w) float DN → (h, w, C) uint16, rounded and clipped (never wrapped)."""
    return to_uint16(tensor_to_image(tensor))


def _store_core(out: np.ndarray, y: torch.Tensor, t: Tile, factor: int) -> None:
    """Write the core of tile ``t``'s (1, C, factor·h, factor·w) output ``y`` into the
    (factor·H, factor·W, C) uint16 ``out`` (the tile's slices are in input pixels)."""
    core = y[..., t.inner_y.start * factor:t.inner_y.stop * factor,
             t.inner_x.start * factor:t.inner_x.stop * factor]
    out[t.core_y.start * factor:t.core_y.stop * factor,
        t.core_x.start * factor:t.core_x.stop * factor] = _to_dn(core)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def superresolve(
    bgrn: np.ndarray,
    *,
    weights: str | torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: Progress | None = None,
) -> np.ndarray:
    """Super-resolve a BGRN crop by :data:`SCALE_FACTOR` with REC.

    Args:
        bgrn: (H, W, 4) or (4, H, W) uint16 L1B digital numbers, bands B, G, R, NIR.
        weights: registered name, checkpoint path or REC network (default: the shipped ``rec``).
        device: "cpu" or "cuda".
        tile: tile side in input pixels; ``None`` chooses, 0 disables tiling.
        progress: called as ``progress(done_tiles, total_tiles)``.

    Returns:
        (2H, 2W, 4) uint16, all bands in the input G band's geometry.

    Raises:
        InputError: for an array that is not a BGRN crop.
        ArgumentError: for a ``tile`` under :data:`~l1bsr_core.tiling.MIN_TILE` (other than 0) or an
            unusable ``device``.
        WeightsError: for weights that cannot be loaded.
    """
    bgrn = validate_bgrn(bgrn)
    device = _device(device)
    model, _ = get_model("rec", weights, device)
    if isinstance(model, FaithfulREC):
        return _superresolve_aligned(model, bgrn, device, tile, progress)
    scale = model.config.radiometric_scale
    factor = model.config.scale
    height, width, bands = bgrn.shape
    out = np.empty((height * factor, width * factor, bands), np.uint16)
    tiles = plan_tiles(height, width, resolve_tile(tile, height, width), REC_MARGIN)
    memory_format = conv_memory_format(device)
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = image_to_tensor(bgrn[t.read_y, t.read_x], device) / scale
            y = model(x.contiguous(memory_format=memory_format)) * scale
            _store_core(out, y, t, factor)
            _report(progress, done, len(tiles))
    return out


def _alignment_flows(model, bgrn: np.ndarray, device: torch.device) -> BandFlows:
    """The joint CSR flows that align a faithful REC's input (its ``align_with`` weights)."""
    csr, info = get_model("csr", model.config.align_with or None, device)
    if not isinstance(csr, JointCSR):
        raise WeightsError(f"REC aligns its input with the joint CSR; {info['name']!r} is another CSR architecture")
    return band_flows(csr, bgrn, device)


def _superresolve_aligned(model, bgrn: np.ndarray, device: torch.device, tile, progress) -> np.ndarray:
    """Faithful REC: B, R, NIR aligned to G by the joint CSR, then super-resolved tile by tile.

    The per-band scale (mean of valid pixels) is the whole image's, so tiles agree.
    """
    factor = model.config.scale
    height, width, bands = bgrn.shape
    flows = _alignment_flows(model, bgrn, device)
    mean, _ = band_statistics(bgrn)
    scale = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    out = np.empty((height * factor, width * factor, bands), np.uint16)
    tiles = plan_tiles(height, width, resolve_tile(tile, height, width, ALIGNED_REC_TILE), REC_MARGIN)
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = image_to_tensor(bgrn[t.read_y, t.read_x], device)
            tile_flows = flows.dense(t.read_y.start, t.read_x.start, x.shape[-2], x.shape[-1])
            y = model(align_to_reference(x, tile_flows, MOVING_BANDS), scale)
            _store_core(out, y, t, factor)
            _report(progress, done, len(tiles))
    return out


def _register_joint(model, bgrn: np.ndarray, device: torch.device, tile, progress) -> tuple[np.ndarray, np.ndarray]:
    """Joint CSR registration: the grid of the whole image, then interpolation and warp tile by tile."""
    height, width, _ = bgrn.shape
    flows = band_flows(model, bgrn, device)
    registered = np.empty_like(bgrn)  # every pixel of every band is written below
    flow = np.empty((len(MOVING_BANDS), 2, height, width), np.float32)
    moving = list(MOVING_BANDS)
    tiles = plan_tiles(height, width, resolve_tile(tile, height, width), WARP_MARGIN)
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = image_to_tensor(bgrn[t.read_y, t.read_x], device)
            tile_flows = flows.dense(t.read_y.start, t.read_x.start, x.shape[-2], x.shape[-1])
            aligned = align_to_reference(x, tile_flows, moving)
            flow[:, :, t.core_y, t.core_x] = tile_flows[0][..., t.inner_y, t.inner_x].cpu().numpy()
            registered[t.core_y, t.core_x] = _to_dn(aligned[..., t.inner_y, t.inner_x])
            _report(progress, done, len(tiles))
    return registered, flow


def band_statistics(bgrn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation (ddof 1) of the valid pixels of an (H, W, C) image.

    No-data pixels (:data:`NO_DATA`) are left out, so a wide no-data border neither pulls the
    mean down nor inflates the spread; a band without valid pixels gets mean 0 and std 0.
    Computed in chunks of :data:`STATS_ROWS` rows.
    """
    total = np.zeros(bgrn.shape[-1])
    squares = np.zeros(bgrn.shape[-1])
    count = np.zeros(bgrn.shape[-1])
    for start in range(0, bgrn.shape[0], STATS_ROWS):
        rows = bgrn[start:start + STATS_ROWS].reshape(-1, bgrn.shape[-1]).astype(np.float64)
        count += (rows != NO_DATA).sum(axis=0)
        total += rows.sum(axis=0)  # no-data is 0: it adds nothing to the sums
        squares += (rows * rows).sum(axis=0)
    mean = total / np.maximum(count, 1)
    variance = np.maximum(squares - count * mean**2, 0.0) / np.maximum(count - 1, 1)
    return mean, np.sqrt(variance)


def _normalise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Contrast-normalise (1, C, h, w) DN per band; no-data pixels become 0, the bands' mean."""
    return torch.where(x == NO_DATA, 0.0, (x - mean) / (std + NORMALISATION_EPS))


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
    for _, reference, moving in band_pairs(normalised, axis=1):  # one pair at a time: a third of the memory
        pair = torch.stack((reference, moving), dim=1)
        pair = _pad_to_multiple(pair, model.config.size_multiple)
        pair = pair.contiguous(memory_format=conv_memory_format(normalised.device))
        flows.append(model(pair)[..., :height, :width].float())
    return torch.cat(flows)


def register(
    bgrn: np.ndarray,
    *,
    weights: str | torch.nn.Module | None = None,
    device: str | torch.device = "cpu",
    tile: int | None = None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Register B, R and NIR onto G with CSR.

    Args: as :func:`superresolve`.

    Returns:
        ``(registered, flow)``: registered (H, W, 4) uint16 with G unchanged, and flow
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
    device = _device(device)
    model, _ = get_model("csr", weights, device)
    if isinstance(model, JointCSR):
        return _register_joint(model, bgrn, device, tile, progress)
    height, width, _ = bgrn.shape
    # Contrast normalisation uses statistics of the whole image, so tiles see what an untiled run sees.
    mean, std = (torch.tensor(v, dtype=torch.float32, device=device).view(1, -1, 1, 1) for v in band_statistics(bgrn))
    registered = np.empty_like(bgrn)  # every pixel of every band is written below
    flow = np.empty((len(MOVING_BANDS), 2, height, width), np.float32)
    multiple = model.config.size_multiple
    margin = CSR_MARGIN + -CSR_MARGIN % multiple
    tiles = plan_tiles(height, width, resolve_tile(tile, height, width, CSR_TILE, multiple), margin, align=multiple)
    moving = list(MOVING_BANDS)
    with torch.inference_mode():
        for done, t in enumerate(tiles, start=1):
            x = image_to_tensor(bgrn[t.read_y, t.read_x], device)
            tile_flow = estimate_flows(model, _normalise(x, mean, std))
            aligned = align_to_reference(x, tile_flow[None], moving)
            flow[:, :, t.core_y, t.core_x] = tile_flow[..., t.inner_y, t.inner_x].cpu().numpy()
            registered[t.core_y, t.core_x] = _to_dn(aligned[..., t.inner_y, t.inner_x])
            _report(progress, done, len(tiles))
    return registered, flow
