"""Training loops for CSR, REC (self-supervised) and REC (supervised reference), resumable.

A run lives in a folder: ``last.pt`` (model, optimiser, step, RNG state, config; loadable with
``torch.load(weights_only=True)`` and by :func:`l1bsr_core.weights.load_model`), ``best.pt`` (the
same, at the validation with the best score so far: the self-supervised losses do not hold a
trained optimum, so the last step is not always the best; it carries its score, which a resumed
run compares its validations with; a run resumed with options that change its validation pairs,
e.g. ``--crop``, scores ``best.pt`` again on the new pairs first), ``best.json`` (a record of the
best's step and score, for people: the run never reads it), ``log.jsonl`` (one JSON line per
logged step: losses and validation scores) and ``train.log`` (human-readable).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from ..bands import RADIOMETRIC_SCALE
from ..metrics import psnr_from_mse
from ..models import build_network
from ..resample import upsample_bicubic
from . import losses
from .checks import check_config
from .data import PairSource, validation_batches, validation_setting
from .networks import training_of


@dataclass
class TrainConfig:
    """One training run. Every field but ``task`` is a flag of ``python -m l1bsr_core.train``
    (``--field-name``), documented by its docstring."""

    task: str
    """What to train: "csr", "rec" (self-supervised) or "rec-supervised" (the reference)."""
    out: str
    """Run folder (resumes if it holds last.pt; a new run there replaces an earlier run's best.pt)."""
    steps: int = 2000
    """Optimiser steps of the whole run."""
    batch: int = 8
    """Training pairs per step."""
    crop: int = 64
    """LR crop side in pixels (the HR scene crop is ``factor`` times larger)."""
    lr: float = 5e-4
    """Base learning rate (3 % warm-up, then cosine decay to 5 % of it)."""
    seed: int = 0
    """Seed of the initialisation, the training pairs and their augmentation."""
    device: str = "cpu"
    """Torch device: "cpu" or "cuda"."""
    threads: int = 2
    """CPU threads torch may use."""
    log_every: int = 25
    """Steps between two lines of the logs."""
    val_every: int = 250
    """Steps between two validations."""
    ckpt_every: int = 100
    """Steps between two checkpoints (last.pt)."""
    model_config: dict = field(default_factory=dict)
    """Constructor arguments of the network (JSON), e.g. '{"n_feats": 32}'; empty = the default."""
    align_with: str = "csr"
    """REC only: the (frozen) CSR weights (registered name or path) whose flows carry REC's output
    onto view 1 and align a faithful REC's input; the trained REC keeps the name as its own
    ``align_with``, the CSR it aligns its input with at inference (one name for one thing)."""
    real_pairs: str = ""
    """Folder of real overlap pairs (see data.RealPairFolder); empty = simulated pairs."""
    real_scenes: str = ""
    """Folder of real crops used as high-resolution scenes for the simulator (reduced scale)."""
    procedural: bool = True
    """Draw procedural scenes for the simulated pairs (--no-procedural: real scenes only)."""
    own_nir: float = 0.0
    """Share (0–1) of the procedural scenes whose NIR has a texture of its own (issue #24: vigour,
    stress patches, wet margins and potholes that NIR and the visible bands see differently)."""
    smooth_weight: float = 0.05
    """CSR only: weight of the flows' total-variation smoothness term."""
    equivariance_weight: float = 0.5
    """CSR only: weight of :func:`losses.shift_equivariance_loss` (0 = anchor consistency alone)."""
    init: str = ""
    """Weights (registered name or checkpoint path) a new run starts from, e.g. to fine-tune the
    shipped networks on your own pairs; their config replaces ``model_config``. Ignored on resume."""
    simulation: dict = field(default_factory=dict)
    """:class:`~l1bsr_core.simulate.SimulationConfig` overrides for the training pairs (validation
    always uses the defaults)."""


def _log(run: Path, text: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {text}"
    print(line, flush=True)
    with open(run / "train.log", "a") as handle:
        handle.write(line + "\n")


LAST_CHECKPOINT, BEST_CHECKPOINT = "last.pt", "best.pt"
"""A run's checkpoints: the last step's (resumed from) and the best validated one's."""
BEST_RECORD = "best.json"
"""A record of the best checkpoint's step and validation score (written, never read, by the run)."""
BEST_SCORE = "validation_score"
"""Key of the validation score in the best checkpoint (what a resumed run compares its validations with)."""
BEST_SETTING = "validation_setting"
"""Key, in the best checkpoint, of the options its score's validation pairs were drawn with
(:func:`~l1bsr_core.train.data.validation_setting`)."""


def validation_score(task: str, scores: dict) -> float:
    """One number per validation, higher is better: REC's gain over bicubic (dB), CSR's mean
    endpoint error with its sign flipped (px)."""
    return -scores["epe_mean"] if task == "csr" else scores["gain_db"]


def _beats(score: float, best: float) -> bool:
    """Whether a validation ``score`` beats the run's ``best`` so far (-inf: none yet). A score that
    is not finite (a diverged network) never does, a tie does not, and any finite score beats a best
    that is not finite (a ``best.pt`` that diverged on the new pairs it was scored again on)."""
    return math.isfinite(score) and (score > best or not math.isfinite(best))


def _write_best_record(run: Path, step: int, score: float) -> None:
    tmp = run / f"{BEST_RECORD}.tmp"
    tmp.write_text(json.dumps({"step": step, "score": score}))
    tmp.replace(run / BEST_RECORD)


def _best_state(run: Path) -> dict | None:
    """The run's ``best.pt`` state (its model, step, and the score and validation setting it
    carries), None without one."""
    if not (run / BEST_CHECKPOINT).is_file():
        return None
    return torch.load(run / BEST_CHECKPOINT, map_location="cpu", weights_only=True)


def _network_of(kind: str, state: dict, device: torch.device) -> torch.nn.Module:
    """The network of a checkpoint ``state`` of ``kind``, on ``device``."""
    network = build_network(kind, state["config"]).to(device)
    network.load_state_dict(state["model"])
    return network


def _resumed_best(run: Path, setting: dict, resumed_setting: dict, rescore) -> float:
    """The best score a resumed run compares its validations with: the one its ``best.pt`` carries
    (-inf without one). A ``best.pt`` scored on other validation pairs than ``setting`` (those of its
    own setting; of ``resumed_setting``, the run's last start, for checkpoints that do not say), or
    that carries no score (older runs), is scored on them first (``rescore(state)``) and rewritten
    with that score. ``best.json`` is rewritten from it: a run stopped between the writes of the
    two files leaves an older record."""
    best = _best_state(run)
    scored_on = (best or {}).get(BEST_SETTING) or resumed_setting
    changed = ", ".join(f"{key} {scored_on.get(key)!r} -> {value!r}" for key, value in setting.items()
                        if scored_on.get(key) != value)
    rescored = ""
    if best is not None and (changed or BEST_SCORE not in best):
        before = best.get(BEST_SCORE, math.nan)
        best = {**best, BEST_SCORE: rescore(best), BEST_SETTING: setting}
        _write_checkpoint(run, best, BEST_CHECKPOINT)
        rescored = (f"{BEST_CHECKPOINT} (step {best['step']}) {'re-scored on them' if changed else 'scored'}: "
                    f"{before:.4f} -> {best[BEST_SCORE]:.4f}")
    if changed:
        _log(run, f"the validation pairs changed on resume ({changed})" + (f": {rescored}" if rescored else ""))
    elif rescored:
        _log(run, f"{rescored} (it carried no score)")
    if best is None:
        return -math.inf
    _write_best_record(run, best["step"], best[BEST_SCORE])
    return best[BEST_SCORE]


def _save(run: Path, model, optimiser, step: int, cfg: TrainConfig, kind: str, rng: np.random.Generator,
          name: str = LAST_CHECKPOINT, score: float | None = None, setting: dict | None = None) -> None:
    """Write the run's state as checkpoint ``name``; ``score``: its validation score (the best's),
    drawn on pairs of ``setting``."""
    state = {
        "kind": kind,
        "config": model.config.to_dict(),
        "model": model.state_dict(),
        "optimiser": optimiser.state_dict(),
        "step": step,
        "train_config": asdict(cfg),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": json.dumps(rng.bit_generator.state),
        "version": f"{cfg.task}-step{step}",
    }
    if score is not None:
        state[BEST_SCORE] = score
        state[BEST_SETTING] = setting
    _write_checkpoint(run, state, name)


def _write_checkpoint(run: Path, state: dict, name: str) -> None:
    tmp = run / f"{name}.tmp"
    torch.save(state, tmp)
    tmp.replace(run / name)


def _lr_at(step: int, cfg: TrainConfig) -> float:
    """Cosine decay to 5 % of the base rate, after a 3 % warm-up."""
    warm = max(1, int(0.03 * cfg.steps))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(1, cfg.steps - warm)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


FINE_TUNE_LR = 3e-5
"""Learning rate suggested for a run that starts from trained weights (``--init``)."""
FINE_TUNE_LR_MAX = 1e-4
"""Above this learning rate a run from trained weights logs a warning: Adam's first steps move every
weight by about the learning rate, which undid the shipped REC at 3e-4 (model card, session 9)."""


def fine_tune_warning(kind: str, lr: float) -> str:
    """The log line of a run from trained weights of ``kind`` ("rec" or "csr") above
    :data:`FINE_TUNE_LR_MAX`. The figures were measured on the REC; a CSR's line says so."""
    if kind not in ("rec", "csr"):
        raise ValueError(f"kind must be 'rec' or 'csr'; got {kind!r}")
    measured = "the shipped rec lost 0.24 dB of validation gain in 50 steps at 3e-4 and gained 0.04 dB at 3e-5"
    if kind == "csr":
        measured = (f"Adam's first steps move every weight by about the learning rate ({measured}; "
                    f"not measured on a csr)")
    return (f"warning: fine-tuning trained weights at --lr {lr:g}: {measured}, model card; "
            f"consider --lr {FINE_TUNE_LR:g}")


def train(cfg: TrainConfig) -> Path:
    """Run (or resume) a training run; returns the run folder."""
    run = Path(cfg.out)
    checkpoint = run / LAST_CHECKPOINT
    networks = check_config(cfg, checkpoint)  # before the run folder is made
    torch.set_num_threads(cfg.threads)
    run.mkdir(parents=True, exist_ok=True)
    kind = "csr" if cfg.task == "csr" else "rec"
    device = torch.device(cfg.device)
    model = networks.model.to(device).train()  # the resumed, initialised or new network
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    start = 0
    resumed_config = None
    if checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        optimiser.load_state_dict(state["optimiser"])
        start = state["step"]
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = json.loads(state["numpy_rng"])
        resumed_config = SimpleNamespace(**{**asdict(cfg), **state["train_config"]})
        _log(run, f"resumed {cfg.task} at step {start}")
    else:
        _log(run, f"new {cfg.task} run: {json.dumps(asdict(cfg))}")
        if (run / BEST_CHECKPOINT).is_file():
            _log(run, f"removed an earlier run's {BEST_CHECKPOINT} from the folder")
        for stale in (BEST_RECORD, BEST_CHECKPOINT):  # an earlier run's best, in a folder reused for a new run
            (run / stale).unlink(missing_ok=True)
        if cfg.init:
            _log(run, f"initialised from {cfg.init}")
            if cfg.lr > FINE_TUNE_LR_MAX:
                _log(run, fine_tune_warning(kind, cfg.lr))
    (run / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))

    csr = networks.csr
    if csr is not None:
        csr = csr.to(device).requires_grad_(False)
        model.config = replace(model.config, align_with=cfg.align_with)
        _log(run, f"frozen CSR: {networks.csr_info['name']} ({networks.csr_info['version']})")
    factor = model.config.scale if kind == "rec" else 2
    source = PairSource(cfg, rng, factor=factor)
    val = validation_batches(cfg, factor=factor)
    setting = validation_setting(cfg, uses_csr=csr is not None)

    def rescore(state: dict) -> float:
        """The validation score of checkpoint ``state`` on this run's validation pairs."""
        return validation_score(cfg.task, validate(cfg.task, _network_of(kind, state, device), csr, val, factor))

    best_score = -math.inf  # the best validation score so far; best.pt carries it, best.json records it
    if resumed_config is not None:
        best_score = _resumed_best(run, setting, validation_setting(resumed_config, uses_csr=csr is not None), rescore)
    step_time = 0.0

    def keep_if_best(scores: dict, step: int) -> str:
        """Keep the model as the best when ``scores`` beat the best so far: the log line's remark."""
        nonlocal best_score
        score = validation_score(cfg.task, scores)
        if not _beats(score, best_score):
            return ""
        _save(run, model, optimiser, step, cfg, kind, rng, BEST_CHECKPOINT, score=score, setting=setting)
        _write_best_record(run, step, score)
        best_score = score
        return f" (best so far: {BEST_CHECKPOINT})"

    if cfg.init and start == 0:  # the weights a fine-tune starts from are its first candidate for the best
        scores = validate(cfg.task, model, csr, val, factor)
        _log(run, "validation of the initial weights " + " ".join(f"{k} {v:.4f}" for k, v in scores.items())
             + keep_if_best(scores, 0))
    with open(run / "log.jsonl", "a") as log:
        for step in range(start, cfg.steps):
            tick = time.perf_counter()
            for group in optimiser.param_groups:
                group["lr"] = _lr_at(step, cfg)
            batch = source.next_batch(device)
            model.train()
            loss, parts = _step_loss(cfg.task, model, csr, batch, rng, cfg, factor)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            elapsed = time.perf_counter() - tick
            step_time = 0.9 * step_time + 0.1 * elapsed if step > start else elapsed
            done = step + 1
            record = None
            if done % cfg.log_every == 0 or done == cfg.steps:
                record = {"step": done, "loss": loss.item(), **parts, "lr": _lr_at(step, cfg), "s_per_step": step_time}
                eta = (cfg.steps - done) * step_time
                terms = " ".join(f"{k} {v:.4f}" for k, v in parts.items())
                _log(run, f"{cfg.task} step {done}/{cfg.steps} loss {loss.item():.4f} {terms} "
                          f"{step_time:.2f}s/step eta {eta / 60:.1f} min")
            if done % cfg.val_every == 0 or done == cfg.steps:
                scores = validate(cfg.task, model, csr, val, factor)
                record = {**(record or {"step": done}), **{f"val_{k}": v for k, v in scores.items()}}
                _log(run, "validation " + " ".join(f"{k} {v:.4f}" for k, v in scores.items())
                     + keep_if_best(scores, done))
            if record is not None:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if done % cfg.ckpt_every == 0 or done == cfg.steps:
                _save(run, model, optimiser, done, cfg, kind, rng)
    return run


def _step_loss(task, model, csr, batch, rng, cfg, factor):
    """One step's loss and its logged parts; the model's runtime training hooks say how it is trained."""
    if task == "csr":
        return training_of(model).training_loss(model, batch, rng, cfg)
    view0, view1 = batch["view0"], batch["view1"]
    out = rec_output(model, csr, view0)
    if task == "rec-supervised":
        loss = losses.rec_supervised_loss(out, batch["hr"] / RADIOMETRIC_SCALE)
        return loss, {}
    with torch.no_grad():
        flows = training_of(csr).view_flows(csr, view0, view1)
    loss = losses.rec_self_supervised_loss(out, view1 / RADIOMETRIC_SCALE, flows, batch["degrade"], factor=factor)
    return loss, {}


def rec_output(model, csr, view: torch.Tensor) -> torch.Tensor:
    """REC's output for (N, 4, h, w) DN ``view``, in DN / RADIOMETRIC_SCALE (the losses' unit), as at inference."""
    return training_of(model).training_output(model, csr, view) / RADIOMETRIC_SCALE


@torch.no_grad()
def validate(task, model, csr, batches, factor) -> dict:
    """Scores against the simulator's ground truth (never used for training)."""
    model.eval()
    if task == "csr":
        errors = []
        for batch in batches:
            est = training_of(model).flows_onto_green(model, batch["view0"])
            errors.append((est - batch["band_flows"]).norm(dim=2)[..., 8:-8, 8:-8].mean(dim=(0, 2, 3)))
        per_band = torch.stack(errors).mean(0)
        return {"epe_B": per_band[0].item(), "epe_R": per_band[1].item(), "epe_NIR": per_band[2].item(),
                "epe_mean": per_band.mean().item()}
    psnr_model, psnr_bicubic = [], []
    for batch in batches:
        hr = batch["hr"]
        sr = training_of(model).training_output(model, csr, batch["view0"])
        bic = upsample_bicubic(batch["view0"], factor)
        peaks = hr.amax(dim=(1, 2, 3)).tolist()
        for est, acc in ((sr, psnr_model), (bic, psnr_bicubic)):
            mses = ((est - hr)[..., 16:-16, 16:-16] ** 2).mean(dim=(1, 2, 3)).tolist()
            acc.append(float(np.mean([psnr_from_mse(mse, peak) for mse, peak in zip(mses, peaks)])))
    return {"psnr": float(np.mean(psnr_model)), "psnr_bicubic": float(np.mean(psnr_bicubic)),
            "gain_db": float(np.mean(psnr_model) - np.mean(psnr_bicubic))}
