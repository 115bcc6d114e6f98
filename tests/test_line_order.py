"""The line order term: landmarks must not slide round an eye or a lip, nor along a jaw line."""

from __future__ import annotations

import math

import pytest
import torch

from genlmk.errors import ConfigError
from genlmk.losses import line_order_loss
from genlmk.losses.line_order import similarity_to_template
from genlmk.systems.landmarks import LandmarkGAN
from genlmk.template import load_template

FACE = load_template("face").rescaled((128, 128))
POINTS = torch.tensor(FACE.points, dtype=torch.float32)
LINES = [torch.tensor(line) for line in FACE.closed_lines]
CLOSED = [True] * len(LINES)


def _similarity(
    points: torch.Tensor, degrees: float, scale: float, shift: tuple[float, float]
) -> torch.Tensor:
    angle = math.radians(degrees)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    center = points.mean(dim=0)
    return (points - center) @ rotation.T * scale + center + torch.tensor(shift)


def _slid(points: torch.Tensor, line: torch.Tensor, places: int) -> torch.Tensor:
    """``points`` with each point of ``line`` moved to where its neighbour ``places`` on belongs."""
    slid = points.clone()
    slid[line] = points[line.roll(-places)]
    return slid


def test_face_template_lists_its_closed_lines_without_the_repeated_point():
    names = [[FACE.names[i] for i in line] for line in FACE.closed_lines]
    assert [line[0] for line in names] == ["eye_r_0", "eye_l_0", "mouth_outer_00", "mouth_inner_0"]
    assert all(len(set(line)) == len(line) >= 3 for line in FACE.closed_lines)
    assert len(FACE.closed_lines) == sum(FACE.is_closed(k) for k in range(len(FACE.lines)))


def test_similarity_to_template_recovers_rotation_and_scale():
    moved = _similarity(POINTS, 30.0, 1.2, (4.0, -3.0))
    a, b = similarity_to_template(moved[None], POINTS)[0].tolist()
    assert math.hypot(a, b) == pytest.approx(1.2, abs=1e-4)
    assert math.degrees(math.atan2(b, a)) == pytest.approx(30.0, abs=1e-3)


def test_order_loss_is_zero_for_the_template_under_any_similarity_motion():
    moved = torch.stack([_similarity(POINTS, d, s, (5.0, 2.0)) for d, s in ((0, 1.0), (40, 0.8), (-75, 1.3))])
    assert line_order_loss(moved, POINTS, LINES, CLOSED).item() == pytest.approx(0.0, abs=1e-4)


def test_order_loss_leaves_a_changed_shape_alone_but_not_a_slide():
    # an eye half closed (squashed to half its height about its centroid) keeps its order
    eye = LINES[0]
    squashed = POINTS.clone()
    center = POINTS[eye].mean(dim=0)
    squashed[eye, 1] = center[1] + 0.5 * (POINTS[eye, 1] - center[1])
    assert line_order_loss(squashed[None], POINTS, LINES, CLOSED).item() == 0.0
    for places in (1, -1):
        slid = _slid(POINTS, eye, places)
        # one line of four slid by one place: its misfit is its whole squared spacing, minus the margin
        assert line_order_loss(slid[None], POINTS, LINES, CLOSED).item() > 1.0


def test_order_loss_catches_a_slide_along_part_of_a_line():
    # a partial slide the other terms accept: two lip points each take the place before theirs, and
    # the point they push out sits inside the mouth, on the inner lip's paint
    lip = LINES[2]
    partial = POINTS.clone()
    partial[lip[5:7]] = POINTS[lip[4:6]]
    partial[lip[4]] = POINTS[lip].mean(dim=0) + torch.tensor([0.0, -1.0])
    assert line_order_loss(partial[None], POINTS, LINES, CLOSED).item() > 0.5


def test_order_loss_gradient_turns_a_slid_line_back():
    slid = _similarity(_slid(POINTS, LINES[2], 1), 20.0, 1.1, (0.0, 0.0)).requires_grad_(True)
    optimizer = torch.optim.SGD([slid], lr=0.5)
    before = line_order_loss(slid[None], POINTS, LINES, CLOSED).item()
    for _ in range(100):
        optimizer.zero_grad()
        line_order_loss(slid[None], POINTS, LINES, CLOSED).backward()
        optimizer.step()
    after = line_order_loss(slid[None], POINTS, LINES, CLOSED).item()
    assert before > 1.0 and after == 0.0


