"""Derive the shipped `csr` from `csr-green-nir` (config changes only; nothing is trained). Usage::

    python scripts/derive_csr.py

Two steps, each the same weights with NIR measured differently (issue #24):

1. ``weights/csr-composite-nir.safetensors`` (registered as ``csr-composite-nir``, the default of
   sessions 7–10): NIR measured against the per-window least-squares composite of G, B, R, and
   NIR's own residual trusted only where its windows are;
2. ``weights/csr-nir-window32.safetensors`` (registered as ``csr``, session 11): the same with NIR's
   composite windows 32 px wide, centred on the 64 px grid's windows.

``weights/csr.safetensors`` stays registered as ``csr-green-nir``. A step whose file exists is not
run again: a shipped file keeps its bytes and hash (a config field added later, such as
``nir_composite_window``, takes its default when the file is loaded), and every file is
re-registered from itself.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from l1bsr_core.models import JointCSR  # noqa: E402
from l1bsr_core.models.csr_joint import NIR_REFERENCE_COMPOSITE  # noqa: E402
from l1bsr_core.weights import PROJECT_WEIGHTS_DIR, load_model, register_weights, save_checkpoint  # noqa: E402

GREEN_NIR = PROJECT_WEIGHTS_DIR / "csr.safetensors"
COMPOSITE_NIR = PROJECT_WEIGHTS_DIR / "csr-composite-nir.safetensors"
SHIPPED = PROJECT_WEIGHTS_DIR / "csr-nir-window32.safetensors"
RESIDUAL_SUPPORT = 0.1
"""``nir_residual_support``: NIR's residual is fully trusted where the local mean kept window weight
is at least this (a confidence of ~0.3 on a third of the windows), faded to the joint model below."""
NIR_COMPOSITE_WINDOW = 32
"""``nir_composite_window``: NIR's windows against the composite, px (the grid's are 64)."""


def derive(source: Path, target: Path, version: str, **changes) -> None:
    """``target``: the weights of ``source`` with its config changed by ``changes``. An existing
    ``target`` is kept if it is exactly that (weights and config); otherwise this raises."""
    previous, _ = load_model("csr", source)
    config = dataclasses.replace(previous.config, **changes)
    if target.exists():
        kept, _ = load_model("csr", target)
        same_weights = all(torch.equal(kept.state_dict()[k], v) for k, v in previous.state_dict().items())
        if kept.config != config or not same_weights:
            raise SystemExit(f"{target.name} exists but is not {source.name} with {changes}; move it away first")
        return
    model = JointCSR(config)
    model.load_state_dict(previous.state_dict())
    save_checkpoint(model, target, version=version)


def main() -> None:
    derive(GREEN_NIR, COMPOSITE_NIR, "csr-step120-composite-nir", nir_reference=NIR_REFERENCE_COMPOSITE,
           nir_residual_support=RESIDUAL_SUPPORT)
    derive(COMPOSITE_NIR, SHIPPED, "csr-step120-composite-nir32", nir_composite_window=NIR_COMPOSITE_WINDOW)
    register_weights("csr-green-nir", GREEN_NIR, description=(
        "The default csr of issue #16 (csr-step120-joint-nir): NIR's windows matched against G alone, "
        "then the joint NIR model. Kept to reproduce the issue #24 comparison."))
    register_weights("csr-composite-nir", COMPOSITE_NIR, description=(
        "The default csr of sessions 7-10 (csr-step120-composite-nir, issue #24): NIR's 64 px windows matched "
        "against the least-squares composite of G, B, R. Kept to reproduce the session-11 comparison."))
    register_weights("csr", SHIPPED, description=(
        "Joint CSR: windowed phase correlation on complex gradients, robust fusion, B and R measured a second "
        "time after warping; NIR measured, after B and R are registered, in 32 px windows centred on the 64 px "
        "grid's, against the per-window least-squares composite of G, B, R, then estimated jointly with B and R "
        "(affine part + fitted coupling to the shared displacement field + its own residual, trusted only "
        "where its windows are). No learned part in the inference path (the file keeps a switched-off NIR "
        "correction network). Issue #24."))
    print(f"{COMPOSITE_NIR.name} is `csr-composite-nir`, {SHIPPED.name} `csr`, {GREEN_NIR.name} `csr-green-nir`")


if __name__ == "__main__":
    main()
