"""One file in, one file out: the unit of work of the ``l1bsr`` command line and of ``l1bsr batch``.

:func:`process_file` reads a BGRN TIFF, runs one task and writes the result atomically (the
image, and with ``flow`` the registration flow, appear together or not at all). The classic
command line and every batch worker call it, so a batch output is what ``l1bsr INPUT OUTPUT``
writes. Output names are the caller's to check first (:func:`l1bsr_core.outputs.check_output_path`).
"""

from __future__ import annotations

from collections.abc import Callable

from .bands import SCALE_FACTOR
from .errors import ArgumentError
from .io import read_bgrn, write_bgrn, write_bgrn_rows
from .outputs import FLOW_SUFFIXES, atomic_output, save_flow

TASKS = ("superresolution", "registration")
"""What :func:`process_file` does: 2x REC super-resolution, or CSR registration of B, R, NIR onto G."""

MODEL_KINDS = {"superresolution": "rec", "registration": "csr"}
"""The network kind each task runs (the kind ``weights`` names)."""

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
) -> None:
    """Read the BGRN TIFF ``input``, run ``task``, write ``output`` (and ``flow``) atomically.

    Args:
        input: BGRN TIFF, (H, W, 4) or (4, H, W) uint16, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8).
        output: TIFF written like the input (layout, metadata); 2x larger for super-resolution,
            GeoTIFF pixel size halved.
        task: one of :data:`TASKS`.
        weights: registered name or checkpoint path of the task's network (default: the shipped one).
        device: "cpu", "cuda" or "cuda:N".
        tile: tile side in input pixels; None chooses, 0 disables tiling.
        flow: registration only: also save the (3, 2, H, W) float32 flow of B, R, NIR onto G
            (channel 0 dx, 1 dy, px; ``registered(y, x) = band(y + dy, x + dx)``) here, as ``.npy``.
        progress: called as ``progress(done_tiles, total_tiles)``.

    Raises:
        L1BSRError: InputError for an unusable input or output location, ArgumentError for a bad
            task, tile, device or a flow asked of super-resolution, WeightsError for weights.
            Nothing is left behind.
    """
    check_task(task)
    if flow is not None and task != "registration":
        raise ArgumentError("a flow is only produced by the registration task")
    bgrn, info = read_bgrn(input)
    from . import inference  # imports torch: keep --help and refused paths fast

    height, width = bgrn.shape[:2]
    if task == "superresolution":  # the output is written as it is computed (bounded memory)
        with write_bgrn_rows(output, SCALE_FACTOR * height, SCALE_FACTOR * width, like=info,
                             scale=SCALE_FACTOR) as out:
            inference.superresolve(bgrn, weights=weights, device=device, tile=tile, progress=progress, out=out)
        return
    if flow is None:
        with write_bgrn_rows(output, height, width, like=info) as out:
            inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress, out=out,
                               with_flow=False)
        return
    registered, flows = inference.register(bgrn, weights=weights, device=device, tile=tile, progress=progress)
    with atomic_output(flow, FLOW_SUFFIXES[0]) as temp:  # the flow appears only with the image
        save_flow(temp, flows)
        write_bgrn(output, registered, like=info)
