"""L1: the mean absolute pixel difference between real and generated frames.

As in the First Order Motion Model's reconstruction evaluation: per frame the mean of
``|generated - real|`` over pixels and channels, images in [0, 1]; averaged over frames.
"""

from __future__ import annotations

from torch import Tensor

from genlmk.metrics.frame_average import FrameAverage


def check_image_pair(real: Tensor, fake: Tensor) -> None:
    """Raise ValueError unless ``real`` and ``fake`` are equal-shaped (B, C, H, W) image batches."""
    if real.ndim != 4 or real.shape != fake.shape:
        raise ValueError(
            f"real and fake images must both be (B, C, H, W); got {tuple(real.shape)} and {tuple(fake.shape)}"
        )


def l1_distances(real: Tensor, fake: Tensor) -> Tensor:
    """Per-frame L1.

    Args:
        real: (B, 3, H, W) real frames, RGB in [0, 1].
        fake: (B, 3, H, W) generated frames, RGB in [0, 1].

    Returns:
        (B,) mean absolute difference per frame, in [0, 1].
    """
    check_image_pair(real, fake)
    return (real.float() - fake.float()).abs().flatten(1).mean(dim=1)


def l1_distance(real: Tensor, fake: Tensor) -> Tensor:
    """L1 over a batch of frame pairs: the mean of :func:`l1_distances`.

    Example:
        >>> import torch
        >>> l1_distance(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.25))
        tensor(0.2500)
    """
    return l1_distances(real, fake).mean()


class L1Distance(FrameAverage):
    """L1 accumulated over batches (and processes)."""

    def update(self, real: Tensor, fake: Tensor) -> None:
        """Add a batch of (B, 3, H, W) real and generated frames in [0, 1]."""
        distances = l1_distances(real, fake)
        self._accumulate(distances, distances.isfinite())
