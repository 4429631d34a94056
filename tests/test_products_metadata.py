"""What the project parses itself: band timing and granule positions (the real metadata when present)."""

import pytest

from l1bsr_core.errors import InputError
from l1bsr_core.products.metadata import parse_datastrip, parse_granule
from l1bsr_core.products.timing import REAL_BAND_LAGS

from support import SHARED_DIR, SHARED_DIR_ENV

REAL_METADATA = SHARED_DIR / "data" / "l1b-product-metadata" / "L1B_all"


@pytest.fixture(scope="module")
def real_metadata():
    if not REAL_METADATA.is_dir():
        pytest.skip(f"needs the real L1B metadata, not found at {REAL_METADATA} (set {SHARED_DIR_ENV})")
    return REAL_METADATA


def test_real_datastrip_timing_flips_between_odd_and_even_detectors(real_metadata):
    path = next((real_metadata / "DATASTRIP").glob("*/*.xml"))
    datastrip = parse_datastrip(path.read_bytes(), str(path))
    assert datastrip.detectors == list(range(1, 13))
    assert datastrip.line_period_ms == pytest.approx(1.565873622)
    assert datastrip.band_lags(1) == pytest.approx((-341, 0, 311, -171), abs=0.01)
    assert datastrip.band_lags(2) == pytest.approx((337, 0, -312, 169), abs=0.01)
    for detector, (b, r, nir) in REAL_BAND_LAGS.items():  # the facts the project carries match the file
        assert datastrip.band_lags(detector) == pytest.approx((b, 0, r, nir), abs=0.5)
    assert len(datastrip.granule_rows) == 72
    assert sorted(set(datastrip.granule_rows.values())) == [0, 2304, 4608, 6912, 9216, 11520]


def test_real_granule_metadata(real_metadata):
    for path in sorted((real_metadata / "GRANULE").glob("*/*.xml")):
        granule = parse_granule(path.read_bytes(), str(path))
        assert (granule.rows, granule.cols) == (2304, 2552)
        assert granule.first_row % 2304 == 0
        assert f"_D{granule.detector:02d}_" in granule.granule_id


def test_synthetic_datastrip_round_trip(synthetic_product):
    path = next((synthetic_product.path / "DATASTRIP").glob("*/*.xml"))
    datastrip = parse_datastrip(path.read_bytes(), str(path))
    assert datastrip.detectors == [1, 2, 3]
    assert datastrip.band_lags(2)[0] == pytest.approx(341, abs=0.01)  # even: B after G


def test_wrong_files_are_refused():
    with pytest.raises(InputError, match="not readable XML"):
        parse_datastrip(b"<unclosed", "ds.xml")
    with pytest.raises(InputError, match="expected Level-1B_Granule_ID"):
        parse_granule(b"<Level-1C_Tile_ID/>", "gr.xml")
    with pytest.raises(InputError, match="has no Time_Stamp"):
        parse_datastrip(b"<Level-1B_DataStrip_ID/>", "ds.xml")
