"""The global random streams (torch, CUDA, NumPy, Python) as part of a training run's state.

Lightning seeds the run once (``seed_everything``) but does not checkpoint the generators, so a
resumed run would draw other random numbers than the run it continues (the motion system's
random warps, the landmark system's paint-point sampling). :class:`RandomStateCallback`:

- stores every rank's generator states in each checkpoint (``genlmk_random_state``) and puts
  them back when a run resumes;
- gives each DDP rank its own stream (rank 0 keeps the seed, see
  :func:`~genlmk.training.distributed.rank_seed`), so ranks do not repeat each other's draws;
- keeps validation out of the training stream (its draws are undone), so a checkpoint saved
  before a validation and one saved after it continue identically.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from genlmk.training.distributed import gather_from_ranks, own_rank_state, rank_seed

RANDOM_STATE_KEY = "genlmk_random_state"


def capture_random_state() -> dict[str, Any]:
    """The state of the global generators, in types that ``torch.load(weights_only=True)`` reads."""
    _, keys, position, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_random_state(state: dict[str, Any]) -> None:
    """Set the global generators to a state from :func:`capture_random_state`."""
    torch.set_rng_state(state["torch"])
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, numpy["position"], numpy["has_gauss"], numpy["gauss"]))
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def seed_all(seed: int) -> None:
    """Seed torch (CPU and CUDA), NumPy's and Python's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class RandomStateCallback(Callback):
    """Checkpoints the global random streams per rank; see the module docstring."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] | None = None
        self._before_validation: dict[str, Any] | None = None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        seed = os.environ.get("PL_GLOBAL_SEED")
        if stage == "fit" and seed is not None and trainer.global_rank > 0:
            seed_all(rank_seed(int(seed), trainer.global_rank))

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[RANDOM_STATE_KEY] = gather_from_ranks(trainer, capture_random_state())

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        states = checkpoint.get(RANDOM_STATE_KEY)
        self._loaded = own_rank_state(trainer, states, "random state") if states else None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # after the sanity check and data set-up: the next draw is the first training draw
        if self._loaded is not None:
            restore_random_state(self._loaded)
            self._loaded = None

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.sanity_checking:  # Lightning isolates the sanity check itself
            self._before_validation = capture_random_state()

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # runs before ModelCheckpoint's save (Lightning orders checkpoint callbacks last)
        if self._before_validation is not None:
            restore_random_state(self._before_validation)
            self._before_validation = None
