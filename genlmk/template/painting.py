"""Painting strokes along known polylines onto a photo: the forward model of a marked photo.

Used to make test photos whose true centre lines are known (for the extraction benchmark) and
in the authoring notebook to "paint" a sample photo. A stroke of width ``w`` covers a pixel by
``clip(w / 2 - d + 0.5, 0, 1)``, where ``d`` is the distance from the pixel's centre to the
polyline: the area of the pixel inside the stroke for a straight edge, so edges are
anti-aliased and the stroke is ``w`` pixels wide at half coverage (genlmk's marker-width
convention). Paint and photo mix linearly in sRGB.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genlmk.geometry.polylines import point_polyline_distance


def stroke_coverage(
    size: tuple[int, int], polylines: Sequence[np.ndarray], closed: Sequence[bool], width: float
) -> np.ndarray:
    """Fraction of each pixel covered by strokes of ``width`` pixels along the polylines.

    Args:
        size: ``(width, height)`` of the image, pixels.
        polylines: each an (M, 2) array of ``(x, y)`` vertices, genlmk pixel convention.
        closed: per polyline, whether it is closed (an implicit segment back to its start).
        width: stroke width at half coverage, pixels (> 0).

    Returns:
        (H, W) float64 coverage in [0, 1].
    """
    image_w, image_h = size
    coverage = np.zeros((image_h, image_w))
    reach = width / 2 + 1.0
    for line, is_closed in zip(polylines, closed):
        line = np.asarray(line, dtype=np.float64)
        x0, y0 = np.floor(line.min(axis=0) - reach).astype(int)
        x1, y1 = np.ceil(line.max(axis=0) + reach).astype(int)
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, image_w), min(y1, image_h)
        if x0 >= x1 or y0 >= y1:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1]
        centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
        distance = point_polyline_distance(centres, line, closed=is_closed).reshape(ys.shape)
        local = np.clip(width / 2 - distance + 0.5, 0.0, 1.0)
        coverage[y0:y1, x0:x1] = np.maximum(coverage[y0:y1, x0:x1], local)
    return coverage


def paint_strokes(
    image: np.ndarray,
    polylines: Sequence[np.ndarray],
    closed: Sequence[bool],
    color: tuple[int, int, int],
    width: float,
    shading: np.ndarray | None = None,
) -> np.ndarray:
    """Paint strokes of one colour along polylines onto a photo.

    Args:
        image: (H, W, 3) uint8 RGB photo; not modified.
        polylines: each an (M, 2) array of ``(x, y)`` vertices in pixels of ``image``.
        closed: per polyline, whether it is closed.
        color: paint colour, RGB 0-255.
        width: stroke width at half coverage, pixels.
        shading: optional (H, W) multiplier of the paint colour (the scene's illumination).

    Returns:
        (H, W, 3) uint8 RGB.
    """
    height, width_px = image.shape[:2]
    alpha = stroke_coverage((width_px, height), polylines, closed, width)[..., None]
    paint = np.broadcast_to(np.asarray(color, dtype=np.float64), image.shape)
    if shading is not None:
        paint = paint * shading[..., None]
    mixed = (1.0 - alpha) * image.astype(np.float64) + alpha * paint
    return np.clip(mixed.round(), 0, 255).astype(np.uint8)
