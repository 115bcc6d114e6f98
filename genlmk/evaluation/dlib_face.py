"""dlib's face backends: 68 face landmarks and the 128-d face identity embedding.

They need the ``eval`` extra (``pip install 'genlmk[eval]'``: dlib-bin and face-recognition-models,
whose package carries dlib's model files). Faces are found with dlib's HOG frontal-face detector;
when a frame shows several, the highest-scoring one is used.

dlib puts pixel centres at integer coordinates; keypoints here are shifted by half a pixel into
genlmk's convention (top-left image corner at (0, 0)).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlmk.errors import ConfigError, WeightsNotFoundError
from genlmk.evaluation.interfaces import (
    Embeddings,
    IdentityEmbedder,
    KeypointDetector,
    Keypoints,
    check_frames,
)

_INSTALL_HINT = "install the eval extra: pip install 'genlmk[eval]' (dlib-bin, face-recognition-models)"


def _dlib() -> Any:
    try:
        import dlib
    except ImportError:
        raise ConfigError(f"the dlib backends need dlib: {_INSTALL_HINT}") from None
    return dlib


def dlib_model_file(name: str) -> Path:
    """Path of one of dlib's model files shipped by the ``face_recognition_models`` package.

    The package is located without importing it (its ``__init__`` needs ``pkg_resources``).

    Raises:
        ConfigError: the package is not installed.
        WeightsNotFoundError: the package lacks the file.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the dlib backends need dlib's model files: {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise WeightsNotFoundError(f"{path}: dlib model file not found (reinstall face-recognition-models)")
    return path


class _DlibFaceShapes:
    """Finds the best face of each frame and fits one of dlib's shape predictors to it."""

    def __init__(self, predictor_file: str, upsample: int) -> None:
        dlib = _dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(dlib_model_file(predictor_file)))
        self.upsample = upsample

    def shapes(self, frames: np.ndarray) -> Iterator[tuple[int, np.ndarray, Any]]:
        """Yield (index, frame, dlib shape) for every frame with a face found."""
        check_frames(frames)
        for index, frame in enumerate(frames):
            frame = np.ascontiguousarray(frame)
            boxes, scores, _ = self._detector.run(frame, self.upsample, 0.0)
            if len(boxes):
                yield index, frame, self._predictor(frame, boxes[int(np.argmax(scores))])


class DlibFaceLandmarks(KeypointDetector):
    """dlib's 68 face landmarks (iBUG 300-W order), all found or none per frame.

    Args:
        upsample: how many times the face detector doubles the frame first; 1 finds faces down to
            about 40 pixels wide (at about 4 times the cost of 0).
    """

    name = "dlib face"
    num_keypoints = 68

    def __init__(self, upsample: int = 1) -> None:
        self._faces = _DlibFaceShapes("shape_predictor_68_face_landmarks.dat", upsample)

    def detect(self, frames: np.ndarray) -> Keypoints:
        points = torch.full((len(frames), self.num_keypoints, 2), float("nan"))
        found = torch.zeros(len(frames), self.num_keypoints, dtype=torch.bool)
        for index, _, shape in self._faces.shapes(frames):
            xy = [(part.x, part.y) for part in shape.parts()]
            points[index] = torch.tensor(xy, dtype=torch.float32) + 0.5
            found[index] = True
        return Keypoints(points, found)


class DlibFaceIdentity(IdentityEmbedder):
    """dlib's 128-d face embedding (ResNet, aligned with the 5-point shape predictor).

    Args:
        upsample: as for :class:`DlibFaceLandmarks`.
    """

    name = "dlib face identity"

    def __init__(self, upsample: int = 1) -> None:
        self._faces = _DlibFaceShapes("shape_predictor_5_face_landmarks.dat", upsample)
        model = dlib_model_file("dlib_face_recognition_resnet_model_v1.dat")
        self._encoder = _dlib().face_recognition_model_v1(str(model))

    def embed(self, frames: np.ndarray) -> Embeddings:
        vectors = torch.full((len(frames), 128), float("nan"))
        found = torch.zeros(len(frames), dtype=torch.bool)
        for index, frame, shape in self._faces.shapes(frames):
            vectors[index] = torch.tensor(list(self._encoder.compute_face_descriptor(frame, shape)))
            found[index] = True
        return Embeddings(vectors, found)
