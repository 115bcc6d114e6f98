from __future__ import annotations

import numpy as np
import pytest
import torch

from genlmk.data.unpaired import UnpairedFrames, augmentation_from_options, successor_index
from genlmk.geometry.flow import aperture_corrected_motion
from genlmk.geometry.polylines import line_tangents
from genlmk.losses import flow_landmark_loss
from genlmk.losses.temporal import sample_at


def _constant_flow(dx, dy, size=32):
    flow = torch.zeros(1, 2, size, size)
    flow[:, 0], flow[:, 1] = dx, dy
    return flow


def test_sample_at_reads_a_linear_ramp_exactly():
    xs = torch.arange(32.0) + 0.5  # value = x coordinate of the pixel centre
    ramp = xs.view(1, 1, 1, 32).expand(1, 1, 32, 32)
    points = torch.tensor([[[3.25, 7.0], [10.5, 20.75]]])
    assert torch.allclose(sample_at(ramp, points)[..., 0], points[..., 0])


def test_flow_loss_is_zero_when_landmarks_follow_the_flow_and_known_otherwise():
    landmarks = torch.tensor([[[8.0, 8.0], [20.0, 12.0]]])
    flow, valid = _constant_flow(2.0, -1.0), torch.ones(1, 1, 32, 32, dtype=torch.bool)
    assert flow_landmark_loss(landmarks, landmarks + torch.tensor([2.0, -1.0]), flow, valid).item() == 0.0
    # staying put: Huber(2) + Huber(-1) with delta 1 = 1.5 + 0.5 per landmark
    assert flow_landmark_loss(landmarks, landmarks, flow, valid).item() == pytest.approx(2.0)


def test_flow_loss_ignores_landmarks_on_untrusted_flow():
    landmarks = torch.tensor([[[4.0, 4.0], [28.0, 28.0]]])
    flow = _constant_flow(3.0, 0.0)
    valid = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    valid[..., 16:, 16:] = True  # only the second landmark's flow is trusted
    following = landmarks + torch.tensor([[[0.0, 0.0], [3.0, 0.0]]])
    assert flow_landmark_loss(landmarks, following, flow, valid).item() == 0.0
    nothing = torch.zeros_like(valid)
    moving = following.clone().requires_grad_(True)
    loss = flow_landmark_loss(landmarks, moving, flow, nothing)
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(moving.grad, torch.zeros_like(moving))


def test_flow_loss_pulls_both_frames_towards_agreement():
    landmarks = torch.tensor([[[10.0, 10.0]]], requires_grad=True)
    following = torch.tensor([[[10.0, 10.0]]], requires_grad=True)
    flow_landmark_loss(
        landmarks, following, _constant_flow(0.5, 0.0), torch.ones(1, 1, 32, 32, dtype=torch.bool)
    ).backward()
    assert following.grad[0, 0, 0] < 0 < landmarks.grad[0, 0, 0]  # next moves right, current left


def test_a_smaller_flow_threshold_pulls_harder_on_small_misses():
    valid = torch.ones(1, 1, 32, 32, dtype=torch.bool)

    def gradient(miss: float, threshold: float) -> float:
        landmarks = torch.tensor([[[10.0, 10.0]]])
        following = torch.tensor([[[10.0 + miss, 10.0]]], requires_grad=True)
        flow_landmark_loss(landmarks, following, _constant_flow(0.0, 0.0), valid, threshold).backward()
        return following.grad[0, 0, 0].item()

    # quadratic below the threshold (gradient miss / threshold), unit slope above it
    assert gradient(0.05, 1.0) == pytest.approx(0.05, rel=1e-4)
    assert gradient(0.05, 0.1) == pytest.approx(0.5, rel=1e-4)
    assert gradient(3.0, 0.1) == pytest.approx(1.0)


def _tiny_flow_model(tiny_system, monkeypatch, flow_x, **flow):
    """A small LandmarkGAN with the flow term (settings ``flow``) whose optical flow is
    ``flow_x(x, y)`` one way and its opposite back."""
    import genlmk.systems.landmarks as landmarks_module

    calls = iter((1.0, -1.0))  # forward t -> t+1, then back: consistent, so trusted

    def fake_flow(frames_a, frames_b, method, window):
        size = frames_a.shape[-1]
        ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
        flow = torch.zeros(frames_a.shape[0], 2, size, size)
        flow[:, 0] = next(calls) * flow_x(xs, ys)
        return flow

    monkeypatch.setattr(landmarks_module, "dense_flow", fake_flow)
    return tiny_system(losses={"flow": {"weight": 1.0, **flow}})


