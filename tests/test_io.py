"""Tests of l1bsr_core.io: reading, validating and atomically writing BGRN TIFF crops."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile

from l1bsr_core.errors import ArgumentError, InputError
from l1bsr_core.io import (
    MAX_PIXELS,
    MIN_SIZE_PX,
    TiffInfo,
    read_bgrn,
    read_bgrn_array,
    validate_bgrn,
    write_bgrn,
    write_bgrn_rows,
)
from l1bsr_core.outputs import atomic_output, check_output_path, same_file

SIDE = 40
"""Side of the small synthetic crops (at least MIN_SIZE_PX)."""
HUGE_SIDE = 100_000


@pytest.fixture(scope="module")
def crop_path(example_crops) -> Path:
    """One of the project's L1B-like crops, as scripts/make_examples.py wrote it (zlib, predictor)."""
    return example_crops[0]


@pytest.fixture
def small_crop() -> np.ndarray:
    """(SIDE, SIDE, 4) uint16 ramp, distinct values per band."""
    return np.arange(SIDE * SIDE * 4, dtype=np.uint16).reshape(SIDE, SIDE, 4)


def png_bytes() -> bytes:
    """A valid 1x1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def assert_one_line_error(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message
    assert "expected" in message
    for fragment in fragments:
        assert fragment in message, message


# --- round trips --------------------------------------------------------------------------


def test_read_crop(crop_path):
    array, info = read_bgrn(crop_path)
    assert array.shape[2] == 4 and array.dtype == np.uint16 and array.flags.c_contiguous
    assert info.layout == "interleaved"
    np.testing.assert_array_equal(array, tifffile.imread(crop_path))
    np.testing.assert_array_equal(read_bgrn_array(crop_path), array)


@pytest.mark.parametrize("layout", ["interleaved", "planar"])
def test_round_trip_crop(crop_path, tmp_path, layout):
    array, info = read_bgrn(crop_path)
    out = tmp_path / "out.tif"
    write_bgrn(out, array, like=TiffInfo(layout=layout, extratags=info.extratags))
    again, again_info = read_bgrn(out)
    np.testing.assert_array_equal(again, array)
    assert again_info.layout == layout
    with tifffile.TiffFile(out) as tif:
        expected_shape = array.shape if layout == "interleaved" else (4, *array.shape[:2])
        assert tif.series[0].shape == expected_shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_reads_planar_files(tmp_path, small_crop):
    planar = np.ascontiguousarray(np.moveaxis(small_crop, -1, 0))
    separate = tmp_path / "separate.tif"
    tifffile.imwrite(separate, planar, photometric="minisblack", planarconfig="separate", metadata=None)
    pages = tmp_path / "pages.tif"
    with tifffile.TiffWriter(pages) as tif:
        for band in planar:
            tif.write(band, photometric="minisblack", metadata=None)
    for path in (separate, pages):
        array, info = read_bgrn(path)
        np.testing.assert_array_equal(array, small_crop)
        assert info.layout == "planar"


def test_validate_bgrn(small_crop):
    assert validate_bgrn(small_crop) is small_crop
    planar = np.moveaxis(small_crop, -1, 0).copy()
    out = validate_bgrn(planar)
    np.testing.assert_array_equal(out, small_crop)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(validate_bgrn(small_crop.astype(">u2")), small_crop)
    with pytest.raises(InputError) as error:
        validate_bgrn(small_crop[..., :3], source="upload")
    assert_one_line_error(error, "upload has 3 bands", "B, G, R, NIR")
    with pytest.raises(InputError) as error:
        validate_bgrn(small_crop.tolist())
    assert_one_line_error(error, "list", "numpy array")
    with pytest.raises(InputError) as error:
        validate_bgrn(np.zeros((4, 4, 4), np.uint16))  # ambiguous: read as (H, W, 4), too small
    assert_one_line_error(error, "4x4", f"at least {MIN_SIZE_PX}x{MIN_SIZE_PX}")


# --- bad inputs ---------------------------------------------------------------------------


def write_interleaved(path, array):
    tifffile.imwrite(path, array, photometric="minisblack", planarconfig="contig", metadata=None)


def write_three_bands(path):
    write_interleaved(path, np.zeros((SIDE, SIDE, 3), np.uint16))


def write_dtype(dtype):
    return lambda path: write_interleaved(path, np.zeros((SIDE, SIDE, 4), dtype))


def write_too_small(path):
    write_interleaved(path, np.zeros((MIN_SIZE_PX - 1, SIDE, 4), np.uint16))


def write_single_band(path):
    tifffile.imwrite(path, np.zeros((SIDE, SIDE), np.uint16))


def write_stack(path):
    tifffile.imwrite(path, np.zeros((2, SIDE, SIDE, 4), np.uint16))


def write_two_images(path):
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((SIDE, SIDE, 4), np.uint16), metadata=None)
        tif.write(np.zeros((SIDE + 8, SIDE, 4), np.uint16), metadata=None)


def write_huge_header(path):
    """A small valid TIFF whose ImageWidth and ImageLength are patched to HUGE_SIDE."""
    write_interleaved(path, np.zeros((SIDE, SIDE, 4), np.uint16))
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        offsets = [tags[code].valueoffset for code in (256, 257)]  # ImageWidth, ImageLength
    data = bytearray(path.read_bytes())
    for offset in offsets:
        struct.pack_into("<I", data, offset, HUGE_SIDE)
    path.write_bytes(bytes(data))


def write_truncated(source: Path):
    def write(path):
        data = source.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return write


BAD_FILES = {
    "three bands": (write_three_bands, ("has 3 bands", "B, G, R, NIR", "B2, B3, B4, B8")),
    "uint8": (write_dtype(np.uint8), ("is uint8", "uint16")),
    "float32": (write_dtype(np.float32), ("is float32", "uint16")),
    "int16": (write_dtype(np.int16), ("is int16", "uint16")),
    "png": (lambda path: path.write_bytes(png_bytes()), ("not a TIFF file", "PNG image")),
    "jpeg": (lambda path: path.write_bytes(JPEG_HEAD), ("not a TIFF file", "JPEG image")),
    "empty": (lambda path: path.write_bytes(b""), ("empty (0 bytes)",)),
    "too small": (write_too_small, (f"{MIN_SIZE_PX - 1}x{SIDE}", f"at least {MIN_SIZE_PX}x{MIN_SIZE_PX}")),
    "huge header": (write_huge_header, (f"{HUGE_SIDE}x{HUGE_SIDE}", f"at most {MAX_PIXELS:,}")),
    "single band": (write_single_band, ("1 band", "B, G, R, NIR")),
    "stack": (write_stack, ("(2, 40, 40, 4)", "(H, W, 4) or (4, H, W)")),
    "two images": (write_two_images, ("holds 2 images", "(H, W, 4) or (4, H, W)")),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_raises_one_line_input_error(tmp_path, case):
    write, fragments = BAD_FILES[case]
    path = tmp_path / "x.tif"
    write(path)
    with pytest.raises(InputError) as error:
        read_bgrn(path)
    assert_one_line_error(error, str(path), *fragments)


def test_huge_header_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "x.tif"
    write_huge_header(path)

    def no_pixel_reads(*args, **kwargs):
        raise AssertionError("pixel data was read")

    monkeypatch.setattr(tifffile.TiffPageSeries, "asarray", no_pixel_reads)
    with pytest.raises(InputError):
        read_bgrn(path)


def test_truncated_crop(crop_path, tmp_path):
    path = tmp_path / "x.tif"
    write_truncated(crop_path)(path)
    with pytest.raises(InputError) as error:
        read_bgrn(path)
    assert_one_line_error(error, "truncated")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(InputError) as error:
        read_bgrn(tmp_path / "nothing.tif")
    assert_one_line_error(error, "does not exist")
    with pytest.raises(InputError) as error:
        read_bgrn(tmp_path)
    assert_one_line_error(error, "is a folder")


# --- writing ------------------------------------------------------------------------------


def test_write_rounds_and_clips(tmp_path):
    array = np.full((SIDE, SIDE, 4), 100.0)
    array[0, 0] = (-5.0, 70_000.0, 1.6, 1.4)
    path = tmp_path / "out.tif"
    write_bgrn(path, array)
    np.testing.assert_array_equal(read_bgrn_array(path)[0, 0], (0, 65535, 2, 1))
    integers = np.full((SIDE, SIDE, 4), -1, np.int32)  # must not wrap to 65535
    write_bgrn(path, integers)
    assert read_bgrn_array(path).max() == 0


def test_write_refuses_nan(tmp_path):
    array = np.zeros((SIDE, SIDE, 4), np.float32)
    array[1, 1, 1] = np.nan
    with pytest.raises(InputError):
        write_bgrn(tmp_path / "out.tif", array)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path, small_crop, monkeypatch):
    out = tmp_path / "out.tif"
    with pytest.raises(InputError) as error:
        write_bgrn(out, small_crop[..., :3])
    assert_one_line_error(error, "(H, W, 4)")
    assert list(tmp_path.iterdir()) == []

    def failing_imwrite(path, *args, **kwargs):
        Path(path).write_bytes(b"II*\x00partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tifffile, "imwrite", failing_imwrite)
    with pytest.raises(InputError) as error:
        write_bgrn(out, small_crop)
    assert "No space left on device" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path, small_crop):
    out = tmp_path / "out.tif"
    write_bgrn(out, small_crop)
    with pytest.raises(RuntimeError):
        with atomic_output(out) as temp:
            temp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    np.testing.assert_array_equal(read_bgrn_array(out), small_crop)
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_atomic_output_with_np_save(tmp_path):
    flow = np.ones((3, 2, 8, 8), np.float32)
    with atomic_output(tmp_path / "flow.npy") as temp:
        assert temp.suffix == ".npy" and temp.parent == tmp_path
        np.save(temp, flow)
    assert [p.name for p in tmp_path.iterdir()] == ["flow.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "flow.npy"), flow)


def test_write_to_missing_folder(tmp_path, small_crop):
    with pytest.raises(InputError) as error:
        write_bgrn(tmp_path / "no" / "out.tif", small_crop)
    assert "does not exist" in str(error.value)


# --- damaged files: what tifffile says about them -------------------------------------------

DOCUMENT_NAME = 269
ASCII = 2
"""TIFF field type of a text tag."""
FIRST_IFD_OFFSET_AT = 4
"""Byte position of the first IFD's offset in a classic TIFF header."""
TAG_VALUE_OFFSET_AT = 8
"""Position of the value (or its offset) inside a classic TIFF tag entry (code, type, count)."""
FAR_AWAY = 10**9


