"""The numpy API: shapes, dtypes, conventions and tiling (with small random networks: plumbing only)."""

import numpy as np
import pytest

from l1bsr_core import inference, runtime
from l1bsr_core.errors import ArgumentError, InputError, L1BSRError, WeightsError

from support import mosaic


@pytest.fixture(scope="module")
def large(example_crops):
    """384 x 384 x 4 uint16 built from the project's four example crops (made in memory)."""
    import tifffile
    return mosaic([tifffile.imread(p) for p in example_crops])


def test_superresolve_shape_dtype(use_random_weights, example_crop):
    out = inference.superresolve(example_crop)
    height, width, _ = example_crop.shape
    assert out.shape == (2 * height, 2 * width, 4) and out.dtype == np.uint16


def test_register_keeps_green_and_returns_flow(use_random_weights, example_crop):
    registered, flow = inference.register(example_crop)
    assert registered.shape == example_crop.shape and registered.dtype == np.uint16
    assert flow.shape == (3, 2, *example_crop.shape[:2]) and flow.dtype == np.float32
    np.testing.assert_array_equal(registered[..., 1], example_crop[..., 1])


def test_register_output_is_the_warp_of_the_input_by_the_flow(use_random_weights, example_crop):
    import torch

    from l1bsr_core.warp import warp
    registered, flow = inference.register(example_crop)
    band = torch.from_numpy(example_crop[..., 3].astype(np.float32))[None, None]
    expected = warp(band, torch.from_numpy(flow[2:3]))[0, 0].round().clamp(0, 65535).numpy()
    assert np.abs(expected - registered[..., 3]).max() <= 1


def test_planar_input_is_accepted(use_random_weights, example_crop):
    planar = np.ascontiguousarray(example_crop.transpose(2, 0, 1))
    np.testing.assert_array_equal(inference.superresolve(planar), inference.superresolve(example_crop))


@pytest.mark.parametrize("task", ["superresolve", "register"])
def test_tiled_equals_untiled(use_random_weights, large, task):
    """Seams do not show: a tiled run (3 x 3 tiles) equals the untiled run within 2 DN."""
    run = getattr(inference, task)
    whole = run(large, tile=0)
    calls = []
    tiled = run(large, tile=128, progress=lambda done, total: calls.append((done, total)))
    whole = whole[0] if task == "register" else whole
    tiled = tiled[0] if task == "register" else tiled
    assert np.abs(whole.astype(np.int32) - tiled).max() <= 2
    assert calls[-1] == (9, 9) and len(calls) == 9


def test_bad_arrays_get_one_line_errors(use_random_weights):
    for bad in (np.zeros((64, 64, 3), np.uint16), np.zeros((64, 64, 4), np.uint8), np.zeros((8, 8, 4), np.uint16)):
        with pytest.raises(InputError) as info:
            inference.superresolve(bad)
        assert "\n" not in str(info.value)


def test_cuda_request_without_gpu_is_a_clear_error(use_random_weights, example_crop):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(L1BSRError, match="no CUDA GPU"):
        inference.register(example_crop, device="cuda")


# --- refused arguments and no-data (on crops made here: no shared data needed) ----------------


def made_crop(side: int = 64) -> np.ndarray:
    """(side, side, 4) uint16 smooth, textured crop with distinct bands and no zero."""
    y, x = np.mgrid[:side, :side].astype(np.float64)
    bands = [1000 + 300 * np.sin(x / (3 + b)) * np.cos(y / (4 + b)) + 5 * x + 100 * b for b in range(4)]
    return np.stack(bands, axis=-1).round().astype(np.uint16)


def assert_library_message(error: pytest.ExceptionInfo, *fragments: str) -> None:
    """One line, saying what was expected, naming no command-line flag."""
    message = str(error.value)
    assert "\n" not in message and "--" not in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize("task, tile, fragment", [
    ("superresolve", -1, "expected 0 (no tiling)"),
    ("superresolve", 5, "at least 32"),
    ("superresolve", 64.5, "whole number"),
    ("register", 20, "at least 32"),
    ("register", -32, "expected 0 (no tiling)"),
])
def test_bad_tile_is_an_argument_error(use_random_weights, task, tile, fragment):
    with pytest.raises(ArgumentError) as error:
        getattr(inference, task)(made_crop(), tile=tile)
    assert_library_message(error, f"tile size is {tile}", fragment)


@pytest.mark.parametrize("device, fragment", [("foo", "not a device name"), ("mps", "not supported")])
def test_bad_device_is_an_argument_error(use_random_weights, device, fragment):
    with pytest.raises(ArgumentError) as error:
        inference.superresolve(made_crop(), device=device)
    assert_library_message(error, fragment, "'cpu'")


def test_weights_that_are_not_a_checkpoint_are_a_weights_error(use_random_weights, tmp_path):
    import datetime

    import torch
    text, pickled = tmp_path / "notes.pt", tmp_path / "pickled.pt"
    text.write_text("not weights\n")
    torch.save({"when": datetime.datetime(2024, 1, 1)}, pickled)  # loading it would run pickled code
    for path, fragment in ((text, "not a torch file"), (pickled, "pickled Python object")):
        with pytest.raises(WeightsError) as error:
            inference.model_info("rec", weights=str(path))
        assert_library_message(error, str(path), fragment, "expected")


