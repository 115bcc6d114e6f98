"""The motion-transfer system's loss weights and random warp as typed options (frozen
dataclasses that check their values when built); in YAML ``model.init_args.loss_weights`` and
``model.init_args.transform_params``, laid over field by field by later presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from genlmk.options import require


def _require_weight(name: str, weight: float) -> None:
    require(math.isfinite(weight) and weight >= 0, f"model.loss_weights.{name}", "must be >= 0", weight)


@dataclass(frozen=True)
class MotionLossWeights:
    """The First Order Motion Model's loss weights (the reference's vox-256 values), plus the flow
    keypoint loss (off); a weight of 0 switches a term off.

    Attributes:
        perceptual: one weight per feature map of the perceptual network.
        generator_gan, discriminator_gan: LSGAN, the generator's and the discriminator's side.
        feature_matching: one weight per discriminator block.
        equivariance_value, equivariance_jacobian: keypoints and Jacobians follow a random warp.
        optical_flow: the flow keypoint loss (needs the data module's ``flow_pairs``).
    """

    perceptual: tuple[float, ...] = (10.0, 10.0, 10.0, 10.0, 10.0)
    generator_gan: float = 0.0
    discriminator_gan: float = 1.0
    feature_matching: tuple[float, ...] = (10.0, 10.0, 10.0, 10.0)
    equivariance_value: float = 10.0
    equivariance_jacobian: float = 10.0
    optical_flow: float = 0.0

    def __post_init__(self) -> None:
        # YAML gives lists: kept as tuples so that the options stay immutable
        object.__setattr__(self, "perceptual", tuple(float(w) for w in self.perceptual))
        object.__setattr__(self, "feature_matching", tuple(float(w) for w in self.feature_matching))
        for name in ("perceptual", "feature_matching"):
            for weight in getattr(self, name):
                _require_weight(name, weight)
        for name in ("generator_gan", "discriminator_gan", "equivariance_value", "equivariance_jacobian"):
            _require_weight(name, getattr(self, name))
        _require_weight("optical_flow", self.optical_flow)


@dataclass(frozen=True)
class MotionWarp:
    """The equivariance terms' random warp (:func:`~genlmk.geometry.transforms.sample_warp`).

    Attributes:
        sigma_affine: standard deviation of the affine part's entries around the identity.
        sigma_tps: standard deviation of the thin-plate-spline control point weights.
        points_tps: control points per side of the thin-plate-spline grid.
    """

    sigma_affine: float = 0.05
    sigma_tps: float = 0.005
    points_tps: int = 5

    def __post_init__(self) -> None:
        where = "model.transform_params"
        require(self.sigma_affine >= 0, f"{where}.sigma_affine", "must not be negative", self.sigma_affine)
        require(self.sigma_tps >= 0, f"{where}.sigma_tps", "must not be negative", self.sigma_tps)
        require(self.points_tps >= 0, f"{where}.points_tps", "must not be negative", self.points_tps)


def plain(options: Any) -> dict[str, Any]:
    """An option dataclass as a mapping of plain values (tuples as lists), as checkpoints and
    YAML hold them."""
    return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(options).items()}
