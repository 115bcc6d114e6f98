"""Keypoint math of the First Order Motion Model (FOMM), as pure functions.

FOMM keypoints live in *normalized* coordinates: ``(x, y)`` in ``[-1, 1]``, x right, y down, with
the ``align_corners=True`` convention, i.e. -1 and +1 are the centres of the first and last pixel
of whatever grid they were measured on. :func:`genlmk.geometry.coordinates.normalized_to_pixels`
with ``align_corners=True`` turns them into genlmk pixels at the API edges.

A keypoint may carry a *Jacobian* ``J`` (2x2): the local affine motion of the neighbourhood of the
keypoint relative to an abstract reference frame; ``J @ (z - kp)`` maps a small offset of the
reference frame into the frame the keypoint was detected in.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


class Keypoints(NamedTuple):
    """Keypoints of a batch of frames.

    Attributes:
        value: (B, K, 2) normalized ``(x, y)`` in [-1, 1] (``align_corners=True`` convention).
        jacobian: (B, K, 2, 2) local affine motion per keypoint, or None for a zero-order model.
        heatmap: (B, K, h, w) the detector's softmax heatmaps (each sums to 1), or None when the
            keypoints did not come from a detector (e.g. after :func:`relative_keypoints`).
    """

    value: Tensor
    jacobian: Tensor | None = None
    heatmap: Tensor | None = None


def keypoint_grid(height: int, width: int, device=None, dtype=torch.float32) -> Tensor:
    """Normalized coordinates of every pixel centre of an ``height x width`` grid.

    Returns:
        (height, width, 2) ``(x, y)``: x goes -1 -> 1 along columns, y -1 -> 1 along rows, the
        corner pixel centres exactly at +-1 (``align_corners=True``).
    """
    x = _unit_span(width, device, dtype)
    y = _unit_span(height, device, dtype)
    return torch.stack(torch.meshgrid(x, y, indexing="xy"), dim=-1)


def _unit_span(length: int, device, dtype) -> Tensor:
    """``length`` evenly spaced values from -1 to 1 (a single one at 0)."""
    steps = torch.arange(length, device=device, dtype=dtype)
    return 2.0 * (steps / max(length - 1, 1)) - 1.0 if length > 1 else steps


def heatmap_expectation(heatmap: Tensor) -> Tensor:
    """Expected normalized position under each heatmap (soft-argmax).

    Args:
        heatmap: (B, K, h, w) non-negative maps, each summing to 1.

    Returns:
        (B, K, 2) normalized ``(x, y)`` on the heatmap's own grid (:func:`keypoint_grid`).
    """
    grid = keypoint_grid(heatmap.shape[-2], heatmap.shape[-1], heatmap.device, heatmap.dtype)
    return torch.einsum("bkhw,hwc->bkc", heatmap, grid)


def gaussian_heatmaps(value: Tensor, height: int, width: int, variance: float) -> Tensor:
    """Isotropic Gaussian bumps ``exp(-|z - kp|^2 / (2 variance))`` centred on keypoints.

    Args:
        value: (..., K, 2) normalized keypoints.
        height, width: size of the output grid; its pixels are placed by :func:`keypoint_grid`.
        variance: in squared normalized units (FOMM uses 0.01).

    Returns:
        (..., K, height, width), peak value 1 (not normalized to unit mass).
    """
    grid = keypoint_grid(height, width, value.device, value.dtype)
    offset = grid - value[..., None, None, :]
    return torch.exp(-0.5 * offset.pow(2).sum(-1) / variance)


def relative_keypoints(
    source: Keypoints,
    driving: Keypoints,
    driving_initial: Keypoints,
    adapt_scale: bool = False,
    relative_jacobian: bool = True,
) -> Keypoints:
    """Transfer the *motion* of the driving video onto the source's keypoints (FOMM "relative" mode).

    ``value = (driving - driving_initial) * scale + source``; with ``relative_jacobian``,
    ``jacobian = J_driving @ inv(J_driving_initial) @ J_source``. ``scale`` is 1, or with
    ``adapt_scale`` ``sqrt(hull area of source / hull area of driving_initial)`` per batch item.

    Args:
        source, driving, driving_initial: keypoints with ``value`` (B, K, 2); Jacobians are used
            when all three have them.

    Returns:
        Keypoints to drive the generator with (no heatmap).
    """
    scale = 1.0
    if adapt_scale:
        areas = [
            (convex_hull_area(s), convex_hull_area(d))
            for s, d in zip(source.value.detach().cpu().numpy(), driving_initial.value.detach().cpu().numpy())
        ]
        scale = source.value.new_tensor([np.sqrt(a / max(b, 1e-12)) for a, b in areas]).view(-1, 1, 1)
    value = (driving.value - driving_initial.value) * scale + source.value
    jacobian = driving.jacobian
    if relative_jacobian and None not in (source.jacobian, driving.jacobian, driving_initial.jacobian):
        jacobian = driving.jacobian @ torch.linalg.inv(driving_initial.jacobian) @ source.jacobian
    return Keypoints(value, jacobian)


def convex_hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of (N, 2) points (0 for fewer than 3 or collinear points)."""
    import cv2

    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(points) < 3:
        return 0.0
    return float(cv2.contourArea(cv2.convexHull(points)))


def normalized_shape(value: Tensor) -> Tensor:
    """Keypoints centred on their mean and divided by the square root of their hull area.

    Makes keypoint sets comparable across position and size (used to pick the driving frame
    whose pose is closest to the source's).

    Args:
        value: (B, K, 2) keypoints, any consistent units.

    Returns:
        (B, K, 2).
    """
    centred = value - value.mean(dim=1, keepdim=True)
    areas = [convex_hull_area(v) for v in centred.detach().cpu().numpy()]
    scale = centred.new_tensor([np.sqrt(max(a, 1e-12)) for a in areas]).view(-1, 1, 1)
    return centred / scale
