"""The tracked region of interest on tiny moving-canvas frames with a stand-in landmarker."""

from __future__ import annotations

import numpy as np
import pytest

from genlmk.errors import SubjectNotFoundError
from genlmk.geometry.boxes import crop_image, landmark_spread, points_inside, square_box_around, square_to_box
from genlmk.inference.tracking import BoxSmoother, RoiTracker, shape_residual, track_frames

SIDE = 20
TEMPLATE = np.array([[16.0, 16.0], [48.0, 16.0], [16.0, 48.0], [48.0, 48.0]])


def corners(x: int, y: int) -> np.ndarray:
    """Frame-pixel centres of the subject's corner pixels (the stand-in's landmarks)."""
    low, high = x + 0.5, x + SIDE - 0.5
    return np.array([[low, y + 0.5], [high, y + 0.5], [low, y + SIDE - 0.5], [high, y + SIDE - 0.5]])


def canvas(positions: list[tuple[int, int] | None], size: tuple[int, int] = (200, 120)) -> list[np.ndarray]:
    """Black (H, W, 3) frames with a white SIDE x SIDE subject at each top-left position (None: absent)."""
    frames = []
    for position in positions:
        frame = np.zeros((size[1], size[0], 3), dtype=np.uint8)
        if position is not None:
            frame[position[1] : position[1] + SIDE, position[0] : position[0] + SIDE] = 255
        frames.append(frame)
    return frames


def locate(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Corner pixel centres of the bright region inside each crop, in frame pixels; collapsed when none."""
    out = np.empty((len(frames), 4, 2))
    for index, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
        rows, cols = np.nonzero(crop_image(frame, box)[..., 0])
        if len(rows) == 0:
            out[index] = box[:2] + box[2:] / 2.0
            continue
        x0, x1 = cols.min() + 0.5 + box[0], cols.max() + 0.5 + box[0]
        y0, y1 = rows.min() + 0.5 + box[1], rows.max() + 0.5 + box[1]
        out[index] = [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]
    return out


def tracker(**kwargs) -> RoiTracker:
    return RoiTracker(locate, TEMPLATE, (64, 64), **kwargs)


def test_geometry_helpers() -> None:
    points = corners(10, 20)
    assert landmark_spread(points) == pytest.approx(np.sqrt(2) * (SIDE - 1) / 2)
    assert np.isnan(landmark_spread(np.array([[0.0, 0.0], [np.nan, 1.0]])))
    square = square_box_around(points, margin=0.5)
    np.testing.assert_allclose(square, [20.0, 30.0, 2.0 * (SIDE - 1)])
    box = square_to_box(square)
    assert box[2] == box[3] == 38 and points_inside(points, box)
    assert not points_inside(points + np.array([100.0, 0.0]), box)
    assert shape_residual(TEMPLATE * 3.0 + 7.0, TEMPLATE) == pytest.approx(0.0, abs=1e-9)
    assert shape_residual(np.zeros((4, 2)), TEMPLATE) == np.inf


def test_follows_a_subject_moving_across_the_frame() -> None:
    positions = [(5 + 2 * t, 10 + t) for t in range(80)]
    points, found = track_frames(canvas(positions), tracker(), "moving.mp4")
    assert found.all()
    np.testing.assert_allclose(points, np.stack([corners(*p) for p in positions]), atol=1e-9)


def test_tracked_landmarks_match_the_ground_truth_crop_path() -> None:
    positions = [(30 + 2 * t, 40) for t in range(10)]
    frames = canvas(positions)
    points, _ = track_frames(frames, tracker(), "clip.mp4")
    gt_boxes = np.array([[x - 10, y - 10, SIDE + 20, SIDE + 20] for x, y in positions])
    np.testing.assert_allclose(points, locate(np.stack(frames), gt_boxes), atol=1e-12)


def test_box_smoother_is_steady_on_a_still_subject() -> None:
    rng = np.random.default_rng(0)
    measured = np.array([50.0, 40.0, 30.0]) + rng.normal(0.0, 1.0, (200, 3))
    smoother = BoxSmoother(smoothing=0.8)
    smoothed = np.stack([smoother.step(m) for m in measured])
    assert smoothed[20:].std(axis=0).max() < 0.5 * measured[20:].std(axis=0).min()
    still = BoxSmoother()
    assert all(np.array_equal(still.step(np.array([5.0, 6.0, 7.0])), [5.0, 6.0, 7.0]) for _ in range(5))


def test_box_smoother_follows_a_jump_and_forgets_on_reset() -> None:
    smoother = BoxSmoother(smoothing=0.9)
    smoother.step(np.array([0.0, 0.0, 10.0]))
    np.testing.assert_array_equal(smoother.step(np.array([50.0, 0.0, 10.0])), [50.0, 0.0, 10.0])
    smoother.reset()
    np.testing.assert_array_equal(smoother.step(np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0])


def test_a_gap_gives_missing_rows_and_a_refind() -> None:
    positions = [(10 + 3 * t, 30) for t in range(10)] + [None] * 5 + [(150, 80)] * 5
    points, found = track_frames(canvas(positions), tracker(), "gap.mp4")
    np.testing.assert_array_equal(found, [True] * 10 + [False] * 5 + [True] * 5)
    assert np.isnan(points[10:15]).all() and np.isfinite(points[15:]).all()
    np.testing.assert_allclose(points[15:], np.stack([corners(150, 80)] * 5), atol=1e-9)


def test_a_subject_that_never_appears_is_a_one_line_error() -> None:
    with pytest.raises(SubjectNotFoundError, match=r"^empty\.mp4: no subject found") as caught:
        track_frames(canvas([None] * 6), tracker(), "empty.mp4")
    assert "\n" not in str(caught.value)