def patch_uint32(path: Path, position: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, position, value)
    path.write_bytes(bytes(data))


def write_with_unreadable_tag(path: Path, array: np.ndarray) -> None:
    """A valid crop whose DocumentName tag points past the end of the file (tifffile logs it)."""
    tifffile.imwrite(path, array, photometric="minisblack", metadata=None,
                     extratags=[(DOCUMENT_NAME, ASCII, 0, "a name too long to fit in its tag entry", True)])
    with tifffile.TiffFile(path) as tif:
        entry = tif.pages[0].tags[DOCUMENT_NAME].offset
    patch_uint32(path, entry + TAG_VALUE_OFFSET_AT, FAR_AWAY)


def test_what_tifffile_logs_is_folded_into_the_one_line(tmp_path, small_crop):
    path = tmp_path / "x.tif"
    write_interleaved(path, small_crop)
    patch_uint32(path, FIRST_IFD_OFFSET_AT, FAR_AWAY)
    with pytest.raises(InputError) as error:
        read_bgrn(path)
    assert_one_line_error(error, str(path), "holds no image", f"tifffile: invalid offset to first page {FAR_AWAY}")


def test_damaged_but_readable_file_reads_and_prints_nothing(tmp_path, small_crop):
    """In a fresh interpreter (pytest's own log handlers would hide Python's stderr fallback)."""
    import subprocess
    import sys
    path = tmp_path / "x.tif"
    write_with_unreadable_tag(path, small_crop)
    code = ("import sys; from l1bsr_core.io import read_bgrn; a, info = read_bgrn(sys.argv[1]); "
            f"print(a.sum(), info.tag_value({DOCUMENT_NAME}))")
    result = subprocess.run([sys.executable, "-c", code, str(path)], check=False, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.split() == [str(small_crop.sum()), "None"]  # pixels kept, the bad tag dropped


# --- output names and paths -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.png", "out.jpg", "out", "out.tif.npy"])
def test_write_refuses_names_of_formats_it_does_not_write(tmp_path, small_crop, name):
    with pytest.raises(ArgumentError) as error:
        write_bgrn(tmp_path / name, small_crop)
    assert_one_line_error(error, name, ".tif or .tiff")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.tif", "out.TIFF"])
def test_write_accepts_tiff_names_in_any_case(tmp_path, small_crop, name):
    write_bgrn(tmp_path / name, small_crop)
    np.testing.assert_array_equal(read_bgrn_array(tmp_path / name), small_crop)


SPELLINGS = ("same path", "relative detour", "symbolic link", "hard link")


def spell(crop: Path, spelling: str) -> Path:
    """Another name of the file ``crop``, as a user might type it."""
    if spelling == "same path":
        return crop
    if spelling == "relative detour":
        (crop.parent / "sub").mkdir()
        return crop.parent / "sub" / ".." / crop.name
    other = crop.parent / "other_name.tif"
    if spelling == "symbolic link":
        other.symlink_to(crop)
    else:
        other.hardlink_to(crop)
    return other


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_output_that_is_the_input_is_refused(tmp_path, small_crop, spelling):
    crop = tmp_path / "crop.tif"
    write_bgrn(crop, small_crop)
    output = spell(crop, spelling)
    with pytest.raises(ArgumentError) as error:
        check_output_path(output, keep=(crop,))
    assert_one_line_error(error, "is the input file", "another output name")
    check_output_path(tmp_path / "other.tif", keep=(crop,))  # another file is fine
    assert same_file(output, crop) and not same_file(tmp_path / "other.tif", crop)


def test_check_output_path_refuses_folders_and_missing_folders(tmp_path):
    (tmp_path / "dir.tif").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        check_output_path(tmp_path / "dir.tif")
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "no" / "out.tif")
    with pytest.raises(ArgumentError, match=r"\.npy"):
        check_output_path(tmp_path / "flow.txt", (".npy",))


