"""What an input is, whether the networks were trained for it, and which path it takes.

The networks were trained on Sentinel-2 **L1B** (sensor geometry: bands a few px apart, aliased).
L1C and L2A products are orthorectified onto a map grid with their bands already co-registered
(to about 0.3 px): *outside the networks' domain*. Their super-resolution therefore runs the REC
without its CSR alignment by default (warping bands that are already registered only adds the
flow estimate's own error), and their registration measures the product's residual
misregistration instead of warping. An input of unknown origin is processed as L1B and said to be
of unknown level, outside the networks' known domain until declared L1B. Every output says which
(:meth:`InputDomain.notice`, :meth:`InputDomain.record`).
"""

from __future__ import annotations

from dataclasses import dataclass

L1B, L1C, L2A, ORTHO, UNKNOWN = "L1B", "L1C", "L2A", "L1C/L2A", "unknown"
"""Input levels: ``ORTHO`` is an orthorectified export whose level the file does not say."""
AIRBORNE = "airborne"
"""Airborne imagery made L1B-like by the simulator (the demo's teaching example): bands displaced
like L1B's, so aligned, but another sensor's texture, PSF and noise."""
CO_REGISTERED_LEVELS = (L1C, L2A, ORTHO)
"""Levels whose bands come co-registered (orthorectified products and their exports)."""
DECLARABLE_LEVELS = {"l1b": L1B, "l1c": L1C, "l2a": L2A}
"""``--level`` values a user may declare, and the level each names."""

ALIGNED_PATH = "REC with its CSR alignment of B, R, NIR onto G"
UNALIGNED_PATH = "REC without CSR alignment"
WARP_PATH = "CSR registration (B, R, NIR warped onto G)"
CHECK_PATH = "CSR measurement of the residual misregistration (nothing warped)"
NO_NETWORK_PATH = "bands written as they are (no network)"

TAG_LEVEL = "L1BSR_INPUT_LEVEL"
TAG_DOMAIN = "L1BSR_DOMAIN"
TAG_PATH = "L1BSR_PATH"
"""GeoTIFF metadata items (GDAL dataset tags) written on every output of a georeferenced input."""


@dataclass(frozen=True)
class InputDomain:
    """An input's level and how it was known."""

    level: str
    evidence: str
    """How the level was known, e.g. "L2A product metadata", "map CRS in the GeoTIFF", "--level"."""

    @property
    def in_domain(self) -> bool:
        """True only for L1B: the level the networks were trained on."""
        return self.level == L1B

    @property
    def co_registered(self) -> bool:
        """True for orthorectified input (L1C, L2A or their exports): bands already registered."""
        return self.level in CO_REGISTERED_LEVELS

    def default_align(self) -> bool:
        """Whether super-resolution aligns the bands with CSR unless told otherwise."""
        return not self.co_registered

    def path(self, task: str, *, align: bool) -> str:
        """What runs for ``task`` ("superresolution", "registration" or "none") on this input."""
        if task == "none":
            return NO_NETWORK_PATH
        if task == "superresolution":
            return ALIGNED_PATH if align else UNALIGNED_PATH
        return WARP_PATH if align else CHECK_PATH

    def domain_text(self) -> str:
        if self.in_domain:
            return "L1B: the networks' training domain"
        if self.level == UNKNOWN:
            return ("unknown level: not known to be L1B, so outside the networks' known L1B training domain; "
                    "processed as L1B")
        if self.level == AIRBORNE:
            return "airborne imagery, not Sentinel-2: outside the networks' L1B training domain"
        return (f"{self.level}: outside the networks' L1B training domain (orthorectified, bands "
                "already co-registered)")

    def notice(self, task: str, *, align: bool) -> str:
        """One line for stderr, the page and the manifest."""
        return f"input {self.domain_text()} ({self.evidence}); path: {self.path(task, align=align)}"

    def record(self, task: str, *, align: bool) -> dict:
        """The fields a manifest, a run record and the GeoTIFF tags carry."""
        return {"input_level": self.level, "level_evidence": self.evidence, "in_domain": self.in_domain,
                "domain": self.domain_text(), "path": self.path(task, align=align)}

    def tags(self, task: str, *, align: bool) -> dict[str, str]:
        """GDAL metadata items of an output (:data:`TAG_LEVEL`, :data:`TAG_DOMAIN`, :data:`TAG_PATH`)."""
        return {TAG_LEVEL: self.level, TAG_DOMAIN: self.domain_text(), TAG_PATH: self.path(task, align=align)}
