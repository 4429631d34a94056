"""Inputs whose bands come co-registered: L1C/L2A products and their GeoTIFF exports.

They are outside the networks' L1B domain (:mod:`l1bsr_core.domain`), and take their own path:

* **super-resolution** runs the REC *without* its CSR alignment (``align=False``; ``align=True``
  forces it), over a window of the input (``--window`` in pixels, ``--bbox`` in the input's CRS;
  a bbox reaching past the image is clipped to it, and the record says so: :func:`clipped_bbox_record`),
  in blocks of at most :data:`BLOCK_ROWS` × :data:`BLOCK_COLS` px with :data:`BLOCK_MARGIN_PX` px
  of context on each side, each written as it is finished: memory is bounded by a block,
  whatever the window (a 2048² and a 4096² window of an L2A product peaked at 1.1 and 1.2 GiB). The per-band
  scale of the REC is the whole window's (so blocks agree). Output: a GeoTIFF in the input's CRS,
  5 m pixels, same upper-left corner, in the input's convention (float stays float; uint16 DN
  keep their offset), with GDAL scale/offset so that GIS tools read reflectance;
* **registration** measures the residual misregistration of B, R and NIR against G with the CSR,
  block by block, and writes it as a JSON report, warping nothing (a check of the product's own
  registration); ``align=True`` warps the window instead (bounded to :data:`MAX_WARP_PIXELS`).

Arrays: (h, w, 4) in band order B, G, R, NIR; flows (3, 2, h, w), B, R, NIR onto G, channel 0 dx,
1 dy, px, ``registered(y, x) = band(y + dy, x + dx)``.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from .areas import coordinates_text
from .arrays import band_sums, statistics_of_sums
from .bands import MOVING_BAND_NAMES, SCALE_FACTOR
from .domain import CO_REGISTERED_LEVELS, InputDomain
from .errors import ArgumentError, InputError
from .exports import open_export, stated_level
from .georaster import GeoGrid, geotiff_writer, write_block, write_geotiff
from .io import MIN_SIZE_PX
from .outputs import atomic_output, save_flow
from .products.tile_product import is_tile_product, open_tile_product

BLOCK_ROWS = 512
BLOCK_COLS = 2048
"""Input pixels super-resolved at once (rows x columns): with blocks of whole 4096 px rows a
4096² window peaked at 1.7 GiB against 1.1 GiB for 2048², so blocks are bounded in both sides."""
BLOCK_MARGIN_PX = 32
"""Pixels of context read around each block (twice the REC tiles' own 16 px context)."""
CHECK_BLOCK_PX = 1024
"""Side of the blocks the registration check measures one at a time."""
CHECK_BORDER_PX = 32
"""Pixels of each block's flow left out of the check (the window grid is weakest at borders)."""
CHECK_STRIDE_PX = 4
"""Flow samples kept per block: one every this many pixels along each axis."""
MAX_WARP_PIXELS = 4096 * 4096
"""Largest window warped whole by a forced registration (its flows are fitted over the window)."""
MEAN_SAMPLE_PIXELS = 4_000_000
"""Pixels read (decimated) to compute the window's per-band means."""
SNAP_TOLERANCE_PX = 1e-9
"""A bbox edge this close (px) to a pixel edge is on it: snapping outwards does not add a pixel for
the rounding of map coordinates."""
Progress = Callable[[int, int], None]
Edges = tuple[int, int, int, int]
"""A pixel rectangle as its edges (col0, row0, col1, row1), px: columns col0 to col1 - 1."""


def resolve_window(shape: tuple[int, int], grid: GeoGrid, window=None, bbox=None) -> Window:
    """The pixel window to process: ``window`` (must lie inside the image), ``bbox`` (clipped to the
    image, snapped outwards to whole pixels), both (their intersection) or the whole image.

    Raises:
        ArgumentError: a window past the image, a bbox on a non-georeferenced input or off the image,
            a result smaller than :data:`~l1bsr_core.io.MIN_SIZE_PX`.
    """
    col0, row0, col1, row1 = _limits(shape, window)
    if bbox is not None:
        col0, row0, col1, row1 = _intersection((col0, row0, col1, row1), _bbox_pixels(bbox, grid))
        if col1 <= col0 or row1 <= row0:
            raise ArgumentError(f"bbox {coordinates_text(bbox)} does not overlap the image"
                                f"{' window' if window else ''} (bounds {_bounds_text(shape, grid)}); "
                                "expected a box inside them")
    if col1 - col0 < MIN_SIZE_PX or row1 - row0 < MIN_SIZE_PX:
        raise ArgumentError(f"the area to process is {col1 - col0} x {row1 - row0} px; expected at least "
                            f"{MIN_SIZE_PX} x {MIN_SIZE_PX}")
    return Window(col0, row0, col1 - col0, row1 - row0)


def _limits(shape: tuple[int, int], window=None) -> Edges:
    """The edges (px) an area must stay within: ``window`` (col, row, width, height, px), which must
    lie inside the image of ``shape`` (rows, cols), or else the whole image."""
    height, width = shape
    if window is None:
        return 0, 0, width, height
    col, row, w, h = window
    if col + w > width or row + h > height:
        raise ArgumentError(f"window {col},{row},{w},{h} reaches past the image ({width} x {height} px); "
                            f"expected COL + WIDTH <= {width} and ROW + HEIGHT <= {height}")
    return col, row, col + w, row + h


def _bbox_pixels(bbox, grid: GeoGrid) -> Edges:
    """The pixel edges of ``grid`` covering ``bbox`` (xmin, ymin, xmax, ymax in its CRS), snapped
    outwards to whole pixels (within :data:`SNAP_TOLERANCE_PX`); unclipped: it may reach past the image."""
    if grid.crs is None:
        raise ArgumentError("a bbox was given but the input has no CRS; expected --window in pixels")
    xmin, ymin, xmax, ymax = bbox
    inverse = ~grid.transform  # map → pixel; the corners' extremes, whichever way the rows run
    cols, rows = zip(*(inverse @ corner for corner in ((xmin, ymin), (xmin, ymax), (xmax, ymin), (xmax, ymax))))
    col0, row0 = math.floor(min(cols) + SNAP_TOLERANCE_PX), math.floor(min(rows) + SNAP_TOLERANCE_PX)
    col1, row1 = math.ceil(max(cols) - SNAP_TOLERANCE_PX), math.ceil(max(rows) - SNAP_TOLERANCE_PX)
    return col0, row0, col1, row1


def clipped_bbox_record(shape: tuple[int, int], grid: GeoGrid, area: Window, window=None, bbox=None) -> dict:
    """``{"bbox_clipped": ...}`` when ``bbox`` reached past the image (or ``window``) and only ``area``,
    its part inside, is processed; ``{}`` otherwise (no bbox, or one inside: snapping outwards to whole
    pixels is not clipping). Call after :func:`resolve_window` gave ``area`` for the same arguments.

    The field holds ``requested_bbox`` (CRS units), ``clipped_to`` ("image" or "window") and its
    ``clipped_to_bounds`` (CRS units), the ``window`` processed (px) and its ``bounds`` (CRS units),
    and the ``crs``; bounds are (xmin, ymin, xmax, ymax)."""
    if bbox is None:
        return {}
    limits = _limits(shape, window)
    requested = _bbox_pixels(bbox, grid)
    if _intersection(requested, limits) == requested:
        return {}
    return {"bbox_clipped": {
        "requested_bbox": [float(v) for v in bbox],
        "clipped_to": "image" if window is None else "window",
        "clipped_to_bounds": list(_map_bounds(limits, grid)),
        "window": window_record(area),
        "bounds": list(_map_bounds(_window_edges(area), grid)),
        "crs": str(grid.crs),
    }}


def _intersection(a: Edges, b: Edges) -> Edges:
    """The pixel rectangle two rectangles share (px; empty when col1 <= col0 or row1 <= row0)."""
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def _window_edges(window: Window) -> Edges:
    """``window`` as its edges (px)."""
    col, row = int(window.col_off), int(window.row_off)
    return col, row, col + int(window.width), row + int(window.height)


def _map_bounds(edges: Edges, grid: GeoGrid) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in ``grid``'s CRS units of a pixel rectangle's outer edges."""
    col0, row0, col1, row1 = edges
    (x0, y0), (x1, y1) = grid.transform @ (col0, row0), grid.transform @ (col1, row1)
    return float(min(x0, x1)), float(min(y0, y1)), float(max(x0, x1)), float(max(y0, y1))


def _bounds_text(shape, grid: GeoGrid) -> str:
    return coordinates_text(_map_bounds((0, 0, shape[1], shape[0]), grid))


def peek_is_coregistered(path) -> bool:
    """True for an L1C/L2A product, or a raster file that is on a map grid (CRS and transform), float,
    3-band or 8-bit (a visual export: refused with its own message), or tagged L1C/L2A. Reads headers only;
    False for anything GDAL cannot open (the L1B reader then says what is wrong)."""
    if is_tile_product(path):
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as dataset:
                stated = stated_level(dataset.tags())
                return (dataset.crs is not None or np.dtype(dataset.dtypes[0]).kind == "f" or dataset.count == 3
                        or np.dtype(dataset.dtypes[0]) == np.uint8
                        or (stated is not None and stated[0] in CO_REGISTERED_LEVELS))
    except (RasterioIOError, OSError, ValueError):
        return False


def open_coregistered(path, *, level: str | None = None, dn_offset: float | None = None):
    """An L1C/L2A product (folder or zip) or a 4-band GeoTIFF export, open for windowed reads.

    The result has ``source``, ``shape``, ``crs``, ``transform``, ``radiometry``, ``domain``,
    ``read(window) -> (h, w, 4)`` and ``close()`` (and is a context manager)."""
    if is_tile_product(path):
        if level is not None or dn_offset is not None:
            raise ArgumentError("an L1C/L2A product says its own level and offset; expected neither --level "
                                "nor --dn-offset with a product")
        return open_tile_product(path)
    return open_export(path, level=level, dn_offset=dn_offset)


def _window_means(source, window: Window) -> np.ndarray:
    """(4,) per-band means of the working DN of ``window`` over valid pixels, from a view decimated to
    at most :data:`MEAN_SAMPLE_PIXELS` (exact for smaller windows)."""
    step = max(1, math.ceil(math.sqrt(window.width * window.height / MEAN_SAMPLE_PIXELS)))
    shape = None if step == 1 else (max(1, int(window.height) // step), max(1, int(window.width) // step))
    count, total, squares = band_sums(source.radiometry.to_working(source.read(window, out_shape=shape)))
    if not count.any():  # working DN are no-data in every band at once (Radiometry.to_working)
        raise InputError(f"{source.source} has no valid pixel in the window; expected some data (0 is no-data)")
    return statistics_of_sums(count, total, squares)[0]


def _blocks(window: Window, rows: int | None = None, cols: int | None = None) -> list[Window]:
    """The blocks of ``window``, at most ``rows`` x ``cols`` px (default :data:`BLOCK_ROWS` x
    :data:`BLOCK_COLS`), in row-major order (a streamed output needs it), in window coordinates."""
    rows, cols = rows or BLOCK_ROWS, cols or BLOCK_COLS
    height, width = int(window.height), int(window.width)
    return [Window(col, row, min(cols, width - col), min(rows, height - row))
            for row in range(0, height, rows) for col in range(0, width, cols)]


def _with_margin(block: Window, window: Window) -> Window:
    """``block`` grown by :data:`BLOCK_MARGIN_PX` on each side, inside ``window`` (window coordinates)."""
    top, left = max(0, block.row_off - BLOCK_MARGIN_PX), max(0, block.col_off - BLOCK_MARGIN_PX)
    bottom = min(int(window.height), block.row_off + block.height + BLOCK_MARGIN_PX)
    right = min(int(window.width), block.col_off + block.width + BLOCK_MARGIN_PX)
    return Window(left, top, right - left, bottom - top)


def _in_image(block: Window, window: Window) -> Window:
    """A block in window coordinates → image coordinates."""
    return Window(window.col_off + block.col_off, window.row_off + block.row_off, block.width, block.height)


def superresolve_window(source, output, window: Window, domain: InputDomain, *, align: bool, weights=None,
                        device="cpu", tile=None, progress: Progress | None = None) -> dict:
    """Super-resolve ``window`` of ``source`` into the GeoTIFF ``output``, block by block; its record."""
    from . import inference  # torch: keep argument errors fast

    grid = GeoGrid(source.crs, source.transform).window(window).scaled(SCALE_FACTOR)
    width, height = int(window.width), int(window.height)
    means = _window_means(source, window)
    blocks = _blocks(window)
    tags = domain.tags("superresolution", align=align)
    s = SCALE_FACTOR
    with geotiff_writer(output, s * height, s * width, grid, source.radiometry, tags) as out:
        for done, block in enumerate(blocks, start=1):
            read = _with_margin(block, window)
            working = source.radiometry.to_working(source.read(_in_image(read, window)))
            sr = inference.superresolve(working, weights=weights, device=device, tile=tile, align=align,
                                        band_means=means)
            top, left = s * (block.row_off - read.row_off), s * (block.col_off - read.col_off)
            core = sr[top:top + s * block.height, left:left + s * block.width]
            write_block(out, s * block.row_off, source.radiometry.from_working(core), col=s * block.col_off)
            if progress is not None:
                progress(done, len(blocks))
    return {"window": window_record(window), "output_size": [SCALE_FACTOR * width, SCALE_FACTOR * height],
            "blocks": len(blocks)}


def window_record(window: Window) -> dict:
    """``window`` as the records write it: col, row, width, height (px)."""
    return {"col": int(window.col_off), "row": int(window.row_off), "width": int(window.width),
            "height": int(window.height)}


def export_window(path, output, *, window=None, bbox=None, progress: Progress | None = None) -> dict:
    """Write ``window`` of an L1C/L2A product or export as it is (10 m, its own DN convention, no
    network), block by block: a GeoTIFF of its B, G, R, NIR; the record."""
    with open_coregistered(path) as source:
        image = GeoGrid(source.crs, source.transform)
        area = resolve_window(source.shape, image, window, bbox)
        grid = image.window(area)
        tags = source.domain.tags("none", align=False)
        blocks = _blocks(area)
        with geotiff_writer(output, int(area.height), int(area.width), grid, source.radiometry, tags) as out:
            for done, block in enumerate(blocks, start=1):
                write_block(out, block.row_off, source.read(_in_image(block, area)), col=block.col_off)
                if progress is not None:
                    progress(done, len(blocks))
        return {**source.domain.record("none", align=False), "radiometry": source.radiometry.describe(),
                "window": window_record(area), **clipped_bbox_record(source.shape, image, area, window, bbox)}


def measure_misregistration(source, window: Window, *, weights=None, device="cpu",
                            progress: Progress | None = None) -> dict:
    """The CSR's reading of B, R and NIR against G over ``window``, block by block (nothing warped).

    Returns per band: median and 90th percentile of the flow's length (px), mean dx and dy (px),
    over valid pixels away from block borders, one sample every :data:`CHECK_STRIDE_PX` px."""
    from . import inference

    samples = [[] for _ in MOVING_BAND_NAMES]
    blocks = [_in_image(block, window) for block in _blocks(window, CHECK_BLOCK_PX, CHECK_BLOCK_PX)]
    for done, block in enumerate(blocks, start=1):
        working = source.radiometry.to_working(source.read(block))
        if min(working.shape[:2]) >= MIN_SIZE_PX and (working > 0).all(axis=-1).any():
            _, flow = inference.register(working, weights=weights, device=device)
            border = CHECK_BORDER_PX if min(working.shape[:2]) > 4 * CHECK_BORDER_PX else 0
            inner = (slice(border, working.shape[0] - border or None, CHECK_STRIDE_PX),
                     slice(border, working.shape[1] - border or None, CHECK_STRIDE_PX))
            valid = (working[inner] > 0).all(axis=-1)
            for band, band_flow in enumerate(flow):
                samples[band].append(band_flow[:, inner[0], inner[1]][:, valid])
        if progress is not None:
            progress(done, len(blocks))
    report = {}
    for name, parts in zip(MOVING_BAND_NAMES, samples, strict=True):
        if not parts or sum(p.shape[1] for p in parts) == 0:
            raise InputError(f"{source.source}: no valid area to measure in the window; expected some data")
        flow = np.concatenate(parts, axis=1)
        length = np.hypot(flow[0], flow[1])
        report[name] = {"median_px": round(float(np.median(length)), 4),
                        "p90_px": round(float(np.percentile(length, 90)), 4),
                        "mean_dx_px": round(float(flow[0].mean()), 4), "mean_dy_px": round(float(flow[1].mean()), 4)}
    return report


def register_window(source, output, window: Window, domain: InputDomain, *, weights=None, device="cpu",
                    tile=None, flow=None, progress: Progress | None = None) -> dict:
    """Warp B, R, NIR of ``window`` onto G (a forced registration of co-registered bands)."""
    from . import inference

    if window.width * window.height > MAX_WARP_PIXELS:
        raise ArgumentError(f"a forced registration warps the window whole; {int(window.width)} x "
                            f"{int(window.height)} px is more than {MAX_WARP_PIXELS} pixels: expected a smaller "
                            "--window")
    working = source.radiometry.to_working(source.read(window))
    registered, flows = inference.register(working, weights=weights, device=device, tile=tile, progress=progress,
                                           with_flow=flow is not None)
    grid = GeoGrid(source.crs, source.transform).window(window)
    tags = domain.tags("registration", align=True)
    with atomic_output(flow, ".npy") if flow is not None else contextlib.nullcontext() as temp:
        if temp is not None:
            save_flow(temp, flows)
        write_geotiff(output, source.radiometry.from_working(registered), grid, source.radiometry, tags)
    return {"window": window_record(window)}
