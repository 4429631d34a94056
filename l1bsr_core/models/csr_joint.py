"""Joint CSR: windowed phase correlation measures, a small network fuses the three bands.

Input: (N, 4, H, W) float, bands B, G, R, NIR in digital numbers (0 = no-data), H, W ≥ 16.
Output: (N, 3, 2, H, W) float32 flows of B, R, NIR onto G, in pixels, channel 0 dx, channel 1 dy,
in the :func:`l1bsr_core.warp.warp` convention: ``warp(band, flow)`` lies on G.

Three stages (:meth:`JointCSR.measure`, :meth:`JointCSR.combine`, :meth:`JointCSR.to_pixels`):

1. **Measure** (classical, no parameters): :func:`~l1bsr_core.phase_correlation.windowed_phase_correlation`
   of each band against G on a grid of ``window`` px windows every ``step`` px: a shift and a
   confidence per window. Windows that touch no-data get confidence 0.
2. **Fuse** on the window grid: the classical robust fusion (drop windows under
   ``min_confidence`` or further than ``outlier_px`` from their 3 × 3 median, then a
   confidence-weighted Gaussian normalised convolution), then a learned correction. The network
   sees, for all three bands together, each window's deviation from the robust fusion, its
   confidence, and each band's fused field relative to its mean; it outputs a correction per band.
   L1B band fields are largely one displacement field scaled by each band's time lag (see
   :mod:`l1bsr_core.simulate`), so the network can borrow NIR's geometry from B and R, whose
   matching against G is easy. Inputs are differences of shifts, so adding a constant to a
   band's shifts adds it to that band's output: equivariant to shifts by construction. The
   correction has zero mean over each band of each image (a constant is left to the
   measurements), and the last layer starts at zero, so an untrained network is the classical
   fusion.
3. **Interpolate** the grid to every pixel (bicubic between window centres, constant beyond the
   outermost centres).

Large images: :meth:`measure` works on any rows of windows independently, so it can run in
chunks; :meth:`combine` runs on the whole (small) grid; :meth:`to_pixels` on any pixel window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..bands import BAND_TIME_RATIOS, BLUE, MOVING_BANDS, NIR, NO_DATA, RED, REFERENCE_BAND
from ..filters import gaussian_blur, gaussian_radius, gaussian_taps, separable_filter
from ..phase_correlation import MIN_CONFIDENCE, MIN_WINDOW_PX, OUTLIER_PX, window_centres, windowed_phase_correlation
from ..shift_fusion import FUSION_TRUNCATE, robust_fusion
from ..warp import align_to_reference
from .config import DictConfig
from .nir_reference import composite_nir_windows

JOINT = "joint_phase_correlation"
"""The ``architecture`` value of :class:`JointCSRConfig`."""

NIR_REFERENCE_GREEN, NIR_REFERENCE_COMPOSITE = "green", "composite"
NIR_REFERENCES = (NIR_REFERENCE_GREEN, NIR_REFERENCE_COMPOSITE)
"""The values of :attr:`JointCSRConfig.nir_reference`."""

_K_NIR = MOVING_BANDS.index(NIR)
"""NIR's position in B, R, NIR."""

_JOINT_MIN_WINDOWS = 8
"""NIR keeps its classical estimate when fewer of its windows are confident."""
_JOINT_ITERATIONS = 6
"""Iterations of the reweighted least squares of the joint NIR model."""
_JOINT_CAUCHY_PX = 0.25
"""Scale of the Cauchy weights of that fit, px."""
_JOINT_RIDGE = 0.01
"""Ridge on the coupling ``c``, relative to the fit's total weight: the shared field's varying
part must be of order 0.1 px before ``c`` is believed (with a smaller one ``c`` shrinks to 0)."""


