"""Issue #16's NIR tries, none shipped: the shipped `csr` against variants of its NIR estimate.

Prints one Markdown table; not a test; never trains. Usage::

    python benchmarks/nir_tries.py [--simulated 4] [--crops DIR] [--quick] [--threads 2]

Every try is the shipped `csr` (its weights, its B and R) with one change to how NIR is estimated:

* ``composite``: NIR is measured, after B and R are registered, against a per-window least-squares
  combination of G and the registered B and R (real coefficients on the windows' apodised complex
  gradients, a ridge relative to their mean energy) instead of G alone; then the joint model as
  shipped. Variants: NIR warped by its first estimate before the measurement, a stronger ridge,
  the composite's field with its affine part taken from the shipped estimate.
* ``NIR windows``: NIR's first measurement with larger windows (B and R keep 64 px).
* ``NIR gradient σ``: NIR's first measurement on smoother gradients.
* configuration changes only: how NIR's residual from the joint model is smoothed.

Scores: NIR flow endpoint error (px) against the truth as in ``registration.py`` (interior), on
its simulated pairs (procedural / real-crop scenes / all), its independent simulator's three
cases, and on its motionless pairs (table 5: every displacement zero, first noise draw), where the
truth is 0; and, without truth, NIR's residual misregistration on the real crops by the
independent NGF estimate. Conventions: bands B, G, R, NIR; flows (3, 2, H, W) of B, R, NIR onto G, dx then dy.
"""

from __future__ import annotations

import argparse
import dataclasses

import common  # first: it puts the project root on sys.path
import numpy as np
import registration
import torch

from l1bsr_core import inference
from l1bsr_core.arrays import to_uint16
from l1bsr_core.bands import BAND_NAMES, BLUE, GREEN, MOVING_BANDS, NIR, NO_DATA, RED
from l1bsr_core.classical_registration import classical_register
from l1bsr_core.metrics import flow_epe
from l1bsr_core.misregistration import ngf_misregistration
from l1bsr_core.models import JointCSR
from l1bsr_core.models.csr_joint import affine_basis
from l1bsr_core.phase_correlation import apodized_spectra, complex_gradient, phase_correlation
from l1bsr_core.simulate import SimulationConfig, simulate_pair
from l1bsr_core.warp import align_to_reference, warp_bands

K_NIR = MOVING_BANDS.index(NIR)


def window_spectra(planes: torch.Tensor, window: int, step: int, sigma: float = 1.0) -> torch.Tensor:
    """(C, H, W) real planes → (C, gy, gx, window, window) apodised spectra of their complex gradients."""
    gradients = complex_gradient(planes[None].float(), sigma)[0]
    return apodized_spectra(gradients.unfold(-2, window, step).unfold(-2, window, step))


