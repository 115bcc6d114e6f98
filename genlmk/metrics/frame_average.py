"""The shape every per-frame motion-transfer metric shares: a score per frame pair, averaged over frames.

AKD, MKR, AED, L1 and LPIPS all score each (real, generated) frame pair, skip pairs that cannot be
scored (no face found, ...), and average over all scored frames of all videos (the reference protocol
averages over frames, not over videos). :class:`FrameAverage` keeps that as three sums, so
distributed workers, or the videos of one run, merge by adding.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torchmetrics import Metric


def masked_frame_mean(values: Tensor, scored: Tensor) -> Tensor:
    """Mean of the scored frames' values (NaN when none is scored).

    Args:
        values: (B,) per-frame scores.
        scored: (B,) bool, which frames count.

    Returns:
        Scalar tensor.
    """
    return values[scored].mean() if bool(scored.any()) else values.new_tensor(float("nan"))


class FrameAverage(Metric):
    """Base class: mean over frames of a per-frame score, counting the frames that were skipped.

    Subclasses compute ``(values (B,), scored (B,) bool)`` in ``update`` with a pure function and
    pass them to :meth:`_accumulate`.

    States (all summed across processes):
        total: sum of the scored frames' values (float64).
        scored: number of frames scored.
        skipped: number of frames that could not be scored.
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    total: Tensor
    scored: Tensor
    skipped: Tensor

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("scored", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("skipped", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _accumulate(self, values: Tensor, scored: Tensor) -> None:
        values, scored = values.to(self.total.device), scored.to(self.total.device)
        self.total += values[scored].double().sum()
        self.scored += scored.sum()
        self.skipped += (~scored).sum()

    def merge_state(self, incoming_state: dict[str, Any] | Metric) -> None:
        """Add another instance's (or a state dict's) sums to this one's, e.g. a video's into a total."""
        super().merge_state(incoming_state)
        if isinstance(incoming_state, Metric):  # count its updates too, so compute() knows it has data
            self._update_count += incoming_state.update_count

    def compute(self) -> Tensor:
        """The mean over scored frames (NaN when no frame was scored)."""
        return self.total / self.scored
