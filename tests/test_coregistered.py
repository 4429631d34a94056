"""L1C/L2A products and exports through the command line: georeferenced, radiometry kept, domain said."""

import json

import numpy as np
import pytest
import rasterio
from coregistered_support import EPSG, NO_DATA_ROWS, ORIGIN, SIDE, make_product, reflectance_scene, write_export
from scipy.ndimage import gaussian_filter

from l1bsr_core import coregistered
from l1bsr_core.cli import main
from l1bsr_core.coregistered import open_coregistered, resolve_window, superresolve_window
from l1bsr_core.domain import TAG_LEVEL, TAG_PATH, UNALIGNED_PATH, InputDomain
from l1bsr_core.errors import ArgumentError, InputError
from l1bsr_core.georaster import GeoGrid

REFLECTANCE_TOLERANCE = 1e-3
"""Largest difference, in reflectance, between an output brought back to 10 m and its input (L2A's
absolute accuracy is about 10 times coarser; its quantisation step is 1e-4)."""


def run(capsys, *argv):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    return status, capsys.readouterr().err.strip().splitlines()


def read(path):
    with rasterio.open(path) as dataset:
        return np.moveaxis(dataset.read(), 0, -1), dataset.profile, dataset.tags(), dataset.scales, dataset.offsets


def block_mean(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[0] // 2, image.shape[1] // 2
    return image[:2 * h, :2 * w].reshape(h, 2, w, 2, -1).mean(axis=(1, 3))


@pytest.mark.parametrize("level, baseline, as_zip", [("L2A", "05.09", False), ("L1C", "04.00", True),
                                                     ("L2A", "02.14", True), ("L1C", "03.01", False)])
def test_product_super_resolves_georeferenced_with_its_radiometry(tmp_path, capsys, level, baseline, as_zip):
    product = make_product(tmp_path / "in", level=level, baseline=baseline, as_zip=as_zip)
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, product.path, out)
    assert status == 0 and len(lines) == 1
    assert f"input {level}: outside the networks' L1B training domain" in lines[0] and UNALIGNED_PATH in lines[0]
    sr, profile, tags, scales, offsets = read(out)
    assert sr.shape == (2 * SIDE, 2 * SIDE, 4) and sr.dtype == np.uint16
    assert profile["crs"].to_epsg() == EPSG and profile["nodata"] == 0
    transform = profile["transform"]
    assert (transform.a, transform.e, transform.c, transform.f) == (5.0, -5.0, *ORIGIN)
    assert tags[TAG_LEVEL] == level and tags[TAG_PATH] == UNALIGNED_PATH
    # GIS tools read reflectance: stored · scale + offset
    truth = reflectance_scene()
    reflectance = sr.astype(np.float64) * scales[0] + offsets[0]
    assert (sr[:2 * NO_DATA_ROWS] == 0).all() and (sr[2 * NO_DATA_ROWS:] > 0).all()
    valid = slice(2 * NO_DATA_ROWS + 8, None)
    for band in range(4):
        mean_truth = truth[NO_DATA_ROWS + 4:, :, band].mean()
        assert abs(reflectance[valid, :, band].mean() / mean_truth - 1) < 0.01
    # degraded back (2 x 2 mean, low-passed), the output is its input: radiometry kept
    back = gaussian_filter(block_mean(sr.astype(np.float64)), (2.0, 2.0, 0))
    given = gaussian_filter(product.dn.astype(np.float64), (2.0, 2.0, 0))
    inner = (slice(NO_DATA_ROWS + 12, -12), slice(12, -12))
    error = np.abs(back[inner] - given[inner]) * scales[0]  # reflectance
    assert error.max() < REFLECTANCE_TOLERANCE and error.mean() < REFLECTANCE_TOLERANCE / 5


def test_window_and_bbox_pick_the_same_area(tmp_path, capsys):
    product = make_product(tmp_path / "in")
    by_window, by_bbox = tmp_path / "w.tif", tmp_path / "b.tif"
    assert run(capsys, product.path, by_window, "--window", "40,50,64,48")[0] == 0
    x0, y0 = ORIGIN[0] + 400, ORIGIN[1] - 500
    status, lines = run(capsys, product.path, by_bbox, "--bbox", f"{x0},{y0 - 480},{x0 + 640},{y0}")
    assert status == 0 and not [line for line in lines if "bbox" in line]  # inside the image: no note
    window, profile, *_ = read(by_window)
    box, _, *_ = read(by_bbox)
    assert window.shape == (96, 128, 4)
    np.testing.assert_array_equal(window, box)
    assert (profile["transform"].c, profile["transform"].f) == (x0, y0)