@pytest.mark.parametrize("aperture", [False, True])
def test_the_flow_threshold_option_reaches_the_loss(tiny_system, monkeypatch, aperture):
    model = _tiny_flow_model(
        tiny_system, monkeypatch, lambda xs, ys: torch.full_like(xs, 0.5), threshold=0.1, aperture=aperture
    )
    frames = torch.rand(2, 3, 64, 64)
    # the same frame twice: the landmarks stay put and miss the flow's 0.5 px by 0.5 px each,
    # smooth-L1 0.5 - 0.1 / 2 = 0.45 (Huber at 1 px would give 0.125); a shift is an affine
    # motion, which the aperture correction leaves as it is
    _, parts, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64), frames.clone())
    assert parts["flow"].item() == pytest.approx(0.45, abs=1e-4)
    flow = model.hparams["losses"]["flow"]  # kept in the checkpoint's hyperparameters
    assert (flow["threshold"], flow["aperture"]) == (0.1, aperture)


def test_the_flow_aperture_option_changes_a_non_affine_flow_target(tiny_system, monkeypatch):
    frames, marked = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    losses = []
    for aperture in (False, True):
        torch.manual_seed(0)  # the same network weights for both
        model = _tiny_flow_model(
            tiny_system, monkeypatch, lambda xs, ys: torch.sin(xs / 6.0), aperture=aperture
        )
        losses.append(model.generator_losses(frames, marked, frames.clone())[1]["flow"].item())
    assert losses[0] > 0 and losses[1] > 0 and abs(losses[0] - losses[1]) > 1e-4


# a face-like layout: a closed ring, a horizontal line and a vertical one, lines in all directions
RING = [(16 + 10 * np.cos(a), 20 + 6 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 9)[:-1]]
STRAIGHT = [[8.0, 40.0], [20.0, 40.0], [32.0, 40.0], [40.0, 8.0], [40.0, 20.0], [40.0, 32.0]]
LINE_POINTS = np.array([*RING, *STRAIGHT])
LINES = [(*range(8), 0), (8, 9, 10), (11, 12, 13)]
AFFINE = np.array([[0.02, -0.05], [0.04, 0.01]]), np.array([0.7, -0.4])


def _affine_motion(points: np.ndarray) -> np.ndarray:
    return points @ AFFINE[0].T + AFFINE[1]


def _short_along_lines(motion: np.ndarray, tangents: np.ndarray, gain: float) -> np.ndarray:
    """The motion with its along-line part scaled by ``gain`` (the aperture problem's shortfall)."""
    along = (motion * tangents).sum(-1, keepdims=True) * tangents
    return motion - (1.0 - gain) * along


def test_aperture_correction_recovers_an_affine_motion_whose_flow_falls_short_along_the_lines():
    tangents = line_tangents(LINE_POINTS[None], LINES)
    true = _affine_motion(LINE_POINTS)[None]
    flow = _short_along_lines(true, tangents, gain=0.6)
    assert np.abs(flow - true).max() > 0.1  # the flow itself is visibly wrong
    trusted = torch.ones(1, 14, dtype=bool)
    corrected = aperture_corrected_motion(
        torch.tensor(LINE_POINTS[None]), torch.tensor(flow), torch.tensor(tangents), trusted
    )
    # exact up to the along-line rows' small weight pulling towards the short flow
    np.testing.assert_allclose(corrected.numpy(), true, atol=1e-2)


def test_aperture_correction_leaves_points_on_no_line_and_ignores_untrusted_ones():
    points = np.concatenate([LINE_POINTS, [[24.0, 24.0], [5.0, 5.0]]])  # two points on no line
    tangents = line_tangents(points[None], LINES)
    true = _affine_motion(points)[None]
    flow = _short_along_lines(true, np.nan_to_num(tangents), gain=0.5)
    flow[0, -1] = [9.0, -9.0]  # an outlier on no line, not trusted
    trusted = torch.ones(1, 16, dtype=bool)
    trusted[0, -1] = False
    corrected = aperture_corrected_motion(
        torch.tensor(points[None]), torch.tensor(flow), torch.tensor(tangents), trusted
    ).numpy()
    np.testing.assert_array_equal(corrected[0, 14:], flow[0, 14:])  # off the lines: the flow as it is
    # the outlier did not enter the fit
    np.testing.assert_allclose(corrected[0, :14], true[0, :14], atol=1e-2)


