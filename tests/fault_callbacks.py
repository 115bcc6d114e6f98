"""Test-only Lightning callbacks that a ``genlmk fit`` run loads by class path.

Their own module, importable by a ``genlmk fit`` subprocess without the test configuration
(``conftest`` sets the thread count, which changes float rounding and would make a killed run
differ from an uninterrupted one).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import torch
from lightning.pytorch import Callback


class HangAfterStep(Callback):
    """Before the batch that follows global step ``step`` (so that step's losses are logged and its
    checkpoint, if any, written), touch ``signal`` and hang: a test can ``kill -9`` it there."""

    def __init__(self, step: int, signal: str) -> None:
        self.step, self.signal = step, signal

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            Path(self.signal).touch()
            time.sleep(3600)


class NaNWeightAtStep(Callback):
    """At global step ``step``, set one weight of the module ``module`` to NaN (a diverged model):
    its losses turn NaN in that step's forward pass."""

    def __init__(self, step: int, module: str) -> None:
        self.step, self.module = step, module

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            with torch.no_grad():
                next(pl_module.get_submodule(self.module).parameters()).view(-1)[0] = float("nan")


class NaNGradientAtStep(Callback):
    """At global step ``step``, after each backward pass, set one gradient entry of the named
    parameter to NaN (the losses stay finite)."""

    def __init__(self, step: int, parameter: str) -> None:
        self.step, self.parameter = step, parameter

    def on_after_backward(self, trainer, pl_module) -> None:
        grad = pl_module.get_parameter(self.parameter).grad
        if trainer.global_step == self.step and grad is not None:
            grad.view(-1)[0] = float("nan")


class WeightsDigest(Callback):
    """At the end of training, write this rank's weights digest to ``folder/rank<r>.txt``."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def on_train_end(self, trainer, pl_module) -> None:
        digest = hashlib.sha256()
        for name, tensor in sorted(pl_module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        path = Path(self.folder) / f"rank{trainer.global_rank}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{digest.hexdigest()} {trainer.global_step}\n")
