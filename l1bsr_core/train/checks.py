"""Checks of a training run's options, made before anything is written: one line that names the
option, what was given and what is expected (:class:`~l1bsr_core.errors.ArgumentError`).

:func:`check_config` is the first thing :func:`~l1bsr_core.train.loop.train` does (and the
networks it loads are the run's);
:func:`check_config_fields` also checks the fields ``export --override`` sets.
"""

from __future__ import annotations

import json
import math
import typing
from dataclasses import fields
from pathlib import Path
from typing import NamedTuple

import torch

from ..devices import resolve_device
from ..errors import ArgumentError, one_line
from ..models import build_network, kind_of
from ..models.networks import DEFAULT_ARCHITECTURES, architecture
from ..simulate import SimulationConfig
from ..weights import load_model
from . import losses
from .data import REAL_PAIR_SUFFIXES, pair_files
from .networks import training_of
from .sampler import SCENE_GLOB, check_own_nir_share

TASKS = ("csr", "rec", "rec-supervised")
"""What a run trains: the CSR, the REC (self-supervised) or the REC against the simulator's truth."""

MIN_CROP = 2 * losses.LOSS_BORDER_PX + 1
"""Smallest LR crop side of any run, px: the losses leave out ``LOSS_BORDER_PX`` at each border and
need a pixel inside. A CSR's own loss may leave out more (its ``loss_border_px``: below twice that
its loss is empty, NaN, and nothing is learned)."""
AT_LEAST_ONE = ("steps", "batch", "threads", "log_every", "val_every", "ckpt_every")
"""The counts of a :class:`~l1bsr_core.train.loop.TrainConfig` (of steps, pairs, threads) that are at least 1."""
NON_NEGATIVE_WEIGHTS = ("smooth_weight", "equivariance_weight")
"""The loss weights of a :class:`~l1bsr_core.train.loop.TrainConfig`: finite, 0 or more."""
CSR_ARCHITECTURE_KEY = ("architecture",)
"""The key a CSR config may carry to choose its architecture (a REC's follows its ``faithful`` field)."""
SIMULATION_SET_BY_RUN = ("factor",)
""":class:`~l1bsr_core.simulate.SimulationConfig` fields a run sets itself (the network's scale)."""


def option(name: str) -> str:
    """How a message names the field ``name`` of :class:`~l1bsr_core.train.loop.TrainConfig`: its flag and its field."""
    return f"--{name.replace('_', '-')} ({name})"


def _matches(value, hint) -> bool:
    """Whether a JSON ``value`` fits the type ``hint`` of a config field (int for float; a list for a tuple)."""
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if typing.get_origin(hint) is tuple:
        element = typing.get_args(hint)[0]
        return isinstance(value, (list, tuple)) and all(_matches(item, element) for item in value)
    return True


def check_config_fields(values: dict, cls, what: str, *, accepted_also: tuple[str, ...] = (),
                        refused: tuple[str, ...] = ()) -> None:
    """Raise :class:`~l1bsr_core.errors.ArgumentError` unless every key of ``values`` is a field of
    the dataclass ``cls`` (or in ``accepted_also``; never in ``refused``) holding a value of the
    field's type; the message names ``what`` and the accepted fields."""
    hints = typing.get_type_hints(cls)
    accepted = sorted({f.name for f in fields(cls)} - set(refused) | set(accepted_also))
    unknown = sorted(set(values) - set(accepted))
    if unknown:
        raise ArgumentError(f"{what}: unknown field(s) {', '.join(unknown)}; expected fields of "
                            f"{cls.__name__}: {', '.join(accepted)}")
    for name, value in values.items():
        if name in hints and not _matches(value, hints[name]):
            expected = getattr(hints[name], "__name__", None) or str(hints[name])
            raise ArgumentError(f"{what}: field {name} expects a value of type {expected}; got {json.dumps(value)}")


def network_config_class(kind: str, values: dict):
    """The config class of the architecture a network config dict of ``kind`` names (its
    ``architecture`` key, or the kind's default).

    Raises:
        ArgumentError: for an architecture of another kind or none.
    """
    try:
        return architecture(values.get("architecture", DEFAULT_ARCHITECTURES[kind]), kind).config
    except ValueError as error:
        raise ArgumentError(str(error)) from None


class RunNetworks(NamedTuple):
    """The networks :func:`check_config` loaded for a run (on the CPU), for the run to use: the
    ``init`` and ``align_with`` weights are read once."""

    model: torch.nn.Module
    """The network the run trains: the resumed checkpoint's, the ``init`` weights, or a new one
    (initialised from the run's ``seed``)."""
    csr: torch.nn.Module | None
    """The frozen CSR it trains through (``align_with``); None when it trains through none (:func:`needs_csr`)."""
    csr_info: dict | None
    """What :func:`~l1bsr_core.weights.load_model` says of ``csr`` (its name and version)."""


def needs_csr(task: str, model: torch.nn.Module) -> bool:
    """Whether a run of ``task`` trains ``model`` through a frozen CSR (``align_with``): the
    self-supervised REC's loss, or a REC whose input a CSR aligns."""
    return kind_of(model) == "rec" and (task == "rec" or training_of(model).aligns_input)