IMAGE_BOUNDS = f"{ORIGIN[0]:.0f},{ORIGIN[1] - 10 * SIDE:.0f},{ORIGIN[0] + 10 * SIDE:.0f},{ORIGIN[1]:.0f}"
"""The test products' bounds as the messages write them (xmin, ymin, xmax, ymax; 10 m pixels)."""


def test_a_bbox_past_the_image_is_clipped_and_said_in_one_line(tmp_path, capsys):
    """20 px past the left edge and 10 px past the top: the 64 x 48 px inside it are processed."""
    x0, y0 = ORIGIN
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, make_product(tmp_path / "in").path, out,
                        "--bbox", f"{x0 - 200},{y0 - 480},{x0 + 640},{y0 + 100}")
    assert status == 0
    notes = [line for line in lines if "bbox" in line]
    assert notes == [f"l1bsr: note: bbox {x0 - 200:.0f},{y0 - 480:.0f},{x0 + 640:.0f},{y0 + 100:.0f} reaches past "
                     f"the image (bounds {IMAGE_BOUNDS}); processed the part inside it: 0,0,64,48 px "
                     f"(bounds {x0:.0f},{y0 - 480:.0f},{x0 + 640:.0f},{y0:.0f}, EPSG:{EPSG})"]
    sr, profile, *_ = read(out)
    assert sr.shape == (96, 128, 4) and (profile["transform"].c, profile["transform"].f) == (x0, y0)


def test_the_record_of_a_clipped_bbox_says_what_was_processed(tmp_path, capsys):
    x0, y0 = ORIGIN
    bbox = (x0 - 200, y0 - 480, x0 + 640, y0 + 100)
    status, lines = run(capsys, "product", make_product(tmp_path / "in").path, tmp_path / "out", "--task", "none",
                        "--bbox", ",".join(map(str, bbox)))
    assert status == 0 and [line for line in lines if "note: bbox" in line][0].startswith("l1bsr product: note:")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    window = {"col": 0, "row": 0, "width": 64, "height": 48}
    assert manifest["window"] == window
    assert manifest["bbox_clipped"] == {"requested_bbox": list(bbox), "clipped_to": "image",
                                        "clipped_to_bounds": [x0, y0 - 10 * SIDE, x0 + 10 * SIDE, y0],
                                        "window": window, "bounds": [x0, y0 - 480, x0 + 640, y0],
                                        "crs": f"EPSG:{EPSG}"}
    assert read(tmp_path / "out" / manifest["output"])[0].shape == (48, 64, 4)


def test_a_bbox_past_the_window_is_clipped_to_the_window():
    x0, y0 = ORIGIN
    grid = GeoGrid(rasterio.crs.CRS.from_epsg(EPSG), rasterio.transform.from_origin(x0, y0, 10, 10))
    window, bbox = (10, 10, 100, 100), (x0 - 200, y0 - 480, x0 + 640, y0 + 100)  # inside the window from (10, 10)
    area = resolve_window((SIDE, SIDE), grid, window, bbox)
    assert (area.col_off, area.row_off, area.width, area.height) == (10, 10, 54, 38)
    clipped = coregistered.clipped_bbox_record((SIDE, SIDE), grid, area, window, bbox)["bbox_clipped"]
    assert clipped["clipped_to"] == "window" and clipped["clipped_to_bounds"] == [x0 + 100, y0 - 1100, x0 + 1100,
                                                                                    y0 - 100]
    assert clipped["window"] == {"col": 10, "row": 10, "width": 54, "height": 38}
    assert clipped["bounds"] == [x0 + 100, y0 - 480, x0 + 640, y0 - 100]


