"""Streaming footage: batches of one frame size, decoding ahead in a background thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from genlmk.errors import InputDataError
from genlmk.inference.streaming import batched_frames, prefetched


def test_batches_keep_order_and_split_where_the_frame_size_changes() -> None:
    frames = [np.full((4, 5, 3), i, np.uint8) for i in range(5)] + [np.zeros((6, 5, 3), np.uint8)]
    batches = list(batched_frames(frames, 2))
    assert [len(batch) for batch in batches] == [2, 2, 1, 1]
    assert [int(frame[0, 0, 0]) for batch in batches[:3] for frame in batch] == [0, 1, 2, 3, 4]


def test_prefetched_keeps_every_frame_in_order() -> None:
    frames = [np.full((2, 3, 3), i, np.uint8) for i in range(50)]
    assert [int(frame[0, 0, 0]) for frame in prefetched(frames, max_frames=3, max_bytes=40)] == list(
        range(50)
    )


def test_prefetched_raises_the_source_error_after_the_frames_before_it() -> None:
    def corrupt_after_three():
        for i in range(3):
            yield np.full((2, 2, 3), i, np.uint8)
        raise InputDataError("clip.mp4: corrupt or truncated video after 3 frames")

    seen = []
    with pytest.raises(InputDataError, match="after 3 frames"):
        for frame in prefetched(corrupt_after_three(), max_frames=2):
            seen.append(int(frame[0, 0, 0]))
    assert seen == [0, 1, 2]


@pytest.mark.parametrize("max_frames, max_bytes", [(100, 900), (3, 10**6)])
def test_prefetched_keeps_at_most_its_frame_and_byte_budget_ready(max_frames, max_bytes) -> None:
    produced = []

    def counted():
        for i in range(100):
            produced.append(i)
            yield np.zeros((10, 10, 3), np.uint8)  # 300 bytes

    stream = prefetched(counted(), max_frames, max_bytes)
    next(stream)
    time.sleep(0.2)  # give the producer every chance to run ahead
    # three frames queued fill either budget; one more may be decoded and waiting to be queued
    assert 1 + 3 <= len(produced) <= 1 + 3 + 1
    stream.close()


def test_prefetched_closes_its_source_when_the_consumer_stops_early() -> None:
    closed = threading.Event()

    def endless():
        try:
            while True:
                yield np.zeros((4, 4, 3), np.uint8)
        finally:
            closed.set()

    stream = prefetched(endless(), max_frames=8)
    for _ in zip(range(5), stream):
        pass
    stream.close()
    assert closed.is_set()
    assert not any(thread.name == "genlmk-decode" for thread in threading.enumerate())
