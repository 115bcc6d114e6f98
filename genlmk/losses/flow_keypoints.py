"""The optical-flow keypoint loss (flow-regularized keypoints for video generation, Eq. 6).

Between consecutive frames t and t+1, a keypoint heatmap should move with the image content: the
heatmap of frame t, carried to frame t+1 by the (classical, precomputed) optical flow, should equal
the heatmap the detector finds in frame t+1. Pixels where the flow fails its forward-backward check
are left out.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from genlmk.geometry.keypoints import keypoint_grid


def sample_on_heatmap_grid(maps: Tensor, height: int, width: int) -> Tensor:
    """Bilinearly sample frame-sized maps (B, C, H, W) at the pixels of an ``height x width`` heatmap.

    Heatmap pixels sit at :func:`genlmk.geometry.keypoints.keypoint_grid` positions, read as
    ``align_corners=True`` coordinates of the frame (the keypoint convention).

    Returns:
        (B, C, height, width).
    """
    grid = keypoint_grid(height, width, maps.device, maps.dtype).expand(maps.shape[0], height, width, 2)
    return F.grid_sample(maps, grid, mode="bilinear", align_corners=True)


def warp_heatmaps_with_flow(heatmap: Tensor, flow_back: Tensor) -> Tensor:
    """Carry heatmaps of frame t onto frame t+1's grid.

    The heatmap grid covers the frame in the keypoint convention (normalized, ``align_corners=True``):
    heatmap pixel z of frame t+1 takes the value of frame t's heatmap at ``z + flow_back(z)``.

    Args:
        heatmap: (B, K, h, w) frame t's heatmaps.
        flow_back: (B, 2, H, W) flow from frame t+1 to frame t in pixels, on frame t+1's grid
            (:func:`genlmk.geometry.flow.dense_flow` ``(frame_t1, frame_t)``).

    Returns:
        (B, K, h, w); zero where the flow leaves the frame.
    """
    b, _, h, w = heatmap.shape
    height, width = flow_back.shape[-2:]
    grid = keypoint_grid(h, w, heatmap.device, heatmap.dtype).expand(b, h, w, 2)
    flow = sample_on_heatmap_grid(flow_back.to(heatmap), h, w)
    # pixels -> normalized displacement in the align_corners=True convention: 2 / (size - 1) per pixel
    scale = flow.new_tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)]).view(1, 2, 1, 1)
    target = grid + (flow * scale).permute(0, 2, 3, 1)
    return F.grid_sample(heatmap, target, mode="bilinear", padding_mode="zeros", align_corners=True)


def flow_heatmap_loss(
    heatmap: Tensor, heatmap_next: Tensor, flow_back: Tensor, valid: Tensor | None = None
) -> Tensor:
    """L1 distance between frame t's heatmaps carried by the flow and frame t+1's heatmaps.

    ``mean_{b,k} sum_z valid(z) |warp(H_t)_k(z) - H_{t+1,k}(z)|``: per keypoint the L1 distance between
    two distributions, so each term lies in [0, 2] whatever the heatmap resolution.

    Args:
        heatmap, heatmap_next: (B, K, h, w) softmax heatmaps (each sums to 1) of frames t and t+1.
        flow_back: (B, 2, H, W) pixels, flow t+1 -> t on frame t+1's grid.
        valid: optional (B, 1, H, W) bool/float, 1 where the flow is trusted (e.g.
            :func:`genlmk.geometry.flow.flow_consistency_mask` ``(flow_back, flow_forward)``).

    Returns:
        Scalar.
    """
    carried = warp_heatmaps_with_flow(heatmap, flow_back)
    difference = (carried - heatmap_next).abs()
    if valid is not None:
        difference = difference * sample_on_heatmap_grid(valid.to(difference), *difference.shape[-2:])
    return difference.sum(dim=(-2, -1)).mean()
