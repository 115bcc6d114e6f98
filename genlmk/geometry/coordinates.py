"""Conversions between genlmk's pixel convention and the conventions of the libraries inside.

genlmk's public convention: ``(x, y)`` in pixels, x to the right, y down, the image's top-left
*corner* at ``(0, 0)``, so pixel (row i, column j) has its centre at ``(j + 0.5, i + 0.5)`` and
an ``H x W`` image spans ``[0, W] x [0, H]``.

Inside:
- PyTorch3D NDC: +x to the *left*, +y *up*; the shorter image side spans [-1, 1].
- Normalized coordinates of ``grid_sample``: x, y in [-1, 1]; with ``align_corners=False`` the
  image corners sit at +-1, with ``align_corners=True`` the corner *pixel centres* do (the
  First Order Motion Model uses the latter).
"""

from __future__ import annotations

import torch
from torch import Tensor


def pixel_centers(length: int, device=None, dtype=torch.float32) -> Tensor:
    """Centres of ``length`` pixels along one axis: ``[0.5, 1.5, ..., length - 0.5]``, shape (length,)."""
    return torch.arange(length, device=device, dtype=dtype) + 0.5


def pixels_to_ndc(points: Tensor, height: int, width: int) -> Tensor:
    """Pixel coordinates to PyTorch3D NDC.

    Args:
        points: (..., 2) ``(x, y)`` pixels, genlmk convention.
        height, width: image size in pixels.

    Returns:
        (..., 2) NDC ``(x, y)``: +x left, +y up, the shorter side spanning [-1, 1].
    """
    short = min(height, width)
    x = (width - 2.0 * points[..., 0]) / short
    y = (height - 2.0 * points[..., 1]) / short
    return torch.stack((x, y), dim=-1)


def pixels_to_normalized(points: Tensor, height: int, width: int, align_corners: bool = False) -> Tensor:
    """Pixel coordinates to ``grid_sample`` coordinates in [-1, 1].

    Args:
        points: (..., 2) ``(x, y)`` pixels, genlmk convention.
        align_corners: as in ``torch.nn.functional.grid_sample``.

    Returns:
        (..., 2) normalized ``(x, y)``, x right, y down.
    """
    size = points.new_tensor([width, height])
    if align_corners:
        return 2.0 * (points - 0.5) / (size - 1.0) - 1.0
    return 2.0 * points / size - 1.0


def normalized_to_pixels(points: Tensor, height: int, width: int, align_corners: bool = False) -> Tensor:
    """Inverse of :func:`pixels_to_normalized`: (..., 2) normalized ``(x, y)`` to pixels."""
    size = points.new_tensor([width, height])
    if align_corners:
        return (points + 1.0) * (size - 1.0) / 2.0 + 0.5
    return (points + 1.0) * size / 2.0