def test_a_bbox_on_a_south_up_grid_picks_the_rows_it_covers():
    """Rows that run north (a positive y step): the same box gives the mirrored rows, and a part
    past the image is clipped, as on a north-up grid (rasterio's from_bounds refuses such grids)."""
    x0, y0 = ORIGIN
    south_up = GeoGrid(rasterio.crs.CRS.from_epsg(EPSG), rasterio.Affine(10, 0, x0, 0, 10, y0 - 10 * SIDE))
    bbox = (x0 + 400, y0 - 10 * SIDE + 500, x0 + 1040, y0 - 10 * SIDE + 980)  # cols 40–104, rows 50–98
    area = resolve_window((SIDE, SIDE), south_up, bbox=bbox)
    assert (area.col_off, area.row_off, area.width, area.height) == (40, 50, 64, 48)
    past = (x0 - 200, y0 - 10 * SIDE - 100, x0 + 640, y0 - 10 * SIDE + 480)  # 20 cols left, 10 rows below row 0
    area = resolve_window((SIDE, SIDE), south_up, bbox=past)
    assert (area.col_off, area.row_off, area.width, area.height) == (0, 0, 64, 48)
    clipped = coregistered.clipped_bbox_record((SIDE, SIDE), south_up, area, bbox=past)["bbox_clipped"]
    assert clipped["bounds"] == [x0, y0 - 10 * SIDE, x0 + 640, y0 - 10 * SIDE + 480]


def test_bounds_written_in_a_note_read_back_as_the_same_pixels():
    """Geographic degrees: the note's bounds, pasted back as --bbox, give the window it names."""
    from l1bsr_core.areas import coordinates_text, parse_bbox
    x0, y0, step = -9.669447289429417, 48.13270239200273, 0.00018691333659165828  # 12 digits are not enough here
    grid = GeoGrid(rasterio.crs.CRS.from_epsg(4326), rasterio.transform.from_origin(x0, y0, step, step))
    bbox = (x0 - 0.01, y0 - 100.3 * step, x0 + 60.7 * step, y0 + 0.01)  # past the top-left corner
    area = resolve_window((SIDE, SIDE), grid, bbox=bbox)
    assert (area.width, area.height) == (61, 101)
    bounds = coregistered.clipped_bbox_record((SIDE, SIDE), grid, area, bbox=bbox)["bbox_clipped"]["bounds"]
    again = resolve_window((SIDE, SIDE), grid, bbox=parse_bbox(coordinates_text(bounds)))
    assert again == area and not coregistered.clipped_bbox_record((SIDE, SIDE), grid, again,
                                                                  bbox=parse_bbox(coordinates_text(bounds)))


@pytest.mark.parametrize("past_px, clipped", [(0.0, False), (0.3, True), (1.0, True)])
def test_only_an_edge_past_the_image_is_clipping(past_px, clipped):
    """A right edge on the image's edge is inside; 0.3 px past it, it reaches a pixel the image lacks."""
    x0, y0 = ORIGIN
    grid = GeoGrid(rasterio.crs.CRS.from_epsg(EPSG), rasterio.transform.from_origin(x0, y0, 10, 10))
    bbox = (x0 + 1000, y0 - 640, x0 + 10 * (SIDE + past_px), y0 - 320)
    area = resolve_window((SIDE, SIDE), grid, bbox=bbox)
    assert (area.col_off, area.width) == (100, SIDE - 100)
    assert bool(coregistered.clipped_bbox_record((SIDE, SIDE), grid, area, bbox=bbox)) is clipped


def test_a_bbox_inside_with_fractional_edges_is_snapped_not_clipped(tmp_path, capsys):
    """Edges 0.3 px inside pixels 40 and 104 (and rows 50, 98): snapped outwards, no note, no field."""
    x0, y0 = ORIGIN[0] + 403, ORIGIN[1] - 503
    status, lines = run(capsys, "product", make_product(tmp_path / "in").path, tmp_path / "out", "--task", "none",
                        "--bbox", f"{x0},{y0 - 474},{x0 + 634},{y0}")
    assert status == 0 and not [line for line in lines if "bbox" in line], lines
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["window"] == {"col": 40, "row": 50, "width": 64, "height": 48}
    assert "bbox_clipped" not in manifest


def test_a_bbox_off_the_image_keeps_its_error(tmp_path, capsys):
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, make_product(tmp_path / "in").path, out, "--bbox", "0,0,10,10")
    assert status == 2 and lines == [f"l1bsr: error: bbox 0,0,10,10 does not overlap the image (bounds "
                                     f"{IMAGE_BOUNDS}); expected a box inside them"]
    assert not out.exists()


