"""A small L1B product written for tests and benchmarks: real schema, simulated pixels, known truth.

The ground is a procedural landscape (:func:`l1bsr_core.scenes.make_scene`, used at 10 m).
Detector k (0-based) sees ground columns from ``k · (cols − overlap)`` and rows from its own
along-track offset (odd and even detectors differ, as the real fore/aft stagger does). Within a
detector, G sees the ground directly and B, R, NIR see it displaced by a constant coarse offset of
tens of pixels plus a smooth field of about a pixel, both proportional to the band's time lag
behind G, so their signs flip between odd and even detectors
(:data:`l1bsr_core.bands.BAND_LINE_OFFSETS`). Images go
through the project's one warp (bicubic), Gaussian noise and uint16 quantisation, and are written
as lossless JPEG 2000 through GDAL, with metadata in the Sentinel-2 L1B schema: either generated
here, or copied from a real datastrip (``template``, e.g. ``../shared/data/l1b-product-metadata``).

Truth convention (the :func:`l1bsr_core.warp.warp` one): ``truth[d][i]`` is the (2, H, W) flow
(dx, dy) of moving band i (B, R, NIR) onto G in detector d's strip: ``G(y, x) ≈ band(y + dy, x + dx)``.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.errors import NotGeoreferencedWarning

from ..arrays import to_uint16
from ..bands import BAND_LINE_OFFSETS, MOVING_BANDS
from ..scenes import make_scene
from ..simulate import invert_flow
from ..warp import warp
from .layout import image_stem
from .metadata import BGRN_BAND_FILES, BGRN_BAND_IDS
from .timing import LINE_PERIOD_MS

COARSE_PX_PER_LAG = 0.1
"""Simulated coarse band offset (along track) per line period of lag: B −34 px, R +31, NIR −17."""
ACROSS_PX_PER_LAG = 0.012
"""Simulated coarse across-track offset per line period of lag: B −4 px, R +3.7, NIR −2."""
SMOOTH_PX = 1.2
"""Amplitude of the smooth part of B's flow (scaled by each band's lag ratio)."""
EVEN_DETECTOR_ROWS = 37
"""Along-track offset of even detectors' rows against odd ones, px."""
NOISE_DN = 2.0
PROCESSING = "N05.00"
SENSING = "20200816T1202"
NAMESPACE_DS = "https://psd-15.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1B_Datastrip_Metadata.xsd"
NAMESPACE_GR = "https://psd-15.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1B_Granule_Metadata.xsd"


@dataclass
class SyntheticProduct:
    """Where the product is and what is true about it."""

    path: Path
    detectors: list[int]
    strip_rows: int
    cols: int
    overlap: int
    truth: dict[int, np.ndarray] = field(repr=False)
    """Per detector, (3, 2, strip_rows, cols) float32 flows of B, R, NIR onto G (px)."""
    detector_rows: dict[int, int] = field(default_factory=dict)
    """Ground row of each detector's first line."""
    images: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    """Per detector, the (strip_rows, cols, 4) uint16 BGRN strip as written (bands not aligned)."""

    def coarse(self, detector: int) -> np.ndarray:
        """(3, 2) mean flow (dx, dy) of B, R, NIR onto G in a detector: the coarse offsets."""
        return self.truth[detector].mean(axis=(2, 3))


def _sign(detector: int) -> float:
    return 1.0 if detector % 2 else -1.0


