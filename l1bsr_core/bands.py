"""Band order, radiometric scale and scale factor: the constants every module shares.

Every band axis in this project follows :data:`BAND_NAMES`: index 0 is blue (Sentinel-2 B2),
1 green (B3), 2 red (B4), 3 near infrared (B8), all at 10 m in the L1B input.
Green is the geometric reference: registration warps B, R and NIR onto G, and the
super-resolved output has all bands in the input G band's geometry.
"""

from __future__ import annotations

BAND_NAMES: tuple[str, ...] = ("B", "G", "R", "NIR")
"""Short names of the four bands, in file order."""

SENTINEL2_BANDS: tuple[str, ...] = ("B2", "B3", "B4", "B8")
"""Sentinel-2 band identifiers, in file order."""

N_BANDS = len(BAND_NAMES)

BLUE, GREEN, RED, NIR = range(N_BANDS)
"""Indices of the bands on a band axis."""

REFERENCE_BAND = GREEN
"""The band every other band is registered onto."""

MOVING_BANDS: tuple[int, ...] = (BLUE, RED, NIR)
"""The bands registered onto :data:`REFERENCE_BAND`, in the order of a flow's first axis."""

MOVING_BAND_NAMES: tuple[str, ...] = tuple(BAND_NAMES[band] for band in MOVING_BANDS)
"""Short names of :data:`MOVING_BANDS` ("B", "R", "NIR"), in the same order."""

BAND_LINE_OFFSETS = (-341.0, 0.0, 311.0, -171.0)
"""Reference-line offset of B, G, R, NIR relative to G on detector 1, in lines (1.5659 ms each),
from a real S2A L1B datastrip (Sen2VM test resources; all detectors in
:mod:`l1bsr_core.products.timing`); even detectors have the opposite signs (+337 / −312 / +169 on
detector 2): odd and even detectors see the bands in opposite order."""

BAND_TIME_RATIOS = tuple(offset / -BAND_LINE_OFFSETS[BLUE] for offset in BAND_LINE_OFFSETS)
"""Each band's time lag behind G as a fraction of B's (B −1, G 0, R +0.91, NIR −0.50), in band
order; the signs flip on even detectors, so the ratios between bands are the same on all."""

RADIOMETRIC_SCALE = 400.0
"""Digital numbers are divided by this before entering REC and multiplied after (published value)."""

SCALE_FACTOR = 2
"""Super-resolution factor: 10 m in, 5 m out."""

INPUT_GSD_M = 10.0
"""Ground sampling distance of the L1B input bands, in metres."""

DN_MAX = 65535
"""Largest value a uint16 output can hold."""

NO_DATA = 0
"""Digital number of a pixel without a measurement (outside the swath, lost data): it is never
a radiance, so it stays no-data in every output and is left out of band statistics."""


def band_index(name: str) -> int:
    """Return the band-axis index of a band given by short name ("NIR") or S2 name ("B8")."""
    key = name.strip().upper()
    for names in (BAND_NAMES, SENTINEL2_BANDS):
        if key in names:
            return names.index(key)
    raise ValueError(
        f"unknown band {name!r}: expected one of {', '.join(BAND_NAMES)} "
        f"or {', '.join(SENTINEL2_BANDS)}"
    )


def band_pairs(image, axis: int = -1):
    """The (band, reference, moving) triples of registration: G and each of B, R, NIR in turn.

    Args:
        image: a numpy array or torch tensor with a band axis of :data:`N_BANDS` bands in order
            B, G, R, NIR (e.g. (H, W, 4) numpy, or (N, 4, H, W) torch with ``axis=1``).
        axis: the band axis.

    Yields:
        ``(band, reference, moving)`` for ``band`` in :data:`MOVING_BANDS` (the order of a flow's
        first axis): ``reference`` is ``image``'s :data:`REFERENCE_BAND` slice along ``axis``,
        ``moving`` the ``band`` slice (views, the band axis removed).
    """
    index = [slice(None)] * image.ndim

    def take(band: int):
        index[axis] = band
        return image[tuple(index)]

    reference = take(REFERENCE_BAND)
    for band in MOVING_BANDS:
        yield band, reference, take(band)
