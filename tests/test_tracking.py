"""The tracked region of interest on tiny moving-canvas frames with a stand-in landmarker."""

from __future__ import annotations

import numpy as np
import pytest

from genlmk.errors import SubjectNotFoundError
from genlmk.geometry.boxes import crop_image, landmark_spread, points_inside, square_box_around, square_to_box
from genlmk.geometry.subject_search import Appearance, appearance_of
from genlmk.inference.tracking import (
    BoxSmoother,
    RoiTracker,
    shape_residual,
    similarity_fit,
    track_frames,
    training_square,
)

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
    """Corner pixel centres of the region of bright red inside each crop, in frame pixels; collapsed
    when none."""
    out = np.empty((len(frames), 4, 2))
    for index, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
        rows, cols = np.nonzero(crop_image(frame, box)[..., 0] > 200)
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


def step(smoother: BoxSmoother, square: np.ndarray) -> np.ndarray:
    """Take a measurement, give the square for the next frame."""
    smoother.update(square)
    return smoother.predict()


def test_box_smoother_is_steady_on_a_still_subject() -> None:
    rng = np.random.default_rng(0)
    # a still subject's measurements scatter well inside the manoeuvre share (3 % of the side;
    # a still subject tracked in a video scatters by hundredths of a percent)
    measured = np.array([50.0, 40.0, 30.0]) + rng.normal(0.0, 0.1, (200, 3))
    smoother = BoxSmoother(smoothing=0.8)
    smoothed = np.stack([step(smoother, m) for m in measured])
    assert smoothed[20:].std(axis=0).max() < 0.5 * measured[20:].std(axis=0).min()
    still = BoxSmoother()
    assert all(np.array_equal(step(still, np.array([5.0, 6.0, 7.0])), [5.0, 6.0, 7.0]) for _ in range(5))


