"""Streaming footage: batches of one frame size."""

from __future__ import annotations

import numpy as np

from genlmk.inference.streaming import batched_frames


def test_batches_keep_order_and_split_where_the_frame_size_changes() -> None:
    frames = [np.full((4, 5, 3), i, np.uint8) for i in range(5)] + [np.zeros((6, 5, 3), np.uint8)]
    batches = list(batched_frames(frames, 2))
    assert [len(batch) for batch in batches] == [2, 2, 1, 1]
    assert [int(frame[0, 0, 0]) for batch in batches[:3] for frame in batch] == [0, 1, 2, 3, 4]