def test_blocks_match_the_whole_window(tmp_path, monkeypatch):
    product = make_product(tmp_path / "in")
    outputs = {}
    for rows in (SIDE, 48):
        monkeypatch.setattr(coregistered, "BLOCK_ROWS", rows)
        monkeypatch.setattr(coregistered, "BLOCK_COLS", rows + 16)
        with open_coregistered(product.path) as source:
            window = resolve_window(source.shape, GeoGrid(source.crs, source.transform))
            outputs[rows] = tmp_path / f"{rows}.tif"
            record = superresolve_window(source, outputs[rows], window, source.domain, align=False)
        assert record["blocks"] == -(-SIDE // rows) * -(-SIDE // (rows + 16))
    whole, blocks = read(outputs[SIDE])[0], read(outputs[48])[0]
    assert np.abs(whole.astype(int) - blocks.astype(int)).max() <= 1


def test_registration_reports_instead_of_warping(tmp_path, capsys):
    product = make_product(tmp_path / "in", level="L1C", baseline="05.09")
    report = tmp_path / "check.json"
    status, lines = run(capsys, product.path, report, "--task", "registration")
    assert status == 0 and "measurement of the residual misregistration" in lines[0]
    assert [line.split(" onto G")[0] for line in lines[1:]] == ["l1bsr: B", "l1bsr: R", "l1bsr: NIR"]
    record = json.loads(report.read_text())
    assert record["input_level"] == "L1C" and record["in_domain"] is False
    assert set(record["misregistration"]) == {"B", "R", "NIR"}
    assert all(band["median_px"] < 0.2 for band in record["misregistration"].values())  # co-registered bands
    status, lines = run(capsys, product.path, tmp_path / "reg.tif", "--task", "registration")
    assert status == 2 and len(lines) == 1 and "expected an output ending in .json" in lines[0]
    assert not (tmp_path / "reg.tif").exists()


def test_forced_alignment_warps_and_says_so(tmp_path, capsys):
    product = make_product(tmp_path / "in")
    out = tmp_path / "reg.tif"
    status, lines = run(capsys, product.path, out, "--task", "registration", "--align")
    assert status == 0 and "path: CSR registration" in lines[0]
    registered, profile, tags, *_ = read(out)
    assert registered.shape == (SIDE, SIDE, 4) and profile["crs"].to_epsg() == EPSG
    np.testing.assert_array_equal(registered[..., 1], product.dn[..., 1])  # G is the reference


@pytest.mark.parametrize("argv, message", [
    (["--window", "150,0,64,64"], "reaches past the image"),
    (["--window", "0,0,-4,64"], "expected COL,ROW,WIDTH,HEIGHT"),
    (["--bbox", "0,0,10,10"], "does not overlap the image"),
    (["--window", "0,0,16,16"], "expected at least 32 x 32"),
    (["--level", "l2a"], "expected neither --level nor --dn-offset with a product"),
])
def test_bad_windows_get_one_line_and_no_output(tmp_path, capsys, argv, message):
    product = make_product(tmp_path / "in")
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, product.path, out, *argv)
    assert status == 2 and len(lines) == 1 and message in lines[0], lines
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_missing_band_file_gets_one_line(tmp_path, capsys):
    product = make_product(tmp_path / "in", as_zip=True, omit_bands=("B03",))
    status, lines = run(capsys, product.path, tmp_path / "sr.tif")
    assert status == 2 and len(lines) == 1 and "B03" in lines[0]
    assert not (tmp_path / "sr.tif").exists()


def test_product_command_writes_a_manifest_with_the_domain(tmp_path, capsys):
    product = make_product(tmp_path / "in", level="L2A", baseline="04.00", as_zip=True)
    status, lines = run(capsys, "product", product.path, tmp_path / "out", "--task", "superresolution",
                        "--window", "0,16,96,64")
    assert status == 0 and "input L2A: outside" in lines[0]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["in_domain"] is False and manifest["path"] == UNALIGNED_PATH
    assert manifest["window"] == {"col": 0, "row": 16, "width": 96, "height": 64}
    sr = read(tmp_path / "out" / manifest["output"])[0]
    assert sr.shape == (128, 192, 4)
    status, lines = run(capsys, "pairs", product.path, tmp_path / "pairs")
    assert status == 2 and "no detector overlap" in lines[0]


