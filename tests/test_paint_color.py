"""Paint films in another colour than it was authored in: the model measures it in the marked frames."""

from __future__ import annotations

import cv2
import lightning as L
import numpy as np
import pytest
import torch
from conftest import small_template_dict

from genlmk.data.unpaired import UnpairedFramesDataModule
from genlmk.errors import ConfigError, InputDataError
from genlmk.losses import estimate_paint_color, paint_weights
from genlmk.systems.landmarks import LandmarkGAN
from genlmk.template import Template

AUTHORED = np.array([25.0, 50.0, 210.0])
# warm, dim light: red up, blue down, a third of the brightness
FILMED = AUTHORED * np.array([1.08, 1.0, 0.86]) * 0.36
TINY = {
    "image_size": (32, 32),
    "landmarker": {"channels": [4, 4, 4, 4], "hidden": 8, "coords": True},
    "generator": {"ngf": 4, "blocks": 1, "residual": True},
    "discriminator": {"ndf": 4, "layers": 2},
    "image_log_every": 0,
}


SKIN = np.array([150.0, 110.0, 90.0])


def painted_frames(
    count: int, color: np.ndarray, size: tuple[int, int] = (64, 48), seed: int = 0
) -> np.ndarray:
    """(count, H, W, 3) uint8 skin-toned noisy frames with a stroke of ``color`` across each."""
    rng = np.random.default_rng(seed)
    width, height = size
    frames = []
    for _ in range(count):
        frame = np.clip(rng.normal([150, 110, 90], 12, (height, width, 3)), 0, 255)
        y = int(rng.integers(8, height - 8))
        cv2.line(frame, (4, y), (width - 4, y + 4), color.tolist(), 2)
        frames.append(np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8))
    return np.stack(frames)


def to_batch(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0


def test_the_estimate_is_the_filmed_colour_and_segments_the_paint_the_authored_one_misses():
    frames = to_batch(painted_frames(6, FILMED))
    estimate = estimate_paint_color(frames, torch.tensor(AUTHORED / 255.0))
    assert estimate is not None
    np.testing.assert_allclose(estimate.numpy() * 255, FILMED, atol=3.0)
    stroke_pixels = 6 * 2 * 58  # six frames, a 2 px line about 58 px long
    found_filmed = float(paint_weights(frames, estimate).sum())
    found_authored = float(paint_weights(frames, torch.tensor(AUTHORED / 255.0)).sum())
    assert found_filmed > 0.6 * stroke_pixels
    assert found_authored < 0.05 * stroke_pixels


def test_frames_without_paint_give_no_estimate():
    frames = to_batch(painted_frames(4, SKIN))  # the "paint" is skin
    assert estimate_paint_color(frames, torch.tensor(AUTHORED / 255.0)) is None


def template_dict() -> dict:
    return small_template_dict(size=[32, 32], marker={"color": AUTHORED.astype(int).tolist(), "width": 2.0})


def test_calibration_sets_renderer_segmentation_and_hyperparameter():
    model = LandmarkGAN(template=template_dict(), **TINY)
    model.calibrate_paint_color(painted_frames(5, FILMED, size=(32, 32)), "marked/")
    measured = np.array(model.hparams["paint_color"])
    np.testing.assert_allclose(measured, FILMED, atol=3.0)
    np.testing.assert_allclose(model.renderer.compositor.color.numpy() * 255, measured, atol=0.1)
    np.testing.assert_allclose(model.marker_color.numpy() * 255, measured, atol=0.1)
    # a model built from the saved hyperparameters paints in the measured colour
    rebuilt = LandmarkGAN(**{**model.hparams, "template": model.hparams["template"]})
    np.testing.assert_allclose(rebuilt.renderer.compositor.color.numpy() * 255, measured, atol=0.1)


def test_marked_frames_without_the_paint_are_a_one_line_error_naming_them():
    model = LandmarkGAN(template=template_dict(), **TINY)
    with pytest.raises(InputDataError, match=r"^marked/: no paint of the template's colour \[25, 50, 210\]"):
        model.calibrate_paint_color(painted_frames(3, SKIN, size=(32, 32)), "marked/")


@pytest.mark.parametrize("bad", ["measured", [1, 2], [0, 0, 300]])
def test_a_bad_paint_color_option_is_a_config_error(bad):
    with pytest.raises(ConfigError, match=r"model\.paint_color"):
        LandmarkGAN(template=template_dict(), paint_color=bad, **TINY)


def test_fitting_measures_the_colour_in_the_datamodule_s_marked_frames(tmp_path):
    from genlmk.data.images import write_image

    for name, color in (("marked", FILMED), ("unmarked", SKIN)):
        for index, frame in enumerate(painted_frames(4, color, size=(32, 32))):
            write_image(tmp_path / name / f"{index:02d}.png", frame)
    Template.from_dict(template_dict()).save(tmp_path / "template.yaml")
    data = UnpairedFramesDataModule(
        str(tmp_path / "marked"), str(tmp_path / "unmarked"), (32, 32), batch_size=2, val_fraction=0.0
    )
    model = LandmarkGAN(template=str(tmp_path / "template.yaml"), **TINY)
    quiet = {"enable_progress_bar": False, "enable_model_summary": False}
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, **quiet)
    trainer.fit(model, datamodule=data)
    np.testing.assert_allclose(model.hparams["paint_color"], FILMED, atol=4.0)