def write_by_tiles(path, array, tile: int, **kwargs) -> None:
    """``array`` through :func:`write_bgrn_rows`, tile by tile in row-major order."""
    height, width = array.shape[:2]
    with write_bgrn_rows(path, height, width, **kwargs) as out:
        for y in range(0, height, tile):
            for x in range(0, width, tile):
                out[y:y + tile, x:x + tile] = array[y:y + tile, x:x + tile]


@pytest.mark.parametrize("layout", ["interleaved", "planar"])
def test_rows_written_by_tiles_give_the_file_of_the_whole_image(crop_path, tmp_path, layout):
    array, info = read_bgrn(crop_path)
    like = TiffInfo(layout=layout, extratags=info.extratags, resolution=info.resolution,
                    resolution_unit=info.resolution_unit)
    write_bgrn(tmp_path / "whole.tif", array, like=like, scale=2)
    write_by_tiles(tmp_path / "tiles.tif", array, 48, like=like, scale=2)
    assert (tmp_path / "tiles.tif").read_bytes() == (tmp_path / "whole.tif").read_bytes()


def test_rows_out_of_order_or_missing_leave_no_file(tmp_path, small_crop):
    out = tmp_path / "out.tif"
    with pytest.raises(ValueError, match="out of order"):
        with write_bgrn_rows(out, SIDE, SIDE) as writer:
            writer[20:40, :] = small_crop[20:40]
    with pytest.raises(ValueError, match="columns written"):
        with write_bgrn_rows(out, SIDE, SIDE) as writer:
            writer[0:20, 0:10] = small_crop[0:20, 0:10]
            writer[20:40, :] = small_crop[20:40]
    with pytest.raises(ValueError, match="30 of 40 columns written"):  # as many columns, some twice
        with write_bgrn_rows(out, SIDE, SIDE) as writer:
            writer[0:20, 0:30] = small_crop[0:20, 0:30]
            writer[0:20, 0:10] = small_crop[0:20, 0:10]
            writer[20:40, :] = small_crop[20:40]
    with pytest.raises(ValueError, match="were written"):
        with write_bgrn_rows(out, SIDE, SIDE) as writer:
            writer[0:20, :] = small_crop[0:20]
    assert list(tmp_path.iterdir()) == []

