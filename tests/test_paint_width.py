"""The filmed paint is wider or narrower than the template says: the model measures its width."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import small_template_dict
from test_paint_color import AUTHORED, SKIN, TINY, painted_frames

from genlmk.errors import ConfigError, InputDataError
from genlmk.rendering import MarkerRenderer, MarkerRenderSettings
from genlmk.rendering.paint_width import measure_paint_width
from genlmk.systems.landmarks import LandmarkGAN
from genlmk.template import Template

PAINT = torch.tensor(AUTHORED / 255.0, dtype=torch.float32)
BACKGROUND = torch.tensor(SKIN / 255.0, dtype=torch.float32)


def template(width: float = 2.0) -> Template:
    return Template.from_dict(
        small_template_dict(size=[64, 64], marker={"color": AUTHORED.astype(int).tolist(), "width": width})
    )


def filmed_frames(width: float, count: int = 6, seed: int = 0) -> torch.Tensor:
    """(count, 3, 64, 64) noisy skin frames with the template's lines painted ``width`` px wide,
    each shifted a little (as frames of a moving part are)."""
    generator = torch.Generator().manual_seed(seed)
    wide = template(width)
    renderer = MarkerRenderer(wide)
    skin = BACKGROUND.view(1, 3, 1, 1).expand(count, 3, 64, 64)
    frames = (skin + 0.04 * torch.randn(count, 3, 64, 64, generator=generator)).clamp(0, 1)
    points = torch.as_tensor(np.asarray(wide.points), dtype=torch.float32)
    shifts = 3 * (torch.rand(count, 1, 2, generator=generator) - 0.5)
    painted = renderer(frames, points + shifts).images
    return (painted + 0.01 * torch.randn(painted.shape, generator=generator)).clamp(0, 1)


@pytest.mark.parametrize("width", [1.5, 3.0, 5.0])
def test_the_measured_width_is_the_width_the_paint_was_drawn_with(width):
    measured = measure_paint_width(filmed_frames(width), PAINT, template(2.0), BACKGROUND)
    assert measured is not None
    assert abs(measured - width) < 0.15 * width


def test_frames_without_paint_have_no_width():
    skin = BACKGROUND.view(1, 3, 1, 1).expand(4, 3, 64, 64).contiguous()
    assert measure_paint_width(skin, PAINT, template(), BACKGROUND) is None


def test_calibration_renders_at_the_measured_width_and_the_checkpoint_keeps_it():
    model = LandmarkGAN(
        template=small_template_dict(
            size=[32, 32], marker={"color": AUTHORED.astype(int).tolist(), "width": 1.0}
        ),
        paint_color=AUTHORED.tolist(),
        paint_width="auto",
        **TINY,
    )
    authored_sigma = model.renderer.sigma
    frames = torch.nn.functional.interpolate(filmed_frames(5.0), size=(32, 32), mode="area")
    uint8 = (frames.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    model.calibrate_paint_width(uint8, "marked/")
    measured = model.hparams["paint_width"]
    assert 2.0 < measured < 3.2  # 5 px at 64 px is 2.5 px at 32 px
    assert model.template.marker.width == pytest.approx(measured, abs=0.01)
    assert model.renderer.sigma == pytest.approx(authored_sigma * measured / 1.0, rel=0.01)
    np.testing.assert_allclose(model.renderer.compositor.color.numpy() * 255, AUTHORED, atol=0.1)
    rebuilt = LandmarkGAN(**model.hparams)
    assert rebuilt.renderer.sigma == pytest.approx(model.renderer.sigma, rel=1e-3)


def test_marked_frames_without_paint_are_a_one_line_error_naming_them():
    model = LandmarkGAN(template=small_template_dict(size=[32, 32]), paint_width="auto", **TINY)
    with pytest.raises(InputDataError, match=r"^marked/: too little paint to measure its width"):
        model.calibrate_paint_width(painted_frames(3, SKIN, size=(32, 32)), "marked/")


@pytest.mark.parametrize("bad", ["measured", 0.0, -2.0])
def test_a_bad_paint_width_option_is_a_config_error(bad):
    with pytest.raises(ConfigError, match=r"model\.paint_width"):
        LandmarkGAN(template=small_template_dict(size=[32, 32]), paint_width=bad, **TINY)


def test_a_rendered_template_is_as_wide_as_its_marker_width_says():
    # the measure behind the calibration grows with the drawn width (the bisection needs it)
    from genlmk.rendering.paint_width import rendered_width_measure

    values = [
        rendered_width_measure(template(), w, PAINT, BACKGROUND, MarkerRenderSettings())
        for w in (1.0, 2.0, 4.0, 8.0)
    ]
    assert all(v is not None for v in values)
    assert values == sorted(values) and values[-1] > 2 * values[0]
