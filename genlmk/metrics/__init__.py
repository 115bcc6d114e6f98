"""Metrics: pure functions, and torchmetrics ``Metric`` wrappers that accumulate them.

Landmark accuracy and stability (NME, flicker): :mod:`.landmarks`.
Motion-transfer quality (real vs generated frames, paired by video and frame index): AKD and MKR
(:mod:`.keypoints`), AED (:mod:`.identity`), L1 (:mod:`.l1`), LPIPS (:mod:`.perceptual`) and FID
(:mod:`.frechet`, Inception features in :mod:`.inception`).
"""

from genlmk.metrics.frame_average import FrameAverage
from genlmk.metrics.frechet import (
    FrechetDistance,
    feature_statistics,
    frechet_distance,
    frechet_feature_distance,
)
from genlmk.metrics.identity import AverageEuclideanDistance, average_euclidean_distance, identity_distances
from genlmk.metrics.keypoints import (
    AverageKeypointDistance,
    MissingKeypointRate,
    average_keypoint_distance,
    keypoint_distances,
    missing_keypoint_rate,
    missing_keypoint_rates,
)
from genlmk.metrics.l1 import L1Distance, l1_distance, l1_distances
from genlmk.metrics.perceptual import LPIPSDistance, build_lpips, lpips_distances

__all__ = [
    "AverageEuclideanDistance",
    "AverageKeypointDistance",
    "FrameAverage",
    "FrechetDistance",
    "L1Distance",
    "LPIPSDistance",
    "MissingKeypointRate",
    "average_euclidean_distance",
    "average_keypoint_distance",
    "build_lpips",
    "feature_statistics",
    "frechet_distance",
    "frechet_feature_distance",
    "identity_distances",
    "keypoint_distances",
    "l1_distance",
    "l1_distances",
    "lpips_distances",
    "missing_keypoint_rate",
    "missing_keypoint_rates",
]
