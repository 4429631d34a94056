"""How each architecture trains: its training hooks, keyed like its inference runtime.

:func:`training_of` looks a network's hooks up by the ``runtime`` its line of
:data:`~l1bsr_core.models.NETWORKS` names, in :data:`TRAINING` (the inference side of the same name
is :data:`l1bsr_core.runtime.RUNTIMES`); :mod:`.loop` asks them what to do and never tests a
network's type. Inference never imports this module.

Views are (N, 4, h, w) float DN, bands B, G, R, NIR; flows are in px, channel 0 dx, 1 dy, in the
:func:`~l1bsr_core.warp.warp` convention.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..bands import MOVING_BANDS
from ..models import network_of
from ..warp import align_to_reference
from . import losses


class RECTraining:
    """How a super-resolution network trains. Subclasses: one per REC runtime."""

    aligns_input = False
    """Whether its input is aligned to G by a CSR (then training loads the frozen CSR for every task)."""

    def training_output(self, model: nn.Module, csr: nn.Module | None, view: torch.Tensor) -> torch.Tensor:
        """The network's output for an (N, 4, h, w) DN view, in DN, as at inference."""
        raise NotImplementedError


class PlainRECTraining(RECTraining):
    """:class:`~l1bsr_core.models.RCAN`: input and output in DN / ``config.radiometric_scale``."""

    def training_output(self, model, csr, view):
        radiometric = model.config.radiometric_scale
        return model(view / radiometric) * radiometric


class AlignedRECTraining(RECTraining):
    """:class:`~l1bsr_core.models.FaithfulREC`: B, R, NIR aligned to G by the frozen CSR, then DN."""

    aligns_input = True

    def training_output(self, model, csr, view):
        with torch.no_grad():
            aligned = align_to_reference(view, training_of(csr).flows_onto_green(csr, view), MOVING_BANDS)
        return model(aligned)


class CSRTraining:
    """How a registration network trains. Subclasses: one per CSR runtime."""

    loss_border_px = losses.LOSS_BORDER_PX
    """Pixels its training loss leaves out at each border of a crop (crops must be wider than twice it)."""

    def flows_onto_green(self, model: nn.Module, view: torch.Tensor) -> torch.Tensor:
        """(N, 4, h, w) DN view → (N, 3, 2, h, w) flows of B, R, NIR onto G (validation scores). The
        joint CSR computes them as at inference; the pairwise CSR normalises each pair by its own
        statistics and does not pad, unlike its tiled inference
        (:meth:`l1bsr_core.runtime.PairwiseCSRRuntime.register`)."""
        raise NotImplementedError

    def view_flows(self, model: nn.Module, view0: torch.Tensor, view1: torch.Tensor) -> torch.Tensor:
        """Flows carrying view 0's G onto each band of view 1: (N, 4, 2, h, w) (REC's training loss)."""
        raise NotImplementedError

    def training_loss(self, model: nn.Module, batch: dict, rng: np.random.Generator, cfg) -> tuple[torch.Tensor, dict]:
        """One training step's self-supervised loss and its logged parts (``cfg``: the TrainConfig)."""
        raise NotImplementedError


class PairwiseCSRTraining(CSRTraining):
    """:class:`~l1bsr_core.models.CSRNet`: one contrast-normalised (reference, moving) pair at a time."""

    def flows_onto_green(self, model, view):
        return losses.pairwise_flows_onto_green(model, view)

    def view_flows(self, model, view0, view1):
        return losses.pairwise_view_flows(model, view0, view1)

    def training_loss(self, model, batch, rng, cfg):
        return losses.pairwise_training_loss(model, batch["view0"], batch["view1"], rng,
                                             smooth_weight=cfg.smooth_weight,
                                             equivariance_weight=cfg.equivariance_weight)


class JointCSRTraining(CSRTraining):
    """:class:`~l1bsr_core.models.JointCSR`: all bands of a view at once."""

    loss_border_px = losses.CONSISTENCY_BORDER_PX

    def flows_onto_green(self, model, view):
        return model(view)

    def view_flows(self, model, view0, view1):
        return losses.joint_view_flows(model, view0, view1)

    def training_loss(self, model, batch, rng, cfg):
        return losses.two_view_consistency_loss(model, batch["view0"], batch["view1"])


TRAINING: dict[str, RECTraining | CSRTraining] = {
    "plain_rec": PlainRECTraining(),
    "aligned_rec": AlignedRECTraining(),
    "pairwise_csr": PairwiseCSRTraining(),
    "joint_csr": JointCSRTraining(),
}
"""Each way of training, by the runtime name the table of networks (:data:`~l1bsr_core.models.NETWORKS`) gives."""


def training_of(model: nn.Module) -> RECTraining | CSRTraining:
    """The training hooks of ``model``'s architecture.

    Raises:
        WeightsError: for a network of no architecture in the table.
    """
    return TRAINING[network_of(model).runtime]
