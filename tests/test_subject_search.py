"""Finding a subject by its appearance: the reference, its scores, the search over a large frame."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from training_helpers import landmark_data, landmark_fit_args

from genlmk.checkpoints import APPEARANCE_KEY, load_checkpoint
from genlmk.cli.main import main
from genlmk.data.canvas import canvas_background
from genlmk.data.synthetic import MotionRange, SyntheticSubject
from genlmk.geometry.subject_search import Appearance, appearance_of, find_square, match_scores, search_sides
from genlmk.inference.landmarker import Landmarker
from genlmk.template import load_template


@pytest.fixture(scope="module")
def subject_frames() -> np.ndarray:
    """(40, 64, 64, 3) unmarked frames of the cartoon face in random poses."""
    subject = SyntheticSubject(load_template("face"), 64, seed=0)
    rng = np.random.default_rng(1)
    poses = [subject.random_pose(rng, MotionRange()) for _ in range(40)]
    return np.stack([subject.render(pose, rng, False)[0] for pose in poses])


def smooth_background(width: int, height: int, seed: int) -> np.ndarray:
    """Blocks of random colour, bilinearly smoothed: textured, but nothing like a face."""
    return canvas_background((width, height), np.random.default_rng(seed))


def test_the_subject_is_found_where_it_was_pasted_at_its_size(subject_frames):
    appearance = appearance_of(subject_frames[:30])
    frame = smooth_background(480, 270, seed=3)
    for index, (x, y, side) in enumerate(((40, 30, 96), (300, 120, 128), (200, 10, 160))):
        import cv2

        canvas = frame.copy()
        canvas[y : y + side, x : x + side] = cv2.resize(subject_frames[30 + index], (side, side))
        square, score = find_square(canvas, appearance, search_sides((480, 270), 64, 270))
        centre = np.array([x + side / 2, y + side / 2])
        assert np.abs(square[:2] - centre).max() < 0.1 * side, (square, centre)
        assert side / 1.25 < square[2] < side * 1.25
        assert score > appearance.floor


def test_held_out_subject_crops_score_above_the_floor_and_above_any_background(subject_frames):
    appearance = appearance_of(subject_frames[:30])
    subject = match_scores(subject_frames[30:], appearance)
    assert (subject > appearance.floor).all()
    background = smooth_background(256, 256, seed=5)
    windows = np.stack([background[y : y + 64, x : x + 64] for y in (0, 96, 192) for x in (0, 96, 192)])
    assert match_scores(windows, appearance).max() < subject.min()
    flat = np.full((1, 64, 64, 3), 128, np.uint8)
    assert match_scores(flat, appearance)[0] < appearance.floor


def test_hidden_pixels_do_not_enter_the_reference(subject_frames):
    painted = subject_frames.copy()
    painted[:, 20:30, 20:30] = (30, 50, 210)
    hidden = np.zeros(painted.shape[:3], bool)
    hidden[:, 20:30, 20:30] = True
    clean = appearance_of(subject_frames, references=1)
    masked = appearance_of(painted, hidden, references=1)
    keep = masked.mask > 0
    assert not keep.all() and keep.mean() > 0.8
    clean_scores = match_scores(subject_frames, clean)
    assert np.abs(match_scores(subject_frames, masked) - clean_scores).max() < 0.05


def test_appearance_round_trips_through_plain_lists(subject_frames):
    appearance = appearance_of(subject_frames[:8], np.zeros((8, 64, 64), bool))
    again = Appearance.from_dict(appearance.to_dict())
    assert np.array_equal(again.references, appearance.references) and again.floor == appearance.floor
    assert np.array_equal(again.mask, appearance.mask)
    with pytest.raises(ValueError, match=r"\(K, S, S, 3\)"):
        Appearance.from_dict({"references": [[0.0, 1.0]], "floor": 0.1})


def test_search_sides_span_the_range_and_stop_at_the_frame(subject_frames):
    sides = search_sides((640, 360), 60, 1000, ratio=1.5)
    assert sides[0] == 60 and sides[-1] <= 360 and np.allclose(sides[1:] / sides[:-1], 1.5)


def test_a_fitted_checkpoint_keeps_the_training_inputs_appearance(tmp_path):
    data = landmark_data(tmp_path / "data", frames=6)
    assert main(landmark_fit_args(data, tmp_path / "runs", steps=1)) == 0
    (path,) = (tmp_path / "runs").glob("landmarks/version_0/checkpoints/last.ckpt")
    stored = load_checkpoint(path)[APPEARANCE_KEY]
    landmarker = Landmarker.from_checkpoint(path)
    assert landmarker.appearance is not None and landmarker.appearance.references.shape[1:] == (32, 32, 3)
    assert torch.tensor(stored["references"]).shape[1:] == (32, 32, 3)
