"""A small Sentinel-2 L1C or L2A product in the real SAFE layout, written for tests and benchmarks.

The layout is the one GDAL's SENTINEL2 driver opens (the "SAFE compact" naming of products since
2016, as in GDAL's own test products): ``<NAME>.SAFE/MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml`` (the
granule list with each band's image file, the quantification value, and from processing baseline
04.00 on the ``RADIO_ADD_OFFSET`` (L1C) or ``BOA_ADD_OFFSET`` (L2A) of each band),
``GRANULE/<id>/MTD_TL.xml`` (the tile's CRS, size and upper-left corner) and one lossless JPEG 2000
per band (``IMG_DATA/T<tile>_<time>_B02.jp2`` for L1C, ``IMG_DATA/R10m/…_B02_10m.jp2`` for L2A).
Only the four 10 m bands B02, B03, B04, B08 are written; the 20 m and 60 m bands are not listed.

The digital numbers given are written as they are: for a baseline ≥ 04.00 product they must
already include the +1000 offset (``reflectance = (DN + offset) / quantification``, offset −1000).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.transform import from_origin

from ..bands import N_BANDS
from ..errors import ArgumentError
from ..radiometry import PRODUCT_OFFSET_DN, QUANTIFICATION
from .tile_product import (
    ALL_BAND_IDS,
    BGRN_TILE_BANDS,
    LEVELS,
    OFFSET_BASELINE,
    parse_baseline,
)

SENSING = "20230823T095559"
TILE_ID = "T34UCF"
DEFAULT_EPSG = 32634
DEFAULT_ORIGIN = (300000.0, 6100020.0)
"""Upper-left corner (x, y) of the tile written by default, metres in :data:`DEFAULT_EPSG`."""
PIXEL_M = 10.0
JP2_TILE_PX = 1024
"""JPEG 2000 tile side, as in real products (a window is decoded tile by tile, not whole)."""


@dataclass(frozen=True)
class TileProduct:
    """Where a written product is and what it holds."""

    path: Path
    """The ``.SAFE`` folder, or the ``.zip`` holding it."""
    level: str
    baseline: str
    dn: np.ndarray
    """(H, W, 4) uint16 stored digital numbers, bands B, G, R, NIR (offset included)."""
    epsg: int
    origin: tuple[float, float]

    @property
    def reflectance(self) -> np.ndarray:
        """(H, W, 4) float32 reflectance of :attr:`dn`, NaN where DN is 0 (no-data)."""
        offset = PRODUCT_OFFSET_DN if parse_baseline(self.baseline) >= OFFSET_BASELINE else 0
        out = (self.dn.astype(np.float32) + offset) / QUANTIFICATION
        out[self.dn == 0] = np.nan
        return out


def product_name(level: str, baseline: str) -> str:
    kind = "MSIL1C" if level == "L1C" else "MSIL2A"
    return f"S2B_{kind}_{SENSING}_N{baseline.replace('.', '')}_R122_{TILE_ID}_{SENSING}.SAFE"


def _image_path(level: str, granule: str, band: str) -> str:
    number = f"B{int(band[1:]):02d}" if band[1:].isdigit() else band
    if level == "L1C":
        return f"GRANULE/{granule}/IMG_DATA/{TILE_ID}_{SENSING}_{number}"
    return f"GRANULE/{granule}/IMG_DATA/R10m/{TILE_ID}_{SENSING}_{number}_10m"


def _radiometry_xml(level: str, baseline: str) -> str:
    with_offset = parse_baseline(baseline) >= OFFSET_BASELINE
    if level == "L1C":
        xml = f"<QUANTIFICATION_VALUE unit=\"none\">{QUANTIFICATION}</QUANTIFICATION_VALUE>\n"
        if with_offset:
            xml += "<Radiometric_Offset_List>\n" + "".join(
                f"<RADIO_ADD_OFFSET band_id=\"{i}\">{PRODUCT_OFFSET_DN}</RADIO_ADD_OFFSET>\n"
                for i in range(len(ALL_BAND_IDS))) + "</Radiometric_Offset_List>\n"
        return xml
    xml = ("<QUANTIFICATION_VALUES_LIST>\n"
           f"<BOA_QUANTIFICATION_VALUE unit=\"none\">{QUANTIFICATION}</BOA_QUANTIFICATION_VALUE>\n"
           "<AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE>\n"
           "<WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</WVP_QUANTIFICATION_VALUE>\n"
           "</QUANTIFICATION_VALUES_LIST>\n")
    if with_offset:
        xml += "<BOA_ADD_OFFSET_VALUES_LIST>\n" + "".join(
            f"<BOA_ADD_OFFSET band_id=\"{i}\">{PRODUCT_OFFSET_DN}</BOA_ADD_OFFSET>\n"
            for i in range(len(ALL_BAND_IDS))) + "</BOA_ADD_OFFSET_VALUES_LIST>\n"
    return xml


def _spectral_xml() -> str:
    resolutions = {"B2": 10, "B3": 10, "B4": 10, "B8": 10, "B1": 60, "B9": 60, "B10": 60}
    return "<Spectral_Information_List>\n" + "".join(
        f"<Spectral_Information bandId=\"{i}\" physicalBand=\"{band}\"><RESOLUTION>{resolutions.get(band, 20)}"
        "</RESOLUTION></Spectral_Information>\n" for i, band in enumerate(ALL_BAND_IDS)
    ) + "</Spectral_Information_List>\n"


def _product_xml(level: str, baseline: str, granule: str) -> str:
    root = "Level-1C_User_Product" if level == "L1C" else "Level-2A_User_Product"
    product_type = "S2MSI1C" if level == "L1C" else "S2MSI2A"
    images = "".join(f"<IMAGE_FILE>{_image_path(level, granule, band)}</IMAGE_FILE>\n" for band in BGRN_TILE_BANDS)
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        f"<n1:{root} xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-{level[1:]}.xsd\">\n"
        "<n1:General_Info>\n<Product_Info>\n"
        f"<PRODUCT_URI>{escape(product_name(level, baseline))}</PRODUCT_URI>\n"
        f"<PROCESSING_LEVEL>Level-{level[1:]}</PROCESSING_LEVEL>\n"
        f"<PRODUCT_TYPE>{product_type}</PRODUCT_TYPE>\n"
        f"<PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>\n"
        "<Query_Options completeSingleTile=\"true\"><PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT></Query_Options>\n"
        "<Product_Organisation><Granule_List>\n"
        f"<Granule datastripIdentifier=\"DS\" granuleIdentifier=\"{granule}\" imageFormat=\"JPEG2000\">\n"
        f"{images}</Granule>\n</Granule_List></Product_Organisation>\n"
        "</Product_Info>\n<Product_Image_Characteristics>\n"
        "<Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>"
        "<SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>\n"
        "<Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>"
        "<SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>\n"
        f"{_radiometry_xml(level, baseline)}{_spectral_xml()}"
        "</Product_Image_Characteristics>\n</n1:General_Info>\n"
        f"</n1:{root}>\n"
    )


def _tile_xml(level: str, epsg: int, origin: tuple[float, float], height: int, width: int) -> str:
    root = "Level-1C_Tile_ID" if level == "L1C" else "Level-2A_Tile_ID"
    sizes = "".join(
        f"<Size resolution=\"{res}\"><NROWS>{-(-height * 10 // res)}</NROWS><NCOLS>{-(-width * 10 // res)}</NCOLS>"
        "</Size>\n" for res in (10, 20, 60))
    positions = "".join(
        f"<Geoposition resolution=\"{res}\"><ULX>{origin[0]:.0f}</ULX><ULY>{origin[1]:.0f}</ULY>"
        f"<XDIM>{res}</XDIM><YDIM>-{res}</YDIM></Geoposition>\n" for res in (10, 20, 60))
    return (
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
        f"<n1:{root} xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-{level[1:]}_Tile_Metadata.xsd\">\n"
        "<n1:Geometric_Info>\n<Tile_Geocoding metadataLevel=\"Brief\">\n"
        f"<HORIZONTAL_CS_NAME>WGS84 / UTM</HORIZONTAL_CS_NAME>\n<HORIZONTAL_CS_CODE>EPSG:{epsg}</HORIZONTAL_CS_CODE>\n"
        f"{sizes}{positions}</Tile_Geocoding>\n</n1:Geometric_Info>\n</n1:{root}>\n"
    )


def write_tile_product(
    out_dir,
    dn: np.ndarray,
    *,
    level: str = "L2A",
    baseline: str = "05.09",
    epsg: int = DEFAULT_EPSG,
    origin: tuple[float, float] = DEFAULT_ORIGIN,
    as_zip: bool = False,
    omit_bands: tuple[str, ...] = (),
) -> TileProduct:
    """Write an L1C or L2A product holding ``dn`` under ``out_dir``.

    Args:
        dn: (H, W, 4) uint16 stored digital numbers, bands B, G, R, NIR (B02, B03, B04, B08);
            0 is no-data. For ``baseline`` ≥ 04.00 they include the +1000 offset.
        level: "L1C" or "L2A".
        baseline: processing baseline, "NN.NN" (before 04.00: no offset in the metadata).
        epsg, origin: the tile's CRS and upper-left corner (metres); pixels are 10 m.
        as_zip: write ``<NAME>.zip`` holding ``<NAME>.SAFE/`` instead of the folder.
        omit_bands: band files not to write (e.g. ``("B08",)``), to test a damaged product.

    Returns:
        The product's path and what it holds.
    """
    if level not in LEVELS:
        raise ArgumentError(f"level {level!r}; expected one of {', '.join(LEVELS)}")
    dn = np.asarray(dn)
    if dn.ndim != 3 or dn.shape[2] != N_BANDS or dn.dtype != np.uint16:
        raise ArgumentError(f"dn of shape {dn.shape} and type {dn.dtype}; expected (H, W, {N_BANDS}) uint16")
    height, width = dn.shape[:2]
    out_dir = Path(out_dir)
    safe = out_dir / product_name(level, baseline)
    granule = f"{level}_{TILE_ID}_A033753_{SENSING}"
    (safe / "GRANULE" / granule / "IMG_DATA" / ("R10m" if level == "L2A" else "")).mkdir(parents=True, exist_ok=True)
    (safe / f"MTD_MSI{level}.xml").write_text(_product_xml(level, baseline, granule))
    (safe / "GRANULE" / granule / "MTD_TL.xml").write_text(_tile_xml(level, epsg, origin, height, width))
    transform = from_origin(origin[0], origin[1], PIXEL_M, PIXEL_M)
    for index, band in enumerate(BGRN_TILE_BANDS):
        number = f"B{int(band[1:]):02d}"
        if number in omit_bands:
            continue
        path = safe / f"{_image_path(level, granule, band)}.jp2"
        with rasterio.open(path, "w", driver="JP2OpenJPEG", width=width, height=height, count=1,
                           dtype="uint16", crs=CRS.from_epsg(epsg), transform=transform,
                           QUALITY=100, REVERSIBLE="YES", BLOCKXSIZE=JP2_TILE_PX, BLOCKYSIZE=JP2_TILE_PX) as image:
            image.write(dn[..., index], 1)
    path = safe
    if as_zip:
        path = out_dir / f"{safe.stem}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for file in sorted(safe.rglob("*")):
                archive.write(file, file.relative_to(out_dir).as_posix())
        shutil.rmtree(safe)
    return TileProduct(path, level, baseline, dn.copy(), epsg, origin)
