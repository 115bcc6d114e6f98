"""genlmk's own trained landmarker as a keypoint detector: any body part with a template.

The landmarker (``genlmk.inference.landmarker.Landmarker``, built from a ``landmarks`` checkpoint)
predicts every template landmark in every frame; a landmark counts as found when its prediction is
finite, so MKR is 0 unless the network produces NaN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlmk.evaluation.interfaces import KeypointDetector, Keypoints, check_frames


class LandmarkerKeypoints(KeypointDetector):
    """Wraps a landmarker: an object with ``.template`` and ``.predict(frames (B,H,W,3) uint8) -> (B,N,2)``.

    Args:
        landmarker: the landmarker; its ``predict`` returns (x, y) pixels of the frames given, as a
            tensor or an array.
    """

    def __init__(self, landmarker: Any) -> None:
        self._landmarker = landmarker
        template = landmarker.template
        self.num_keypoints = template.num_landmarks
        self.name = f"genlmk {template.name} landmarker"

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> LandmarkerKeypoints:
        """Load a landmarker from a ``landmarks`` checkpoint written by ``genlmk fit``.

        Raises:
            CheckpointError: the file is not a usable ``landmarks`` checkpoint.
        """
        from genlmk.inference.landmarker import Landmarker

        return cls(Landmarker.from_checkpoint(path))

    def detect(self, frames: np.ndarray) -> Keypoints:
        check_frames(frames)
        points = torch.as_tensor(self._landmarker.predict(frames)).detach().to("cpu", torch.float32)
        expected = (len(frames), self.num_keypoints, 2)
        if tuple(points.shape) != expected:
            raise ValueError(
                f"{self.name} returned keypoints of shape {tuple(points.shape)}, expected {expected}"
            )
        return Keypoints(points, points.isfinite().all(dim=-1))
