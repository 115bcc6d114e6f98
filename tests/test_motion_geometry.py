from __future__ import annotations

import numpy as np
import pytest
import torch

from genlmk.geometry.coordinates import normalized_to_pixels
from genlmk.geometry.flow import dense_flow, flow_consistency_mask, warp_with_flow
from genlmk.geometry.keypoints import (
    Keypoints,
    convex_hull_area,
    gaussian_heatmaps,
    heatmap_expectation,
    keypoint_grid,
    normalized_shape,
    relative_keypoints,
)
from genlmk.geometry.transforms import RandomWarp, sample_warp, warp_images, warp_jacobian, warp_points


def _texture(height: int = 64, width: int = 64, seed: int = 0) -> torch.Tensor:
    """(1, 3, H, W) smooth random texture in [0, 1] (trackable by optical flow)."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 4, width // 4, generator=generator)
    return torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic").clamp(0, 1)


# ------------------------------------------------------------------------------------------ keypoints


def test_keypoint_grid_puts_corner_pixel_centres_at_plus_minus_one():
    grid = keypoint_grid(3, 5)
    assert grid.shape == (3, 5, 2)
    assert grid[0, 0].tolist() == [-1, -1] and grid[-1, -1].tolist() == [1, 1]
    assert grid[1, 2].tolist() == [0, 0]
    # the same points are the pixel centres in genlmk pixels (align_corners=True convention)
    pixels = normalized_to_pixels(grid, 3, 5, align_corners=True)
    assert torch.allclose(pixels[2, 4], torch.tensor([4.5, 2.5]))


def test_heatmap_expectation_of_a_gaussian_is_its_centre():
    centre = torch.tensor([[[0.3, -0.4]]])
    bump = gaussian_heatmaps(centre, 41, 41, variance=0.005)
    assert bump.shape == (1, 1, 41, 41) and float(bump.max()) <= 1
    heatmap = bump / bump.sum(dim=(-2, -1), keepdim=True)
    assert torch.allclose(heatmap_expectation(heatmap), centre, atol=1e-4)


def test_relative_keypoints_follow_the_reference_formula():
    source = Keypoints(
        torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]) * 0.2, torch.eye(2).expand(1, 3, 2, 2) * 2
    )
    initial = Keypoints(
        torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]]) * 0.4, torch.eye(2).expand(1, 3, 2, 2)
    )
    driving = Keypoints(initial.value + 0.1, torch.tensor([[0.0, -1.0], [1.0, 0.0]]).expand(1, 3, 2, 2))
    plain = relative_keypoints(source, driving, initial)
    assert torch.allclose(plain.value, source.value + 0.1)
    assert torch.allclose(plain.jacobian, driving.jacobian @ source.jacobian)  # J_d J_d0^-1 J_s with J_d0 = I
    # hull areas 0.02 and 0.08: displacements scale by sqrt(0.02 / 0.08) = 0.5
    scaled = relative_keypoints(source, driving, initial, adapt_scale=True)
    assert torch.allclose(scaled.value, source.value + 0.05, atol=1e-6)


def test_convex_hull_area_and_normalized_shape():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2], [1, 1]], dtype=float)
    assert convex_hull_area(square) == pytest.approx(4.0)
    assert convex_hull_area(square[:2]) == 0.0
    points = torch.rand(1, 6, 2)
    moved = points * 3.0 + torch.tensor([5.0, -2.0])
    assert torch.allclose(normalized_shape(points), normalized_shape(moved), atol=1e-5)


# ----------------------------------------------------------------------------------------- transforms


def test_identity_warp_leaves_points_and_images_unchanged():
    warp = sample_warp(2, sigma_affine=0.0)
    images = torch.rand(2, 3, 9, 11)
    assert torch.allclose(warp_images(warp, images), images, atol=1e-6)
    points = torch.rand(2, 5, 2) * 2 - 1
    assert torch.equal(warp_points(warp, points), points)


def test_closed_form_warp_jacobian_equals_autograd():
    warp = sample_warp(
        3, sigma_affine=0.1, sigma_tps=0.05, points_tps=5, generator=torch.Generator().manual_seed(1)
    )
    points = (torch.rand(3, 7, 2, dtype=torch.float64) * 1.8 - 0.9).requires_grad_(True)
    warp64 = RandomWarp(*(t.double() for t in warp))
    out = warp_points(warp64, points)
    rows = [torch.autograd.grad(out[..., i].sum(), points, retain_graph=True)[0] for i in range(2)]
    assert torch.allclose(warp_jacobian(warp64, points.detach()), torch.stack(rows, dim=-2), atol=1e-10)


def test_warped_image_shows_the_original_at_the_warped_points():
    warp = sample_warp(
        1, sigma_affine=0.08, sigma_tps=0.01, points_tps=5, generator=torch.Generator().manual_seed(4)
    )
    centre = torch.tensor([[[0.2, -0.1]]])
    image = gaussian_heatmaps(centre, 96, 96, variance=0.002).expand(1, 3, 96, 96)
    warped = warp_images(warp, image)[:, :1]
    found = heatmap_expectation(warped / warped.sum(dim=(-2, -1), keepdim=True))
    # warped(z) = image(T(z)): the blob of the warped image sits where T maps onto the original centre
    assert torch.allclose(warp_points(warp, found), centre, atol=0.01)


# ----------------------------------------------------------------------------------------------- flow


@pytest.mark.parametrize(("method", "window"), [("farneback", 15), ("farneback", 31), ("dis", 15)])
def test_dense_flow_recovers_a_known_shift_in_pixels(method, window):
    big = _texture(96, 96)
    a, b = big[..., 16:80, 16:80], big[..., 14:78, 19:83]  # content moves 3 px left and 2 px down
    flow = dense_flow(a, b, method, window)
    assert flow.shape == (1, 2, 64, 64) and flow.dtype == torch.float32
    interior = flow[..., 12:-12, 12:-12]
    assert interior[:, 0].median().item() == pytest.approx(-3.0, abs=0.3)
    assert interior[:, 1].median().item() == pytest.approx(2.0, abs=0.3)


def test_warping_b_with_the_flow_a_to_b_reproduces_a():
    big = _texture(96, 96, seed=2)
    a, b = big[..., 16:80, 16:80], big[..., 14:78, 19:83]
    aligned = warp_with_flow(b, dense_flow(a, b))
    assert (aligned - a)[..., 10:-10, 10:-10].abs().mean() < 0.2 * (b - a)[..., 10:-10, 10:-10].abs().mean()


def test_consistency_mask_accepts_inverse_flows_and_rejects_contradictions():
    forward = torch.zeros(1, 2, 20, 30)
    forward[:, 0] = 2.0
    good = flow_consistency_mask(forward, -forward)
    assert good.shape == (1, 1, 20, 30) and good.dtype == torch.bool
    assert good[..., :, :27].all()  # targets inside the frame and the backward flow returns
    assert not good[..., :, -1].any()  # x + 2 leaves the 30 px frame
    assert not flow_consistency_mask(forward, forward).any()


def test_dense_flow_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown optical flow method 'raft'"):
        dense_flow(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), "raft")
    with pytest.raises(ValueError, match=r"same shape, got \(1, 3, 8, 8\) and \(1, 3, 8, 9\)"):
        dense_flow(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="window must be at least 3 pixels, got 1"):
        dense_flow(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8), window=1)


def test_farneback_window_sets_how_far_the_flow_is_averaged():
    # a shear: each row moves by a different amount, so averaging over more rows changes the flow
    big = _texture(96, 96, seed=3)
    a = big[..., 16:80, 16:80]
    shear = torch.tensor([[[1.0, 0.08, 0.0], [0.0, 1.0, 0.0]]])
    grid = torch.nn.functional.affine_grid(shear, a.shape, align_corners=False)
    b = torch.nn.functional.grid_sample(a, grid, align_corners=False, padding_mode="border")
    narrow, wide = dense_flow(a, b, window=9), dense_flow(a, b, window=31)
    assert (narrow - wide)[..., 16:-16, 16:-16].abs().mean() > 0.01
