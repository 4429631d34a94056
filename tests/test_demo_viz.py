"""Tests of l1bsr_demo.viz: contrast stretch, display modes, crops and boxes, fringe views, flow colours, PNG."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import tifffile
from PIL import Image

from l1bsr_core.bands import BLUE, GREEN, NIR, RED
from l1bsr_demo import viz

from support import EXAMPLES_DIR


@pytest.fixture
def bgrn():
    rng = np.random.default_rng(0)
    base = rng.integers(100, 2000, size=(48, 64, 4)).astype(np.uint16)
    base[..., NIR] += 1500  # NIR brighter, as over vegetation
    return base


def hue(rgb) -> float:
    r, g, b = (np.asarray(rgb, float) / 255.0)
    return colorsys.rgb_to_hsv(r, g, b)[0]


# --- stretch and rendering ---------------------------------------------------------------------


def test_stretch_is_shared_between_both_sides(bgrn):
    stretch = viz.Stretch.from_image(bgrn)
    darker = (bgrn * 0.5).astype(np.uint16)
    before, after = viz.render(bgrn, "true", stretch), viz.render(darker, "true", stretch)
    # The same stretch shows a darker output darker (not re-stretched to look the same) ...
    assert after.mean() < before.mean() - 40
    # ... and an identical output identically.
    assert np.array_equal(viz.render(bgrn.copy(), "true", stretch), before)
    # Without a shared stretch each side would be normalised on its own, hiding the difference.
    assert abs(viz.render(darker, "true").mean() - before.mean()) < 10


def test_stretch_percentiles_per_band_and_shared(bgrn):
    per_band = viz.Stretch.from_image(bgrn)
    shared = viz.Stretch.from_image(bgrn, shared=True)
    assert len(per_band.low) == 4 and per_band.high[NIR] > per_band.high[BLUE]
    assert len(set(shared.low)) == 1 and len(set(shared.high)) == 1
    unit = per_band.apply(bgrn)
    assert unit.dtype == np.float32 and unit.min() == 0.0 and unit.max() == 1.0
    for band in range(4):  # ~1% of the pixels at black, ~1% at white
        assert 0.003 < (unit[..., band] == 0).mean() < 0.03
        assert 0.003 < (unit[..., band] == 1).mean() < 0.03


def test_constant_band_does_not_divide_by_zero():
    flat = np.full((32, 32, 4), 300, np.uint16)
    rgb = viz.render(flat, "true")
    assert rgb.dtype == np.uint8 and not np.isnan(rgb).any()


@pytest.mark.parametrize(
    "mode, bands", [("true", (RED, GREEN, BLUE)), ("false", (NIR, RED, GREEN)), ("NIR", (NIR, NIR, NIR))]
)
def test_display_modes_map_bands_to_channels(mode, bands):
    image = np.zeros((32, 32, 4), np.uint16)
    image[..., bands[0]] = np.arange(32)[None, :] * 10  # a ramp in the band shown in red
    stretch = viz.Stretch.from_image(image)
    rgb = viz.render(image, mode, stretch)
    assert rgb.shape == (32, 32, 3) and rgb.dtype == np.uint8
    assert rgb[:, -1, 0].min() == 255 and rgb[:, 0, 0].max() == 0
    if mode == "NIR":  # one band: grey
        assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_render_rejects_unknown_mode_and_wrong_bands(bgrn):
    with pytest.raises(ValueError, match="display mode"):
        viz.render(bgrn, "infrared")
    with pytest.raises(ValueError, match="4 bands"):
        viz.render(bgrn[..., :3], "true")


def test_zoom_crop_and_box():
    image = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    z = viz.zoom(image, (5, 2, 4, 3), 3)
    assert z.shape == (9, 12, 3)
    assert np.array_equal(z[::3, ::3], image[2:5, 5:9])
    with pytest.raises(ValueError, match="does not fit"):
        viz.zoom(image, (28, 0, 4, 4), 2)
    boxed = viz.draw_box(np.zeros((20, 30, 3), np.uint8), (5, 2, 10, 8))
    assert boxed[2, 5:15, 0].all() and boxed[2:10, 14, 0].all() and not boxed[5, 8].any()


def test_detail_box_finds_the_textured_part():
    image = np.full((64, 64, 4), 200, np.uint16)
    rng = np.random.default_rng(1)
    image[40:56, 8:24] = rng.integers(0, 3000, size=(16, 16, 4))
    x0, y0, w, h = viz.detail_box(image, 16)
    assert (w, h) == (16, 16)
    assert abs(x0 - 8) <= 2 and abs(y0 - 40) <= 2


def test_fringe_grey_when_aligned_coloured_when_shifted():
    yy, xx = np.mgrid[0:64, 0:64]
    bar = (np.abs(xx - 32) < 3).astype(np.float32) * 1000 + 100
    aligned = np.stack([bar] * 4, axis=-1).astype(np.uint16)
    shifted = aligned.copy()
    shifted[..., BLUE] = np.roll(aligned[..., BLUE], 2, axis=1)
    stretch = viz.fringe_stretch(aligned)
    grey_rgb = viz.fringe(aligned, "B", stretch)
    grey, colour = grey_rgb.astype(int), viz.fringe(shifted, "B", stretch).astype(int)
    assert np.abs(grey[..., 1] - grey[..., 0]).max() <= 1  # G and magenta agree: grey
    assert np.abs(colour[..., 1] - colour[..., 0]).max() > 100  # green/magenta seams
    assert grey_rgb.shape == (64, 64, 3) and grey_rgb.dtype == np.uint8


def chroma(rgb: np.ndarray) -> float:
    """Mean |green − magenta| of a fringe view: 0 for grey."""
    rgb = rgb.astype(int)
    return float(np.abs(rgb[..., 1] - rgb[..., 0]).mean())


def test_nir_fringe_is_blind_to_inverted_contrast(example_crops):
    """NIR over vegetation is bright where G is dark: aligned, its fringe view is grey all the same."""
    scene = tifffile.imread(example_crops[0])
    green = scene[..., GREEN].astype(np.float64)
    inverted = scene.copy()
    inverted[..., NIR] = (2.5 * green.max() - 2.0 * green).astype(np.uint16)  # another gain, opposite sign
    mixed = scene.copy()  # inverted on the left half only, as G elsewhere
    mixed[..., NIR] = np.where(np.arange(192) < 96, inverted[..., NIR], scene[..., GREEN])
    for image, inside in ((inverted, np.s_[:, :]), (mixed, np.s_[:, np.r_[0:84, 108:192]])):
        stretch = viz.fringe_stretch(image)
        aligned = viz.fringe(image, "NIR", stretch)
        shifted_image = image.copy()
        shifted_image[..., NIR] = np.roll(image[..., NIR], 1, axis=1)
        shifted = viz.fringe(shifted_image, "NIR", stretch)
        # grey where NIR and G are aligned, inverted or not (away from the polarity switch itself) ...
        assert chroma(aligned[inside]) < 2.0, chroma(aligned[inside])
        # ... and a 1 px shift shows as colour
        assert chroma(shifted[inside]) > 8 * max(chroma(aligned[inside]), 1.0), chroma(shifted[inside])


def test_nir_fringe_greyer_on_the_aligned_truth_than_shifted():
    """On a synthetic example's true 5 m image (bands aligned), NIR shows less colour than shifted by 1 px."""
    truth = tifffile.imread(EXAMPLES_DIR / "synthetic_1_truth.tif")
    shifted = truth.copy()
    shifted[..., NIR] = np.roll(truth[..., NIR], 2, axis=1)  # 1 input pixel
    stretch = viz.fringe_stretch(truth)
    assert chroma(viz.fringe(shifted, "NIR", stretch)) > 1.4 * chroma(viz.fringe(truth, "NIR", stretch))