def correlate(reference: torch.Tensor, moving: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectra (gy, gx, w, w) → shifts (2, gy, gx) and confidences (gy, gx) of ``moving`` onto ``reference``."""
    dx, dy, confidence = phase_correlation(reference, moving)
    size = reference.shape[:2]
    return torch.stack((dx, dy)).reshape(2, *size), confidence.reshape(size)


def composite_windows(references: torch.Tensor, moving: torch.Tensor, window: int, step: int,
                      ridge: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``moving`` (H, W) against, per window, the least-squares combination of the ``references``
    (J, H, W) that best predicts it: shifts (2, gy, gx) and confidences (gy, gx)."""
    spectra = window_spectra(torch.cat((references, moving[None])), window, step)
    refs, target = spectra[:-1], spectra[-1]
    gram = torch.einsum("jyxab,kyxab->yxjk", refs, refs.conj()).real
    rhs = torch.einsum("yxab,jyxab->yxj", target, refs.conj()).real
    energy = gram.diagonal(dim1=-2, dim2=-1).mean(-1)[..., None, None]
    gram = gram + ridge * energy * torch.eye(len(refs), dtype=gram.dtype)
    coefficients = torch.linalg.solve(gram, rhs[..., None])[..., 0]  # (gy, gx, J)
    return correlate((refs * coefficients.permute(2, 0, 1)[..., None, None]).sum(0), target)


class CompositeNIR(JointCSR):
    """The shipped pipeline, with NIR's windows measured against a composite of G, B, R (registered)."""

    def __init__(self, config, *, ridge: float, warped: bool):
        super().__init__(config)
        self.ridge, self.warped = ridge, warped

    def grid(self, bgrn: torch.Tensor) -> torch.Tensor:
        height, width = bgrn.shape[-2:]
        window, step = self.window_size(height, width), self.config.step
        shift, confidence = self.measure(bgrn, window)
        first, _ = self.classical_fusion(shift, confidence)
        dense = self.to_pixels(first, height, width, window)
        refined = self.measure(align_to_reference(bgrn, dense, MOVING_BANDS), window, bands=self.refined_bands())
        classical = first + self.residual_fusion(*refined)
        aligned = align_to_reference(bgrn, self.to_pixels(classical, height, width, window), MOVING_BANDS)
        source = aligned if self.warped else bgrn
        windows, weights = composite_windows(aligned[0, [GREEN, BLUE, RED]], source[0, NIR], window, step, self.ridge)
        shift, confidence = shift.clone(), confidence.clone()
        shift[0, K_NIR] = windows + (classical[0, K_NIR] if self.warped else 0)
        confidence[0, K_NIR] = weights
        return self.joint_nir(shift, confidence, classical)


class AnchoredCompositeNIR(CompositeNIR):
    """:class:`CompositeNIR` for NIR's shape only: its field minus its own affine part, plus the
    affine part of the shipped estimate (so B's and R's registration offsets, which the composite
    inherits, cannot move NIR as a whole)."""

    def grid(self, bgrn: torch.Tensor) -> torch.Tensor:
        composite, shipped = super().grid(bgrn), JointCSR.grid(self, bgrn)
        out = composite.clone()
        out[0, K_NIR] = composite[0, K_NIR] - affine_part(composite[0, K_NIR]) + affine_part(shipped[0, K_NIR])
        return out


def affine_part(field: torch.Tensor) -> torch.Tensor:
    """The least-squares affine fit (a + b·x + c·y per component) of a (2, gy, gx) grid field."""
    basis = affine_basis(*field.shape[-2:]).T  # (M, 3)
    solution = torch.linalg.lstsq(basis, field.double().flatten(1).T).solution
    return (basis @ solution).T.reshape(field.shape).to(field.dtype)


class OtherNIRWindows(JointCSR):
    """The shipped pipeline, with NIR's first measurement on ``window`` px windows and gradients of ``sigma``."""

    def __init__(self, config, *, window: int, sigma: float):
        super().__init__(config)
        self.nir_window, self.sigma = window, sigma

    def measure(self, bgrn, window=None, context=(0, 0), bands=None):
        shift, confidence = super().measure(bgrn, window, context, bands)
        if bands is not None:  # the second measurement (B and R only): unchanged
            return shift, confidence
        step = self.config.step
        spectra = window_spectra(bgrn[0, [GREEN, NIR]], self.nir_window, step, self.sigma)
        windows, weights = correlate(spectra[0], spectra[1])
        # a window of w px at grid index k is centred where the shipped 64 px grid has index k + offset
        offset = (self.nir_window - window) // (2 * step)
        rows, cols = slice(offset, offset + windows.shape[1]), slice(offset, offset + windows.shape[2])
        shift[0, K_NIR] = 0
        confidence[0, K_NIR] = 0  # grid nodes without a window of that size are not used
        shift[0, K_NIR, :, rows, cols] = windows
        confidence[0, K_NIR, rows, cols] = weights
        return shift, confidence


def tries(shipped: JointCSR) -> dict[str, JointCSR]:
    """The networks compared, by name; each shares the shipped weights."""
    config = shipped.config

    def variant(cls=JointCSR, changes: dict | None = None, **options) -> JointCSR:
        model = cls(dataclasses.replace(config, **(changes or {})), **options)
        model.load_state_dict(shipped.state_dict())
        return model.eval()

    return {
        "shipped `csr`": shipped,
        "composite reference, joint model": variant(CompositeNIR, ridge=1e-3, warped=False),
        "the same, NIR warped first": variant(CompositeNIR, ridge=1e-3, warped=True),
        "the same, ridge 1.0": variant(CompositeNIR, ridge=1.0, warped=True),
        "the same (ridge 0.001), its affine part replaced by the shipped one's": variant(
            AnchoredCompositeNIR, ridge=1e-3, warped=True),
        "NIR windows 96 px": variant(OtherNIRWindows, window=96, sigma=1.0),
        "NIR windows 128 px": variant(OtherNIRWindows, window=128, sigma=1.0),
        "NIR gradient σ 1.5 px": variant(OtherNIRWindows, window=64, sigma=1.5),
        "NIR gradient σ 2 px": variant(OtherNIRWindows, window=64, sigma=2.0),
        "residual smoothing scored with exclusion 3, σ 1.5–6": variant(
            changes={"nir_score_exclusion": 3, "nir_residual_smoothing": (1.5, 2.0, 3.0, 4.0, 6.0)}),
        **{f"residual smoothing fixed at σ {sigma:g}": variant(changes={"nir_residual_smoothing": (sigma,)})
           for sigma in (2.0, 3.0, 6.0, 20.0)},
    }


REAL_NGF_BLOCK_PX = 80
"""Blocks of the NGF estimate on the real crops: the size whose own reading is lowest (table 5)."""
NIR_NAME = BAND_NAMES[NIR]


@torch.no_grad()
def register_nir(model: JointCSR, crop: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint16 crop → the crop with its bands warped onto G by the try's flows (uint16)."""
    flows = model(torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1)[None])[0].numpy()
    return to_uint16(warp_bands(crop, flows, MOVING_BANDS, no_data=NO_DATA))


@torch.no_grad()
def nir_flow(model: JointCSR, view: np.ndarray) -> np.ndarray:
    """(H, W, 4) view → NIR's flow (2, H, W) onto G."""
    return model(torch.from_numpy(view.astype(np.float32)).permute(2, 0, 1)[None])[0, K_NIR].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_common_arguments(parser, simulated=registration.DEFAULT_SIMULATED)
    args = parser.parse_args()
    paths = common.start(args, "L1BSR NIR tries (issue #16), none shipped")
    models = tries(inference.get_model("csr", "csr")[0])

    cases: dict[str, list[tuple[np.ndarray, np.ndarray, int, str]]] = {}  # view, NIR truth, border, kind
    for name, config in common.SIMULATIONS.items():
        pairs = common.simulated_pairs(config, paths, args.simulated)
        cases[name] = [(common.view0(pair), pair.band_flows[0][K_NIR], common.pair_border(pair),
                        "procedural" if i < args.simulated else "real") for i, pair in enumerate(pairs)]
    scenes = [classical_register(crop)[0] for crop in common.load_crops(paths)]
    for case in registration.INDEPENDENT_CASES:
        rng = np.random.default_rng(registration.INDEPENDENT_SEED)
        cases[case] = [(view, truth[K_NIR], common.BORDER_PX, "real")
                       for view, truth in (registration.independent_case(scene, case, rng) for scene in scenes)]
    still = registration.motionless(SimulationConfig.held_out())
    cases["motionless"] = []
    for scene in common.simulation_scenes(paths, args.simulated):
        view = common.view0(simulate_pair(scene, still, rng=registration.MOTIONLESS_SEEDS[0]))
        cases["motionless"].append((view, np.zeros((2, *view.shape[:2]), np.float32), common.BORDER_PX, "any"))

    crops = common.load_crops(paths)
    rows = []
    for label, model in models.items():
        row = [label]
        for name, items in cases.items():
            errors = np.asarray([flow_epe(nir_flow(model, view), truth, border=border)
                                 for view, truth, border, _ in items])
            if name in common.SIMULATIONS:
                kinds = np.asarray([kind for *_, kind in items])
                row.append(" / ".join(f"{errors[kinds == kind].mean():.3f}" for kind in ("procedural", "real"))
                           + f" / {errors.mean():.3f}")
            else:
                row.append(float(errors.mean()))
        real = [ngf_misregistration(register_nir(model, crop), window=REAL_NGF_BLOCK_PX)[NIR_NAME] for crop in crops]
        row.append(f"{np.mean([r['median_px'] for r in real]):.3f} / {np.mean([r['p90_px'] for r in real]):.3f}")
        rows.append(row)
        print(f"<!-- done: {label} -->", flush=True)
    common.table(
        "NIR flow endpoint error of each try (px)",
        ["try", *[f"{name} (procedural / real-crop / all)" if name in common.SIMULATIONS else name for name in cases],
         f"real crops, NGF NIR median / p90 ({REAL_NGF_BLOCK_PX} px blocks)"],
        rows,
        "Simulated pairs and the independent simulator as in `registration.py` (tables 3 and 4); "
        "motionless: its table 5 pairs (every displacement zero), first noise draw, where the truth is 0; "
        f"real crops: {len(crops)} crops registered by the try, residual NIR misregistration by the "
        f"independent NGF estimate with {REAL_NGF_BLOCK_PX} px blocks (no truth: it reads about 0.07 px on "
        "aligned real content, table 5), mean over crops.")


if __name__ == "__main__":
    main()
