"""The networks the project ships: registered, hash-checked, and doing their job on real L1B crops."""

import numpy as np
import pytest

from l1bsr_core import inference
from l1bsr_core.bands import MOVING_BANDS, SCALE_FACTOR
from l1bsr_core.metrics import block_mean, misregistration
from l1bsr_core.weights import DEFAULT_NAMES, PROJECT_WEIGHTS_DIR, build_model, load_model, read_registry


@pytest.fixture(autouse=True)
def project_weights(monkeypatch):
    monkeypatch.delenv("L1BSR_WEIGHTS_DIR", raising=False)


def test_default_weights_are_registered_and_load():
    registry = read_registry(PROJECT_WEIGHTS_DIR)
    for kind, name in DEFAULT_NAMES.items():
        assert name in registry, f"weights/{name} is not registered"
        model, info = load_model(kind, name)
        assert build_model(kind, registry[name].config).config == model.config
        assert info["parameters"] == sum(p.numel() for p in model.parameters())
    assert (PROJECT_WEIGHTS_DIR / "MODEL_CARD.md").is_file()


def test_shipped_csr_reduces_real_misregistration(real_crops):
    """Measured by the independent phase-correlation estimator, on every shared real crop."""
    before, after = [], []
    for path in real_crops:
        import tifffile
        bgrn = tifffile.imread(path)
        registered, flow = inference.register(bgrn)
        assert np.isfinite(flow).all() and np.abs(flow).max() < 10
        b, a = misregistration(bgrn), misregistration(registered)
        before.append([b[k]["median_px"] for k in ("B", "R")])
        after.append([a[k]["median_px"] for k in ("B", "R")])
    before, after = np.nanmean(before, axis=0), np.nanmean(after, axis=0)
    assert (after < 0.5 * before).all(), (before, after)


def test_shipped_csr_flow_points_the_right_way(real_crop):
    """Shifting a band by a known amount changes its estimated flow by minus that amount."""
    import torch
    from l1bsr_core.warp import warp
    shift = (1.0, -1.5)
    moved = real_crop.copy()
    for b in MOVING_BANDS:
        band = torch.from_numpy(real_crop[..., b].astype(np.float32))[None, None]
        constant = torch.tensor(shift).view(1, 2, 1, 1).expand(1, 2, *real_crop.shape[:2])
        moved[..., b] = warp(band, constant)[0, 0].round().clamp(0, 65535).numpy().astype(np.uint16)
    _, flow0 = inference.register(real_crop)
    _, flow1 = inference.register(moved)
    change = (flow1 - flow0)[..., 32:-32, 32:-32].mean(axis=(2, 3))  # (3, 2)
    np.testing.assert_allclose(change[:2], -np.array([shift, shift]), atol=0.35)  # B and R


def test_shipped_rec_output_is_faithful_to_each_band(real_crop):
    """Each output band, averaged back to 10 m, matches its own input band (raw or aligned to G: REC
    aligns B and R to G and NIR only partly, see the model card) and not another band: NIR, the
    band least like G, is not copied from G."""
    from l1bsr_core.metrics import classical_register
    sr = inference.superresolve(real_crop).astype(np.float64)
    down = block_mean(sr, SCALE_FACTOR).astype(np.float64)[16:-16, 16:-16]
    aligned = classical_register(real_crop)[0].astype(np.float64)[16:-16, 16:-16]
    raw = real_crop.astype(np.float64)[16:-16, 16:-16]
    corr = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]  # noqa: E731
    for b in range(4):
        assert max(corr(down[..., b], aligned[..., b]), corr(down[..., b], raw[..., b])) > 0.95, b
        assert abs(down[..., b].mean() - aligned[..., b].mean()) < 0.05 * aligned[..., b].mean()
    nir, green = 3, 1
    assert corr(down[..., nir], raw[..., nir]) > corr(down[..., nir], aligned[..., green]) + 0.3
    # B and R are aligned by REC: closer to the registered band than to the raw one
    for b in (0, 2):
        assert corr(down[..., b], aligned[..., b]) > corr(down[..., b], raw[..., b]), b


def test_shipped_rec_output_has_its_bands_aligned_to_g(real_crops):
    """REC's output, averaged back to 10 m, measured by the independent phase-correlation estimator:
    B and R sit on G to within a tenth of a pixel; NIR's misregistration is at least a third smaller."""
    import tifffile
    before, after = [], []
    for path in real_crops[:3]:
        bgrn = tifffile.imread(path)
        sr = inference.superresolve(bgrn).astype(np.float64)
        down = block_mean(sr, SCALE_FACTOR)
        b, a = misregistration(bgrn), misregistration(down)
        before.append([b[k]["median_px"] for k in ("B", "R", "NIR")])
        after.append([a[k]["median_px"] for k in ("B", "R", "NIR")])
    before, after = np.nanmean(before, axis=0), np.nanmean(after, axis=0)
    assert (after[:2] < 0.1).all(), after
    assert after[2] < 2 / 3 * before[2], (before, after)


def test_shipped_csr_tiled_equals_untiled(real_crops):
    """Seams do not show with the shipped CSR either (704 x 704 mosaic of four real crops): the
    flows agree to 0.02 px, so registered values differ by a few DN at most, on the sharpest edges."""
    import tifffile
    a, b, c, d = (tifffile.imread(p) for p in real_crops[:4])
    mosaic = np.concatenate([np.concatenate([a, b], 1), np.concatenate([c, d], 1)], 0)
    whole, whole_flow = inference.register(mosaic, tile=0)
    tiled, tiled_flow = inference.register(mosaic, tile=256)
    assert np.abs(whole_flow - tiled_flow).max() < 0.02
    difference = np.abs(whole.astype(np.int32) - tiled)
    assert difference.max() <= 5 and np.percentile(difference, 99.9) <= 1


def test_band_statistics_match_numpy(real_crop):
    mean, std = inference.band_statistics(real_crop)
    np.testing.assert_allclose(mean, real_crop.reshape(-1, 4).mean(0), rtol=1e-9)
    np.testing.assert_allclose(std, real_crop.reshape(-1, 4).std(0, ddof=1), rtol=1e-6)
