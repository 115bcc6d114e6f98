"""The prior on predicted landmark visibility: visible unless the other terms need it hidden."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def visibility_prior(logits: Tensor) -> Tensor:
    """``mean(-log v)`` over landmarks and frames, ``v = sigmoid(logits)`` the visibility.

    Written as ``softplus(-logits)``, exact and finite for any logit. In the logit the gradient is
    ``-(1 - v)``: it vanishes for visible landmarks (no pull on what is right) and tends to a
    constant 1 as a landmark hides, so "all hidden" is never a resting point, and a landmark stays
    hidden only while the adversarial, cycle or chamfer terms keep pushing it there. A squared
    prior ``(1 - v)^2`` would not do: its logit gradient ``-2 v (1 - v)^2`` fades as ``v -> 0``,
    and a landmark once hidden would stay hidden.

    Args:
        logits: (B, N) visibility logits.

    Returns:
        Scalar >= 0.
    """
    return F.softplus(-logits).mean()
