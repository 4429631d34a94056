"""Output files: names checked before any work, never the input, written atomically.

:func:`check_output_path` refuses a misnamed, unwritable or precious output before anything is
computed; :func:`atomic_output` writes through a temporary file beside the output, so that readers
see the old file or the complete new one and a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import ArgumentError, InputError, one_line

HASH_CHUNK_BYTES = 1 << 20

TIFF_SUFFIXES = (".tif", ".tiff")
"""Output names :func:`l1bsr_core.io.write_bgrn` accepts (in any case): it writes TIFF, so the name says so."""


@contextlib.contextmanager
def atomic_output(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    The temporary file is created (empty, with the permissions a new file gets) in the same
    folder, so the final ``os.replace`` is atomic: readers see the old file or the complete
    new one, and a failure leaves neither a partial output nor a temporary file.

    Args:
        path: the final file.
        suffix: suffix of the temporary name; default the suffix of ``path``. Keep it equal to
            what the writer expects (``np.save`` appends ``.npy`` to names not ending so)::

                with atomic_output("flow.npy") as tmp:
                    np.save(tmp, flow)

    Raises:
        InputError: when the temporary file cannot be created or renamed (missing folder,
            no permission, ``path`` is a folder). Errors of the body propagate unchanged.
    """
    source = os.fspath(path)
    path = Path(source)
    suffix = path.suffix if suffix is None else suffix
    _check_file_location(path, source)
    temp = _create_temp_file(path, suffix, source)
    try:
        yield temp
        try:
            os.replace(temp, path)
        except OSError as error:
            raise InputError(f"cannot write {source}: {error.strerror or error}") from error
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def _check_file_location(path: Path, source: str) -> None:
    """InputError unless ``path`` is a file name (not a folder) in a folder that exists."""
    if path.is_dir():
        raise InputError(f"cannot write {source}: it is a folder; expected a file path")
    if not path.parent.is_dir():
        raise InputError(f"cannot write {source}: the folder {path.parent} does not exist")


def check_suffix(path, suffixes: tuple[str, ...]) -> None:
    """ArgumentError unless the name of ``path`` ends in one of ``suffixes`` (any case)."""
    source = os.fspath(path)
    suffix = Path(source).suffix
    if suffix.lower() not in suffixes:
        found = f"ends in {suffix!r}" if suffix else "has no extension"
        raise ArgumentError(
            f"the output name {source} {found}; expected a name ending in {' or '.join(suffixes)} "
            f"(the format that is written)"
        )


def same_file(first, second) -> bool:
    """True when two paths name one file, however spelled (relative, symbolic or hard links)."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return Path(first).resolve() == Path(second).resolve()


def check_output_path(path, suffixes: tuple[str, ...] = TIFF_SUFFIXES, *, keep=()) -> None:
    """Refuse, before any work is done, an output path that is misnamed, unwritable or precious.

    Args:
        path: the file to be written.
        suffixes: the name endings accepted (compared in lower case): the format written.
        keep: files that must not be overwritten (the inputs), compared with :func:`same_file`.

    Raises:
        ArgumentError: for a name that does not end in one of ``suffixes``, or a path that is one
            of ``keep``.
        InputError: for a folder, a missing folder, or a folder this process cannot write in.
    """
    source = os.fspath(path)
    path = Path(source)
    check_suffix(path, suffixes)
    for other in keep:
        if same_file(path, other):
            raise ArgumentError(
                f"the output {source} is the input file {os.fspath(other)}: writing it would destroy "
                f"the input; expected another output name"
            )
    _check_file_location(path, source)
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {source}: no permission to create files in {path.parent}")


def _create_temp_file(path: Path, suffix: str, source: str) -> Path:
    """Create an empty, uniquely named file beside ``path`` (mode 0o666 less the umask)."""
    while True:
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{suffix}")
        try:
            os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return temp
        except FileExistsError:
            continue
        except OSError as error:
            raise InputError(f"cannot write {source}: {error.strerror or error}") from error


def write_json(path, record: dict) -> None:
    """``record`` as indented JSON at ``path``, atomically (:func:`atomic_output`)."""
    with atomic_output(path) as temp:
        temp.write_text(json.dumps(record, indent=2) + "\n")


def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (outputs, weights, inputs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


FLOW_SUFFIXES = (".npy",)
"""Names accepted for the flow file: it is saved with ``np.save``."""


def save_flow(path: Path, flow: np.ndarray) -> None:
    """``np.save`` to ``path`` (a temporary file of :func:`atomic_output`), as an InputError if it fails."""
    try:
        np.save(path, flow)
    except OSError as error:
        raise InputError(f"cannot write the flow: {error.strerror or one_line(error)}") from error
