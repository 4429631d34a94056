"""Weights: the registry of shipped networks, self-describing checkpoints, and safe loading.

The registry is the JSON file ``registry.json`` in the weights folder (``weights/`` of the
project, or the folder named by the environment variable ``L1BSR_WEIGHTS_DIR``)::

    {"rec": {"kind": "rec", "file": "rec.safetensors", "sha256": "…", "config": {…},
             "version": "…", "description": "…"}, …}

Checkpoints we write are safetensors files whose metadata holds ``kind`` ("rec" or "csr"),
``config`` (the model's constructor arguments, JSON) and ``version``. The authors' published
files also load by path: ``REC_Real_L1B.pt`` (a plain RCAN state dict) and
``CSR_Real_L1B.pth.tar`` (a dict whose key ``state_dictCSR`` holds the state dict); both are read
with ``torch.load(weights_only=True)``, which never executes pickled code.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from .devices import resolve_device
from .errors import ArgumentError, WeightsError, one_line
from .models import KINDS, RCAN, CSRConfig, CSRNet, RECConfig, build_network, kind_of
from .outputs import sha256_of
from .tensors import conv_memory_format

SAFETENSORS_SUFFIX = ".safetensors"
"""The suffix of a weights file in safetensors (an exported or shipped network)."""
WEIGHTS_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
"""A name the registry takes for new weights: plain (letters, digits, ``-``, ``_``, ``.``; no path
separator, not hidden), since it is also the file's name in the weights folder."""
PROJECT_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
WEIGHTS_DIR_ENV = "L1BSR_WEIGHTS_DIR"
REGISTRY_FILE = "registry.json"
DEFAULT_NAMES = {"rec": "rec", "csr": "csr"}
PUBLISHED_CSR_KEY = "state_dictCSR"


@dataclass(frozen=True)
class WeightsEntry:
    """One registered network: where its file is, its hash and the config it was trained with."""

    name: str
    kind: str
    file: str
    sha256: str
    config: dict
    version: str = ""
    description: str = ""


