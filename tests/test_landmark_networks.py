from __future__ import annotations

import pytest
import torch

from genlmk.errors import CheckpointError
from genlmk.networks.cyclegan import (
    NLayerDiscriminator,
    ResnetGenerator,
    cyclegan_checkpoint_filter_fn,
    init_weights,
    load_cyclegan_weights,
)
from genlmk.networks.deformation import BinomialBlur, LandmarkDeformationNet, build_landmarker, soft_argmax


def _parameter_layers(model):
    return sorted({k.rsplit(".", 1)[0] for k in model.state_dict()})


def test_resnet_generator_has_the_reference_parameter_names():
    names = _parameter_layers(ResnetGenerator(ngf=8, blocks=9))
    expected = ["model.1", "model.4", "model.7", "model.19", "model.22", "model.26"]
    expected += [f"model.{i}.conv_block.{j}" for i in range(10, 19) for j in (1, 5)]
    assert names == sorted(expected)


def test_patchgan_has_the_reference_parameter_names_and_patch_output():
    disc = NLayerDiscriminator(ndf=8)
    assert _parameter_layers(disc) == sorted(f"model.{i}" for i in (0, 2, 5, 8, 11))
    assert disc(torch.rand(2, 3, 128, 128)).shape == (2, 1, 14, 14)


def test_generator_maps_unit_range_images_to_unit_range_images():
    gen = ResnetGenerator(ngf=8, blocks=2)
    init_weights(gen)
    out = gen(torch.rand(2, 3, 64, 48))
    assert out.shape == (2, 3, 64, 48)
    assert out.min() >= 0 and out.max() <= 1


def test_residual_generator_starts_close_to_the_identity():
    gen = ResnetGenerator(ngf=8, blocks=2, residual=True)
    init_weights(gen)
    gen.reset_head()
    images = torch.rand(2, 3, 32, 32) * 0.8 + 0.1
    assert (gen(images) - images).abs().mean() < 0.02
    plain = ResnetGenerator(ngf=8, blocks=2)
    init_weights(plain)
    assert (plain(images) - images).abs().mean() > 0.1


def test_reference_checkpoint_with_running_stats_and_dataparallel_prefix_loads(tmp_path):
    source = ResnetGenerator(ngf=8, blocks=3)
    init_weights(source)
    reference = {f"module.{k}": v for k, v in source.state_dict().items()}
    reference["module.model.2.running_mean"] = torch.zeros(8)  # what old checkpoints carry
    reference["module.model.2.running_var"] = torch.ones(8)
    torch.save(reference, tmp_path / "latest_net_G_A.pth")
    target = ResnetGenerator(ngf=8, blocks=3)
    load_cyclegan_weights(target, tmp_path / "latest_net_G_A.pth")
    images = torch.rand(1, 3, 32, 32)
    assert torch.allclose(target(images), source(images))


def test_mismatched_checkpoint_is_a_checkpoint_error_naming_the_file(tmp_path):
    torch.save(ResnetGenerator(ngf=8, blocks=2).state_dict(), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"g.pth: checkpoint does not fit ResnetGenerator"):
        load_cyclegan_weights(ResnetGenerator(ngf=8, blocks=3), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match=r"nope.pth: CycleGAN weights file not found"):
        load_cyclegan_weights(ResnetGenerator(ngf=8, blocks=3), tmp_path / "nope.pth")


def test_filter_passes_our_own_state_dict_through():
    gen = ResnetGenerator(ngf=8, blocks=2)
    assert cyclegan_checkpoint_filter_fn(gen.state_dict(), gen).keys() == gen.state_dict().keys()


@pytest.mark.parametrize("head", ["offsets", "affine", "heatmap"])
@pytest.mark.parametrize("coords", [False, True])
def test_deformation_net_starts_at_the_template(head, coords):
    # points up to the border and beyond it: the heatmap head's prior must still give them back
    points = torch.rand(11, 2) * torch.tensor([64.0, 52.0])
    net = LandmarkDeformationNet(points, (64, 48), channels=(4, 8, 8, 8), hidden=16, coords=coords, head=head)
    offsets = net(torch.rand(3, 3, 48, 64))
    assert offsets.shape == (3, 11, 2)
    assert offsets.abs().max() < 0.05
    assert torch.allclose(net.landmarks(torch.rand(1, 3, 48, 64)), points, atol=0.05)


def test_antialiased_net_blurs_before_each_stride_2_convolution_and_starts_at_the_template():
    points = torch.rand(11, 2) * torch.tensor([64.0, 48.0])
    net = LandmarkDeformationNet(
        points, (64, 48), channels=(8, 16, 32, 64), hidden=16, head="heatmap", norm="instance", antialias=True
    )
    assert torch.allclose(net.landmarks(torch.rand(2, 3, 48, 64)), points, atol=0.05)
    stages = [
        type(m).__name__
        for m in net.features
        if not isinstance(m, (torch.nn.InstanceNorm2d, torch.nn.LeakyReLU))
    ]
    assert stages == ["BinomialBlur", "Conv2d"] * 4


