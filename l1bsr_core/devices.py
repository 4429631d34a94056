"""Devices the networks run on: a name checked, then resolved on this machine."""

from __future__ import annotations

import torch

from .errors import ArgumentError

DEVICE_TYPES = ("cpu", "cuda")
"""Kinds of torch device the networks run on."""
_ACCEPTED_DEVICES = "expected 'cpu', 'cuda' or 'cuda:N'"
"""What an unusable device name is told."""


def parse_device(device: str | torch.device) -> torch.device:
    """The torch device named by ``device`` (the CPU or a CUDA GPU), whether or not this machine has it.

    Raises:
        ArgumentError: for a name torch does not know or another kind of device.
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ArgumentError(f"device {str(device)!r} is not a device name; {_ACCEPTED_DEVICES}") from error
    if resolved.type not in DEVICE_TYPES:
        raise ArgumentError(f"device {str(resolved)!r} is not supported; {_ACCEPTED_DEVICES}")
    return resolved


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device named by ``device``: the CPU, or a CUDA GPU that this machine has.

    Raises:
        ArgumentError: as :func:`parse_device`, or for a GPU that is not there.
    """
    resolved = parse_device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ArgumentError(f"device {str(resolved)!r} was asked for but no CUDA GPU is available; use 'cpu'")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ArgumentError(
                f"device {str(resolved)!r} does not exist: this machine has {count} CUDA GPU(s), "
                f"cuda:0 to cuda:{count - 1}"
            )
    return resolved
