"""The one warp of the project: resample images along a dense flow.

Convention (used everywhere: training, registration, the simulator)::

    out[..., y, x] = image[..., y + flow[1, y, x], x + flow[0, y, x]]

``flow`` is in pixels of the image being sampled; channel 0 is dx (columns, to the right),
channel 1 is dy (rows, downwards). Sampling is bicubic; outside the image the content is
reflected about the border. PyTorch's bicubic kernel (Keys, a = -0.75) interpolates exactly
at integer shifts; at sub-pixel shifts it is off by at most ~0.025 px on a linear ramp.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def identity_grid(height: int, width: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Pixel coordinates of a ``height`` × ``width`` image, shape (1, 2, H, W): channel 0 x, 1 y."""
    ys = torch.arange(height, device=device, dtype=dtype)
    xs = torch.arange(width, device=device, dtype=dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((grid_x, grid_y))[None]


def warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bicubic") -> torch.Tensor:
    """Warp ``image`` by ``flow`` so that ``out(y, x) = image(y + dy, x + dx)``.

    Args:
        image: (N, C, H, W) float tensor.
        flow: (N, 2, H, W) float tensor in pixels, channel 0 = dx, channel 1 = dy. A flow with
            batch size 1 is broadcast over ``image``'s batch.
        mode: interpolation, ``"bicubic"`` (default) or ``"bilinear"`` (for flows themselves,
            where bicubic overshoot is unwanted).

    Returns:
        (N, C, H, W) tensor, same dtype as ``image``. Samples outside the image are reflected
        about its border.
    """
    if image.ndim != 4 or flow.ndim != 4 or flow.shape[1] != 2:
        raise ValueError(
            f"warp expects image (N, C, H, W) and flow (N, 2, H, W); got image "
            f"{tuple(image.shape)} and flow {tuple(flow.shape)}"
        )
    if image.shape[-2:] != flow.shape[-2:]:
        raise ValueError(
            f"image and flow must have the same height and width; got {tuple(image.shape[-2:])} "
            f"and {tuple(flow.shape[-2:])}"
        )
    batch, _, height, width = image.shape
    if flow.shape[0] not in (1, batch):
        raise ValueError(f"flow batch {flow.shape[0]} does not match image batch {batch}")
    flow = flow.to(image.dtype)
    coords = identity_grid(height, width, device=image.device, dtype=image.dtype) + flow
    # grid_sample wants (N, H, W, 2) in [-1, 1], x first; align_corners=True maps -1/+1 to the
    # centres of the first/last pixels, matching the pixel coordinates above.
    norm_x = 2.0 * coords[:, 0] / max(width - 1, 1) - 1.0
    norm_y = 2.0 * coords[:, 1] / max(height - 1, 1) - 1.0
    grid = torch.stack((norm_x, norm_y), dim=-1).expand(batch, -1, -1, -1)
    return F.grid_sample(image, grid, mode=mode, padding_mode="reflection", align_corners=True)


def compose_flows(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Flow of "follow ``first``, then ``second``", in the :func:`warp` convention.

    If ``a(p) = b(p + first(p))`` and ``b(q) = c(q + second(q))`` then
    ``a(p) = c(p + composed(p))`` with ``composed = first + second∘(id + first)``.
    Both flows are (N, 2, H, W) in pixels; ``second`` is resampled bilinearly.
    """
    return first + warp(second, first, mode="bilinear")


def upscale_flow(flow: torch.Tensor, factor: int) -> torch.Tensor:
    """Resample a flow given on a grid to a grid ``factor`` times finer, in fine pixels.

    Pixel centres follow the "area" convention: fine pixel ``i`` sits at coarse coordinate
    ``(i + 0.5) / factor - 0.5`` (as in :mod:`l1bsr_core.resample`), so
    ``interpolate(..., align_corners=False)`` is exact for affine flows; values are multiplied by
    ``factor`` to be in fine pixels.
    """
    return factor * F.interpolate(flow, scale_factor=factor, mode="bilinear", align_corners=False)


VALID_WARP_TOLERANCE = 1e-3
"""A warped pixel is kept only where its warped validity mask is within this of 1: its bicubic
footprint then holds no no-data sample (whose 0 would be blended in, with a positive or, in the
kernel's negative lobes, a negative weight). Elsewhere the pixel is no-data."""


def align_to_reference(bands: torch.Tensor, flows: torch.Tensor, moving, no_data: float = 0.0) -> torch.Tensor:
    """Warp the ``moving`` bands of (N, C, H, W) ``bands`` by their (N, len(moving), 2, H, W) flows; others unchanged.

    Pixels equal to ``no_data`` are no-data: a warped pixel whose bicubic footprint reaches one is
    set to ``no_data`` (:data:`VALID_WARP_TOLERANCE`), so no-data is never blended into valid
    pixels (no dark halos) and stays no-data. Typically ``moving`` = B, R, NIR and the flows come
    from a CSR, aligning them to G.
    """
    n, _, height, width = bands.shape
    moving = list(moving)
    flat_flows = flows.reshape(n * len(moving), 2, height, width).to(bands.dtype)
    planes = bands[:, moving].reshape(n * len(moving), 1, height, width)
    valid = planes != no_data
    if bool(valid.all()):
        # no no-data: the validity mask would warp to 1 everywhere (the bicubic weights sum to 1,
        # and samples outside the image are reflected), so only the bands are warped
        aligned = warp(planes, flat_flows)
    else:
        valid = valid.to(planes.dtype)
        warped, warped_valid = warp(torch.cat((planes * valid, valid), dim=1), flat_flows).split(1, dim=1)
        keep = (warped_valid - 1).abs() <= VALID_WARP_TOLERANCE
        aligned = torch.where(keep, warped, torch.full_like(warped, no_data))
    out = bands.clone()
    out[:, moving] = aligned.reshape(n, len(moving), height, width)
    return out


def warp_bands(bgrn: np.ndarray, flow: np.ndarray, bands, *, no_data: float | None = None) -> np.ndarray:
    """Warp the given bands of an (H, W, C) numpy image by their flows; other bands unchanged.

    Args:
        bgrn: (H, W, C) array (any real dtype).
        flow: (len(bands), 2, H, W) flows in pixels, in :func:`warp`'s convention.
        bands: band indices, in the order of ``flow``'s first axis.
        no_data: ``None`` for a plain warp; else the no-data value, with the rule of
            :func:`align_to_reference` (no-data is never blended into valid pixels).

    Returns:
        (H, W, C) float64, unrounded (callers decide on rounding and clipping).
    """
    out = np.asarray(bgrn, dtype=np.float64).copy()
    flows = torch.from_numpy(np.asarray(flow, dtype=np.float64))
    if no_data is not None:
        image = torch.from_numpy(np.ascontiguousarray(out.transpose(2, 0, 1)))[None]
        with torch.no_grad():
            return align_to_reference(image, flows[None], bands, no_data)[0].permute(1, 2, 0).numpy()
    moving = torch.from_numpy(np.ascontiguousarray(out[..., list(bands)].transpose(2, 0, 1)))[:, None]
    with torch.no_grad():
        warped = warp(moving, flows)
    out[..., list(bands)] = warped[:, 0].permute(1, 2, 0).numpy()
    return out
