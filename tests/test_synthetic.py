from __future__ import annotations

import numpy as np
import pytest
import torch

from genlmk.cli.main import main
from genlmk.data.footage import find_footage
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.synthetic import (
    MotionRange,
    SynthConfig,
    SyntheticSubject,
    load_synthetic_dataset,
    write_synthetic_dataset,
)
from genlmk.errors import ConfigError, InputDataError
from genlmk.losses import paint_weights
from genlmk.rendering import MarkerRenderer


def _paint_fraction_on_lines(subject, image, landmarks):
    """Mean paint weight on the ground-truth strokes' core, and away from every stroke."""
    renderer = MarkerRenderer(subject.template)
    coverage = renderer.coverage(torch.as_tensor(landmarks, dtype=torch.float32)[None])[0, 0]
    core, away = coverage > 0.9, coverage < 0.01
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    weights = paint_weights(tensor, torch.tensor(subject.template.marker.color_unit), tolerance=0.06)[0]
    return float(weights[core].mean()), float(weights[away].mean())


def test_marked_frames_carry_paint_exactly_on_the_ground_truth_lines(face_template):
    subject = SyntheticSubject(face_template, 96, seed=3)
    rng = np.random.default_rng(0)
    image, landmarks = subject.render(subject.random_pose(rng, MotionRange()), rng, marked=True)
    on_lines, elsewhere = _paint_fraction_on_lines(subject, image, landmarks)
    assert on_lines > 0.8 and elsewhere < 0.02


def test_unmarked_frames_have_no_paint(hand_template):
    subject = SyntheticSubject(hand_template, 96, seed=3)
    rng = np.random.default_rng(0)
    image, landmarks = subject.render(subject.random_pose(rng, MotionRange()), rng, marked=False)
    on_lines, _ = _paint_fraction_on_lines(subject, image, landmarks)
    assert on_lines < 0.02


def test_ground_truth_is_the_deformed_template_and_the_identity_pose_is_the_template(face_template):
    subject = SyntheticSubject(face_template, 128, seed=0)
    still = subject.clip_poses(np.random.default_rng(0), MotionRange(0, 0, 0, 0), 3, moving=True)
    for pose in still:
        assert np.allclose(subject.deform(subject.template.points, pose), subject.template.points)
    rng = np.random.default_rng(1)
    pose = subject.random_pose(rng, MotionRange(rotation_deg=10, scale=0.1, shift=0.05, warp=0.0))
    moved = subject.deform(subject.template.points, pose)
    # without the non-rigid field the motion is a similarity: pairwise distances scale uniformly
    before = np.linalg.norm(subject.template.points[0] - subject.template.points[-1])
    after = np.linalg.norm(moved[0] - moved[-1])
    assert after / before == pytest.approx(pose.scale)


def test_smooth_clip_moves_smoothly_and_static_clip_not_at_all(face_template):
    subject = SyntheticSubject(face_template, 128, seed=0)
    rng = np.random.default_rng(2)
    smooth = np.array(
        [subject.deform(subject.template.points, p) for p in subject.clip_poses(rng, MotionRange(), 40, True)]
    )
    static = np.array(
        [
            subject.deform(subject.template.points, p)
            for p in subject.clip_poses(rng, MotionRange(), 10, False)
        ]
    )
    steps = np.linalg.norm(np.diff(smooth, axis=0), axis=-1)
    assert steps.max() < 2.0 and np.ptp(smooth[..., 0]) > 3.0
    assert np.ptp(static, axis=0).max() == 0.0


def test_dataset_writer_lays_out_frames_clips_and_ground_truth(tmp_path, hand_template):
    config = SynthConfig(size=64, train_marked=5, train_unmarked=4, test=3, clip_frames=6)
    summary = write_synthetic_dataset(hand_template, tmp_path, config)
    assert summary == {
        "train_marked": 5,
        "train_unmarked": 4,
        "test": 3,
        "clip_smooth": 6,
        "clip_static": 6,
        "train_unmarked_video": 4,
    }
    for name, count in summary.items():
        [footage] = find_footage(tmp_path / (name if (tmp_path / name).is_dir() else f"{name}.mp4"))
        assert len(footage) == count
        gt, names, frames = read_landmark_csv(tmp_path / f"{name}_gt.csv")
        assert (
            gt.shape == (count, 21, 2) and frames == list(range(count)) and names == list(hand_template.names)
        )
        assert np.isfinite(gt).all()
    assert (tmp_path / "template.yaml").is_file() and (tmp_path / "synth.json").is_file()


