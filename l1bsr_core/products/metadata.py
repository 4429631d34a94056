"""What GDAL does not expose of an L1B product: the datastrip's band timing and granule positions.

Parsed with :mod:`xml.etree.ElementTree` from the datastrip metadata
(``DATASTRIP/<id>/*MTD_L1B_DS*.xml``) and the granule metadata (``GRANULE/<id>/*MTD_L1B_GR*.xml``)
in the schema of the Sentinel-2 product specification (PSD 15). Elements are looked up by their
local name, so the ``n1:`` namespace of the top-level elements does not matter.

Band ids of the datastrip (S2 numbering): 1 = B02 (B), 2 = B03 (G), 3 = B04 (R), 7 = B08 (NIR).
Detectors are numbered 1 to 12 across track. Line numbers are 1-based in the metadata and 0-based
here (``first_row``).
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import InputError

BGRN_BAND_IDS = (1, 2, 3, 7)
"""Datastrip ``bandId`` of B2, B3, B4, B8: the BGRN bands, in BGRN order."""

BGRN_BAND_FILES = ("B02", "B03", "B04", "B08")
"""Suffixes of the BGRN bands' JPEG 2000 files (``<granule>_B02.jp2`` …), in BGRN order."""

REFERENCE_BAND_ID = 2
"""B03 (G): band lags are counted from it."""

DATASTRIP_ROOT = "Level-1B_DataStrip_ID"
GRANULE_ROOT = "Level-1B_Granule_ID"
"""Local names of the root elements of the two metadata files."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ET.Element, *path: str) -> ET.Element | None:
    """The first descendant reached by the local names ``path`` (each level anywhere below the last)."""
    for name in path:
        element = next((e for e in element.iter() if _local(e.tag) == name and e is not element), None)
        if element is None:
            return None
    return element


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in element if _local(e.tag) == name]


def parse_xml(data: bytes, source: str, root: str) -> ET.Element:
    """Parse metadata bytes; InputError unless they are XML whose root element is ``root``."""
    try:
        element = ET.fromstring(data)
    except ET.ParseError as error:
        raise InputError(f"{source} is not readable XML ({error}); expected Sentinel-2 L1B metadata") from error
    if _local(element.tag) != root:
        raise InputError(f"{source} is a {_local(element.tag)} file; expected {root} (Sentinel-2 L1B metadata)")
    return element


def _text(element: ET.Element, source: str, *path: str) -> str:
    found = _find(element, *path)
    if found is None or found.text is None:
        raise InputError(f"{source} has no {'/'.join(path)}; expected Sentinel-2 L1B metadata")
    return found.text.strip()


@dataclass(frozen=True)
class GranuleMetadata:
    """One granule's metadata file: a detector's 10 m image over about 3.6 s along track."""

    granule_id: str
    detector: int
    first_row: int
    """0-based row of the granule's first line in its detector strip (``POSITION`` − 1)."""
    rows: int
    cols: int
    """10 m size: rows along track, columns across track (2304 × 2552 in real products)."""


def parse_granule(data: bytes, source: str) -> GranuleMetadata:
    root = parse_xml(data, source, GRANULE_ROOT)
    size = next((s for s in root.iter() if _local(s.tag) == "Size" and s.get("resolution") == "10"), None)
    if size is None:
        raise InputError(f"{source} has no 10 m Granule_Dimensions; expected Sentinel-2 L1B granule metadata")
    try:
        return GranuleMetadata(
            granule_id=_text(root, source, "GRANULE_ID"),
            detector=int(_text(root, source, "DETECTOR_ID")),
            first_row=int(_text(root, source, "Granule_Position", "POSITION")) - 1,
            rows=int(_text(size, source, "NROWS")),
            cols=int(_text(size, source, "NCOLS")),
        )
    except ValueError as error:
        raise InputError(f"{source} has a malformed number ({error}); expected Sentinel-2 L1B granule "
                         f"metadata") from error


@dataclass(frozen=True)
class DatastripMetadata:
    """The datastrip's timing and the granules it lists (a product may hold fewer)."""

    datastrip_id: str
    line_period_ms: float
    line_times: dict[tuple[int, int], dt.datetime] = field(repr=False)
    """GPS time of line 1, keyed by (bandId, detector)."""
    granule_rows: dict[str, int] = field(repr=False)
    """0-based first row of each listed granule, by granule id."""

    @property
    def detectors(self) -> list[int]:
        return sorted({detector for _, detector in self.line_times})

    def band_lags(self, detector: int) -> tuple[float, float, float, float]:
        """Acquisition time of line 1 of B, G, R, NIR behind G, in line periods (G is 0).

        For detector 1 of a real S2A datastrip: (−341, 0, +311, −171); the signs flip on even
        detectors (odd and even detectors see the bands in opposite order).
        """
        reference = self.line_times.get((REFERENCE_BAND_ID, detector))
        if reference is None:
            raise InputError(f"the datastrip has no time stamp of B03 for detector {detector}")
        lags = []
        for band_id in BGRN_BAND_IDS:
            time = self.line_times.get((band_id, detector))
            if time is None:
                raise InputError(f"the datastrip has no time stamp of band id {band_id} for detector {detector}")
            lags.append((time - reference).total_seconds() * 1000.0 / self.line_period_ms)
        return tuple(lags)


def parse_datastrip(data: bytes, source: str) -> DatastripMetadata:
    root = parse_xml(data, source, DATASTRIP_ROOT)
    stamp = _find(root, "Time_Stamp")
    if stamp is None:
        raise InputError(f"{source} has no Time_Stamp; expected Sentinel-2 L1B datastrip metadata")
    times = {}
    try:
        period = float(_text(stamp, source, "LINE_PERIOD"))
        for band in _children(stamp, "Band_Time_Stamp"):
            for detector in _children(band, "Detector"):
                time = dt.datetime.fromisoformat(_text(detector, source, "GPS_TIME").rstrip("Z"))
                times[int(band.get("bandId")), int(detector.get("detectorId"))] = time
        rows = {}
        for granule in (e for e in root.iter() if _local(e.tag) == "Granule" and e.get("granuleId")):
            rows[granule.get("granuleId")] = int(_text(granule, source, "POSITION")) - 1
    except (TypeError, ValueError) as error:
        raise InputError(f"{source} has a malformed value ({error}); expected Sentinel-2 L1B datastrip "
                         f"metadata") from error
    datastrip_id = root.get("datastripIdentifier") or _text(root, source, "DATASTRIP_ID")
    return DatastripMetadata(datastrip_id, period, times, rows)
