"""Tests of l1bsr_core.train.__main__: the training flags are generated from TrainConfig."""

from __future__ import annotations

import dataclasses

import pytest

from l1bsr_core.train.__main__ import COMMAND_FIELD, build_parser, field_docs
from l1bsr_core.train.checks import TASKS
from l1bsr_core.train.loop import TrainConfig

FLAGS_BEFORE_GENERATION = (
    "--out", "--steps", "--batch", "--crop", "--seed", "--threads", "--log-every", "--val-every", "--ckpt-every",
    "--lr", "--smooth-weight", "--equivariance-weight", "--device", "--model-config", "--align-with",
    "--real-pairs", "--real-scenes", "--no-procedural", "--own-nir", "--init", "--simulation",
)
"""The flags of the hand-written training CLI: scripts and the README use them."""


def training_actions(task: str):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return [a for a in sub.choices[task]._actions if a.dest != "help"]


@pytest.mark.parametrize("task", TASKS)
def test_every_field_is_a_flag_with_help_and_no_flag_was_lost(task):
    actions = training_actions(task)
    assert {a.dest for a in actions} == {f.name for f in dataclasses.fields(TrainConfig)} - {COMMAND_FIELD}
    assert {flag for a in actions for flag in a.option_strings} == set(FLAGS_BEFORE_GENERATION)
    assert all(a.help for a in actions), [a.dest for a in actions if not a.help]


def test_parsed_flags_make_the_config():
    args = build_parser().parse_args([
        "rec", "--out", "runs/x", "--steps", "5", "--lr", "0.1", "--no-procedural",
        "--model-config", '{"n_feats": 8}', "--simulation", '{"band_view_jitter_px": 0.5}',
    ])
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if f.name != COMMAND_FIELD}
    config = TrainConfig(task=args.command, **values)
    assert config == TrainConfig(task="rec", out="runs/x", steps=5, lr=0.1, procedural=False,
                                 model_config={"n_feats": 8}, simulation={"band_view_jitter_px": 0.5})


def test_json_flags_refuse_what_is_not_an_object(capsys):
    for bad in ("{not json", "[1, 2]"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["csr", "--out", "x", "--model-config", bad])
        assert "--model-config" in capsys.readouterr().err


def test_field_docs_reads_the_docstring_under_each_field():
    docs = field_docs(TrainConfig)
    assert docs["out"] == "Run folder (resumes if it holds last.pt; a new run there replaces an earlier run's best.pt)."
    assert "\n" not in docs["init"] and docs["init"].startswith("Weights (registered name")


@pytest.mark.parametrize("argv", [
    [], ["nope"], ["csr"], ["export"], ["export", "run", "--name", "n", "--override", "[1]"],
    ["csr", "--out", "x", "--simulation", "{bad"], ["csr", "--out", "x", "--model-config", "{bad"],
])
def test_argument_errors_are_one_line_that_says_what_is_expected(capsys, argv):
    from l1bsr_core.train.__main__ import main
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "--help" in err, err
    assert "usage:" not in err


def test_a_missing_command_names_the_commands(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([])
    assert "required: {csr,rec,rec-supervised,export}" in capsys.readouterr().err