def weights_dir() -> Path:
    """The folder holding ``registry.json`` and the weight files."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or PROJECT_WEIGHTS_DIR)


def read_registry(folder: Path | None = None) -> dict[str, WeightsEntry]:
    """Registered networks by name (empty when the folder has no registry)."""
    path = (folder or weights_dir()) / REGISTRY_FILE
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"cannot read the weights registry {path}: {one_line(error)}") from error
    entries = {}
    try:
        for name, item in raw.items():
            known = {k: item[k] for k in ("kind", "file", "sha256", "config", "version", "description") if k in item}
            entries[name] = WeightsEntry(name=name, **known)
    except (AttributeError, TypeError) as error:  # not an object of objects, or a field missing
        raise WeightsError(
            f"the weights registry {path} is malformed ({one_line(error)}); expected "
            f'{{"NAME": {{"kind": …, "file": …, "sha256": …, "config": {{…}}}}, …}}'
        ) from error
    return entries


def available_models(kind: str | None = None) -> list[str]:
    """Names of registered networks whose file is present, optionally of one kind."""
    folder = weights_dir()
    return sorted(
        name for name, entry in read_registry(folder).items()
        if (kind is None or entry.kind == kind) and (folder / entry.file).is_file()
    )


def describe(model: nn.Module, *, name: str, version: str = "", source: str = "") -> dict:
    """The info dict of a network: ``name``, ``kind``, ``version``, ``config``, ``parameters``, ``source``."""
    return {"name": name, "kind": kind_of(model), "version": version, "config": model.config.to_dict(),
            "parameters": sum(p.numel() for p in model.parameters()), "source": source}


def save_checkpoint(model: nn.Module, path: str | Path, *, version: str = "", extra: dict | None = None) -> str:
    """Write ``model`` as a self-describing safetensors file; return its SHA-256.

    The metadata holds ``kind``, ``config`` (JSON) and ``version``, so :func:`load_model` can rebuild
    the network without knowing its size.
    """
    path = Path(path)
    metadata = {
        "kind": kind_of(model),
        "config": json.dumps(model.config.to_dict()),
        "version": version,
        **{k: str(v) for k, v in (extra or {}).items()},
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return sha256_of(path)


def register_weights(name: str, path: Path, *, description: str = "", folder: Path | None = None) -> WeightsEntry:
    """Add or update ``name`` in the registry of ``folder`` for the checkpoint at ``path`` (inside it)."""
    folder = folder or weights_dir()
    path = Path(path)
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    entry = {
        "kind": meta["kind"], "file": path.name, "sha256": sha256_of(path),
        "config": json.loads(meta["config"]), "version": meta.get("version", ""),
        "description": description,
    }
    registry_path = folder / REGISTRY_FILE
    raw = json.loads(registry_path.read_text()) if registry_path.is_file() else {}
    raw[name] = entry
    tmp = registry_path.with_name(REGISTRY_FILE + ".tmp")
    tmp.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, registry_path)
    return read_registry(folder)[name]


def weights_file_for(name: str, folder: Path, kind: str, *, replace: bool) -> Path:
    """The file ``folder/NAME.safetensors`` that registering a ``kind`` network as ``name`` writes
    (``python -m l1bsr_core.train export``), checked before anything is written.

    Raises:
        ArgumentError: for a name that is not plain (:data:`WEIGHTS_NAME`), a weights folder that is not
            one, a file another registered name uses, or (without ``replace``) weights already
            registered or present under ``name``, or of another kind.
    """
    if not WEIGHTS_NAME.fullmatch(name):
        raise ArgumentError(f"weights name {name!r} is not a plain name; expected letters, digits, '-', '_' and "
                            f"'.', not starting with '.'")
    if not folder.is_dir():
        raise ArgumentError(f"weights folder {folder} is not a folder; expected an existing folder")
    path = folder / f"{name}{SAFETENSORS_SUFFIX}"
    registry = read_registry(folder)
    sharing = sorted(entry.name for entry in registry.values() if entry.file == path.name and entry.name != name)
    if sharing:
        raise ArgumentError(f"{path.name} in {folder} is the file of the registered weights {', '.join(sharing)}; "
                            f"expected another name")
    if name in registry and registry[name].kind != kind:
        raise ArgumentError(f"weights {name!r} are a registered {registry[name].kind.upper()} network; a "
                            f"{kind.upper()} run takes another name")
    if not replace and (name in registry or path.exists()):
        raise ArgumentError(f"weights {name!r} already exist in {folder}; expected a new name, or --replace to "
                            f"replace them")
    return path


def _load_safetensors(path: Path, kind: str) -> tuple[nn.Module, dict, dict]:
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # safetensors raises several exception types for bad files
        raise WeightsError(f"{path} is not a readable safetensors checkpoint ({one_line(error)})") from error
    if meta.get("kind") != kind:
        raise WeightsError(f"{path} holds a {meta.get('kind', 'unknown')!r} network; expected {kind!r}")
    model = _build_described(kind, meta.get("config", "{}"), path)
    return model, state, meta


def _build_described(kind: str, config: dict | str, path: Path) -> nn.Module:
    """The network a checkpoint at ``path`` describes by ``config`` (a dict, or its JSON text).

    Raises:
        WeightsError: when it describes none (unreadable JSON, unknown or unusable sizes).
    """
    try:
        return build_network(kind, json.loads(config) if isinstance(config, str) else config)
    except WeightsError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RuntimeError) as error:
        raise WeightsError(f"{path} describes no usable {kind.upper()} network ({one_line(error)})") from error


UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")
UNPICKLER_ERROR = re.compile(r"WeightsUnpickler error:\s*(.+?)\s*(?:\n\s*\n|$)", re.DOTALL)
TORCH_FILE_MAGICS = (b"PK\x03\x04", b"\x80")
"""How torch files start: a zip archive (torch.save since 1.6) or a pickle (older files)."""


def _torch_load_reason(error: Exception, path: Path) -> str:
    """A few words on why ``torch.load(weights_only=True)`` refused a file (its own text is a page)."""
    text = str(error)
    unsafe = UNSAFE_GLOBAL.search(text)
    if unsafe:
        return f"it holds a pickled Python object, {unsafe.group(1)}, which is never run"
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        head = handle.read(8)
        if not head.startswith(TORCH_FILE_MAGICS):
            return f"not a torch file: it starts with {head!r}"
    unpickler = UNPICKLER_ERROR.search(text)
    if unpickler:
        return f"not a pickle of tensors: {' '.join(unpickler.group(1).split())}"
    return f"{type(error).__name__}: {one_line(error)}" if text else type(error).__name__


def _load_torch(path: Path, kind: str) -> tuple[nn.Module, dict, dict]:
    """Published layouts (and our training checkpoints), read without executing pickled code."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling refusals and corrupt files
        raise WeightsError(
            f"{path} is not a weights-only torch checkpoint ({_torch_load_reason(error, path)}); expected a "
            f".safetensors file, a training checkpoint or a published {kind.upper()} state dict"
        ) from error
    if not isinstance(obj, dict):
        raise WeightsError(f"{path} holds a {type(obj).__name__}; expected a state dict")
    if "model" in obj and "config" in obj:  # our training checkpoint
        if obj.get("kind") != kind:
            raise WeightsError(f"{path} holds a {obj.get('kind')!r} network; expected {kind!r}")
        model = _build_described(kind, obj["config"], path)
        return model, obj["model"], {"version": obj.get("version", "training")}
    if kind == "csr":
        if PUBLISHED_CSR_KEY not in obj:
            raise WeightsError(f"{path} has no key {PUBLISHED_CSR_KEY!r}; expected the published CSR layout")
        return CSRNet(CSRConfig.paper()), obj[PUBLISHED_CSR_KEY], {"version": "published"}
    return RCAN(RECConfig.paper()), obj, {"version": "published"}