def test_float_export_stays_float_with_its_no_data(tmp_path, capsys):
    values = reflectance_scene().astype(np.float32)
    values[:NO_DATA_ROWS] = np.nan
    export = write_export(tmp_path / "export.tif", values, nodata=float("nan"),
                          descriptions=("B02", "B03", "B04", "B08"))
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, export, out)
    assert status == 0 and "input L1C/L2A: outside" in lines[0]
    sr, profile, tags, scales, offsets = read(out)
    assert sr.dtype == np.float32 and np.isnan(profile["nodata"]) and (scales[0], offsets[0]) == (1.0, 0.0)
    assert np.isnan(sr[:2 * NO_DATA_ROWS]).all() and np.isfinite(sr[2 * NO_DATA_ROWS:]).all()
    for band in range(4):
        ratio = sr[2 * NO_DATA_ROWS + 8:, :, band].mean() / values[NO_DATA_ROWS + 4:, :, band].mean()
        assert abs(ratio - 1) < 0.01


def test_uint16_exports_say_which_offset(tmp_path, capsys):
    dn = np.rint(reflectance_scene() * 10000 + 1000).astype(np.uint16)
    declared = write_export(tmp_path / "declared.tif", dn, scales=(1e-4,) * 4, offsets=(-0.1,) * 4)
    silent = write_export(tmp_path / "silent.tif", dn)
    with open_coregistered(declared) as source:
        assert source.radiometry.offset == -1000 and "from the file" in source.radiometry.describe()
    with open_coregistered(silent) as source:
        assert source.radiometry.offset == 0 and "assumed" in source.radiometry.describe()
    with open_coregistered(silent, dn_offset=-1000) as source:
        assert source.radiometry.offset == -1000
    out = tmp_path / "sr.tif"
    assert run(capsys, declared, out)[0] == 0
    sr, profile, tags, scales, offsets = read(out)
    assert sr.dtype == np.uint16 and (scales[0], offsets[0]) == (pytest.approx(1e-4), pytest.approx(-0.1))
    assert "(DN - 1000) / 10000" in tags["L1BSR_RADIOMETRY"]


def test_named_bands_are_reordered(tmp_path):
    values = reflectance_scene().astype(np.float32)
    shuffled = values[..., [2, 1, 0, 3]]  # B04, B03, B02, B08
    export = write_export(tmp_path / "e.tif", shuffled, descriptions=("B4", "B3", "B2", "B8"))
    with open_coregistered(export) as source:
        np.testing.assert_array_equal(source.read(rasterio.windows.Window(0, 0, SIDE, SIDE)), values)


@pytest.mark.parametrize("make, message", [
    (lambda p: write_export(p, np.ones((64, 64, 3), np.uint8) * 100), "3 bands (a true-colour"),
    (lambda p: write_export(p, np.ones((64, 64, 4), np.uint8) * 100), "uint8"),
    (lambda p: write_export(p, np.full((64, 64, 4), 1500.0, np.float32)), "expected reflectance"),
    (lambda p: write_export(p, np.ones((64, 64, 4), np.float32) * 0.1,
                            descriptions=("B02", "B03", "B04", "B8A")), "holds bands B02, B03, B04, B8A"),
])
def test_unusable_exports_say_which_export_to_choose(tmp_path, capsys, make, message):
    export = make(tmp_path / "export.tif")
    status, lines = run(capsys, export, tmp_path / "sr.tif")
    assert status == 2 and len(lines) == 1 and message in lines[0], lines
    assert "B02, B03, B04, B08" in lines[0]
    assert not (tmp_path / "sr.tif").exists()


def test_l1b_crop_says_its_level_is_unknown_unless_declared(tmp_path, capsys, example_crops):
    out = tmp_path / "sr.tif"
    status, lines = run(capsys, example_crops[0], out)
    assert status == 0 and "unknown level: not known to be L1B, so outside the networks' known L1B" in lines[-1]
    with rasterio.open(out) as dataset:
        assert dataset.tags()[TAG_LEVEL] == "unknown"
    status, lines = run(capsys, example_crops[0], out, "--level", "l1b")
    assert status == 0 and not [line for line in lines if "note" in line]
    with pytest.raises(ArgumentError, match="applies to georeferenced L1C/L2A inputs"):
        from l1bsr_core.jobs import process_file
        process_file(example_crops[0], tmp_path / "x.tif", "superresolution", window=(0, 0, 64, 64))


def test_domain_defaults():
    assert InputDomain("L2A", "x").default_align() is False and InputDomain("L1B", "x").default_align() is True
    assert InputDomain("unknown", "x").default_align() is True and not InputDomain("unknown", "x").in_domain


