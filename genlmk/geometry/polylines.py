"""Polylines as arrays of points: arc length, even resampling, distance of points to a polyline.

A polyline is an ``(M, 2)`` float array of ``(x, y)`` vertices in pixels (genlmk convention:
x right, y down, image corner at the origin). A *closed* polyline lists each vertex once and
has an implicit segment from the last vertex back to the first. :func:`line_tangents` works on
landmark arrays instead, with each line given as landmark indices (a template's lines).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _vertices(points: np.ndarray, closed: bool) -> np.ndarray:
    """The vertices in order with the closing vertex appended when ``closed``."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return np.concatenate([points, points[:1]]) if closed else points


def arc_lengths(points: np.ndarray, closed: bool = False) -> np.ndarray:
    """Cumulative arc length at each vertex.

    Args:
        points: (M, 2) vertices, pixels.
        closed: add the segment from the last vertex back to the first.

    Returns:
        (M,) for an open polyline or (M + 1,) for a closed one (the last entry is the
        perimeter), starting at 0, pixels.
    """
    vertices = _vertices(points, closed)
    steps = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def resample_polyline(points: np.ndarray, count: int, closed: bool = False) -> np.ndarray:
    """``count`` points evenly spaced by arc length along a polyline.

    An open polyline keeps both end points (spacing ``L / (count - 1)``); a closed one gets
    ``count`` distinct points starting at its first vertex (spacing ``L / count``).

    Args:
        points: (M, 2) vertices, pixels, M >= 2.
        count: number of output points (>= 2 open, >= 3 closed).
        closed: whether the polyline is closed.

    Returns:
        (count, 2) float64 pixels.
    """
    minimum = 3 if closed else 2
    if count < minimum:
        raise ValueError(f"resample_polyline needs count >= {minimum}, got {count}")
    vertices = _vertices(points, closed)
    cumulative = arc_lengths(points, closed)
    total = cumulative[-1]
    targets = np.linspace(0.0, total, count + 1 if closed else count)
    if closed:
        targets = targets[:-1]
    x = np.interp(targets, cumulative, vertices[:, 0])
    y = np.interp(targets, cumulative, vertices[:, 1])
    return np.stack([x, y], axis=1)


def resample_by_spacing(points: np.ndarray, spacing: float, closed: bool = False) -> np.ndarray:
    """Resample a polyline evenly with a spacing as close to ``spacing`` pixels as fits.

    Returns:
        (K, 2) pixels: K = max(2, round(L / spacing) + 1) points for an open polyline of length
        L (both ends kept), K = max(3, round(L / spacing)) for a closed one.
    """
    if spacing <= 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    total = arc_lengths(points, closed)[-1]
    steps = round(total / spacing)
    count = max(3, steps) if closed else max(2, steps + 1)
    return resample_polyline(points, count, closed)


def point_polyline_distance(
    queries: np.ndarray, points: np.ndarray, closed: bool = False, chunk: int = 16384
) -> np.ndarray:
    """Euclidean distance from each query point to the nearest point of a polyline.

    Args:
        queries: (Q, 2) pixels.
        points: (M, 2) polyline vertices, pixels (M >= 1; one vertex is a point).
        closed: include the segment from the last vertex back to the first.
        chunk: queries processed at once (bounds memory at ``chunk * segments`` floats).

    Returns:
        (Q,) float64 distances, pixels.
    """
    queries = np.asarray(queries, dtype=np.float64).reshape(-1, 2)
    vertices = _vertices(points, closed and len(points) > 2)
    if len(vertices) == 1:
        vertices = np.concatenate([vertices, vertices])
    start, delta = vertices[:-1], np.diff(vertices, axis=0)
    squared_length = np.maximum((delta**2).sum(axis=1), 1e-12)
    out = np.empty(len(queries))
    for lo in range(0, len(queries), chunk):
        q = queries[lo : lo + chunk, None, :]  # (q, 1, 2)
        t = np.clip(((q - start) * delta).sum(-1) / squared_length, 0.0, 1.0)  # (q, S)
        nearest = start + t[..., None] * delta
        out[lo : lo + chunk] = np.sqrt(((q - nearest) ** 2).sum(-1).min(axis=1))
    return out


def line_tangents(points: np.ndarray, lines: Sequence[Sequence[int]]) -> np.ndarray:
    """Unit direction of the line through each landmark.

    Args:
        points: (F, N, 2) pixels.
        lines: polylines of landmark indices; a closed line repeats its first index at its end.

    Returns:
        (F, N, 2): the direction from a landmark's previous to its next neighbour on the first
        line through it (its one neighbour at the end of an open line; round the loop on a closed
        one); NaN for a landmark on no line.
    """
    tangents = np.full(points.shape, np.nan)
    done: set[int] = set()
    for line in lines:
        closed = len(line) > 2 and line[0] == line[-1]
        ring = list(line[:-1]) if closed else list(line)
        for k, point in enumerate(ring):
            if point in done:
                continue
            done.add(point)
            if closed:
                before, after = ring[k - 1], ring[(k + 1) % len(ring)]
            else:
                before, after = ring[max(k - 1, 0)], ring[min(k + 1, len(ring) - 1)]
            step = points[:, after] - points[:, before]
            tangents[:, point] = step / np.linalg.norm(step, axis=-1, keepdims=True)
    return tangents
