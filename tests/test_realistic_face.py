"""The photo-face subject: ground truth on the features, visibility under turns, talking, paint, sessions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from genlmk.data.realistic_face import (
    MARKED_SESSION,
    UNMARKED_SESSION,
    HeadPose,
    PhotoFace,
    PoseRange,
    load_subject_points,
)
from genlmk.errors import InputDataError

SIZE = 48
JAW = list(range(17))


@pytest.fixture(scope="module")
def face() -> PhotoFace:
    return PhotoFace(SIZE, jpeg=None)


def _render(face: PhotoFace, pose: HeadPose, marked: bool = False, photometric: bool = False, seed: int = 0):
    return face.render(pose, MARKED_SESSION, marked, np.random.default_rng(seed), photometric=photometric)


def test_frontal_truth_is_the_annotation_and_the_frame_is_the_photo(face: PhotoFace) -> None:
    from skimage import data

    frame = _render(face, HeadPose())
    k = SIZE / face.view_side
    expected = (load_subject_points() - face.view_center) * k + SIZE / 2
    assert np.abs(frame.landmarks - expected).max() < 1.5
    # the same window cut straight from the photo (corner-origin scale and shift)
    origin = face.view_center - face.view_side / 2
    matrix = np.array([[k, 0, -origin[0] * k + 0.5 * k - 0.5], [0, k, -origin[1] * k + 0.5 * k - 0.5]])
    photo = cv2.warpAffine(data.astronaut().astype(np.float32), matrix, (SIZE, SIZE), flags=cv2.INTER_AREA)
    assert np.abs(frame.image.astype(np.float32) - photo).mean() < 8.0
    assert frame.visible.all()


def test_turning_hides_far_jaw_points_only_when_turned(face: PhotoFace) -> None:
    assert _render(face, HeadPose()).visible[JAW].all()
    for yaw, far in ((25.0, range(9, 17)), (-25.0, range(0, 8))):
        visible = _render(face, HeadPose(yaw=yaw)).visible
        assert not visible[list(far)].all(), yaw
        assert visible[27:68].sum() >= 35  # the inner face stays in view


def test_opening_the_jaw_moves_the_lower_lip_down(face: PhotoFace) -> None:
    closed = _render(face, HeadPose()).landmarks
    opened = _render(face, HeadPose(mouth=1.0)).landmarks
    lower, upper = [56, 57, 58, 65, 66, 67], [50, 51, 52, 61, 62, 63]
    assert (opened[lower, 1] - closed[lower, 1]).min() > 0.3
    assert np.abs(opened[upper] - closed[upper]).max() < 0.1
    # the opening shows the dark mouth interior between the lips
    gap = np.round(0.5 * (opened[62] + opened[66])).astype(int)
    image = _render(face, HeadPose(mouth=1.0)).image.astype(float)
    assert image[gap[1], gap[0]].mean() < _render(face, HeadPose()).image[gap[1], gap[0]].mean() - 20


def _blueness(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    pixels = image[
        np.clip(points[:, 1].astype(int), 0, SIZE - 1), np.clip(points[:, 0].astype(int), 0, SIZE - 1)
    ]
    return pixels[:, 2].astype(float) - pixels[:, :2].astype(float).mean(axis=1)


def test_paint_shows_at_visible_landmarks_and_not_at_hidden_ones(face: PhotoFace) -> None:
    pose = HeadPose(yaw=-25.0)
    painted = _render(face, pose, marked=True)
    plain = _render(face, pose, marked=False)
    gain = _blueness(painted.image, painted.landmarks) - _blueness(plain.image, plain.landmarks)
    visible = painted.visible
    assert np.median(gain[visible]) > 40
    # a hidden landmark's pixel shows the surface in front of it, which near the silhouette can
    # carry the same line's paint; most show none
    unpainted = gain[~visible] < 0.5 * np.median(gain[visible])
    assert (~visible).sum() >= 3 and unpainted.mean() >= 2 / 3


def test_sessions_differ_in_colour_and_a_seed_repeats(face: PhotoFace) -> None:
    pose = HeadPose(yaw=10.0)
    rng = np.random.default_rng
    marked = face.render(pose, MARKED_SESSION, False, rng(1)).image.reshape(-1, 3).mean(axis=0)
    unmarked = face.render(pose, UNMARKED_SESSION, False, rng(1)).image.reshape(-1, 3).mean(axis=0)
    assert np.abs(marked - unmarked).max() > 10
    a = face.render(face.random_pose(rng(3), MARKED_SESSION, PoseRange()), MARKED_SESSION, True, rng(4))
    b = face.render(face.random_pose(rng(3), MARKED_SESSION, PoseRange()), MARKED_SESSION, True, rng(4))
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)


def test_synth_cli_writes_the_cartoon_layout_with_visibility(tmp_path) -> None:
    from genlmk.cli.main import main
    from genlmk.data.landmark_csv import read_landmark_csv
    from genlmk.template import Template

    args = ["synth", "--subject", "photo-face", "--out", str(tmp_path), "--size", "32", "--train", "2"]
    assert main([*args, "--test", "1", "--clip-frames", "2", "--train-video", "2"]) == 0
    for folder in ("train_marked", "train_unmarked", "test"):
        assert len(list((tmp_path / folder).glob("*.png"))) == (1 if folder == "test" else 2)
    for name in ("clip_smooth", "clip_static", "train_unmarked_video"):
        assert (tmp_path / f"{name}.mp4").is_file()
    landmarks, names, _ = read_landmark_csv(tmp_path / "test_gt.csv")
    assert landmarks.shape == (1, 68, 2) and np.isfinite(landmarks).all() and names[0] == "jaw_00"
    visible = (tmp_path / "clip_smooth_visible.csv").read_text().splitlines()
    assert visible[0] == "frame,name,visible" and len(visible) == 1 + 2 * 68
    assert Template.load(tmp_path / "template.yaml").size == (32, 32)


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    from genlmk.data.realistic_face import PhotoSynthConfig, write_photo_face_dataset

    folder = tmp_path_factory.mktemp("photo")
    config = PhotoSynthConfig(size=40, train_marked=1, train_unmarked=1, test=3, clip_frames=2, train_video=1)
    write_photo_face_dataset(folder, config)
    return folder


def test_the_synth_loader_reads_photo_face_folders(footage) -> None:
    from genlmk.data.realistic_face import PhotoSynthConfig
    from genlmk.data.synthetic import load_synthetic_dataset

    subject, config = load_synthetic_dataset(footage)
    assert isinstance(subject, PhotoFace) and isinstance(config, PhotoSynthConfig)
    assert subject.size == 40 and config.test == 3 and config.motion == PoseRange()


def test_evaluation_scores_visible_and_hidden_landmarks_apart(footage, tmp_path, capsys) -> None:
    from genlmk.data.landmark_csv import read_landmark_csv, write_landmark_csv
    from genlmk.data.realistic_face import read_visibility_csv, write_visibility_csv
    from genlmk.evaluation.landmarks import evaluate_landmark_files

    gt, names, frames = read_landmark_csv(footage / "test_gt.csv")
    # a chosen pattern of flags: landmark 0 hidden in every frame, the rest visible
    visible = np.ones(gt.shape[:2], dtype=bool)
    visible[:, 0] = False
    write_visibility_csv(tmp_path / "set_visible.csv", visible, tuple(names))
    np.testing.assert_array_equal(read_visibility_csv(tmp_path / "set_visible.csv", names, frames), visible)
    write_landmark_csv(tmp_path / "set_gt.csv", gt, names)
    moved = gt.copy()
    moved[:, 0, 0] += 2.0  # only the hidden landmark is off
    write_landmark_csv(tmp_path / "pred.csv", moved, names)
    scores = evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "set_gt.csv")
    assert scores["nme_visible_percent"] == 0.0 and scores["nme_hidden_percent"] > 0
    assert scores["visible_fraction"] == pytest.approx(67 / 68)
    from genlmk.cli.main import main

    assert (
        main(
            [
                "evaluate",
                "landmarks",
                "--pred",
                str(tmp_path / "pred.csv"),
                "--gt",
                str(tmp_path / "set_gt.csv"),
            ]
        )
        == 0
    )
    header = capsys.readouterr().out.splitlines()[0]
    assert "NME visible %" in header and "NME hidden %" in header
    (tmp_path / "set_visible.csv").write_text("frame,name,visible\n0,jaw_00,1\n")
    with pytest.raises(InputDataError, match="no flag for landmark"):
        evaluate_landmark_files(tmp_path / "pred.csv", tmp_path / "set_gt.csv")
