"""Figures with axes, titles and legends, drawn with matplotlib: flow panels, arrows, the colour wheel.

Every figure is drawn with matplotlib's object API (no pyplot state, so it is safe from several
threads) and returned as a uint8 (H, W, 3) RGB image (:func:`figure_to_array`). Flows follow
:mod:`l1bsr_core.warp`: (2, H, W) in pixels, channel 0 = dx (right), channel 1 = dy (down), with
``registered(y, x) = band(y + dy, x + dx)``; a stack is (3, 2, H, W) for B, R, NIR onto G.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from l1bsr_core.bands import MOVING_BAND_NAMES

from .viz import as_flow_stack, flow_norm_scale, flow_to_colour

ARROW_COLOUR = "#d7191c"
"""Colour of the flow arrows of :func:`quiver_figure`."""


def figure_to_array(fig: Figure) -> np.ndarray:
    """Draw a matplotlib figure off-screen and return it as a uint8 (H, W, 3) RGB image."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _draw_legend(ax, max_norm: float, samples: int = 201) -> None:
    extent = max_norm * 1.15
    axis = np.linspace(-extent, extent, samples)
    grid_x, grid_y = np.meshgrid(axis, axis)
    wheel = flow_to_colour(np.stack((grid_x, grid_y)), max_norm=max_norm)
    outside = np.hypot(grid_x, grid_y) > max_norm
    wheel[outside] = 255
    # Rows go downwards like image rows: dy > 0 is drawn below the centre, as on the image.
    ax.imshow(wheel, extent=(-extent, extent, extent, -extent), interpolation="bilinear")
    ax.add_patch(_circle(max_norm))
    ax.axhline(0, color="0.4", lw=0.6)
    ax.axvline(0, color="0.4", lw=0.6)
    ax.set_xlabel("dx (px)")
    ax.set_ylabel("dy (px)")
    ax.set_title(f"flow colours (circle = {max_norm:.2g} px)", fontsize=9)
    ax.tick_params(labelsize=7)


def _circle(radius: float) -> Circle:
    return Circle((0, 0), radius, fill=False, color="0.3", lw=0.8)


def flow_legend(max_norm: float, *, size_in: float = 2.6, dpi: int = 100) -> np.ndarray:
    """The colour wheel of :func:`~l1bsr_demo.viz.flow_to_colour` with dx, dy axes in pixels; uint8 RGB image."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive; got {max_norm}")
    fig = Figure(figsize=(size_in, size_in), dpi=dpi, layout="constrained")
    _draw_legend(fig.add_subplot(), float(max_norm))
    return figure_to_array(fig)


def flow_panel(
    flows: np.ndarray,
    *,
    true_flows: np.ndarray | None = None,
    max_norm: float | None = None,
    names: tuple[str, ...] = MOVING_BAND_NAMES,
    dpi: int = 100,
) -> np.ndarray:
    """Colour-coded flows of each band (and the true flows, if known) with the legend; uint8 RGB.

    Args:
        flows: (K, 2, H, W) estimated flows, one per band in ``names``.
        true_flows: optional (K, 2, H, W) true flows, drawn in a second row with the same colours.
        max_norm: saturation length; default :func:`~l1bsr_demo.viz.flow_norm_scale` of all flows shown.
    """
    flows = as_flow_stack(flows)
    rows = [("estimated", flows)]
    if true_flows is not None:
        rows.append(("true", as_flow_stack(true_flows)))
    max_norm = max_norm or flow_norm_scale(*(f for _, f in rows))
    n_cols = len(flows) + 1
    fig = Figure(figsize=(2.6 * n_cols, 2.7 * len(rows)), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(len(rows), n_cols)
    for r, (label, stack) in enumerate(rows):
        for c, (name, flow) in enumerate(zip(names, stack)):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(flow_to_colour(flow, max_norm), interpolation="nearest")
            ax.set_title(f"{name} → G, {label}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    _draw_legend(fig.add_subplot(grid[:, -1]), max_norm)
    return figure_to_array(fig)


def quiver_figure(
    image_rgb: np.ndarray,
    flow: np.ndarray,
    step: int = 32,
    *,
    names: tuple[str, ...] = MOVING_BAND_NAMES,
    dpi: int = 100,
) -> np.ndarray:
    """Arrows of the flow over a dimmed image, one panel per band; uint8 RGB image.

    Each arrow starts at a pixel of G and points to where that content sits in the band
    (``band(y + dy, x + dx) ≈ G(y, x)``). Arrows are the flow averaged over ``step`` × ``step``
    cells, lengthened by a common factor written in the title (misregistration is ~1 px, too
    short to see at true length); the factor makes typical arrows about half a cell long.

    Args:
        image_rgb: (H, W, 3) uint8 image drawn underneath.
        flow: (2, H, W) or (K, 2, H, W) flows, one per name in ``names``.
        step: arrow spacing in pixels.
    """
    stack = as_flow_stack(flow)
    height, width = stack.shape[-2:]
    if np.shape(image_rgb)[:2] != (height, width):
        raise ValueError(f"image {np.shape(image_rgb)[:2]} and flow {(height, width)} differ in size")
    step = int(max(4, min(step, height, width)))
    cells_y, cells_x = height // step, width // step
    cell = stack[:, :, : cells_y * step, : cells_x * step].reshape(len(stack), 2, cells_y, step, cells_x, step)
    mean = cell.mean(axis=(3, 5))  # (K, 2, cy, cx)
    centres_y = (np.arange(cells_y) + 0.5) * step - 0.5
    centres_x = (np.arange(cells_x) + 0.5) * step - 0.5
    lengths = np.hypot(mean[:, 0], mean[:, 1])
    typical = float(np.percentile(lengths, 90)) if lengths.size else 0.0
    gain = float(_nice(0.6 * step / typical)) if typical > 0 else 1.0
    dimmed = (np.asarray(image_rgb, np.float32) * 0.6 + 255 * 0.4).astype(np.uint8)
    fig = Figure(figsize=(4.0 * len(stack), 4.2), dpi=dpi, layout="constrained")
    for k, name in enumerate(names[: len(stack)]):
        ax = fig.add_subplot(1, len(stack), k + 1)
        ax.imshow(dimmed, interpolation="nearest")
        gx, gy = np.meshgrid(centres_x, centres_y)
        ax.quiver(
            gx, gy, mean[k, 0] * gain, mean[k, 1] * gain, color=ARROW_COLOUR,
            angles="xy", scale_units="xy", scale=1.0, width=0.005, headwidth=3.5, headlength=4, headaxislength=3.5,
        )
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height - 0.5, -0.5)
        ax.set_title(f"{name} → G (arrows × {gain:g})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    return figure_to_array(fig)


def _nice(value: float) -> float:
    """The nearest (in ratio) of 1, 2, 5 × a power of ten (a readable arrow gain)."""
    if value <= 0:
        return 1.0
    exponent = np.floor(np.log10(value))
    candidates = np.array([1, 2, 5, 10]) * 10**exponent
    return float(candidates[np.argmin(np.abs(np.log(candidates / value)))])
