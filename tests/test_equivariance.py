"""The landmark equivariance term: a known random warp and appearance change of each frame."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from genlmk.data.appearance import random_appearance, random_jpeg, random_photometric
from genlmk.geometry.transforms import RandomWarp, sample_warp, warp_images
from genlmk.losses import landmark_equivariance_loss

SIZE = 64


def _blob(centre: tuple[float, float], sigma: float) -> torch.Tensor:
    """(1, 3, SIZE, SIZE) Gaussian blob centred at ``centre`` pixels (x, y)."""
    coords = torch.arange(SIZE, dtype=torch.float64) + 0.5  # pixel centres
    x, y = coords[None, :], coords[:, None]
    blob = torch.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * sigma**2))
    return blob.expand(1, 3, SIZE, SIZE)


def _centroid(images: torch.Tensor) -> torch.Tensor:
    """A perfectly equivariant 'landmarker': the brightness centroid. (B, 3, H, W) -> (B, 1, 2) pixels."""
    weight = images.mean(1)
    coords = torch.arange(SIZE, dtype=images.dtype) + 0.5
    total = weight.sum((-2, -1))
    x = (weight * coords[None, None, :]).sum((-2, -1)) / total
    y = (weight * coords[None, :, None]).sum((-2, -1)) / total
    return torch.stack((x, y), -1)[:, None, :]


def test_a_pure_translation_is_undone_exactly():
    # T(z) = z + (0.1, -0.05) normalized: the warped image shows the image's point z + b at z,
    # so its landmarks sit b (in pixels, (SIZE - 1) / 2 per unit) up and to the left
    shift = torch.tensor([0.1, -0.05], dtype=torch.float64)
    theta = torch.cat((torch.eye(2, dtype=torch.float64), shift[:, None]), 1)[None]
    landmarks = torch.tensor([[[20.0, 30.0], [40.5, 12.25]]], dtype=torch.float64)
    warped_landmarks = landmarks - shift * (SIZE - 1) / 2
    warp = RandomWarp(theta)
    followed = landmark_equivariance_loss(landmarks, warped_landmarks, warp, SIZE, SIZE)
    assert followed.item() == pytest.approx(0, abs=1e-12)
    # landmarks that did not move with the image are off by |b| pixels in each coordinate
    loss = landmark_equivariance_loss(landmarks, landmarks, warp, SIZE, SIZE, threshold=100.0)
    expected = 0.5 * ((shift * (SIZE - 1) / 2) ** 2).sum() / 100.0
    assert loss.item() == pytest.approx(expected.item())


def test_the_loss_agrees_with_warp_images_on_a_real_warp():
    # the blob's centroid in the warped image, carried back, is the original centroid: the loss's
    # pixel <-> normalized conversion matches the one warp_images resamples with
    generator = torch.Generator().manual_seed(3)
    warp = RandomWarp(sample_warp(4, 0.1, generator=generator).theta.double())
    images = _blob((30.3, 34.7), sigma=5.0).expand(4, 3, SIZE, SIZE)
    landmarks, warped_landmarks = _centroid(images), _centroid(warp_images(warp, images))
    assert (warped_landmarks - landmarks).abs().max() > 2  # the warp moved the blob
    # within 0.005 px (resampling); align_corners=False conversions would be ~0.04 px off
    assert landmark_equivariance_loss(landmarks, warped_landmarks, warp, SIZE, SIZE).item() < 0.5 * 0.005**2


def test_photometric_change_is_per_image_bounded_and_reproducible():
    images = torch.full((3, 3, 8, 8), 0.5)
    assert random_photometric(images) is images  # nothing asked, nothing changed

    def draw() -> torch.Tensor:
        return random_photometric(images, 0.2, 0.05, 0.1, generator=torch.Generator().manual_seed(0))

    changed = draw()
    assert torch.equal(changed, draw())
    assert changed.min() >= 0 and changed.max() <= 1
    means = changed.mean((1, 2, 3))
    assert means.unique().numel() == 3  # each image its own exposure
    # no noise asked: a uniform image stays uniform
    assert torch.equal(changed, changed[:, :, :1, :1].expand_as(changed))
    noisy = random_photometric(images, noise=0.05, generator=torch.Generator().manual_seed(0))
    assert 0.03 < (noisy - images).std() < 0.07


def test_light_ramp_is_linear_across_the_frame_and_differs_per_image():
    images = torch.full((2, 3, 9, 9), 0.5)
    lit = random_photometric(images, ramp=0.1, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(lit[:, :, 4, 4], images[:, :, 4, 4])  # the centre keeps its brightness
    # linear along x and along y: second differences vanish
    assert lit.diff(n=2, dim=-1).abs().max() < 1e-6 and lit.diff(n=2, dim=-2).abs().max() < 1e-6
    edges = lit[:, 0, 4, -1] - lit[:, 0, 4, 0]
    assert edges.abs().min() > 1e-3 and not torch.isclose(edges[0], edges[1])


def test_random_appearance_applies_the_photometric_change_then_the_jpeg_round_trip():
    images = _smooth_image().expand(2, 3, 32, 32)
    assert random_appearance(images, {}) is images
    torch.manual_seed(0)
    changed = random_appearance(images, {"gain": 0.2, "ramp": 0.1, "jpeg": 20})
    torch.manual_seed(0)
    photometric = random_photometric(images, gain=0.2, ramp=0.1)
    assert 0 < (changed - photometric).abs().mean() < 0.05  # JPEG's small error on top


def _smooth_image() -> torch.Tensor:
    """(1, 3, 32, 32) a smooth colour gradient with a sharp square: JPEG blocks show at its edges."""
    ramp = torch.linspace(0.2, 0.8, 32)
    red, green = ramp[None, :].expand(32, 32), ramp[:, None].expand(32, 32)
    image = torch.stack((red, green, torch.full((32, 32), 0.5)))
    image[:, 8:20, 10:22] = 0.9
    return image[None]


def test_jpeg_round_trip_degrades_by_quality_and_is_reproducible():
    image = _smooth_image().expand(4, 3, 32, 32).double()
    assert random_jpeg(image, 0) is image
    torch.manual_seed(0)
    first = random_jpeg(image, 5)
    torch.manual_seed(0)
    assert torch.equal(first, random_jpeg(image, 5))
    assert first.dtype == torch.float64 and first.shape == image.shape
    high = (random_jpeg(image, 95) - image).abs().mean()
    low = (random_jpeg(image, 1) - image).abs().mean()  # qualities 1-95, mostly far below 95
    assert 0 < high < low
    with pytest.raises(ValueError, match=r"lowest_quality must be in \[1, 95\] or 0, got 100"):
        random_jpeg(image, 100)


def _system(**equivariance):
    """A tiny system at SIZE px with the equivariance term's ``equivariance`` settings."""
    from conftest import TINY_SYSTEM

    from genlmk.systems.landmarks import LandmarkGAN

    options = {**TINY_SYSTEM, "image_size": (SIZE, SIZE)}
    return LandmarkGAN(template="face", losses={"equivariance": equivariance}, **options)


