"""Decoy paint: the landmarker must read the part, not what the generator leaves of the paint.

The generator rarely takes real paint off completely: G(marked) keeps faint outlines of the
strokes, and the landmarker, supervised on G(marked) alone, learns to find its lines by them.
Real unmarked frames have none, so it misses there. Here strokes are painted onto an unmarked
frame where the part is *not* (its own landmarks moved by a random similarity), taken off by G,
and the landmarker must still answer what it answers on the clean frame: the leftovers then
point the wrong way, and reading them costs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def decoy_placement(
    landmarks: Tensor,
    shift: float,
    scale: float,
    rotate: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Landmarks moved by a random similarity about their centroid.

    Args:
        landmarks: (B, N, 2) pixels.
        shift: standard deviation of the translation per axis, pixels.
        scale: standard deviation of the log zoom.
        rotate: standard deviation of the rotation, degrees.
        generator: random source (None: torch's global one).

    Returns:
        (B, N, 2) pixels.
    """
    batch = landmarks.shape[0]
    options = {"device": landmarks.device, "dtype": landmarks.dtype, "generator": generator}
    zoom = torch.exp(scale * torch.randn(batch, **options))
    angle = math.radians(rotate) * torch.randn(batch, **options)
    cos, sin = zoom * torch.cos(angle), zoom * torch.sin(angle)
    # row vectors times the transpose of [[cos, -sin], [sin, cos]]
    matrix = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    centre = landmarks.mean(dim=1, keepdim=True)
    offset = shift * torch.randn(batch, 1, 2, **options)
    return (landmarks - centre) @ matrix + centre + offset


def decoy_invariance_loss(on_decoy: Tensor, clean: Tensor, threshold: float = 1.0) -> Tensor:
    """Smooth-L1 (``threshold`` pixels) between the landmarks found on frames with decoy paint
    taken off, (B, N, 2), and those of the clean frames (B, N, 2), detached: only the answer on
    the decoy frames is pulled."""
    return F.smooth_l1_loss(on_decoy, clean.detach(), beta=threshold)