def check_config(cfg, resumed: Path | None = None) -> RunNetworks:
    """Refuse, before anything is written, a :class:`~l1bsr_core.train.loop.TrainConfig` no run can
    use: counts below 1, a negative seed, a crop too small for the losses or the networks, a
    learning rate or loss weight that is not a finite number of the right sign, a device this
    machine lacks, a run folder that is a file, data folders without data, unknown or mistyped
    ``simulation`` and ``model_config`` fields, and weights (``init``, ``align_with``) that do not
    load. The weights are loaded last, once every cheaper check has passed, and returned for the
    run to use.

    ``resumed``: the checkpoint the run would resume from (loaded instead of ``init`` when it exists).

    Raises:
        ArgumentError: one line naming the option, what was given and what is expected.
        WeightsError: for ``init`` or ``align_with`` weights (or the ``resumed`` checkpoint) that do not load.
    """
    if cfg.task not in TASKS:
        raise ArgumentError(f"unknown task {cfg.task!r}; expected one of {', '.join(TASKS)}")
    for name in AT_LEAST_ONE:
        if getattr(cfg, name) < 1:
            raise ArgumentError(f"{option(name)} is at least 1; got {getattr(cfg, name)}")
    if cfg.seed < 0:
        raise ArgumentError(f"{option('seed')} seeds the random draws, 0 or more; got {cfg.seed}")
    _check_crop(cfg, MIN_CROP, "the losses")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ArgumentError(f"{option('lr')} is a learning rate, a finite number above 0; got {cfg.lr}")
    for name in NON_NEGATIVE_WEIGHTS:
        weight = getattr(cfg, name)
        if not (math.isfinite(weight) and weight >= 0):
            raise ArgumentError(f"{option(name)} is a loss weight, a finite number of 0 or more; got {weight}")
    check_own_nir_share(cfg.own_nir)
    resolve_device(cfg.device)
    run = Path(cfg.out)
    if not cfg.out or (run.exists() and not run.is_dir()):
        raise ArgumentError(f"{option('out')} {cfg.out!r} is not a folder; expected a run folder (new or existing)")
    _check_data(cfg)
    check_config_fields(cfg.simulation, SimulationConfig, option("simulation"), refused=SIMULATION_SET_BY_RUN)
    try:
        SimulationConfig(**cfg.simulation)
    except ValueError as error:
        raise ArgumentError(f"{option('simulation')}: {one_line(error)}") from None
    return _check_networks(cfg, resumed)


def _check_crop(cfg, least: int, whose: str) -> None:
    """ArgumentError when ``cfg.crop`` is under ``least`` px (what ``whose`` loss needs)."""
    if cfg.crop < least:
        raise ArgumentError(f"{option('crop')} is the LR crop side, at least {least} px for {whose} (which leave "
                            f"out {(least - 1) // 2} px at each border); got {cfg.crop}")


def _check_data(cfg) -> None:
    """The real pairs and real scenes folders hold data; a run without procedural scenes has some."""
    if cfg.real_pairs and not pair_files(cfg.real_pairs):
        first, second = REAL_PAIR_SUFFIXES
        raise ArgumentError(f"{option('real_pairs')} {cfg.real_pairs} holds no pairs; expected a folder of "
                            f"<name>{first} / <name>{second} overlap pairs")
    if cfg.real_scenes:  # read by the validation pairs too, even when training on real pairs
        folder = Path(cfg.real_scenes)
        if not folder.is_dir() or not any(folder.glob(SCENE_GLOB)):
            raise ArgumentError(f"{option('real_scenes')} {folder} holds no crops; expected a folder of "
                                f"{SCENE_GLOB} BGRN crops")
    if not cfg.procedural and not (cfg.real_scenes or cfg.real_pairs):
        raise ArgumentError(f"--no-procedural (procedural False) leaves no scenes to train on; expected "
                            f"{option('real_scenes')} or {option('real_pairs')} with it")


def _check_networks(cfg, resumed: Path | None) -> RunNetworks:
    """``model_config`` describes a network; the run's network (resumed, initialised or new) and the
    CSR it trains through load, and accept crops of ``cfg.crop`` px. Returns them."""
    kind = "csr" if cfg.task == "csr" else "rec"
    what = option("model_config")
    check_config_fields(cfg.model_config, network_config_class(kind, cfg.model_config), what,
                        accepted_also=CSR_ARCHITECTURE_KEY if kind == "csr" else ())  # a REC's is set by "faithful"
    try:
        with torch.random.fork_rng(devices=[]):  # the seed's initialisation, the caller's random state untouched
            torch.manual_seed(cfg.seed)
            model = build_network(kind, cfg.model_config)
    except (ValueError, TypeError, RuntimeError) as error:
        raise ArgumentError(f"{what} describes no usable {kind.upper()} network ({one_line(error)})") from None
    if resumed is not None and resumed.is_file():
        model, _ = load_model(kind, resumed)
    elif cfg.init:
        model, _ = load_model(kind, cfg.init)
    if kind == "csr":
        _check_crop(cfg, 2 * training_of(model).loss_border_px + 1, f"the {model.config.architecture} CSR's loss")
    csr, csr_info = load_model("csr", cfg.align_with) if needs_csr(cfg.task, model) else (None, None)
    seeing_crops = ([model] if kind == "csr" else []) + ([csr] if csr is not None else [])
    for network in seeing_crops:
        multiple = getattr(network.config, "size_multiple", 1)  # the encoder-decoder CSR's pooling
        if cfg.crop % multiple or cfg.crop < 2 * multiple:
            raise ArgumentError(f"{option('crop')} is {cfg.crop} px; the {network.config.architecture} CSR needs a "
                                f"multiple of {multiple} px, at least {2 * multiple}")
    return RunNetworks(model, csr, csr_info)
