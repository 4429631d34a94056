"""The networks' configs as the JSON dicts stored inside checkpoints."""

from __future__ import annotations

import typing
from dataclasses import asdict, fields
from typing import TypeVar

C = TypeVar("C", bound="DictConfig")


class DictConfig:
    """Mixin of a frozen dataclass config (:class:`~.rec.RECConfig`, :class:`~.csr.CSRConfig`,
    :class:`~.csr_joint.JointCSRConfig`): ``to_dict`` for a checkpoint, ``from_dict`` back."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[C], values: dict) -> C:
        """The config ``values`` describe. Keys that are not fields (another version's) are ignored;
        a tuple-typed field's list (JSON has no tuples) becomes a tuple of its element type."""
        hints = typing.get_type_hints(cls)
        known = {}
        for field in fields(cls):
            if field.name not in values:
                continue
            value = values[field.name]
            if typing.get_origin(hints[field.name]) is tuple:
                element = typing.get_args(hints[field.name])[0]
                value = tuple(element(v) for v in value)
            known[field.name] = value
        return cls(**known)
