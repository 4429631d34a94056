"""Random high-resolution training crops: procedural scenes and registered real crops, augmented.

Crops are (4, c, c) float32 DN, bands B, G, R, NIR (Sentinel-2 B2, B3, B4, B8), all bands in one
geometry: what :func:`l1bsr_core.simulate.simulate_pair` degrades into a training pair. The scenes
come from :mod:`l1bsr_core.scenes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..bands import DN_MAX
from ..errors import ArgumentError
from ..scenes import PATH_DN, make_scene, real_scene

SCENE_GLOB = "*.tif"
"""The real crops of a ``real_dir`` folder of scenes (BGRN TIFFs)."""


def check_own_nir_share(share: float) -> None:
    """Raise :class:`~l1bsr_core.errors.ArgumentError` unless ``share`` (``--own-nir``) is in [0, 1]."""
    if not 0.0 <= share <= 1.0:
        raise ArgumentError(f"--own-nir (own_nir) is a share of the procedural scenes, in [0, 1]; got {share}")


class SceneSampler:
    """Endless random high-resolution training crops, procedural and real, augmented.

    Each crop is (4, crop, crop) float32 DN, bands B, G, R, NIR, aligned. With ``real_dir`` given,
    a fraction ``real_fraction`` of the crops are cut from its ``*.tif`` crops after band
    registration (:func:`real_scene`, computed once and cached in memory); the rest are procedural
    scenes of a random landscape (:func:`make_scene`). Augmentation: random flips, 90° rotations
    (scenes are aligned, so no misregistration geometry is rotated) and a brightness gain in
    ``brightness`` applied above the path radiance. Deterministic for a given ``seed``.

    With ``pool > 0``, ``pool`` procedural scenes of ``pool_size`` px are drawn once (lazily, one
    per call until the pool is full) and crops are cut from them: much cheaper per crop than a
    fresh scene each time, which is what training on a 2-core CPU needs.

    ``own_nir`` in [0, 1]: the share of procedural scenes drawn with a NIR of their own texture
    (``make_scene(own_nir=True)``, issue #24), exact in a pool (spread evenly through it), drawn at
    random for fresh scenes; 0 draws exactly the scenes of earlier releases.
    """

    def __init__(self, real_dir: str | Path | None = None, *, procedural: bool = True, crop: int = 128,
                 seed: int = 0, real_fraction: float = 0.5, brightness: tuple[float, float] = (0.8, 1.25),
                 real_margin: int = 8, pool: int = 0, pool_size: int = 384, own_nir: float = 0.0):
        check_own_nir_share(own_nir)
        self.own_nir = float(own_nir)
        self.crop = int(crop)
        self.procedural = procedural
        self.brightness = brightness
        self.real_margin = real_margin
        self._rng = np.random.default_rng(seed)
        self._real: list[np.ndarray] = []
        if real_dir is not None:
            paths = sorted(Path(real_dir).glob(SCENE_GLOB))
            if not paths:
                raise FileNotFoundError(f"no {SCENE_GLOB} crops in {real_dir}")
            self._real = [real_scene(p) for p in paths]
            small = [a.shape for a in self._real if min(a.shape[1:]) - 2 * real_margin < self.crop]
            if small:
                raise ValueError(f"crop {self.crop} does not fit the real crops {small} minus a "
                                 f"{real_margin} px margin")
        if not procedural and not self._real:
            raise ValueError("SceneSampler needs procedural=True or a real_dir with crops")
        self.real_fraction = real_fraction if (self._real and procedural) else float(bool(self._real))
        self._pool: list[np.ndarray] | None = [] if pool > 0 else None
        self._pool_target, self._pool_size = int(pool), max(int(pool_size), self.crop)

    def _pool_crop(self, rng: np.random.Generator) -> np.ndarray:
        """A crop of a pooled procedural scene (the pool fills up one scene per call)."""
        if len(self._pool) < self._pool_target:
            self._pool.append(self._procedural(rng, self._pool_size, own=self._pooled_own(len(self._pool))))
            scene = self._pool[-1]
        else:
            scene = self._pool[int(rng.integers(len(self._pool)))]
        y = int(rng.integers(0, scene.shape[1] - self.crop + 1))
        x = int(rng.integers(0, scene.shape[2] - self.crop + 1))
        return scene[:, y:y + self.crop, x:x + self.crop]

    def _pooled_own(self, index: int) -> bool:
        """Whether pool scene ``index`` has a NIR of its own: spread evenly, so that any first n
        scenes of the pool hold ``own_nir · n`` of them, to within one."""
        return int((index + 1) * self.own_nir) > int(index * self.own_nir)

    def _procedural(self, rng: np.random.Generator, side: int, own: bool | None = None) -> np.ndarray:
        """A procedural (4, side, side) scene, with a NIR of its own when ``own`` says so; ``own``
        None (fresh scenes, no pool) draws it with probability ``own_nir``, with no extra draw when
        that share is 0, so the stream of scenes stays that of earlier releases."""
        seed = int(rng.integers(2**31))
        if own is None:
            own = self.own_nir > 0 and rng.random() < self.own_nir
        return make_scene(side, side, seed=seed, own_nir=own)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self

    def __next__(self) -> np.ndarray:
        return self.sample()

    def sample(self) -> np.ndarray:
        """One augmented crop, (4, crop, crop) float32."""
        rng = self._rng
        if rng.random() < self.real_fraction:
            scene = self._real[int(rng.integers(len(self._real)))]
            m = self.real_margin
            y = int(rng.integers(m, scene.shape[1] - m - self.crop + 1))
            x = int(rng.integers(m, scene.shape[2] - m - self.crop + 1))
            crop = scene[:, y:y + self.crop, x:x + self.crop]
        else:
            if self._pool is not None:
                crop = self._pool_crop(rng)
            else:
                crop = self._procedural(rng, self.crop)
        crop = np.rot90(crop, k=int(rng.integers(4)), axes=(1, 2))
        if rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        gain = rng.uniform(*self.brightness)
        path = PATH_DN[:, None, None]
        crop = path + gain * (crop - path)
        return np.ascontiguousarray(np.clip(crop, 0.0, DN_MAX), dtype=np.float32)
