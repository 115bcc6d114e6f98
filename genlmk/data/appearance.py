"""Random appearance changes of image batches, as pure functions on tensors.

What changes between two frames of the same pose filmed a moment apart: the exposure (an overall
gain), the white balance (a gain per channel), the tone curve (a gamma), light falling more on one
side (a linear ramp), the sensor noise (:func:`random_photometric`) and the codec's block artifacts
(:func:`random_jpeg`); :func:`random_appearance` applies both.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor


def random_photometric(
    images: Tensor,
    gain: float = 0.0,
    color: float = 0.0,
    gamma: float = 0.0,
    noise: float = 0.0,
    ramp: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Each image with its own random exposure, white balance, tone curve, light ramp and noise.

    Args:
        images: (B, C, H, W) in [0, 1].
        gain: standard deviation of the log of the overall gain.
        color: standard deviation of the log of each channel's extra gain.
        gamma: standard deviation of the log of the gamma.
        noise: standard deviation of additive Gaussian noise (per pixel and channel).
        ramp: standard deviation of a linear light ramp's slope along x and along y (the relative
            brightness change from the frame's centre to its edges), as a light off to one side gives.
        generator: torch random generator on the images' device (default: the global one).

    Returns:
        (B, C, H, W) in [0, 1]; ``images`` itself when every amount is 0.
    """
    if gain == color == gamma == noise == ramp == 0.0:
        return images
    b, c, height, width = images.shape

    def lognormal(*shape: int, sigma: float) -> Tensor:
        draw = torch.randn(*shape, 1, 1, generator=generator, device=images.device, dtype=images.dtype)
        return torch.exp(sigma * draw)

    exponent = lognormal(b, 1, sigma=gamma)
    scale = lognormal(b, 1, sigma=gain) * lognormal(b, c, sigma=color)
    if ramp > 0:
        slope = ramp * torch.randn(b, 2, 1, 1, generator=generator, device=images.device, dtype=images.dtype)
        x = torch.linspace(-1.0, 1.0, width, device=images.device, dtype=images.dtype)
        y = torch.linspace(-1.0, 1.0, height, device=images.device, dtype=images.dtype)
        light = 1.0 + slope[:, :1] * x + slope[:, 1:] * y[:, None]  # (B, 1, H, W)
        scale = scale * light.clamp(min=0.0)
    changed = images.clamp(min=0.0).pow(exponent) * scale
    if noise > 0:
        changed = changed + noise * torch.randn(
            changed.shape, generator=generator, device=images.device, dtype=images.dtype
        )
    return changed.clamp(0.0, 1.0)


def random_appearance(images: Tensor, change: dict[str, float]) -> Tensor:
    """:func:`random_photometric` then :func:`random_jpeg`, with amounts from ``change`` (the keys
    ``gain``, ``color``, ``gamma``, ``noise``, ``ramp`` and ``jpeg``, the lowest quality; 0 or
    missing: no change of that kind). (B, 3, H, W) in [0, 1] -> the same."""
    amounts = {key: float(change.get(key, 0.0)) for key in ("gain", "color", "gamma", "noise", "ramp")}
    return random_jpeg(random_photometric(images, **amounts), int(change.get("jpeg", 0)))


def uint8_frames(images: Tensor) -> np.ndarray:
    """(B, 3, H, W) in [0, 1] -> (B, H, W, 3) uint8 on the host (rounded; no gradient)."""
    return (images.detach().clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def random_jpeg(images: Tensor, lowest_quality: int) -> Tensor:
    """Each image through a JPEG round trip at a random quality (no gradient flows through it).

    Args:
        images: (B, 3, H, W) RGB in [0, 1].
        lowest_quality: qualities are drawn uniformly from ``[lowest_quality, 95]`` (torch's global
            generator, so a resumed run draws the same); 0 leaves the images as they are.

    Returns:
        (B, 3, H, W) in [0, 1], on the images' device and dtype.
    """
    if lowest_quality <= 0:
        return images
    if not 1 <= lowest_quality <= 95:
        raise ValueError(f"lowest_quality must be in [1, 95] or 0, got {lowest_quality}")
    qualities = torch.randint(int(lowest_quality), 96, (len(images),)).tolist()
    decoded = []
    for frame, quality in zip(uint8_frames(images), qualities, strict=True):
        bgr = np.ascontiguousarray(frame[..., ::-1])
        ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("OpenCV could not JPEG-encode a frame")
        decoded.append(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1])
    stacked = torch.from_numpy(np.stack(decoded).copy()).permute(0, 3, 1, 2)
    return stacked.to(device=images.device, dtype=images.dtype) / 255.0
