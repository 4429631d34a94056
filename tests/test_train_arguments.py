"""Arguments of ``python -m l1bsr_core.train``: a refused one is one line on stderr (exit status 2),
never a traceback, and nothing is written; ``export`` keeps the registry's other weights safe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from l1bsr_core.models import JointCSRConfig, RECConfig, build_network
from l1bsr_core.train import losses
from l1bsr_core.train.__main__ import main
from l1bsr_core.train.checks import MIN_CROP
from l1bsr_core.train.loop import TrainConfig, train
from l1bsr_core.weights import read_registry, register_weights, save_checkpoint

TINY_JOINT = {"width": 8, "depth": 2}
TINY_PAIRWISE = {"architecture": "encoder_decoder", "encoder": [8, 8, 16, 16], "decoder": [16, 16, 8, 8], "head": 8}
"""An encoder-decoder CSR of 4 pooling blocks: its crops are multiples of 16 px."""


def refused(argv: list[str], capsys) -> str:
    """Run the command on ``argv``, expect exit status 2 and return its one line on stderr."""
    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


BAD_TRAINING_ARGUMENTS = [
    (["--batch", "0"], "--batch (batch) is at least 1"),
    (["--steps", "0"], "--steps (steps) is at least 1"),
    (["--steps", "-5"], "--steps (steps) is at least 1"),
    (["--threads", "0"], "--threads (threads) is at least 1"),
    (["--log-every", "0"], "--log-every (log_every) is at least 1"),
    (["--val-every", "0"], "--val-every (val_every) is at least 1"),
    (["--ckpt-every", "0"], "--ckpt-every (ckpt_every) is at least 1"),
    (["--crop", "-8"], f"at least {MIN_CROP} px for the losses"),
    (["--crop", "8"], f"at least {MIN_CROP} px for the losses"),
    (["--crop", str(2 * losses.CONSISTENCY_BORDER_PX)],  # the joint CSR's loss would be empty (NaN)
     f"at least {2 * losses.CONSISTENCY_BORDER_PX + 1} px for the joint_phase_correlation CSR's loss"),
    (["--seed", "-1"], "--seed (seed) seeds the random draws, 0 or more"),
    (["--crop", "40", "--model-config", json.dumps(TINY_PAIRWISE)], "multiple of 16 px"),
    (["--lr", "-1"], "--lr (lr) is a learning rate, a finite number above 0"),
    (["--lr", "nan"], "--lr (lr) is a learning rate"),
    (["--smooth-weight", "inf"], "--smooth-weight (smooth_weight) is a loss weight"),
    (["--device", "tpu"], "expected 'cpu', 'cuda' or 'cuda:N'"),
    (["--simulation", '{"nope": 1}'], "unknown field(s) nope; expected fields of SimulationConfig: band_affine"),
    (["--simulation", '{"band_residual_px": "x"}'], "field band_residual_px expects a value of type float"),
    (["--simulation", '{"factor": 4}'], "unknown field(s) factor"),
    (["--simulation", '{"mtf_nyquist": 2}'], "mtf_nyquist must be in (0, 1]"),
    (["--model-config", '{"zzz": 1}'], "unknown field(s) zzz; expected fields of JointCSRConfig: architecture"),
    (["--model-config", '{"width": "wide"}'], "field width expects a value of type int"),
    (["--model-config", '{"architecture": "rcan"}'], "unknown CSR architecture 'rcan'"),
    (["--no-procedural"], "leaves no scenes to train on"),
    (["--init", "no-such-weights"], "unknown CSR weights 'no-such-weights'"),
]
"""Extra arguments of ``csr --out RUN`` and a part of the line that refuses them."""


@pytest.mark.parametrize("extra, expected", BAD_TRAINING_ARGUMENTS,
                         ids=[" ".join(extra) for extra, _ in BAD_TRAINING_ARGUMENTS])
def test_a_refused_training_argument_is_one_line_and_writes_nothing(tmp_path, capsys, extra, expected):
    run = tmp_path / "run"
    err = refused(["csr", "--out", str(run), *extra], capsys)
    assert expected in err
    assert not run.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_device_this_machine_lacks_is_one_line(tmp_path, capsys):
    err = refused(["csr", "--out", str(tmp_path / "run"), "--device", "cuda"], capsys)
    assert "no CUDA GPU is available" in err and not (tmp_path / "run").exists()


def test_data_folders_without_data_and_a_run_folder_that_is_a_file_are_refused(tmp_path, capsys):
    empty, lonely, file = tmp_path / "empty", tmp_path / "lonely", tmp_path / "file"
    empty.mkdir()
    lonely.mkdir()
    (lonely / "scene_0.tif").write_bytes(b"")  # a first view without its second
    file.write_text("not a folder")
    run = tmp_path / "run"
    for extra, expected in (
        (["--real-pairs", str(tmp_path / "missing")], "holds no pairs"),
        (["--real-pairs", str(empty)], "holds no pairs"),
        (["--real-pairs", str(lonely)], "holds no pairs"),
        (["--real-scenes", str(tmp_path / "missing")], "holds no crops"),
        (["--real-scenes", str(empty)], "holds no crops"),
        (["--no-procedural", "--real-scenes", str(empty)], "holds no crops"),
    ):
        assert expected in refused(["csr", "--out", str(run), *extra], capsys)
        assert not run.exists()
    assert "is not a folder" in refused(["csr", "--out", str(file)], capsys)
    assert file.read_text() == "not a folder"


def test_a_rec_whose_csr_does_not_load_is_refused_before_its_folder(tmp_path, capsys):
    run = tmp_path / "run"
    err = refused(["rec", "--out", str(run), "--align-with", str(tmp_path / "no-csr.pt")], capsys)
    assert "unknown CSR weights" in err and not run.exists()


def test_the_smallest_crop_trains(tmp_path):
    """:data:`MIN_CROP` is accepted: one step of a tiny REC trains on it."""
    run = train(TrainConfig(task="rec-supervised", out=str(tmp_path / "run"), steps=1, batch=1, crop=MIN_CROP,
                            threads=1, model_config={"n_groups": 1, "n_blocks": 1, "n_feats": 8, "reduction": 4}))
    record = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert record["step"] == 1 and record["loss"] == record["loss"]  # finite: the losses keep pixels


# export


def folder_state(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (and beside it), by path, with the SHA-256 of its bytes."""
    return {str(path.relative_to(folder.parent)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.parent.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def csr_run(tmp_path_factory) -> Path:
    """A one-step run of a tiny joint CSR."""
    run = tmp_path_factory.mktemp("export") / "csr-run"
    train(TrainConfig(task="csr", out=str(run), steps=1, batch=1, crop=48, log_every=1, val_every=1, ckpt_every=1,
                      model_config=TINY_JOINT, threads=1))
    return run


@pytest.fixture
def shipped_like(tmp_path) -> Path:
    """A weights folder laid out as the shipped one: ``csr`` is csr-composite-nir.safetensors and
    ``csr-green-nir`` is csr.safetensors (names and files cross), ``rec`` is rec.safetensors."""
    folder = tmp_path / "box" / "weights"
    folder.mkdir(parents=True)
    csr = build_network("csr", JointCSRConfig(**TINY_JOINT))
    rec = build_network("rec", RECConfig(n_groups=1, n_blocks=1, n_feats=8))
    for name, file, model in (("rec", "rec", rec), ("csr", "csr-composite-nir", csr), ("csr-green-nir", "csr", csr)):
        save_checkpoint(model, folder / f"{file}.safetensors")
        register_weights(name, folder / f"{file}.safetensors", folder=folder)
    return folder


@pytest.mark.parametrize("name, expected", [
    ("rec", "are a registered REC network"),
    ("csr", "is the file of the registered weights csr-green-nir"),
    ("csr-composite-nir", "is the file of the registered weights csr"),
    ("../evil", "is not a plain name"),
    ("sub/evil", "is not a plain name"),
    ("", "is not a plain name"),
    (".hidden", "is not a plain name"),
])
def test_export_refuses_names_that_would_replace_or_escape_and_writes_nothing(csr_run, shipped_like, capsys, name,
                                                                              expected):
    before = folder_state(shipped_like)
    err = refused(["export", str(csr_run), "--name", name, "--weights-dir", str(shipped_like)], capsys)
    assert expected in err
    assert folder_state(shipped_like) == before


@pytest.mark.parametrize("name, expected", [
    ("rec", "are a registered REC network"),  # a CSR run never takes the REC's name
    ("csr", "is the file of the registered weights csr-green-nir"),
    ("csr-composite-nir", "is the file of the registered weights csr"),
])
def test_replace_never_takes_a_file_another_name_uses_or_another_kind(csr_run, shipped_like, capsys, name, expected):
    before = folder_state(shipped_like)
    err = refused(["export", str(csr_run), "--name", name, "--weights-dir", str(shipped_like), "--replace"], capsys)
    assert expected in err
    assert folder_state(shipped_like) == before


def test_export_replaces_its_own_name_only_when_asked(csr_run, shipped_like, capsys):
    export = ["export", str(csr_run), "--name", "mine", "--weights-dir", str(shipped_like)]
    assert main(export) == 0
    first = read_registry(shipped_like)["mine"]
    (shipped_like / "stray.safetensors").write_bytes(b"not registered")
    capsys.readouterr()
    assert "already exist" in refused(export, capsys)
    assert "already exist" in refused([*export[:3], "stray", *export[4:]], capsys)  # a file, even unregistered
    assert main([*export, "--replace", "--override", '{"min_confidence": 0.3}']) == 0
    again = read_registry(shipped_like)["mine"]
    assert again.file == first.file == "mine.safetensors" and again.config["min_confidence"] == 0.3
    assert {"rec", "csr", "csr-green-nir", "mine"} == set(read_registry(shipped_like))


def test_export_refuses_unknown_override_fields_and_a_weights_folder_that_is_not_one(csr_run, shipped_like, capsys):
    before = folder_state(shipped_like)
    export = ["export", str(csr_run), "--name", "mine"]
    err = refused([*export, "--weights-dir", str(shipped_like), "--override", '{"zzz": 1}'], capsys)
    assert "--override: unknown field(s) zzz; expected fields of JointCSRConfig" in err and "min_confidence" in err
    err = refused([*export, "--weights-dir", str(shipped_like), "--override", '{"min_confidence": "low"}'], capsys)
    assert "field min_confidence expects a value of type float" in err
    assert folder_state(shipped_like) == before
    missing = shipped_like.parent / "missing"
    assert "is not a folder" in refused([*export, "--weights-dir", str(missing)], capsys)
    assert not missing.exists()
    registry = shipped_like / "registry.json"
    assert "is not a folder" in refused([*export, "--weights-dir", str(registry)], capsys)
    assert folder_state(shipped_like) == before


def test_a_rec_config_that_names_an_architecture_is_refused(tmp_path, capsys):
    """A REC's architecture follows its ``faithful`` field: an ``architecture`` key would be dropped
    silently (a plain RCAN trained instead), so it is refused, naming the fields accepted."""
    err = refused(["rec", "--out", str(tmp_path / "run"), "--model-config", '{"architecture": "faithful_rec"}'],
                  capsys)
    assert "unknown field(s) architecture" in err and "faithful" in err
    assert not (tmp_path / "run").exists()
