"""AED: how far the generated frames' identity drifts from the real frames'.

Per frame, the squared Euclidean distance between the identity embeddings of the real frame and of
the generated frame, each scaled to unit length first; averaged over frames (the reference protocol
names it "average Euclidean distance" and sums squared differences of unit-norm OpenFace embeddings).
For unit vectors ``|a - b|^2 = 2 - 2 cos(a, b)``, so values lie in [0, 4]; 0 means the same identity
direction. Frames whose embedding could not be computed (no face found) are skipped and counted.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from genlmk.metrics.frame_average import FrameAverage, masked_frame_mean


def identity_distances(
    real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Per-frame AED.

    Args:
        real: (B, D) identity embeddings of the real frames (any scale).
        fake: (B, D) identity embeddings of the generated frames.
        real_found: (B,) bool, frames whose real embedding exists (default: all).
        fake_found: (B,) bool, frames whose generated embedding exists (default: all).

    Returns:
        distances: (B,) float in [0, 4], squared L2 distance of the unit-normalised embeddings
            (0 for frames not scored).
        scored: (B,) bool, frames with both embeddings.
    """
    if real.ndim != 2 or real.shape != fake.shape:
        raise ValueError(
            f"real and fake embeddings must both be (B, D); got {tuple(real.shape)} and {tuple(fake.shape)}"
        )
    scored = torch.ones(real.shape[0], dtype=torch.bool, device=real.device)
    for name, found in (("real_found", real_found), ("fake_found", fake_found)):
        if found is not None:
            if found.shape != scored.shape or found.dtype != torch.bool:
                raise ValueError(
                    f"{name} must be a ({real.shape[0]},) bool tensor; got {tuple(found.shape)} {found.dtype}"
                )
            scored = scored & found
    distance = (F.normalize(real.float(), dim=-1) - F.normalize(fake.float(), dim=-1)).square().sum(dim=-1)
    return torch.where(scored, distance, torch.zeros_like(distance)), scored


def average_euclidean_distance(
    real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
) -> Tensor:
    """AED over a batch of frame pairs (see :func:`identity_distances`); NaN if no frame is scored.

    Example:
        >>> a = torch.tensor([[3.0, 0.0]])
        >>> average_euclidean_distance(a, torch.tensor([[0.0, 0.5]]))
        tensor(2.)
    """
    return masked_frame_mean(*identity_distances(real, fake, real_found, fake_found))


class AverageEuclideanDistance(FrameAverage):
    """AED accumulated over batches (and processes); ``skipped`` counts frames missing an embedding."""

    def update(
        self, real: Tensor, fake: Tensor, real_found: Tensor | None = None, fake_found: Tensor | None = None
    ) -> None:
        """Add a batch: embeddings (B, D) and optional (B,) bool ``found`` masks."""
        self._accumulate(*identity_distances(real, fake, real_found, fake_found))
