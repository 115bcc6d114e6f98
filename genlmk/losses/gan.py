"""Adversarial losses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def lsgan_loss(scores: Tensor, real: bool) -> Tensor:
    """Least-squares GAN loss: mean squared distance of the discriminator's scores to 1 (real)
    or 0 (fake).

    Args:
        scores: discriminator outputs of any shape (e.g. (B, 1, H', W') patch scores).
        real: the target label.
    """
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return F.mse_loss(scores, target)
