"""Test-only Lightning callback that hangs training at a known step (for ``kill -9`` tests).

Its own module, importable by a ``genlmk fit`` subprocess without the test configuration
(``conftest`` sets the thread count, which changes float rounding and would make the killed run
differ from an uninterrupted one).
"""

from __future__ import annotations

import time
from pathlib import Path

from lightning.pytorch import Callback


class HangAfterStep(Callback):
    """Before the batch that follows global step ``step`` (so that step's losses are logged and its
    checkpoint, if any, written), touch ``signal`` and hang."""

    def __init__(self, step: int, signal: str) -> None:
        self.step, self.signal = step, signal

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.step:
            Path(self.signal).touch()
            time.sleep(3600)
