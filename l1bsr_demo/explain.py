"""The "How it works" page: plain-words sections and the diagrams that go with them.

Every figure is drawn here with matplotlib's object API (no pyplot state) and returned as a
uint8 RGB array (:func:`l1bsr_demo.figures.figure_to_array`), computed once per process. The text
is Markdown. :func:`sections` is what the demo shows, in order; :data:`CITATION` and
:data:`BIBTEX` credit the method.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

from l1bsr_core.products.timing import LINE_PERIOD_MS, REAL_BAND_LAGS

from .figures import figure_to_array

# Colours of the bands in diagrams (B, G, R, NIR) and of the two detectors of an overlap.
BAND_COLOURS = {"B": "#2c7bb6", "G": "#1a9641", "R": "#d7191c", "NIR": "#7b3294"}
ODD_COLOUR, EVEN_COLOUR, OVERLAP_COLOUR = "#4575b4", "#f46d43", "#fee08b"
BOX_COLOUR, NET_COLOUR, LOSS_COLOUR = "#f0f0f0", "#c6dbef", "#fdd0a2"

CITATION = (
    "Ngoc Long Nguyen, Jérémy Anger, Axel Davy, Pablo Arias, Gabriele Facciolo. "
    '"L1BSR: Exploiting Detector Overlap for Self-Supervised Single-Image Super-Resolution of '
    'Sentinel-2 L1B Imagery", CVPR Workshops (EarthVision) 2023, arXiv:2304.06871.'
)

BIBTEX = """@inproceedings{nguyen2023l1bsr,
  title     = {L1BSR: Exploiting Detector Overlap for Self-Supervised Single-Image
               Super-Resolution of Sentinel-2 L1B Imagery},
  author    = {Nguyen, Ngoc Long and Anger, J{\\'e}r{\\'e}my and Davy, Axel and
               Arias, Pablo and Facciolo, Gabriele},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern
               Recognition (CVPR) Workshops (EarthVision)},
  year      = {2023},
  note      = {arXiv:2304.06871}
}"""


def _box(ax, x, y, w, h, text, colour=BOX_COLOUR, fontsize=9, **kwargs):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=colour, ec="0.3", lw=1.0, **kwargs))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, wrap=True)


def _arrow(ax, start, end, text=None, colour="0.25", offset=(0.0, 0.12), fontsize=8, style="-|>"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=colour, lw=1.2))
    if text:
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, text, ha="center", va="bottom", fontsize=fontsize, color=colour)


def _blank(ax, xlim, ylim):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


@functools.cache
def detector_overlap_figure() -> np.ndarray:
    """Staggered detectors on the focal plane (left) and their overlapping ground strips (right)."""
    fig = Figure(figsize=(10, 3.8), dpi=100, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.25))

    # Focal plane: 12 detectors in two staggered rows (odd ones forward, even ones backward).
    n, width, gap = 12, 1.0, 0.16
    for k in range(n):
        x = k * (width - gap)
        forward = k % 2 == 0
        y = 1.2 if forward else 0.0
        colour = ODD_COLOUR if forward else EVEN_COLOUR
        left.add_patch(Rectangle((x, y), width, 0.8, fc=colour, ec="0.2", alpha=0.85))
        left.text(x + width / 2, y + 0.4, str(k + 1), ha="center", va="center", fontsize=7, color="white")
    for k in range(n - 1):
        x = (k + 1) * (width - gap)
        left.add_patch(Rectangle((x, -0.25), gap, 2.5, fc=OVERLAP_COLOUR, ec="none", alpha=0.9, zorder=0))
    left.annotate("", xy=(-0.6, 2.3), xytext=(-0.6, -0.1),
                  arrowprops={"arrowstyle": "-|>", "color": "0.3"})
    left.text(-0.8, 1.1, "flight direction", rotation=90, ha="right", va="center", fontsize=8)
    left.text(5.0, 2.45, "focal plane: 12 staggered detectors per band", ha="center", fontsize=9)
    left.text(5.0, -0.6, "odd detectors look forward, even ones backward;\n"
                         "neighbours share a few pixels at their ends (yellow)",
              ha="center", va="top", fontsize=8)
    _blank(left, (-1.6, 11.2), (-1.4, 2.8))

    # Ground: each detector images a strip; neighbouring strips overlap.
    strip, overlap = 1.0, 0.22
    for k in range(6):
        x = k * (strip - overlap)
        colour = ODD_COLOUR if k % 2 == 0 else EVEN_COLOUR
        right.add_patch(Rectangle((x, 0), strip, 3.0, fc=colour, ec="0.2", alpha=0.35))
        if k:
            right.add_patch(Rectangle((x, 0), overlap, 3.0, fc=OVERLAP_COLOUR, ec="0.3", hatch="///", alpha=0.9))
    x_label = 2 * (strip - overlap) + overlap / 2
    right.annotate("overlap strip: the same ground imaged twice,\n"
                   "by two detectors, at different times and angles",
                   xy=(x_label, 0.6), xytext=(x_label, -0.45), fontsize=8, ha="center", va="top",
                   arrowprops={"arrowstyle": "-|>", "color": "0.3"})
    right.text(4.6, -0.45, "→ two views of one place:\n   a free training pair,\n   no 5 m ground truth needed",
               fontsize=8, ha="left", va="top")
    right.text(2.3, 3.25, "ground footprints of six detectors (L1B keeps them separate)", ha="center", fontsize=9)
    _blank(right, (-0.3, 6.8), (-1.6, 3.6))
    return figure_to_array(fig)


@functools.cache
def band_parallax_figure() -> np.ndarray:
    """Side view: bands look at the ground at different times, so relief shifts them apart."""
    fig = Figure(figsize=(10, 3.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    # Satellite track at the top; one band reaches the ground point at a different time each.
    track_y, ground_y = 5.0, 0.0
    ax.plot([-1, 11], [track_y, track_y], color="0.6", lw=1, ls="--")
    ax.text(11, track_y + 0.15, "orbit", ha="right", fontsize=8, color="0.4")
    hill = Polygon([[3.0, ground_y], [5.0, 1.6], [7.0, ground_y]], closed=True, fc="#d9c8a9", ec="0.4")
    ax.add_patch(hill)
    ax.plot([-1, 11], [ground_y, ground_y], color="0.3", lw=1.5)
    top = (5.0, 1.6)
    for band, sat_x in (("B", 2.0), ("G", 5.0), ("R", 8.0)):
        colour = BAND_COLOURS[band]
        ax.plot(sat_x, track_y, marker="s", ms=9, color=colour)
        ax.text(sat_x, track_y + 0.3, f"{band} sees the hilltop\n(t = {(sat_x - 2.0) / 6.0:.1f} s)",
                ha="center", fontsize=8, color=colour)
        # The ray through the hilltop meets the reference (flat) ground at the mapped position.
        dx = (top[0] - sat_x) / (track_y - top[1]) * (top[1] - ground_y)
        ground_x = top[0] + dx
        ax.plot([sat_x, ground_x], [track_y, ground_y], color=colour, lw=1.2)
        ax.plot(ground_x, ground_y, marker="v", ms=8, color=colour)
    ax.annotate("", xy=(5.0 + 1.6 * 3 / 3.4, -0.35), xytext=(5.0 - 1.6 * 3 / 3.4, -0.35),
                arrowprops={"arrowstyle": "<|-|>", "color": "0.2"})
    ax.text(5.0, -0.55, "where each band places the hilltop: the higher the relief, the larger "
                        "the gap\n(~1 px between B and R per km of height) — it varies across the image",
            ha="center", va="top", fontsize=8)
    ax.text(9.3, 1.0, "flat ground:\nall bands agree", ha="center", fontsize=8, color="0.3")
    ax.text(-1.0, 3.0, "side view along the orbit\n(not to scale)", ha="left", fontsize=8, color="0.4")
    _blank(ax, (-1.2, 11.2), (-1.5, 6.0))
    return figure_to_array(fig)


@functools.cache
def band_timing_figure() -> np.ndarray:
    """When each band sees the ground, per detector, from a real S2A datastrip: the order flips."""
    lags = REAL_BAND_LAGS
    detectors = sorted(lags)
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    width = 0.26
    for offset, (band, index) in zip((-width, 0.0, width), (("B", 0), ("R", 1), ("NIR", 2))):
        values = [lags[d][index] for d in detectors]
        ax.bar(np.asarray(detectors) + offset, values, width, color=BAND_COLOURS[band], label=f"{band} (S2 "
               f"{dict(B='B2', R='B4', NIR='B8')[band]})")
    ax.axhline(0, color=BAND_COLOURS["G"], lw=2, label="G (B3): the reference")
    for detector in detectors:
        ax.text(detector, 370, "odd" if detector % 2 else "even", ha="center", fontsize=7, color="0.35")
    ax.set_xticks(detectors, [f"D{d:02d}" for d in detectors], fontsize=8)
    ax.set_ylim(-520, 420)
    ax.set_ylabel(f"line 1 acquired after G\n(line periods of {LINE_PERIOD_MS:.3f} ms)", fontsize=8)
    ax.set_title("Real S2A L1B datastrip: odd detectors see B first and R last, even detectors the "
                 "other way round", fontsize=9)
    ax.legend(fontsize=7, ncols=4, loc="lower center")
    ax.tick_params(labelsize=7)
    return figure_to_array(fig)


@functools.cache
def rec_training_figure() -> np.ndarray:
    """How REC learns from an overlap pair without ground truth (and where CSR comes in)."""
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    _box(ax, 0.0, 2.0, 1.9, 1.0, "view I₀\n(detector k,\n10 m, 4 bands)")
    _box(ax, 2.6, 2.0, 1.3, 1.0, "REC\nnetwork", NET_COLOUR, fontsize=10)
    _box(ax, 4.6, 2.0, 2.0, 1.0, "5 m image,\nall bands in the\ngeometry of I₀'s G")
    _box(ax, 7.3, 2.0, 2.2, 1.0, "warp each band i\ninto I₁'s band i\n(CSR flows, frozen)")
    _box(ax, 7.3, 0.2, 2.2, 1.0, "blur and\nsubsample ×2")
    _box(ax, 4.6, 0.2, 2.0, 1.0, "compare\n(L1 loss)", LOSS_COLOUR, fontsize=10)
    _box(ax, 0.0, 0.2, 1.9, 1.0, "view I₁\n(detector k+1,\nsame ground)")
    _arrow(ax, (1.9, 2.5), (2.6, 2.5))
    _arrow(ax, (3.9, 2.5), (4.6, 2.5))
    _arrow(ax, (6.6, 2.5), (7.3, 2.5))
    _arrow(ax, (8.4, 2.0), (8.4, 1.2))
    _arrow(ax, (7.3, 0.7), (6.6, 0.7))
    _arrow(ax, (1.9, 0.7), (4.6, 0.7), "band by band")
    ax.text(4.75, 3.45, "Training: predict the other detector's view of the same ground", ha="center", fontsize=10)
    ax.text(4.75, -0.3, "At use: only the left half — one L1B image in, a 5 m image with registered bands out.",
            ha="center", fontsize=8.5, color="0.25")
    _blank(ax, (-0.2, 9.7), (-0.6, 3.8))
    return figure_to_array(fig)


@functools.cache
def csr_figure() -> np.ndarray:
    """CSR as shipped: windowed phase correlation and robust fusion give a flow per band onto G,
    used to warp the band."""
    fig = Figure(figsize=(10, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    _box(ax, 0.0, 2.2, 1.7, 0.8, "G (reference)", "#c7e9c0")
    _box(ax, 0.0, 1.1, 1.7, 0.8, "band i\n(B, R or NIR)", "#fcbba1")
    _box(ax, 2.3, 1.45, 1.9, 1.2, "phase correlation\nof edges in 64 px\nwindows, every 16 px", NET_COLOUR,
         fontsize=8.5)
    _box(ax, 4.8, 1.6, 1.5, 0.9, "robust fusion\n→ flow (dx, dy)\nper pixel", fontsize=8.5)
    _box(ax, 6.9, 1.6, 2.6, 0.9, "warp: band i(y+dy, x+dx)\n→ band i on G's grid")
    _arrow(ax, (1.7, 2.6), (2.3, 2.2))
    _arrow(ax, (1.7, 1.5), (2.3, 1.9))
    _arrow(ax, (4.2, 2.05), (4.8, 2.05))
    _arrow(ax, (6.3, 2.05), (6.9, 2.05))
    ax.text(4.7, 3.35, "Registration: one dense flow per band, onto the green band", ha="center", fontsize=10)
    ax.text(4.7, 0.55,
            "B and R are measured a second time after warping (small residual shifts are measured best). "
            "A learned correction\nexists (trained on two views of the same ground, comparing each band "
            "with itself) but is switched off in the shipped CSR.",
            ha="center", va="center", fontsize=8.5, color="0.25")
    _blank(ax, (-0.2, 9.6), (0.0, 3.7))
    return figure_to_array(fig)


@dataclass(frozen=True)
class Section:
    """One block of the page: a heading, Markdown text and an optional figure."""

    title: str
    text: str
    figure: Callable[[], np.ndarray] | None = None
    caption: str = ""


def sections() -> list[Section]:
    """The "How it works" page, top to bottom."""
    return [
        Section(
            "What is Sentinel-2 L1B?",
            "Sentinel-2 images the Earth at 10 m per pixel in its blue, green, red and near-infrared "
            "bands. **L1B** is the rawest product distributed: digital numbers as the detectors "
            "measured them, before the images are projected onto a map. Each band is recorded by "
            "**12 detectors** placed in a staggered line across the focal plane. Neighbouring "
            "detectors overlap a little, so along every seam a strip of ground is imaged **twice**, "
            "at slightly different times and from different angles. What most people download is "
            "**L1C** (top-of-atmosphere reflectance) or **L2A** (surface reflectance): the same "
            "bands projected onto a map grid, where they are already aligned to each other and the "
            "detector seams are gone. The networks want L1B because they learn from the detector "
            "overlap and from bands that are still misaligned; on an L1C/L2A upload (a Copernicus "
            "Browser export of B02, B03, B04, B08) the page says it is outside that domain and "
            "super-resolves it without aligning its bands.",
            detector_overlap_figure,
            "Staggered detectors and their overlapping ground strips.",
        ),
        Section(
            "Why are the bands misaligned?",
            "The bands sit at different places on the focal plane, so they see a given spot at "
            "slightly different times — about one second between blue and red — while the satellite "
            "moves by kilometres. On flat ground the processing chain accounts for this, but relief "
            "is seen from different angles and lands in different places in each band (*band "
            "parallax*). In L1B crops B, R and NIR typically sit 1–2 px away from G, and the offset "
            "changes across the image with the terrain: one global shift per band is not enough. "
            "The **fringe** views of this demo make it visible: green and magenta seams appear "
            "where G and another band disagree.",
            band_parallax_figure,
            "Each band places a hilltop at a different ground position.",
        ),
        Section(
            "Odd and even detectors see the bands in opposite order",
            "A real L1B datastrip records, for every band and detector, when its first line was "
            "acquired. Against G, blue comes about 340 line periods (half a second) earlier on "
            "detector 1 and red 311 later; on detector 2 it is the other way round, and so on "
            "across the 12 detectors, because odd and even detectors sit on opposite sides of the "
            "focal plane. Whatever moves between the band acquisitions (relief parallax, attitude "
            "motion) therefore shifts the bands in **opposite directions in the two views of an "
            "overlap**. That is what makes the self-supervision work: a band misregistered in one "
            "view cannot hide behind the same misregistration in the other. In a raw granule the "
            "bands are tens of pixels apart; `l1bsr product` measures and removes that coarse "
            "offset first (see the README).",
            band_timing_figure,
            "Band timing behind G per detector, from the datastrip metadata of a real S2A product "
            "(sen2vm test resources, Apache-2.0).",
        ),
        Section(
            "REC: super-resolution learnt from detector overlap",
            "REC is a convolutional network (the RCAN family: residual blocks with channel "
            "attention, then a ×2 pixel shuffle) that turns a 10 m, 4-band crop into a 5 m crop "
            "whose four bands are all **in the geometry of the input's green band**: B, R and NIR "
            "are first aligned to G by CSR (below), then REC sharpens the four bands. No 5 m ground "
            "truth exists for Sentinel-2, so REC is trained **self-supervised** on the overlap "
            "strips: from one view it predicts a 5 m image, which, moved into the other view's "
            "geometry and brought back to 10 m, must match the other view. Because the two views "
            "sample the ground on different grids, the only way to predict the second view well is "
            "to recover real detail rather than to copy the first one.",
            rec_training_figure,
            "Self-supervised training of REC on a pair of overlapping views.",
        ),
        Section(
            "CSR: cross-spectral registration",
            "CSR estimates, for every pixel, how far B, R and NIR are from G (a dense *flow* in "
            "pixels), and warping each band along its flow puts it on G's grid. The shipped CSR is "
            "not a trained network: it measures each band against G by **windowed phase "
            "correlation** of edges (64 px windows every 16 px; blind to contrast and to its sign, "
            "so NIR's inverted edges over vegetation do not matter), fuses the windows robustly "
            "into a smooth flow, and measures B and R a second time after warping them. NIR's "
            "edges are often not G's (open water is black in NIR, vegetation bright), so once B "
            "and R are aligned NIR is measured again, in smaller 32 px windows, against the mix of "
            "G, B and R that best resembles it in each window. NIR is then estimated jointly with "
            "B and R: the bands see the ground one after another, so much of their "
            "misregistration is one displacement field scaled by each band's time lag, which B and "
            "R measure well and NIR borrows (its own part is fitted to its windows). A learned "
            "correction, trained without ground truth by comparing each band with *itself* in the "
            "other view of an overlap, exists but is switched off in this release because it made "
            "real crops worse. The **Registration** tab shows the flows as colours (direction = "
            "hue, length = saturation) and as arrows, and measures the residual misregistration "
            "before and after with the project's phase-correlation estimate: the same family of "
            "measurement as the CSR itself, so it is a consistency check, not an independent one "
            "(on the synthetic examples, the error against the true flows is the independent "
            "check). NIR is measured least precisely: its edges often have the opposite sign to "
            "G's and many have no counterpart in G.",
            csr_figure,
            "CSR measures a flow per band by phase correlation; the warp moves the band onto G.",
        ),
        Section(
            "What super-resolution recovers, and what it invents",
            "Sentinel-2 has no 5 m truth, so one example here borrows one: **Airborne 5 m** is a "
            "1.28 km square of North Dakota prairie photographed from an aircraft (USDA NAIP, public "
            "domain), degraded to 10 m by this project's Sentinel-2-like simulator (blur, 2 × "
            "decimation, band shifts it knows, noise). It is *airborne imagery, not Sentinel-2*: "
            "its bands were co-registered in the source and its colours and noise are another "
            "sensor's, so it lies outside the L1B domain the networks were trained for. Run "
            "super-resolution on it and compare the detail with the **true 5 m original** shown "
            "beside it: edges the 10 m input still holds, blurred (field borders, the road, pond "
            "shores), come back sharper and in place; detail finer than 10 m that the input lost "
            "altogether (furrows, narrow tracks, single shrubs) cannot come back, and texture the "
            "output shows there is a plausible guess, not a measurement. Registration on it is "
            "scored against the displacements the simulator applied.",
        ),
        Section(
            "About this demo",
            "The networks here are CPU-sized and trained by this project without ground truth; "
            "their names and versions are shown with every result. REC is a small RCAN that "
            "sharpens the CSR-aligned bands inside layers that keep each band's radiometry: "
            "averaged back to 10 m, G is its input, and B, R and NIR are their inputs once aligned "
            "to G; its edges are as good as its interior, and the dark rings it leaves round bright "
            "points (roofs, cars) are no deeper than a plain bicubic enlargement's "
            "(weights/MODEL_CARD.md): a bright point on a darker field still gets a thin darker "
            "rim, as with bicubic. In the last column or two of a crop, where a band's flow points "
            "outside the image, that band has no data of its own and colour speckles can appear: "
            "ignore the outermost pixels. Synthetic examples come with the true 5 m image and the "
            "true flows, so the demo reports PSNR and flow errors for them; a real L1B crop has no "
            "ground truth: judge it by eye, with the fringe views and the residual "
            "misregistration table.",
        ),
    ]
