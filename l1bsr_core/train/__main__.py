"""``python -m l1bsr_core.train {csr,rec,rec-supervised,export} ...``; see ``--help``.

The training commands' flags are generated from :class:`~l1bsr_core.train.loop.TrainConfig`:
one ``--field-name`` per field (``task`` is the command), typed by the field's annotation, with
the field's docstring as help. A ``dict`` field takes JSON; a ``bool`` field that defaults to
True is turned off with ``--no-field-name``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import sys
import textwrap
import typing
from pathlib import Path

from ..command_kit import OneLineParser, run_reporting_errors

COMMAND_FIELD = "task"
"""The field given by the command (csr, rec, rec-supervised), not by a flag."""
PROG = "python -m l1bsr_core.train"
"""The command's name in its usage and error lines."""


def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of a dataclass (the string literal after its annotation), one line each."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    docs = {}
    for node, following in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error.msg}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object {{...}}; got {text!r}")
    return value


def add_config_flags(parser: argparse.ArgumentParser, cls) -> None:
    """One flag per field of dataclass ``cls`` but :data:`COMMAND_FIELD` (see the module)."""
    docs, types = field_docs(cls), typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == COMMAND_FIELD:
            continue
        flag = "--" + field.name.replace("_", "-")
        help_text = docs.get(field.name, "").replace("%", "%%")
        kind = types[field.name]
        if kind is bool:
            if field.default:
                parser.add_argument("--no-" + field.name.replace("_", "-"), dest=field.name, action="store_false",
                                    help=help_text)
            else:
                parser.add_argument(flag, dest=field.name, action="store_true", help=help_text)
            continue
        convert = _json_object if kind is dict else kind
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            parser.add_argument(flag, dest=field.name, type=convert, required=True, help=help_text)
            continue
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        shown = json.dumps(default) if kind is dict else repr(default) if kind is str else default
        parser.add_argument(flag, dest=field.name, type=convert, default=default,
                            help=f"{help_text} Default: {shown}.".lstrip())


def build_parser() -> argparse.ArgumentParser:
    from .checks import TASKS
    from .loop import TrainConfig

    parser = OneLineParser(prog=PROG, description="Train CSR / REC without ground truth, or export a run to weights/.")
    commands = (*TASKS, "export")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(commands) + "}")
    for task in TASKS:
        add_config_flags(sub.add_parser(task, help=f"train {task}"), TrainConfig)
    p = sub.add_parser("export", help="write a run's model to weights/ as safetensors and register it")
    p.add_argument("run", type=Path, help="run folder (holding last.pt and best.pt)")
    p.add_argument("--checkpoint", choices=("last", "best"), default="last",
                   help="the last step's model, or the best validated one (best.pt). Default: last.")
    p.add_argument("--name", required=True,
                   help="registry name of the exported weights, also their file's (NAME.safetensors): letters, "
                        "digits, '-', '_' and '.', not starting with '.'")
    p.add_argument("--replace", action="store_true",
                   help="replace the weights already registered under --name (same kind; never a file that "
                        "another registered name uses). Default: a name the registry has is refused.")
    p.add_argument("--description", default="", help="registry description")
    p.add_argument("--weights-dir", type=Path, default=None, help="weights folder (default: the project's)")
    p.add_argument("--override", type=_json_object, default={},
                   help='JSON config fields that do not change the parameters, set on the exported model, '
                        'e.g. \'{"min_confidence": 0.2}\' (a joint CSR fusion setting)')
    return parser


def export(args: argparse.Namespace) -> dict:
    """Write the run's model as safetensors (with ``args.override`` applied) and register it;
    nothing is written when an argument is refused (see :func:`~l1bsr_core.weights.weights_file_for`)."""
    import torch

    from ..errors import ArgumentError, WeightsError, one_line
    from ..models import build_network
    from ..weights import load_model, register_weights, save_checkpoint, weights_dir, weights_file_for
    from .checks import check_config_fields

    folder = args.weights_dir or weights_dir()
    checkpoint = args.run / f"{args.checkpoint}.pt"
    if not checkpoint.is_file():
        older = (" (runs before best.pt existed keep only last.pt: --checkpoint last)"
                 if args.checkpoint == "best" else "")
        raise WeightsError(f"no {checkpoint.name} in {args.run}: expected a training run's folder{older}")
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        kind = state["kind"]
    except Exception as error:  # torch.load on a damaged file raises whatever its unpickler meets
        raise WeightsError(f"{checkpoint} is not a readable training checkpoint ({type(error).__name__})") from error
    path = weights_file_for(args.name, folder, kind, replace=args.replace)
    model, _ = load_model(kind, checkpoint)
    if args.override:
        check_config_fields(args.override, type(model.config), "--override")
        trained = model
        try:
            model = build_network(state["kind"], {**trained.config.to_dict(), **args.override})
            model.load_state_dict(trained.state_dict())  # strict: an override may not change parameters
        except (ValueError, TypeError, RuntimeError) as error:
            raise ArgumentError(f"--override {json.dumps(args.override)} does not fit the trained network "
                                f"({one_line(error)}); expected settings that keep its parameters") from None
    save_checkpoint(model, path, version=state["version"])
    entry = register_weights(args.name, path, description=args.description, folder=folder)
    return {"name": entry.name, "file": entry.file, "sha256": entry.sha256}


def main(argv=None) -> int:
    """The training command line: one line and exit status 2 for a user error (see
    :func:`~l1bsr_core.command_kit.run_reporting_errors`); a run stopped by Ctrl-C resumes from its
    last checkpoint when started again with the same ``--out``."""
    args = build_parser().parse_args(argv)
    if args.command == "export":
        return run_reporting_errors(f"{PROG} export", lambda: print(json.dumps(export(args))))
    from .loop import TrainConfig, train

    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(TrainConfig)
              if field.name != COMMAND_FIELD}

    def run() -> None:
        train(TrainConfig(task=args.command, **values))

    return run_reporting_errors(PROG, run,
                                interrupted=f"interrupted; run it again to resume from {args.out}/last.pt")


if __name__ == "__main__":
    sys.exit(main())
