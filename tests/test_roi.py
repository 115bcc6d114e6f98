"""``data.roi auto``: training footage cropped around the painted part in large, moving frames."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from training_helpers import landmark_fit_args

from genlmk.checkpoints import APPEARANCE_KEY, TRAINING_ROI_KEY, load_checkpoint
from genlmk.cli.main import main
from genlmk.data.canvas import canvas_background, moving_boxes, place_on_canvas
from genlmk.data.landmark_csv import read_landmark_csv, write_landmark_csv
from genlmk.data.roi import PartCropper, paint_extent, smooth_squares, square_framing
from genlmk.data.synthetic import MotionRange, SyntheticSubject
from genlmk.data.unpaired import successor_index
from genlmk.data.video import VideoWriter
from genlmk.errors import InputDataError
from genlmk.geometry.boxes import crop_to_frame, frame_to_crop
from genlmk.template import load_template

SIZE = 64
CANVAS = (320, 180)
FRAMES = 16


def write_canvas_clip(
    path: Path, subject: SyntheticSubject, marked: bool, side: int, seed: int
) -> np.ndarray:
    """A smooth-motion clip of the subject pasted on a moving square of ``side`` px; returns the
    (F, 4) pasted boxes and writes ``<path>.csv`` ground truth in frame pixels."""
    rng = np.random.default_rng(seed)
    poses = subject.clip_poses(rng, MotionRange(), FRAMES, moving=True)
    boxes = moving_boxes(FRAMES, CANVAS, side, phase=seed, sweeps=0.3)
    background = canvas_background(CANVAS, np.random.default_rng(seed))
    truth = []
    with VideoWriter(path, fps=25.0) as writer:
        for pose, box in zip(poses, boxes, strict=True):
            image, landmarks = subject.render(pose, rng, marked=marked)
            writer.write(place_on_canvas(image, background, box, rng))
            truth.append(landmarks)
    framed = crop_to_frame(np.stack(truth), boxes, (SIZE, SIZE))
    write_landmark_csv(path.with_suffix(".csv"), framed, subject.template.names)
    return boxes


@pytest.fixture(scope="module")
def canvas_footage(tmp_path_factory) -> tuple[Path, SyntheticSubject, np.ndarray, np.ndarray]:
    """Marked (96 px subject) and unmarked (80 px) canvas clips of the cartoon face, framed unalike."""
    folder = tmp_path_factory.mktemp("canvas")
    subject = SyntheticSubject(load_template("face"), SIZE, seed=0)
    subject.template.save(folder / "template.yaml")
    marked = write_canvas_clip(folder / "marked.mp4", subject, True, 96, seed=1)
    unmarked = write_canvas_clip(folder / "unmarked.mp4", subject, False, 80, seed=2)
    return folder, subject, marked, unmarked


def centres_and_sides(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return boxes[:, :2] + boxes[:, 2:] / 2.0, boxes[:, 2].astype(float)


def test_crops_follow_the_part_in_both_sessions(canvas_footage):
    folder, subject, marked_boxes, unmarked_boxes = canvas_footage
    cropper = PartCropper(subject.template, (SIZE, SIZE))
    marked, color = cropper.marked(str(folder / "marked.mp4"))
    assert len(marked.frames) == FRAMES and marked.frames.shape[1:] == (SIZE, SIZE, 3)
    centre, side = centres_and_sides(marked_boxes)
    assert np.abs(marked.squares[:, :2] - centre).max() < 0.12 * 96
    assert np.abs(marked.squares[:, 2] / side - 1).max() < 0.15
    assert color[2] > color[0] and color[2] > color[1]  # the template's blue, as filmed

    appearance = cropper.appearance(marked, color)
    unmarked, scores = cropper.unmarked(str(folder / "unmarked.mp4"), appearance, marked.share())
    assert len(unmarked.frames) == FRAMES and (scores >= appearance.floor).all()
    centre, side = centres_and_sides(unmarked_boxes)
    assert np.abs(unmarked.squares[:, :2] - centre).max() < 0.15 * 80
    assert np.abs(unmarked.squares[:, 2] / side - 1).max() < 0.2

    # what training needs: the two sessions framed alike. The part's mean place and size in the
    # crops (from the ground truth) differ between sessions about as much as in the pasted frames,
    # where only the poses differ
    def placement(name: str, crops, pasted_boxes) -> tuple[np.ndarray, np.ndarray]:
        truth, _, _ = read_landmark_csv(folder / f"{name}.csv", subject.template.names)
        in_crops = frame_to_crop(truth[crops.sources], crops.boxes(), (SIZE, SIZE))
        in_pasted = frame_to_crop(truth, pasted_boxes, (SIZE, SIZE))
        return tuple(
            np.append(points.mean(axis=(0, 1)), points.std(axis=1).mean()) for points in (in_crops, in_pasted)
        )

    marked_crops, marked_pasted = placement("marked", marked, marked_boxes)
    unmarked_crops, unmarked_pasted = placement("unmarked", unmarked, unmarked_boxes)
    between_crops = np.abs(marked_crops - unmarked_crops)
    between_pasted = np.abs(marked_pasted - unmarked_pasted)
    assert (between_crops < between_pasted + 0.02 * SIZE).all(), (between_crops, between_pasted)


def test_footage_without_paint_is_a_one_line_error(canvas_footage, tmp_path):
    _, subject, _, _ = canvas_footage
    rng = np.random.default_rng(0)
    grey_canvas = np.full((CANVAS[1], CANVAS[0], 3), 128, np.uint8)
    with VideoWriter(tmp_path / "plain.mp4", fps=25.0) as writer:
        for box in moving_boxes(4, CANVAS, 96):
            image, _ = subject.render(subject.random_pose(rng, MotionRange()), rng, marked=False)
            writer.write(place_on_canvas(image, grey_canvas, box, rng))
    cropper = PartCropper(subject.template, (SIZE, SIZE))
    with pytest.raises(InputDataError, match=r"plain\.mp4: data\.roi auto found no paint"):
        cropper.marked(str(tmp_path / "plain.mp4"))


def test_square_framing_puts_the_part_where_the_template_sits():
    template_extent = np.array([16.0, 24.0, 48.0, 56.0])  # in a 64 px input
    square = square_framing(np.array([100.0, 200.0, 164.0, 264.0]), template_extent, 64.0)
    assert np.allclose(square, [132.0, 216.0, 128.0])  # twice the size; the crop centre above the part


def test_paint_framing_is_not_pulled_by_a_stroke_beside_the_part():
    template = load_template("face").rescaled((128, 128))
    cropper = PartCropper(template, (128, 128))
    color = tuple(int(255 * c) for c in template.marker.color_unit)
    scale, shift = 1.5, np.array([100.0, 50.0])
    chin = int(scale * template.points[:, 1].max() + shift[1])

    def framing(stroke: int) -> np.ndarray:
        frame = np.full((320, 400, 3), 150, np.uint8)
        for a, b in template.edges:
            start, end = (scale * template.points[[a, b]] + shift).round().astype(int)
            cv2.line(frame, tuple(start.tolist()), tuple(end.tolist()), color, 2)
        if stroke:  # a paint-coloured stroke just below the chin
            cv2.line(frame, (180, chin + 4), (180, chin + 4 + stroke), color, 2)
        extent = paint_extent(frame, torch.tensor(template.marker.color_unit))
        return square_framing(extent, cropper.template_extent, 128.0)

    true_side = scale * 128
    alone = framing(0)
    assert abs(alone[2] / true_side - 1) < 0.06
    assert np.abs(alone[:2] - (shift + true_side / 2)).max() < 0.04 * true_side
    # a stroke a third of the part's height long (with its gap) would move the extreme pixels'
    # bottom by all of it and the square by 16 %; the spread moves by a little
    beside = framing(32)
    assert abs(beside[2] / alone[2] - 1) < 0.03
    assert np.abs(beside[:2] - alone[:2]).max() < 0.03 * true_side


def test_smoothing_keeps_steady_motion_drops_an_outlier_and_stays_within_each_video():
    steady = np.stack([10.0 + 5 * np.arange(8), np.full(8, 20.0), 50.0 + np.arange(8)], axis=1)
    squares = np.concatenate([steady, [[np.nan] * 3, [90.0, 9, 20]]])
    footage = np.array([0] * 9 + [1])
    assert np.allclose(smooth_squares(squares, footage, videos={0, 1}), squares, equal_nan=True)
    jumpy = squares.copy()
    jumpy[3, 0] += 30.0
    smoothed = smooth_squares(jumpy, footage, videos={0, 1})
    # the clip's first frame has only three neighbours, one of them the outlier: pulled a little
    assert np.allclose(smoothed[1:8], steady[1:]) and abs(smoothed[0, 0] - steady[0, 0]) < 5.0
    assert np.isnan(smoothed[8]).all() and smoothed[9, 0] == 90.0
    assert np.array_equal(smooth_squares(jumpy, footage, videos=set()), jumpy, equal_nan=True)


def test_a_left_out_frame_breaks_the_temporal_pair():
    following = successor_index(np.array([0, 0, 0, 1]), np.array([0, 1, 3, 4]))
    assert following.tolist() == [1, -1, -1, -1]


def test_fit_with_roi_auto_trains_on_crops_of_large_frames(canvas_footage, tmp_path, caplog, capsys):
    folder, _, _, _ = canvas_footage
    args = landmark_fit_args(folder, tmp_path / "runs", steps=1)
    args[args.index("--data.marked") + 1] = str(folder / "marked.mp4")
    args[args.index("--data.unmarked") + 1] = str(folder / "unmarked.mp4")
    args[args.index("--model.image_size") + 1] = f"[{SIZE}, {SIZE}]"
    args += ["--data.roi", "auto", "--data.unmarked_gt", str(folder / "unmarked.csv")]
    with caplog.at_level(logging.INFO):
        assert main(args) == 0
    assert f"paint in {FRAMES} of {FRAMES} marked frames" in caplog.text
    (path,) = (tmp_path / "runs").glob("landmarks/version_0/checkpoints/last.ckpt")
    assert load_checkpoint(path)[APPEARANCE_KEY]["floor"] > 0
    assert load_checkpoint(path)[TRAINING_ROI_KEY] == "auto"
    # predict frames the model's inputs as it was trained: crops, without being told
    capsys.readouterr()
    predict = ["predict", "--ckpt", str(path), "--input", str(folder / "unmarked.mp4"), "--no-overlay"]
    assert main([*predict, "--out", str(tmp_path / "as_trained"), "--formats", "csv"]) == 0
    assert "trained on crops around the part (data.roi auto): --roi auto" in capsys.readouterr().out
    assert main([*predict, "--out", str(tmp_path / "whole"), "--formats", "csv", "--roi", "none"]) == 0
    assert "whole frames will be framed unlike its training inputs" in capsys.readouterr().err