def _feature_change_under_a_one_pixel_move(antialias: bool, seed: int) -> float:
    torch.manual_seed(seed)  # the blur has no parameters: both nets get the same convolutions
    net = LandmarkDeformationNet(
        torch.rand(5, 2) * 64, (64, 64), channels=(8, 8, 8, 8), hidden=8, norm="instance", antialias=antialias
    )
    scene = torch.rand(2, 3, 80, 80, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        before, after = net.features(scene[..., 8:72, 8:72]), net.features(scene[..., 8:72, 9:73])
    return float((after - before).norm() / before.norm())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_antialiased_features_change_less_when_the_content_moves_by_one_pixel(seed):
    # fine texture moved by one pixel: the plain stride-2 stack aliases it, its 1/16 features change
    # about as much as for an unrelated image; blurred first, they change by a fraction of that
    plain = _feature_change_under_a_one_pixel_move(False, seed)
    blurred = _feature_change_under_a_one_pixel_move(True, seed)
    assert plain > 0.8 and blurred < 0.4 * plain


def test_binomial_blur_keeps_flat_images_and_removes_the_highest_frequency():
    blur = BinomialBlur(2)
    flat = torch.full((1, 2, 6, 7), 0.3)
    assert torch.allclose(blur(flat), flat)  # repeated edges: no darkening at the border
    rows, cols = torch.meshgrid(torch.arange(6), torch.arange(8), indexing="ij")
    checkerboard = ((rows + cols) % 2).float().expand(1, 2, 6, 8) * 2 - 1  # +-1: the Nyquist pattern
    assert blur(checkerboard)[..., 1:-1, 1:-1].abs().max() < 1e-6
    ramp = cols.float().expand(1, 2, 6, 8)
    assert torch.allclose(blur(ramp)[..., 1:-1], ramp[..., 1:-1])  # linear content is unchanged


def test_binomial_blur_gives_the_same_result_for_few_and_many_channels():
    # up to 4 channels it runs as shifted sums, above as a grouped convolution
    images = torch.rand(2, 8, 9, 11)
    many = BinomialBlur(8)(images)
    few = torch.cat([BinomialBlur(4)(images[:, :4]), BinomialBlur(4)(images[:, 4:])], dim=1)
    assert torch.allclose(few, many, atol=1e-6)
    assert not torch.allclose(many, images, atol=1e-2)


def test_soft_argmax_of_a_peak_is_its_cell_centre_in_image_pixels():
    logits = torch.full((1, 2, 12, 16), -1e4)
    logits[0, 0, 0, 0] = 0.0
    logits[0, 1, 5, 9] = 0.0
    # cells of a 64 x 48 image on a 16 x 12 grid are 4 px: centres at 4 * index + 2
    assert torch.allclose(soft_argmax(logits, 64, 48), torch.tensor([[[2.0, 2.0], [38.0, 22.0]]]))
    flat = soft_argmax(torch.zeros(1, 1, 12, 16), 64, 48)
    assert torch.allclose(flat, torch.tensor([[[32.0, 24.0]]]))  # the image centre


def test_soft_argmax_moves_continuously_between_cells():
    logits = torch.full((1, 1, 8, 8), -1e4)
    logits[0, 0, 3, 2] = logits[0, 0, 3, 3] = 0.0
    assert torch.allclose(soft_argmax(logits, 32, 32), torch.tensor([[[12.0, 14.0]]]))  # halfway
    logits[0, 0, 3, 3] = torch.log(torch.tensor(3.0))  # 3:1 for the right cell
    assert torch.allclose(soft_argmax(logits, 32, 32), torch.tensor([[[13.0, 14.0]]]))


def test_heatmap_head_has_no_fully_connected_layers_and_learns_from_the_loss():
    net = LandmarkDeformationNet(
        torch.rand(5, 2) * 32, (32, 32), channels=(4, 4, 4, 4), hidden=8, head="heatmap"
    )
    assert not [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    net.landmarks(torch.rand(2, 3, 32, 32)).sum().backward()
    assert net.heatmaps.logits.weight.grad.abs().sum() > 0
    assert net.features[0].weight.grad.abs().sum() > 0


def test_affine_head_moves_the_whole_template_rigidly():
    points = torch.tensor([[10.0, 10.0], [30.0, 10.0], [20.0, 30.0]])
    net = LandmarkDeformationNet(points, (32, 32), channels=(4, 4, 4, 4), hidden=8, head="affine")
    last = net.regressor[-1]
    torch.nn.init.zeros_(last.weight)
    with torch.no_grad():
        last.bias.zero_()
        last.bias[-2:] = torch.tensor([0.5, -0.25])  # a shift of (0.5, -0.25) * scale pixels
    moved = net.landmarks(torch.rand(1, 3, 32, 32))[0]
    assert torch.allclose(moved - points, torch.tensor([0.5, -0.25]) * net.scale)


def test_deformation_net_is_four_convolutions_and_three_linear_layers():
    net = build_landmarker({}, torch.rand(5, 2), (128, 128))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert (len(convs), len(linears)) == (4, 3)


def test_deformation_net_rejects_wrong_image_size_and_bad_options():
    net = LandmarkDeformationNet(torch.rand(5, 2), (64, 64), channels=(4, 4, 4, 4), hidden=8)
    with pytest.raises(ValueError, match=r"expected images \(B, 3, 64, 64\), got \(1, 3, 32, 32\)"):
        net(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="multiple of 16"):
        LandmarkDeformationNet(torch.rand(5, 2), (60, 64))
    with pytest.raises(ValueError, match="4 convolutions"):
        LandmarkDeformationNet(torch.rand(5, 2), (64, 64), channels=(4, 4, 4))
    with pytest.raises(ValueError, match="head must be 'offsets', 'affine' or 'heatmap', got 'dense'"):
        LandmarkDeformationNet(torch.rand(5, 2), (64, 64), head="dense")
    with pytest.raises(ValueError, match="prior_sigma must be positive, got 0"):
        LandmarkDeformationNet(torch.rand(5, 2), (64, 64), head="heatmap", prior_sigma=0)
