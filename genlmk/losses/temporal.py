"""Temporal consistency of landmarks through optical flow.

The landmarks found in frame t, carried along by the dense optical flow t -> t+1, should be the
landmarks found in frame t+1. Landmarks where the flow fails its forward-backward check
(occlusion, poor texture) are left out, and a smooth-L1 penalty keeps flow outliers from dominating.
Optionally the flow's motion along the template's lines, which the aperture problem leaves short,
is replaced by an affine motion fitted across them (:func:`~genlmk.geometry.flow.aperture_corrected_motion`).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from genlmk.geometry.coordinates import pixels_to_normalized
from genlmk.geometry.flow import aperture_corrected_motion


def sample_at(maps: Tensor, points: Tensor) -> Tensor:
    """Bilinear samples of ``maps`` (B, C, H, W) at ``points`` (B, N, 2) pixels -> (B, N, C).

    Points outside the image take the border value.
    """
    height, width = maps.shape[-2:]
    grid = pixels_to_normalized(points, height, width)[:, :, None, :]  # (B, N, 1, 2)
    sampled = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return sampled[..., 0].transpose(1, 2)


def flow_landmark_loss(
    landmarks: Tensor,
    landmarks_next: Tensor,
    flow: Tensor,
    valid: Tensor,
    threshold: float = 1.0,
    tangents: Tensor | None = None,
) -> Tensor:
    """Smooth-L1 distance between the landmarks of frame t+1 and those of frame t moved by the flow.

    Args:
        landmarks: (B, N, 2) landmarks of frame t, pixels.
        landmarks_next: (B, N, 2) landmarks of frame t+1, pixels.
        flow: (B, 2, H, W) optical flow t -> t+1 on frame t's grid, pixels.
        valid: (B, 1, H, W) bool, where the flow passed its consistency check.
        threshold: smooth-L1 threshold, pixels: a miss ``d`` costs ``d**2 / (2 * threshold)`` below
            it and ``|d| - threshold / 2`` above (at 1 px, the Huber loss at 1 px).
        tangents: optional (B, N, 2) unit direction of each landmark's line at frame t (NaN: on no
            line); when given, the along-line part of the flow comes from
            :func:`~genlmk.geometry.flow.aperture_corrected_motion`.

    Returns:
        Scalar: mean over the landmarks whose flow is valid (0 if none is).
    """
    # where to read the flow is not itself optimised: the flow field's spatial gradient is noise
    where = landmarks.detach()
    motion = sample_at(flow, where)
    trusted = sample_at(valid.to(flow.dtype), where)[..., 0] > 0.5  # (B, N)
    if not bool(trusted.any()):
        return (landmarks.sum() + landmarks_next.sum()) * 0.0  # keeps both in the graph
    if tangents is not None:
        motion = aperture_corrected_motion(where, motion, tangents, trusted)
    moved = landmarks + motion
    error = F.smooth_l1_loss(landmarks_next, moved, reduction="none", beta=threshold).sum(-1)
    return (error * trusted).sum() / trusted.sum()