def test_missing_default_weights_message_names_no_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("L1BSR_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsError) as error:
        inference.model_info("csr")
    assert_library_message(error, "no trained CSR weights", "checkpoint path")


def test_band_statistics_leave_no_data_out():
    crop = made_crop()
    with_border = crop.copy()
    with_border[:, :20] = 0
    mean, std = inference.band_statistics(with_border)
    valid = crop[:, 20:].reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(mean, valid.mean(axis=0))
    np.testing.assert_allclose(std, valid.std(axis=0, ddof=1))


HALF_PIXEL = 0.5
NO_DATA_COLUMNS = 20


def test_no_data_stays_zero_and_is_not_blended(use_random_weights, monkeypatch):
    """With a known half-pixel flow, no-data pixels stay 0, pixels whose bicubic footprint touches
    no-data become 0, and the others do not depend on what the no-data pixels hold."""
    import torch

    class HalfPixel:
        def dense(self, top=0, left=0, rows=None, cols=None):
            flow = torch.zeros(1, 3, 2, rows, cols)
            flow[:, :, 0] = HALF_PIXEL
            return flow

    monkeypatch.setattr(runtime, "band_flows", lambda model, bgrn, device: HalfPixel())
    crop = made_crop()
    crop[:, :NO_DATA_COLUMNS] = 0  # a no-data border in every band
    crop[40:50, 40:50, 2] = 0  # and a hole in R only
    registered, flow = inference.register(crop, tile=0)
    np.testing.assert_array_equal(registered[..., 1], crop[..., 1])
    for band in (0, 2, 3):
        assert (registered[..., band][crop[..., band] == 0] == 0).all()
    # out(y, x) = band(y, x + 0.5) samples columns x - 1 … x + 2: column 20 touches no-data, 21 not
    assert (registered[:, NO_DATA_COLUMNS, [0, 2, 3]] == 0).all()
    assert (registered[:, NO_DATA_COLUMNS + 1, [0, 2, 3]] > 0).all()
    # no blending: the kept pixels are the same whatever value the no-data pixels would hold
    from l1bsr_core.warp import warp_bands
    filled = crop.astype(np.float64)
    filled[crop == 0] = 60000
    plain = warp_bands(filled, flow, (0, 2, 3))
    kept = registered > 0
    assert np.abs(registered[kept] - plain[kept]).max() <= 1


def test_band_statistics_match_numpy(example_crop):
    mean, std = inference.band_statistics(example_crop)
    np.testing.assert_allclose(mean, example_crop.reshape(-1, 4).mean(0), rtol=1e-9)
    np.testing.assert_allclose(std, example_crop.reshape(-1, 4).std(0, ddof=1), rtol=1e-6)


def test_a_network_can_be_given_instead_of_weights(example_crop):
    """What the speed benchmark times: a network built in memory, through the API's code path."""
    import torch

    from l1bsr_core.models import RCAN, RECConfig
    torch.manual_seed(0)
    rec = RCAN(RECConfig(n_groups=1, n_blocks=1, n_feats=8, reduction=4)).eval()
    out = inference.superresolve(example_crop[:64, :64], weights=rec)
    assert out.shape == (128, 128, 4) and out.dtype == np.uint16
    assert inference.model_info("rec", weights=rec)["parameters"] == sum(p.numel() for p in rec.parameters())
    with pytest.raises(WeightsError, match="expected CSR"):
        inference.register(example_crop[:64, :64], weights=rec)


@pytest.mark.parametrize("task", ["superresolve", "register"])
def test_a_tiled_run_streamed_to_a_file_writes_what_it_returns(use_random_weights, large, task, tmp_path):
    """``out=`` (the command line's bounded-memory path) receives exactly the array a run returns."""
    from l1bsr_core.io import read_bgrn_array, write_bgrn_rows

    run = getattr(inference, task)
    expected = run(large, tile=128)
    expected = expected[0] if task == "register" else expected
    options = {"with_flow": False} if task == "register" else {}
    with write_bgrn_rows(tmp_path / "out.tif", *expected.shape[:2]) as out:
        returned = run(large, tile=128, out=out, **options)
    if task == "register":
        assert returned[1] is None  # no flow asked for
    np.testing.assert_array_equal(read_bgrn_array(tmp_path / "out.tif"), expected)


def test_an_output_of_the_wrong_shape_is_refused(use_random_weights, example_crop):
    with pytest.raises(ArgumentError, match="expected"):
        inference.superresolve(example_crop, out=np.empty(example_crop.shape, np.uint16))


def test_a_crop_cut_into_bands_for_two_workers_equals_the_uncut_run(use_random_weights, large):
    """An image of one tile runs as one band of rows per worker: the bands' seams do not show."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        banded = inference.superresolve(large)
    finally:
        torch.set_num_threads(previous)
    whole = inference.superresolve(large, tile=0)
    assert np.abs(whole.astype(np.int32) - banded).max() <= 1


def test_superresolving_some_rows_gives_those_rows_of_the_whole_output(example_crop):
    """``rows``: the other rows are context only (alignment flows, tile margins): the output is the
    whole image's for those rows, within 1 DN (REC's tiles), at the cost of those rows."""
    whole = inference.superresolve(example_crop, tile=96)
    part = inference.superresolve(example_crop, tile=96, rows=slice(40, 130))
    assert part.shape == (180, 384, 4)
    assert np.abs(part.astype(int) - whole[80:260]).max() <= 1
