"""What every evaluation backend provides: keypoints, or identity embeddings, of uint8 frames.

A *keypoint detector* turns frames into keypoints plus a mask of which were found; an *identity
embedder* turns frames into one vector per frame plus a mask of frames it could embed. Backends
(dlib, MediaPipe, genlmk's own landmarker, user networks) implement one of the two; the metrics in
:mod:`genlmk.metrics` consume the results.

Frames are (B, H, W, 3) uint8 RGB numpy arrays, as read from files. Keypoints are (x, y) pixels of
those frames, x right, y down, the top-left image corner at (0, 0) (pixel (row i, col j) has centre
(j + 0.5, i + 0.5)).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np
from torch import Tensor


class Keypoints(NamedTuple):
    """Keypoints detected in a batch of frames.

    Attributes:
        points: (B, K, 2) float32 (x, y) pixels; NaN where not found.
        found: (B, K) bool, which keypoints were found.
    """

    points: Tensor
    found: Tensor


class Embeddings(NamedTuple):
    """Identity embeddings of a batch of frames.

    Attributes:
        vectors: (B, D) float32 embeddings (any scale; AED normalises them); NaN where not found.
        found: (B,) bool, frames that could be embedded (e.g. a face was found).
    """

    vectors: Tensor
    found: Tensor


def check_frames(frames: np.ndarray) -> None:
    """Raise ValueError unless ``frames`` is a (B, H, W, 3) uint8 array."""
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = getattr(frames, "shape", None)
        raise ValueError(f"frames must be a (B, H, W, 3) uint8 array; got shape {shape}")
    if frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB; got {frames.dtype}")


class KeypointDetector(ABC):
    """Finds a fixed set of K keypoints in frames.

    Attributes:
        name: what it finds, for messages (``"dlib face"``).
        num_keypoints: K.
    """

    name: str
    num_keypoints: int

    @abstractmethod
    def detect(self, frames: np.ndarray) -> Keypoints:
        """Keypoints of each frame.

        Args:
            frames: (B, H, W, 3) uint8 RGB.

        Returns:
            :class:`Keypoints` with points (B, K, 2) pixels and found (B, K).
        """


class IdentityEmbedder(ABC):
    """Maps frames to identity embeddings (faces: who it is; bodies: re-identification features).

    Attributes:
        name: what it embeds, for messages.
    """

    name: str

    @abstractmethod
    def embed(self, frames: np.ndarray) -> Embeddings:
        """Embedding of each frame.

        Args:
            frames: (B, H, W, 3) uint8 RGB.

        Returns:
            :class:`Embeddings` with vectors (B, D) and found (B,).
        """
