"""Step 5 of extraction: traced lines moved onto the sub-pixel centre of their strokes, with
junctions where their lines meet and free ends at the centre of their caps."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from genlmk.geometry.polylines import arc_lengths
from genlmk.template.extract.skeleton import TracedLine


def _arc_to_anchor(line: TracedLine) -> np.ndarray:
    """Arc length from each point of a line to its nearest anchor (inf without anchors)."""
    s = arc_lengths(line.points, line.closed)
    perimeter = s[-1]
    s = s[: len(line.points)]
    distance = np.full(len(line.points), np.inf)
    for index in line.anchors:
        gap = np.abs(s - s[index])
        if line.closed:
            gap = np.minimum(gap, perimeter - gap)
        distance = np.minimum(distance, gap)
    return distance


def refine_line(
    line: TracedLine, coverage: np.ndarray, stroke_width: float, step: float = 0.25
) -> tuple[TracedLine, np.ndarray]:
    """Move a traced line onto the centre of its stroke, and measure the stroke's width.

    The skeleton path is smoothed (Gaussian, sigma 1.5 points) to remove the pixel staircase;
    at each point the paint coverage is sampled across the line (bilinear, every ``step``
    pixels, up to ``stroke_width / 2 + 2.5`` pixels either side: the stroke and its blur, not
    its neighbours) and the point moves to the centroid of the run of paint that holds it (by
    at most 1.5 pixels). The integral of that run is the stroke width there. Points within
    ``stroke_width + 2`` pixels (along the line) of a junction, where other strokes cross the
    profile, are only smoothed; anchors stay.

    Args:
        line: from :func:`trace_lines`.
        coverage: (H, W) paint coverage in [0, 1] from :func:`segment_paint`.
        stroke_width: about the stroke width, pixels.
        step: sampling step across the line, pixels.

    Returns:
        The refined line, and the width measured at each refined point, pixels (NaN where
        not measured).
    """
    mode = "wrap" if line.closed else "nearest"
    points = ndimage.gaussian_filter1d(line.points, 1.5, axis=0, mode=mode)
    if line.closed:
        tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    else:
        tangent = np.gradient(points, axis=0) if len(points) > 1 else np.zeros_like(points)
    length = np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / np.maximum(length, 1e-9)
    reach = stroke_width / 2 + 2.5
    offsets = np.arange(-reach, reach + step / 2, step)
    samples = points[:, None, :] + offsets[None, :, None] * normal[:, None, :]  # (P, U, 2)
    profile = ndimage.map_coordinates(
        coverage, [samples[..., 1].ravel() - 0.5, samples[..., 0].ravel() - 0.5], order=1, mode="constant"
    ).reshape(samples.shape[:2])
    # keep the run of paint around the line: cut at the first low sample either side
    centre = len(offsets) // 2
    low = profile < 0.05
    before = np.where(low[:, :centre].any(1), centre - 1 - np.argmax(low[:, :centre][:, ::-1], 1), -1)
    after = np.where(low[:, centre:].any(1), centre + np.argmax(low[:, centre:], 1), len(offsets))
    index = np.arange(len(offsets))
    run = (index > before[:, None]) & (index < after[:, None])
    weights = np.where(run, profile, 0.0)
    total = weights.sum(1)
    measured = (total * step > 0.5) & (_arc_to_anchor(line) > stroke_width + 2.0) & (length[:, 0] > 1e-9)
    shift = np.clip((weights * offsets).sum(1) / np.maximum(total, 1e-9), -1.5, 1.5)
    refined = points + np.where(measured, shift, 0.0)[:, None] * normal
    refined = ndimage.gaussian_filter1d(refined, 1.0, axis=0, mode=mode)
    for index_, _ in line.anchors.items():
        refined[index_] = line.points[index_]
    widths = np.where(measured, total * step, np.nan)
    return TracedLine(refined, line.closed, line.anchors), widths


def _arc_offsets(line: TracedLine, position: int) -> np.ndarray:
    """Signed arc length from point ``position`` to every point of the line (a closed line
    wraps to the nearer way round), pixels."""
    s = arc_lengths(line.points, line.closed)
    perimeter, s = s[-1], s[: len(line.points)]
    gap = s - s[position]
    return (gap + perimeter / 2) % perimeter - perimeter / 2 if line.closed else gap


def _fit_local_curve(points: np.ndarray, origin: np.ndarray, quadratic: bool, extent: float) -> np.ndarray:
    """Fit ``points`` by a parabola (a line through a junction) or a straight line (a line
    ending there) in a frame along their main direction, and draw the fit densely.

    Returns:
        (400, 2) samples of the fit over ``[-extent, extent]`` along that direction from ``origin``.
    """
    centred = points - origin
    axis = np.linalg.svd(centred - centred.mean(0), full_matrices=False)[2][0]
    normal = np.array([-axis[1], axis[0]])
    coefficients = np.polyfit(centred @ axis, centred @ normal, 2 if quadratic else 1)
    grid = np.linspace(-extent, extent, 400)
    return origin + grid[:, None] * axis + np.polyval(coefficients, grid)[:, None] * normal


def _nearest_on(curve: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nearest sample of a drawn curve (S, 2) to ``x``, and the curve's unit normal there."""
    k = int(np.argmin(((curve - x) ** 2).sum(1)))
    tangent = curve[min(k + 1, len(curve) - 1)] - curve[max(k - 1, 0)]
    return curve[k], np.array([-tangent[1], tangent[0]]) / max(np.linalg.norm(tangent), 1e-12)


