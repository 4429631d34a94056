"""One file in, one file out: the unit of work of the ``l1bsr`` command line and of ``l1bsr batch``.

:func:`process_file` reads a BGRN TIFF, runs one task and writes the result atomically (the
image, and with ``flow`` the registration flow, appear together or not at all). The classic
command line and every batch worker call it, so a batch output is what ``l1bsr INPUT OUTPUT``
writes. Output names are the caller's to check first (:func:`l1bsr_core.outputs.check_output_path`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile

from .bands import N_BANDS, SCALE_FACTOR
from .domain import DECLARABLE_LEVELS, L1B, UNKNOWN, InputDomain
from .errors import ArgumentError
from .geotiff import GDAL_METADATA, GEOTIFF_TAGS
from .io import read_bgrn, tifffile_messages, write_bgrn, write_bgrn_rows
from .outputs import FLOW_SUFFIXES, TIFF_SUFFIXES, atomic_output, check_suffix, save_flow, write_json

TASKS = ("superresolution", "registration")
"""What :func:`process_file` does: 2x REC super-resolution, or CSR registration of B, R, NIR onto G."""

MODEL_KINDS = {"superresolution": "rec", "registration": "csr"}
"""The network kind each task runs (the kind ``weights`` names)."""

REPORT_SUFFIXES = (".json",)
"""Names accepted for the report of a co-registered input's registration check."""


def check_task(task: str) -> None:
    """ArgumentError unless ``task`` is one of :data:`TASKS`."""
    if task not in TASKS:
        raise ArgumentError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def process_file(
    input,
    output,
    task: str,
    *,
    weights: str | None = None,
    device: str = "cpu",
    tile: int | None = None,
    flow=None,
    progress: Callable[[int, int], None] | None = None,
    level: str | None = None,
    dn_offset: float | None = None,
    window: tuple[int, int, int, int] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    align: bool | None = None,
) -> dict:
    """Read ``input``, run ``task``, write ``output`` (and ``flow``) atomically; what was done.

    Args:
        input: an L1B BGRN TIFF, (H, W, 4) or (4, H, W) uint16, bands B, G, R, NIR (Sentinel-2 B2,
            B3, B4, B8); or an L1C/L2A product (``.SAFE`` folder or ``.zip``) or a 4-band GeoTIFF
            export of B02, B03, B04, B08 (float32 reflectance or uint16), which take the
            co-registered path (:mod:`l1bsr_core.coregistered`).
        output: TIFF written like the input (layout, metadata, the input's value convention); 2x
            larger for super-resolution, pixel size halved. For registration of a co-registered
            input (without ``align``), a ``.json`` report of the residual misregistration.
        task: one of :data:`TASKS`.
        weights: registered name or checkpoint path of the task's network (default: the shipped one).
        device: "cpu", "cuda" or "cuda:N".
        tile: tile side in input pixels; None chooses, 0 disables tiling.
        flow: registration only: also save the (3, 2, H, W) float32 flow of B, R, NIR onto G
            (channel 0 dx, 1 dy, px; ``registered(y, x) = band(y + dy, x + dx)``) here, as ``.npy``.
        progress: called as ``progress(done, total)`` (tiles, or blocks of rows).
        level: the input's level if the file does not say it ("l1b", "l1c", "l2a").
        dn_offset: uint16 exports: the DN offset (0 or -1000) if the file does not say it.
        window, bbox: co-registered inputs: the part to process, (col, row, width, height) in
            pixels and/or (xmin, ymin, xmax, ymax) in the input's CRS (a bbox reaching past the
            image or window is clipped to it, and the record says so).
        align: whether bands are aligned (super-resolution) or warped (registration) by the CSR;
            None: yes for L1B, no for co-registered input (:meth:`InputDomain.default_align`).

    Returns:
        The record of the run: the input's level and domain (:meth:`InputDomain.record`), the
        path taken, and for a co-registered input its radiometry, window, ``bbox_clipped`` when
        the bbox reached past the image or window (:func:`~l1bsr_core.coregistered.clipped_bbox_record`)
        and (registration check) the misregistration measured.

    Raises:
        L1BSRError: InputError for an unusable input or output location, ArgumentError for a bad
            task, tile, device, window or a flow asked of super-resolution, WeightsError for
            weights. Nothing is left behind.
    """
    check_task(task)
    if flow is not None and task != "registration":
        raise ArgumentError("a flow is only produced by the registration task")
    if level is not None and level not in DECLARABLE_LEVELS:
        raise ArgumentError(f"level {level!r}; expected one of {', '.join(DECLARABLE_LEVELS)}")
    if is_coregistered_input(input, level):
        return _process_coregistered(input, output, task, weights=weights, device=device, tile=tile, flow=flow,
                                     progress=progress, level=level, dn_offset=dn_offset, window=window, bbox=bbox,
                                     align=align)
    if window is not None or bbox is not None:
        raise ArgumentError("a window or bbox applies to georeferenced L1C/L2A inputs; this input is an L1B "
                            "crop: expected it whole (cut it first)")
    if dn_offset is not None:
        raise ArgumentError("a DN offset applies to uint16 L1C/L2A exports; this input is read as L1B")
    domain = InputDomain(L1B, "--level") if level == "l1b" else InputDomain(UNKNOWN, "no level in the file")
    align = True if align is None else align
    bgrn, info = read_bgrn(input)
    from . import inference  # imports torch: keep --help and refused paths fast

    tags = domain.tags(task, align=align)
    height, width = bgrn.shape[:2]
    record = domain.record(task, align=align)
    if task == "superresolution":  # the output is written as it is computed (bounded memory)
        with write_bgrn_rows(output, SCALE_FACTOR * height, SCALE_FACTOR * width, like=info,
                             scale=SCALE_FACTOR, tags=tags) as out:
            inference.superresolve(bgrn, weights=weights, device=device, tile=tile, progress=progress, out=out,
                                   align=align)
        return record
    if not align:
        raise ArgumentError("registration without alignment measures co-registered (L1C/L2A) inputs; this "
                            "input is read as L1B: expected --level l1c or l2a, or registration with alignment")
    if flow is None:
        with write_bgrn_rows(output, height, width, like=info, tags=tags) as out:
            inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress, out=out,
                               with_flow=False)
        return record
    registered, flows = inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress)
    with atomic_output(flow, FLOW_SUFFIXES[0]) as temp:  # the flow appears only with the image
        save_flow(temp, flows)
        write_bgrn(output, registered, like=info, tags=tags)
    return record


