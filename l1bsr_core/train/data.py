"""Training pairs: simulated overlap pairs (with truth, for validation) or real overlap pairs.

Batches are dicts of tensors:

- ``view0``, ``view1``: (N, 4, c, c) float32 DN, bands B, G, R, NIR — the two detectors' views;
- ``degrade``: the acquisition operator (blur + decimation) used by REC's loss;
- simulated only, never used by a self-supervised loss: ``hr`` (N, 4, f·c, f·c), the true
  high-resolution image in view 0's G geometry, and ``band_flows`` (N, 3, 2, c, c), the true flows
  of B, R, NIR onto G within view 0 (what CSR estimates at inference).

Real overlap pairs folder format (:class:`RealPairFolder`)::

    pairs/
      <name>_0.tif    # view 0: BGRN uint16 (H, W, 4), detector d
      <name>_1.tif    # view 1: the same ground seen by detector d+1, co-registered to < 10 px
      ...

Both files of a pair have the same size; crops are cut at the same place in both.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from ..io import read_bgrn_array
from ..products.overlap import REAL_PAIR_SUFFIXES
from ..simulate import SimulationConfig, degrade, psf_sigma_for_mtf, simulate_pair
from .sampler import SceneSampler

VALIDATION_SEED = 20230417
VALIDATION_BATCHES = 3
PROCEDURAL_POOL = 48
"""Procedural scenes drawn once per training run; crops are cut from them (see SceneSampler)."""




def pair_files(folder: str | Path) -> list[tuple[Path, Path]]:
    """The (view 0, view 1) files of the overlap pairs in ``folder``, sorted; none for a missing folder."""
    first_suffix, second_suffix = REAL_PAIR_SUFFIXES
    firsts = sorted(Path(folder).glob(f"*{first_suffix}"))
    pairs = [(first, first.with_name(first.name[:-len(first_suffix)] + second_suffix)) for first in firsts]
    return [(first, second) for first, second in pairs if second.is_file()]


class RealPairFolder:
    """Random same-place crops of real overlap pairs ``<name>_0.tif`` / ``<name>_1.tif``."""

    def __init__(self, folder: str | Path, crop: int, rng: np.random.Generator):
        self.pairs = []
        for first, second in pair_files(folder):
            a, b = read_bgrn_array(first), read_bgrn_array(second)
            if a.shape != b.shape:
                raise ValueError(f"{first.name} and {second.name} differ in size: {a.shape} vs {b.shape}")
            self.pairs.append((a, b))
        if not self.pairs:
            raise ValueError(f"no pairs <name>{REAL_PAIR_SUFFIXES[0]} / <name>{REAL_PAIR_SUFFIXES[1]} in {folder}")
        self.crop, self.rng = crop, rng

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.pairs[self.rng.integers(len(self.pairs))]
        h, w = a.shape[:2]
        y, x = self.rng.integers(0, h - self.crop + 1), self.rng.integers(0, w - self.crop + 1)
        window = (slice(y, y + self.crop), slice(x, x + self.crop))
        return (a[window].transpose(2, 0, 1).astype(np.float32), b[window].transpose(2, 0, 1).astype(np.float32))


class PairSource:
    """Yields training batches for a :class:`~l1bsr_core.train.loop.TrainConfig`."""

    def __init__(self, cfg, rng: np.random.Generator, *, factor: int, seed_offset: int = 0,
                 with_truth: bool = False):
        self.cfg, self.rng, self.factor = cfg, rng, factor
        self.sim = SimulationConfig(factor=factor, **cfg.simulation)
        sigma = psf_sigma_for_mtf(self.sim.mtf_nyquist, factor)
        self.degrade = functools.partial(degrade, factor=factor, sigma=sigma)
        if cfg.real_pairs:
            self.real = RealPairFolder(cfg.real_pairs, cfg.crop, rng)
            self.scenes = None
        else:
            self.real = None
            self.scenes = SceneSampler(cfg.real_scenes or None, procedural=cfg.procedural,
                                       crop=cfg.crop * factor, seed=int(rng.integers(1 << 31)) + seed_offset,
                                       pool=PROCEDURAL_POOL if with_truth is False else 0, own_nir=cfg.own_nir)
        self.with_truth = with_truth

    def next_batch(self, device) -> dict:
        views0, views1, hrs, flows = [], [], [], []
        for _ in range(self.cfg.batch):
            if self.real is not None:
                a, b = self.real.sample()
                views0.append(a)
                views1.append(b)
                continue
            pair = simulate_pair(self.scenes.sample(), self.sim, rng=self.rng, with_flows=self.with_truth)
            views0.append(pair.views[0])
            views1.append(pair.views[1])
            hrs.append(pair.hr)
            if self.with_truth:
                flows.append(pair.band_flows[0])
        batch = {
            "view0": torch.from_numpy(np.stack(views0).astype(np.float32)).to(device),
            "view1": torch.from_numpy(np.stack(views1).astype(np.float32)).to(device),
            "degrade": self.degrade,
        }
        if hrs:
            batch["hr"] = torch.from_numpy(np.stack(hrs).astype(np.float32)).to(device)
        if flows:
            batch["band_flows"] = torch.from_numpy(np.stack(flows).astype(np.float32)).to(device)
        return batch


VALIDATION_MIN_CROP = 96
"""Smallest LR crop side of the validation pairs, px (a run's own ``crop`` when larger)."""


def validation_setting(cfg, uses_csr: bool = False) -> dict:
    """The training options a run's validation pairs, and so its scores, depend on (anything with a
    :class:`~l1bsr_core.train.loop.TrainConfig`'s ``crop``, ``real_scenes`` and ``align_with``): the
    LR crop side, the real scenes' folder and, when the network is validated through a frozen CSR
    (``uses_csr``), that CSR."""
    setting = {"crop": max(VALIDATION_MIN_CROP, cfg.crop), "real_scenes": cfg.real_scenes}
    if uses_csr:
        setting["align_with"] = cfg.align_with
    return setting


def validation_batches(cfg, *, factor: int) -> list[dict]:
    """A fixed set of simulated batches (same seed every run), for scores against the truth."""
    from dataclasses import replace
    # procedural scenes even when training is on real data only (--no-procedural --real-pairs)
    val_cfg = replace(cfg, real_pairs="", batch=8, crop=validation_setting(cfg)["crop"], simulation={},
                      procedural=True, own_nir=0.0)  # the same validation scenes in every run, whatever it trains on
    source = PairSource(val_cfg, np.random.default_rng(VALIDATION_SEED), factor=factor, with_truth=True)
    return [source.next_batch(cfg.device) for _ in range(VALIDATION_BATCHES)]
