"""Dense optical flow between frames (OpenCV, no learned weights) and its consistency check.

Convention: a flow from frame ``a`` to frame ``b`` is a (B, 2, H, W) tensor on ``a``'s pixel grid,
in genlmk pixels: ``flow[:, 0]`` is the x (right) and ``flow[:, 1]`` the y (down) displacement, so
the content at pixel centre ``p = (j + 0.5, i + 0.5)`` of ``a`` is found at ``p + flow[:, :, i, j]``
in ``b``. Hence :func:`warp_with_flow` ``(b, flow_ab)`` resamples ``b`` onto ``a``'s grid.

Example:
    >>> forward = dense_flow(frames_t, frames_t1)       # t -> t+1, on frame t's grid
    >>> backward = dense_flow(frames_t1, frames_t)      # t+1 -> t, on frame t+1's grid
    >>> valid = flow_consistency_mask(forward, backward)  # (B, 1, H, W), True where trustworthy
    >>> aligned = warp_with_flow(frames_t1, forward)    # frame t+1 brought onto frame t
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from genlmk.geometry.coordinates import pixel_centers, pixels_to_normalized

FLOW_METHODS = ("farneback", "dis")


def _to_gray_u8(frames: Tensor) -> np.ndarray:
    """(B, 1|3, H, W) floats in [0, 1] -> (B, H, W) uint8 luma."""
    frames = frames.detach().float().clamp(0.0, 1.0)
    if frames.shape[1] == 3:
        frames = (frames * frames.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return (frames[:, 0] * 255.0).round().to(torch.uint8).cpu().numpy()


def dense_flow(frames_a: Tensor, frames_b: Tensor, method: str = "farneback", window: int = 15) -> Tensor:
    """Dense optical flow from ``frames_a`` to ``frames_b`` (see the module docstring).

    Args:
        frames_a, frames_b: (B, 3, H, W) RGB or (B, 1, H, W) gray, floats in [0, 1].
        method: ``"farneback"`` (Farneback's polynomial expansion) or ``"dis"`` (dense inverse
            search, medium preset); both classical OpenCV algorithms without learned weights.
        window: Farneback's averaging window, pixels (DIS has none and ignores it). A larger window
            gives smoother flow that is more accurate on near-rigid motion and blurs motion
            boundaries more.

    Returns:
        (B, 2, H, W) float32 pixels on ``frames_a``'s grid, on ``frames_a``'s device. No gradient.

    Raises:
        ValueError: unknown method, a window under 3 pixels, or the two batches differ in shape.
    """
    import cv2

    if method not in FLOW_METHODS:
        raise ValueError(f"unknown optical flow method {method!r}; expected one of {FLOW_METHODS}")
    if window < 3:
        raise ValueError(f"the Farneback flow window must be at least 3 pixels, got {window}")
    if frames_a.shape != frames_b.shape or frames_a.ndim != 4 or frames_a.shape[1] not in (1, 3):
        raise ValueError(
            "dense_flow needs two (B, 1|3, H, W) batches of the same shape, got "
            f"{tuple(frames_a.shape)} and {tuple(frames_b.shape)}"
        )
    gray_a, gray_b = _to_gray_u8(frames_a), _to_gray_u8(frames_b)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM) if method == "dis" else None
    flows = []
    for a, b in zip(gray_a, gray_b):
        if dis is not None:
            flow = dis.calc(a, b, None)
        else:
            flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, window, 3, 5, 1.2, 0)
        flows.append(flow)
    stacked = torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()
    return stacked.to(device=frames_a.device, dtype=torch.float32)


def flow_target_grid(flow: Tensor) -> Tensor:
    """Where each pixel centre of the flow's grid lands: ``p + flow(p)``, genlmk pixels.

    Args:
        flow: (B, 2, H, W) pixels.

    Returns:
        (B, H, W, 2) ``(x, y)`` pixels.
    """
    _, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        pixel_centers(h, flow.device, flow.dtype), pixel_centers(w, flow.device, flow.dtype), indexing="ij"
    )
    return torch.stack((xs, ys), dim=-1) + flow.permute(0, 2, 3, 1)


def warp_with_flow(images: Tensor, flow: Tensor, padding_mode: str = "border") -> Tensor:
    """Resample ``images`` (frame b) onto frame a's grid with the flow a -> b (bilinear).

    Args:
        images: (B, C, H', W') anything defined on frame b; may be a different resolution from the
            flow, it is sampled at the same *relative* positions.
        flow: (B, 2, H, W) pixels of the flow's own grid.
        padding_mode: as in ``grid_sample``, for targets outside the frame.

    Returns:
        (B, C, H, W).
    """
    _, _, h, w = flow.shape
    grid = pixels_to_normalized(flow_target_grid(flow), h, w, align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding_mode, align_corners=False)


def flow_consistency_mask(flow_ab: Tensor, flow_ba: Tensor, alpha: float = 0.01, beta: float = 0.5) -> Tensor:
    """Forward-backward check: where following a -> b and then b -> a comes back to the start.

    A pixel p of frame a is valid when its target ``p + flow_ab(p)`` lies inside frame b and
    ``|flow_ab(p) + flow_ba(p + flow_ab(p))|^2 < alpha (|flow_ab(p)|^2 + |flow_ba(...)|^2) + beta``
    (Sundaram et al. 2010); occluded and badly matched pixels fail it.

    Args:
        flow_ab: (B, 2, H, W) pixels, on frame a's grid.
        flow_ba: (B, 2, H, W) pixels, on frame b's grid.
        alpha: relative tolerance; beta: absolute tolerance in squared pixels.

    Returns:
        (B, 1, H, W) bool on frame a's grid.
    """
    _, _, h, w = flow_ab.shape
    returned = warp_with_flow(flow_ba, flow_ab)
    error = (flow_ab + returned).pow(2).sum(1, keepdim=True)
    bound = alpha * (flow_ab.pow(2).sum(1, keepdim=True) + returned.pow(2).sum(1, keepdim=True)) + beta
    target = flow_target_grid(flow_ab)
    inside = (target[..., 0] >= 0) & (target[..., 0] <= w) & (target[..., 1] >= 0) & (target[..., 1] <= h)
    return (error < bound) & inside[:, None]


def _affine_rows(basis: Tensor, direction: Tensor) -> Tensor:
    """Rows of the affine fit: ``direction · (A @ [1, x, y])`` is ``row @ vec(A)``. (B, N, 6)."""
    return torch.cat((direction[..., :1] * basis, direction[..., 1:] * basis), dim=-1)


def aperture_corrected_motion(
    points: Tensor, motion: Tensor, tangents: Tensor, trusted: Tensor, along_weight: float = 1e-3
) -> Tensor:
    """Landmark motion whose part along each line comes from one affine motion fitted across the lines.

    Along an edge or a painted line, optical flow only sees the motion across it (the aperture
    problem); along it the flow borrows from its neighbours, a static background for a face's
    outline, and falls short. Lines running in several directions still pin down an affine motion
    through their across-line components alone. So one affine motion per image is fitted by least
    squares to the across-line components of the trusted landmarks, and it gives each line
    landmark its along-line motion; the across-line part stays the flow's own. The along-line
    components enter the fit with ``along_weight`` only, so that a template whose lines all run one
    way still has a solution (then the flow's own along-line motion). Landmarks on no line keep
    their flow and count fully in the fit.

    Args:
        points: (B, N, 2) landmarks of frame t, pixels.
        motion: (B, N, 2) the flow t -> t+1 sampled at them, pixels.
        tangents: (B, N, 2) unit direction of each landmark's line
            (:func:`genlmk.geometry.polylines.line_tangents`), NaN for a landmark on no line.
        trusted: (B, N) bool, the landmarks whose flow passed its consistency check; only these
            enter the fit.
        along_weight: weight of an along-line component in the fit, relative to an across-line one.

    Returns:
        (B, N, 2) pixels, no gradient.
    """
    points, motion = points.detach(), motion.detach()
    on_line = ~torch.isnan(tangents).any(dim=-1)  # (B, N)
    tangent = torch.where(on_line[..., None], tangents, tangents.new_tensor([1.0, 0.0])).to(motion.dtype)
    normal = torch.stack((-tangent[..., 1], tangent[..., 0]), dim=-1)
    # centred and scaled coordinates keep the 6 x 6 normal equations well conditioned
    centre = points.mean(dim=1, keepdim=True)
    spread = (points - centre).pow(2).sum(-1).mean(1).sqrt().clamp_min(1e-6)[:, None, None]
    local = (points - centre) / spread
    basis = torch.cat((torch.ones_like(local[..., :1]), local), dim=-1)  # (B, N, 3)
    rows = torch.cat((_affine_rows(basis, normal), _affine_rows(basis, tangent)), dim=1)  # (B, 2N, 6)
    values = torch.cat(((normal * motion).sum(-1), (tangent * motion).sum(-1)), dim=1)  # (B, 2N)
    trust = trusted.to(motion.dtype)
    weights = torch.cat((trust, trust * torch.where(on_line, along_weight, 1.0)), dim=1)
    weighted = rows * weights[..., None]
    # a tiny ridge keeps the normal equations solvable for an image with no trusted landmark
    ridge = 1e-6 * torch.eye(6, dtype=rows.dtype, device=rows.device)
    normal_matrix = weighted.transpose(1, 2) @ rows + ridge
    coefficients = torch.linalg.solve(normal_matrix, (weighted * values[..., None]).sum(1))  # (B, 6)
    fitted = torch.stack(
        ((basis * coefficients[:, None, :3]).sum(-1), (basis * coefficients[:, None, 3:]).sum(-1)), dim=-1
    )
    along = (tangent * fitted).sum(-1, keepdim=True) * tangent
    across = (normal * motion).sum(-1, keepdim=True) * normal
    corrected = along + across
    return torch.where(on_line[..., None], corrected, motion)
