"""Comparing predicted lines with the real paint of marked frames.

A thin rendered stroke only gets an image-space gradient where it already overlaps the paint;
a geometric comparison gives a long-range signal: segment the paint by its colour, then pull
the predicted stroke samples and the paint pixels towards each other (a symmetric chamfer).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def paint_weights(images: Tensor, color: Tensor, tolerance: float = 0.03) -> Tensor:
    """Soft segmentation of paint of a given colour.

    Compares colour *directions* (so lighting that scales all channels changes nothing) and
    rejects pixels much darker or brighter than the paint.

    Args:
        images: (B, 3, H, W) RGB in [0, 1].
        color: (3,) paint RGB in [0, 1].
        tolerance: cosine distance at which a pixel's weight falls to exp(-1).

    Returns:
        (B, H, W) weights in [0, 1].
    """
    cosine, ratio = _cosine_and_ratio(images, color)
    weight = torch.exp(-(((1.0 - cosine) / tolerance) ** 2)) * ((ratio > 0.5) & (ratio < 1.6))
    return weight[:, 0]


def _cosine_and_ratio(images: Tensor, color: Tensor) -> tuple[Tensor, Tensor]:
    """Per pixel: cosine of the angle to ``color`` and brightness relative to it, each (B, 1, H, W)."""
    color = color.to(images).view(1, 3, 1, 1)
    norm = images.norm(dim=1, keepdim=True)
    cosine = (images * color).sum(1, keepdim=True) / (norm * color.norm() + 1e-6)
    return cosine, norm / color.norm()


def estimate_paint_color(
    images: Tensor, color: Tensor, tolerance: float = 0.05, min_share: float = 1e-3
) -> Tensor | None:
    """The colour the paint has in footage, found from the colour it was authored with.

    Light colour, exposure and shading change how paint looks: under warm, dim light a saturated
    blue can film at a third of its nominal brightness, which a segmentation keyed to the nominal
    colour rejects. Pixels whose colour direction lies within ``tolerance`` (cosine distance) of
    ``color`` and whose brightness is between 0.15 and 3 times its own are taken as paint; their
    per-channel median is the estimate.

    Args:
        images: (B, 3, H, W) RGB in [0, 1], marked frames.
        color: (3,) the authored paint colour, RGB in [0, 1].
        tolerance: cosine distance a paint pixel's colour direction may have from ``color``.
        min_share: the least fraction of all pixels that must look like paint.

    Returns:
        (3,) RGB in [0, 1], or ``None`` when fewer pixels than ``min_share`` look like paint.
    """
    cosine, ratio = _cosine_and_ratio(images, color)
    candidate = (1.0 - cosine < tolerance) & (ratio > 0.15) & (ratio < 3.0)
    if candidate.sum() < min_share * candidate.numel():
        return None
    pixels = images.permute(1, 0, 2, 3)[:, candidate[:, 0]]  # (3, P)
    return pixels.median(dim=1).values


def sample_paint_points(weights: Tensor, count: int, min_pixels: float = 8.0) -> tuple[Tensor, Tensor]:
    """Draw ``count`` paint pixel centres per image, with probability proportional to weight.

    Args:
        weights: (B, H, W) paint weights.
        count: samples per image.
        min_pixels: images whose total weight is below this have no usable paint.

    Returns:
        points: (B, count, 2) pixel centres ``(x, y)``.
        valid: (B,) bool, whether the image had paint.
    """
    batch, _, width = weights.shape
    flat = weights.reshape(batch, -1)
    total = flat.sum(dim=1)
    valid = total >= min_pixels
    probabilities = torch.where(valid[:, None], flat, torch.ones_like(flat))
    index = torch.multinomial(probabilities, count, replacement=True)
    xs = (index % width).to(weights.dtype) + 0.5
    ys = torch.div(index, width, rounding_mode="floor").to(weights.dtype) + 0.5
    return torch.stack((xs, ys), dim=-1), valid


def chamfer_to_paint(
    stroke_points: Tensor,
    paint_points: Tensor,
    valid: Tensor,
    huber: float = 4.0,
    stroke_weights: Tensor | None = None,
) -> Tensor:
    """Symmetric robust chamfer distance between predicted stroke samples and paint pixels.

    ``mean_s h(min_p |s - p|) + mean_p h(min_s |p - s|)`` with ``h`` the Huber function
    (quadratic below ``huber`` pixels, linear above), averaged over images with paint.

    With ``stroke_weights`` (the samples' visibility) the first mean is weighted,
    ``sum_s w_s h(.) / sum_s w_s``: a hidden sample is not pulled onto the visible paint. The
    normalisation keeps the term from rewarding hiding as such: lowering every weight alike changes
    nothing; only samples farther from paint than the weighted average gain by being hidden.

    Args:
        stroke_points: (B, S, 2) samples along the predicted lines, pixels.
        paint_points: (B, P, 2) paint pixel centres, pixels.
        valid: (B,) bool, images to include.
        huber: Huber threshold, pixels.
        stroke_weights: optional (B, S) in [0, 1]; None weighs every sample 1.

    Returns:
        Scalar in pixels (0 when no image has paint).
    """
    if not bool(valid.any()):
        return stroke_points.sum() * 0.0
    distances = torch.cdist(stroke_points[valid], paint_points[valid])  # (B', S, P)
    to_paint = distances.min(dim=2).values
    to_stroke = distances.min(dim=1).values
    zero_s, zero_p = torch.zeros_like(to_paint), torch.zeros_like(to_stroke)
    if stroke_weights is None:
        stroke_mean = F.huber_loss(to_paint, zero_s, delta=huber)
    else:
        weights = stroke_weights[valid]
        stroke_term = F.huber_loss(to_paint, zero_s, delta=huber, reduction="none")
        stroke_mean = ((weights * stroke_term).sum(1) / weights.sum(1).clamp_min(1e-6)).mean()
    return stroke_mean + F.huber_loss(to_stroke, zero_p, delta=huber)