@dataclass(frozen=True)
class JointCSRConfig(DictConfig):
    """Constructor arguments of :class:`JointCSR`; stored inside every checkpoint."""

    architecture: str = JOINT
    window: int = 64
    """Correlation window side, px."""
    step: int = 16
    """Window spacing, px: the flow is estimated on this grid."""
    min_confidence: float = MIN_CONFIDENCE
    """Windows whose correlation peak is lower are ignored by the robust fusion."""
    outlier_px: float = OUTLIER_PX
    """Windows further than this from their 3 × 3 median are ignored by the robust fusion."""
    smoothing: tuple[float, ...] = (1.0, 1.0, 1.5)
    """Standard deviation, in grid steps, of the robust fusion's normalised convolution, for B, R,
    NIR (NIR's windows are noisier against G: it is smoothed more)."""
    refine: tuple[bool, ...] = (True, True, False)
    """Measure B, R, NIR a second time after warping them with the first estimate: the residual
    shifts are small, where phase correlation is most accurate (its windows shrink large shifts
    by ~1.5 %). NIR's second measurement is noisier than its first, so it is not refined."""
    width: int = 32
    """Channels of the fusion network."""
    depth: int = 4
    """3 × 3 convolutions of the fusion network (the last one outputs the corrections)."""
    corrected: tuple[bool, ...] = (True, True, True)
    """Which of B, R, NIR the network corrects (the others keep the classical estimate)."""
    max_correction_px: float = 1.0
    """Largest correction the network may add to the robust fusion (tanh-bounded), px."""
    nir_coupling: bool = False
    """Estimate NIR jointly with B and R (:meth:`JointCSR.joint_nir`): NIR's flow is modelled as its
    own affine part + ``c`` × the displacement field shared by the bands (estimated from B and R,
    whose matching against G is easy), both fitted robustly to NIR's confident windows, + NIR's
    own fused residual. ``c`` is fitted, so a NIR whose misregistration is not coupled to B's and
    R's gets ``c ≈ 0`` and the classical estimate back."""
    nir_residual_smoothing: tuple[float, ...] = (1.0, 1.5, 2.0, 3.0)
    """Candidate standard deviations, in grid steps, of the fusion of NIR's residual from the joint
    model; each image takes the one that best predicts each window from the windows that do not
    overlap it much (:func:`held_out_score`): the smoother the residual, the larger."""
    nir_score_exclusion: int = 2
    """Windows within this many grid steps of a window are left out when predicting it."""
    nir_model_outlier_px: float = 1.0
    """NIR windows further than this (or than 4 robust standard deviations of the residuals,
    whichever is larger) from the joint model are ignored: a cluster of confident wrong peaks,
    which the 3 × 3 median test cannot see."""
    nir_composite_passes: int = 1
    """With the composite reference: how many times NIR is warped by its current estimate,
    measured against the composite and re-estimated by the joint model."""
    nir_residual_support: float = 0.0
    """NIR's own residual is trusted in proportion to the confident windows around a point: it is
    multiplied by min(1, local mean kept weight / this) (the weight Gaussian-smoothed as the
    residual is), so where NIR has no texture its flow falls back to the joint model (affine part
    + coupling), and never to a residual extrapolated from far windows. 0: no fallback."""
    nir_reference: str = NIR_REFERENCE_GREEN
    """What NIR's windows are matched against before the joint NIR model: ``"green"`` (G, complex
    gradients, the first measurement) or ``"composite"`` (after B and R are registered, NIR warped
    by its first estimate is measured again against the per-window least-squares composite of G,
    B, R, :mod:`.nir_reference`; issue #24)."""
    nir_composite_window: int = 0
    """Side (px, even) of NIR's windows against the composite, centred on the grid's windows
    (:attr:`window` for 0, or when the image's windows are smaller: an image under 64 px has
    smaller grid windows, and the 32 px ones are then a larger share of them). A smaller window holds less
    of the content NIR does not share with the visible bands (a pond's open water inside G's wet
    margin): the bias such content gives a window then spreads to fewer grid nodes."""

    def __post_init__(self):
        if self.nir_reference not in NIR_REFERENCES:
            raise ValueError(f"nir_reference must be one of {', '.join(NIR_REFERENCES)}; got {self.nir_reference!r}")
        side = self.nir_composite_window
        if side and not (MIN_WINDOW_PX <= side <= self.window and side % 2 == 0):
            raise ValueError(f"nir_composite_window must be 0 (the window) or an even number of px from "
                             f"{MIN_WINDOW_PX} to window ({self.window}), so that it is centred on the grid's "
                             f"windows; got {side}")
        if side and self.nir_reference != NIR_REFERENCE_COMPOSITE:
            raise ValueError(f"nir_composite_window sizes NIR's windows against the composite; it needs "
                             f"nir_reference {NIR_REFERENCE_COMPOSITE!r}, got {self.nir_reference!r}")

    @property
    def size_multiple(self) -> int:
        """Inputs need no padding: any H, W ≥ 16 work."""
        return 1


