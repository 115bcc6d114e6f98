from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import small_template_dict

from genlmk.errors import ConfigError
from genlmk.geometry import normalized_to_pixels, pixels_to_ndc, pixels_to_normalized
from genlmk.rendering import (
    BACKENDS,
    MarkerRenderer,
    MarkerRenderSettings,
    ink_samples,
    pytorch3d_ink,
    splat_ink,
)
from genlmk.template import Template


def _landmarks(template, batch=2, jitter=0.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.as_tensor(template.points, dtype=torch.float32)
    return base + jitter * torch.randn(batch, *base.shape, generator=g)


def _centroid(coverage):
    """(B, 1, H, W) -> (B, 2) coverage-weighted centroid in pixels (x, y)."""
    h, w = coverage.shape[-2:]
    ys = torch.arange(h, dtype=coverage.dtype) + 0.5
    xs = torch.arange(w, dtype=coverage.dtype) + 0.5
    mass = coverage.sum(dim=(1, 2, 3))
    cx = (coverage.sum(dim=(1, 2)) * xs).sum(-1) / mass
    cy = (coverage.sum(dim=(1, 3)) * ys).sum(-1) / mass
    return torch.stack((cx, cy), -1)


def dense_separable_ink(positions, lengths, height, width, sigma):
    """Independent reference: the untruncated Gaussian sum as a (B,H,S) @ (B,S,W) product."""
    xs = torch.arange(width, dtype=positions.dtype) + 0.5
    ys = torch.arange(height, dtype=positions.dtype) + 0.5
    gx = torch.exp(-0.5 * ((xs - positions[..., 0:1]) / sigma) ** 2)
    gy = torch.exp(-0.5 * ((ys - positions[..., 1:2]) / sigma) ** 2)
    weights = lengths / (math.sqrt(2 * math.pi) * sigma)
    return torch.bmm((gy * weights[..., None]).transpose(1, 2), gx)[:, None]


def _iou(a, b):
    inter = (a & b).sum().item()
    union = (a | b).sum().item()
    return inter / union


@pytest.mark.parametrize("name", ["face", "hand"])
def test_backends_agree_on_stroke_coverage_and_centroid(name):
    from genlmk.template import load_template

    template = load_template(name)
    landmarks = _landmarks(template, batch=3, jitter=1.5)
    cov = {b: MarkerRenderer(template, MarkerRenderSettings(backend=b)).coverage(landmarks) for b in BACKENDS}
    iou = _iou(cov["splat"] > 0.5, cov["pytorch3d"] > 0.5)
    assert iou >= 0.9, iou
    shift = (_centroid(cov["splat"]) - _centroid(cov["pytorch3d"])).abs().max().item()
    assert shift <= 0.25, shift


def test_backends_agree_on_non_square_images():
    template = Template.from_dict(small_template_dict())  # 32 x 24 canvas
    landmarks = _landmarks(template, batch=2, jitter=0.5)
    a = MarkerRenderer(template, MarkerRenderSettings(backend="splat")).coverage(landmarks)
    b = MarkerRenderer(template, MarkerRenderSettings(backend="pytorch3d")).coverage(landmarks)
    assert a.shape == b.shape == (2, 1, 24, 32)
    assert _iou(a > 0.5, b > 0.5) >= 0.9
    assert (a - b).abs().max().item() < 0.02


@pytest.mark.parametrize("backend", BACKENDS)
def test_ink_matches_the_dense_untruncated_reference(backend, face_template):
    renderer = MarkerRenderer(face_template, MarkerRenderSettings(backend=backend))
    landmarks = _landmarks(face_template, batch=2, jitter=2.0)
    landmarks[1, :4] -= 30.0  # some samples leave the image through the left edge
    positions, lengths = ink_samples(landmarks, renderer.sampling)
    reference = dense_separable_ink(positions.double(), lengths.double(), 128, 128, renderer.sigma)
    assert (renderer.ink(landmarks).double() - reference).abs().max().item() < 1e-4


def test_single_sample_lands_on_its_pixel_in_both_backends():
    # one sample at the centre of pixel (row 5, column 9) of a 12 x 20 image
    positions = torch.tensor([[[9.5, 5.5]]])
    lengths = torch.ones(1, 1)
    for ink in (splat_ink(positions, lengths, 12, 20, 0.6), pytorch3d_ink(positions, lengths, 12, 20, 0.6)):
        row, col = divmod(int(ink[0, 0].argmax()), 20)
        assert (row, col) == (5, 9)


def test_stroke_is_as_wide_as_the_marker_width():
    # a long horizontal stroke at y = 20.0 (a pixel boundary): coverage 0.5 lies width/2 away
    data = small_template_dict(
        size=[64, 40],
        landmarks=[{"name": "a", "x": 4.0, "y": 20.0}, {"name": "b", "x": 60.0, "y": 20.0}],
        lines=[["a", "b"]],
        marker={"color": [0, 0, 255], "width": 4.0},
    )
    template = Template.from_dict(data)
    for backend in BACKENDS:
        renderer = MarkerRenderer(template, MarkerRenderSettings(backend=backend))
        column = renderer.coverage(_landmarks(template, batch=1))[0, 0, :, 32].double().numpy()
        centers = np.arange(40) + 0.5
        above = centers < 20
        # interpolate where the profile crosses 0.5 on the upper side
        upper = np.interp(0.5, column[above], centers[above])
        assert abs((20.0 - upper) - 2.0) < 0.05, (backend, upper)


def test_painted_images_take_marker_colour_on_the_stroke(face_template):
    renderer = MarkerRenderer(face_template)
    images = torch.full((1, 3, 128, 128), 0.5)
    out = renderer(images, _landmarks(face_template, batch=1))
    color = torch.tensor(face_template.marker.color_unit).view(1, 3, 1, 1)
    on = out.coverage > 0.97
    assert on.any()
    assert torch.allclose(
        out.images.masked_select(on.expand_as(images)).view(3, -1).T,
        color.view(1, 3).expand(int(on.sum()), 3),
        atol=0.02,
    )
    far = (out.coverage < 1e-6).expand_as(images)
    assert torch.allclose(out.images.masked_select(far), images.masked_select(far), atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shift", [(3.0, 0.0), (-2.0, 5.0), (0.4, -1.3)])
def test_moving_landmarks_by_k_pixels_moves_the_stroke_by_k(backend, shift, hand_template):
    renderer = MarkerRenderer(hand_template, MarkerRenderSettings(backend=backend))
    landmarks = _landmarks(hand_template, batch=1)
    moved = landmarks + torch.tensor(shift)
    # ink is a well-sampled Gaussian profile: its centroid follows to a hundredth of a pixel
    ink_delta = _centroid(renderer.ink(moved)) - _centroid(renderer.ink(landmarks))
    assert torch.allclose(ink_delta[0], torch.tensor(shift), atol=0.01), ink_delta
    # coverage saturates (sharper edges), so sub-pixel shifts alias slightly on the pixel grid
    cov_delta = _centroid(renderer.coverage(moved)) - _centroid(renderer.coverage(landmarks))
    assert torch.allclose(cov_delta[0], torch.tensor(shift), atol=0.1), cov_delta


def test_integer_shift_rolls_the_coverage_image(hand_template):
    renderer = MarkerRenderer(hand_template)
    landmarks = _landmarks(hand_template, batch=1)
    base = renderer.coverage(landmarks)
    moved = renderer.coverage(landmarks + torch.tensor([4.0, -3.0]))
    assert torch.allclose(moved, torch.roll(base, shifts=(-3, 4), dims=(2, 3)), atol=1e-5)


def test_splat_gradients_pass_gradcheck_in_double_precision():
    template = Template.from_dict(small_template_dict())
    renderer = MarkerRenderer(template)
    weights = torch.rand(1, 1, 24, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))

    def loss(lm):
        positions, lengths = ink_samples(lm, renderer.sampling)
        ink = splat_ink(positions, lengths, 24, 32, renderer.sigma)
        return (renderer.compositor.gain * ink * weights).sum()

    lm = _landmarks(template, batch=1, jitter=0.7).double().requires_grad_(True)
    assert torch.autograd.gradcheck(loss, (lm,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_are_finite_and_match_finite_differences(backend, face_template):
    renderer = MarkerRenderer(face_template, MarkerRenderSettings(backend=backend))
    weights = torch.rand(1, 1, 128, 128, generator=torch.Generator().manual_seed(1)).double()
    landmarks = _landmarks(face_template, batch=1, jitter=1.0).requires_grad_(True)

    def loss(lm):
        # summed in double so the finite differences are not lost to float32 rounding
        return (renderer.coverage(lm).double() * weights).sum()

    loss(landmarks).backward()
    grad = landmarks.grad
    assert torch.isfinite(grad).all()
    h = 0.02
    for index in (0, 20, 40, 60):
        for axis in (0, 1):
            step = torch.zeros_like(landmarks)
            step[0, index, axis] = h
            with torch.no_grad():
                numeric = (loss(landmarks + step) - loss(landmarks - step)).item() / (2 * h)
            analytic = grad[0, index, axis].item()
            assert abs(numeric - analytic) <= 0.02 * abs(numeric) + 2e-3, (index, axis, numeric, analytic)


def test_backends_give_matching_gradients(face_template):
    landmarks = _landmarks(face_template, batch=2, jitter=1.0)
    weights = torch.rand(2, 1, 128, 128, generator=torch.Generator().manual_seed(3))
    grads = []
    for backend in BACKENDS:
        lm = landmarks.clone().requires_grad_(True)
        (
            MarkerRenderer(face_template, MarkerRenderSettings(backend=backend)).coverage(lm) * weights
        ).sum().backward()
        grads.append(lm.grad)
    rel = (grads[0] - grads[1]).norm() / grads[0].norm()
    assert rel < 0.01, rel


def test_wrong_image_size_is_a_clear_error(face_template):
    renderer = MarkerRenderer(face_template)
    with pytest.raises(ValueError, match=r"images are 64x64 but template 'face' is drawn on 128x128"):
        renderer(torch.rand(1, 3, 64, 64), _landmarks(face_template, batch=1))
    with pytest.raises(ValueError, match=r"landmarks must have shape \(B, 68, 2\)"):
        renderer(torch.rand(1, 3, 128, 128), torch.zeros(1, 10, 2))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"backend": "opengl"},
            r"model\.renderer\.backend must be one of \('splat', 'pytorch3d'\), got 'opengl'",
        ),
        ({"center_coverage": 0.5}, r"model\.renderer\.center_coverage must be in \(0\.5, 1\), got 0\.5"),
        ({"sample_spacing": 0.0}, r"model\.renderer\.sample_spacing must be in \(0, 3\] sigma"),
        ({"truncate": 1.0}, r"model\.renderer\.truncate must be at least 2 sigma, got 1\.0"),
        ({"points_per_pixel": 0}, r"model\.renderer\.points_per_pixel must be at least 1, got 0"),
    ],
)
def test_bad_render_settings_are_one_line_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        MarkerRenderSettings(**options)


def test_coordinate_conversions_round_trip_and_match_conventions():
    pts = torch.tensor([[0.0, 0.0], [32.0, 24.0], [16.0, 12.0]])
    ndc = pixels_to_ndc(pts, 24, 32)
    assert torch.allclose(ndc, torch.tensor([[32 / 24, 1.0], [-32 / 24, -1.0], [0.0, 0.0]]))
    for align in (False, True):
        back = normalized_to_pixels(pixels_to_normalized(pts, 24, 32, align), 24, 32, align)
        assert torch.allclose(back, pts, atol=1e-5)
    # align_corners=True puts the first and last pixel centres at -1 and +1
    centres = torch.tensor([[0.5, 0.5], [31.5, 23.5]])
    assert torch.allclose(
        pixels_to_normalized(centres, 24, 32, True), torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    )