def test_equivariance_term_enters_the_system_losses_and_trains_the_landmarker():
    torch.manual_seed(0)
    model = _system(weight=1.0)
    frames = torch.rand(2, 3, SIZE, SIZE)
    _, parts, _ = model.generator_losses(frames, torch.rand(2, 3, SIZE, SIZE))
    # untrained, the landmarker answers the template whatever the frame: the loss is the warp's motion
    assert parts["equivariance"].item() > 0
    parts["equivariance"].backward()
    assert model.landmarker.features[0].weight.grad.abs().sum() > 0
    _, without, _ = _system().generator_losses(frames, torch.rand(2, 3, SIZE, SIZE))
    assert "equivariance" not in without


def test_no_warp_and_no_change_gives_no_equivariance_loss():
    nothing = {"affine": 0, "gain": 0, "color": 0, "gamma": 0, "noise": 0}
    model = _system(weight=1.0, **nothing)
    _, parts, _ = model.generator_losses(torch.rand(2, 3, SIZE, SIZE), torch.rand(2, 3, SIZE, SIZE))
    assert parts["equivariance"].item() == pytest.approx(0.0, abs=1e-5)


def test_a_smaller_threshold_pulls_harder_on_small_misses():
    landmarks = torch.tensor([[[20.0, 30.0]]], dtype=torch.float64)
    identity = RandomWarp(torch.eye(2, 3, dtype=torch.float64)[None])

    def gradient(miss: float, threshold: float) -> float:
        warped = (landmarks + torch.tensor([miss, 0.0], dtype=torch.float64)).requires_grad_()
        landmark_equivariance_loss(landmarks, warped, identity, SIZE, SIZE, threshold=threshold).backward()
        return warped.grad[0, 0, 0].item()

    # quadratic below the threshold (gradient miss / threshold), unit slope above it
    assert gradient(0.3, 1.0) == pytest.approx(0.3)
    assert gradient(0.3, 0.1) == pytest.approx(1.0)
    assert gradient(5.0, 0.1) == pytest.approx(1.0)


def test_the_equivariance_threshold_option_reaches_the_loss():
    model = _system(weight=1.0, threshold=0.05)
    frames, marked = torch.rand(2, 3, SIZE, SIZE), torch.rand(2, 3, SIZE, SIZE)

    def loss_with_threshold(threshold: float) -> float:
        model.losses = replace(
            model.losses, equivariance=replace(model.losses.equivariance, threshold=threshold)
        )
        torch.manual_seed(3)  # the same warp and appearance change for every threshold
        return model.generator_losses(frames, marked)[1]["equivariance"].item()

    # the untrained landmarker misses the warp's motion by pixels: the loss is ~|miss| with a tiny
    # threshold and ~miss**2 / (2 * threshold) with a huge one
    assert loss_with_threshold(1e4) < loss_with_threshold(1.0) < loss_with_threshold(0.05)
    assert model.hparams["losses"]["equivariance"]["threshold"] == 0.05


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 0}, r"model\.losses\.equivariance\.threshold must be positive, got 0"),
        ({"shift": 0.1}, r"model\.losses\.equivariance: unknown key\(s\) \['shift'\]; known: \['affine', "),
        ({"noise": -0.1}, r"model\.losses\.equivariance\.noise must not be negative, got -0\.1"),
        ({"jpeg": 100}, r"model\.losses\.equivariance\.jpeg must be 0 or a quality in \[1, 95\], got 100"),
    ],
    ids=["zero_threshold", "unknown_key", "negative", "jpeg_quality"],
)
def test_bad_equivariance_options_are_refused_when_the_model_is_built(options, message):
    from genlmk.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        _system(**options)
