"""Streaming footage through a model in batches, with constant memory whatever the length."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def batched_frames(frames: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Group frames into (B, H, W, 3) batches of up to ``batch_size``, in order.

    A change of frame size starts a new batch, so folders of mixed sizes stream too.
    """
    batch: list[np.ndarray] = []
    for frame in frames:
        if batch and (len(batch) == batch_size or frame.shape != batch[0].shape):
            yield np.stack(batch)
            batch = []
        batch.append(frame)
    if batch:
        yield np.stack(batch)