def _state_mismatch(model: nn.Module, state) -> str:
    """What keeps ``state`` from loading into ``model``, in a few words (torch's own text is a page)."""
    if not isinstance(state, dict):
        return f"a {type(state).__name__} instead of a dict of tensors"
    expected = model.state_dict()
    groups = (
        ("missing keys", [key for key in expected if key not in state]),
        ("unexpected keys", [key for key in state if key not in expected]),
        ("keys of another shape or type", [
            key for key in expected
            if key in state and getattr(state[key], "shape", None) != expected[key].shape
        ]),
    )
    parts = [f"{label}: {len(keys)}, e.g. {keys[0]!r}" for label, keys in groups if keys]
    return "; ".join(parts) or "values torch refused"


def load_model(
    kind: str, name_or_path: str | Path | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict]:
    """Load a network in eval mode: a registered name (hash-checked) or a checkpoint path.

    Returns ``(model, info)`` where ``info`` has ``name``, ``version``, ``config``, ``parameters``, ``source``.
    Raises :class:`WeightsError` (one line) for unknown names, missing files, hash mismatches,
    or files of the wrong kind/layout.
    """
    if kind not in KINDS:
        raise WeightsError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    name_or_path = str(name_or_path or DEFAULT_NAMES[kind])
    folder = weights_dir()
    registry = read_registry(folder)
    if name_or_path in registry:
        entry = registry[name_or_path]
        path = folder / entry.file
        if entry.kind != kind:
            raise WeightsError(f"weights {entry.name!r} are a {entry.kind!r} network; expected {kind!r}")
        if not path.is_file():
            raise WeightsError(f"weights {entry.name!r} are registered but {path} is missing")
        actual = sha256_of(path)
        if actual != entry.sha256:
            raise WeightsError(
                f"{path} has SHA-256 {actual[:12]}…, the registry expects {entry.sha256[:12]}…; refusing to load it"
            )
        model, state, meta = _load_safetensors(path, kind)
        label = entry.name
    else:
        path = Path(name_or_path)
        if not path.is_file():
            valid = available_models(kind)
            if name_or_path == DEFAULT_NAMES[kind] and not valid:
                raise WeightsError(
                    f"no trained {kind.upper()} weights in {folder}: train them with "
                    f"'python -m l1bsr_core.train {kind}' or give a checkpoint path"
                )
            raise WeightsError(
                f"unknown {kind.upper()} weights {name_or_path!r}: expected a checkpoint path or one of "
                f"{', '.join(valid) or '(none registered)'}"
            )
        loader = _load_safetensors if path.suffix == SAFETENSORS_SUFFIX else _load_torch
        model, state, meta = loader(path, kind)
        label = path.name
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, AttributeError) as error:  # wrong keys, shapes or value types
        raise WeightsError(
            f"{label}: state dict does not fit the {kind.upper()} network ({_state_mismatch(model, state)})"
        ) from error
    model.eval().to(device)
    return model, describe(model, name=label, version=meta.get("version", ""), source=str(path))


@functools.lru_cache(maxsize=8)
def _cached_model(kind: str, weights: str, device: str, folder: str, stamp: float):
    model, info = load_model(kind, weights, device)
    return model.to(memory_format=conv_memory_format(device)), info


def get_model(kind: str, weights: str | torch.nn.Module | None = None, device: str | torch.device = "cpu"):
    """The network of ``kind`` and its info dict, loaded once per (weights, device).

    ``weights`` is a registered name, a checkpoint path, or a network already built (used as it
    is, e.g. to time an untrained architecture); WeightsError when it is not of ``kind``.
    """
    if isinstance(weights, torch.nn.Module):
        if kind_of(weights) != kind:
            raise WeightsError(f"the network given is a {kind_of(weights).upper()} network; expected {kind.upper()}")
        described = describe(weights, name=type(weights).__name__, source="(in memory)")
        return weights.to(resolve_device(device)), described
    folder = weights_dir()
    registry = folder / REGISTRY_FILE
    stamp = registry.stat().st_mtime if registry.is_file() else 0.0  # a retrained registry reloads
    return _cached_model(kind, str(weights or kind), str(resolve_device(device)), str(folder), stamp)


def task_networks(kind: str, weights=None, device="cpu") -> list[tuple[str, dict]]:
    """``(kind, info)`` of every network a task of ``kind`` runs with ``weights``, each loaded (so a
    command can refuse unusable weights once, before any work): the network itself and, for a REC
    that aligns its input (``faithful``), the CSR it aligns with. ``info`` as :func:`get_model`'s.

    Raises:
        WeightsError: for weights that cannot be loaded.
    """
    _, info = get_model(kind, weights, device)
    networks = [(kind, info)]
    if info["config"].get("faithful"):
        networks.append(("csr", get_model("csr", info["config"].get("align_with") or None, device)[1]))
    return networks