GDAL_SIDECAR_SUFFIX = ".aux.xml"
"""GDAL's side-car file of a raster's extra metadata (``image.tif.aux.xml``)."""


def is_plain_bgrn_tiff(path) -> bool:
    """True for a TIFF whose header alone says it is an L1B crop: one uint16 image of 4 bands,
    without GeoTIFF tags, GDAL metadata or a GDAL side-car file, so that nothing GDAL would read
    could declare it L1C/L2A or georeferenced. Lets a crop be processed without importing GDAL
    (rasterio); False for anything else (GDAL then decides) or a file tifffile cannot read."""
    path = Path(path)
    if not path.is_file() or Path(f"{path}{GDAL_SIDECAR_SUFFIX}").exists():
        return False
    try:
        with tifffile_messages(), tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            tags = {tag.code for tag in page.tags.values()}
            shape = tif.series[0].shape
            return (len(tif.series) == 1 and not tags & {*GEOTIFF_TAGS, GDAL_METADATA} and page.dtype == np.uint16
                    and len(shape) == 3 and N_BANDS in (shape[0], shape[-1]))
    except Exception:  # a damaged header raises anything (struct.error, ZeroDivisionError...): GDAL's turn
        return False


def is_coregistered_input(path, level: str | None = None) -> bool:
    """Whether ``path`` takes the co-registered path: an L1C/L2A product, a TIFF declared L1C/L2A,
    or a TIFF that is georeferenced on a map grid, float, 3-band, or tagged L1C/L2A (no pixel read).
    A TIFF whose header alone shows an L1B crop (:func:`is_plain_bgrn_tiff`) is
    told apart without GDAL: rasterio is not imported for it."""
    if level == "l1b":
        if not is_plain_bgrn_tiff(path):  # it may say its own level: a declaration must not contradict it
            from .exports import check_declared_level  # rasterio: only for a file with GDAL tags

            check_declared_level(path, level)
        return False
    if level in ("l1c", "l2a"):
        return True
    if is_plain_bgrn_tiff(path):
        return False
    from .coregistered import peek_is_coregistered  # rasterio: only for what the header does not settle

    return peek_is_coregistered(path)


def counting(progress, unit: str):
    """``progress`` as a callback that says it counts ``unit`` when it can (a bar with a
    ``counting`` method, e.g. the command line's), else as it is."""
    with_unit = getattr(progress, "counting", None)
    return progress if with_unit is None else with_unit(unit)


def _process_coregistered(input, output, task, *, weights, device, tile, flow, progress, level, dn_offset,
                          window, bbox, align) -> dict:
    from . import coregistered
    from .georaster import GeoGrid

    with coregistered.open_coregistered(input, level=level, dn_offset=dn_offset) as source:
        domain = source.domain
        align = domain.default_align() if align is None else align
        report_only = task == "registration" and not align
        if report_only and flow is not None:
            raise ArgumentError("a co-registered input's registration measures its bands and writes a report; a "
                                "flow is written only when it warps them: expected no flow, or alignment on")
        if report_only and Path(output).suffix.lower() in TIFF_SUFFIXES:
            raise ArgumentError(f"{domain.level} bands are already co-registered: their registration measures the "
                                "residual misregistration into a .json report (or warps them with alignment on); "
                                f"expected an output ending in .json, got {Path(output).name}")
        check_suffix(output, REPORT_SUFFIXES if report_only else TIFF_SUFFIXES)
        grid = GeoGrid(source.crs, source.transform)
        area = coregistered.resolve_window(source.shape, grid, window, bbox)
        record = {**domain.record(task, align=align), "radiometry": source.radiometry.describe(),
                  **coregistered.clipped_bbox_record(source.shape, grid, area, window, bbox)}
        options = dict(weights=weights, device=device, progress=counting(progress, "blocks"))
        if task == "superresolution":
            record |= coregistered.superresolve_window(source, output, area, domain, align=align, tile=tile,
                                                       **options)
        elif report_only:
            record["window"] = coregistered.window_record(area)
            record["misregistration"] = coregistered.measure_misregistration(source, area, **options)
            write_json(output, {"input": str(input), **record})
        else:
            record |= coregistered.register_window(source, output, area, domain, tile=tile, flow=flow, **options)
    return record
