"""The acquisition simulator and the scene sources: operator, PSF, geometry truth, noise, scenes."""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
import torch.nn.functional as F

from l1bsr_core.bands import BAND_TIME_RATIOS, BLUE, DN_MAX, GREEN, MOVING_BANDS, NIR, RED
from l1bsr_core.filters import gaussian_blur, gaussian_taps
from l1bsr_core.io import read_bgrn_array
from l1bsr_core.scenes import CLASS_DN, LANDSCAPES, make_scene, real_scene
from l1bsr_core.simulate import (
    FLOW_FAMILIES,
    SimulationConfig,
    degrade,
    invert_flow,
    psf_sigma_for_mtf,
    random_relief_flow,
    random_smooth_flow,
    simulate_pair,
)
from l1bsr_core.train.sampler import SceneSampler
from l1bsr_core.warp import compose_flows, upscale_flow, warp

torch.set_num_threads(1)

NOISELESS = SimulationConfig(noise_a=0.0, noise_b=0.0, quantise=False)
STILL = replace(NOISELESS, detector_shift_px=0.0, detector_affine=0.0, detector_lowfreq_px=0.0, band_shift_px=0.0,
                band_affine=0.0, band_lowfreq_px=0.0, band_view_jitter_px=0.0, band_residual_px=0.0,
                band_residual_lowfreq_px=0.0)
RESIDUAL_PX = 0.06
"""Misregistration left after warping with a true flow: warp's bicubic kernel (a = -0.75) alone
misplaces sub-pixel samples by up to 0.047 px, the HR warp inside the simulator by 0.023 LR px."""


def residual_shift(image: np.ndarray, reference: np.ndarray, margin: int) -> np.ndarray:
    """Least-squares (dx, dy) with image(p) ≈ reference(p + (dx, dy)), over the interior."""
    inner = (slice(margin, -margin), slice(margin, -margin))
    gy, gx = np.gradient(reference.astype(np.float64))
    design = np.stack((gx[inner].ravel(), gy[inner].ravel()), 1)
    target = (image.astype(np.float64) - reference)[inner].ravel()
    return np.linalg.lstsq(design, target, rcond=None)[0]


