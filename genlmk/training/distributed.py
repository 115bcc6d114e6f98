"""Per-rank seeds, and per-rank state gathered into checkpoints (which only rank 0 writes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from lightning.pytorch.utilities.rank_zero import rank_zero_warn


def rank_seed(seed: int, rank: int) -> int:
    """``seed`` itself on rank 0 (a one-process run is unchanged); on rank ``r > 0`` a different
    seed in ``[0, 2**32)`` derived from ``(seed, r)``, so ranks draw independent random numbers."""
    if rank == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed) % 2**63, int(rank)]).generate_state(1)[0])


def _world(trainer: Any) -> int:
    if trainer is None or not torch.distributed.is_available() or not torch.distributed.is_initialized():
        return 1
    return int(trainer.world_size)


def gather_from_ranks(trainer: Any, state: Any) -> list[Any]:
    """Every rank's ``state`` in rank order (``[state]`` in one process).

    A collective: under DDP every rank must call it (checkpoint hooks run on every rank).
    ``state`` is pickled, so keep its tensors on the CPU.
    """
    world = _world(trainer)
    if world == 1:
        return [state]
    states: list[Any] = [None] * world
    torch.distributed.all_gather_object(states, state)
    return states


def own_rank_state(trainer: Any, states: list[Any], what: str) -> Any | None:
    """This rank's entry of a list from :func:`gather_from_ranks`; None (with a warning) when the
    checkpoint was written by a run with another number of processes."""
    world = _world(trainer)
    if len(states) != world:
        rank_zero_warn(
            f"the checkpoint holds the {what} of {len(states)} process(es), this run has {world}:"
            f" starting the {what} afresh"
        )
        return None
    return states[int(trainer.global_rank) if world > 1 else 0]
