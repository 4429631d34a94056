"""How each architecture runs at inference: one runtime per way of running, named in the table of networks.

:func:`runtime_of` looks a network's runtime up by the ``runtime`` its line of
:data:`~l1bsr_core.models.NETWORKS` names, in :data:`RUNTIMES`; :mod:`.inference` asks it what to do
and never tests a network's type. Training lives in :mod:`.train` (its hooks, keyed alike, are in
:mod:`.train.networks`): nothing here imports it.

* ``"plain_rec"`` (:class:`RCAN`) → :class:`PlainRECRuntime`: DN / radiometric scale in and out, tiled;
* ``"aligned_rec"`` (:class:`FaithfulREC`) → :class:`FaithfulRECRuntime`: input aligned to G by the joint CSR, DN;
* ``"pairwise_csr"`` (:class:`CSRNet`) → :class:`PairwiseCSRRuntime`: one (reference, moving) pair at a time, tiled;
* ``"joint_csr"`` (:class:`JointCSR`) → :class:`JointCSRRuntime`: whole-image window grid, then a warp by tiles.

A new way of running: subclass :class:`RECRuntime` or :class:`CSRRuntime` and add it to
:data:`RUNTIMES` under the name its networks' table lines give.

Arrays are (H, W, 4) uint16 in band order B, G, R, NIR; flows (3, 2, H, W) for B, R, NIR onto G,
px, channel 0 dx, 1 dy, in the :func:`~.warp.warp` convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .arrays import band_statistics, to_uint16
from .band_alignment import BandFlows, band_flows
from .bands import MOVING_BANDS, band_pairs
from .errors import ArgumentError, WeightsError
from .models import network_of
from .models.csr import contrast_normalise
from .parallel import map_blocks, workers
from .tensors import conv_memory_format, image_to_tensor, tensor_to_image
from .tiling import DEFAULT_TILE, Tile, plan_bands, plan_tiles, resolve_tile
from .warp import align_to_reference
from .weights import get_model

TileProgress = Callable[[int, int], None]
"""``progress(done_tiles, total_tiles)``: called after each tile."""

REC_MARGIN = 16
"""Context added around each REC tile, input pixels. RCAN's receptive field is wider (~2·blocks·groups
convolutions), but its far end barely moves the output. Against an untiled run of the shipped REC
on a 704 × 1056 mosaic of six real crops: with 16 px of context, 99.9 % of the values within 1 DN,
mean 0.04 DN, largest 4 DN with :data:`ALIGNED_REC_TILE` 320 px tiles (5 DN with 384, 9 with 256);
8 px 12 DN at most, 4 px 78 DN (384 px tiles; model card, issue #27, sessions 11 and 12)."""

CSR_MARGIN = 128
"""Context added around each tile of the pairwise (encoder–decoder) CSR, input pixels: covers
its receptive field, so tiled flows stay close to an untiled run (tested)."""

ALIGNED_REC_TILE = 320
"""Tile of the faithful REC for large images. Each tile is read with :data:`REC_MARGIN` px of
context, and the model mirrors another :data:`~l1bsr_core.models.rec_faithful.BORDER_PAD_PX` px
at the image's edges only: an inner 320 px tile does (320 + 2·16)² / 320² ≈ 1.21× its pixels'
work. Two tiles run at once (one per worker). Smaller tiles do more margin work yet ran faster
here: on this 2-core CPU a 4096 × 4096 super-resolution took 64.5 s with 320 px tiles against
67.2 s with 384 (alternating in one process; in another such run 62.5 s with 256, whose
largest difference from an untiled run is 9 DN), 1.19× and 1.23× a crop's time per pixel, the
outputs within 1 DN of each other. With 512 px tiles the command line peaked at 1.4–1.6 GiB
against 0.9–1.1 GiB with 384; tiles of 768 px cost 1.4× per pixel (issue #27)."""

WARP_MARGIN = 32
"""Context around each tile when only warping (the joint CSR's flows are computed for the whole
image first): the warp reads a band this far from the pixel at most (flows of a few px plus the
bicubic footprint)."""

CSR_TILE = 256
"""Registration tile for images larger than :data:`~l1bsr_core.tiling.DEFAULT_TILE` (smaller ones run untiled): the
float32 flow output (24 bytes a pixel) already takes most of the memory of a large image, so
tiles stay small to keep a 4096 x 4096 run under 2 GiB."""

MIN_BAND_ROWS = 64
"""An image of one tile is cut into bands of rows, one per worker, when each gets at least this many."""


@dataclass(frozen=True)
class Run:
    """One inference call: where it runs, how it is tiled, whom it tells, where its output goes."""

    device: torch.device
    tile: int | None = None
    progress: TileProgress | None = None
    out: object | None = None
    """Where the output image goes: an array-like of its (rows, cols, 4) shape taking
    ``out[rows, cols] = tile`` in row-major tile order (e.g. :class:`~l1bsr_core.tiff_rows.RowWriter`,
    which streams it to a file); by default a new array, returned."""
    keep_flow: bool = True
    """Registration: also return the (3, 2, H, W) flow (24 bytes a pixel); else None."""
    align: bool = True
    """Super-resolution: align B, R, NIR onto G first (L1B input); False for bands already
    co-registered (L1C/L2A), which the REC then takes as they are."""
    band_means: np.ndarray | None = None
    """Super-resolution: the (4,) per-band means of the whole image when the input is one block of
    it (so that blocks processed apart agree); None: the input's own."""
    rows: slice | None = None
    """Super-resolution: the input rows whose output is wanted (the output then has ``factor ·
    len(rows)`` rows); the others are context, read by the alignment flows and the tiles'
    margins. None: all rows."""

    def output_rows(self, height: int) -> slice:
        """:attr:`rows` of an input of ``height`` rows (all of them by default), checked."""
        if self.rows is None:
            return slice(0, height)
        start, stop, step = self.rows.indices(height)
        if step != 1 or stop <= start:
            raise ArgumentError(f"rows {self.rows} are not a non-empty range of the input's {height} rows")
        return slice(start, stop)

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def output(self, shape: tuple[int, int, int]):
        """The array the output image of ``shape`` is written to: :attr:`out` or a new uint16 array."""
        if self.out is None:
            return np.empty(shape, np.uint16)
        if tuple(self.out.shape) != tuple(shape):
            raise ArgumentError(f"the output given has shape {tuple(self.out.shape)}; expected {tuple(shape)}")
        return self.out

    def flow_output(self, height: int, width: int) -> np.ndarray | None:
        """The (3, 2, H, W) float32 flow array, or None when the flow is not kept."""
        return np.empty((len(MOVING_BANDS), 2, height, width), np.float32) if self.keep_flow else None


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


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad the bottom/right of (N, C, h, w) so h and w are multiples of ``multiple``."""
    pad_y = -x.shape[-2] % multiple
    pad_x = -x.shape[-1] % multiple
    if pad_y or pad_x:
        mode = "reflect" if min(x.shape[-2:]) > max(pad_y, pad_x) else "replicate"
        x = F.pad(x, (0, pad_x, 0, pad_y), mode=mode)
    return x


def _run_tiles(tiles: list[Tile], compute: Callable[[Tile], object], store: Callable[[Tile, object], None],
               run: Run) -> None:
    """``store(t, compute(t))`` for every tile, reporting progress: the one tile loop of the runtimes.

    ``compute`` runs for as many tiles at once as there are workers
    (:func:`~l1bsr_core.parallel.map_blocks`: single-threaded, in the caller's inference mode);
    ``store`` runs in this thread, in tile order (row-major: a streamed output needs it)."""
    group = workers(run.device)
    for start in range(0, len(tiles), group):
        batch = tiles[start:start + group]
        results: dict[int, object] = {}

        def work(index: int, batch=batch, results=results) -> None:
            results[index] = compute(batch[index])

        map_blocks(work, range(len(batch)), run.device)
        for index, t in enumerate(batch):
            store(t, results[index])
            run.report(start + index + 1, len(tiles))


def _rec_tiles(height: int, width: int, run: Run, size: int) -> list[Tile]:
    """REC tiles of ``size`` px for a large image; an image of one tile is cut into one band of rows
    per worker when the tile size was not given (the bands then run at once).

    Only :meth:`Run.output_rows` are covered: cores are in output rows (input pixels from the
    first row wanted), read windows in the input's rows, with its other rows as margin."""
    rows = run.output_rows(height)
    wanted = rows.stop - rows.start
    tiles = plan_tiles(wanted, width, resolve_tile(run.tile, wanted, width, size), REC_MARGIN)
    if len(tiles) == 1 and run.tile is None and wanted >= workers(run.device) * MIN_BAND_ROWS:
        tiles = plan_bands(wanted, width, workers(run.device), REC_MARGIN)
    if wanted == height:
        return tiles
    shifted = []
    for t in tiles:
        first, last = t.core_y.start + rows.start, t.core_y.stop + rows.start
        read = slice(max(first - REC_MARGIN, 0), min(last + REC_MARGIN, height))
        shifted.append(Tile(read, t.read_x, t.core_y, t.core_x, slice(first - read.start, last - read.start),
                            t.inner_x))
    return shifted


def _register_tiles(bgrn: np.ndarray, tiles: list[Tile], tile_flows: Callable[[torch.Tensor, Tile], torch.Tensor],
                    run: Run) -> tuple[np.ndarray, np.ndarray | None]:
    """B, R, NIR of ``bgrn`` warped onto G tile by tile: ``(registered, flow)`` (flow None unless
    ``run.keep_flow``). ``tile_flows(x, t)`` gives the (1, 3, 2, h, w) flows of tile ``t``'s read
    window ``x`` (1, 4, h, w): the one registration tile loop of the CSR runtimes."""
    height, width, _ = bgrn.shape
    registered = run.output(bgrn.shape)  # every pixel of every band is written below
    flow = run.flow_output(height, width)

    def compute(t: Tile):
        x = image_to_tensor(bgrn[t.read_y, t.read_x], run.device)
        flows = tile_flows(x, t)
        aligned = align_to_reference(x, flows, MOVING_BANDS)
        return flows[0][..., t.inner_y, t.inner_x], _to_dn(aligned[..., t.inner_y, t.inner_x])

    def store(t: Tile, result) -> None:
        tile_flow, tile_registered = result
        if flow is not None:
            flow[:, :, t.core_y, t.core_x] = tile_flow.cpu().numpy()
        registered[t.core_y, t.core_x] = tile_registered

    with torch.inference_mode():
        _run_tiles(tiles, compute, store, run)
    return registered, flow


def _warp_tiles(bgrn: np.ndarray, flows: BandFlows, run: Run) -> tuple[np.ndarray, np.ndarray | None]:
    """B, R, NIR of ``bgrn`` warped onto G by whole-image ``flows``, tile by tile; ``(registered, flow)``."""
    height, width, _ = bgrn.shape
    tiles = plan_tiles(height, width, resolve_tile(run.tile, height, width), WARP_MARGIN)
    return _register_tiles(bgrn, tiles, lambda x, t: flows.dense(t.read_y.start, t.read_x.start, *x.shape[-2:]),
                           run)


class RECRuntime:
    """How a super-resolution network runs. Subclasses: one per REC runtime name of the table."""

    def superresolve(self, model: nn.Module, bgrn: np.ndarray, run: Run) -> np.ndarray:
        """(H, W, 4) uint16 → (factor·H, factor·W, 4) uint16 (``bgrn`` already validated)."""
        raise NotImplementedError


class PlainRECRuntime(RECRuntime):
    """:class:`RCAN`: input and output in DN / ``config.radiometric_scale``, tiled with margins."""

    def superresolve(self, model, bgrn, run):
        radiometric = model.config.radiometric_scale
        factor = model.config.scale
        height, width, bands = bgrn.shape
        rows = run.output_rows(height)
        out = run.output(((rows.stop - rows.start) * factor, width * factor, bands))
        memory_format = conv_memory_format(run.device)

        def compute(t: Tile) -> torch.Tensor:
            x = image_to_tensor(bgrn[t.read_y, t.read_x], run.device) / radiometric
            return model(x.contiguous(memory_format=memory_format)) * radiometric

        with torch.inference_mode():
            _run_tiles(_rec_tiles(height, width, run, DEFAULT_TILE), compute,
                       lambda t, y: _store_core(out, y, t, factor), run)
        return out


class FaithfulRECRuntime(RECRuntime):
    """:class:`FaithfulREC`: B, R, NIR aligned to G by the joint CSR, then super-resolved in DN.

    The per-band scale (mean of valid pixels) is the whole image's, so tiles agree. With
    ``run.align`` False (co-registered input) the CSR is neither loaded nor run.
    """

    def superresolve(self, model, bgrn, run):
        factor = model.config.scale
        height, width, bands = bgrn.shape
        flows = None
        if run.align:
            csr, _ = get_model("csr", model.config.align_with or None, run.device)
            flows = runtime_of(csr).image_flows(csr, bgrn, run.device)
        mean = band_statistics(bgrn)[0] if run.band_means is None else np.asarray(run.band_means)
        band_means = torch.tensor(mean, dtype=torch.float32, device=run.device).view(1, -1, 1, 1)
        rows = run.output_rows(height)
        out = run.output(((rows.stop - rows.start) * factor, width * factor, bands))

        def compute(t: Tile) -> torch.Tensor:
            x = image_to_tensor(bgrn[t.read_y, t.read_x], run.device)
            edges = (t.read_y.start == 0, t.read_y.stop == height, t.read_x.start == 0, t.read_x.stop == width)
            if flows is not None:
                x = align_to_reference(x, flows.dense(t.read_y.start, t.read_x.start, *x.shape[-2:]), MOVING_BANDS)
            return model(x, band_means, edges)

        with torch.inference_mode():
            _run_tiles(_rec_tiles(height, width, run, ALIGNED_REC_TILE), compute,
                       lambda t, y: _store_core(out, y, t, factor), run)
        return out


class CSRRuntime:
    """How a registration network runs. Subclasses: one per CSR runtime name of the table."""

    def register(self, model: nn.Module, bgrn: np.ndarray, run: Run) -> tuple[np.ndarray, np.ndarray | None]:
        """(H, W, 4) uint16 → ``(registered, flow)`` (``bgrn`` already validated; flow None
        unless ``run.keep_flow``)."""
        raise NotImplementedError

    def image_flows(self, model: nn.Module, bgrn: np.ndarray, device: torch.device) -> BandFlows:
        """Whole-image flows that :meth:`BandFlows.dense` interpolates to any window (REC alignment)."""
        raise WeightsError(f"REC aligns its input with whole-image flows; the {type(model).__name__} "
                           f"CSR computes its flows tile by tile")


class PairwiseCSRRuntime(CSRRuntime):
    """:class:`CSRNet`: one contrast-normalised (reference, moving) pair at a time, tiled with margins."""

    def register(self, model, bgrn, run):
        height, width, _ = bgrn.shape
        device = run.device
        # Contrast normalisation uses statistics of the whole image, so tiles see what an untiled run sees.
        mean, std = (torch.tensor(v, dtype=torch.float32, device=device).view(1, -1, 1, 1)
                     for v in band_statistics(bgrn))
        multiple = model.config.size_multiple
        margin = CSR_MARGIN + -CSR_MARGIN % multiple
        tiles = plan_tiles(height, width, resolve_tile(run.tile, height, width, CSR_TILE, multiple), margin,
                           align=multiple)

        def tile_flows(x: torch.Tensor, t: Tile) -> torch.Tensor:
            return self.normalised_flows(model, contrast_normalise(x, mean, std))[None]

        return _register_tiles(bgrn, tiles, tile_flows, run)

    @staticmethod
    def normalised_flows(model, normalised: torch.Tensor) -> torch.Tensor:
        """Flows of the moving bands onto the reference for one (1, 4, h, w) contrast-normalised tile.

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


class JointCSRRuntime(CSRRuntime):
    """:class:`JointCSR`: the window grid of the whole image (:mod:`.band_alignment`), then a warp by tiles."""

    def register(self, model, bgrn, run):
        return _warp_tiles(bgrn, self.image_flows(model, bgrn, run.device), run)

    def image_flows(self, model, bgrn, device):
        return band_flows(model, bgrn, device)


RUNTIMES: dict[str, RECRuntime | CSRRuntime] = {
    "plain_rec": PlainRECRuntime(),
    "aligned_rec": FaithfulRECRuntime(),
    "pairwise_csr": PairwiseCSRRuntime(),
    "joint_csr": JointCSRRuntime(),
}
"""Each way of running, by the name the table of networks (:data:`~l1bsr_core.models.NETWORKS`) gives it."""


def runtime_of(model: nn.Module) -> RECRuntime | CSRRuntime:
    """The runtime of ``model``'s architecture (its line of :data:`~l1bsr_core.models.NETWORKS`).

    Raises:
        WeightsError: for a network of no architecture in the table.
    """
    return RUNTIMES[network_of(model).runtime]
