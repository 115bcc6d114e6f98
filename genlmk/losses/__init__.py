"""Losses as pure functions (thin modules only where state must be held)."""

from genlmk.losses.adversarial import lsgan_loss
from genlmk.losses.decoy import decoy_invariance_loss, decoy_placement
from genlmk.losses.equivariance import landmark_equivariance_loss
from genlmk.losses.line_order import line_order_loss
from genlmk.losses.paint import chamfer_to_paint, estimate_paint_color, paint_weights, sample_paint_points
from genlmk.losses.spring import SpringLoss, spring_loss
from genlmk.losses.temporal import flow_landmark_loss
from genlmk.losses.visibility import visibility_prior

__all__ = [
    "SpringLoss",
    "chamfer_to_paint",
    "decoy_invariance_loss",
    "decoy_placement",
    "estimate_paint_color",
    "flow_landmark_loss",
    "landmark_equivariance_loss",
    "line_order_loss",
    "lsgan_loss",
    "paint_weights",
    "sample_paint_points",
    "spring_loss",
    "visibility_prior",
]
