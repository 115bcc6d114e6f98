"""Settings of the marker renderer."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from genlmk.options import require

Backend = Literal["splat", "pytorch3d"]
BACKENDS: tuple[str, ...] = ("splat", "pytorch3d")


@dataclass(frozen=True)
class MarkerRenderSettings:
    """How painted strokes are drawn.

    A stroke is a line of Gaussian "ink" with cross-section ``exp(-d^2 / (2 sigma^2))`` at
    distance ``d`` from the line; ink becomes paint coverage through
    ``coverage = 1 - exp(-gain * ink)``. ``sigma`` is chosen from the template's marker width
    so that coverage is exactly 0.5 at ``d = width / 2``: the stroke is ``width`` pixels wide.

    Each value is checked when the settings are built (:class:`~genlmk.errors.ConfigError`).

    Attributes:
        backend: ``splat`` (pure torch, each sample's Gaussian added to a small window of
            pixels; fast on CPU) or ``pytorch3d`` (PyTorch3D's point rasterizer and
            weighted-sum compositor; the paper's choice).
        center_coverage: paint coverage on the centre line of a straight stroke, in (0.5, 1).
        sample_spacing: distance between ink samples along a stroke, in units of sigma.
            Below 2 the stroke is smooth to better than 1.5 %.
        truncate: the kernel is cut at ``truncate * sigma``; at 5 the cut (a jump of 4e-6) is
            invisible to finite differences, at 3.5 it is not.
        points_per_pixel: ``pytorch3d`` only: how many nearby samples a pixel keeps.
    """

    backend: Backend = "splat"
    center_coverage: float = 0.98
    sample_spacing: float = 1.0
    truncate: float = 5.0
    points_per_pixel: int = 64

    def __post_init__(self) -> None:
        where = "model.renderer"
        require(self.backend in BACKENDS, f"{where}.backend", f"must be one of {BACKENDS}", self.backend)
        coverage, spacing = self.center_coverage, self.sample_spacing
        require(0.5 < coverage < 1.0, f"{where}.center_coverage", "must be in (0.5, 1)", coverage)
        require(0.0 < spacing <= 3.0, f"{where}.sample_spacing", "must be in (0, 3] sigma", spacing)
        require(self.truncate >= 2.0, f"{where}.truncate", "must be at least 2 sigma", self.truncate)
        ppp = self.points_per_pixel
        require(ppp >= 1, f"{where}.points_per_pixel", "must be at least 1", ppp)

    @property
    def gain(self) -> float:
        """Ink-to-coverage gain ``g``: coverage on the centre line is ``1 - exp(-g)``."""
        return -math.log(1.0 - self.center_coverage)

    def sigma_for_width(self, width: float) -> float:
        """Gaussian sigma (pixels) that makes a stroke exactly ``width`` pixels wide at half coverage."""
        return width / math.sqrt(8.0 * math.log(self.gain / math.log(2.0)))
