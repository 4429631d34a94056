"""Issue #24's NIR tries on the NAIP benchmark: every variant of the NIR estimate, one table.

Prints one Markdown table per set of dates; not a test; never trains. Usage::

    python benchmarks/nir_naip_tries.py [--dates 2009 2010 ...] [--kinds affine coupled] [--quick]

Every try is the joint CSR with the shipped weights (B and R unchanged: their flows are
bit-identical in every try) and one change to how NIR is estimated; it is scored on the scenes
and cases of ``naip.py`` (same seeds): NIR flow error against the truth (each scene's per-pixel
median, mean over scenes and worst scene) and the NIR cPSNR gain over the oracle (true flows +
bicubic) of the shipped REC network fed the bands registered by the try's flows. The choices were
made on the tuning dates (:data:`naip.TUNING_DATES`); run with ``--dates 2015 2016 2017`` for
the held-out dates.

Tries:

* ``csr-green-nir`` (the previous default): NIR's windows against G (complex gradients), joint
  NIR model (affine + coupling + residual smoothed 1–3 grid steps, chosen per image).
* its residual smoothed more (σ 6 grid steps), or no residual at all (the joint model only).
* composite references, measured after B and R are registered, NIR warped by its first estimate:
  (a) orientation-doubled gradients (``g²/|g|``, blind to the sign of an edge) of B, G, R, each
  window's spectrum scaled to unit energy, summed; (b) the per-window least-squares combination of
  G, B, R complex gradients (:mod:`l1bsr_core.models.nir_reference`), with its variants: NIR's
  residual trusted only where its windows are (``nir_residual_support``), two passes, smoother
  residual candidates; (session 8) a larger ridge; NIR's windows weighted by how much of the NIR
  window the composite explains (R², :func:`explained_share`), to the power 1 or 2, or gated by
  it or by their confidence; NIR's residual smoothed only at 2–4 grid steps with support 0.3;
  (session 10) NIR's composite windows 1.5× or 2× larger (96 or 128 px, same step and centres,
  where they fit in the image); (session 11) the pixels of NIR's composite windows weighted by how
  well the composite explains them (:class:`PixelWeightedNIR`); the joint model alone offered to
  the held-out score as one more residual candidate; NIR's composite windows 24 or 32 px, centred on
  the 64 px grid's (``nir_composite_window``; 32 px ships), the latter also with residual σ 1.5–4.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import naip  # first: it puts the project root on sys.path (through common)
import numpy as np
import torch
import torch.nn.functional as F

from l1bsr_core import inference
from l1bsr_core.bands import NIR
from l1bsr_core.models import JointCSR
from l1bsr_core.models.csr_joint import NIR_REFERENCE_COMPOSITE
from l1bsr_core.models.nir_reference import VISIBLE, least_squares_composite, least_squares_fit
from l1bsr_core.phase_correlation import (
    apodized_spectra,
    complex_gradient,
    feature_phase_correlation,
    hann,
    phase_correlation,
)

K_NIR = 2
"""NIR's position in the flows (B, R, NIR)."""
NO_RESIDUAL_SIGMA = 1e4
"""A residual candidate so wide (grid steps) that its fusion is the residuals' global mean: the
joint model alone, offered to the held-out score beside the usual widths."""


def doubled_orientation(gradient: torch.Tensor) -> torch.Tensor:
    """``g² / |g|`` of a complex gradient (0 where g = 0): the same for ``g`` and ``−g``, magnitude |g|."""
    magnitude = gradient.abs()
    return torch.where(magnitude > 0, gradient * gradient / magnitude.clamp_min(1e-30), torch.zeros_like(gradient))