def affine_basis(gy: int, gx: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(3, gy·gx): 1, x, y over a (gy, gx) grid, x and y from −1 to 1: an affine field's basis."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, gy, dtype=dtype), torch.linspace(-1, 1, gx, dtype=dtype),
                            indexing="ij")
    return torch.stack((torch.ones_like(xs), xs, ys)).flatten(1)


def held_out_score(values: torch.Tensor, weight: torch.Tensor, sigma: float, exclusion: int) -> torch.Tensor:
    """How well the normalised convolution of ``smoothing = sigma`` predicts each window from the
    others, those within ``exclusion`` grid steps left out (their noise is shared: the windows
    overlap): the weighted mean of the squared prediction error, capped at 0.25 px², per sample.

    ``values`` (N, 2, gy, gx), ``weight`` (N, 1, gy, gx) as in :func:`robust_fusion`. A sample
    with no window predictable from outside its exclusion zone (e.g. ``exclusion`` at least the
    Gaussian's radius, ceil(3σ)) scores +inf: that ``sigma`` cannot be judged, so it is never chosen
    over one that can.
    """
    radius = gaussian_radius(sigma, FUSION_TRUNCATE)
    taps = gaussian_taps(sigma, radius, dtype=values.dtype, device=values.device)
    near = torch.zeros_like(taps)  # the taps of the exclusion zone (all of them when it is wider)
    inside = slice(max(radius - exclusion, 0), radius + exclusion + 1)
    near[inside] = taps[inside]
    both = torch.cat((values * weight, weight), dim=1)
    # the replicate padding counts edge windows several times; the same in both terms, so it cancels
    full, local = separable_filter(both, taps, "replicate"), separable_filter(both, near, "replicate")
    num, den = full[:, :2] - local[:, :2], full[:, 2:] - local[:, 2:]
    valid = (den > 1e-6 * weight.amax(dim=(2, 3), keepdim=True)) & (weight > 0)
    predicted = num / den.clamp_min(1e-12)
    error = (values - predicted).square().sum(dim=1, keepdim=True).clamp_max(0.25)
    w = weight * valid
    total = w.sum(dim=(1, 2, 3))
    score = (w * error).sum(dim=(1, 2, 3)) / total.clamp_min(1e-12)
    return torch.where(total > 0, score, torch.full_like(score, math.inf))