def _meeting_point(curves: list[np.ndarray], start: np.ndarray) -> np.ndarray | None:
    """The point nearest (least squares) to all curves, by Gauss-Newton from ``start``;
    None when the curves are too close to parallel to meet at one point."""
    x = start
    for _ in range(10):
        system, target = np.zeros((2, 2)), np.zeros(2)
        for curve in curves:
            q, n = _nearest_on(curve, x)
            system += np.outer(n, n)
            target += np.outer(n, n) @ q
        if np.linalg.cond(system) > 1e3:
            return None
        x, previous = np.linalg.solve(system, target), x
        if np.linalg.norm(x - previous) < 1e-3:
            break
    return x


def place_junctions(lines: list[TracedLine], stroke_width: float) -> list[TracedLine]:
    """Move each junction to where its lines, fitted beyond the junction's blur, meet.

    The skeleton puts a junction off the true meeting point (towards the stem of a T, by up
    to half a stroke width). Here each line at a junction is fitted from ``w + 2`` to
    ``4 w + 4`` pixels away along it: by a parabola when it passes through (both sides), by a
    straight line when it ends there. The junction moves to the point nearest to all the fits
    (Gauss-Newton), and the line points within ``w + 2`` pixels of it move onto their fit. A
    junction whose fits do not meet (near-parallel, or further than 1.5 widths) stays.

    Args:
        lines: refined lines (:func:`refine_line`) sharing junctions through their anchors.
        stroke_width: about the stroke width, pixels.

    Returns:
        The lines with their junctions and the junctions' neighbourhoods moved.
    """
    guard, window = stroke_width + 2.0, 3.0 * stroke_width + 2.0
    fits: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    for number, line in enumerate(lines):
        for position, node in line.anchors.items():
            gap = np.abs(_arc_offsets(line, position))
            side = (gap >= guard) & (gap <= guard + window)
            if side.sum() >= 3:
                passing = line.closed or 0 < position < len(line.points) - 1
                curve = _fit_local_curve(
                    line.points[side], line.points[position], passing, 2 * (guard + window)
                )
                fits.setdefault(node, []).append((number, position, curve))
    moved = [line.points.copy() for line in lines]
    for node_fits in fits.values():
        start = lines[node_fits[0][0]].points[node_fits[0][1]]
        x = _meeting_point([curve for _, _, curve in node_fits], start) if len(node_fits) >= 2 else None
        if x is None or np.linalg.norm(x - start) > 1.5 * stroke_width:
            continue
        for number, position, curve in node_fits:
            near = np.abs(_arc_offsets(lines[number], position)) < guard
            moved[number][near] = [_nearest_on(curve, p)[0] for p in lines[number].points[near]]
            moved[number][position] = x
    return [TracedLine(points, line.closed, line.anchors) for points, line in zip(moved, lines)]


def place_ends(line: TracedLine, coverage: np.ndarray, stroke_width: float) -> TracedLine:
    """Put each free end of an open line at the centre of its stroke's cap.

    A skeleton stops short of the cap's centre (about a pixel). Along the line's direction
    at its end (measured over the last ``w + 2`` pixels), the paint coverage falls to 0.5
    half a stroke width beyond the centre of a round cap; the line is extended (or trimmed)
    to end there. Ends at junctions are left alone.

    Args:
        line: a refined line.
        coverage: (H, W) paint coverage in [0, 1].
        stroke_width: the stroke width, pixels.
    """
    if line.closed:
        return line
    points, anchors = line.points, dict(line.anchors)
    step = 0.25
    for at_start in (True, False):
        if (0 if at_start else len(points) - 1) in anchors:
            continue
        seq = points[::-1] if at_start else points  # the end is last
        s = arc_lengths(seq)
        total = s[-1]
        if total < 2 * stroke_width:
            continue
        back = np.array([np.interp(total - stroke_width - 2.0, s, seq[:, i]) for i in (0, 1)])
        direction = seq[-1] - back
        direction /= max(np.linalg.norm(direction), 1e-12)
        u = np.arange(-stroke_width / 2, stroke_width + 3.0, step)
        probe = seq[-1] + u[:, None] * direction
        values = ndimage.map_coordinates(coverage, [probe[:, 1] - 0.5, probe[:, 0] - 0.5], order=1)
        below = np.flatnonzero(values < 0.5)
        if not len(below) or below[0] == 0:
            continue
        k = below[0]  # coverage crosses 0.5 between samples k - 1 and k
        crossing = u[k - 1] + step * (values[k - 1] - 0.5) / max(values[k - 1] - values[k], 1e-9)
        tip = crossing - stroke_width / 2
        if tip >= 0:
            seq = np.concatenate(
                [seq, seq[-1] + np.append(np.arange(1.0, tip, 1.0), tip)[:, None] * direction]
            )
        else:
            cut = max(total + tip, 0.0)
            keep = s < cut
            end = np.array([np.interp(cut, s, seq[:, i]) for i in (0, 1)])
            seq = np.concatenate([seq[keep], end[None]])
        if at_start:
            shift = len(seq) - len(points)
            anchors = {k + shift: n for k, n in anchors.items()}
            points = seq[::-1]
        else:
            points = seq
    return TracedLine(points, False, anchors)
