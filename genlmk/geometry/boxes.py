"""Crop boxes: the region of a frame the landmarker looks at, and mapping its landmarks back.

A box is ``(x, y, w, h)`` in whole pixels of the frame: it covers columns ``x .. x + w - 1`` and
rows ``y .. y + h - 1``, i.e. the region ``[x, x + w) x [y, y + h)`` in genlmk's corner-origin
convention (pixel (row i, col j) has centre (j + 0.5, i + 0.5)). A box may reach outside the
frame; what lies outside reads as black, so the crop keeps the box's size and aspect ratio.

The crop is resized to the model input ``(w_m, h_m)``, so a point ``p`` in model pixels lies at

    ``p_frame = (x, y) + p * (w / w_m, h / h_m)``

in the frame. Under the corner convention this is exact for any resize that maps the crop's
edges to the model input's edges (OpenCV's area and bilinear resizing do).
"""

from __future__ import annotations

import numpy as np

from genlmk.errors import ConfigError


def check_boxes(boxes: np.ndarray, source: str) -> np.ndarray:
    """Round (B, 4) ``x, y, w, h`` boxes to whole pixels and check their sizes.

    Raises:
        ConfigError: a box narrower or lower than one pixel.
    """
    rounded = np.round(np.asarray(boxes, dtype=np.float64)).astype(np.int64)
    small = np.flatnonzero((rounded[:, 2] < 1) | (rounded[:, 3] < 1))
    if len(small):
        raise ConfigError(f"{source}: box {boxes[small[0]].tolist()} is smaller than one pixel")
    return rounded


def crop_image(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Cut ``box`` out of an image; parts outside the image are black.

    Args:
        image: (H, W, C) array.
        box: ``(x, y, w, h)`` whole pixels.

    Returns:
        (h, w, C) array of the image's dtype: a view when the box lies inside the image.
    """
    x, y, w, h = (int(v) for v in box)
    height, width = image.shape[:2]
    if x >= 0 and y >= 0 and x + w <= width and y + h <= height:
        return image[y : y + h, x : x + w]
    out = np.zeros((h, w, *image.shape[2:]), dtype=image.dtype)
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x0 < x1 and y0 < y1:
        out[y0 - y : y1 - y, x0 - x : x1 - x] = image[y0:y1, x0:x1]
    return out


def crop_to_frame(points: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Points in pixels of crops resized to ``size`` -> pixels of the frames the crops came from.

    Args:
        points: (B, N, 2) ``(x, y)`` in pixels of the resized crop (corner origin).
        boxes: (B, 4) ``(x, y, w, h)`` crop boxes in frame pixels.
        size: ``(width, height)`` the crops were resized to (the model input).

    Returns:
        (B, N, 2) float64 ``(x, y)`` in frame pixels.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    scale = boxes[:, 2:] / np.asarray(size, dtype=np.float64)
    return boxes[:, None, :2] + np.asarray(points, dtype=np.float64) * scale[:, None, :]


def frame_to_crop(points: np.ndarray, boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The inverse of :func:`crop_to_frame`: (B, N, 2) frame pixels -> pixels of the crops resized
    to ``size``."""
    boxes = np.asarray(boxes, dtype=np.float64)
    scale = np.asarray(size, dtype=np.float64) / boxes[:, 2:]
    return (np.asarray(points, dtype=np.float64) - boxes[:, None, :2]) * scale[:, None, :]


def whole_frame_boxes(count: int, frame_size: tuple[int, int]) -> np.ndarray:
    """(count, 4) boxes covering whole frames of ``frame_size = (width, height)``."""
    return np.tile(np.array([0, 0, frame_size[0], frame_size[1]], dtype=np.int64), (count, 1))


def landmark_spread(points: np.ndarray) -> float:
    """Root-mean-square distance of (N, 2) points from their mean, in the points' pixels.

    Returns NaN when any point is non-finite, so a missing detection never passes for a small one.
    """
    points = np.asarray(points, dtype=np.float64)
    if not np.isfinite(points).all():
        return float("nan")
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))


def square_box_around(points: np.ndarray, margin: float) -> np.ndarray:
    """The square ``(cx, cy, side)`` around (N, 2) frame-pixel points, grown by ``margin``.

    The centre is the middle of the points' bounding box and the side is its longer edge times
    ``1 + 2 * margin`` (``margin`` is the share of that edge added on each side). The result is
    left in float pixels so it can be smoothed before :func:`square_to_box` rounds it.
    """
    points = np.asarray(points, dtype=np.float64)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2.0
    side = max(float((high - low).max()), 1.0) * (1.0 + 2.0 * margin)
    return np.array([centre[0], centre[1], side])


def square_to_box(square: np.ndarray) -> np.ndarray:
    """A float ``(cx, cy, side)`` square -> a whole-pixel ``(x, y, w, h)`` box with ``w == h``."""
    cx, cy, side = (float(v) for v in square)
    size = max(round(side), 1)
    return np.array([round(cx - size / 2.0), round(cy - size / 2.0), size, size], dtype=np.int64)


def box_to_square(box: np.ndarray) -> np.ndarray:
    """An ``(x, y, w, h)`` box with ``w == h`` -> its float ``(cx, cy, side)`` square."""
    x, y, side = float(box[0]), float(box[1]), float(box[2])
    return np.array([x + side / 2.0, y + side / 2.0, side])


def points_inside(points: np.ndarray, box: np.ndarray) -> bool:
    """Whether every (N, 2) point lies in the region ``[x, x + w) x [y, y + h)`` of ``box``."""
    points = np.asarray(points, dtype=np.float64)
    x, y, w, h = (float(v) for v in box)
    inside = (points[:, 0] >= x) & (points[:, 0] < x + w) & (points[:, 1] >= y) & (points[:, 1] < y + h)
    return bool(np.isfinite(points).all() and inside.all())
