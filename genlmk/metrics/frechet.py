"""FID: the Fréchet distance between feature statistics of real and generated frames.

``FID = |mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))`` between Gaussians fitted to features
of the real and of the generated frames (Heusel et al. 2017). With the Inception-v3 pool features of
:class:`genlmk.metrics.inception.InceptionFeatures` it is the usual FID; any network mapping images
to (N, D) features can stand in (a small one in tests, a domain-specific one for faces or hands).

The trace of the matrix square root is computed without a general ``sqrtm``: the eigenvalues of
``S_r S_g`` equal those of the symmetric ``S_r^(1/2) S_g S_r^(1/2)``, so symmetric eigen
decompositions (float64) suffice, and negative round-off is clipped to zero.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric


def _psd_sqrt(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mean_real: Tensor, cov_real: Tensor, mean_fake: Tensor, cov_fake: Tensor) -> Tensor:
    """Fréchet distance between two Gaussians.

    Args:
        mean_real, mean_fake: (D,) means.
        cov_real, cov_fake: (D, D) symmetric positive semi-definite covariances.

    Returns:
        Scalar float64 tensor, >= 0 up to round-off.
    """
    mean_real, cov_real, mean_fake, cov_fake = (
        t.double() for t in (mean_real, cov_real, mean_fake, cov_fake)
    )
    root = _psd_sqrt(cov_real)
    middle = root @ cov_fake @ root
    trace_sqrt = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp(min=0).sqrt().sum()
    return (mean_real - mean_fake).square().sum() + cov_real.trace() + cov_fake.trace() - 2.0 * trace_sqrt


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean (D,) and unbiased covariance (D, D), float64, of (N, D) features (N >= 2)."""
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be (N, D) with N >= 2; got {tuple(features.shape)}")
    features = features.double()
    return features.mean(dim=0), torch.cov(features.T, correction=1)


def frechet_feature_distance(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """FID between two sets of features: (N, D) real and (M, D) generated, N, M >= 2.

    Example:
        >>> real = torch.randn(500, 3, generator=torch.Generator().manual_seed(0))
        >>> round(float(frechet_feature_distance(real, real + 2.0)), 6)  # shift by 2 in 3 dims
        12.0
    """
    return frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features))


class FrechetDistance(Metric):
    """FID with a configurable feature network, accumulated over batches (and processes).

    Features of each batch are folded into sums (float64), so memory stays (D, D) whatever the number
    of frames. The network is run without gradients and kept in eval mode.

    Args:
        feature_network: maps (N, 3, H, W) RGB images in [0, 1] to (N, D) features.
        num_features: D; found by running the network on one ``probe_size`` image when None and the
            network has no ``num_features`` attribute.
        probe_size: (H, W) of that probe image.

    Example:
        >>> net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())  # mean colour: D = 3
        >>> metric = FrechetDistance(net)
        >>> images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0))
        >>> metric.update(images, images)
        >>> bool(metric.compute().abs() < 1e-9)
        True
    """

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    real_sum: Tensor
    real_outer: Tensor
    real_count: Tensor
    fake_sum: Tensor
    fake_outer: Tensor
    fake_count: Tensor

    def __init__(
        self,
        feature_network: nn.Module,
        num_features: int | None = None,
        probe_size: tuple[int, int] = (64, 64),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.feature_network = feature_network.eval()
        if num_features is None:
            num_features = getattr(feature_network, "num_features", None)
        if num_features is None:
            device = next(feature_network.parameters(), torch.empty(0)).device
            with torch.no_grad():
                num_features = self._features(torch.rand(1, 3, *probe_size, device=device)).shape[1]
        for side in ("real", "fake"):
            self.add_state(
                f"{side}_sum", torch.zeros(num_features, dtype=torch.float64), dist_reduce_fx="sum"
            )
            self.add_state(
                f"{side}_outer",
                torch.zeros(num_features, num_features, dtype=torch.float64),
                dist_reduce_fx="sum",
            )
            self.add_state(f"{side}_count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def _features(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W) in [0, 1]; got {tuple(images.shape)}")
        features = self.feature_network(images.float())
        if features.ndim != 2 or features.shape[0] != images.shape[0]:
            raise ValueError(
                f"feature network must return (N, D) = ({images.shape[0]}, D); got {tuple(features.shape)}"
            )
        return features.double()

    def update(self, real: Tensor, fake: Tensor) -> None:
        """Add a batch: (B, 3, H, W) real and (B', 3, H', W') generated frames, RGB in [0, 1]."""
        with torch.no_grad():
            for side, images in (("real", real), ("fake", fake)):
                features = self._features(images)
                getattr(self, f"{side}_sum").add_(features.sum(dim=0))
                getattr(self, f"{side}_outer").add_(features.T @ features)
                getattr(self, f"{side}_count").add_(features.shape[0])

    def _statistics(self, side: str) -> tuple[Tensor, Tensor]:
        count = getattr(self, f"{side}_count")
        if int(count) < 2:
            raise ValueError(f"FID needs at least 2 {side} frames, got {int(count)}")
        mean = getattr(self, f"{side}_sum") / count
        cov = (getattr(self, f"{side}_outer") - count * torch.outer(mean, mean)) / (count - 1)
        return mean, cov

    def compute(self) -> Tensor:
        """FID between everything added so far (float64 scalar)."""
        return frechet_distance(*self._statistics("real"), *self._statistics("fake"))
