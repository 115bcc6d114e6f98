"""Rasterizers: ink samples -> ink density image. Two interchangeable backends.

Both compute, for every pixel centre ``p`` (the kernel cut at ``truncate * sigma``),

    ink(p) = sum_k  lengths[k] / (sqrt(2 pi) sigma) * exp(-|p - positions[k]|^2 / (2 sigma^2))

which along a straight, densely sampled stroke equals ``exp(-d^2 / (2 sigma^2))`` at distance
``d`` from the line, whatever the sampling density.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from genlmk.geometry.coordinates import pixels_to_ndc


def _check_samples(positions: Tensor, lengths: Tensor) -> None:
    if positions.ndim != 3 or positions.shape[-1] != 2:
        raise ValueError(f"positions must have shape (B, S, 2), got {tuple(positions.shape)}")
    if lengths.shape != positions.shape[:2]:
        raise ValueError(
            f"lengths must have shape {tuple(positions.shape[:2])} (B, S), got {tuple(lengths.shape)}"
        )


def splat_ink(
    positions: Tensor, lengths: Tensor, height: int, width: int, sigma: float, truncate: float = 5.0
) -> Tensor:
    """Ink density by windowed Gaussian splatting (pure torch).

    Each sample adds its Gaussian to the ``(2R + 1) x (2R + 1)`` pixels around it,
    ``R = ceil(truncate * sigma)``, with one ``scatter_add``. The 2-D Gaussian factors into
    ``g_y * g_x``, so only ``2 (2R + 1)`` exponentials are evaluated per sample. Cost is
    O(B S R^2), independent of the image size; samples outside the image contribute only
    their in-image part.

    Args:
        positions: (B, S, 2) sample positions, pixels (genlmk convention).
        lengths: (B, S) arc length per sample, pixels.
        height, width: output size.
        sigma: Gaussian standard deviation, pixels.
        truncate: the kernel is cut beyond ``truncate * sigma`` (as the PyTorch3D backend's).

    Returns:
        (B, 1, H, W) ink density, >= 0.
    """
    _check_samples(positions, lengths)
    batch = positions.shape[0]
    reach = math.ceil(truncate * sigma)
    offsets = torch.arange(-reach, reach + 1, device=positions.device)
    # the pixel containing each sample, then the window of pixel columns / rows around it
    base = torch.floor(positions.detach()).long()  # (B, S, 2)
    cols = base[..., 0:1] + offsets  # (B, S, P)
    rows = base[..., 1:2] + offsets
    inv = -0.5 / (sigma * sigma)
    weights = lengths / (math.sqrt(2.0 * math.pi) * sigma)
    gx = torch.exp(inv * (cols + 0.5 - positions[..., 0:1]) ** 2) * ((cols >= 0) & (cols < width))
    gy = torch.exp(inv * (rows + 0.5 - positions[..., 1:2]) ** 2) * ((rows >= 0) & (rows < height))
    patches = (gy * weights[..., None])[..., :, None] * gx[..., None, :]  # (B, S, P, P)
    flat = rows.clamp(0, height - 1)[..., :, None] * width + cols.clamp(0, width - 1)[..., None, :]
    ink = positions.new_zeros(batch, height * width)
    ink = ink.scatter_add(1, flat.reshape(batch, -1), patches.reshape(batch, -1))
    return ink.view(batch, 1, height, width)


def pytorch3d_ink(
    positions: Tensor,
    lengths: Tensor,
    height: int,
    width: int,
    sigma: float,
    truncate: float = 5.0,
    points_per_pixel: int = 64,
) -> Tensor:
    """Ink density with PyTorch3D: ``rasterize_points`` finds the samples within
    ``truncate * sigma`` of each pixel, ``weighted_sum`` composites their Gaussian weights.

    Args: as :func:`splat_ink`, plus
        truncate: kernel support radius in units of sigma.
        points_per_pixel: samples kept per pixel (PyTorch3D's ``K``); pixels near more samples
            than this drop the surplus.

    Returns:
        (B, 1, H, W) ink density, >= 0.
    """
    from pytorch3d.renderer.compositing import weighted_sum
    from pytorch3d.renderer.points.rasterize_points import rasterize_points
    from pytorch3d.structures import Pointclouds

    _check_samples(positions, lengths)
    batch, count = positions.shape[:2]
    ndc = pixels_to_ndc(positions, height, width)
    # all samples at depth 1: in front of the camera, no occlusion between them
    xyz = torch.cat((ndc, torch.ones_like(ndc[..., :1])), dim=-1)
    px_to_ndc = 2.0 / min(height, width)
    idx, _, dists = rasterize_points(
        Pointclouds(points=xyz),
        image_size=(height, width),
        radius=truncate * sigma * px_to_ndc,
        points_per_pixel=points_per_pixel,
        bin_size=0,  # the CPU kernel is unbinned anyway; 0 avoids bin-overflow warnings on GPU
    )
    dist2_px = dists / (px_to_ndc * px_to_ndc)
    kernel = torch.exp(-0.5 * dist2_px / (sigma * sigma)) * (idx >= 0)
    weights = (lengths / (math.sqrt(2.0 * math.pi) * sigma)).reshape(1, batch * count)
    # weighted_sum wants (B, K, H, W) index and weights, (C, P) packed features
    return weighted_sum(idx.permute(0, 3, 1, 2).long(), kernel.permute(0, 3, 1, 2), weights)


class SplatRasterizer(nn.Module):
    """Module form of :func:`splat_ink`."""

    def __init__(self, sigma: float, truncate: float = 5.0) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.truncate = float(truncate)

    def forward(self, positions: Tensor, lengths: Tensor, height: int, width: int) -> Tensor:
        return splat_ink(positions, lengths, height, width, self.sigma, self.truncate)


class PointsRasterizer(nn.Module):
    """Module form of :func:`pytorch3d_ink`."""

    def __init__(self, sigma: float, truncate: float = 5.0, points_per_pixel: int = 64) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.truncate = float(truncate)
        self.points_per_pixel = int(points_per_pixel)

    def forward(self, positions: Tensor, lengths: Tensor, height: int, width: int) -> Tensor:
        return pytorch3d_ink(
            positions, lengths, height, width, self.sigma, self.truncate, self.points_per_pixel
        )
