"""``python -m l1bsr_core.train {csr,rec,rec-supervised,export} ...``; see ``--help``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from .loop import TrainConfig

    parser = argparse.ArgumentParser(prog="python -m l1bsr_core.train",
                                     description="Train CSR / REC without ground truth, or export a run to weights/.")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = TrainConfig(task="csr", out="")
    for task in ("csr", "rec", "rec-supervised"):
        p = sub.add_parser(task, help=f"train {task}")
        p.add_argument("--out", required=True, help="run folder (resumes if it holds last.pt)")
        for name in ("steps", "batch", "crop", "seed", "threads", "log_every", "val_every", "ckpt_every"):
            p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
        p.add_argument("--lr", type=float, default=defaults.lr)
        p.add_argument("--smooth-weight", type=float, default=defaults.smooth_weight)
        p.add_argument("--equivariance-weight", type=float, default=defaults.equivariance_weight)
        p.add_argument("--device", default="cpu")
        p.add_argument("--model-config", default="{}", help='JSON constructor arguments, e.g. \'{"n_feats": 32}\'')
        p.add_argument("--csr-weights", default=defaults.csr_weights, help="rec: frozen CSR (name or path)")
        p.add_argument("--real-pairs", default="", help="folder of real overlap pairs <name>_0.tif/<name>_1.tif")
        p.add_argument("--real-scenes", default="", help="folder of real crops used as HR scenes for the simulator")
        p.add_argument("--no-procedural", action="store_true", help="do not use procedural scenes")
        p.add_argument("--init", default="", help="start a new run from these weights (name or path): fine-tuning")
        p.add_argument("--simulation", default="{}",
                       help='JSON SimulationConfig overrides for training pairs, e.g. \'{"band_view_jitter_px": 0.5}\'')
    p = sub.add_parser("export", help="write a run's model to weights/ as safetensors and register it")
    p.add_argument("run", type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--description", default="")
    p.add_argument("--weights-dir", type=Path, default=None)
    p.add_argument("--override", default="{}",
                   help='JSON config fields that do not change the parameters, set on the exported model, '
                        'e.g. \'{"lk_robust": 0.3}\' (a CSR solver setting)')
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "export":
        from ..weights import build_model, load_model, register_weights, save_checkpoint, weights_dir
        folder = args.weights_dir or weights_dir()
        import torch
        state = torch.load(args.run / "last.pt", map_location="cpu", weights_only=True)
        model, _ = load_model(state["kind"], args.run / "last.pt")
        override = json.loads(args.override)
        if override:
            trained = model
            model = build_model(state["kind"], {**trained.config.to_dict(), **override})
            model.load_state_dict(trained.state_dict())  # strict: an override may not change parameters
        path = folder / f"{args.name}.safetensors"
        save_checkpoint(model, path, version=state["version"])
        entry = register_weights(args.name, path, description=args.description, folder=folder)
        print(json.dumps({"name": entry.name, "file": entry.file, "sha256": entry.sha256}))
        return 0
    from .loop import TrainConfig, train
    cfg = TrainConfig(
        task=args.command, out=args.out, steps=args.steps, batch=args.batch, crop=args.crop, lr=args.lr,
        seed=args.seed, device=args.device, threads=args.threads, log_every=args.log_every,
        val_every=args.val_every, ckpt_every=args.ckpt_every, model_config=json.loads(args.model_config),
        csr_weights=args.csr_weights, real_pairs=args.real_pairs, real_scenes=args.real_scenes,
        procedural=not args.no_procedural, smooth_weight=args.smooth_weight,
        equivariance_weight=args.equivariance_weight, init=args.init, simulation=json.loads(args.simulation),
    )
    train(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