def _smooth_field(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """(2, rows, cols) smooth field of amplitude ~:data:`SMOOTH_PX` (a few long plane waves)."""
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    out = np.zeros((2, rows, cols), np.float32)
    for component in range(2):
        for _ in range(2):
            angle, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
            wavelength = rng.uniform(300.0, 900.0)
            out[component] += 0.5 * SMOOTH_PX * np.sin(
                2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / wavelength + phase)
    return out


def _granule_name(detector: int, index: int) -> str:
    return f"S2A_OPER_MSI_L1B_GR_SIMU_20260101T000000_S{SENSING}{index:02d}_D{detector:02d}_{PROCESSING}"


def _metadata_name(granule: str) -> str:
    """The metadata file's name (without .xml) of a granule: GDAL derives the image names from it."""
    return re.sub(r"_N\d\d\.\d\d$", "", granule).replace("_MSI_", "_MTD_", 1)


def _datastrip_xml(datastrip: str, granules: dict[int, list[tuple[str, int]]], detectors: list[int]) -> str:
    stamps = []
    for band_id, lag in zip(BGRN_BAND_IDS, BAND_LINE_OFFSETS):
        rows = []
        for detector in detectors:
            seconds = 30.0 + _sign(detector) * lag * LINE_PERIOD_MS / 1000.0
            rows.append(f"<Detector detectorId=\"{detector:02d}\"><REFERENCE_LINE>1</REFERENCE_LINE>"
                        f"<GPS_TIME>2020-08-16T12:02:{seconds:09.6f}</GPS_TIME></Detector>")
        stamps.append(f"<Band_Time_Stamp bandId=\"{band_id}\">{''.join(rows)}</Band_Time_Stamp>")
    listing = "".join(
        f"<Detector detectorId=\"{d:02d}\"><Granule_List>"
        + "".join(f"<Granule granuleId=\"{name}\"><POSITION>{row + 1}</POSITION></Granule>" for name, row in grs)
        + "</Granule_List></Detector>"
        for d, grs in granules.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<n1:Level-1B_DataStrip_ID xmlns:n1="{NAMESPACE_DS}" '
            f'datastripIdentifier="{datastrip}"><n1:General_Info><Datatake_Info><SPACECRAFT_NAME>Sentinel-2A'
            f'</SPACECRAFT_NAME></Datatake_Info></n1:General_Info><n1:Image_Data_Info><Sensor_Configuration>'
            f'<Time_Stamp><LINE_PERIOD unit="ms">{LINE_PERIOD_MS}</LINE_PERIOD>{"".join(stamps)}</Time_Stamp>'
            f'</Sensor_Configuration><Granules_Information><Detector_List>{listing}</Detector_List>'
            f'</Granules_Information></n1:Image_Data_Info></n1:Level-1B_DataStrip_ID>\n')


def _granule_xml(name: str, datastrip: str, detector: int, first_row: int, rows: int, cols: int,
                 corners: list[tuple[float, float]]) -> str:
    ring = corners + corners[:1]
    positions = " ".join(f"{lat:.9f} {lon:.9f} 0" for lat, lon in ring)
    # GDAL's SENTINEL2 driver lists a granule's bands from its quality masks
    masks = "".join(f'<MASK_FILENAME bandId="{band_id}" detectorId="{detector:02d}" type="MSK_QUALIT">'
                    f'{name}_B{band[1:]}_MSK</MASK_FILENAME>' for band_id, band in zip(BGRN_BAND_IDS, BGRN_BAND_FILES))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<n1:Level-1B_Granule_ID xmlns:n1="{NAMESPACE_GR}">'
            f'<n1:General_Info><GRANULE_ID>{name}</GRANULE_ID><DETECTOR_ID>{detector:02d}</DETECTOR_ID>'
            f'<DATASTRIP_ID>{datastrip}</DATASTRIP_ID><SENSING_TIME>2020-08-16T12:02:30.000000Z</SENSING_TIME>'
            f'</n1:General_Info><n1:Geometric_Info><Granule_Footprint><Granule_Footprint><Footprint>'
            f'<EXT_POS_LIST>{positions}</EXT_POS_LIST></Footprint></Granule_Footprint>'
            f'<RASTER_CS_TYPE>POINT</RASTER_CS_TYPE><PIXEL_ORIGIN>1</PIXEL_ORIGIN></Granule_Footprint>'
            f'<Granule_Position><POSITION>{first_row + 1}</POSITION></Granule_Position>'
            f'<Granule_Dimensions><Size resolution="10"><NROWS>{rows}</NROWS><NCOLS>{cols}</NCOLS></Size>'
            f'</Granule_Dimensions></n1:Geometric_Info><n1:Quality_Indicators_Info><Pixel_Level_QI '
            f'geometry="FULL_RESOLUTION">{masks}</Pixel_Level_QI></n1:Quality_Indicators_Info>'
            f'</n1:Level-1B_Granule_ID>\n')


