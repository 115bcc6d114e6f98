"""Least-squares GAN losses (Mao et al. 2017) and discriminator feature matching.

Scores are raw discriminator outputs, e.g. (B, 1, h, w) patch maps; the multi-scale functions take
one entry per discriminator scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def lsgan_loss(scores: Tensor, real: bool) -> Tensor:
    """``mean((scores - target)^2)`` with target 1 for real, 0 for fake."""
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return F.mse_loss(scores, target)


def lsgan_generator_loss(fake_scores: Sequence[Tensor]) -> Tensor:
    """``sum_scales mean((1 - D(fake))^2)``: the generator wants its outputs scored 1 (real)."""
    return sum(lsgan_loss(score, True) for score in fake_scores)


def lsgan_discriminator_loss(real_scores: Sequence[Tensor], fake_scores: Sequence[Tensor]) -> Tensor:
    """``sum_scales mean((1 - D(real))^2) + mean(D(fake)^2)``: real scored 1, generated scored 0."""
    return sum(
        lsgan_loss(real, True) + lsgan_loss(fake, False) for real, fake in zip(real_scores, fake_scores)
    )


def feature_matching_loss(
    real_features: Sequence[Sequence[Tensor]],
    fake_features: Sequence[Sequence[Tensor]],
    weights: Sequence[float],
) -> Tensor:
    """``sum_scales sum_i weights[i] * mean|F_i(real) - F_i(fake)|`` over the discriminator's block outputs.

    Args:
        real_features, fake_features: per scale, the list of block outputs (same shapes pairwise).
        weights: one weight per block; zeros skip the block.

    Raises:
        ValueError: a scale has a different number of blocks than there are weights.
    """
    total = 0.0
    for real, fake in zip(real_features, fake_features):
        if len(real) != len(weights):
            raise ValueError(f"{len(real)} discriminator blocks but {len(weights)} feature matching weights")
        total = total + sum(w * (r - f).abs().mean() for w, r, f in zip(weights, real, fake) if w)
    return total
