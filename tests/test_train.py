"""Training: the self-supervised losses lower on simulated pairs, and runs resume from checkpoints."""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from l1bsr_core.models import RCAN, CSRConfig, CSRNet, RECConfig, build_network
from l1bsr_core.scenes import make_scene
from l1bsr_core.simulate import SimulationConfig, degrade, psf_sigma_for_mtf, simulate_pair
from l1bsr_core.train import losses
from l1bsr_core.train.loop import TrainConfig, train
from l1bsr_core.train.networks import training_of

TINY_REC = {"n_groups": 1, "n_blocks": 1, "n_feats": 8, "reduction": 4}
TINY_CSR = {"architecture": "encoder_decoder", "encoder": [8, 8, 16, 16], "decoder": [16, 16, 8, 8], "head": 8}
TINY_JOINT = {"width": 8, "depth": 2}
"""A small joint CSR (the default architecture): a partial config builds it."""


@pytest.fixture(scope="module")
def pairs():
    """Four simulated 48 x 48 pairs of one procedural scene, with their truth."""
    rng = np.random.default_rng(0)
    scene = make_scene(192, 192, seed=3)
    out = [simulate_pair(scene[:, y:y + 96, x:x + 96], SimulationConfig(), rng=rng)
           for y in (0, 96) for x in (0, 96)]
    v0 = torch.from_numpy(np.stack([p.views[0] for p in out]).astype(np.float32))
    v1 = torch.from_numpy(np.stack([p.views[1] for p in out]).astype(np.float32))
    return v0, v1, out


