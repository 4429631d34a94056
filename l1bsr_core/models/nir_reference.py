"""NIR measured against a composite of the visible bands (issue #24).

NIR's texture is its own: water black, vegetation bright, bare soil and roads in between. Matched
against G alone, a window's correlation peak follows the edges G has and NIR has not (a pond's
wet margin is an edge in G, the open water's edge is one in NIR), so on real NIR texture the
windows read shifts that are not there, the same in every noise draw. Here each NIR window is
matched against the **least-squares composite** of G and the registered B and R in that window:
real coefficients on the windows' apodised complex gradients (a negative one takes an inverted
band), a ridge relative to their mean energy, fitted to the NIR window itself. The composite holds
the edges NIR shares with any visible band, in the proportions NIR has them.

B and R must already be registered onto G (the joint CSR measures NIR this way after B's and R's
second measurement, with NIR warped by its first estimate, so the residual shifts are small).
Bands (N, 4, H, W) B, G, R, NIR in DN; shifts in the convention of :mod:`l1bsr_core.phase_correlation`
(``moving(y + dy, x + dx) ≈ reference(y, x)``, channel 0 dx, px).
"""

from __future__ import annotations

import torch

from ..bands import BLUE, GREEN, NIR, RED
from ..phase_correlation import complex_gradient, feature_phase_correlation, window_grid

VISIBLE = (GREEN, BLUE, RED)
"""The bands NIR's composite reference is made of."""
COMPOSITE_RIDGE = 1e-3
"""Ridge of the per-window least squares, relative to the mean energy of the reference windows:
keeps the fit defined where two visible bands are nearly the same."""


def least_squares_fit(references: torch.Tensor, moving: torch.Tensor,
                      ridge: float = COMPOSITE_RIDGE) -> tuple[torch.Tensor, torch.Tensor]:
    """Per window, the real coefficients of the J references that best predict the moving window.

    Args:
        references: (N, J, by, bx, h, w) complex windows (spectra, or apodised windows: the inner
            products are the same up to a constant); moving: (N, 1, by, bx, h, w).

    Returns:
        ``(a, rhs)``, each (N, by, bx, J): ``a`` minimising ``‖moving − Σ a_j references_j‖² +
        ridge · energy · ‖a‖²`` (energy: the mean of the references' energies in that window),
        and ``rhs = Re⟨moving, references_j⟩`` (``a · rhs`` is the energy the fit explains).
    """
    gram = torch.einsum("njyxab,nkyxab->nyxjk", references, references.conj()).real
    rhs = torch.einsum("nyxab,njyxab->nyxj", moving[:, 0], references.conj()).real
    energy = gram.diagonal(dim1=-2, dim2=-1).mean(-1)[..., None, None]
    eye = torch.eye(references.shape[1], dtype=gram.dtype, device=gram.device)
    coefficients = torch.linalg.solve(gram + ridge * energy.clamp_min(torch.finfo(gram.dtype).tiny) * eye,
                                      rhs[..., None])[..., 0]
    return coefficients, rhs


def least_squares_composite(references: torch.Tensor, moving: torch.Tensor,
                            ridge: float = COMPOSITE_RIDGE) -> torch.Tensor:
    """Per window, the real combination of the J reference spectra closest to the moving one's.

    Args:
        references: (N, J, by, bx, h, w) complex window spectra; moving: (N, 1, by, bx, h, w).

    Returns:
        (N, 1, by, bx, h, w): ``Σ_j a_j · references[:, j]`` with ``a`` of :func:`least_squares_fit`.
    """
    coefficients, _ = least_squares_fit(references, moving, ridge)  # (N, by, bx, J)
    return torch.einsum("nyxj,njyxab->nyxab", coefficients.to(references.dtype), references)[:, None]


def composite_nir_windows(bgrn: torch.Tensor, *, window: int, step: int, context: tuple[int, int] = (0, 0),
                          side: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """NIR's windows against the least-squares composite of G, B, R (B and R registered onto G).

    Args:
        bgrn: (N, 4, H, W) DN. window, step, context: as in
            :func:`~l1bsr_core.phase_correlation.windowed_phase_correlation`: the grid.
        side: the windows measured, px (default ``window``; at most ``window``), centred on the
            grid's window centres: ``(window − side) // 2`` px inside each grid window.

    Returns:
        ``(shift, confidence)``: (N, 1, 2, gy, gx) px and (N, 1, gy, gx) on the ``window`` grid, as
        that function's.
    """
    side = window if side is None else side
    if not 0 < side <= window:
        raise ValueError(f"NIR's composite windows of {side} px do not fit the {window} px windows of the grid")
    top, bottom = context
    gy = window_grid(bgrn.shape[-2] - top - bottom, window, step)
    gx = window_grid(bgrn.shape[-1], window, step)
    inset = (window - side) // 2  # the gradients are computed on the whole input, then the windows cut inset
    rows = slice(inset, top + inset + (gy - 1) * step + side)  # the context rows above stay as context
    cols = slice(inset, inset + (gx - 1) * step + side)  # no window beyond the grid's
    visible = complex_gradient(bgrn[:, list(VISIBLE)].float())[..., rows, cols]
    nir = complex_gradient(bgrn[:, [NIR]].float())[..., rows, cols]
    return feature_phase_correlation(visible, nir, window=side, step=step, context=(top, 0),
                                     composite=least_squares_composite)
