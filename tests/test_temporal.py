from __future__ import annotations

import numpy as np
import pytest
import torch

from genlmk.data.unpaired import UnpairedFrames, build_augmentation, successor_index
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


def test_the_flow_threshold_option_reaches_the_loss(monkeypatch):
    import genlmk.systems.landmarks as landmarks_module

    directions = iter((0.5, -0.5))  # forward t -> t+1, then back: consistent, so trusted

    def half_pixel_shift(frames_a, frames_b, method, window):
        flow = torch.zeros(frames_a.shape[0], 2, *frames_a.shape[-2:])
        flow[:, 0] = next(directions)
        return flow

    monkeypatch.setattr(landmarks_module, "dense_flow", half_pixel_shift)
    model = landmarks_module.LandmarkGAN(
        template="face",
        image_size=(64, 64),
        weights={"flow": 1.0},
        flow_threshold=0.1,
        landmarker={"channels": [4, 8, 8, 8], "hidden": 16},
        generator={"ngf": 4, "blocks": 1},
        discriminator={"ndf": 4, "layers": 2},
    )
    frames = torch.rand(2, 3, 64, 64)
    # the same frame twice: the landmarks stay put and miss the flow's 0.5 px by 0.5 px each,
    # smooth-L1 0.5 - 0.1 / 2 = 0.45 (Huber at 1 px would give 0.125)
    _, parts, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64), frames.clone())
    assert parts["flow"].item() == pytest.approx(0.45, abs=1e-4)
    assert model.hparams.flow_threshold == 0.1  # kept in the checkpoint's hyperparameters


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
    augmented = UnpairedFrames(same, same, build_augmentation(True), None, np.array([1, -1]))
    for _ in range(5):
        item = augmented[0]
        assert torch.equal(item["unmarked"], item["unmarked_next"])


def test_flow_term_enters_the_system_losses_when_weighted():
    from genlmk.systems.landmarks import LandmarkGAN

    model = LandmarkGAN(
        template="face",
        image_size=(64, 64),
        weights={"flow": 1.0},
        landmarker={"channels": [4, 8, 8, 8], "hidden": 16},
        generator={"ngf": 4, "blocks": 1},
        discriminator={"ndf": 4, "layers": 2},
    )
    frames = torch.rand(2, 3, 64, 64)
    _, parts, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64), frames.clone())
    assert parts["flow"].item() == pytest.approx(0.0, abs=1e-6)  # same frame twice: nothing moves
    _, without, _ = model.generator_losses(frames, torch.rand(2, 3, 64, 64))
    assert "flow" not in without


def test_flow_loss_computes_the_flow_with_the_configured_method_and_window(monkeypatch):
    import genlmk.systems.landmarks as landmarks_module

    calls = []

    def recording_flow(frames_a, frames_b, method, window):
        calls.append((method, window))
        return torch.zeros(frames_a.shape[0], 2, *frames_a.shape[-2:])

    monkeypatch.setattr(landmarks_module, "dense_flow", recording_flow)
    model = landmarks_module.LandmarkGAN(
        template="face",
        image_size=(64, 64),
        weights={"flow": 1.0},
        flow_method="dis",
        flow_window=31,
        landmarker={"channels": [4, 8, 8, 8], "hidden": 16},
        generator={"ngf": 4, "blocks": 1},
        discriminator={"ndf": 4, "layers": 2},
    )
    frames = torch.rand(2, 3, 64, 64)
    model.generator_losses(frames, torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    assert calls == [("dis", 31), ("dis", 31)]  # forward and backward flow
    assert model.hparams.flow_window == 31  # kept in the checkpoint's hyperparameters


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"flow_method": "raft"}, r"model\.flow_method: expected one of \('farneback', 'dis'\), got 'raft'"),
        ({"flow_window": 1}, r"model\.flow_window must be at least 3 pixels, got 1"),
        ({"flow_threshold": 0.0}, r"model\.flow_threshold must be positive, got 0\.0"),
    ],
    ids=["unknown_method", "window_too_small", "zero_threshold"],
)
def test_bad_flow_settings_are_refused_when_the_model_is_built(option, message):
    from genlmk.errors import ConfigError
    from genlmk.systems.landmarks import LandmarkGAN

    with pytest.raises(ConfigError, match=message):
        LandmarkGAN(template="face", image_size=(64, 64), **option)