def as_t(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (2, H, W) numpy → (1, C, H, W) float64 tensor."""
    t = torch.from_numpy(np.asarray(array, dtype=np.float64))
    return t[None, None] if t.ndim == 2 else t[None]


def warped(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    return warp(as_t(image), as_t(flow))[0, 0].numpy()


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return make_scene(192, 192, seed=11, landscape="mixed")


@pytest.fixture(scope="module")
def pair(scene):
    return simulate_pair(scene, NOISELESS, rng=3)


# ---- the acquisition operator and the PSF ------------------------------------------------------


def test_degrade_without_blur_is_area_average():
    hr = torch.rand(2, 4, 16, 24, dtype=torch.float64)
    expected = hr.reshape(2, 4, 8, 2, 12, 2).mean(dim=(3, 5))
    assert torch.allclose(degrade(hr, 2, 0.0), expected, atol=1e-12)


def test_still_noiseless_simulation_is_area_average(scene):
    pair = simulate_pair(scene, replace(STILL, mtf_nyquist=1.0), rng=0)
    expected = scene.reshape(4, 96, 2, 96, 2).mean(axis=(2, 4))
    assert pair.psf_sigma == 0.0
    for view in range(2):
        np.testing.assert_allclose(pair.views[view], expected, rtol=1e-5, atol=1e-3)
    assert not pair.flows.any() and not pair.band_flows.any() and not pair.displacements.any()


@pytest.mark.parametrize("factor", [2, 3])
def test_degrade_is_blur_then_area_average_and_differentiable(factor):
    hr = torch.rand(1, 4, 12 * factor, 10 * factor, dtype=torch.float64, requires_grad=True)
    sigma = psf_sigma_for_mtf(0.28, factor)
    out = degrade(hr, factor, sigma)
    assert out.shape == (1, 4, 12, 10)
    assert torch.allclose(out, F.avg_pool2d(gaussian_blur(hr, sigma), factor), atol=1e-12)
    out.sum().backward()
    assert hr.grad is not None and torch.isfinite(hr.grad).all()


def test_degrade_refuses_sizes_not_multiple_of_factor():
    with pytest.raises(ValueError, match="multiples of factor"):
        degrade(torch.zeros(1, 4, 15, 16), 2, 1.0)


@pytest.mark.parametrize("mtf, factor", [(0.28, 2), (0.15, 2), (0.4, 3)])
def test_psf_mtf_at_nyquist_matches(mtf, factor):
    kernel = gaussian_taps(psf_sigma_for_mtf(mtf, factor), dtype=torch.float64).numpy()
    taps = np.arange(kernel.size) - kernel.size // 2
    nyquist = 0.5 / factor  # cycles per HR pixel
    assert abs(kernel.sum() - 1) < 1e-12
    assert np.sum(kernel * np.cos(2 * np.pi * nyquist * taps)) == pytest.approx(mtf, abs=1e-3)


def test_psf_sigma_refuses_mtf_outside_range():
    with pytest.raises(ValueError):
        psf_sigma_for_mtf(0.0, 2)
    with pytest.raises(ValueError):
        SimulationConfig(mtf_nyquist=1.5)


# ---- geometry: the true flows ------------------------------------------------------------------


def test_random_smooth_flow_bounds_and_smoothness():
    rng = np.random.default_rng(0)
    constant = random_smooth_flow(40, 50, shift=1.5, affine=0.0, lowfreq=0.0, rng=rng)
    assert np.ptp(constant, axis=(1, 2)).max() == pytest.approx(0.0, abs=1e-6)
    assert np.hypot(*constant[:, 0, 0]) <= 1.5
    waves = random_smooth_flow(200, 200, shift=0.0, affine=0.0, lowfreq=0.4, rng=rng)
    assert np.abs(waves).max() <= 0.4 + 1e-6 and np.abs(waves).max() > 0.05
    assert np.abs(np.diff(waves, axis=-1)).max() < 0.03


def test_invert_flow_composes_to_zero():
    flow = torch.from_numpy(random_smooth_flow(64, 64, shift=2.0, affine=0.005, lowfreq=0.5,
                                               rng=np.random.default_rng(1)))[None].double()
    inverse = invert_flow(flow)
    assert compose_flows(inverse, flow)[..., 2:-2, 2:-2].abs().max() < 1e-5


def test_flows_register_every_view_and_band_onto_the_reference(pair):
    assert pair.views.shape == (2, 4, 96, 96) and pair.flows.shape == (2, 4, 2, 96, 96)
    assert not pair.flows[0, GREEN].any()
    margin = pair.margin + 4
    for view in range(2):
        for band in range(4):
            if view == 0 and band == GREEN:
                continue
            reference = pair.reference[band]
            registered = warped(pair.views[view, band], pair.flows[view, band])
            assert np.abs(residual_shift(registered, reference, margin)).max() < RESIDUAL_PX
            inner = (slice(margin, -margin),) * 2
            error = np.abs(registered - reference)[inner].mean()
            assert error < 0.3 * np.abs(pair.views[view, band] - reference)[inner].mean()


def test_flows_beat_nearby_flows(pair):
    """The stated flow is the best one: shifting it by 0.25 px in any direction is worse."""
    margin = pair.margin + 4
    inner = (slice(margin, -margin),) * 2
    image, flow, reference = pair.views[1, NIR], pair.flows[1, NIR], pair.reference[NIR]
    best = np.abs(warped(image, flow) - reference)[inner].mean()
    for dx, dy in [(0.25, 0), (-0.25, 0), (0, 0.25), (0, -0.25)]:
        nudged = flow + np.asarray([dx, dy], np.float32)[:, None, None]
        assert np.abs(warped(image, nudged) - reference)[inner].mean() > best


def test_band_flows_register_onto_each_views_green(pair):
    margin = pair.margin + 4
    np.testing.assert_allclose(pair.band_flows[0], pair.flows[0, list(MOVING_BANDS)], atol=1e-5)
    green_of_view1 = torch.from_numpy(pair.displacements[1, GREEN])[None]
    for i, band in enumerate(MOVING_BANDS):
        hr_band = torch.from_numpy(pair.hr[band])[None, None]
        target = degrade(warp(hr_band, upscale_flow(green_of_view1, 2)), 2, pair.psf_sigma)[0, 0].numpy()
        registered = warped(pair.views[1, band], pair.band_flows[1, i])
        assert np.abs(residual_shift(registered, target, margin)).max() < RESIDUAL_PX


def test_views_differ_by_the_stated_offsets(pair):
    margin = pair.margin + 4
    offset = pair.displacements[1, GREEN]
    assert np.hypot(*offset.mean(axis=(1, 2))) <= NOISELESS.detector_shift_px + NOISELESS.detector_lowfreq_px
    # View 1 is the reference displaced by the stated offsets ...
    predicted = warped(pair.reference[GREEN], offset)
    assert np.abs(residual_shift(pair.views[1, GREEN], predicted, margin)).max() < RESIDUAL_PX
    # ... and the inter-view flows bring every band of view 1 onto view 0.
    for band in range(4):
        registered = warped(pair.views[1, band], pair.inter_view_flows[band])
        assert np.abs(residual_shift(registered, pair.views[0, band], margin)).max() < RESIDUAL_PX


def test_band_order_flips_between_the_views(scene):
    """Time-ordered bands: one displacement field, scaled by each band's time lag, opposite in the two views."""
    config = replace(NOISELESS, band_residual_px=0.0, band_residual_lowfreq_px=0.0)
    pair = simulate_pair(scene, config, rng=5, with_flows=False)
    parallax = pair.displacements[:, list(MOVING_BANDS)] - pair.displacements[:, GREEN][:, None]  # (2, 3, 2, h, w)
    ratios = np.asarray(BAND_TIME_RATIOS)[list(MOVING_BANDS)]
    rates = parallax / ratios[None, :, None, None, None]
    # within a view, B, R and NIR are the same field scaled by their time lags ...
    assert np.abs(rates[:, 1:] - rates[:, :1]).max() < 1e-4
    # ... and the neighbour detector sees it with the opposite sign, up to the attitude difference
    assert np.abs(rates[0, 0] + rates[1, 0]).max() <= 2 * config.band_view_jitter_px + 1e-4
    assert np.abs(rates[0, 0]).mean() > 4 * config.band_view_jitter_px  # so the flip is visible


def test_band_residual_is_static_and_not_time_ordered(scene):
    config = replace(NOISELESS, band_shift_px=0.0, band_affine=0.0, band_lowfreq_px=0.0, band_view_jitter_px=0.0)
    pair = simulate_pair(scene, config, rng=6, with_flows=False)
    parallax = pair.displacements[:, list(MOVING_BANDS)] - pair.displacements[:, GREEN][:, None]
    np.testing.assert_allclose(parallax[0], parallax[1], atol=1e-5)  # the same in both views
    assert np.abs(parallax[0, 0] - parallax[0, 1]).max() > 0.01  # band-specific
    assert np.abs(parallax).max() <= config.band_residual_px + config.band_residual_lowfreq_px + 1e-5


@pytest.mark.parametrize("family", FLOW_FAMILIES)
def test_flow_families_are_smooth_and_bounded(family):
    generator = {"waves": random_smooth_flow, "relief": random_relief_flow}[family]
    flow = generator(160, 160, shift=1.0, affine=0.0, lowfreq=0.5, rng=np.random.default_rng(2))
    assert np.hypot(*flow).max() <= 1.0 + 0.5 + 1e-5
    assert np.abs(np.diff(flow, axis=-1)).max() < 0.05  # smooth: well below a px per px


def test_held_out_configuration_differs_from_the_default():
    held_out, default = SimulationConfig.held_out(), SimulationConfig()
    for name in ("flow_family", "mtf_nyquist", "noise_b", "psf_phase_px"):
        assert getattr(held_out, name) != getattr(default, name)


def test_psf_phase_shifts_views_and_reference_together(scene):
    config = replace(STILL, psf_phase_px=0.4)
    pair = simulate_pair(scene, config, rng=0, with_flows=False)
    centred = simulate_pair(scene, STILL, rng=0, with_flows=False)
    np.testing.assert_allclose(pair.views[0], pair.reference, atol=1e-3)  # flows unchanged
    shift = residual_shift(pair.reference[GREEN], centred.reference[GREEN], 12)
    # 0.4 HR px = 0.2 LR px (the linearised estimate is only good to ~0.07 px at this size)
    assert np.all((shift > 0.15) & (shift < 0.3)), shift


# ---- noise and quantisation --------------------------------------------------------------------


@pytest.mark.parametrize("level", [100.0, 2000.0])
def test_noise_variance_follows_signal(level):
    config = replace(STILL, noise_a=0.5, noise_b=2.0)
    pair = simulate_pair(np.full((4, 128, 128), level, np.float32), config, rng=5)
    residual = pair.views - pair.clean
    assert np.abs(pair.clean - level).max() < 1e-2
    assert residual.mean() == pytest.approx(0.0, abs=0.3)
    assert residual.var() == pytest.approx(0.5 * level + 2.0**2, rel=0.05)


def test_quantised_views_are_uint16(pair, scene):
    pair = simulate_pair(scene, SimulationConfig(), rng=2)
    config = pair.config
    assert pair.views.dtype == np.uint16 and pair.views.shape == (2, 4, 96, 96)
    sigma = np.sqrt(config.noise_a * pair.clean + config.noise_b**2 + 1 / 12)  # + rounding
    z = (pair.views.astype(np.float32) - pair.clean) / sigma
    assert z.mean() == pytest.approx(0.0, abs=0.05) and z.std() == pytest.approx(1.0, abs=0.05)


def test_simulate_pair_refuses_bad_input():
    with pytest.raises(ValueError, match="multiples of factor"):
        simulate_pair(np.zeros((4, 33, 32), np.float32), rng=0)
    with pytest.raises(ValueError, match="bands"):
        simulate_pair(np.zeros((3, 32, 32), np.float32), rng=0)


# ---- scenes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("landscape", LANDSCAPES)
def test_scene_deterministic_and_in_dn_range(landscape):
    first = make_scene(96, 128, seed=4, landscape=landscape)
    assert first.shape == (4, 96, 128) and first.dtype == np.float32
    np.testing.assert_array_equal(first, make_scene(96, 128, seed=4, landscape=landscape))
    assert not np.array_equal(first, make_scene(96, 128, seed=5, landscape=landscape))
    assert first.min() >= 1 and first.max() <= DN_MAX
    means = first.reshape(4, -1).mean(1)
    assert np.all((means > 80) & (means < 900)), means


def test_scene_statistics_resemble_l1b():
    scene = make_scene(256, 256, seed=1, landscape="river_forest")
    means = scene.reshape(4, -1).mean(1)
    assert means[NIR] > means[RED] and means[NIR] > means[BLUE]  # vegetated landscape
    darkest_nir = scene[NIR] < np.quantile(scene[NIR], 0.01)
    assert scene[NIR][darkest_nir].mean() < scene[BLUE][darkest_nir].mean()  # water: NIR lowest


def test_class_signatures():
    for vegetation in ("forest", "conifer", "crop_green", "grass"):
        assert CLASS_DN[vegetation][NIR] > 2 * CLASS_DN[vegetation][RED]
    assert CLASS_DN["water"][NIR] < CLASS_DN["water"][[BLUE, GREEN, RED]].min()
    assert CLASS_DN["soil_bright"][RED] > CLASS_DN["soil_bright"][GREEN] > CLASS_DN["soil_bright"][BLUE]


def test_scene_refuses_unknown_landscape():
    with pytest.raises(ValueError, match="landscape"):
        make_scene(32, 32, seed=0, landscape="desert")


# ---- real scenes and the sampler ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small_real_dir(tmp_path_factory):
    """A folder with an L1B-like crop (192 x 192, the project's first example), as a real crop would be."""
    from support import example_crop_paths

    folder = tmp_path_factory.mktemp("real")
    tifffile.imwrite(folder / "crop.tif", tifffile.imread(example_crop_paths()[0]))
    return folder


@pytest.fixture(scope="module")
def aligned_real(small_real_dir) -> np.ndarray:
    return real_scene(small_real_dir / "crop.tif")


def test_real_scene_reduces_misregistration(small_real_dir, aligned_real):
    from l1bsr_core.misregistration import misregistration

    raw = tifffile.imread(small_real_dir / "crop.tif")
    assert aligned_real.shape == (4, *raw.shape[:2]) and aligned_real.dtype == np.float32
    np.testing.assert_array_equal(aligned_real[GREEN], raw[..., GREEN])
    before = misregistration(raw)
    after = misregistration(np.rint(np.moveaxis(aligned_real, 0, -1)).astype(np.uint16))
    for band in ("B", "R", "NIR"):  # NIR against G is the hard pair: only "halved" is asked of it
        assert after[band]["median_px"] < 0.5 * before[band]["median_px"]
    for band in ("B", "R"):
        assert after[band]["median_px"] < 0.15


def test_scene_sampler_procedural_is_deterministic():
    crops = [next(iter(SceneSampler(crop=48, seed=9))) for _ in range(2)]
    assert crops[0].shape == (4, 48, 48) and crops[0].dtype == np.float32
    np.testing.assert_array_equal(crops[0], crops[1])
    sampler = SceneSampler(crop=48, seed=9)
    assert not np.array_equal(sampler.sample(), sampler.sample())


def test_scene_sampler_mixes_real_crops(small_real_dir, aligned_real, monkeypatch):
    monkeypatch.setattr("l1bsr_core.scenes.real_scene", lambda path: aligned_real)  # registered once above
    sampler = SceneSampler(small_real_dir, procedural=True, real_fraction=1.0, crop=64, seed=0,
                           brightness=(1.0, 1.0))
    crop = sampler.sample()
    assert crop.shape == (4, 64, 64) and crop.dtype == np.float32
    # An augmented window of the real scene: the same values, flipped or rotated.
    windows = np.lib.stride_tricks.sliding_window_view(aligned_real[GREEN], (64, 64))
    candidates = [np.rot90(crop[GREEN], -k) for k in range(4)]
    candidates += [c[:, ::-1] for c in candidates]
    assert any((windows == c).all(axis=(-2, -1)).any() for c in candidates)
    with pytest.raises(ValueError):
        SceneSampler(None, procedural=False)


# ---- the demo's synthetic examples (scripts/make_examples.py) ------------------------------------


EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "assets" / "examples"


def test_synthetic_examples_are_consistent():
    index_path = EXAMPLES_DIR / "examples.json"
    if not index_path.is_file():
        pytest.skip("no assets/examples/examples.json: run scripts/make_examples.py")
    index = json.loads(index_path.read_text())
    sigma = psf_sigma_for_mtf(index["simulation"]["mtf_nyquist"], index["simulation"]["factor"])
    assert sum(path.stat().st_size for path in EXAMPLES_DIR.iterdir()) < 10e6
    for entry in index["examples"]:
        files = {key: EXAMPLES_DIR / name for key, name in entry["files"].items()}
        lr, truth, flow = read_bgrn_array(files["input"]), read_bgrn_array(files["truth"]), np.load(files["flow"])
        height, width = lr.shape[:2]
        assert truth.shape == (2 * height, 2 * width, 4) and files["thumbnail"].is_file()
        assert flow.shape == (3, 2, height, width) and flow.dtype == np.float32
        # The truth, degraded, is the input in G's geometry: equal on G, and B, R, NIR warped by
        # the flows land on it.
        reference = degrade(torch.from_numpy(np.moveaxis(truth, -1, 0).astype(np.float64))[None], 2, sigma)[0].numpy()
        inner = (slice(8, -8), slice(8, -8))
        # (up to the noise: mean |noise| = sqrt(2 / pi) σ, with σ from the mean signal; 3 DN at the
        # synthetic scenes' levels, more on the airborne example's brighter digital numbers)
        sim = index["simulation"]
        noise = math.sqrt(2 / math.pi * (sim["noise_a"] * reference[GREEN].mean() + sim["noise_b"] ** 2))
        assert np.abs(lr[..., GREEN] - reference[GREEN])[inner].mean() < max(3.0, 1.25 * noise)
        for i, band in enumerate(MOVING_BANDS):
            registered = warped(lr[..., band], flow[i])
            assert np.abs(residual_shift(registered, reference[band], 8)).max() < 0.1


def test_given_displacements_are_the_ones_simulated(scene):
    """``displacements`` replaces the drawn ones: NIR alone displaced by a constant, every other band
    still; the views and band flows follow (the inverse of a constant is its negative)."""
    height, width = scene.shape[1] // 2, scene.shape[2] // 2
    displacements = np.zeros((2, 4, 2, height, width))
    displacements[:, NIR, 0], displacements[:, NIR, 1] = 0.7, -0.4
    pair = simulate_pair(scene, NOISELESS, rng=3, displacements=displacements)
    assert np.array_equal(pair.displacements, displacements.astype(np.float32))
    inner = (slice(pair.margin, -pair.margin),) * 2
    np.testing.assert_allclose(pair.band_flows[0, MOVING_BANDS.index(NIR), 0][inner], -0.7, atol=1e-5)
    np.testing.assert_allclose(pair.band_flows[0, MOVING_BANDS.index(NIR), 1][inner], 0.4, atol=1e-5)
    assert not pair.band_flows[0, MOVING_BANDS.index(BLUE)].any()
    np.testing.assert_allclose(pair.views[0, GREEN], pair.reference[GREEN], rtol=1e-5)
    with pytest.raises(ValueError, match="displacements must be"):
        simulate_pair(scene, NOISELESS, rng=3, displacements=displacements[:, :, :, :-1])