def test_aperture_correction_keeps_the_flow_when_all_lines_run_one_way():
    points = np.array([[[8.0, 10.0], [16.0, 10.0], [24.0, 10.0], [8.0, 30.0], [16.0, 30.0], [24.0, 30.0]]])
    tangents = line_tangents(points, [(0, 1, 2), (3, 4, 5)])
    flow = np.array([[[0.3, 0.1], [0.5, 0.1], [0.7, 0.1], [0.3, -0.2], [0.5, -0.2], [0.7, -0.2]]])
    corrected = aperture_corrected_motion(
        torch.tensor(points), torch.tensor(flow), torch.tensor(tangents), torch.ones(1, 6, dtype=bool)
    )
    # across (y) nothing changes; along (x) the fit has only the flow's own values to go by, which
    # are affine (up to the tiny ridge)
    np.testing.assert_allclose(corrected.numpy(), flow, atol=1e-3)


def test_flow_loss_with_line_tangents_takes_the_along_line_motion_from_the_fit():
    tangents = torch.tensor(line_tangents(LINE_POINTS[None], LINES), dtype=torch.float32)
    landmarks = torch.tensor(LINE_POINTS[None], dtype=torch.float32)
    following = landmarks + torch.tensor(_affine_motion(LINE_POINTS)[None], dtype=torch.float32)
    ys, xs = torch.meshgrid(torch.arange(48) + 0.5, torch.arange(48) + 0.5, indexing="ij")
    a, b = (torch.tensor(v, dtype=torch.float32) for v in AFFINE)
    flow = torch.stack((a[0, 0] * xs + a[0, 1] * ys + b[0], a[1, 0] * xs + a[1, 1] * ys + b[1]))[None]
    flow[:, 0, 36:44, :36] *= 0.5  # around the horizontal line only, its along-line motion falls short
    valid = torch.ones(1, 1, 48, 48, dtype=torch.bool)
    assert flow_landmark_loss(landmarks, following, flow, valid, 0.25).item() > 0.05
    assert flow_landmark_loss(landmarks, following, flow, valid, 0.25, tangents).item() < 1e-4


def test_successor_index_stays_within_each_footage():
    assert successor_index(np.array([0, 0, 0, 1, 1, 2])).tolist() == [1, 2, -1, 4, -1, -1]


def test_temporal_items_pair_each_frame_with_its_successor_under_one_transform():
    frames = np.stack([np.full((16, 16, 3), 10 * i, np.uint8) for i in range(5)])
    frames[:, 4:8, 2:6] = 255  # a feature the geometric augmentation moves
    dataset = UnpairedFrames(frames, frames, None, None, successor_index(np.array([0, 0, 0, 1, 1])))
    assert len(dataset) == 5 and [int(dataset[i]["unmarked"][0, 0, 0] * 255 + 0.5) for i in range(3)] == [
        0,
        10,
        30,
    ]
    assert int(dataset[1]["unmarked_next"][0, 0, 0] * 255 + 0.5) == 20
    same = np.stack([frames[2]] * 2)
    augmented = UnpairedFrames(same, same, augmentation_from_options(True), None, np.array([1, -1]))
    for _ in range(5):
        item = augmented[0]
        assert torch.equal(item["unmarked"], item["unmarked_next"])


def test_temporal_successors_come_from_the_source_or_its_copies_and_keep_their_transform():
    frames = np.stack([np.full((16, 16, 3), 10 * i, np.uint8) for i in range(4)])
    copy = frames + 1  # a copy that tells its frames apart
    following = successor_index(np.zeros(4, int))
    plain = UnpairedFrames(frames, frames, augmentation_from_options(True), None, following, seed=3)
    copied = UnpairedFrames(
        frames, frames, augmentation_from_options(True), None, following, seed=3, next_copies=[copy]
    )
    sources = set()
    for key in [(epoch, index) for epoch in range(8) for index in range(3)]:
        item, item_plain = copied[key], plain[key]
        # frame t and the augmentation are those of the dataset without copies
        assert torch.equal(item["unmarked"], item_plain["unmarked"])
        offset = (item["unmarked_next"] - item_plain["unmarked_next"]) * 255
        assert offset.abs().max() < 1.5  # the same frame t+1 under the same transform, or its copy
        sources.add(bool(offset.mean() > 0.5))
    assert sources == {False, True}  # both the source and the copy were drawn


