"""MediaPipe's face mesh (468 points) and hand (21 points) landmarks, where mediapipe is installed.

Optional: ``mediapipe==0.10.21`` is the last release that bundles its models (later ones ship
none). It pins numpy<2; with numpy 2 install it with ``--no-deps`` plus ``protobuf<5 absl-py attrs
flatbuffers opencv-python-headless matplotlib``. Each frame is processed on its own
(``static_image_mode``), one face or hand per frame, all points found or none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genlmk.errors import ConfigError
from genlmk.evaluation.interfaces import KeypointDetector, Keypoints, check_frames

# part -> (solution module, solution class, result attribute, number of points, options)
_PARTS: dict[str, tuple[str, str, str, int, dict[str, Any]]] = {
    "face": ("face_mesh", "FaceMesh", "multi_face_landmarks", 468, {"max_num_faces": 1}),
    "hand": ("hands", "Hands", "multi_hand_landmarks", 21, {"max_num_hands": 1}),
}


class MediaPipeLandmarks(KeypointDetector):
    """MediaPipe face mesh or hand landmarks.

    Args:
        part: ``"face"`` (468 points) or ``"hand"`` (21 points).

    Raises:
        ConfigError: mediapipe (with its legacy ``solutions``) is not installed, or unknown ``part``.
    """

    def __init__(self, part: str = "face") -> None:
        if part not in _PARTS:
            raise ConfigError(f"MediaPipe part must be one of {sorted(_PARTS)}, got {part!r}")
        try:
            from mediapipe import solutions
        except ImportError:
            raise ConfigError(
                "the mediapipe backends need mediapipe==0.10.21 (the last release with its models): "
                "pip install --no-deps mediapipe==0.10.21 'protobuf<5' absl-py attrs flatbuffers"
            ) from None
        module, cls, self._result_field, self.num_keypoints, options = _PARTS[part]
        self.name = f"mediapipe {part}"
        self._solution = getattr(getattr(solutions, module), cls)(static_image_mode=True, **options)

    def detect(self, frames: np.ndarray) -> Keypoints:
        check_frames(frames)
        points = torch.full((len(frames), self.num_keypoints, 2), float("nan"))
        found = torch.zeros(len(frames), self.num_keypoints, dtype=torch.bool)
        height, width = frames.shape[1:3]
        for index, frame in enumerate(frames):
            detections = getattr(self._solution.process(np.ascontiguousarray(frame)), self._result_field)
            if detections:
                xy = [(mark.x * width, mark.y * height) for mark in detections[0].landmark]
                points[index] = torch.tensor(xy[: self.num_keypoints], dtype=torch.float32)
                found[index] = True
        return Keypoints(points, found)
