"""The numpy API: shapes, dtypes, conventions and tiling (with small random networks: plumbing only)."""

import numpy as np
import pytest

from l1bsr_core import inference
from l1bsr_core.errors import InputError, L1BSRError
from l1bsr_core.inference import plan_tiles


@pytest.fixture(scope="module")
def mosaic(real_crops):
    """704 x 704 x 4 uint16 built from four real crops (made in memory, never saved)."""
    import tifffile
    a, b, c, d = (tifffile.imread(p) for p in real_crops[:4])
    return np.concatenate([np.concatenate([a, b], 1), np.concatenate([c, d], 1)], 0)


def test_superresolve_shape_dtype(use_random_weights, real_crop):
    out = inference.superresolve(real_crop)
    assert out.shape == (704, 704, 4) and out.dtype == np.uint16


def test_register_keeps_green_and_returns_flow(use_random_weights, real_crop):
    registered, flow = inference.register(real_crop)
    assert registered.shape == real_crop.shape and registered.dtype == np.uint16
    assert flow.shape == (3, 2, 352, 352) and flow.dtype == np.float32
    np.testing.assert_array_equal(registered[..., 1], real_crop[..., 1])


def test_register_output_is_the_warp_of_the_input_by_the_flow(use_random_weights, real_crop):
    import torch
    from l1bsr_core.warp import warp
    registered, flow = inference.register(real_crop)
    band = torch.from_numpy(real_crop[..., 3].astype(np.float32))[None, None]
    expected = warp(band, torch.from_numpy(flow[2:3]))[0, 0].round().clamp(0, 65535).numpy()
    assert np.abs(expected - registered[..., 3]).max() <= 1


def test_planar_input_is_accepted(use_random_weights, real_crop):
    planar = np.ascontiguousarray(real_crop.transpose(2, 0, 1))
    np.testing.assert_array_equal(inference.superresolve(planar), inference.superresolve(real_crop))


@pytest.mark.parametrize("task", ["superresolve", "register"])
def test_tiled_equals_untiled(use_random_weights, mosaic, task):
    """Seams do not show: a tiled run equals the untiled run within 2 DN on a 704 x 704 input."""
    run = getattr(inference, task)
    whole = run(mosaic, tile=0)
    calls = []
    tiled = run(mosaic, tile=256, progress=lambda done, total: calls.append((done, total)))
    whole = whole[0] if task == "register" else whole
    tiled = tiled[0] if task == "register" else tiled
    assert np.abs(whole.astype(np.int32) - tiled).max() <= 2
    assert calls[-1] == (9, 9) and len(calls) == 9


def test_plan_tiles_cover_the_image_once():
    cover = np.zeros((300, 517), int)
    for t in plan_tiles(300, 517, tile=128, margin=32, align=16):
        cover[t.core_y, t.core_x] += 1
        assert t.read_y.start % 16 == 0 and t.read_x.start % 16 == 0
    assert (cover == 1).all()


def test_bad_arrays_get_one_line_errors(use_random_weights):
    for bad in (np.zeros((64, 64, 3), np.uint16), np.zeros((64, 64, 4), np.uint8), np.zeros((8, 8, 4), np.uint16)):
        with pytest.raises(InputError) as info:
            inference.superresolve(bad)
        assert "\n" not in str(info.value)


def test_cuda_request_without_gpu_is_a_clear_error(use_random_weights, real_crop):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(L1BSRError, match="no CUDA GPU"):
        inference.register(real_crop, device="cuda")
