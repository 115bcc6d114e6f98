"""Flicker split by source (lighting, noise, encoding, motion) on synthetic clips, and its script."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_script
from landmark_helpers import tiny_landmarks_checkpoint

from genlmk.data.synthetic import MotionRange, SynthConfig, SyntheticSubject, write_synthetic_dataset
from genlmk.data.video import h264_round_trip
from genlmk.evaluation.flicker_sources import CONDITIONS, flicker_by_source
from genlmk.inference.landmarker import Landmarker

# flicker (percent of the face box) below which a still clip counts as steady; the noise conditions give ~0.04
ROUND_OFF = 1e-4


@pytest.fixture
def tiny_landmarker(tmp_path, face_template):
    return Landmarker.from_checkpoint(tiny_landmarks_checkpoint(tmp_path / "tiny.ckpt", face_template))


def test_a_still_clip_flickers_only_through_lighting_noise_and_encoding(tiny_landmarker, face_template):
    subject = SyntheticSubject(face_template, 32, seed=0)
    poses = subject.clip_poses(np.random.default_rng(0), MotionRange(), 6, moving=False)
    figures = flicker_by_source({"tiny": tiny_landmarker}, subject, poses, seed=1)
    assert list(figures) == list(CONDITIONS)
    # identical frames give the same landmarks up to round-off: a batched convolution split over threads
    # may sum in another order for some frames, a difference far below ROUND_OFF
    assert figures["motion"]["tiny"] < ROUND_OFF
    for condition in ("encoded", "lighting+noise", "noise"):
        assert figures[condition]["tiny"] > 0.0
    assert figures["encoded"]["tiny"] != figures["lighting+noise"]["tiny"]


def test_a_moving_clip_flickers_even_without_lighting_changes_or_noise(tiny_landmarker, face_template):
    subject = SyntheticSubject(face_template, 32, seed=0)
    poses = subject.clip_poses(np.random.default_rng(0), MotionRange(), 6, moving=True)
    figures = flicker_by_source({"tiny": tiny_landmarker}, subject, poses, seed=1)
    assert figures["motion"]["tiny"] > 0.0
    again = flicker_by_source({"tiny": tiny_landmarker}, subject, poses, seed=1)
    for condition in ("lighting+noise", "noise", "motion"):
        assert again[condition] == figures[condition]
    # the H.264 encoder's threads may round a few pixels differently from one run to the next
    assert again["encoded"]["tiny"] == pytest.approx(figures["encoded"]["tiny"], rel=0.02)


def test_clips_keep_their_frames_and_ground_truth_through_the_encoding_round_trip(face_template):
    subject = SyntheticSubject(face_template, 32, seed=0)
    poses = subject.clip_poses(np.random.default_rng(0), MotionRange(), 4, moving=True)
    frames, truth = subject.render_clip(poses, np.random.default_rng(2))
    assert frames.shape == (4, 32, 32, 3) and frames.dtype == np.uint8
    assert truth.shape == (4, len(subject.template.names), 2)
    decoded = h264_round_trip(frames)
    assert decoded.shape == frames.shape
    # H.264 at the writer's quality changes pixels a little, not the picture
    difference = np.abs(decoded.astype(int) - frames.astype(int))
    assert 0 < difference.mean() < 12


def test_the_script_prints_and_writes_flicker_per_clip_and_condition(tmp_path, face_template):
    data = tmp_path / "synth"
    config = SynthConfig(size=32, train_marked=1, train_unmarked=1, test=1, clip_frames=2, seed=3)
    write_synthetic_dataset(face_template, data, config)
    first = tiny_landmarks_checkpoint(tmp_path / "a.ckpt", face_template, seed=0)
    second = tiny_landmarks_checkpoint(tmp_path / "b.ckpt", face_template, seed=1)
    out = tmp_path / "sources.json"
    checkpoints = ("--ckpt", f"a={first}", "--ckpt", f"b={second}")
    result = run_script("flicker_sources.py", "--data", data, *checkpoints, "--frames", 5, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "b/a" in result.stdout.splitlines()[0]
    figures = json.loads(out.read_text())["flicker"]
    assert set(figures) == {"static", "smooth"}
    for clip in figures.values():
        assert list(clip) == list(CONDITIONS) and set(clip["noise"]) == {"a", "b"}
    assert set(figures["static"]["motion"]) == {"a", "b"}
    assert max(figures["static"]["motion"].values()) < ROUND_OFF
    assert figures["smooth"]["motion"]["a"] > 0.0


def test_the_script_names_a_folder_that_synth_did_not_write(tmp_path, face_template):
    checkpoint = tiny_landmarks_checkpoint(tmp_path / "a.ckpt", face_template)
    result = run_script("flicker_sources.py", "--data", tmp_path, "--ckpt", f"a={checkpoint}")
    assert result.returncode != 0
    assert f"{tmp_path / 'synth.json'}: not found" in result.stderr
    result = run_script("flicker_sources.py", "--data", tmp_path, "--ckpt", str(checkpoint))
    assert result.returncode == 2 and "expected NAME=CHECKPOINT" in result.stderr
    result = run_script(
        "flicker_sources.py", "--data", tmp_path, "--ckpt", f"a={checkpoint}", "--ckpt", f"a={checkpoint}"
    )
    assert result.returncode != 0 and "--ckpt names must differ" in result.stderr


def test_the_script_names_a_checkpoint_that_is_not_there(tmp_path, face_template):
    data = tmp_path / "synth"
    config = SynthConfig(size=32, train_marked=1, train_unmarked=1, test=1, clip_frames=2)
    write_synthetic_dataset(face_template, data, config)
    missing = tmp_path / "nowhere.ckpt"
    result = run_script("flicker_sources.py", "--data", data, "--ckpt", f"a={missing}")
    assert result.returncode != 0
    assert str(missing) in result.stderr and "Traceback" not in result.stderr
