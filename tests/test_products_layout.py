"""Finding an L1B product's datastrip and granules in a SAFE folder or its zip; refusing the rest."""

import shutil
import zipfile

import pytest

from l1bsr_core.errors import InputError
from l1bsr_core.products import find_product, is_product
from l1bsr_core.products.process import open_product


def test_folder_and_zip_list_the_same_granules(synthetic_product, synthetic_product_zip):
    folder, archive = find_product(synthetic_product.path), find_product(synthetic_product_zip)
    assert [g.name for g in folder.granules] == [g.name for g in archive.granules]
    assert len(folder.granules) == 6
    assert archive.archive is not None and folder.archive is None
    assert archive.read_bytes(archive.datastrip) == folder.read_bytes(folder.datastrip)
    assert archive.gdal_path(archive.granules[0].bands[0]).startswith("/vsizip/")


def test_product_found_from_a_parent_folder(synthetic_product):
    assert find_product(synthetic_product.path.parent).datastrip == find_product(synthetic_product.path).datastrip
    assert is_product(synthetic_product.path)


@pytest.mark.parametrize("name, level", [("S2B_MSIL1C_20241019T120219_N0511_R023_T28RBS_20241019T140000.SAFE", "L1C"),
                                         ("S2B_MSIL2A_20241019T120219_N0511_R023_T28RBS_20241019T150000.SAFE", "L2A")])
def test_other_levels_say_what_they_are(tmp_path, name, level):
    product = tmp_path / name
    (product / "GRANULE" / f"{level}_T28RBS_A040000_20241019T120219").mkdir(parents=True)
    with pytest.raises(InputError, match=f"named like a Sentinel-2 {level} product but holds no MTD_MSI{level}.xml"):
        find_product(product)
    assert not is_product(product)


def test_bad_paths_are_refused_in_one_line(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        find_product(tmp_path / "missing.SAFE")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="is not a Sentinel-2 L1B product: no DATASTRIP"):
        find_product(tmp_path / "plain")
    (tmp_path / "crop.tif").write_bytes(b"II*\x00")
    with pytest.raises(InputError, match="is a file; expected an L1B SAFE folder or its .zip"):
        find_product(tmp_path / "crop.tif")


def test_truncated_zip_is_refused(synthetic_product_zip, tmp_path):
    data = synthetic_product_zip.read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(InputError, match="not a readable zip") as error:
        find_product(broken)
    assert "\n" not in str(error.value)


def test_missing_band_file_is_named(synthetic_product, tmp_path):
    copy = tmp_path / synthetic_product.path.name
    shutil.copytree(synthetic_product.path, copy)
    victim = sorted(copy.glob("GRANULE/*/IMG_DATA/*_B08.jp2"))[0]
    victim.unlink()
    with pytest.raises(InputError, match=f"lacks its band file {victim.name}"):
        open_product(copy)


def test_missing_band_file_in_a_zip_is_named(synthetic_product, tmp_path):
    source = zipfile.ZipFile(shutil.make_archive(str(tmp_path / "p"), "zip", synthetic_product.path.parent,
                                                 synthetic_product.path.name))
    dropped = next(n for n in source.namelist() if n.endswith("_B02.jp2"))
    with zipfile.ZipFile(tmp_path / "q.zip", "w") as target:
        for name in source.namelist():
            if name != dropped:
                target.writestr(name, source.read(name))
    with pytest.raises(InputError, match="lacks its band file .*_B02.jp2"):
        open_product(tmp_path / "q.zip")
