"""Step 6 of extraction: from a photo to a template (resampling, orientation, naming)."""

from __future__ import annotations

import itertools

import numpy as np

from genlmk.errors import InputDataError
from genlmk.geometry.polylines import resample_by_spacing
from genlmk.template.extract.centerline import place_ends, place_junctions, refine_line
from genlmk.template.extract.color import estimate_paint_color, segment_paint
from genlmk.template.extract.skeleton import TracedLine, skeleton_graph, trace_lines
from genlmk.template.template import Template


def _resample_line(line: TracedLine, spacing: float) -> tuple[np.ndarray, dict[int, int]]:
    """Resample a line every ``spacing`` pixels, keeping its anchors as points.

    Returns the (K, 2) points (a closed line without repeating its first) and
    ``{position in the output: node}`` for the anchors.
    """
    points, anchors = line.points, sorted(line.anchors)
    if not anchors:
        return resample_by_spacing(points, spacing, line.closed), {}
    if line.closed:  # start at the first anchor and walk back to it
        first = anchors[0]
        points = np.concatenate([points[first:], points[:first], points[first : first + 1]])
        anchors = [a - first for a in anchors] + [len(points) - 1]
        nodes = {a - first: n for a, n in line.anchors.items()}
        nodes[len(points) - 1] = line.anchors[first]
    else:
        nodes = dict(line.anchors)
        anchors = sorted({0, *anchors, len(points) - 1})
    out, out_anchors = [points[:1]], {0: nodes[0]} if 0 in nodes else {}
    for lo, hi in itertools.pairwise(anchors):
        piece = resample_by_spacing(points[lo : hi + 1], spacing)
        out.append(piece[1:])
        if hi in nodes:
            out_anchors[sum(len(p) for p in out) - 1] = nodes[hi]
    result = np.concatenate(out)
    if line.closed:
        result = result[:-1]
        out_anchors.pop(len(result), None)
    return result, out_anchors


def _orient(points: np.ndarray, anchors: dict[int, int], closed: bool) -> tuple[np.ndarray, dict[int, int]]:
    """Canonical direction and start: an open line starts at its upper (then left) end; a
    closed line starts at its top point and runs clockwise on screen."""
    count = len(points)
    order = np.arange(count)
    if closed:
        x, y = points[:, 0], points[:, 1]
        if (x * np.roll(y, -1) - np.roll(x, -1) * y).sum() < 0:  # counter-clockwise on screen
            order = order[::-1]
        top = int(np.lexsort((points[order, 0], points[order, 1]))[0])
        order = np.roll(order, -top)
    elif (points[-1, 1], points[-1, 0]) < (points[0, 1], points[0, 0]):
        order = order[::-1]
    position = {int(old): new for new, old in enumerate(order)}
    return points[order], {position[i]: n for i, n in anchors.items()}


def extract_template(
    image: np.ndarray,
    color: tuple[int, int, int] | None = None,
    spacing: float = 8.0,
    tolerance: float = 25.0,
    name: str = "extracted",
    category: str = "",
    source: str = "<image>",
) -> Template:
    """A template from a photo of painted lines.

    Args:
        image: (H, W, 3) uint8 RGB photo; the template's canvas is its size.
        color: the paint colour, RGB 0-255; estimated from the photo when None
            (:func:`estimate_paint_color`).
        spacing: distance between neighbouring landmarks along a line, pixels.
        tolerance: largest CIEDE2000 difference of paint from the paint colour (:func:`segment_paint`).
        name: the template's name.
        category: the template's category (``""`` for none); each line's part is
            ``line<n>`` (numbered from 1 in reading order of their first points), its landmarks
            ``line<n>_<k>``.
        source: names the photo in error messages.

    Returns:
        A validated template; the marker colour is the median photo colour on the stroke
        centres and its width the median measured stroke width.

    Raises:
        InputDataError: no paint (of the given colour) in the photo.
    """
    if not spacing > 0:
        raise InputDataError(f"{source}: landmark spacing must be positive, got {spacing}")
    height, width = image.shape[:2]
    paint = color if color is not None else estimate_paint_color(image, source=source)
    segmentation = segment_paint(image, paint, tolerance=tolerance)
    graph = skeleton_graph(segmentation.mask)
    if not graph.edges:
        raise InputDataError(
            f"{source}: no painted lines of colour {list(paint)} found (try --color R,G,B or --tolerance)"
        )
    measured, widths = [], []
    for line in trace_lines(graph):
        refined, line_widths = refine_line(line, segmentation.coverage, graph.stroke_width)
        measured.append(refined)
        widths.append(line_widths)
    measured = [
        place_ends(line, segmentation.coverage, graph.stroke_width)
        for line in place_junctions(measured, graph.stroke_width)
    ]
    all_widths = np.concatenate(widths)
    stroke = float(np.nanmedian(all_widths)) if np.isfinite(all_widths).any() else graph.stroke_width
    lines = [(*_orient(*_resample_line(line, spacing), line.closed), line.closed) for line in measured]
    lines.sort(key=lambda item: (item[0][0, 1], item[0][0, 0]))
    names: list[str] = []
    coords: list[np.ndarray] = []
    node_name: dict[int, str] = {}
    entries = []
    for number, (points, anchors, closed) in enumerate(lines, start=1):
        part, line_names = f"line{number}", []
        for k, point in enumerate(points):
            node = anchors.get(k)
            if node is not None and node in node_name:
                line_names.append(node_name[node])
                continue
            landmark = f"{part}_{k}"
            names.append(landmark)
            coords.append(np.clip(point, 0.0, [width, height]))
            line_names.append(landmark)
            if node is not None:
                node_name[node] = landmark
        entries.append({"part": part, "points": line_names + line_names[:1] if closed else line_names})
    core = np.round(np.concatenate([line.points for line in measured]) - 0.5).astype(int)
    core = core[(core[:, 0] >= 0) & (core[:, 0] < width) & (core[:, 1] >= 0) & (core[:, 1] < height)]
    marker_color = np.median(image[core[:, 1], core[:, 0]], axis=0).round().astype(int)
    data = {
        "name": name,
        "size": [int(width), int(height)],
        "description": f"extracted from {source}",
        "landmarks": [{"name": n, "x": float(p[0]), "y": float(p[1])} for n, p in zip(names, coords)],
        "lines": entries,
        "marker": {
            "color": [int(c) for c in marker_color],
            "width": round(min(stroke, min(width, height) / 4), 2),
        },
    }
    if category:
        data["category"] = category
    return Template.from_dict(data, source=source)
