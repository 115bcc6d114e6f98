"""Equivariance losses of the keypoint detector under a known random warp (FOMM, Sec. 3.3).

With ``warped(z) = image(T(z))`` (see :mod:`genlmk.geometry.transforms`), an equivariant detector
gives ``kp(image) = T(kp(warped))`` and ``J(image) = dT(kp(warped)) @ J(warped)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlmk.geometry.transforms import RandomWarp, warp_jacobian, warp_points


def equivariance_value_loss(value: Tensor, warped_value: Tensor, warp: RandomWarp) -> Tensor:
    """``mean |kp - T(kp_warped)|``.

    Args:
        value: (B, K, 2) normalized keypoints of the original images.
        warped_value: (B, K, 2) keypoints of the warped images.
        warp: the warp that made them.

    Returns:
        Scalar, in normalized units.
    """
    return (value - warp_points(warp, warped_value)).abs().mean()


def equivariance_jacobian_loss(
    jacobian: Tensor, warped_value: Tensor, warped_jacobian: Tensor, warp: RandomWarp
) -> Tensor:
    """``mean |I - J^-1 dT(kp_warped) J_warped|``: the Jacobians agree up to the warp's own.

    Args:
        jacobian: (B, K, 2, 2) Jacobians of the original images (must be invertible).
        warped_value: (B, K, 2) keypoints of the warped images.
        warped_jacobian: (B, K, 2, 2) Jacobians of the warped images.
        warp: the warp that made them.
    """
    carried = warp_jacobian(warp, warped_value) @ warped_jacobian
    product = torch.linalg.inv(jacobian) @ carried
    eye = torch.eye(2, dtype=product.dtype, device=product.device)
    return (eye - product).abs().mean()
