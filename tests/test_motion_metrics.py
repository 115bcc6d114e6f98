"""Motion-transfer metrics: known answers, module equals function, shapes and errors."""

from __future__ import annotations

import doctest
import math

import pytest
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

import genlmk.metrics.frechet
import genlmk.metrics.identity
import genlmk.metrics.keypoints
import genlmk.metrics.l1
from genlmk.metrics import (
    AverageEuclideanDistance,
    AverageKeypointDistance,
    FrechetDistance,
    L1Distance,
    LPIPSDistance,
    MissingKeypointRate,
    average_euclidean_distance,
    average_keypoint_distance,
    feature_statistics,
    frechet_distance,
    frechet_feature_distance,
    identity_distances,
    keypoint_distances,
    l1_distance,
    lpips_distances,
    missing_keypoint_rate,
    missing_keypoint_rates,
)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _keypoints(batch: int = 6, count: int = 68, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, count, 2, generator=_gen(seed)) * 256


def _random_lpips() -> nn.Module:
    import warnings

    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return (
            lpips.LPIPS(pretrained=True, net="alex", pnet_rand=True, verbose=False)
            .eval()
            .requires_grad_(False)
        )


class PooledColour(nn.Module):
    """A tiny FID feature network: mean colour and mean squared colour per image (D = 6)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([images.mean(dim=(2, 3)), images.square().mean(dim=(2, 3))], dim=1)


# ---------------------------------------------------------------- known answers


def test_identical_inputs_give_zero_for_every_frame_metric():
    points = _keypoints()
    assert float(average_keypoint_distance(points, points)) == 0.0
    found = torch.rand(6, 68, generator=_gen(1)) > 0.2
    assert float(missing_keypoint_rate(found, found)) == 0.0
    embeddings = torch.randn(6, 128, generator=_gen(2))
    assert float(average_euclidean_distance(embeddings, embeddings)) == pytest.approx(0.0, abs=1e-6)
    images = torch.rand(4, 3, 32, 32, generator=_gen(3))
    assert float(l1_distance(images, images)) == 0.0
    assert float(lpips_distances(_random_lpips(), images, images).abs().max()) < 1e-6


def test_identical_images_give_zero_fid():
    images = torch.rand(40, 3, 16, 16, generator=_gen(4))
    metric = FrechetDistance(PooledColour())
    metric.update(images, images)
    assert abs(float(metric.compute())) < 1e-8


@pytest.mark.parametrize("k", [0.5, 1.0, 3.0, 10.0])
def test_landmarks_shifted_by_k_pixels_give_akd_k(k):
    real = _keypoints()
    signs = torch.where(torch.rand(6, 68, 2, generator=_gen(5)) > 0.5, 1.0, -1.0)
    assert float(average_keypoint_distance(real, real + k * signs)) == pytest.approx(k, rel=1e-5)
    # a shift along x only: |dx| = k, |dy| = 0, AKD averages the coordinates
    assert float(average_keypoint_distance(real, real + torch.tensor([k, 0.0]))) == pytest.approx(
        k / 2, rel=1e-5
    )


def test_akd_is_mean_absolute_coordinate_difference_not_euclidean():
    real = torch.zeros(1, 1, 2)
    fake = torch.tensor([[[3.0, 4.0]]])  # Euclidean 5, per-coordinate mean 3.5
    assert float(average_keypoint_distance(real, fake)) == pytest.approx(3.5)


def test_akd_skips_and_counts_frames_without_generated_detection():
    real = _keypoints(batch=4)
    fake = real + 2.0
    fake_found = torch.ones(4, 68, dtype=torch.bool)
    fake_found[1] = False  # no face in generated frame 1
    fake[1] = float("nan")  # its coordinates are meaningless and must not leak in
    metric = AverageKeypointDistance()
    metric.update(real, fake, None, fake_found)
    assert float(metric.compute()) == pytest.approx(2.0)
    assert int(metric.scored) == 3 and int(metric.skipped) == 1


def test_akd_uses_only_keypoints_found_in_both_frames():
    real = torch.zeros(1, 4, 2)
    fake = torch.tensor([[[1.0, 1.0], [2.0, 2.0], [100.0, 100.0], [100.0, 100.0]]])
    real_found = torch.tensor([[True, True, True, False]])
    fake_found = torch.tensor([[True, True, False, True]])
    assert float(average_keypoint_distance(real, fake, real_found, fake_found)) == pytest.approx(1.5)


def test_detector_dropping_keypoints_gives_expected_mkr():
    real_found = torch.ones(10, 18, dtype=torch.bool)
    fake_found = real_found.clone()
    fake_found[:, :3] = False  # 3 of 18 keypoints always missing
    fake_found[0] = False  # and nothing at all in frame 0
    expected = (1.0 + 9 * 3 / 18) / 10
    assert float(missing_keypoint_rate(real_found, fake_found)) == pytest.approx(expected)


def test_mkr_counts_only_keypoints_present_in_the_real_frame():
    real_found = torch.tensor([[True, True, False, False], [False, False, False, False]])
    fake_found = torch.tensor([[True, False, True, True], [True, True, True, True]])
    rates, scored = missing_keypoint_rates(real_found, fake_found)
    assert rates[0] == pytest.approx(0.5)
    assert scored.tolist() == [True, False]  # a real frame with nothing found is not scored
    assert float(missing_keypoint_rate(real_found, fake_found)) == pytest.approx(0.5)


def test_aed_is_squared_distance_of_unit_embeddings():
    real = torch.tensor([[2.0, 0.0], [0.0, 5.0]])
    fake = torch.tensor([[0.0, 3.0], [0.0, 0.1]])  # orthogonal (|a-b|^2 = 2), then the same direction (0)
    distances, scored = identity_distances(real, fake)
    assert scored.all()
    assert distances.tolist() == pytest.approx([2.0, 0.0], abs=1e-6)
    assert float(average_euclidean_distance(real, fake)) == pytest.approx(1.0)
    cos = torch.nn.functional.cosine_similarity(real, fake)
    assert torch.allclose(distances, 2 - 2 * cos, atol=1e-6)
    opposite = average_euclidean_distance(torch.tensor([[1.0, 1.0]]), torch.tensor([[-2.0, -2.0]]))
    assert float(opposite) == pytest.approx(4.0)


def test_l1_is_mean_absolute_pixel_difference():
    real = torch.zeros(2, 3, 4, 4)
    fake = torch.zeros(2, 3, 4, 4)
    fake[0, :, :2] = 1.0  # half the pixels of frame 0 off by 1
    fake[1] = 0.1
    assert float(l1_distance(real, fake)) == pytest.approx((0.5 + 0.1) / 2)


def test_fid_of_shifted_features_is_squared_shift_norm():
    features = torch.randn(300, 5, generator=_gen(6), dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 0.0, 0.5, 3.0], dtype=torch.float64)
    assert float(frechet_feature_distance(features, features + shift)) == pytest.approx(
        float(shift.square().sum()), rel=1e-9
    )


def test_fid_of_known_gaussians():
    # N(0, I) vs N(0, 4I) in D dims: Tr(I + 4I - 2 * 2I) = D
    eye = torch.eye(3, dtype=torch.float64)
    zero = torch.zeros(3, dtype=torch.float64)
    assert float(frechet_distance(zero, eye, zero, 4 * eye)) == pytest.approx(3.0)


def test_nan_when_nothing_could_be_scored():
    metric = AverageKeypointDistance()
    metric.update(_keypoints(2), _keypoints(2), None, torch.zeros(2, 68, dtype=torch.bool))
    assert math.isnan(float(metric.compute()))
    assert int(metric.skipped) == 2


# ---------------------------------------------------------------- modules equal functions over batches


def _batches(tensors, sizes):
    start = 0
    for size in sizes:
        yield [t[start : start + size] for t in tensors]
        start += size


def test_keypoint_modules_equal_functions_over_batches():
    real, fake = _keypoints(10, seed=1), _keypoints(10, seed=2)
    real_found = torch.rand(10, 68, generator=_gen(7)) > 0.1
    fake_found = torch.rand(10, 68, generator=_gen(8)) > 0.3
    fake_found[4] = False
    akd, mkr = AverageKeypointDistance(), MissingKeypointRate()
    for r, f, rf, ff in _batches([real, fake, real_found, fake_found], [3, 1, 6]):
        akd.update(r, f, rf, ff)
        mkr.update(rf, ff)
    assert float(akd.compute()) == pytest.approx(
        float(average_keypoint_distance(real, fake, real_found, fake_found))
    )
    assert float(mkr.compute()) == pytest.approx(float(missing_keypoint_rate(real_found, fake_found)))
    assert int(akd.skipped) == 1


def test_identity_and_pixel_modules_equal_functions_over_batches():
    real_emb, fake_emb = torch.randn(9, 16, generator=_gen(9)), torch.randn(9, 16, generator=_gen(10))
    fake_found = torch.ones(9, dtype=torch.bool)
    fake_found[2] = False
    aed = AverageEuclideanDistance()
    for r, f, ff in _batches([real_emb, fake_emb, fake_found], [4, 5]):
        aed.update(r, f, None, ff)
    assert float(aed.compute()) == pytest.approx(
        float(average_euclidean_distance(real_emb, fake_emb, None, fake_found))
    )

    real, fake = torch.rand(5, 3, 32, 32, generator=_gen(11)), torch.rand(5, 3, 32, 32, generator=_gen(12))
    network = _random_lpips()
    l1, perceptual = L1Distance(), LPIPSDistance(network=network)
    for r, f in _batches([real, fake], [2, 3]):
        l1.update(r, f)
        perceptual.update(r, f)
    assert float(l1.compute()) == pytest.approx(float(l1_distance(real, fake)))
    with torch.no_grad():
        expected = lpips_distances(network, real, fake).mean()
    assert float(perceptual.compute()) == pytest.approx(float(expected), rel=1e-5)
    assert float(expected) > 0.0


def test_fid_module_equals_function_over_batches_and_torchmetrics():
    real = torch.rand(48, 3, 8, 8, generator=_gen(13))
    fake = (torch.rand(40, 3, 8, 8, generator=_gen(14)) * 0.8 + 0.1) ** 1.5
    net = PooledColour()
    metric = FrechetDistance(net)
    for (r,), (f,) in zip(_batches([real], [20, 28]), _batches([fake], [25, 15])):
        metric.update(r, f)
    expected = frechet_feature_distance(net(real), net(fake))
    assert float(metric.compute()) == pytest.approx(float(expected), rel=1e-9)
    assert float(expected) > 0.01
    # an independent implementation: torchmetrics (eigenvalues of the non-symmetric product)
    reference = FrechetInceptionDistance(feature=PooledColour(), normalize=True, input_img_size=(3, 8, 8))
    reference.set_dtype(torch.float64)
    reference.update(real, real=True)
    reference.update(fake, real=False)
    assert float(metric.compute()) == pytest.approx(float(reference.compute()), rel=1e-6)


def test_feature_statistics_match_numpy():
    features = torch.randn(50, 4, generator=_gen(15))
    mean, cov = feature_statistics(features)
    array = features.double().numpy()
    assert torch.allclose(mean, torch.from_numpy(array.mean(0)))
    assert torch.allclose(cov, torch.from_numpy(__import__("numpy").cov(array, rowvar=False)))


def test_metrics_reset_and_merge_state():
    real, fake = _keypoints(4, seed=3), _keypoints(4, seed=4)
    first, second, total = AverageKeypointDistance(), AverageKeypointDistance(), AverageKeypointDistance()
    first.update(real[:1], fake[:1])
    second.update(real[1:], fake[1:])
    total.merge_state(first)
    total.merge_state(second)
    assert float(total.compute()) == pytest.approx(float(average_keypoint_distance(real, fake)))
    total.reset()
    assert int(total.scored) == 0 and int(total.skipped) == 0


# ---------------------------------------------------------------- shapes and errors


def test_per_frame_outputs_have_batch_shape():
    distances, scored = keypoint_distances(_keypoints(3), _keypoints(3, seed=1))
    assert distances.shape == (3,) and scored.dtype == torch.bool
    rates, scored = missing_keypoint_rates(
        torch.ones(3, 5, dtype=torch.bool), torch.ones(3, 5, dtype=torch.bool)
    )
    assert rates.shape == (3,)
    assert genlmk.metrics.l1.l1_distances(torch.zeros(3, 3, 4, 4), torch.ones(3, 3, 4, 4)).shape == (3,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: average_keypoint_distance(torch.zeros(2, 5, 2), torch.zeros(2, 4, 2)),
            r"\(B, K, 2\).*\(2, 5, 2\)",
        ),
        (lambda: average_keypoint_distance(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3)), r"\(B, K, 2\)"),
        (
            lambda: average_keypoint_distance(torch.zeros(2, 5, 2), torch.zeros(2, 5, 2), torch.ones(2, 5)),
            r"real_found must be a \(B, K\) = \(2, 5\) bool tensor",
        ),
        (
            lambda: missing_keypoint_rate(
                torch.ones(2, 5, dtype=torch.bool), torch.ones(2, 4, dtype=torch.bool)
            ),
            "both",
        ),
        (lambda: missing_keypoint_rate(torch.ones(2, 5), torch.ones(2, 5)), "must be bool"),
        (lambda: average_euclidean_distance(torch.zeros(2, 8), torch.zeros(3, 8)), r"\(B, D\)"),
        (
            lambda: average_euclidean_distance(
                torch.ones(2, 8), torch.ones(2, 8), torch.ones(3, dtype=torch.bool)
            ),
            r"real_found must be a \(2,\) bool tensor",
        ),
        (lambda: l1_distance(torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 4, 5)), r"\(B, C, H, W\)"),
        (lambda: frechet_feature_distance(torch.zeros(1, 4), torch.zeros(5, 4)), "N >= 2"),
    ],
)
def test_bad_shapes_raise_value_error_showing_the_shape(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_fid_needs_two_frames_and_an_n_by_d_network():
    metric = FrechetDistance(PooledColour())
    metric.update(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="at least 2 real frames, got 1"):
        metric.compute()
    with pytest.raises(ValueError, match=r"must return \(N, D\)"):
        FrechetDistance(nn.Identity())
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        metric.update(torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize(
    "module", [genlmk.metrics.keypoints, genlmk.metrics.identity, genlmk.metrics.l1, genlmk.metrics.frechet]
)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"torch": torch, "nn": nn}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
