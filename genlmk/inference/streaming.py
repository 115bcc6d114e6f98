"""Streaming footage through a model in batches, with constant memory whatever the length."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

#: The most bytes of decoded frames :func:`prefetched` keeps ready (about 40 frames of 1080p RGB).
PREFETCH_BYTES = 256 * 2**20


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


class _Prefetcher:
    """The producer side of :func:`prefetched`: a thread that fills a deque up to a byte budget."""

    def __init__(self, frames: Iterable[np.ndarray], max_frames: int, max_bytes: int) -> None:
        self.source = iter(frames)
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.ready: deque[np.ndarray] = deque()
        self.queued_bytes = 0
        self.done = False
        self.error: BaseException | None = None
        self.stopping = False
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self.produce, name="genlmk-decode", daemon=True)
        self.thread.start()

    def produce(self) -> None:
        try:
            for frame in self.source:
                with self.changed:
                    while self.full() and not self.stopping:
                        self.changed.wait()
                    if self.stopping:
                        break
                    self.ready.append(frame)
                    self.queued_bytes += frame.nbytes
                    self.changed.notify_all()
        except BaseException as exc:  # handed to the consumer, raised there in order
            self.error = exc
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()  # a generator's cleanup (a decoder's file) runs in the thread that ran it
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def full(self) -> bool:
        # one frame always gets through, however large
        return bool(self.ready) and (
            len(self.ready) >= self.max_frames or self.queued_bytes >= self.max_bytes
        )

    def take(self) -> np.ndarray | None:
        """The next frame, None at the end; raises what the source raised, after its frames."""
        with self.changed:
            while not self.ready and not self.done:
                self.changed.wait()
            if self.ready:
                frame = self.ready.popleft()
                self.queued_bytes -= frame.nbytes
                self.changed.notify_all()
                return frame
        if self.error is not None:
            raise self.error
        return None

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        self.thread.join()


def prefetched(
    frames: Iterable[np.ndarray], max_frames: int, max_bytes: int = PREFETCH_BYTES
) -> Iterator[np.ndarray]:
    """The same (H, W, 3) frames, in order, produced by a background thread that keeps up to
    ``max_frames`` of them, and no more than ``max_bytes``, ready (memory stays bounded
    whatever the length; a consumer of batches of ``max_frames`` holds at most twice a batch).

    Decoding a video then overlaps whatever the consumer does with each frame (the network, the
    tracker, the writers): PyAV decodes without holding the GIL, and torch computes without it.
    An exception of the source (a video corrupt mid-way) is raised after the frames decoded before
    it; when the consumer stops early, the source is closed in the background thread.
    """
    producer = _Prefetcher(frames, max_frames, max_bytes)
    try:
        while (frame := producer.take()) is not None:
            yield frame
    finally:
        producer.stop()
