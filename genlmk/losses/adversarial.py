"""Least-squares GAN losses (Mao et al. 2017) and discriminator feature matching, over several scales.

Each function takes one entry per discriminator scale; scores are the raw (B, 1, h, w) patch maps.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


def lsgan_generator_loss(fake_scores: Sequence[Tensor]) -> Tensor:
    """``sum_scales mean((1 - D(fake))^2)``: the generator wants its outputs scored 1 (real)."""
    return sum((1.0 - score).pow(2).mean() for score in fake_scores)


def lsgan_discriminator_loss(real_scores: Sequence[Tensor], fake_scores: Sequence[Tensor]) -> Tensor:
    """``sum_scales mean((1 - D(real))^2 + D(fake)^2)``: real scored 1, generated scored 0."""
    return sum(((1.0 - real).pow(2) + fake.pow(2)).mean() for real, fake in zip(real_scores, fake_scores))


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
