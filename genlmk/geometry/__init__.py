"""Coordinate conventions and geometric transforms (pure functions)."""

from genlmk.geometry.coordinates import (
    normalized_to_pixels,
    pixel_centers,
    pixels_to_ndc,
    pixels_to_normalized,
)

__all__ = ["normalized_to_pixels", "pixel_centers", "pixels_to_ndc", "pixels_to_normalized"]
