"""Compositing: ink density -> paint coverage -> painted images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def coverage_from_ink(ink: Tensor, gain: float) -> Tensor:
    """Paint coverage ``1 - exp(-gain * ink)`` in [0, 1): a soft union of overlapping strokes.

    Args:
        ink: (B, 1, H, W) ink density, >= 0.
        gain: ink-to-coverage gain (> 0).
    """
    return -torch.expm1(-gain * ink)


def paint(images: Tensor, coverage: Tensor, color: Tensor) -> Tensor:
    """Lay paint of ``color`` over ``images`` where ``coverage`` says.

    Args:
        images: (B, 3, H, W) RGB in [0, 1].
        coverage: (B, 1, H, W) in [0, 1].
        color: (3,) RGB in [0, 1].

    Returns:
        (B, 3, H, W) ``images * (1 - coverage) + color * coverage``.
    """
    return images + coverage * (color.view(1, 3, 1, 1) - images)


class MarkerCompositor(nn.Module):
    """Turns ink into coverage and paints it in the marker colour."""

    def __init__(self, color: Sequence[float], gain: float) -> None:
        super().__init__()
        self.gain = float(gain)
        self.register_buffer("color", torch.tensor(list(color), dtype=torch.float32), persistent=False)

    def forward(self, images: Tensor, ink: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(painted (B, 3, H, W), coverage (B, 1, H, W))``."""
        coverage = coverage_from_ink(ink, self.gain)
        return paint(images, coverage, self.color.to(images.dtype)), coverage
