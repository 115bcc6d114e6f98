"""Band-limited downscaling of images (Gaussian blur, then subsampling) and image pyramids."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def antialias_kernel(scale: float, channels: int = 1) -> Tensor:
    """The Gaussian low-pass kernel used before downscaling by ``scale``.

    The standard deviation is ``(1 / scale - 1) / 2`` pixels and the kernel is
    ``2 * round(4 sigma) + 1`` pixels wide (always odd), normalized to sum 1. These are the First
    Order Motion Model's choices, so the kernel equals the ``down.weight`` buffers of its checkpoints.

    Args:
        scale: output size / input size, in (0, 1).
        channels: the kernel is repeated for a depthwise convolution over this many channels.

    Returns:
        (channels, 1, k, k) float32.
    """
    if not 0.0 < scale < 1.0:
        raise ValueError(f"anti-alias scale must be in (0, 1), got {scale}")
    sigma = (1.0 / scale - 1.0) / 2.0
    size = 2 * round(sigma * 4) + 1
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2.0
    profile = torch.exp(-(offsets**2) / (2.0 * sigma**2))
    kernel = profile[:, None] * profile[None, :]
    kernel = kernel / kernel.sum()
    return kernel.expand(channels, 1, size, size).contiguous()


def antialias_downscale(images: Tensor, scale: float, kernel: Tensor | None = None) -> Tensor:
    """Blur with :func:`antialias_kernel` and keep every ``int(1 / scale)``-th pixel.

    Args:
        images: (B, C, H, W).
        scale: output size / input size; 1 returns ``images`` unchanged.
        kernel: (C, 1, k, k) precomputed kernel (e.g. a checkpoint's buffer); made if None.

    Returns:
        (B, C, ceil(H / s), ceil(W / s)) with ``s = int(1 / scale)``; pixel (i, j) of the output is
        the blurred input at pixel (s i, s j) (zero padding at the borders).
    """
    if scale == 1.0:
        return images
    if kernel is None:
        kernel = antialias_kernel(scale, images.shape[1]).to(images)
    step = int(1.0 / scale)
    return F.conv2d(images, kernel, stride=step, padding=kernel.shape[-1] // 2, groups=images.shape[1])


def image_pyramid(images: Tensor, scales: Sequence[float]) -> dict[float, Tensor]:
    """Anti-aliased downscaled copies of ``images``, one per scale (1 is the image itself).

    Args:
        images: (B, C, H, W).
        scales: e.g. ``[1, 0.5, 0.25, 0.125]``.

    Returns:
        ``{scale: (B, C, H * scale, W * scale)}`` (sizes rounded up).
    """
    return {scale: antialias_downscale(images, scale) for scale in scales}