def test_reencode_copies_the_training_frames_once_through_h264(tmp_path, monkeypatch):
    import genlmk.data.unpaired as unpaired
    from genlmk.data.video import write_video
    from genlmk.errors import ConfigError

    rng = np.random.default_rng(0)
    write_video(tmp_path / "unmarked.mp4", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    write_video(tmp_path / "marked.mp4", rng.integers(0, 255, (6, 32, 32, 3), dtype=np.uint8))
    rates = []

    def fake_round_trip(frames, crf):
        rates.append((len(frames), crf))
        return frames

    monkeypatch.setattr(unpaired, "h264_round_trip", fake_round_trip)
    data = unpaired.UnpairedFramesDataModule(
        str(tmp_path / "marked.mp4"),
        str(tmp_path / "unmarked.mp4"),
        (32, 32),
        val_fraction=0.0,
        temporal=True,
        reencode=[23, 30],
    )
    data.setup("fit")
    assert rates == [(6, 23), (6, 30)]
    assert len(data.train_set.next_sources) == 3
    with pytest.raises(ConfigError, match=r"data.reencode copies the frames t\+1 of temporal pairs"):
        unpaired.UnpairedFramesDataModule("m", "u", reencode=[23])
    with pytest.raises(ConfigError, match=r"H.264 rate factors are 0-51, got \[60\]"):
        unpaired.UnpairedFramesDataModule("m", "u", temporal=True, reencode=[60])


def test_flow_appearance_changes_only_what_the_landmarker_reads_for_frame_t_plus_1(tiny_system, monkeypatch):
    frames, frames_next = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    for change in (None, {"gain": 0.3, "ramp": 0.2, "jpeg": 40}):
        still = lambda xs, ys: torch.zeros_like(xs)  # noqa: E731
        model = _tiny_flow_model(tiny_system, monkeypatch, still, appearance=change)
        given = model.landmarker.landmarks(frames)
        read = []
        monkeypatch.setattr(
            model.landmarker, "landmarks", lambda images, read=read, given=given: read.append(images) or given
        )
        model._flow_loss(frames, frames_next, given)
        assert len(read) == 1  # frame t+1 only: frame t's landmarks are given
        changed = (read[0] - frames_next).abs().mean().item()
        if change is None:
            assert changed == 0.0
        else:
            assert changed > 0.01
            stored = model.hparams["losses"]["flow"]["appearance"]
            assert {key: stored[key] for key in change} == change


def test_flow_term_enters_the_system_losses_when_weighted(tiny_system):
    model = tiny_system(losses={"flow": {"weight": 1.0}})
    frames = torch.rand(2, 3, 64, 64)
    _, parts, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64), frames.clone())
    assert parts["flow"].item() == pytest.approx(0.0, abs=1e-6)  # same frame twice: nothing moves
    _, without, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64))
    assert "flow" not in without


def test_flow_loss_computes_the_flow_with_the_configured_method_and_window(tiny_system, monkeypatch):
    import genlmk.systems.landmarks as landmarks_module

    calls = []

    def recording_flow(frames_a, frames_b, method, window):
        calls.append((method, window))
        return torch.zeros(frames_a.shape[0], 2, *frames_a.shape[-2:])

    monkeypatch.setattr(landmarks_module, "dense_flow", recording_flow)
    model = tiny_system(losses={"flow": {"weight": 1.0, "method": "dis", "window": 31}})
    frames = torch.rand(2, 3, 64, 64)
    model.generator_losses(frames, torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert calls == [("dis", 31), ("dis", 31)]  # forward and backward flow
    assert model.hparams["losses"]["flow"]["window"] == 31  # kept in the checkpoint's hyperparameters


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            {"method": "raft"},
            r"model\.losses\.flow\.method must be one of \('farneback', 'dis'\), got 'raft'",
        ),
        ({"window": 1}, r"model\.losses\.flow\.window must be at least 3 pixels, got 1"),
        ({"threshold": 0.0}, r"model\.losses\.flow\.threshold must be positive, got 0\.0"),
        ({"appearance": {"blur": 1.0}}, r"model\.losses\.flow\.appearance: unknown key\(s\) \['blur'\]"),
        ({"appearance": {"ramp": -0.1}}, r"model\.losses\.flow\.appearance\.ramp must not be negative"),
        (
            {"appearance": {"jpeg": 100}},
            r"model\.losses\.flow\.appearance\.jpeg must be 0 or a quality in \[1, 95\], got 100",
        ),
    ],
    ids=[
        "unknown_method",
        "window_too_small",
        "zero_threshold",
        "unknown_change",
        "negative_ramp",
        "bad_jpeg",
    ],
)
def test_bad_flow_settings_are_refused_when_the_model_is_built(option, message):
    from genlmk.errors import ConfigError
    from genlmk.systems.landmarks import LandmarkGAN

    with pytest.raises(ConfigError, match=message):
        LandmarkGAN(template="face", image_size=(64, 64), losses={"flow": option})
