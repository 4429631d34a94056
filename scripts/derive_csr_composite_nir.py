"""Derive the shipped `csr` (issue #24) from `csr-green-nir`: the same weights, NIR measured against
the per-window least-squares composite of G, B, R, and NIR's own residual trusted only where its
windows are (config changes only; nothing is trained). Usage::

    python scripts/derive_csr_composite_nir.py

Writes ``weights/csr-composite-nir.safetensors`` and registers it as ``csr``; the previous file,
``weights/csr.safetensors``, stays registered as ``csr-green-nir`` (its registry entry is
re-registered from the file itself, so its hash and config are unchanged).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from l1bsr_core.models import JointCSR  # noqa: E402
from l1bsr_core.models.csr_joint import NIR_REFERENCE_COMPOSITE  # noqa: E402
from l1bsr_core.weights import PROJECT_WEIGHTS_DIR, load_model, register_weights, save_checkpoint  # noqa: E402

PREVIOUS = PROJECT_WEIGHTS_DIR / "csr.safetensors"
SHIPPED = PROJECT_WEIGHTS_DIR / "csr-composite-nir.safetensors"
VERSION = "csr-step120-composite-nir"
RESIDUAL_SUPPORT = 0.1
"""``nir_residual_support``: NIR's residual is fully trusted where the local mean kept window weight
is at least this (a confidence of ~0.3 on a third of the windows), faded to the joint model below."""


def main() -> None:
    previous, _ = load_model("csr", PREVIOUS)
    config = dataclasses.replace(previous.config, nir_reference=NIR_REFERENCE_COMPOSITE,
                                 nir_residual_support=RESIDUAL_SUPPORT)
    model = JointCSR(config)
    model.load_state_dict(previous.state_dict())
    save_checkpoint(model, SHIPPED, version=VERSION)
    register_weights("csr-green-nir", PREVIOUS, description=(
        "The previous default csr (csr-step120-joint-nir): NIR's windows matched against G alone, "
        "then the joint NIR model (issue #16). Kept to reproduce the issue #24 comparison."))
    register_weights("csr", SHIPPED, description=(
        "Joint CSR: windowed phase correlation on complex gradients, robust fusion, B and R measured a second "
        "time after warping; NIR measured, after B and R are registered, against the per-window least-squares "
        "composite of G, B, R, then estimated jointly with B and R (affine part + fitted coupling to the shared "
        "displacement field + its own residual, trusted only where its windows are). No learned part in the "
        "inference path (the file keeps a switched-off NIR correction network). Issue #24."))
    print(f"wrote {SHIPPED.name} ({VERSION}) as `csr`; {PREVIOUS.name} is `csr-green-nir`")


if __name__ == "__main__":
    main()
