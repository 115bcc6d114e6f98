from __future__ import annotations

import numpy as np
import pytest

from genlmk.data.augmentation import build_augmentation
from genlmk.data.unpaired import augmentation_from_options
from genlmk.errors import ConfigError


def _steps(pipeline) -> list[str]:
    return [type(step).__name__ for step in pipeline.transforms]


def test_nothing_asked_for_is_no_pipeline():
    assert build_augmentation(("frame1",)) is None
    assert build_augmentation(jitter={}) is None
    assert augmentation_from_options(False) is None and augmentation_from_options(None) is None


def test_steps_run_in_one_fixed_order():
    every = build_augmentation(
        horizontal_flip=True,
        affine={"rotate": 5, "scale": 0.1, "translate": 0.1},
        jitter={"hue": 0.1},
        noise=0.02,
        blur=0.1,
    )
    assert _steps(every) == ["HorizontalFlip", "Affine", "ColorJitter", "GaussNoise", "GaussianBlur"]
    # the motion data's flip + jitter, the landmark data's affine, jitter at 70 %, noise and blur
    assert _steps(build_augmentation(horizontal_flip=True, jitter={"brightness": 0.2})) == [
        "HorizontalFlip",
        "ColorJitter",
    ]
    landmark = augmentation_from_options({"color": 0.2})
    assert _steps(landmark) == ["Affine", "ColorJitter", "GaussNoise", "GaussianBlur"]
    jitter = landmark.transforms[1]
    assert jitter.p == 0.7 and jitter.saturation == (0.9, 1.1) and jitter.hue == (0.0, 0.0)
    with pytest.raises(ConfigError, match="unknown augment options"):
        augmentation_from_options({"colour": 0.2})


def test_every_named_frame_gets_the_same_draw():
    pipeline = build_augmentation(("frame1", "frame2"), horizontal_flip=True, jitter={"brightness": 0.4})
    frame = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)
    outputs = []
    for seed in range(6):
        pipeline.set_random_seed(seed)
        out = pipeline(image=frame, frame1=frame, frame2=frame)
        assert np.array_equal(out["image"], out["frame1"]) and np.array_equal(out["image"], out["frame2"])
        outputs.append(out["image"])
    assert any(not np.array_equal(outputs[0], other) for other in outputs[1:])


def test_white_balance_scales_each_channel_by_its_own_gain_within_range():
    pipeline = augmentation_from_options(
        {"white_balance": 0.3, "rotate": 0, "scale": 0, "translate": 0, "color": 0, "noise": 0, "blur": 0}
    )
    assert "MultiplicativeNoise" in _steps(pipeline)
    assert "MultiplicativeNoise" not in _steps(augmentation_from_options(True))  # off by default
    frame = np.full((8, 8, 3), 100, dtype=np.uint8)
    gains = []
    for seed in range(40):
        pipeline.set_random_seed(seed)
        out = pipeline(image=frame)["image"].astype(float)
        assert np.ptp(out.reshape(-1, 3), axis=0).max() <= 1  # one gain per channel, not per pixel
        gains.append(out[0, 0] / 100.0)
    gains = np.array(gains)
    assert gains.min() >= 0.69 and gains.max() <= 1.31
    # the channels move apart (a new light colour), not only together (exposure)
    assert np.ptp(gains, axis=1).max() > 0.2
