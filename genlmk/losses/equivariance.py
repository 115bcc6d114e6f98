"""Equivariance losses of keypoint and landmark detectors under a known random warp (FOMM, Sec. 3.3).

With ``warped(z) = image(T(z))`` (see :mod:`genlmk.geometry.transforms`), an equivariant detector
gives ``kp(image) = T(kp(warped))`` and ``J(image) = dT(kp(warped)) @ J(warped)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genlmk.geometry.coordinates import normalized_to_pixels, pixels_to_normalized
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


def landmark_equivariance_loss(
    landmarks: Tensor,
    warped_landmarks: Tensor,
    warp: RandomWarp,
    height: int,
    width: int,
    threshold: float = 1.0,
) -> Tensor:
    """Smooth-L1 distance between an image's landmarks and those of its warped copy carried back.

    The warped copy was made by :func:`~genlmk.geometry.transforms.warp_images`, so a landmark at
    ``z`` in it shows the image's point ``T(z)``: an equivariant landmarker has
    ``landmarks = T(warped_landmarks)``. A known warp is motion without optical-flow error.

    Args:
        landmarks: (B, N, 2) landmarks of the images, pixels.
        warped_landmarks: (B, N, 2) landmarks of the warped copies, pixels.
        warp: the warp (normalized coordinates, ``align_corners=True``, as ``warp_images``).
        height, width: image size, pixels.
        threshold: smooth-L1 threshold, pixels: a miss ``d`` costs ``d**2 / (2 * threshold)`` below
            it and ``|d| - threshold / 2`` above, so a smaller threshold pulls harder on small misses
            while large ones (a landmark lost in the warp) still cost only linearly. At 1 px this is
            the Huber loss with a 1 px threshold.

    Returns:
        Scalar: mean over landmarks of the smooth-L1 distance (summed over x and y).
    """
    normalized = pixels_to_normalized(warped_landmarks, height, width, align_corners=True)
    carried = normalized_to_pixels(warp_points(warp, normalized), height, width, align_corners=True)
    return F.smooth_l1_loss(carried, landmarks, reduction="none", beta=threshold).sum(-1).mean()