def _corners(ground_row: int, ground_col: int, rows: int, cols: int) -> list[tuple[float, float]]:
    """(lat, lon) of a granule's corners on a plain 10 m grid near 33° N (descending: rows go south)."""
    degrees = 10.0 / 111_000.0

    def at(r, c):
        return (33.8 - r * degrees, -19.0 + c * degrees)

    return [at(ground_row, ground_col), at(ground_row + rows, ground_col),
            at(ground_row + rows, ground_col + cols), at(ground_row, ground_col + cols)]


def _write_jp2(path: Path, band: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # L1B band files carry no geotransform: the granule metadata has the GCPs
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        _write_band(path, band)


def _write_band(path: Path, band: np.ndarray) -> None:
    with rasterio.open(path, "w", driver="JP2OpenJPEG", width=band.shape[1], height=band.shape[0], count=1,
                       dtype="uint16", QUALITY=100, REVERSIBLE="YES") as dataset:
        dataset.write(band, 1)


def _real_templates(template: Path, detectors: list[int], granules: int) -> tuple[Path, dict[int, list[Path]]]:
    """The real datastrip metadata file and each detector's first granule metadata files."""
    root = next(template.rglob("DATASTRIP")).parent
    datastrip = next((root / "DATASTRIP").glob("*/*.xml"))
    found: dict[int, list[tuple[int, Path]]] = {}
    for xml in (root / "GRANULE").glob("*/*.xml"):
        text = xml.read_text()
        detector = int(re.search(r"<DETECTOR_ID[^>]*>(\d+)<", text).group(1))
        position = int(re.search(r"<POSITION>(\d+)</POSITION>", text).group(1))
        found.setdefault(detector, []).append((position, xml))
    return datastrip, {d: [p for _, p in sorted(found[d])[:granules]] for d in detectors}


def write_synthetic_product(folder, *, detectors=(1, 2, 3), granules: int = 2, rows: int = 256, cols: int = 400,
                            overlap: int = 140, seed: int = 0, template=None, name: str = "S2A_MSIL1B_SIMU.SAFE",
                            skip_granules=()) -> SyntheticProduct:
    """Write a small L1B product under ``folder/name`` and return it with its truth.

    Args:
        detectors: detector numbers (1–12), adjacent ones overlapping by ``overlap`` px.
        granules: granules per detector; ``rows`` × ``cols`` each (real products: 2304 × 2552).
        template: a folder with real L1B metadata (``DATASTRIP``, ``GRANULE``): its datastrip file
            and granule files are copied (sizes and positions set to ``rows``, ``cols``) instead
            of generated ones.
        skip_granules: (detector, index) granules listed by the datastrip but left out of the product.
    """
    detectors = list(detectors)
    rng = np.random.default_rng(seed)
    strip_rows = rows * granules
    margin = int(np.ceil(max(abs(lag) for lag in BAND_LINE_OFFSETS) * COARSE_PX_PER_LAG + 2 * SMOOTH_PX)) + 8
    ground_rows = strip_rows + EVEN_DETECTOR_ROWS + 2 * margin
    ground_cols = len(detectors) * (cols - overlap) + overlap + 2 * margin
    ground = torch.from_numpy(make_scene(ground_rows, ground_cols, seed=seed))[:, None]  # (4, 1, H, W)
    path = Path(folder) / name
    if path.exists():
        shutil.rmtree(path)
    datastrip_id = f"S2A_OPER_MSI_L1B_DS_SIMU_20260101T000000_S{SENSING}00_{PROCESSING}"
    real = _real_templates(Path(template), detectors, granules) if template is not None else None
    listing: dict[int, list[tuple[str, int]]] = {}
    truth, detector_rows, images = {}, {}, {}
    smooth = _smooth_field(strip_rows, cols, rng)
    for k, detector in enumerate(detectors):
        row0 = margin + (0 if detector % 2 else EVEN_DETECTOR_ROWS)
        col0 = margin + k * (cols - overlap)
        detector_rows[detector] = row0 - margin
        sign = _sign(detector)
        flows = np.zeros((4, 2, strip_rows, cols), np.float32)
        for band, lag in enumerate(BAND_LINE_OFFSETS):
            flows[band, 0] = sign * lag * ACROSS_PX_PER_LAG + sign * lag / -BAND_LINE_OFFSETS[0] * smooth[0]
            flows[band, 1] = sign * lag * COARSE_PX_PER_LAG + sign * lag / -BAND_LINE_OFFSETS[0] * smooth[1]
        window = ground[:, :, row0:row0 + strip_rows, col0:col0 + cols]
        # band b at p sees the ground at p + flows[b]: warp a larger window so no reflection enters
        big = ground[:, :, row0 - margin:row0 + strip_rows + margin, col0 - margin:col0 + cols + margin]
        padded = torch.nn.functional.pad(torch.from_numpy(flows), (margin, margin, margin, margin), mode="replicate")
        bands = warp(big, padded)[:, :, margin:-margin, margin:-margin][:, 0].numpy()
        inverse = invert_flow(padded[list(MOVING_BANDS)].double())  # band(p + f(p)) = G(p)
        truth[detector] = inverse[:, :, margin:-margin, margin:-margin].float().numpy()
        bands[1] = window[1, 0].numpy()
        noisy = bands + rng.standard_normal(bands.shape).astype(np.float32) * NOISE_DN
        image = np.maximum(to_uint16(noisy), 1)  # 0 is no-data
        images[detector] = np.moveaxis(image, 0, -1)
        listing[detector] = []
        for index in range(granules):
            granule = real[1][detector][index].parent.name if real else _granule_name(detector, index)
            listing[detector].append((granule, index * rows))
            if (detector, index) in skip_granules:
                continue
            folder_g = path / "GRANULE" / granule
            folder_g.mkdir(parents=True)
            rows_slice = slice(index * rows, (index + 1) * rows)
            if real:
                metadata = real[1][detector][index].name
                text = real[1][detector][index].read_text()
                text = re.sub(r"<NROWS>\d+</NROWS>", f"<NROWS>{rows}</NROWS>", text, count=1)
                text = re.sub(r"<NCOLS>\d+</NCOLS>", f"<NCOLS>{cols}</NCOLS>", text, count=1)
                text = re.sub(r"<POSITION>\d+</POSITION>", f"<POSITION>{index * rows + 1}</POSITION>", text, count=1)
            else:
                metadata = f"{_metadata_name(granule)}.xml"
                corners = _corners(row0 - margin + index * rows, col0 - margin, rows, cols)
                text = _granule_xml(granule, datastrip_id, detector, index * rows, rows, cols, corners)
            (folder_g / metadata).write_text(text)
            stem = image_stem(metadata)  # the images are named as GDAL looks for them
            for band, suffix in enumerate(BGRN_BAND_FILES):
                _write_jp2(folder_g / "IMG_DATA" / f"{stem}_{suffix}.jp2", image[band, rows_slice])
    ds_folder = path / "DATASTRIP" / (real[0].parent.name if real else datastrip_id)
    ds_folder.mkdir(parents=True)
    if real:
        shutil.copy(real[0], ds_folder / real[0].name)
    else:
        (ds_folder / f"S2A_OPER_MTD_L1B_DS_SIMU_{SENSING}.xml").write_text(
            _datastrip_xml(datastrip_id, listing, detectors))
    return SyntheticProduct(path, detectors, strip_rows, cols, overlap, truth, detector_rows, images)
