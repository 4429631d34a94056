"""L1B acquisition simulator: two overlapping detectors' views of an aligned high-resolution scene.

Band axes are B, G, R, NIR (Sentinel-2 B2, B3, B4, B8); "band flows" run over
:data:`~l1bsr_core.bands.MOVING_BANDS` (B, R, NIR). Flows follow :mod:`l1bsr_core.warp`:
``warp(image, flow)(p) = image(p + flow(p))``, in pixels, channel 0 = dx (columns), 1 = dy (rows).

Grids
    The scene ``hr`` is (4, H, W) on the fine grid; every low-resolution (LR) image is (h, w) =
    (H / f, W / f), f = ``config.factor``. LR pixel ``i`` integrates HR pixels ``f·i … f·i + f − 1``
    (the "area" convention): its centre is at HR coordinate ``f·i + (f − 1) / 2``. This is the
    convention of :func:`~l1bsr_core.warp.upscale_flow`, so an LR flow ``D`` (LR pixels) is the HR
    flow ``upscale_flow(D, f)`` (HR pixels). All flows below live on the LR grid, in LR pixels.

Reference geometry
    The G band of view 0, which is the scene's own geometry: ``hr`` is the ground truth a
    super-resolver of view 0 should output, and ``reference = degrade(hr)`` (4, h, w) is view 0
    with every band in G's geometry, before noise.

Acquisition (the simulator's exact definition), for view ``v`` and band ``b``::

    clean[v, b] = degrade(warp(hr[b], upscale_flow(displacements[v, b], f)), f, sigma)
    views[v, b] = quantise(clean[v, b] + noise),   noise ~ N(0, a·clean + b²)

``degrade`` blurs with a Gaussian PSF (``sigma`` HR px, from ``config.mtf_nyquist``) then
averages f × f blocks. For a smooth displacement this reads: LR sample ``p`` of view ``v``,
band ``b`` sees the (blurred) scene at reference location ``p + D_vb(p)``, i.e.
``clean[v, b] ≈ warp(reference[b], displacements[v, b])``.

Displacement model (band geometry of L1B, see :data:`l1bsr_core.bands.BAND_LINE_OFFSETS`)::

    D_vb(p) = O_v(p) + s_v · τ_b · (V(p) + W_v) + R_b(p)

* ``O_v``: detector offset; ``O_0 = 0``; ``O_1`` has a constant part of at most
  ``detector_shift_px`` plus ``detector_affine`` and ``detector_lowfreq_px`` variation.
  It applies to all bands of view 1 (view-angle / sampling-grid difference).
* ``τ_b``: band b's acquisition time relative to G, as a fraction of B's
  (:data:`l1bsr_core.bands.BAND_TIME_RATIOS`: B −1, G 0, R +0.91, NIR −0.50, from the line offsets of a real
  S2A datastrip). Bands see a ground point one after another; whatever moves in between (relief
  parallax, attitude motion) displaces each band in proportion to its time lag.
* ``s_v = ±1``: the detector's parity. Odd and even detectors acquire the bands in opposite
  order, so in an overlap pair ``s_1 = −s_0`` (``s_0`` drawn at random): the inter-band
  displacements of the two views are opposite, which is what lets the anchor-consistency loss
  see a band's error (with equal displacements it cancels in the composition).
* ``V``: the displacement rate shared by all bands (px of B's lag), from
  :func:`random_smooth_flow` or :func:`random_relief_flow` (``flow_family``): a constant part up
  to ``band_shift_px``, an affine part ``band_affine`` per px, and a smooth part
  ``band_lowfreq_px``.
* ``W_v``: what differs between the two acquisitions (attitude): a constant of at most
  ``band_view_jitter_px``, drawn per view.
* ``R_b``: a band's own static part (focal-plane geometry, not time-ordered, the same in both
  views; ``R_G = 0``): constant up to ``band_residual_px`` plus a smooth part
  ``band_residual_lowfreq_px``. It keeps the three band fields correlated, not proportional,
  as measured on the example crops.

Ground-truth flows (solved from the displacements by fixed-point iteration to < 1e-6 px, so
they are exact up to the bilinear interpolation of the displacement fields, which is also how
``upscale_flow`` reads them)::

    flows[v, b]            warp(views[v, b], flows[v, b])        ≈ reference[b]
                           (view v band b onto view 0's G; the inverse of D_vb; flows[0, G] = 0)
    band_flows[v, i]       warp(views[v, MOVING_BANDS[i]], band_flows[v, i]) ≈ that band in
                           view v's G geometry (what CSR estimates);
                           band_flows[0] = flows[0, MOVING_BANDS]
    inter_view_flows[b]    warp(views[1, b], inter_view_flows[b]) ≈ views[0, b]

and ``displacements[v, b]`` themselves map the reference onto a view: REC's loss
``degrade(warp(rec_output[b], upscale_flow(displacements[1, b], f)))`` ≈ ``views[1, b]``.

Accuracy: the warp's bicubic kernel (PyTorch's, a = −0.75) does not reproduce linear ramps, so
a sample at a fractional position can land up to 0.047 px (of the grid being warped) off. The
simulated views therefore match the stated displacements to within ~0.024 LR px (the warp runs
on the HR grid), and registering a view with its true flow leaves < 0.06 LR px (tested).

Borders: warps reflect about the image border, so within :attr:`SimulatedPair.margin` LR pixels
of the border the views hold reflected scene content and the relations above are approximate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .arrays import to_uint16
from .bands import BAND_TIME_RATIOS, GREEN, MOVING_BANDS, N_BANDS, SCALE_FACTOR
from .filters import gaussian_taps
from .warp import upscale_flow, warp

_WAVES = 3  # low-frequency plane waves per flow component
_WAVELENGTH_LR_PX = (120.0, 500.0)  # their wavelengths (LR px): smooth over a 352 px crop
_RELIEF_HILLS = 12  # Gaussian hills of the relief flow family
_RELIEF_WIDTH_LR_PX = (25.0, 110.0)  # their standard deviations (LR px)
_RELIEF_ACROSS_TRACK = 0.3  # largest across-track (dx) share of the relief parallax direction
_SOLVER_ITERATIONS = 50

FLOW_WAVES = "waves"
FLOW_RELIEF = "relief"
FLOW_FAMILIES = (FLOW_WAVES, FLOW_RELIEF)

_SOLVER_TOLERANCE_PX = 1e-6


@dataclass(frozen=True)
class SimulationConfig:
    """Parameters of :func:`simulate_pair`. Shifts in LR pixels, affine terms per LR pixel."""

    factor: int = SCALE_FACTOR
    """HR → LR decimation."""
    detector_shift_px: float = 1.5
    """Largest constant offset between the two views (shared by the bands)."""
    detector_affine: float = 0.001
    """Affine (scale / shear) magnitude of the view offset, per pixel from the centre."""
    detector_lowfreq_px: float = 0.3
    """Amplitude of the smooth variation of the view offset."""
    band_shift_px: float = 2.0
    """Largest constant part of the shared displacement rate ``V`` (px at B's time lag)."""
    band_affine: float = 0.003
    """Affine magnitude of ``V``, per pixel from the centre."""
    band_lowfreq_px: float = 0.4
    """Amplitude of the smooth part of ``V``."""
    band_view_jitter_px: float = 0.1
    """Largest constant difference ``W_v`` of the displacement rate between the two acquisitions."""
    band_residual_px: float = 0.3
    """Largest constant part of each band's static, not time-ordered, offset ``R_b``."""
    band_residual_lowfreq_px: float = 0.15
    """Amplitude of the smooth part of ``R_b``."""
    flow_family: str = FLOW_WAVES
    """Shape of the smooth part of ``V``: ``"waves"`` (plane waves, :func:`random_smooth_flow`) or
    ``"relief"`` (Gaussian hills along one parallax direction, :func:`random_relief_flow`)."""
    psf_phase_px: float = 0.0
    """Offset of the PSF centre from the pixel centre, HR px, along both axes (the same for every
    band and view). ``reference`` is acquired through the same PSF, so the flows are unchanged;
    the truth ``hr`` is not shifted."""
    mtf_nyquist: float = 0.28
    """Gaussian PSF's MTF at the LR Nyquist frequency (0.5 cycles / LR px); 1 = no blur. The
    f × f area integration multiplies it by a further sinc factor (2/π at Nyquist for f = 2), so
    the default system MTF at Nyquist is about 0.18."""
    noise_a: float = 0.02
    """Signal-dependent noise: variance ``noise_a · signal + noise_b²`` (DN²). The defaults give
    σ ≈ 1.1 DN at 50 DN, 2.1 DN at 200 DN, 3 DN at 450 DN: measured in the flattest windows of
    the example crops (0.3 DN on water, 1.5–2.5 DN at ~180 DN; the products' JPEG2000
    compression removes part of the noise in flat areas)."""
    noise_b: float = 0.5
    """Signal-independent noise standard deviation (DN)."""
    quantise: bool = True
    """Round and clip the views to [0, 65535] and return them as uint16 (else float32)."""

    def __post_init__(self):
        if not isinstance(self.factor, int) or self.factor < 1:
            raise ValueError(f"factor must be a positive integer; got {self.factor!r}")
        if not 0.0 < self.mtf_nyquist <= 1.0:
            raise ValueError(f"mtf_nyquist must be in (0, 1]; got {self.mtf_nyquist}")
        if self.noise_a < 0 or self.noise_b < 0:
            raise ValueError(f"noise_a and noise_b must be >= 0; got {self.noise_a}, {self.noise_b}")
        if self.flow_family not in FLOW_FAMILIES:
            raise ValueError(f"flow_family must be one of {', '.join(FLOW_FAMILIES)}; got {self.flow_family!r}")

    @classmethod
    def held_out(cls) -> SimulationConfig:
        """A configuration that no training run uses, to show overfitting to our own simulator.

        Another flow family (relief hills instead of plane waves), stronger band-specific parts,
        another noise (σ ≈ 1.7–2 DN, flatter in the signal), a softer PSF whose centre is off the
        pixel centre by a quarter of an LR pixel.
        """
        return cls(flow_family=FLOW_RELIEF, band_shift_px=1.8, band_affine=0.002, band_lowfreq_px=0.6,
                   band_residual_px=0.4, band_residual_lowfreq_px=0.2, band_view_jitter_px=0.15,
                   mtf_nyquist=0.24, noise_a=0.005, noise_b=1.6, psf_phase_px=0.5)


@dataclass
class SimulatedPair:
    """Two simulated L1B views of a scene and their exact geometry (see the module docstring).

    ``v`` indexes views (0, 1), ``b`` bands B, G, R, NIR, ``i`` moving bands B, R, NIR.
    """

    views: np.ndarray
    """(2, 4, h, w) the two LR views: uint16 when ``config.quantise``, else float32."""
    hr: np.ndarray
    """(4, H, W) float32: the scene, i.e. the true HR image in view 0's G geometry."""
    reference: np.ndarray
    """(4, h, w) float32: ``degrade(hr)``, view 0 with all bands in G's geometry, noise-free."""
    clean: np.ndarray
    """(2, 4, h, w) float32: the views before noise and quantisation."""
    displacements: np.ndarray
    """(2, 4, 2, h, w) float32: ``D_vb``, reference → view: ``clean[v,b] ≈ warp(reference[b], D_vb)``."""
    flows: np.ndarray
    """(2, 4, 2, h, w) float32: view v band b → reference: ``warp(views[v,b], flows[v,b]) ≈ reference[b]``."""
    band_flows: np.ndarray
    """(2, 3, 2, h, w) float32: B, R, NIR → G within each view."""
    inter_view_flows: np.ndarray
    """(4, 2, h, w) float32: view 1 band b → view 0 band b."""
    psf_sigma: float
    """Gaussian PSF standard deviation, HR pixels."""
    margin: int
    """LR pixels along each border where reflected content enters the views."""
    config: SimulationConfig = field(default_factory=SimulationConfig)


def psf_sigma_for_mtf(mtf_at_nyquist: float, factor: int) -> float:
    """Standard deviation (HR px) of the Gaussian PSF whose MTF at LR Nyquist is ``mtf_at_nyquist``.

    A Gaussian of standard deviation σ has MTF ``exp(−2π²σ²ν²)``; LR Nyquist is
    ν = 0.5 / factor cycles per HR pixel, so σ = (factor / π) · sqrt(−2 ln mtf). An MTF of 1
    means no blur (σ = 0).
    """
    if not 0.0 < mtf_at_nyquist <= 1.0:
        raise ValueError(f"mtf_at_nyquist must be in (0, 1]; got {mtf_at_nyquist}")
    return factor / math.pi * math.sqrt(-2.0 * math.log(mtf_at_nyquist))


def degrade(hr_bands: torch.Tensor, factor: int, sigma: float) -> torch.Tensor:
    """The acquisition operator: Gaussian blur (``sigma`` HR px), then f × f area decimation.

    Equal to ``avg_pool2d(gaussian_blur(hr_bands, sigma), factor)`` (:mod:`l1bsr_core.filters`),
    computed as one strided separable convolution with the Gaussian convolved with the f-pixel box
    (only the kept samples).

    Args:
        hr_bands: (N, C, H, W) float tensor, H and W multiples of ``factor``.
        factor: decimation factor f; LR pixel i averages HR pixels f·i … f·i + f − 1.
        sigma: PSF standard deviation in HR pixels (:func:`psf_sigma_for_mtf`); 0 = no blur.

    Returns:
        (N, C, H / f, W / f) tensor; differentiable (used by the training losses).
    """
    if hr_bands.ndim != 4:
        raise ValueError(f"degrade expects (N, C, H, W); got shape {tuple(hr_bands.shape)}")
    batch, channels, height, width = hr_bands.shape
    if height % factor or width % factor:
        raise ValueError(f"height and width {height} x {width} must be multiples of factor {factor}")
    if sigma <= 0:
        return F.avg_pool2d(hr_bands, factor)
    gaussian = gaussian_taps(sigma, dtype=hr_bands.dtype, device=hr_bands.device)
    radius = gaussian.numel() // 2
    box = torch.full((factor,), 1.0 / factor, dtype=hr_bands.dtype, device=hr_bands.device)
    kernel = F.conv1d(gaussian.view(1, 1, -1), box.view(1, 1, -1), padding=factor - 1).view(-1)
    mode = "reflect" if min(height, width) > radius else "replicate"
    planes = hr_bands.reshape(batch * channels, 1, height, width)
    out = F.conv2d(F.pad(planes, (0, 0, radius, radius), mode=mode), kernel.view(1, 1, -1, 1), stride=(factor, 1))
    out = F.conv2d(F.pad(out, (radius, radius, 0, 0), mode=mode), kernel.view(1, 1, 1, -1), stride=(1, factor))
    return out.reshape(batch, channels, height // factor, width // factor)


def random_smooth_flow(height: int, width: int, *, shift: float, affine: float, lowfreq: float,
                       rng: np.random.Generator) -> np.ndarray:
    """A random smooth displacement field, (2, h, w) float32 in pixels (channel 0 dx, 1 dy).

    The sum of: a constant vector, uniform in the disc of radius ``shift``; an affine term
    ``A @ (p − centre)`` with the four entries of A uniform in [−affine, affine]; and, per
    component, three plane waves of wavelength 120–500 px with amplitudes summing to ``lowfreq``
    (so that part never exceeds ``lowfreq``).
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    coords = np.stack((xs - (width - 1) / 2, ys - (height - 1) / 2))
    constant = _constant_in_disc(shift, rng)
    matrix = rng.uniform(-affine, affine, (2, 2))
    flow = constant[:, None, None] + np.einsum("ij,jhw->ihw", matrix, coords)
    for component in range(2):
        weights = rng.random(_WAVES) + 0.1
        amplitudes = lowfreq * weights / weights.sum()
        for amplitude in amplitudes:
            direction = rng.uniform(0, 2 * math.pi)
            wavelength = rng.uniform(*_WAVELENGTH_LR_PX)
            phase = (coords[0] * math.cos(direction) + coords[1] * math.sin(direction)) / wavelength
            flow[component] += amplitude * np.sin(2 * math.pi * phase + rng.uniform(0, 2 * math.pi))
    return flow.astype(np.float32)


def solve_flow(target: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """The flow F with ``F(p) = target(p) − displacement(p + F(p))``, by fixed-point iteration.

    If ``image(q) = ref(q + displacement(q))`` and ``goal(p) = ref(p + target(p))`` then
    ``warp(image, F) = goal``. With ``target = 0`` F is the inverse of ``displacement``.
    Converges for smooth displacements (gradient well below 1); (N, 2, h, w) in and out.
    """
    flow = target - displacement
    for _ in range(_SOLVER_ITERATIONS):
        updated = target - warp(displacement, flow, mode="bilinear")
        change = (updated - flow).abs().max()
        flow = updated
        if change < _SOLVER_TOLERANCE_PX:
            break
    return flow


def invert_flow(flow: torch.Tensor) -> torch.Tensor:
    """The inverse of a smooth flow: if ``b = warp(a, flow)`` then ``a ≈ warp(b, invert_flow(flow))``."""
    return solve_flow(torch.zeros_like(flow), flow)


def random_relief_flow(height: int, width: int, *, shift: float, affine: float, lowfreq: float,
                       rng: np.random.Generator) -> np.ndarray:
    """A random relief-parallax field, (2, h, w) float32 in pixels (channel 0 dx, 1 dy).

    A constant and an affine part as in :func:`random_smooth_flow`, plus a terrain-height map
    (12 Gaussian hills and valleys, standard deviations 25–110 px, scaled so that its largest
    magnitude is ``lowfreq``) times one parallax direction, mostly along track (dy; the dx share is
    at most 0.3): the displacement of a band seen at another time over relief.
    """
    base = random_smooth_flow(height, width, shift=shift, affine=affine, lowfreq=0.0, rng=rng).astype(np.float64)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    relief = np.zeros((height, width))
    for _ in range(_RELIEF_HILLS):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        spread = rng.uniform(*_RELIEF_WIDTH_LR_PX)
        relief += rng.uniform(-1, 1) * np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / (2 * spread**2))
    relief *= lowfreq / max(np.abs(relief).max(), 1e-9)
    across = rng.uniform(-_RELIEF_ACROSS_TRACK, _RELIEF_ACROSS_TRACK)
    direction = np.asarray([across, math.sqrt(1 - across**2)])
    return (base + direction[:, None, None] * relief).astype(np.float32)


_FLOW_GENERATORS = {FLOW_WAVES: random_smooth_flow, FLOW_RELIEF: random_relief_flow}


def _constant_in_disc(radius: float, rng: np.random.Generator) -> np.ndarray:
    """A (2,) vector uniform in the disc of ``radius``."""
    length, angle = radius * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    return np.asarray([length * math.cos(angle), length * math.sin(angle)])


def _displacements(height: int, width: int, config: SimulationConfig, rng: np.random.Generator) -> np.ndarray:
    """(2, 4, 2, h, w) displacements ``D_vb = O_v + s_v·τ_b·(V + W_v) + R_b`` of the module docstring."""
    disp = np.zeros((2, N_BANDS, 2, height, width), np.float64)
    disp[1] += random_smooth_flow(height, width, shift=config.detector_shift_px, affine=config.detector_affine,
                                  lowfreq=config.detector_lowfreq_px, rng=rng)[None]
    rate = _FLOW_GENERATORS[config.flow_family](height, width, shift=config.band_shift_px,
                                                affine=config.band_affine, lowfreq=config.band_lowfreq_px, rng=rng)
    parity = 1.0 if rng.random() < 0.5 else -1.0  # view 0's detector; view 1 is the neighbour
    for view, sign in enumerate((parity, -parity)):
        view_rate = rate + _constant_in_disc(config.band_view_jitter_px, rng)[:, None, None]
        for band in MOVING_BANDS:
            disp[view, band] += sign * BAND_TIME_RATIOS[band] * view_rate
    for band in MOVING_BANDS:
        disp[:, band] += random_smooth_flow(height, width, shift=config.band_residual_px, affine=0.0,
                                            lowfreq=config.band_residual_lowfreq_px, rng=rng)[None]
    return disp


def simulate_pair(hr: np.ndarray, config: SimulationConfig | None = None, *,
                  rng: np.random.Generator | int, with_flows: bool = True,
                  displacements: np.ndarray | None = None) -> SimulatedPair:
    """Simulate what two adjacent detectors record of the aligned scene ``hr``.

    Args:
        hr: (4, H, W) float scene in DN, bands B, G, R, NIR aligned; H and W multiples of
            ``config.factor``.
        config: simulation parameters (default :class:`SimulationConfig`).
        rng: numpy Generator (or seed) drawing the geometry and the noise.
        with_flows: solve the ground-truth flows (``flows``, ``band_flows``,
            ``inter_view_flows``: the inverses of the displacements, the costly part). Training
            never needs them; with False they are None.
        displacements: (2, 4, 2, h, w) ``D_vb`` (LR px, reference → view, G of view 0 zero) to
            use instead of drawing them from ``config``'s displacement model, e.g. a benchmark's
            own flows of another kind; ``config`` then only sets the PSF, noise and factor.

    Returns:
        A :class:`SimulatedPair`; the conventions of its flows are in the module docstring.
    """
    config = config or SimulationConfig()
    rng = np.random.default_rng(rng)
    hr = np.asarray(hr, dtype=np.float32)
    if hr.ndim != 3 or hr.shape[0] != N_BANDS:
        raise ValueError(f"hr must be ({N_BANDS}, H, W) bands B, G, R, NIR; got shape {hr.shape}")
    f = config.factor
    if hr.shape[1] % f or hr.shape[2] % f:
        raise ValueError(f"hr height and width {hr.shape[1:]} must be multiples of factor {f}")
    height, width = hr.shape[1] // f, hr.shape[2] // f
    sigma = psf_sigma_for_mtf(config.mtf_nyquist, f)
    if displacements is None:
        disp = _displacements(height, width, config, rng)
    else:
        disp = np.asarray(displacements, dtype=np.float64)
        if disp.shape != (2, N_BANDS, 2, height, width):
            raise ValueError(f"displacements must be (2, {N_BANDS}, 2, {height}, {width}); got {disp.shape}")

    with torch.no_grad():
        scene = torch.from_numpy(hr)[:, None]  # bands as a batch: (4, 1, H, W)
        phase = config.psf_phase_px  # an off-centre PSF samples the scene this far off (HR px)

        def acquire(hr_flow: torch.Tensor) -> torch.Tensor:
            return degrade(warp(scene, hr_flow + phase) if phase or hr_flow.abs().max() > 0 else scene, f, sigma)[:, 0]

        reference = acquire(torch.zeros(N_BANDS, 2, *hr.shape[1:]))
        clean = torch.stack([acquire(upscale_flow(torch.from_numpy(disp[v]).float(), f)) for v in range(2)])
        flows = band_flows = inter_view = None
        if with_flows:
            d = torch.from_numpy(disp)  # float64 for the flow solver
            flows = torch.stack([solve_flow(torch.zeros_like(d[v]), d[v]) for v in range(2)])
            moving = list(MOVING_BANDS)
            band_flows = torch.stack([
                solve_flow(d[v, GREEN].expand(len(moving), -1, -1, -1), d[v, moving]) for v in range(2)
            ])
            inter_view = solve_flow(d[0], d[1])

    clean_np = clean.numpy().astype(np.float32)
    signal = np.clip(clean_np, 0.0, None)
    noisy = clean_np + rng.standard_normal(clean_np.shape, dtype=np.float32) * np.sqrt(
        config.noise_a * signal + config.noise_b**2
    ).astype(np.float32)
    if config.quantise:
        views = to_uint16(noisy)
    else:
        views = noisy.astype(np.float32)
    blur_radius_lr = math.ceil(math.ceil(4 * sigma) / f) if sigma > 0 else 0
    margin = int(math.ceil(np.abs(disp).max())) + blur_radius_lr + 2
    return SimulatedPair(
        views=views,
        hr=hr,
        reference=reference.numpy().astype(np.float32),
        clean=clean_np,
        displacements=disp.astype(np.float32),
        flows=None if flows is None else flows.numpy().astype(np.float32),
        band_flows=None if band_flows is None else band_flows.numpy().astype(np.float32),
        inter_view_flows=None if inter_view is None else inter_view.numpy().astype(np.float32),
        psf_sigma=sigma,
        margin=margin,
        config=config,
    )