def test_same_seed_same_frames(face_template):
    a = SyntheticSubject(face_template, 64, seed=5)
    b = SyntheticSubject(face_template, 64, seed=5)
    ra, rb = np.random.default_rng(9), np.random.default_rng(9)
    image_a, _ = a.render(a.random_pose(ra, MotionRange()), ra, marked=True)
    image_b, _ = b.render(b.random_pose(rb, MotionRange()), rb, marked=True)
    assert np.array_equal(image_a, image_b)


def test_longer_training_video_extends_the_footage_and_leaves_the_other_sets_unchanged(tmp_path):
    small = ["--template", "hand", "--size", "48", "--train", "3", "--test", "2", "--clip-frames", "3"]
    assert main(["synth", *small, "--out", str(tmp_path / "default")]) == 0
    assert main(["synth", *small, "--train-video", "7", "--out", str(tmp_path / "long")]) == 0
    for name in ("train_marked", "train_unmarked", "test", "clip_smooth", "clip_static"):
        default, _, _ = read_landmark_csv(tmp_path / "default" / f"{name}_gt.csv")
        long, _, _ = read_landmark_csv(tmp_path / "long" / f"{name}_gt.csv")
        assert np.array_equal(default, long), name
    default, _, _ = read_landmark_csv(tmp_path / "default" / "train_unmarked_video_gt.csv")
    long, _, _ = read_landmark_csv(tmp_path / "long" / "train_unmarked_video_gt.csv")
    assert default.shape[0] == 3 and long.shape[0] == 7
    assert np.array_equal(long[:3], default)  # the same trajectory, followed for longer
    [footage] = find_footage(tmp_path / "long" / "train_unmarked_video.mp4")
    assert len(footage) == 7


def test_frame_counts_under_one_are_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "synth"
    status = main(["synth", "--template", "hand", "--out", str(out), "--train-video", "0"])
    error = capsys.readouterr().err.strip()
    assert (
        status == 1
        and error == "genlmk: error: synthetic dataset: train_video must be at least 1 frame, got 0"
    )
    assert not out.exists()
    with pytest.raises(ConfigError, match="test must be at least 1 frame, got -2"):
        SynthConfig(test=-2)


def test_render_draws_its_default_lighting_as_random_lighting_does(face_template):
    subject = SyntheticSubject(face_template, 48, seed=1)
    pose = subject.random_pose(np.random.default_rng(0), MotionRange())
    drawn, _ = subject.render(pose, np.random.default_rng(5), marked=False)
    rng = np.random.default_rng(5)
    given, _ = subject.render(pose, rng, marked=False, lighting=subject.random_lighting(rng))
    assert np.array_equal(drawn, given)


def test_a_fixed_lighting_without_noise_draws_a_still_pose_the_same_every_time(face_template):
    subject = SyntheticSubject(face_template, 48, seed=1)
    pose = subject.random_pose(np.random.default_rng(0), MotionRange())
    rng = np.random.default_rng(3)
    lighting = subject.random_lighting(rng)
    first, _ = subject.render(pose, rng, marked=False, lighting=lighting, noise=False)
    again, _ = subject.render(pose, rng, marked=False, lighting=lighting, noise=False)
    noisy, _ = subject.render(pose, rng, marked=False, lighting=lighting)
    other, _ = subject.render(pose, rng, marked=False)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, noisy) and not np.array_equal(first, other)


def test_a_written_dataset_gives_back_its_subject_and_settings(tmp_path, face_template):
    config = SynthConfig(size=32, train_marked=1, train_unmarked=1, test=1, clip_frames=2, seed=4)
    write_synthetic_dataset(face_template, tmp_path, config)
    subject, loaded = load_synthetic_dataset(tmp_path)
    assert loaded == config
    original = SyntheticSubject(face_template, 32, config.noise, config.seed)
    pose = original.random_pose(np.random.default_rng(0), MotionRange())
    drawn = [s.render(pose, np.random.default_rng(1), marked=False)[0] for s in (subject, original)]
    assert np.array_equal(*drawn)


def test_a_folder_without_synthetic_settings_is_named(tmp_path):
    with pytest.raises(InputDataError, match=r"synth\.json: not found"):
        load_synthetic_dataset(tmp_path)
    (tmp_path / "synth.json").write_text('{"size": 32}')
    with pytest.raises(InputDataError, match=r"synth\.json: not synthetic dataset settings"):
        load_synthetic_dataset(tmp_path)
