"""Streaming footage through a model in batches, with constant memory whatever the length."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def batched_frames(frames: Iterable[np.ndarray], batch_size: int) -> Iterator[list[np.ndarray]]:
    """Group (H, W, 3) frames into lists of up to ``batch_size`` frames of one size, in order.

    The frames are not stacked: for large frames the copy would cost more than the network
    (:meth:`genlmk.inference.landmarker.Landmarker.predict` takes such lists). A change of frame
    size starts a new batch, so folders of mixed sizes stream too.
    """
    batch: list[np.ndarray] = []
    for frame in frames:
        if batch and (len(batch) == batch_size or frame.shape != batch[0].shape):
            yield batch
            batch = []
        batch.append(frame)
    if batch:
        yield batch