def test_the_progress_bar_counts_blocks_on_the_coregistered_path(tmp_path, capsys, monkeypatch):
    """An L1C/L2A input is super-resolved by blocks of rows and columns: the bar says blocks."""
    product = make_product(tmp_path / "in")
    monkeypatch.setattr(coregistered, "BLOCK_ROWS", 48)
    monkeypatch.setattr(coregistered, "BLOCK_COLS", 64)
    assert main([str(product.path), str(tmp_path / "sr.tif")]) == 0
    blocks = -(-SIDE // 48) * -(-SIDE // 64)
    err = capsys.readouterr().err
    assert f"{blocks}/{blocks} blocks" in err and " tiles " not in err


def test_a_truncated_float_export_and_an_offset_for_floats_get_one_line(tmp_path, capsys):
    export = write_export(tmp_path / "export.tif", reflectance_scene().astype(np.float32),
                          descriptions=("B02", "B03", "B04", "B08"))
    status, lines = run(capsys, export, tmp_path / "a.tif", "--dn-offset", "-1000")
    assert status == 2 and len(lines) == 1 and "has no DN offset" in lines[0], lines
    with rasterio.open(export) as dataset:  # the same, deflated, then its compressed pixels garbled
        profile, pixels = {**dataset.profile, "compress": "deflate"}, dataset.read()
    damaged = tmp_path / "damaged.tif"
    with rasterio.open(damaged, "w", **profile) as dataset:
        dataset.write(pixels)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 4: len(data) // 2] = bytes(len(data) // 2 - len(data) // 4)
    damaged.write_bytes(bytes(data))
    status, lines = run(capsys, damaged, tmp_path / "b.tif")
    assert status == 2 and len(lines) == 1 and "does not decode" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.tif", "export.tif"]


def test_a_geotiff_left_incomplete_is_refused_in_one_line(tmp_path):
    """GDAL leaves a file whose directory still reads when the disk fills during block writes
    and says so only on its own stderr: the writers decode what they wrote before keeping it."""
    from l1bsr_core.georaster import check_complete_geotiff
    export = write_export(tmp_path / "export.tif", reflectance_scene().astype(np.float32))
    with rasterio.open(export) as dataset:
        profile, pixels = {**dataset.profile, "compress": "deflate"}, dataset.read()
    written = tmp_path / "written.tif"
    with rasterio.open(written, "w", **profile) as dataset:
        dataset.write(pixels)
    check_complete_geotiff(written)  # whole: no error
    data = bytearray(written.read_bytes())
    data[len(data) // 4: len(data) // 2] = bytes(len(data) // 2 - len(data) // 4)
    written.write_bytes(bytes(data))
    with pytest.raises(InputError, match="cannot write out.tif: the file was left incomplete") as refused:
        check_complete_geotiff(written, "out.tif")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("declared", ["l1b", "l1c"])
def test_a_declared_level_that_contradicts_the_file_is_refused(tmp_path, capsys, declared):
    export = write_export(tmp_path / "export.tif", (reflectance_scene() * 10000 + 1000).astype(np.uint16),
                          descriptions=("B02", "B03", "B04", "B08"), tags={"PROCESSING_LEVEL": "Level-2A"})
    status, lines = run(capsys, export, tmp_path / "sr.tif", "--level", declared)
    assert status == 2 and len(lines) == 1, lines
    assert f"says it is L2A (its PROCESSING_LEVEL tag) but --level says {declared.upper()}" in lines[0]
    assert not (tmp_path / "sr.tif").exists()
    status, lines = run(capsys, export, tmp_path / "sr.tif", "--level", "l2a")  # agreeing: accepted
    assert status == 0 and "input L2A: outside" in lines[-1]


def test_an_output_tagged_l1c_or_l2a_may_be_declared_either(tmp_path, capsys):
    """This project tags the output of an export of unknown level "L1C/L2A": ``--level l2a`` (or
    ``l1c``) refines it, ``--level l1b`` contradicts it."""
    export = write_export(tmp_path / "export.tif", (reflectance_scene() * 10000 + 1000).astype(np.uint16),
                          descriptions=("B02", "B03", "B04", "B08"), tags={TAG_LEVEL: "L1C/L2A"})
    status, lines = run(capsys, export, tmp_path / "sr.tif", "--level", "l2a")
    assert status == 0 and "input L2A: outside" in lines[-1], lines
    status, lines = run(capsys, export, tmp_path / "b.tif", "--level", "l1b")
    assert status == 2 and "says it is L1C/L2A" in lines[0] and not (tmp_path / "b.tif").exists()
