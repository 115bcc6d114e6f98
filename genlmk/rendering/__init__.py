"""Differentiable rendering of painted marker strokes."""

from genlmk.rendering.compositor import MarkerCompositor, coverage_from_ink, paint
from genlmk.rendering.rasterizers import PointsRasterizer, SplatRasterizer, pytorch3d_ink, splat_ink
from genlmk.rendering.renderer import MarkerRenderer, RenderedMarkers
from genlmk.rendering.settings import BACKENDS, MarkerRenderSettings
from genlmk.rendering.strokes import StrokeSampling, ink_samples, sample_segments, sample_visibility

__all__ = [
    "BACKENDS",
    "MarkerCompositor",
    "MarkerRenderSettings",
    "MarkerRenderer",
    "PointsRasterizer",
    "RenderedMarkers",
    "SplatRasterizer",
    "StrokeSampling",
    "coverage_from_ink",
    "ink_samples",
    "paint",
    "pytorch3d_ink",
    "sample_segments",
    "sample_visibility",
    "splat_ink",
]
