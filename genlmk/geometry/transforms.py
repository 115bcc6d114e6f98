"""Random smooth warps (affine + thin-plate spline) for equivariance training, as pure functions.

Points are normalized ``(x, y)`` in [-1, 1] (``align_corners=True`` convention, as FOMM keypoints).
A warp ``T`` maps a point of the *warped* image to the point of the *original* image it shows:
``warped_image(z) = image(T(z))``. Hence a detector that is equivariant satisfies
``kp(image) = T(kp(warped_image))`` and ``J(image) = dT/dz(kp(warped_image)) @ J(warped_image)``.

``T(z) = A z + b + sum_p w_p U(|z - c_p|_1)`` with ``U(d) = d^2 log(d + 1e-6)``, control points ``c_p``
on a regular grid over [-1, 1]^2 (the First Order Motion Model's thin-plate-spline variant, which
measures distances with the L1 norm).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from genlmk.geometry.keypoints import keypoint_grid

_TPS_EPS = 1e-6


class RandomWarp(NamedTuple):
    """Parameters of one warp per batch item.

    Attributes:
        theta: (B, 2, 3) affine part ``[A | b]``.
        control_points: (P, 2) normalized thin-plate-spline centres, or None (affine only).
        control_params: (B, P) spline weights ``w_p``, or None.
    """

    theta: Tensor
    control_points: Tensor | None = None
    control_params: Tensor | None = None


def sample_warp(
    batch: int,
    sigma_affine: float,
    sigma_tps: float = 0.0,
    points_tps: int = 0,
    generator: torch.Generator | None = None,
    device=None,
) -> RandomWarp:
    """Draw random warps near the identity.

    Args:
        batch: number of warps B.
        sigma_affine: standard deviation of the Gaussian noise added to the identity ``[I | 0]``.
        sigma_tps: standard deviation of the spline weights (0 or ``points_tps`` 0: affine only).
        points_tps: the control points form a ``points_tps x points_tps`` grid.
        generator: torch random generator (CPU) for reproducible draws.
    """
    points_tps = int(points_tps)
    theta = torch.eye(2, 3) + sigma_affine * torch.randn(batch, 2, 3, generator=generator)
    if sigma_tps <= 0 or points_tps <= 0:
        return RandomWarp(theta.to(device))
    points = keypoint_grid(points_tps, points_tps).reshape(-1, 2)
    params = sigma_tps * torch.randn(batch, points_tps**2, generator=generator)
    return RandomWarp(theta.to(device), points.to(device), params.to(device))


def warp_points(warp: RandomWarp, points: Tensor) -> Tensor:
    """Apply ``T`` to points.

    Args:
        points: (B, N, 2) normalized ``(x, y)``.

    Returns:
        (B, N, 2) normalized ``(x, y)``.
    """
    theta = warp.theta.to(points)
    out = points @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]
    if warp.control_points is not None:
        offsets = points[:, :, None, :] - warp.control_points.to(points)  # (B, N, P, 2)
        distance = offsets.abs().sum(-1)
        radial = distance.pow(2) * torch.log(distance + _TPS_EPS)
        out = out + (radial * warp.control_params.to(points)[:, None, :]).sum(-1, keepdim=True)
    return out


def warp_jacobian(warp: RandomWarp, points: Tensor) -> Tensor:
    """The Jacobian ``dT/dz`` at each point, in closed form.

    Args:
        points: (B, N, 2) normalized ``(x, y)``.

    Returns:
        (B, N, 2, 2) with ``[i, j] = d T_i / d z_j``.
    """
    theta = warp.theta.to(points)
    jacobian = theta[:, None, :, :2].expand(points.shape[0], points.shape[1], 2, 2)
    if warp.control_points is not None:
        offsets = points[:, :, None, :] - warp.control_points.to(points)
        distance = offsets.abs().sum(-1, keepdim=True)  # (B, N, P, 1)
        d_radial = 2.0 * distance * torch.log(distance + _TPS_EPS) + distance.pow(2) / (distance + _TPS_EPS)
        gradient = (d_radial * torch.sign(offsets) * warp.control_params.to(points)[:, None, :, None]).sum(2)
        # the spline adds the same scalar to x and y, so both rows get its gradient
        jacobian = jacobian + gradient[:, :, None, :]
    return jacobian


def warp_images(warp: RandomWarp, images: Tensor, padding_mode: str = "reflection") -> Tensor:
    """Resample images so that ``warped(z) = images(T(z))`` (bilinear).

    Args:
        images: (B, C, H, W).
        padding_mode: as in ``grid_sample``; reflection avoids black borders.

    Returns:
        (B, C, H, W).
    """
    b, _, h, w = images.shape
    grid = keypoint_grid(h, w, images.device, images.dtype).reshape(1, -1, 2).expand(b, -1, -1)
    source = warp_points(warp, grid).reshape(b, h, w, 2)
    return F.grid_sample(images, source, mode="bilinear", padding_mode=padding_mode, align_corners=True)
