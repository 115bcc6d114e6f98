"""A training order that a resumed run can continue exactly, mid-epoch included.

Lightning restores its loops from a checkpoint but not the position of a plain DataLoader: a
run resumed mid-epoch would start the epoch's data again in a new random order. Here:

- :class:`ResumableSampler` orders the items by ``(seed, epoch)`` alone (a
  :class:`~torch.utils.data.DistributedSampler`, so each rank takes its share and Lightning
  leaves it in place under DDP) and can start a given number of batches into an epoch;
- it yields *item keys* ``(epoch, index)``; datasets take their randomness (augmentation,
  frame choice) from :func:`item_rng`, so an item is the same whichever worker, rank or run
  makes it;
- :class:`TrainDataPosition` is what a data module keeps: it builds the loader and puts the
  position (epoch, batches consumed) into checkpoints through the data module's
  ``state_dict`` / ``load_state_dict``, which Lightning always saves and restores.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

ItemKey = int | tuple[int, int]


def split_key(key: ItemKey) -> tuple[int, int]:
    """``(epoch, index)`` from an item key (a plain index counts as epoch 0)."""
    if isinstance(key, tuple):
        return int(key[0]), int(key[1])
    return 0, int(key)


def item_rng(seed: int, key: ItemKey) -> np.random.Generator:
    """The random stream of one training item: a function of ``(seed, epoch, index)`` only."""
    epoch, index = split_key(key)
    return np.random.default_rng((seed, epoch, index))


class ResumableSampler(DistributedSampler):
    """Shuffled item keys ``(epoch, index)``, the order set by ``(seed, epoch)``, split over ranks.

    Args:
        dataset: a map-style dataset.
        batch_size: the loader's batch size (to skip whole batches on resume).
        num_replicas, rank: the data-parallel world (1, 0 for one process).
        seed: seeds the order; shuffle: ``False`` keeps the dataset order.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        num_replicas: int = 1,
        rank: int = 0,
        seed: int = 0,
        shuffle: bool = True,
    ) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.batch_size = batch_size
        self._skip_batches = 0

    def start_at(self, epoch: int, batches: int) -> None:
        """The next iteration yields epoch ``epoch`` from batch ``batches`` on."""
        self.epoch = epoch
        self._skip_batches = batches

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self._skip_batches = 0
        super().set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        skip, self._skip_batches = self._skip_batches * self.batch_size, 0
        epoch = self.epoch
        for index in itertools.islice(super().__iter__(), skip, None):
            yield epoch, int(index)


class TrainDataPosition:
    """The training loader of a data module and its position for checkpoints.

    A data module creates one in ``__init__``, returns :meth:`loader` from ``train_dataloader``
    and forwards its ``state_dict`` / ``load_state_dict`` here.
    """

    def __init__(self) -> None:
        self.sampler: ResumableSampler | None = None
        self._resume: tuple[int, int] | None = None

    def loader(
        self,
        dataset: Dataset,
        trainer: Any,
        batch_size: int,
        seed: int,
        num_workers: int = 0,
        drop_last: bool = True,
    ) -> DataLoader:
        """A shuffled training loader that starts where a checkpoint left off.

        Args:
            trainer: the Lightning trainer (world size and rank), or None for one process.
            drop_last: drop an epoch's last, incomplete batch.
        """
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        self.sampler = ResumableSampler(dataset, batch_size, world, rank, seed)
        if self._resume is not None:
            self.sampler.start_at(*self._resume)
            self._resume = None
        # Lightning warns that a plain DataLoader cannot resume mid-epoch; this one does
        warnings.filterwarnings("ignore", message=r".*resuming from a checkpoint that ended before the epoch")
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            drop_last=drop_last,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            # workers' base seed from here, not from (and not advancing) the global generator
            generator=torch.Generator().manual_seed(seed),
        )

    def state_dict(self, trainer: Any) -> dict[str, int]:
        """``{"epoch", "batches"}``: where the next training batch comes from."""
        if self.sampler is None or trainer is None:
            return {}
        epoch = self.sampler.epoch
        done = int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)
        if done >= trainer.num_training_batches:
            epoch, done = epoch + 1, 0
        return {"epoch": epoch, "batches": done}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state:
            self._resume = (int(state["epoch"]), int(state["batches"]))
