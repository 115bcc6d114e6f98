"""Stop training on a non-finite loss or gradient, before it reaches the weights or a checkpoint.

- :func:`check_finite_losses`: a system calls it on its loss terms before ``manual_backward``; it
  raises :class:`~genlmk.errors.NonFiniteLossError` naming the step and the offending terms
  (under DDP every rank stops together, so none waits forever in a gradient all-reduce);
- :class:`NonFiniteGuard`: a callback that checks the gradients before every optimizer step
  (whatever loss produced them) and, once training stopped on a non-finite value, refuses every
  later checkpoint write (Lightning's exception-time saves included): the last checkpoint written
  before the failure stays the one to resume from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor
from torch.optim import Optimizer

from genlmk.errors import NonFiniteLossError
from genlmk.training.checkpoint_io import AtomicCheckpointIO


def _format(values: Mapping[str, float]) -> str:
    return ", ".join(f"{name}={value:.4g}" for name, value in values.items())


def check_finite_losses(module: LightningModule, losses: Mapping[str, Tensor]) -> None:
    """Raise if any loss term is NaN or infinite (on any rank).

    Args:
        module: the training system (its trainer's strategy makes the ranks agree).
        losses: scalar loss terms by name.

    Raises:
        NonFiniteLossError: ``non-finite loss at global step S: term=nan (other terms: ...)``.
    """
    if not losses:
        return
    values = torch.stack([value.detach().float().reshape(()) for value in losses.values()])
    finite = bool(torch.isfinite(values).all())
    if module.trainer.strategy.reduce_boolean_decision(finite, all=True):
        return
    step = module.global_step
    if finite:
        raise NonFiniteLossError(f"non-finite loss on another process at global step {step}")
    numbers = dict(zip(losses, values.tolist()))
    bad = {name: v for name, v in numbers.items() if not math.isfinite(v)}
    good = {name: v for name, v in numbers.items() if name not in bad}
    others = f" (other terms: {_format(good)})" if good else ""
    raise NonFiniteLossError(f"non-finite loss at global step {step}: {_format(bad)}{others}")


class NonFiniteGuard(Callback):
    """Checks gradients before each optimizer step; blocks checkpoints after a non-finite stop.

    With a mixed-precision loss scaler (``precision: 16-mixed``) infinite gradients are expected
    now and then (the scaler skips those steps), so gradients are not checked there.
    """

    def on_before_optimizer_step(
        self, trainer: Trainer, pl_module: LightningModule, optimizer: Optimizer
    ) -> None:
        if getattr(trainer.precision_plugin, "scaler", None) is not None:
            return
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not params or torch.isfinite(torch.nn.utils.get_total_norm([p.grad for p in params])):
            return
        names = {id(p): name for name, p in pl_module.named_parameters()}
        bad = [names.get(id(p), "?") for p in params if not bool(torch.isfinite(p.grad).all())]
        if not bad:  # finite gradients whose norm overflows: not a failure
            return
        more = f" (and {len(bad) - 1} more parameters)" if len(bad) > 1 else ""
        raise NonFiniteLossError(
            f"non-finite gradient at global step {pl_module.global_step} in {bad[0]}{more}"
        )

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if not isinstance(exception, NonFiniteLossError):
            return
        # runs before the checkpoint callbacks' own on_exception (Lightning orders those last)
        for callback in trainer.checkpoint_callbacks:
            if hasattr(callback, "save_on_exception"):
                callback.save_on_exception = False
        checkpoint_io = trainer.strategy.checkpoint_io
        if isinstance(checkpoint_io, AtomicCheckpointIO):
            checkpoint_io.refuse_writes("training stopped on a non-finite value")
