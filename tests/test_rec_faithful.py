"""Properties of the faithful REC (:mod:`l1bsr_core.models.rec_faithful`) that hold for any weights.

The RCAN inside is randomised (so it is neither the identity-like initialisation nor a trained
network); each property comes from one of the radiometric layers around it. Inputs are a
simulated L1B view (bands aligned enough for the purpose: these are not quality tests) and an
image whose bands come from four different scenes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from l1bsr_core.bands import GREEN, MOVING_BANDS, N_BANDS, NO_DATA, SCALE_FACTOR
from l1bsr_core.models import FaithfulREC, RECConfig, build_network
from l1bsr_core.models.rec_faithful import fill_no_data, low_frequency_constraint, remove_phase_pattern
from l1bsr_core.resample import from_phases, to_phases, upsample_bicubic

from support import randomise_parameters, simulated_view, ten_metre_bands

torch.set_num_threads(1)

SIZE = 96
"""Input side (10 m px); the output is 192 px."""
RANDOM_STD = 0.03
"""Randomised RCAN weights: a residual of ~1 % of the signal, far from bicubic."""
NOT_BICUBIC = 2e-3
"""The randomised network's mean |output − bicubic| must exceed this fraction of the mean, or
the properties below would hold trivially."""

GAIN_TOLERANCE = 1e-4
"""REC(g·x) = g·REC(x), relative to the output's range: float32 rounding only."""
FAR_FROM_NO_DATA_PX = 4
"""Input pixels this far (or further) from a no-data pixel ..."""
NO_DATA_INFLUENCE = 5e-3
"""... change by less than this fraction of the band mean whether the hole holds its real content
or is no-data (measured 0.1 %; without the fill, the hole's 0 moves them by ~0.8 %)."""
PHASE_SPREAD = 2e-3
"""How much more than bicubic the four sub-pixel phase means may spread, as a fraction of the band
mean (without the phase layer, a random network's pattern is 10-20 %)."""
MEAN_TOLERANCE = 5e-3
"""Output band means (block-averaged back to 10 m) within this fraction of the input's."""
LAYER_NUMERIC = 1e-5
"""Float32 rounding on unit-variance values, where the layers are exact."""
DN_NUMERIC = 1e-2
"""Float32 rounding on values of hundreds of DN (a few ulps, through blur and bicubic)."""
OWN_BAND_NCC = 0.8
"""Each output band, averaged back to 10 m, correlates at least this much with its own input band
when the bands are unrelated (they correlate ~0 with each other)."""


def phase_means(image: torch.Tensor) -> torch.Tensor:
    """(4, N, C): the mean of each 2 × 2 sub-pixel phase of (N, C, 2h, 2w) ``image``."""
    return torch.stack([image[..., a::SCALE_FACTOR, b::SCALE_FACTOR].mean(dim=(-2, -1))
                        for a in range(SCALE_FACTOR) for b in range(SCALE_FACTOR)])


def phase_spread(image: torch.Tensor) -> torch.Tensor:
    means = phase_means(image)
    return means.amax(0) - means.amin(0)


def band_means(image: torch.Tensor) -> torch.Tensor:
    return image.mean(dim=(-2, -1))


