from __future__ import annotations

import math

import pytest
import torch

from genlmk.losses import SpringLoss, chamfer_to_paint, paint_weights, sample_paint_points, spring_loss

EDGES = torch.tensor([[0, 1], [1, 2], [2, 0]])
TRIANGLE = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]])


def test_spring_is_zero_for_the_template_and_any_rigid_motion():
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = TRIANGLE @ rotation.T + torch.tensor([5.0, -2.0])
    landmarks = torch.stack([TRIANGLE, moved])
    assert spring_loss(landmarks, TRIANGLE, EDGES).item() == pytest.approx(0.0, abs=1e-6)


def test_spring_known_answer_for_a_uniform_stretch():
    # lengths 4, 5, 3 scaled by 1.5: changes 2, 2.5, 1.5 -> mean of squares 12.5 / 3
    landmarks = (TRIANGLE * 1.5)[None]
    assert spring_loss(landmarks, TRIANGLE, EDGES, stiffness=2.0).item() == pytest.approx(2.0 * 12.5 / 3)


def test_spring_module_equals_function_and_passes_gradcheck():
    landmarks = (TRIANGLE + 0.3 * torch.randn(2, 3, 2)).double().requires_grad_(True)
    module = SpringLoss(TRIANGLE, EDGES, stiffness=0.5).double()
    assert module(landmarks).item() == pytest.approx(
        spring_loss(landmarks, TRIANGLE.double(), EDGES, 0.5).item()
    )
    assert torch.autograd.gradcheck(lambda x: spring_loss(x, TRIANGLE.double(), EDGES), (landmarks,))


def test_spring_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"landmarks must be \(B, 3, 2\)"):
        spring_loss(torch.zeros(1, 4, 2), TRIANGLE, EDGES)


def test_paint_weights_find_the_paint_under_any_brightness():
    color = torch.tensor([0.1, 0.2, 0.8])
    images = torch.zeros(1, 3, 1, 4)
    images[0, :, 0, 0] = color  # paint
    images[0, :, 0, 1] = color * 0.8  # paint in shadow
    images[0, :, 0, 2] = torch.tensor([0.8, 0.6, 0.45])  # skin
    images[0, :, 0, 3] = color * 0.2  # far too dark to be this paint
    weights = paint_weights(images, color)[0, 0]
    assert weights[0] == pytest.approx(1.0, abs=1e-4) and weights[1] == pytest.approx(1.0, abs=1e-4)
    assert weights[2] < 1e-3 and weights[3] == 0


def test_paint_samples_come_only_from_painted_pixels():
    weights = torch.zeros(2, 6, 8)
    weights[0, 2, 5] = 10.0
    points, valid = sample_paint_points(weights, 16, min_pixels=1.0)
    assert valid.tolist() == [True, False]
    assert torch.equal(points[0], torch.tensor([5.5, 2.5]).expand(16, 2))


def test_chamfer_known_answer_for_a_small_offset_and_zero_when_aligned():
    stroke = torch.stack([torch.arange(20.0), torch.full((20,), 5.0)], dim=-1)[None]
    valid = torch.tensor([True])
    assert chamfer_to_paint(stroke, stroke.clone(), valid).item() == pytest.approx(0.0)
    # every paint point 0.5 px below its stroke point: each term is huber(0.5) = 0.125
    shifted = stroke + torch.tensor([0.0, 0.5])
    assert chamfer_to_paint(stroke, shifted, valid, huber=4.0).item() == pytest.approx(0.25)


def test_chamfer_pulls_strokes_onto_the_paint():
    paint = torch.stack([torch.arange(20.0), torch.full((20,), 5.0)], dim=-1)[None]
    stroke = (paint + torch.tensor([0.0, 3.0])).requires_grad_(True)
    chamfer_to_paint(stroke, paint, torch.tensor([True])).backward()
    assert (stroke.grad[0, :, 1] > 0).all()  # descending moves every sample up, towards the paint
    assert torch.isfinite(stroke.grad).all()


def test_chamfer_without_paint_is_zero_and_keeps_the_graph():
    stroke = torch.rand(2, 5, 2, requires_grad=True)
    loss = chamfer_to_paint(stroke, torch.rand(2, 7, 2), torch.tensor([False, False]))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(stroke.grad, torch.zeros_like(stroke))
