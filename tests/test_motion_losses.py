from __future__ import annotations

import pytest
import torch
from torch import nn

from genlmk.errors import WeightsNotFoundError
from genlmk.geometry.filters import image_pyramid
from genlmk.geometry.keypoints import gaussian_heatmaps, heatmap_expectation
from genlmk.geometry.transforms import RandomWarp, sample_warp, warp_jacobian, warp_points
from genlmk.losses.adversarial import feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss
from genlmk.losses.equivariance import equivariance_jacobian_loss, equivariance_value_loss
from genlmk.losses.flow_keypoints import flow_heatmap_loss, warp_heatmaps_with_flow
from genlmk.losses.perceptual import ImageAsFeatures, VGG19Features, pyramid_perceptual_loss


class TwoConvFeatures(nn.Module):
    """A small stand-in for VGG19: two feature maps."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, stride=2, padding=1)

    def forward(self, x):
        first = torch.relu(self.a(x))
        return [first, torch.relu(self.b(first))]


def test_perceptual_loss_with_pixels_is_a_weighted_pyramid_l1():
    a, b = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    pa, pb = image_pyramid(a, [1, 0.5]), image_pyramid(b, [1, 0.5])
    loss = pyramid_perceptual_loss(pa, pb, ImageAsFeatures(), [10.0])
    expected = 10 * ((pa[1] - pb[1]).abs().mean() + (pa[0.5] - pb[0.5]).abs().mean())
    assert torch.allclose(loss, expected)
    assert pyramid_perceptual_loss(pa, pa, ImageAsFeatures(), [10.0]) == 0


def test_perceptual_loss_sends_gradient_only_to_the_prediction():
    features = TwoConvFeatures()
    prediction = torch.rand(1, 3, 16, 16, requires_grad=True)
    target = torch.rand(1, 3, 16, 16, requires_grad=True)
    loss = pyramid_perceptual_loss(
        image_pyramid(prediction, [1, 0.5]), image_pyramid(target, [1, 0.5]), features, [1.0, 0.0]
    )
    loss.backward()
    assert prediction.grad.abs().sum() > 0 and target.grad is None
    with pytest.raises(ValueError, match="feature network gives 2 maps, but 5 weights"):
        pyramid_perceptual_loss({1: prediction}, {1: target}, features, [1.0] * 5)


def test_missing_vgg_weights_error_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "cache"))
    with pytest.raises(WeightsNotFoundError) as info:
        VGG19Features()
    message = str(info.value)
    assert "vgg19-dcbb9e9d.pth" in message and str(tmp_path / "cache" / "hub" / "checkpoints") in message
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    with pytest.raises(WeightsNotFoundError, match=r"nowhere\.pth: VGG19 weights not found"):
        VGG19Features(str(tmp_path / "nowhere.pth"))


def test_vgg_features_load_from_a_file_and_give_five_maps(tmp_path):
    from torchvision.models.vgg import cfgs, make_layers

    layers = make_layers(cfgs["E"])  # torchvision's vgg19().features without the classifier
    torch.save({f"features.{k}": v for k, v in layers.state_dict().items()}, tmp_path / "vgg.pth")
    network = VGG19Features(str(tmp_path / "vgg.pth"))
    maps = network(torch.rand(1, 3, 32, 32))
    assert [m.shape[1] for m in maps] == [64, 128, 256, 512, 512]
    assert [m.shape[-1] for m in maps] == [32, 16, 8, 4, 2]
    assert torch.equal(network.slices[4][-2].weight, layers[28].weight)  # conv5_1, just before relu5_1
    assert not any(p.requires_grad for p in network.parameters())
    torch.save({"something": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsNotFoundError, match=r"other\.pth: not torchvision's VGG19 weights"):
        VGG19Features(str(tmp_path / "other.pth"))


def test_lsgan_and_feature_matching_known_values():
    ones, zeros = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3)
    assert lsgan_generator_loss([ones]) == 0 and lsgan_generator_loss([zeros, zeros]) == 2
    assert lsgan_discriminator_loss([ones], [zeros]) == 0
    assert lsgan_discriminator_loss([zeros], [ones]) == 2
    real = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2, 2)]]
    fake = [[torch.full((1, 2, 4, 4), 0.5), torch.ones(1, 2, 2, 2)]]
    assert feature_matching_loss(real, fake, [10.0, 1.0]) == pytest.approx(6.0)
    assert feature_matching_loss(real, fake, [0.0, 1.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="2 discriminator blocks but 3 feature matching weights"):
        feature_matching_loss(real, fake, [1.0, 1.0, 1.0])


def test_equivariance_losses_vanish_for_exactly_equivariant_keypoints():
    warp = sample_warp(2, sigma_affine=0.1, sigma_tps=0.0, generator=torch.Generator().manual_seed(0))
    warped_value = torch.rand(2, 5, 2) * 1.6 - 0.8
    warped_jacobian = torch.eye(2) + 0.1 * torch.randn(2, 5, 2, 2)
    value = warp_points(warp, warped_value)
    jacobian = warp_jacobian(warp, warped_value) @ warped_jacobian
    assert equivariance_value_loss(value, warped_value, warp) < 1e-6
    assert equivariance_jacobian_loss(jacobian, warped_value, warped_jacobian, warp) < 1e-5
    assert equivariance_value_loss(value + 0.1, warped_value, warp) == pytest.approx(0.1, abs=1e-5)
    assert equivariance_jacobian_loss(2 * jacobian, warped_value, warped_jacobian, warp) == pytest.approx(
        0.25, abs=1e-4
    )


def _heatmap(x: float, y: float, size: int = 33) -> torch.Tensor:
    bump = gaussian_heatmaps(torch.tensor([[[x, y]]]), size, size, variance=0.004)
    return bump / bump.sum(dim=(-2, -1), keepdim=True)


def test_flow_loss_is_small_when_heatmaps_move_with_the_flow():
    # frame t+1 shows everything 8 px (of 64) to the right: back flow is -8 px in x everywhere
    flow_back = torch.zeros(1, 2, 64, 64)
    flow_back[:, 0] = -8.0
    step = 8 * 2 / 63  # in normalized units (align_corners=True)
    before, after, unmoved = _heatmap(-0.2, 0.1), _heatmap(-0.2 + step, 0.1), _heatmap(-0.2, 0.1)
    carried = warp_heatmaps_with_flow(before, flow_back)
    assert torch.allclose(heatmap_expectation(carried), heatmap_expectation(after), atol=1e-3)
    assert (carried - after).abs().max() < 0.05 * after.max()  # bilinear resampling blurs a little
    moving = flow_heatmap_loss(before, after, flow_back)
    assert moving < 0.1 < flow_heatmap_loss(before, unmoved, flow_back)
    assert flow_heatmap_loss(before, unmoved, flow_back, torch.zeros(1, 1, 64, 64, dtype=torch.bool)) == 0


def test_flow_loss_gradient_reaches_both_heatmaps():
    before = _heatmap(0.0, 0.0).requires_grad_(True)
    after = _heatmap(0.3, 0.0).requires_grad_(True)
    flow_heatmap_loss(before, after, torch.zeros(1, 2, 16, 16)).backward()
    assert before.grad.abs().sum() > 0 and after.grad.abs().sum() > 0


def test_random_warp_params_are_reproducible():
    a = sample_warp(2, 0.05, 0.005, 5, generator=torch.Generator().manual_seed(7))
    b = sample_warp(2, 0.05, 0.005, 5, generator=torch.Generator().manual_seed(7))
    assert (
        isinstance(a, RandomWarp) and a.control_points.shape == (25, 2) and a.control_params.shape == (2, 25)
    )
    assert all(torch.equal(x, y) for x, y in zip(a, b))