def test_ndvi_and_its_colours():
    image = np.zeros((4, 4, 4), np.uint16)
    image[..., RED], image[..., NIR] = 1000, 3000  # vegetation: NDVI 0.5
    image[0, 0, RED] = image[0, 0, NIR] = 0  # no data
    image[0, 1, NIR] = 1000  # bare: NDVI 0
    values = viz.ndvi(image)
    assert values[1, 1] == pytest.approx(0.5) and values[0, 0] == 0 and values[0, 1] == 0
    rgb = viz.ndvi_colour(image)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 4, 3)
    assert rgb[1, 1, 1] > rgb[1, 1, 0] and rgb[1, 1, 1] > rgb[1, 1, 2]  # green for vegetation
    bare = np.zeros((1, 1, 4), np.uint16)
    bare[..., RED] = 1000  # NDVI -1: the brown end of the scale
    assert tuple(viz.ndvi_colour(bare)[0, 0]) == (140, 81, 10)


# --- flows -------------------------------------------------------------------------------------


def test_zero_flow_is_white():
    rgb = viz.flow_to_colour(np.zeros((2, 8, 8), np.float32), max_norm=1.0)
    assert rgb.dtype == np.uint8 and (rgb == 255).all()
    # Also without max_norm (no division by zero).
    assert (viz.flow_to_colour(np.zeros((2, 4, 4))) == 255).all()


def test_flow_direction_maps_to_a_consistent_hue():
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    hues = []
    for angle in angles:
        colours = []
        for length in (0.5, 1.0):  # same direction, two lengths: same hue, paler when shorter
            flow = np.zeros((2, 2, 2), np.float32)
            flow[0], flow[1] = length * np.cos(angle), length * np.sin(angle)
            colours.append(viz.flow_to_colour(flow, max_norm=1.0)[0, 0])
        assert abs(hue(colours[0]) - hue(colours[1])) < 0.02 or abs(abs(hue(colours[0]) - hue(colours[1])) - 1) < 0.02
        assert colours[0].astype(int).sum() > colours[1].astype(int).sum()  # shorter = closer to white
        hues.append(hue(colours[1]))
    # Hue turns one way around the wheel as the direction turns (monotonic up to wrap-around).
    steps = np.diff(np.unwrap(np.array(hues) * 2 * np.pi))
    assert (steps > 0).all() or (steps < 0).all()
    # Documented anchors: right = red, left = cyan-ish (opposite side of the wheel).
    right = viz.flow_to_colour(np.array([[[1.0]], [[0.0]]]), max_norm=1.0)[0, 0]
    assert tuple(right) == (255, 0, 0)


def test_flow_longer_than_max_norm_keeps_hue_and_darkens():
    flow = np.zeros((2, 1, 2), np.float32)
    flow[0, 0] = (1.0, 3.0)
    rgb = viz.flow_to_colour(flow, max_norm=1.0)[0]
    assert abs(hue(rgb[0]) - hue(rgb[1])) < 0.02
    assert rgb[1].max() < 255


def test_flow_to_colour_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"\(2, H, W\)"):
        viz.flow_to_colour(np.zeros((3, 4, 4)))


# --- files -------------------------------------------------------------------------------------


def test_png_is_lossless(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, (17, 23, 3)).astype(np.uint8)
    path = viz.save_png(tmp_path / "x.png", image)
    assert viz.png_bytes(image).startswith(b"\x89PNG")
    assert np.array_equal(np.asarray(Image.open(path)), image)
    with pytest.raises(ValueError, match="uint8"):
        viz.png_bytes(image.astype(np.float32))