def unit_energy_sum(references: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
    """(N, J, ..., h, w) window spectra → (N, 1, ..., h, w): each scaled to unit energy, summed."""
    energy = references.abs().square().sum(dim=(-2, -1), keepdim=True).sqrt()
    return (references / energy.clamp_min(1e-30)).sum(dim=1, keepdim=True)


class DoubledCompositeNIR(JointCSR):
    """The composite pipeline with NIR matched against the unit-energy sum of B's, G's and R's
    orientation-doubled gradients (try (a) of the module docstring)."""

    def composite_windows(self, bgrn, window, step, context):
        reference = doubled_orientation(complex_gradient(bgrn[:, list(VISIBLE)].float()))
        moving = doubled_orientation(complex_gradient(bgrn[:, [NIR]].float()))
        return feature_phase_correlation(reference, moving, window=window, step=step, context=context,
                                         composite=unit_energy_sum)


def explained_share(bgrn: torch.Tensor, window: int, step: int, context: tuple[int, int]) -> torch.Tensor:
    """(N, gy, gx) share in [0, 1] of each NIR window's energy that the least-squares composite of G,
    B, R explains (R², on the windows' apodised complex-gradient spectra, as the CSR measures them)."""
    top, bottom = context
    bands = torch.cat((bgrn[:, list(VISIBLE)], bgrn[:, [NIR]]), dim=1).float()
    gradients = complex_gradient(bands)[:, :, top:bands.shape[-2] - bottom]
    spectra = apodized_spectra(gradients.unfold(-2, window, step).unfold(-2, window, step))  # (N, 4, gy, gx, h, w)
    coefficients, rhs = least_squares_fit(spectra[:, :3], spectra[:, 3:])
    total = spectra[:, 3].abs().square().sum(dim=(-2, -1))
    return ((coefficients * rhs).sum(-1) / total.clamp_min(torch.finfo(total.dtype).tiny)).clamp(0, 1)


class ExplainedWeightNIR(JointCSR):
    """The composite pipeline with each NIR window's confidence times its R² to the power :attr:`power`."""

    power = 1.0

    def composite_windows(self, bgrn, window, step, context):
        shift, confidence = super().composite_windows(bgrn, window, step, context)
        share = explained_share(bgrn, window, step, context)[:, None]  # the same window grid
        return shift, confidence * share**self.power


class ExplainedSquaredWeightNIR(ExplainedWeightNIR):
    power = 2.0


class GatedNIR(JointCSR):
    """The composite pipeline keeping only NIR windows whose confidence reaches :attr:`confidence`
    and whose R² reaches :attr:`share` (0: no gate)."""

    confidence = 0.0
    share = 0.0

    def composite_windows(self, bgrn, window, step, context):
        shift, confidence = super().composite_windows(bgrn, window, step, context)
        keep = confidence >= self.confidence
        if self.share > 0:
            share = explained_share(bgrn, window, step, context)[:, None]
            keep &= share >= self.share
        return shift, torch.where(keep, confidence, torch.zeros_like(confidence))


class ConfidentNIR(GatedNIR):
    confidence = 0.3


class ExplainedNIR(GatedNIR):
    share = 0.4


class RidgeNIR(JointCSR):
    """The composite pipeline with a ridge of :attr:`ridge` (relative) in the least squares."""

    ridge = 1e-2

    def composite_windows(self, bgrn, window, step, context):
        return feature_phase_correlation(complex_gradient(bgrn[:, list(VISIBLE)].float()),
                                         complex_gradient(bgrn[:, [NIR]].float()), window=window, step=step,
                                         context=context,
                                         composite=lambda r, m: least_squares_composite(r, m, ridge=self.ridge))


class LargeWindowNIR(JointCSR):
    """The composite pipeline with NIR's composite windows :attr:`scale` times larger (same grid
    step and centres) wherever such a window fits in the image; the usual windows elsewhere."""

    scale = 2

    def composite_windows(self, bgrn, window, step, context):
        shift, confidence = super().composite_windows(bgrn, window, step, context)
        large = int(window * self.scale)
        top, bottom = context
        if min(bgrn.shape[-2] - top - bottom, bgrn.shape[-1]) < large:
            return shift, confidence
        big_shift, big_confidence = super().composite_windows(bgrn, large, step, context)
        offset = (large - window) // 2 // step
        rows, cols = big_shift.shape[-2:]
        shift[..., offset:offset + rows, offset:offset + cols] = big_shift
        confidence[..., offset:offset + rows, offset:offset + cols] = big_confidence
        return shift, confidence


class MidWindowNIR(LargeWindowNIR):
    scale = 1.5


class PixelWeightedNIR(JointCSR):
    """The composite pipeline with the pixels of each NIR window weighted by how well the composite
    explains them: the least-squares composite is formed in the window (apodised complex gradients,
    the same coefficients as on the spectra), the squared residual ``|NIR − composite|²`` box-averaged
    over :attr:`blur` px, and both windows multiplied by ``1 / (1 + residual² / (k² · its mean))``
    before the phase correlation. NIR's edges that no visible band has (a pond's open water inside
    G's wet margin) should then weigh less. With ``k`` very large it is the shipped pipeline
    (checked: identical flows)."""

    k = 2.0
    blur = 9

    def composite_windows(self, bgrn, window, step, context):
        top, bottom = context
        bands = torch.cat((bgrn[:, list(VISIBLE)], bgrn[:, [NIR]]), dim=1).float()
        gradients = complex_gradient(bands)[:, :, top:bands.shape[-2] - bottom]
        windows = gradients.unfold(-2, window, step).unfold(-2, window, step)  # (N, 4, gy, gx, h, w)
        n, _, gy, gx, h, w = windows.shape
        apodisation = hann(h, torch.float32)[:, None] * hann(w, torch.float32)
        mean = (windows * apodisation).sum((-2, -1), keepdim=True) / apodisation.sum()
        apodised = (windows - mean) * apodisation
        coefficients, _ = least_squares_fit(apodised[:, :3], apodised[:, 3:])
        composite = torch.einsum("nyxj,njyxab->nyxab", coefficients.to(apodised.dtype), apodised[:, :3])
        nir = apodised[:, 3]
        residual = (nir - composite).abs().square().reshape(-1, 1, h, w)
        if self.blur > 1:
            residual = F.avg_pool2d(residual, self.blur, 1, self.blur // 2, count_include_pad=False)
        residual = residual.reshape(n, gy, gx, h, w)
        scale = self.k**2 * residual.mean((-2, -1), keepdim=True)
        weight = 1 / (1 + residual / scale.clamp_min(torch.finfo(scale.dtype).tiny))
        sx, sy, confidence = phase_correlation(torch.fft.fft2(composite * weight), torch.fft.fft2(nir * weight))
        shift = torch.stack((sx, sy)).reshape(2, n, 1, gy, gx).permute(1, 2, 0, 3, 4).float()
        return shift, confidence.reshape(n, 1, gy, gx).float()


class PixelWeightedTightNIR(PixelWeightedNIR):
    k = 1.0
    blur = 5


def tries() -> dict[str, JointCSR]:
    """The networks compared, by name; each has the shipped weights."""
    previous = inference.get_model("csr", "csr-green-nir")[0]

    def variant(cls=JointCSR, **changes) -> JointCSR:
        model = cls(dataclasses.replace(previous.config, **changes))
        model.load_state_dict(previous.state_dict())
        return model.eval()

    composite = {"nir_reference": NIR_REFERENCE_COMPOSITE}
    return {
        "`csr-green-nir` (previous default: NIR against G)": previous,
        "the same, residual smoothed at σ 6": variant(nir_residual_smoothing=(6.0,)),
        "the same, joint model only (no own residual)": variant(nir_residual_smoothing=(NO_RESIDUAL_SIGMA,)),
        "(a) orientation-doubled composite of B, G, R": variant(DoubledCompositeNIR, **composite),
        "(b) least-squares composite of G, B, R": variant(**composite),
        "(b) + residual trusted where its windows are (support 0.1): `csr-composite-nir` (shipped, sessions 7–10)":
            variant(**composite, nir_residual_support=0.1),
        "(b) + support 0.1, two composite passes": variant(**composite, nir_residual_support=0.1,
                                                          nir_composite_passes=2),
        "(b) + support 0.1, residual candidates σ 1–6": variant(
            **composite, nir_residual_support=0.1, nir_residual_smoothing=(1.0, 1.5, 2.0, 3.0, 4.0, 6.0)),
        "(b) + support 0.1, ridge 1e-2 (session 8)": variant(RidgeNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, windows weighted by R² (session 8)": variant(
            ExplainedWeightNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, windows weighted by R²² (session 8)": variant(
            ExplainedSquaredWeightNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.3, residual candidates σ 2–4 (session 8)": variant(
            **composite, nir_residual_support=0.3, nir_residual_smoothing=(2.0, 3.0, 4.0)),
        "(b) + support 0.1, NIR windows kept from confidence 0.3 (session 8)": variant(
            ConfidentNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, NIR windows kept from R² 0.4 (session 8)": variant(
            ExplainedNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, NIR's composite windows 96 px (session 10)": variant(
            MidWindowNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, NIR's composite windows 128 px (session 10)": variant(
            LargeWindowNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, NIR's window pixels weighted by the composite's fit, k 1, 5 px (session 11)": variant(
            PixelWeightedTightNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, NIR's window pixels weighted by the composite's fit, k 2, 9 px (session 11)": variant(
            PixelWeightedNIR, **composite, nir_residual_support=0.1),
        "(b) + support 0.1, residual candidates σ 1–3 and none (session 11)": variant(
            **composite, nir_residual_support=0.1, nir_residual_smoothing=(1.0, 1.5, 2.0, 3.0, NO_RESIDUAL_SIGMA)),
        "(b) + support 0.1, NIR's composite windows 24 px (session 11)": variant(
            **composite, nir_residual_support=0.1, nir_composite_window=24),
        "(b) + support 0.1, NIR's composite windows 32 px, residual σ 1.5–4 (session 11)": variant(
            **composite, nir_residual_support=0.1, nir_composite_window=32,
            nir_residual_smoothing=(1.5, 2.0, 3.0, 4.0)),
        "(b) + support 0.1, NIR's composite windows 32 px (session 11): **shipped `csr`**": variant(
            **composite, nir_residual_support=0.1, nir_composite_window=32),
    }


@torch.no_grad()
def flows_of(model: JointCSR, view: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint16 view → (3, 2, h, w) flows of B, R, NIR onto G."""
    return model(torch.from_numpy(view.astype(np.float32)).permute(2, 0, 1)[None])[0].numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    naip.add_arguments(parser)
    parser.set_defaults(dates=list(naip.TUNING_DATES), kinds=[naip.AFFINE, naip.COUPLED])
    args = naip.start(parser, "L1BSR NIR tries with a 5 m truth (issue #24)")
    scenes = naip.selected_scenes(args.dates, args.quick, args.procedural)
    kinds = [kind for kind in args.kinds if kind != naip.COREGISTERED]
    models = tries()
    rec = inference.get_model("rec", "rec")[0]
    errors = {label: {kind: [] for kind in kinds} for label in models}
    gains = {label: {kind: [] for kind in kinds} for label in models}
    reference_br = None
    started = time.perf_counter()
    for scene in scenes:
        for kind in kinds:
            pair = naip.make_case(scene, kind)
            view = naip.common.view0(pair)
            oracle = naip.band_cpsnr(naip.common.bicubic(naip.common.register_with(view, pair.band_flows[0])), pair)
            for label, model in models.items():
                flow = flows_of(model, view)
                if reference_br is None or label == next(iter(models)):
                    reference_br = flow[:K_NIR]
                elif not np.array_equal(flow[:K_NIR], reference_br):
                    raise RuntimeError(f"{label}: B or R changed")
                errors[label][kind].append(float(naip.flow_errors(flow, pair)[K_NIR, 0]))
                gains[label][kind].append(float((naip.band_cpsnr(naip.rec_on(rec, view, flow), pair) - oracle)[NIR]))
            print(f"<!-- {scene.name} {kind} -->", flush=True)
    rows = []
    for label in models:
        row = [label]
        for kind in kinds:
            e, g = np.asarray(errors[label][kind]), np.asarray(gains[label][kind])
            signed = naip.common.signed
            row += [f"{e.mean():.3f} / {e.max():.3f}", f"{signed(g.mean())} / {signed(g.min())}"]
        rows.append(row)
    header = ["try"]
    for kind in kinds:
        header += [f"`{kind}`: NIR flow error, mean / worst scene (px)", f"`{kind}`: NIR gain, mean / worst (dB)"]
    source = ("procedural scenes with a NIR of their own" if args.procedural else
              f"NAIP scenes of {', '.join(sorted({s.date for s in scenes}))}")
    naip.common.table(f"NIR tries on {len(scenes)} {source}",
                      header, rows,
                      "Flow error: each scene's per-pixel median, then mean and worst over scenes. Gain: the "
                      "shipped REC network fed the bands registered by the try's flows, NIR cPSNR against the 5 m "
                      "truth minus the oracle's (true flows + bicubic). B and R are bit-identical in every try "
                      "(checked).")
    print(f"\n{len(scenes)} scenes × {len(kinds)} kinds in {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
