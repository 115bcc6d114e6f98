"""Decoy paint: strokes drawn away from the part and taken off by G must not move the answer."""

from __future__ import annotations

import pytest
import torch
from conftest import small_template_dict
from test_paint_color import TINY

from genlmk.errors import ConfigError
from genlmk.losses import decoy_invariance_loss, decoy_placement
from genlmk.systems.landmarks import LandmarkGAN


def landmarks(batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, 9, 2, generator=torch.Generator().manual_seed(0)) * 40 + 10


def pairwise(points: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points, points)


def test_a_decoy_without_spread_is_the_landmarks_themselves():
    points = landmarks()
    torch.testing.assert_close(decoy_placement(points, 0.0, 0.0, 0.0), points)


def test_a_shifted_and_turned_decoy_keeps_the_shape_and_moves_it():
    points = landmarks(64)
    moved = decoy_placement(points, 5.0, 0.0, 10.0, torch.Generator().manual_seed(1))
    torch.testing.assert_close(pairwise(moved), pairwise(points), atol=1e-4, rtol=1e-4)
    offsets = (moved.mean(1) - points.mean(1)).std(0)
    assert torch.all((offsets > 3.5) & (offsets < 6.5))  # about the asked 5 px per axis


def test_a_zoomed_decoy_scales_every_distance_alike():
    points = landmarks(16)
    moved = decoy_placement(points, 0.0, 0.2, 0.0, torch.Generator().manual_seed(2))
    ratio = pairwise(moved)[:, 0, 1:] / pairwise(points)[:, 0, 1:]
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio), atol=1e-4, rtol=1e-4)
    assert float(ratio[:, 0].log().std()) > 0.1


def test_the_loss_pulls_only_the_decoy_answer():
    clean = landmarks().requires_grad_(True)
    on_decoy = (landmarks() + 2.0).requires_grad_(True)
    loss = decoy_invariance_loss(on_decoy, clean, threshold=1.0)
    assert loss.item() == pytest.approx(1.5)  # smooth L1 of a 2 px miss with a 1 px threshold
    loss.backward()
    assert clean.grad is None and on_decoy.grad is not None
    assert float(decoy_invariance_loss(clean, clean)) == 0.0


def test_the_decoy_term_trains_the_landmarker_and_not_the_generator():
    model = LandmarkGAN(
        template=small_template_dict(size=[32, 32]), losses={"decoy": {"weight": 1.0}}, **TINY
    )
    torch.manual_seed(0)
    with torch.no_grad():  # a landmarker whose answer depends on the image
        for parameter in model.landmarker.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    loss = model._decoy_loss(torch.rand(2, 3, 32, 32), model.landmarker.landmarks(torch.rand(2, 3, 32, 32)))
    assert float(loss) > 0
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.landmarker.parameters())
    assert all(p.grad is None for p in model.generator.parameters())


@pytest.mark.parametrize("bad", [{"shift": -0.1}, {"rotate": -1.0}, {"threshold": 0.0}])
def test_bad_decoy_settings_are_config_errors(bad):
    with pytest.raises(ConfigError, match=r"model\.losses\.decoy\."):
        LandmarkGAN(template=small_template_dict(size=[32, 32]), losses={"decoy": bad}, **TINY)