def _jaw_slid_along_a_stretch(points: torch.Tensor, jaw: torch.Tensor) -> torch.Tensor:
    """A slide along an open line that its stroke cannot reveal: the ends held, points 5-15 each at
    the place before theirs, so 1-4 bunch up before them and the last stretch is spread."""
    slid = points.clone()
    slid[jaw[5:16]] = points[jaw[4:15]]
    slid[jaw[1:5]] = points[jaw[0]] + (points[jaw[4]] - points[jaw[0]]) * torch.linspace(0.2, 0.8, 4)[:, None]
    return slid


def test_order_loss_catches_a_slide_along_an_open_line_only_when_open_lines_are_given():
    (jaw_line,) = [k for k, line in enumerate(FACE.lines) if FACE.names[line[0]] == "jaw_00"]
    jaw = torch.tensor(FACE.lines[jaw_line])
    assert not FACE.is_closed(jaw_line)
    slid = _jaw_slid_along_a_stretch(POINTS, jaw)
    assert line_order_loss(slid[None], POINTS, LINES, CLOSED).item() == 0.0  # closed lines only: unseen
    assert line_order_loss(slid[None], POINTS, [jaw], [False]).item() > 1.0
    assert line_order_loss(POINTS[None], POINTS, [jaw], [False]).item() == 0.0


def test_an_open_lines_ends_are_not_neighbours():
    # a C-shaped open line whose ends are 2 px apart; its first point moved 1.5 px towards its last
    angles = torch.linspace(0.3, 2 * math.pi - 0.3, 9)
    template = torch.stack((torch.cos(angles), torch.sin(angles)), dim=-1) * 4.0
    line = torch.arange(9)
    moved = template.clone()
    moved[0] += (template[-1] - template[0]) * 0.75
    assert line_order_loss(moved[None], template, [line], [False]).item() == 0.0
    assert line_order_loss(moved[None], template, [line], [True]).item() > 0.0  # read as closed, it wraps


def test_order_loss_refuses_a_closed_flag_count_unlike_the_line_count():
    with pytest.raises(ValueError, match="4 lines but 1 closed flags"):
        line_order_loss(POINTS[None], POINTS, LINES, [True])


def test_order_loss_without_closed_lines_is_zero_and_keeps_the_graph():
    landmarks = POINTS[None].clone().requires_grad_(True)
    loss = line_order_loss(landmarks, POINTS, [], [])
    loss.backward()
    assert loss.item() == 0.0 and landmarks.grad is not None


def test_order_loss_refuses_a_ratio_outside_zero_one():
    with pytest.raises(ValueError, match=r"ratio must be in \(0, 1\), got 1.0"):
        line_order_loss(POINTS[None], POINTS, LINES, CLOSED, ratio=1.0)


def test_order_term_enters_the_system_losses_only_when_weighted(tiny_system):
    images = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    _, without, _ = tiny_system().generator_losses(*images)
    model = tiny_system(losses={"order": {"weight": 1.0}})
    # an untrained landmarker answers (nearly) the template: in order, so the hinge is at rest
    _, parts, _ = model.generator_losses(*images)
    assert "order" not in without
    assert parts["order"].item() == pytest.approx(0.0, abs=1e-6)
    slid = _slid(model.template_points, torch.tensor(model.template.closed_lines[0]), 1)
    assert model._order_loss(slid[None]).item() > 1.0


def test_the_order_term_takes_the_open_lines_by_default_and_closed_ones_only_when_asked(tiny_system):
    closed_only = tiny_system(image_size=(128, 128), losses={"order": {"weight": 1.0, "lines": "closed"}})
    every_line = tiny_system(image_size=(128, 128), losses={"order": {"weight": 1.0}})
    # the default, kept in the checkpoint's hyperparameters
    assert every_line.hparams["losses"]["order"]["lines"] == "all"
    (jaw_line,) = [k for k, line in enumerate(FACE.lines) if FACE.names[line[0]] == "jaw_00"]
    slid = _jaw_slid_along_a_stretch(every_line.template_points, torch.tensor(FACE.lines[jaw_line]))
    assert closed_only._order_loss(slid[None]).item() == 0.0
    assert every_line._order_loss(slid[None]).item() > 1.0
    assert every_line._order_loss(every_line.template_points[None]).item() == 0.0


def test_an_unknown_order_lines_setting_is_refused_when_the_model_is_built():
    with pytest.raises(ConfigError, match=r"model\.losses\.order\.lines must be one of .*, got 'open'"):
        LandmarkGAN(template="face", losses={"order": {"lines": "open"}}, image_log_every=0)