def test_box_smoother_follows_a_jump_and_forgets_on_reset() -> None:
    smoother = BoxSmoother(smoothing=0.9)
    step(smoother, np.array([0.0, 0.0, 10.0]))
    np.testing.assert_array_equal(step(smoother, np.array([50.0, 0.0, 10.0])), [50.0, 0.0, 10.0])
    smoother.reset()
    np.testing.assert_array_equal(step(smoother, np.array([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0])


def test_a_gap_gives_missing_rows_and_a_refind() -> None:
    positions = [(10 + 3 * t, 30) for t in range(10)] + [None] * 5 + [(150, 80)] * 5
    points, found = track_frames(canvas(positions), tracker(search_every=5), "gap.mp4")
    # lost at 10, searched in vain at 11, then only every 5th frame: 16 finds it again
    np.testing.assert_array_equal(found, [True] * 10 + [False] * 6 + [True] * 4)
    assert np.isnan(points[10:16]).all() and np.isfinite(points[16:]).all()
    np.testing.assert_allclose(points[16:], np.stack([corners(150, 80)] * 4), atol=1e-9)


def test_a_subject_that_never_appears_is_a_one_line_error() -> None:
    with pytest.raises(SubjectNotFoundError, match=r"^empty\.mp4: no subject found") as caught:
        track_frames(canvas([None] * 6), tracker(), "empty.mp4")
    assert "\n" not in str(caught.value)


def test_the_training_square_frames_landmarks_as_the_template_sits_in_the_model_input() -> None:
    angle = 0.3
    rotation = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    points = 2.5 * TEMPLATE @ rotation + np.array([100.0, 40.0])
    scale, found, shift = similarity_fit(TEMPLATE, points)
    assert scale == pytest.approx(2.5) and np.allclose(found, rotation) and np.allclose(shift, [100.0, 40.0])
    # the model input's centre (32, 32) goes where the similarity takes it; the side is 64 * 2.5
    centre = 2.5 * np.array([32.0, 32.0]) @ rotation + np.array([100.0, 40.0])
    np.testing.assert_allclose(training_square(points, TEMPLATE, (64, 64)), [*centre, 160.0])


def subject_image() -> np.ndarray:
    """(SIDE, SIDE, 3) the textured subject: full red (what the stand-in finds) with a ring dark in
    green and blue (what its appearance shows)."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] + 0.5
    radius = np.hypot(xx - SIDE / 2, yy - SIDE / 2)
    image = np.full((SIDE, SIDE, 3), 255, np.uint8)
    image[(radius > 0.2 * SIDE) & (radius < 0.38 * SIDE), 1:] = 0
    return image


def background(width: int, height: int, seed: int) -> np.ndarray:
    """Smooth random colour blocks, red below the stand-in's threshold."""
    import cv2

    coarse = np.random.default_rng(seed).integers(0, 150, (height // 8 + 1, width // 8 + 1, 3), np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


def textured(positions: list[tuple[int, int]], plain: set[int] = frozenset()) -> list[np.ndarray]:
    """200 x 120 textured frames with the subject at each top-left position; at the frame numbers in
    ``plain`` a plain red square stands there instead (the stand-in finds it, but in grey it is dark
    and flat, nothing like the subject)."""
    frames = []
    for index, (x, y) in enumerate(positions):
        frame = background(200, 120, seed=index)
        frame[y : y + SIDE, x : x + SIDE] = (255, 0, 0) if index in plain else subject_image()
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def appearance() -> Appearance:
    """The subject as the stand-in's "training inputs" show it: framed as TEMPLATE sits in 64 px."""
    import cv2

    crops = []
    for seed in range(16):
        crop = background(64, 64, seed=100 + seed)
        crop[16:49, 16:49] = cv2.resize(subject_image(), (33, 33), interpolation=cv2.INTER_NEAREST)
        crops.append(crop)
    return appearance_of(np.stack(crops))


def test_the_find_step_finds_the_subject_on_a_textured_canvas_by_its_appearance(appearance) -> None:
    positions = [(150 - 3 * t, 70 - t) for t in range(12)]
    points, found = track_frames(textured(positions), tracker(appearance=appearance), "canvas.mp4")
    assert found.all()
    np.testing.assert_allclose(points, np.stack([corners(*p) for p in positions]), atol=1e-9)


def test_a_subject_that_leaves_is_lost_by_its_appearance_and_found_when_it_returns(appearance) -> None:
    positions = [(20 + 2 * t, 30) for t in range(8)] + [(40, 30)] * 6 + [(140, 80)] * 6
    frames = textured(positions, plain=set(range(8, 14)))
    points, found = track_frames(frames, tracker(appearance=appearance, search_every=5), "leaves.mp4")
    # lost at 8 (the crop shows no ring), searched in vain at 9, searched again at 14: back
    np.testing.assert_array_equal(found, [True] * 8 + [False] * 6 + [True] * 6)
    np.testing.assert_allclose(points[14:], np.stack([corners(140, 80)] * 6), atol=1e-9)
    # the landmark checks alone take the red square for the subject
    _, found_by_landmarks = track_frames(frames, tracker(), "leaves.mp4")
    assert found_by_landmarks[8:14].all()


def test_looking_ahead_gives_the_frame_by_frame_landmarks_in_fewer_network_runs(appearance) -> None:
    positions = [(10 + 3 * t, 20 + t) for t in range(50)]
    frames = textured(positions)
    runs = []

    def counting(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        runs.append(len(frames))
        return locate(frames, boxes)

    one = RoiTracker(counting, TEMPLATE, (64, 64), appearance=appearance, lookahead=1)
    single, _ = track_frames(frames, one, "steady.mp4")
    assert len(runs) >= 50  # one run per frame, and a re-run where a crop lagged the subject
    runs.clear()
    ahead = RoiTracker(counting, TEMPLATE, (64, 64), appearance=appearance, lookahead=8)
    batched, found = track_frames(frames, ahead, "steady.mp4")
    assert found.all() and max(runs) == 8 and len(runs) < 25, runs
    # the stand-in's answer does not depend on where the subject sits in its crop: equal landmarks
    np.testing.assert_allclose(batched, single, atol=1e-9)


def test_a_margin_grows_the_training_framed_crop() -> None:
    frames = canvas([(80, 40)] * 3)
    plain, framed = tracker().track(frames)
    _, wider = tracker(margin=0.5).track(frames)
    # the template spans half the model input: its framing is twice the subject's corner spread
    assert framed[-1, 2] == round(2 * (SIDE - 1)) and wider[-1, 2] == round(4 * (SIDE - 1))
    np.testing.assert_allclose(plain, np.stack([corners(80, 40)] * 3), atol=1e-9)


def test_after_a_loss_a_search_must_find_what_looks_like_the_subject_when_first_found(appearance) -> None:
    # the subject moves, is gone for frames 8-13 and comes back; a plain white square (the
    # stand-in finds it, and at 32 px it still matches the references above their floor) waits
    # elsewhere from frame 8 on
    frames = []
    for index in range(20):
        frame = background(200, 120, seed=index)
        frame[80:100, 160:180] = 255 if index >= 8 else frame[80:100, 160:180]
        if index < 8 or index >= 14:
            x = 20 + 2 * index if index < 8 else 60
            frame[30 : 30 + SIDE, x : x + SIDE] = subject_image()
        frames.append(frame)
    points, found = track_frames(frames, tracker(appearance=appearance, refind=0.9), "decoy.mp4")
    np.testing.assert_array_equal(found, [True] * 8 + [False] * 6 + [True] * 6)
    np.testing.assert_allclose(points[14:], np.stack([corners(60, 30)] * 6), atol=1e-9)
    # with the floor as the only bar the search takes the white square as soon as it looks
    points, found = track_frames(frames, tracker(appearance=appearance, refind=0.0), "decoy.mp4")
    assert found[9:].all()
    np.testing.assert_allclose(points[9:], np.stack([corners(160, 80)] * 11), atol=1e-9)


def test_box_smoother_extrapolates_a_steady_move_frames_ahead() -> None:
    smoother = BoxSmoother(smoothing=0.6)
    for t in range(200):
        smoother.update(np.array([10.0 + 2.0 * t, 50.0 - t, 30.0]))
    # after the transient the filter has the velocity: k frames on is k steps of it
    np.testing.assert_allclose(smoother.predict(5), [10.0 + 2.0 * 204, 50.0 - 204, 30.0], atol=1e-6)


def test_box_smoother_takes_a_new_velocity_at_once_when_three_displacements_agree() -> None:
    smoother = BoxSmoother(smoothing=0.9)
    for _ in range(5):
        smoother.update(np.array([0.0, 0.0, 30.0]))
    # it starts moving 10 px a frame (a third of its side): no velocity until the moves agree
    np.testing.assert_array_equal(step(smoother, np.array([10.0, 0.0, 30.0])), [10.0, 0.0, 30.0])
    np.testing.assert_array_equal(step(smoother, np.array([20.0, 0.0, 30.0])), [20.0, 0.0, 30.0])
    np.testing.assert_array_equal(step(smoother, np.array([30.0, 0.0, 30.0])), [40.0, 0.0, 30.0])


def test_box_smoother_takes_no_velocity_from_moves_that_disagree() -> None:
    rng = np.random.default_rng(1)
    smoother = BoxSmoother(smoothing=0.6)
    for jump in rng.uniform(-15.0, 15.0, (20, 2)):  # unrelated stills, not a sequence
        square = np.array([50.0 + jump[0], 40.0 + jump[1], 30.0])
        # each is a manoeuvre: taken as it is, and the next crop is predicted there
        np.testing.assert_array_equal(step(smoother, square), square)


def short_sighted(frames: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Like the trained landmarker off its framing: the subject's corners moved half-way to where the
    crop expects them (TEMPLATE scaled into the crop), so a crop that misses the subject gets
    landmarks that fall short of it."""
    expected = boxes[:, None, :2] + TEMPLATE[None] * boxes[:, None, 2:3] / 64.0
    return expected + 0.5 * (locate(frames, boxes) - expected)


def test_a_crop_that_lags_the_subject_is_run_again_where_its_landmarks_point() -> None:
    frame = canvas([(100, 50)])[0]
    truth = corners(100, 50)
    lagging = np.array([82, 41, 38, 38])  # 8 px (a fifth of the crop) behind the training framing
    first = short_sighted(frame[None], lagging[None])[0]
    assert np.abs(first - truth).max() > 3.0  # the landmarks fall short of the subject
    points, box, _ = tracker().refined(frame, first, lagging)
    # run again until the crop is where they say, within 5 % of its side
    assert np.abs(points - truth).max() <= 0.05 * box[2] and box[0] > lagging[0]
    assert tracker(refine=0).refined(frame, first, lagging) is None  # not kept once run


def test_a_fast_subject_is_followed_frame_by_frame(appearance) -> None:
    positions = [(10 + 7 * t, 50) for t in range(24)]  # 7 px a frame: 18 % of the crop
    tracked = RoiTracker(short_sighted, TEMPLATE, (64, 64), appearance=appearance)
    points, found = track_frames(textured(positions), tracked, "fast.mp4")
    assert found.all()
    assert np.abs(points - np.stack([corners(*p) for p in positions])).max() <= 0.05 * 2 * (SIDE - 1)


def test_the_crop_holds_still_while_a_still_subject_stays_within_the_hold_share() -> None:
    still = tracker(hold=0.02)  # 0.8 px of a 40 px crop
    held = np.array([100.0, 50.0, 40.0])
    np.testing.assert_array_equal(still.steady(np.array([100.6, 49.5, 40.7]), held), held)
    moved = np.array([101.0, 50.0, 40.0])
    np.testing.assert_array_equal(still.steady(moved, held), moved)
    np.testing.assert_array_equal(still.steady(moved, None), moved)  # nothing held yet
    # a moving subject is never held: landmarks in a crop that lags it are pulled towards the crop
    still.smoother.velocity = np.array([0.5, 0.0])
    near = np.array([100.6, 49.5, 40.7])
    np.testing.assert_array_equal(still.steady(near, held), near)


def test_a_subject_that_jumps_out_of_its_crop_is_found_near_where_it_was(appearance) -> None:
    positions = [(60, 40)] * 6 + [(95, 60)] * 6  # the jump: most of the crop's side
    points, found = track_frames(textured(positions), tracker(appearance=appearance), "jump.mp4")
    assert found.all()
    np.testing.assert_allclose(points, np.stack([corners(*p) for p in positions]), atol=1e-9)