class JointCSR(nn.Module):
    """Phase-correlation measurements + learned joint fusion of B, R, NIR; sized by a :class:`JointCSRConfig`."""

    def __init__(self, config: JointCSRConfig | None = None):
        super().__init__()
        self.config = c = config or JointCSRConfig()
        bands = len(MOVING_BANDS)
        inputs = bands * 6  # per band: deviation (2), fused field minus its mean (2), confidence, weight
        layers: list[nn.Module] = []
        for i in range(c.depth - 1):
            layers += [nn.Conv2d(inputs if i == 0 else c.width, c.width, 3, padding=1, padding_mode="replicate"),
                       nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c.width if c.depth > 1 else inputs, bands * 2, 3, padding=1, padding_mode="replicate",
                              bias=False)  # no constant output: a global bias is invisible to the loss
        nn.init.zeros_(self.head.weight)

    def window_size(self, height: int, width: int) -> int:
        """The correlation window for an image of this size (smaller images use smaller windows)."""
        side = min(self.config.window, height, width)
        if side < MIN_WINDOW_PX:
            raise ValueError(f"the joint CSR needs images of at least {MIN_WINDOW_PX} × {MIN_WINDOW_PX} px; "
                             f"got {height} × {width}")
        return side - side % 2

    def measure(self, bgrn: torch.Tensor, window: int | None = None, context: tuple[int, int] = (0, 0),
                bands: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 4, H, W) DN → shifts (N, K, 2, gy, gx) and confidences (N, K, gy, gx) onto G.

        ``bands``: positions in B, R, NIR to measure (default all three, K = 3). ``context``: rows
        (top, bottom) of a slab that only feed the gradient filters (see
        :func:`~l1bsr_core.phase_correlation.windowed_phase_correlation`): measuring slabs of a large image
        row by row gives the windows of the whole image. A second measurement (``bands`` given:
        the bands already warped onto G) of NIR uses the composite reference when
        ``config.nir_reference`` says so (:func:`.nir_reference.composite_nir_windows`).
        """
        window = window or self.window_size(*bgrn.shape[-2:])
        step = self.config.step
        positions = list(range(len(MOVING_BANDS)) if bands is None else bands)
        composite = bands is not None and self.config.nir_reference == NIR_REFERENCE_COMPOSITE and _K_NIR in positions
        against_green = [i for i in positions if not (composite and i == _K_NIR)]
        if composite:
            shift, confidence = self.composite_windows(bgrn, window, step, context)
            if against_green:
                green_shift, green_confidence = self.measure(bgrn, window, context, against_green)
                at = positions.index(_K_NIR)
                shift = torch.cat((green_shift[:, :at], shift, green_shift[:, at:]), dim=1)
                confidence = torch.cat((green_confidence[:, :at], confidence, green_confidence[:, at:]), dim=1)
        else:
            moving = bgrn[:, [MOVING_BANDS[i] for i in positions]]
            shift, confidence = windowed_phase_correlation(bgrn[:, REFERENCE_BAND], moving, window=window, step=step,
                                                           context=context)
        top, bottom = context
        bgrn = bgrn[..., top:bgrn.shape[-2] - bottom, :]
        no_data = (bgrn == NO_DATA).any(dim=1, keepdim=True)
        if bool(no_data.any()):
            touched = F.max_pool2d(no_data.float(), window, step)[:, :, :confidence.shape[-2], :confidence.shape[-1]]
            confidence = confidence * (1 - touched)
        return shift, confidence

    def composite_windows(self, bgrn: torch.Tensor, window: int, step: int,
                          context: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """NIR's windows against the composite reference (:func:`.nir_reference.composite_nir_windows`),
        :attr:`JointCSRConfig.nir_composite_window` px wide, centred on the ``window`` grid's centres:
        (N, 1, 2, gy, gx), (N, 1, gy, gx)."""
        side = min(self.config.nir_composite_window or window, window)
        return composite_nir_windows(bgrn, window=window, step=step, context=context, side=side)

    def classical_fusion(self, shift: torch.Tensor, confidence: torch.Tensor,
                         bands: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Robust fusion of each band's windows: (N, K, 2, gy, gx) fused shifts, (N, K, gy, gx) kept weights.

        ``bands``: the positions in B, R, NIR the K measured bands have (default all three).
        """
        fused, weights = [], []
        positions = range(len(MOVING_BANDS)) if bands is None else bands
        for k, band in enumerate(positions):
            f, w = robust_fusion(shift[:, k], confidence[:, k], min_confidence=self.config.min_confidence,
                                 outlier_px=self.config.outlier_px, smoothing=self.config.smoothing[band])
            fused.append(f)
            weights.append(w[:, 0])
        return torch.stack(fused, dim=1), torch.stack(weights, dim=1)

    def refined_bands(self) -> list[int]:
        """Positions (in B, R, NIR) of the bands measured a second time."""
        return [i for i, flag in enumerate(self.config.refine) if flag]

    def residual_fusion(self, shift: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
        """Second measurements of the refined bands (from ``measure(..., bands=self.refined_bands())``)
        fused and placed in a (N, 3, 2, gy, gx) grid, zeros for the bands not refined."""
        refined = self.refined_bands()
        fused, _ = self.classical_fusion(shift, confidence, refined)
        grid = fused.new_zeros(fused.shape[0], len(MOVING_BANDS), *fused.shape[2:])
        grid[:, refined] = fused
        return grid

    def correct(self, shift: torch.Tensor, confidence: torch.Tensor, first: torch.Tensor, weight: torch.Tensor,
                classical: torch.Tensor) -> torch.Tensor:
        """The learned correction added to the ``classical`` grid (N, 3, 2, gy, gx).

        Inputs: the first-pass windows (``shift``, ``confidence``) and their fusion (``first``,
        ``weight``, from :meth:`classical_fusion`).
        """
        if not any(self.config.corrected):  # the network is switched off: nothing to compute
            return classical
        n, bands, _, gy, gx = shift.shape
        features = torch.cat((
            (shift - first) * (weight[:, :, None] > 0),
            classical - classical.mean(dim=(3, 4), keepdim=True),
            confidence[:, :, None],
            weight[:, :, None],
        ), dim=2).reshape(n, bands * 6, gy, gx)
        correction = self.head(self.body(features))
        bound = self.config.max_correction_px
        correction = bound * torch.tanh(correction / bound)
        # zero mean per band and image: a constant error is invisible to the self-supervised loss
        # (it cancels between the two views), so the network is not allowed to make one
        correction = correction - correction.mean(dim=(2, 3), keepdim=True)
        keep = torch.tensor(self.config.corrected, dtype=correction.dtype, device=correction.device)
        return classical + correction.reshape(n, bands, 2, gy, gx) * keep.view(1, -1, 1, 1, 1)

    def joint_nir(self, shift: torch.Tensor, confidence: torch.Tensor, classical: torch.Tensor) -> torch.Tensor:
        """``classical`` (N, 3, 2, gy, gx) with NIR re-estimated jointly with B and R (when
        ``config.nir_coupling``; else unchanged).

        The shared field is the least-squares ``V`` of ``B = s_B + τ_B·V``, ``R = s_R + τ_R·V``
        (:data:`~l1bsr_core.bands.BAND_TIME_RATIOS`) from the fused B and R; NIR's first-pass windows (``shift``,
        ``confidence``) are fitted by ``a + A·p + c·V`` (an affine part per component and one
        coupling ``c``) by Cauchy-reweighted least squares, with ``V`` made orthogonal to the
        affine terms (so ``c`` only explains what an affine NIR cannot) and a small ridge on
        ``c``. NIR's flow is that model plus the robust fusion of its windows' residuals (windows
        far from the model dropped).
        """
        if not self.config.nir_coupling:
            return classical
        out = classical.clone()
        for i, parts in enumerate(self.joint_nir_parts(shift, confidence, classical)):
            if parts is not None:
                out[i, _K_NIR] = parts[0] + parts[1]
        return out

    def joint_nir_parts(self, shift: torch.Tensor, confidence: torch.Tensor,
                        classical: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor] | None]:
        """Per sample, NIR's ``(model, residual)`` grids (2, gy, gx) of :meth:`joint_nir` (their sum
        is NIR's flow), or None where NIR keeps ``classical`` (too few confident windows)."""
        config = self.config
        n, _, _, gy, gx = shift.shape
        dtype = torch.float64
        b, r, k = MOVING_BANDS.index(BLUE), MOVING_BANDS.index(RED), MOVING_BANDS.index(NIR)
        tb, tr = BAND_TIME_RATIOS[BLUE], BAND_TIME_RATIOS[RED]
        shared = ((tb * classical[:, b] + tr * classical[:, r]) / (tb**2 + tr**2)).to(dtype)  # (N, 2, gy, gx)
        windows = shift[:, k].to(dtype)
        conf = confidence[:, k].to(dtype)
        weight0 = torch.where(conf >= config.min_confidence, conf, torch.zeros_like(conf)).flatten(1)  # (N, M)
        basis = affine_basis(gy, gx, dtype).to(shift.device)  # (3, M)
        parts: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n
        for i in range(n):
            w = weight0[i]
            if int((w > 0).sum()) < _JOINT_MIN_WINDOWS:
                continue
            target = windows[i].flatten(1)  # (2, M)
            v = shared[i].flatten(1)  # (2, M)
            # robust start: the better of the two physical hypotheses (NIR uncoupled, c = 0, or coupled
            # with its time ratio), each with a median constant, weighs the windows before the fit, so a
            # cluster of confident wrong windows cannot pull the first least-squares solution
            kept = w > 0
            starts = []
            for c0 in (0.0, BAND_TIME_RATIOS[NIR]):
                rest = target - c0 * v
                centre = rest[:, kept].median(dim=1).values[:, None]
                start = (rest - centre).norm(dim=0)
                starts.append((float(start[kept].median()), start))
            robust = 1 / (1 + (min(starts, key=lambda item: item[0])[1] / _JOINT_CAUCHY_PX) ** 2)
            model = None
            for _ in range(_JOINT_ITERATIONS):
                weights = w * robust
                # V without its weighted affine fit (per component), so c does not compete with the affine part
                gram = (basis * weights) @ basis.T + 1e-9 * torch.eye(3, dtype=dtype, device=w.device)
                v_perp = v - torch.linalg.solve(gram, (basis * weights) @ v.T).T @ basis  # (2, M)
                # c from the orthogonal part alone (ridge), then each component's affine part
                c = (weights * v_perp * target).sum() / ((weights * v_perp.square()).sum()
                                                         + _JOINT_RIDGE * weights.sum())
                rest = target - c * v_perp
                affine = torch.linalg.solve(gram, (basis * weights) @ rest.T).T @ basis
                model = affine + c * v_perp
                residual = (target - model).norm(dim=0)
                robust = 1 / (1 + (residual / _JOINT_CAUCHY_PX) ** 2)
            residual = (target - model).norm(dim=0)
            spread = 1.4826 * residual[kept].median()
            limit = max(config.nir_model_outlier_px, 4 * float(spread))
            conf_i = torch.where(residual <= limit, conf[i].flatten(), torch.zeros_like(w)).view(1, gy, gx)
            model_grid = model.view(1, 2, gy, gx)
            residual_windows = (windows[i:i + 1] - model_grid).float()
            best = None
            for sigma in config.nir_residual_smoothing:
                fused, kept = robust_fusion(residual_windows, conf_i.float(), min_confidence=config.min_confidence,
                                             outlier_px=config.outlier_px, smoothing=sigma)
                score = float(held_out_score(residual_windows, kept, sigma, config.nir_score_exclusion)[0])
                if best is None or score < best[0]:
                    best = (score, fused * self.residual_trust(kept, sigma))
            parts[i] = (model_grid.float()[0], best[1][0])
        return parts

    def residual_trust(self, kept: torch.Tensor, sigma: float) -> torch.Tensor:
        """(N, 1, gy, gx) factor in [0, 1] on NIR's fused residual from the kept window weights
        (N, 1, gy, gx) and the fusion's ``sigma`` (grid steps): ``config.nir_residual_support``."""
        support = self.config.nir_residual_support
        if support <= 0:
            return torch.ones_like(kept)
        local = gaussian_blur(kept, sigma, radius=gaussian_radius(sigma, FUSION_TRUNCATE), mode="replicate")
        return (local / support).clamp(max=1.0)

    def to_pixels(self, grid: torch.Tensor, height: int, width: int, window: int, *, top: int = 0, left: int = 0,
                  rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        """Grid flows (N, 3, 2, gy, gx) → (N, 3, 2, rows, cols) at pixels ``top … top + rows``, ``left …``.

        Bicubic between window centres (``k·step + (window − 1) / 2``), constant beyond the outermost.
        """
        rows = height - top if rows is None else rows
        cols = width - left if cols is None else cols
        n, bands, _, gy, gx = grid.shape
        step = self.config.step

        def index(start: int, count: int, nodes: int) -> torch.Tensor:
            first = window_centres(1, window, step)[0]
            position = (torch.arange(start, start + count, dtype=torch.float32) - first) / step
            position = position.clamp(0, nodes - 1)
            return 2 * position / max(nodes - 1, 1) - 1 if nodes > 1 else torch.zeros_like(position)

        ys, xs = index(top, rows, gy), index(left, cols, gx)
        sample = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).to(grid)  # (rows, cols, 2)
        planes = grid.reshape(n, bands * 2, gy, gx)
        if gy == 1 and gx == 1:
            return planes.reshape(n, bands, 2, 1, 1).expand(-1, -1, -1, rows, cols).contiguous()
        mode = "bicubic" if min(gy, gx) >= 4 else "bilinear"
        dense = F.grid_sample(planes, sample.expand(n, -1, -1, -1), mode=mode, padding_mode="border",
                              align_corners=True)
        return dense.reshape(n, bands, 2, rows, cols)

    @torch.no_grad()
    def green_flow(self, reference: torch.Tensor, moving: torch.Tensor) -> torch.Tensor:
        """Same-band flow (N, 2, H, W) of ``moving`` onto ``reference`` (both (N, H, W)), by the
        measurement and the robust fusion only (no learned part): e.g. G of one view onto G of the other."""
        height, width = reference.shape[-2:]
        window = self.window_size(height, width)
        shift, confidence = windowed_phase_correlation(reference, moving[:, None], window=window, step=self.config.step)
        fused, _ = robust_fusion(shift[:, 0], confidence[:, 0], min_confidence=self.config.min_confidence,
                                 outlier_px=self.config.outlier_px, smoothing=self.config.smoothing[0])
        return self.to_pixels(fused[:, None], height, width, window)[:, 0]

    def forward(self, bgrn: torch.Tensor) -> torch.Tensor:
        if bgrn.ndim != 4 or bgrn.shape[1] != 4:
            raise ValueError(f"the joint CSR expects (N, 4, H, W) bands B, G, R, NIR; got {tuple(bgrn.shape)}")
        height, width = bgrn.shape[-2:]
        return self.to_pixels(self.grid(bgrn), height, width, self.window_size(height, width))

    def grid(self, bgrn: torch.Tensor) -> torch.Tensor:
        """(N, 4, H, W) DN → the flows at the window centres (N, 3, 2, gy, gx): every stage but the interpolation."""
        height, width = bgrn.shape[-2:]
        window = self.window_size(height, width)

        @torch.no_grad()
        def measure_refined(classical: torch.Tensor, bands: list[int] | None = None):
            dense = self.to_pixels(classical, height, width, window)
            return self.measure(align_to_reference(bgrn, dense, MOVING_BANDS), window,
                                bands=self.refined_bands() if bands is None else bands)

        return self.combine(*self.measure(bgrn, window), measure_refined)

    def combine(self, shift: torch.Tensor, confidence: torch.Tensor, measure_refined) -> torch.Tensor:
        """The joint CSR's pipeline on the window grid, written once (used by :meth:`grid` and, slab
        by slab, by :func:`l1bsr_core.band_alignment.band_flows`).

        ``shift``, ``confidence``: the first measurement (:meth:`measure`). ``measure_refined(classical,
        bands=None)`` measures ``bands`` (default the :meth:`refined_bands`) again after warping the
        moving bands by the grid ``classical`` and returns ``(shift, confidence)`` of those
        residuals. Then: classical fusion, + fused residuals, NIR's windows measured again against
        the composite reference (when ``config.nir_reference`` is ``"composite"``,
        :meth:`composite_nir`), joint NIR, learned correction. Returns the grid (N, 3, 2, gy, gx).
        """
        first, weight = self.classical_fusion(shift, confidence)
        classical = first
        if self.refined_bands():
            classical = classical + self.residual_fusion(*measure_refined(classical))
        if self.config.nir_reference == NIR_REFERENCE_COMPOSITE:
            for _ in range(self.config.nir_composite_passes):
                classical = self.joint_nir(*self.composite_nir(shift, confidence, classical, measure_refined),
                                           classical)
        else:
            classical = self.joint_nir(shift, confidence, classical)
        return self.correct(shift, confidence, first, weight, classical)

    def composite_nir(self, shift: torch.Tensor, confidence: torch.Tensor, classical: torch.Tensor,
                      measure_refined) -> tuple[torch.Tensor, torch.Tensor]:
        """The first measurement with NIR's windows replaced by its composite-reference windows.

        B and R are warped by ``classical`` (their refined grid), NIR by its first estimate; NIR's
        residual windows against the composite of B, G, R plus that estimate at each window are
        NIR's windows (px, onto G). Returns ``(shift, confidence)`` shaped as the inputs."""
        residual, residual_confidence = measure_refined(classical, [_K_NIR])
        shift, confidence = shift.clone(), confidence.clone()
        shift[:, _K_NIR] = residual[:, 0] + classical[:, _K_NIR]
        confidence[:, _K_NIR] = residual_confidence[:, 0]
        return shift, confidence