def fit(model, loss_fn, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    with torch.no_grad():
        before = loss_fn().item()
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = loss_fn().item()
    return before, after


def test_csr_anchor_consistency_loss_decreases(pairs):
    torch.manual_seed(0)
    v0, v1, _ = pairs
    csr = build_network("csr", CSRConfig.from_dict(TINY_CSR))
    band = torch.tensor([0, 1, 2, 3])
    anchor = v0[:, 1]
    before, after = fit(csr, lambda: losses.anchor_consistency_loss(csr, v0, v1, band, anchor)[0], 40, 2e-3)
    assert after < 0.9 * before, (before, after)


def test_rec_self_supervised_loss_decreases_with_true_flows_absent(pairs):
    """REC learns through the warp + degradation loss (flows from a fixed CSR, not from the truth)."""
    torch.manual_seed(0)
    v0, v1, _ = pairs
    rec = RCAN(RECConfig.from_dict({**TINY_REC, "bicubic_skip": False}))  # from scratch: learning shows
    csr = CSRNet(CSRConfig.from_dict(TINY_CSR)).requires_grad_(False)
    sigma = psf_sigma_for_mtf(SimulationConfig().mtf_nyquist, 2)
    with torch.no_grad():
        flows = training_of(csr).view_flows(csr, v0, v1)
    scale = 400.0
    loss_fn = lambda: losses.rec_self_supervised_loss(  # noqa: E731
        rec(v0 / scale), v1 / scale, flows, lambda x: degrade(x, 2, sigma), factor=2)
    before, after = fit(rec, loss_fn, 40, 2e-3)
    assert after < 0.7 * before, (before, after)


def test_loss_is_small_for_the_true_answer(pairs):
    """Sanity of REC's loss: the true HR image, carried by the true displacements, explains view 1."""
    v0, v1, out = pairs
    hr = torch.from_numpy(np.stack([p.hr for p in out]))
    true = torch.from_numpy(np.stack([p.displacements[1] for p in out])).float()
    sigma = out[0].psf_sigma
    good = losses.rec_self_supervised_loss(hr, v1, true, lambda x: degrade(x, 2, sigma), factor=2)
    wrong = losses.rec_self_supervised_loss(hr, v1, torch.zeros_like(true), lambda x: degrade(x, 2, sigma), factor=2)
    assert good < 0.5 * wrong


@pytest.mark.parametrize("task, model_config", [("csr", TINY_JOINT), ("csr", TINY_CSR), ("rec-supervised", TINY_REC)])
def test_training_run_logs_checkpoints_and_resumes(tmp_path, task, model_config):
    cfg = TrainConfig(task=task, out=str(tmp_path / task), steps=4, batch=2, crop=48, log_every=2,
                      val_every=4, ckpt_every=2, model_config=model_config, threads=1)
    train(cfg)
    first = [json.loads(line) for line in (tmp_path / task / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in first] == [2, 4]
    assert any(k.startswith("val_") for k in first[-1])
    state = torch.load(tmp_path / task / "last.pt", weights_only=True)
    assert state["step"] == 4
    cfg.steps = 6
    train(cfg)
    assert "resumed" in (tmp_path / task / "train.log").read_text()
    records = [json.loads(line) for line in (tmp_path / task / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    from l1bsr_core.weights import load_model
    model, info = load_model("csr" if task == "csr" else "rec", tmp_path / task / "last.pt")
    assert info["parameters"] > 0


def test_two_view_loss_is_small_for_the_true_flows():
    """Sanity of the joint CSR's loss: the true band flows of both views explain each other; zero
    flows, or the true flows scaled by 1.3 (an error the flipped band order makes visible), do not."""
    from l1bsr_core.models import JointCSR
    pair = simulate_pair(make_scene(320, 320, seed=5), SimulationConfig(), rng=1)
    views = [torch.from_numpy(pair.views[v].astype(np.float32))[None] for v in range(2)]
    true = [torch.from_numpy(pair.band_flows[v])[None] for v in range(2)]
    classical = JointCSR()

    class Given:  # the loss's view of a CSR: flows of a view, and the G-to-G flow between views
        def __init__(self, flows):
            self.flows = flows
            self.green_flow = classical.green_flow

        def __call__(self, view):
            return self.flows[0] if view is views[0] else self.flows[1]

    def loss(flows):
        return losses.two_view_consistency_loss(Given(flows), *views)[0].item()

    good = loss(true)
    assert good < 0.5 * loss([torch.zeros_like(f) for f in true])
    assert good < 0.8 * loss([1.3 * f for f in true])


def test_export_registers_the_run_with_an_override(tmp_path, capsys):
    """``export`` writes safetensors + registry; ``--override`` may change a setting, not parameters."""
    from l1bsr_core.train.__main__ import main
    from l1bsr_core.weights import load_model, read_registry
    run = tmp_path / "csr"
    train(TrainConfig(task="csr", out=str(run), steps=2, batch=2, crop=48, log_every=2, val_every=2,
                      ckpt_every=2, model_config=TINY_CSR, threads=1))
    weights = tmp_path / "weights"
    weights.mkdir()
    assert main(["export", str(run), "--name", "tiny", "--weights-dir", str(weights),
                 "--override", '{"max_flow_px": 3.0}']) == 0
    entry = read_registry(weights)["tiny"]
    assert entry.config["max_flow_px"] == 3.0
    model, _ = load_model("csr", weights / entry.file)
    assert model.config.max_flow_px == 3.0
    capsys.readouterr()
    assert main(["export", str(run), "--name", "bad", "--weights-dir", str(weights),  # wider features do not fit
                 "--override", '{"encoder": [8, 8, 16, 32]}']) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not fit the trained network" in err
    assert "bad" not in read_registry(weights) and not (weights / "bad.safetensors").exists()


def test_a_validation_is_the_best_only_when_it_beats_the_best_so_far():
    from l1bsr_core.train.loop import _beats
    best, kept = -math.inf, []
    for step, score in enumerate([1.0, 3.0, 2.0, 3.0, math.nan, 2.5, 5.0, math.inf], start=1):
        if _beats(score, best):
            best = score
            kept.append(step)
    assert kept == [1, 2, 7]  # ties, a diverged (NaN, inf) score and worse ones are not kept
    assert _beats(-5.0, math.nan)  # a best that diverged on the pairs it was scored again on is beaten


def scripted_validation(monkeypatch, errors):
    """Make the training loop's validations read ``errors`` (CSR mean flow error, px) in turn."""
    from l1bsr_core.train import loop
    queue = list(errors)
    monkeypatch.setattr(loop, "validate", lambda *args: {"epe_mean": queue.pop(0)})
    return queue


def test_the_best_validated_checkpoint_is_kept_resumed_and_exported(tmp_path, capsys, monkeypatch):
    """``best.pt`` is the step with the best validation score, also across a resume; an earlier
    run's best in a reused folder is replaced; ``export --checkpoint best`` writes it; a folder
    without one gets a one-line error."""
    from l1bsr_core.train.__main__ import main
    from l1bsr_core.weights import load_model, read_registry
    run = tmp_path / "csr"
    run.mkdir()
    (run / "best.json").write_text(json.dumps({"step": 99, "score": 1e9}))  # an earlier run's, in a reused folder
    (run / "best.pt").write_bytes(b"an earlier run's")
    config = TrainConfig(task="csr", out=str(run), steps=3, batch=2, crop=48, log_every=1, val_every=1,
                         ckpt_every=1, model_config=TINY_CSR, threads=1)
    scripted_validation(monkeypatch, [1.0, 0.5, 0.7])
    train(config)
    assert json.loads((run / "best.json").read_text()) == {"step": 2, "score": -0.5}
    scripted_validation(monkeypatch, [0.6, 0.4])  # resumed: 0.6 does not beat step 2, 0.4 does
    train(replace(config, steps=5))
    assert json.loads((run / "best.json").read_text())["step"] == 5
    scripted_validation(monkeypatch, [0.45])
    train(replace(config, steps=6))
    best, last = (torch.load(run / name, weights_only=True) for name in ("best.pt", "last.pt"))
    assert best["step"] == 5 and last["step"] == 6
    weights = tmp_path / "weights"
    weights.mkdir()
    assert main(["export", str(run), "--checkpoint", "best", "--name", "tiny-best", "--weights-dir", str(weights)]) == 0
    exported, _ = load_model("csr", weights / read_registry(weights)["tiny-best"].file)
    assert all(torch.equal(exported.state_dict()[k], v) for k, v in best["model"].items())
    assert any(not torch.equal(best["model"][k], last["model"][k]) for k in best["model"])
    (run / "best.pt").unlink()
    capsys.readouterr()
    assert main(["export", str(run), "--checkpoint", "best", "--name", "x", "--weights-dir", str(weights)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "best.pt" in err
    (run / "last.pt").write_bytes(b"truncated")
    assert main(["export", str(run), "--name", "y", "--weights-dir", str(weights)]) == 2
    assert "not a readable training checkpoint" in capsys.readouterr().err


def test_a_stopped_and_resumed_run_keeps_the_best_an_uninterrupted_one_keeps(tmp_path, monkeypatch):
    """The best score is kept in memory, from ``best.pt``'s own on resume: validations worse than
    it, after a resume too, never replace ``best.pt``, and ``best.json`` is a record the run never
    reads (a run resumed without it keeps the same best)."""
    errors = [0.5, 0.3, 0.4, 0.35, 0.6]  # the best at step 2, then only worse ones
    config = TrainConfig(task="csr", out=str(tmp_path / "whole"), steps=len(errors), batch=2, crop=48, log_every=1,
                         val_every=1, ckpt_every=1, model_config=TINY_CSR, threads=1)
    scripted_validation(monkeypatch, errors)
    train(config)
    stopped = replace(config, out=str(tmp_path / "stopped"))
    scripted_validation(monkeypatch, errors[:2])
    train(replace(stopped, steps=2))
    (tmp_path / "stopped" / "best.json").unlink()
    queue = scripted_validation(monkeypatch, errors[2:])
    train(stopped)
    assert not queue
    whole, resumed = (torch.load(tmp_path / run / "best.pt", weights_only=True) for run in ("whole", "stopped"))
    assert whole["step"] == resumed["step"] == 2 and whole["validation_score"] == resumed["validation_score"] == -0.3
    assert all(torch.equal(resumed["model"][k], v) for k, v in whole["model"].items())  # the same seeded run
    for run in ("whole", "stopped"):
        assert json.loads((tmp_path / run / "best.json").read_text()) == {"step": 2, "score": -0.3}
        assert (tmp_path / run / "train.log").read_text().count("(best so far") == 2


def test_a_fine_tune_validates_its_initial_weights_first(tmp_path, monkeypatch):
    """The weights a fine-tune starts from are its first candidate: a run that only gets worse
    keeps them as best.pt (step 0)."""
    base = TrainConfig(task="csr", out=str(tmp_path / "base"), steps=1, batch=2, crop=48, log_every=1,
                       val_every=1, ckpt_every=1, model_config=TINY_CSR, threads=1)
    train(base)
    queue = scripted_validation(monkeypatch, [0.3, 0.5, 0.6])
    tuned = replace(base, out=str(tmp_path / "tuned"), steps=2, init=str(tmp_path / "base" / "last.pt"), lr=3e-5)
    train(tuned)
    assert not queue
    assert json.loads((tmp_path / "tuned" / "best.json").read_text())["step"] == 0
    initial = torch.load(tmp_path / "base" / "last.pt", weights_only=True)["model"]
    best = torch.load(tmp_path / "tuned" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(best[k], v) for k, v in initial.items())
    assert "validation of the initial weights" in (tmp_path / "tuned" / "train.log").read_text()


def test_fine_tuning_starts_from_given_weights_and_simulation_overrides_reach_training(tmp_path):
    from l1bsr_core.train.data import PairSource
    base = TrainConfig(task="csr", out=str(tmp_path / "base"), steps=2, batch=2, crop=48, log_every=2,
                       val_every=2, ckpt_every=2, model_config=TINY_CSR, threads=1)
    train(base)
    tuned = TrainConfig(task="csr", out=str(tmp_path / "tuned"), steps=2, batch=2, crop=48, log_every=2,
                        val_every=2, ckpt_every=2, threads=1, init=str(tmp_path / "base" / "last.pt"),
                        simulation={"band_view_jitter_px": 0.6})
    before = torch.load(tmp_path / "base" / "last.pt", weights_only=True)
    train(tuned)
    after = torch.load(tmp_path / "tuned" / "last.pt", weights_only=True)
    assert after["config"] == before["config"]  # the init weights' architecture, not the default one
    log = (tmp_path / "tuned" / "train.log").read_text()
    assert "initialised from" in log
    assert "warning: fine-tuning trained weights at --lr 0.0005" in log  # the default rate undoes trained weights
    assert "not measured on a csr" in log  # the REC's figures are not quoted as the CSR's own
    assert any((after["model"][k] != before["model"][k]).any() for k in before["model"])  # it trained on
    gentle = replace(tuned, out=str(tmp_path / "gentle"), lr=3e-5)
    train(gentle)
    assert "warning" not in (tmp_path / "gentle" / "train.log").read_text()
    source = PairSource(tuned, np.random.default_rng(0), factor=2)
    assert source.sim.band_view_jitter_px == 0.6
    default_jitter = PairSource(base, np.random.default_rng(0), factor=2).sim.band_view_jitter_px
    assert default_jitter != 0.6


def test_real_pair_folder_cuts_the_same_window_from_both_views(tmp_path, example_crop):
    """The documented folder format for real overlap pairs: <name>_0.tif / <name>_1.tif."""
    import tifffile

    from l1bsr_core.train.data import RealPairFolder
    view0 = example_crop
    view1 = np.roll(view0, 1, axis=1)  # a stand-in second view, made in the test
    tifffile.imwrite(tmp_path / "scene_0.tif", view0)
    tifffile.imwrite(tmp_path / "scene_1.tif", view1)
    tifffile.imwrite(tmp_path / "lonely_0.tif", view0)  # no partner: ignored
    folder = RealPairFolder(tmp_path, crop=48, rng=np.random.default_rng(0))
    assert len(folder.pairs) == 1
    a, b = folder.sample()
    assert a.shape == b.shape == (4, 48, 48)
    np.testing.assert_array_equal(a[:, :, :-1], b[:, :, 1:])  # same window, second view shifted by 1
    with pytest.raises(ValueError, match="no pairs"):
        RealPairFolder(tmp_path / "scene_0.tif", crop=48, rng=np.random.default_rng(0))


def test_a_trained_rec_aligns_with_the_csr_it_was_trained_through(tmp_path, random_weights_dir):
    """One name for one thing: the training's ``align_with`` becomes the REC's own."""
    from l1bsr_core.weights import load_model

    csr_file = str(random_weights_dir / "csr.safetensors")
    cfg = TrainConfig(task="rec", out=str(tmp_path / "rec"), steps=1, batch=1, crop=32, log_every=1, val_every=1,
                      ckpt_every=1, model_config={**TINY_REC, "faithful": True}, align_with=csr_file, threads=1)
    train(cfg)
    model, _ = load_model("rec", tmp_path / "rec" / "last.pt")
    assert model.config.align_with == csr_file


def test_a_run_uses_the_init_and_align_with_weights_its_checks_loaded(tmp_path, random_weights_dir, monkeypatch):
    """The checks load the weights a run starts from (``init``) and trains through (``align_with``),
    and the run trains those: each file is read once."""
    from l1bsr_core import weights
    read = []

    def counted(loader):
        def load(path, kind):
            read.append(Path(path).name)
            return loader(path, kind)
        return load

    for name in ("_load_safetensors", "_load_torch"):
        monkeypatch.setattr(weights, name, counted(getattr(weights, name)))
    train(TrainConfig(task="rec", out=str(tmp_path / "rec"), steps=1, batch=1, crop=32, log_every=1, val_every=1,
                      ckpt_every=1, init=str(random_weights_dir / "rec.safetensors"), lr=3e-5,
                      align_with=str(random_weights_dir / "csr.safetensors"), threads=1))
    assert sorted(read) == ["csr.safetensors", "rec.safetensors"]


def test_a_resume_that_changes_the_validation_pairs_scores_the_best_again_on_them(tmp_path, monkeypatch):
    """Resumed with a larger ``--crop`` (other validation pairs), a run scores ``best.pt`` on the new
    pairs before comparing its next steps with it; resumed with the same options, it does not."""
    from l1bsr_core.train import loop
    run = tmp_path / "csr"
    config = TrainConfig(task="csr", out=str(run), steps=2, batch=2, crop=48, log_every=1, val_every=1,
                         ckpt_every=1, model_config=TINY_CSR, threads=1)
    scripted_validation(monkeypatch, [0.5, 0.7])
    train(config)
    assert json.loads((run / "best.json").read_text()) == {"step": 1, "score": -0.5}
    seen = []

    def validate(task, model, csr, batches, factor):
        seen.append(batches[0]["view0"].shape[-1])
        return {"epe_mean": [0.9, 0.8][len(seen) - 1]}

    monkeypatch.setattr(loop, "validate", validate)
    train(replace(config, steps=3, crop=128))  # best.pt re-scored 0.9 on 128 px pairs, then step 3 reads 0.8
    assert seen == [128, 128]
    assert json.loads((run / "best.json").read_text()) == {"step": 3, "score": -0.8}
    log = (run / "train.log").read_text()
    assert "the validation pairs changed on resume (crop 96 -> 128): best.pt (step 1) re-scored" in log
    queue = scripted_validation(monkeypatch, [0.85])
    train(replace(config, steps=4, crop=128))  # same pairs as the last run: no re-scoring
    assert not queue and log.count("re-scored") == (run / "train.log").read_text().count("re-scored")
    # A run stopped before its first last.pt with new options: the best, scored on 128 px pairs,
    # is compared with the best's own pairs, not those of the older last.pt beside it.
    older = torch.load(run / "last.pt", weights_only=True)
    older["train_config"] = {**older["train_config"], "crop": config.crop}
    torch.save(older, run / "last.pt")
    queue = scripted_validation(monkeypatch, [0.7, 0.75])  # best re-scored on 96 px pairs, then step 5
    train(replace(config, steps=5))
    assert not queue and json.loads((run / "best.json").read_text()) == {"step": 3, "score": -0.7}
    assert "the validation pairs changed on resume (crop 128 -> 96)" in (run / "train.log").read_text()


def test_a_record_left_behind_by_a_stop_between_the_two_writes_is_mended_on_resume(tmp_path, monkeypatch):
    """``best.pt`` carries its score: the next steps compare with it, and a ``best.json`` older than
    it (a run stopped between the two writes) is rewritten from it when the run resumes. A
    ``best.pt`` of an older run, which carries no score, is scored on resume."""
    run = tmp_path / "csr"
    config = TrainConfig(task="csr", out=str(run), steps=2, batch=2, crop=48, log_every=1, val_every=1,
                         ckpt_every=1, model_config=TINY_CSR, threads=1)
    scripted_validation(monkeypatch, [0.5, 0.3])
    train(config)
    assert torch.load(run / "best.pt", weights_only=True)["validation_score"] == -0.3
    (run / "best.json").write_text(json.dumps({"step": 1, "score": -0.5}))  # the record before step 2's
    scripted_validation(monkeypatch, [0.4])  # worse than step 2's 0.3, better than the stale record's 0.5
    train(replace(config, steps=3))
    assert json.loads((run / "best.json").read_text()) == {"step": 2, "score": -0.3}
    assert torch.load(run / "best.pt", weights_only=True)["step"] == 2
    older = torch.load(run / "best.pt", weights_only=True)
    del older["validation_score"], older["validation_setting"]
    torch.save(older, run / "best.pt")
    queue = scripted_validation(monkeypatch, [0.2, 0.25])  # step 2 scored 0.2, then step 4 reads 0.25
    train(replace(config, steps=4))
    assert not queue and json.loads((run / "best.json").read_text()) == {"step": 2, "score": -0.2}
    assert torch.load(run / "best.pt", weights_only=True)["validation_score"] == -0.2
    assert "best.pt (step 2) scored: nan -> -0.2000 (it carried no score)" in (run / "train.log").read_text()


def test_fine_tune_warning_quotes_the_rec_figures_as_its_own_only_for_a_rec():
    from l1bsr_core.train.loop import fine_tune_warning
    rec, csr = fine_tune_warning("rec", 3e-4), fine_tune_warning("csr", 3e-4)
    assert rec.startswith("warning: fine-tuning trained weights at --lr 0.0003: the shipped rec lost 0.24 dB")
    assert "not measured on a csr" in csr and "not measured" not in rec
    assert rec.endswith("consider --lr 3e-05") and csr.endswith("consider --lr 3e-05")
    with pytest.raises(ValueError, match="kind must be"):
        fine_tune_warning("pairs", 3e-4)