def ncc(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def fine(mask: torch.Tensor) -> torch.Tensor:
    """An input-grid mask on the output grid (each pixel's 2 × 2 block)."""
    return mask.repeat_interleave(SCALE_FACTOR, -2).repeat_interleave(SCALE_FACTOR, -1)


@pytest.fixture(scope="module")
def view() -> torch.Tensor:
    """(1, 4, SIZE, SIZE) float32 DN: a simulated L1B view."""
    return torch.from_numpy(simulated_view(SIZE, SIZE, seed=5).astype(np.float32))[None]


@pytest.fixture(scope="module")
def unrelated_bands() -> torch.Tensor:
    """(1, 4, SIZE, SIZE) float32 DN whose band b is band b of scene b: bands that differ."""
    return torch.stack([ten_metre_bands(SIZE, SIZE, seed=10 + b)[b] for b in range(N_BANDS)])[None].float()


@pytest.fixture(scope="module")
def rec() -> FaithfulREC:
    return randomise_parameters(build_network("rec", RECConfig(faithful=True)), RANDOM_STD)


@pytest.fixture(scope="module")
def output(rec, view) -> torch.Tensor:
    with torch.no_grad():
        return rec(view)


class GreenEverywhere(torch.nn.Module):
    """A worst-case inner network: every band of its output is G, enlarged."""

    def forward(self, z: torch.Tensor, bicubic: torch.Tensor | None = None) -> torch.Tensor:
        return upsample_bicubic(z[:, GREEN:GREEN + 1].expand(-1, N_BANDS, -1, -1), SCALE_FACTOR)


def test_the_randomised_network_is_not_bicubic(view, output):
    assert isinstance(build_network("rec", RECConfig(faithful=True)), FaithfulREC)
    assert output.shape == (1, N_BANDS, SCALE_FACTOR * SIZE, SCALE_FACTOR * SIZE)
    assert (output - upsample_bicubic(view, SCALE_FACTOR)).abs().mean() > NOT_BICUBIC * view.mean()


@torch.no_grad()
@pytest.mark.parametrize("gain", [0.25, 1.0, 3.0, 8.0])
def test_gain_equivariance(rec, view, output, gain):
    scaled = rec(gain * view)
    assert ((scaled - gain * output).abs().max() / (gain * output).abs().max()) < GAIN_TOLERANCE
    given_scale = band_means(view)[..., None, None]  # a tile gets the image's scale from its caller
    assert torch.allclose(rec(gain * view, gain * given_scale), gain * rec(view, given_scale),
                          rtol=GAIN_TOLERANCE, atol=0)


@torch.no_grad()
def test_all_zero_input_gives_all_zero_output(rec):
    out = rec(torch.zeros(2, N_BANDS, 24, 32))
    assert out.shape == (2, N_BANDS, 48, 64)
    assert (out == 0).all()


@torch.no_grad()
def test_no_data_stays_no_data_and_does_not_pull_its_neighbours(rec, view, output):
    hole = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    hole[40:48, 40:46] = True
    hole[70, 10] = hole[12, 80] = True
    holed = view.clone()
    holed[..., hole] = NO_DATA
    out = rec(holed)
    assert (out[..., fine(hole)] == 0).all()
    assert (out[..., ~fine(hole)] > 0).all()
    reach = 2 * FAR_FROM_NO_DATA_PX - 1
    near = F.max_pool2d(hole[None, None].float(), reach, stride=1, padding=reach // 2)[0, 0] > 0
    far = fine(~near)
    change = (out - output).abs()[..., far].amax(-1) / band_means(view)
    assert change.max() < NO_DATA_INFLUENCE


@torch.no_grad()
@pytest.mark.parametrize("image", ["view", "unrelated_bands"])
def test_no_phase_pattern_beyond_bicubic(rec, request, image):
    x = request.getfixturevalue(image)
    allowed = phase_spread(upsample_bicubic(x, SCALE_FACTOR)) + PHASE_SPREAD * band_means(x)
    assert (phase_spread(rec(x)) <= allowed).all()


@torch.no_grad()
@pytest.mark.parametrize("image", ["view", "unrelated_bands"])
def test_band_means_are_kept(rec, request, image):
    x = request.getfixturevalue(image)
    out = F.avg_pool2d(rec(x), SCALE_FACTOR)
    assert ((band_means(out) / band_means(x) - 1).abs() < MEAN_TOLERANCE).all()


@torch.no_grad()
def test_output_is_positive_wherever_the_input_is(rec, view):
    """Even at edges where bicubic undershoots far below 0 (a 5000 DN roof beside 1 DN water)."""
    harsh = view.clone()
    harsh[..., 20:40, 20:40] = 5000
    harsh[..., 40:60, 20:40] = 1
    harsh[..., 50:52, 50:80] = 3
    harsh[..., 60, 60] = NO_DATA
    assert upsample_bicubic(harsh, SCALE_FACTOR).min() < 0  # the guard is needed here
    out = rec(harsh)
    assert (out >= 0).all()
    assert (out[fine(harsh > 0)] > 0).all()


@torch.no_grad()
@pytest.mark.parametrize("network", ["random", "green everywhere"])
def test_each_band_stays_itself(rec, unrelated_bands, network, monkeypatch):
    """Averaged back to 10 m, each output band is its own input band, not G, whatever the network."""
    if network == "green everywhere":
        monkeypatch.setattr(rec, "network", GreenEverywhere())
    out = F.avg_pool2d(rec(unrelated_bands), SCALE_FACTOR)
    for band in MOVING_BANDS:
        own, green = ncc(out[0, band], unrelated_bands[0, band]), ncc(out[0, band], unrelated_bands[0, GREEN])
        assert own > OWN_BAND_NCC
        assert own > green


# --- the layers on their own ------------------------------------------------------------------


def test_remove_phase_pattern_removes_any_periodic_pattern_and_keeps_block_means():
    """A 2 × 2-periodic pattern added to any residual is removed, all but its mean level."""
    generator = torch.Generator().manual_seed(0)
    residual = torch.randn(1, 2, 40, 48, generator=generator)
    tile = torch.randn(1, 2, SCALE_FACTOR, SCALE_FACTOR, generator=generator)
    pattern = tile.repeat(1, 1, 20, 24)
    def remove(image):
        return from_phases(remove_phase_pattern(to_phases(image, SCALE_FACTOR)))

    cleaned = remove(residual)
    level = tile.mean(dim=(-2, -1), keepdim=True)
    assert torch.allclose(remove(residual + pattern), cleaned + level, atol=LAYER_NUMERIC)
    assert torch.allclose(F.avg_pool2d(cleaned, SCALE_FACTOR), F.avg_pool2d(residual, SCALE_FACTOR), atol=LAYER_NUMERIC)


def test_low_frequency_constraint_corrects_brightness_and_keeps_matching_detail(view):
    x = view[..., :32, :32]
    detail = upsample_bicubic(x, SCALE_FACTOR)
    detail = detail + torch.randn(detail.shape, generator=torch.Generator().manual_seed(0))
    detail = detail - fine(F.avg_pool2d(detail, SCALE_FACTOR) - x)  # block means equal to x: nothing to correct
    def constrained(image):
        return from_phases(low_frequency_constraint(to_phases(image, SCALE_FACTOR), x))

    assert torch.allclose(constrained(detail), detail, atol=DN_NUMERIC)
    brighter = constrained(detail + 150.0)  # a constant error is low frequency
    assert torch.allclose(brighter, detail, atol=DN_NUMERIC)


def test_fill_no_data_uses_nearby_valid_pixels_only():
    x = torch.full((1, 1, 40, 40), 200.0)
    x[..., :, 20:] = 600.0
    valid = torch.ones_like(x, dtype=torch.bool)
    valid[..., 10:14, 4:8] = False  # inside the 200 DN half, ≥ 12 px from the 600 DN half
    valid[..., 30, 30] = False
    valid[..., :, 38:] = False
    x = torch.where(valid, x, torch.zeros_like(x))
    scale = torch.full((1, 1, 1, 1), 999.0)
    filled = fill_no_data(x, valid, scale)
    assert torch.equal(filled[valid], x[valid])
    assert torch.allclose(filled[..., 10:14, 4:8], torch.tensor(200.0))
    assert torch.allclose(filled[..., 30, 30], torch.tensor(600.0))
    assert (filled[..., :, 38:] == 600.0).all()
    nothing = fill_no_data(torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 8, 8, dtype=torch.bool), scale)
    assert (nothing == 999.0).all()  # no valid pixel near: the band's scale


class RingingNetwork(torch.nn.Module):
    """A worst-case inner network: bicubic, strongly sharpened (an unsharp mask), so every bright
    object gets a deep dark ring."""

    def forward(self, z: torch.Tensor, bicubic: torch.Tensor | None = None) -> torch.Tensor:
        base = upsample_bicubic(z, SCALE_FACTOR) if bicubic is None else bicubic
        return base + SHARPENING * (base - F.avg_pool2d(base, 5, stride=1, padding=2, count_include_pad=False))


SHARPENING = 8.0
"""Gain of the ringing network's unsharp mask."""
POINTS = 12
"""Bright objects (2 × 2 px at 10 m, +50 % over the background: roofs) on the flat scene of the halo test."""
OBJECT_PX, OBJECT_RISE_DN, BACKGROUND_DN, NOISE_DN = 2, 500, 1000, 20
HALO_SLACK = 0.02
"""How much deeper than bicubic's (fraction of a point's height) a ring may go: the constraint,
which has the last word on low frequencies, may move a pixel a little below the floor."""


def test_rings_round_bright_points_are_no_darker_than_bicubic_whatever_the_network(monkeypatch):
    from l1bsr_core.metrics import bright_points, halo_depth
    from l1bsr_core.models import rec_faithful

    rng = np.random.default_rng(7)
    scene = BACKGROUND_DN + NOISE_DN * rng.standard_normal((N_BANDS, SIZE, SIZE))
    rows, cols = rng.integers(12, SIZE - 12, (2, POINTS))
    for dy in range(OBJECT_PX):
        for dx in range(OBJECT_PX):
            scene[:, rows + dy, cols + dx] += OBJECT_RISE_DN
    x = torch.from_numpy(scene.astype(np.float32))[None]
    base = upsample_bicubic(x, SCALE_FACTOR)[0, GREEN].numpy()
    points = bright_points(base)
    assert len(points) >= POINTS // 2
    model = build_network("rec", RECConfig(faithful=True))
    model.network = RingingNetwork()
    depths = {}
    for rounds in (0, rec_faithful.HALO_ROUNDS):
        monkeypatch.setattr(rec_faithful, "HALO_ROUNDS", rounds)
        with torch.no_grad():
            depths[rounds] = halo_depth(model(x)[0, GREEN].numpy(), points)
    bicubic = halo_depth(base, points)
    assert depths[rec_faithful.HALO_ROUNDS] >= bicubic - HALO_SLACK
    assert depths[0] < bicubic - 2 * HALO_SLACK  # without the ring floor this network's rings show
