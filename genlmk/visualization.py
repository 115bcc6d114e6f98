"""Drawing landmarks, lines and names on images (for previews and overlay videos)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from genlmk.data.frames import to_tensor
from genlmk.data.images import resize_rgb
from genlmk.template.template import Template

_SUBPIXEL_BITS = 4


def _cv_points(points: np.ndarray) -> np.ndarray:
    """genlmk pixels (corner origin) -> OpenCV fixed-point coordinates (centre origin)."""
    return np.round((points - 0.5) * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def draw_landmarks(
    image: np.ndarray,
    landmarks: np.ndarray,
    template: Template,
    line_color: tuple[int, int, int] | None = None,
    point_color: tuple[int, int, int] = (255, 230, 40),
    thickness: int = 1,
    radius: int = 2,
    visibility: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the template's lines through ``landmarks`` and a dot on each landmark.

    Args:
        image: (H, W, 3) uint8 RGB; not modified.
        landmarks: (N, 2) pixels of ``image``; non-finite rows are skipped.
        template: gives the lines (and the default line colour, the marker's).
        visibility: optional (N,) in [0, 1]; a landmark below 0.5 (predicted hidden) gets a ring
            instead of a dot.

    Returns:
        A new (H, W, 3) uint8 RGB image.
    """
    import cv2

    canvas = np.ascontiguousarray(image.copy())
    color = tuple(int(c) for c in (line_color or template.marker.color))
    finite = np.isfinite(landmarks).all(axis=1)
    pts = _cv_points(np.nan_to_num(landmarks))
    for a, b in template.edges:
        if finite[a] and finite[b]:
            cv2.line(canvas, tuple(pts[a]), tuple(pts[b]), color, thickness, cv2.LINE_AA, _SUBPIXEL_BITS)
    hidden = np.zeros(len(landmarks), dtype=bool) if visibility is None else np.asarray(visibility) < 0.5
    for i in np.flatnonzero(finite):
        fill = 1 if hidden[i] else -1
        cv2.circle(
            canvas, tuple(pts[i]), radius << _SUBPIXEL_BITS, point_color, fill, cv2.LINE_AA, _SUBPIXEL_BITS
        )
    return canvas


def template_preview(template: Template, image: np.ndarray | None = None, scale: int = 4) -> np.ndarray:
    """A picture of a template: its strokes as painted, its landmarks and their names.

    Args:
        template: the template to draw.
        image: optional (H, W, 3) uint8 RGB background, resized to the canvas with
            :func:`genlmk.data.images.resize_rgb`.
        scale: the preview is ``scale`` times the template canvas.

    Returns:
        (H * scale, W * scale, 3) uint8 RGB.
    """
    from genlmk.rendering import MarkerRenderer

    big = template.rescaled((template.width * scale, template.height * scale))
    size = (big.width, big.height)
    if image is None:
        background = np.full((big.height, big.width, 3), 235, dtype=np.uint8)
    else:
        background = resize_rgb(image, size)
    renderer = MarkerRenderer(big)
    with torch.no_grad():
        images = to_tensor(background)[None]
        landmarks = torch.as_tensor(big.points, dtype=torch.float32)[None]
        painted = renderer(images, landmarks).images[0]
    canvas = (painted.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
    canvas = draw_landmarks(canvas, big.points, big, radius=max(2, scale // 2 + 1))
    pil = Image.fromarray(canvas)
    draw = ImageDraw.Draw(pil)
    font = ImageFont.load_default(size=max(8, int(2.5 * scale)))
    boxes = [(x - 3, y - 3, x + 3, y + 3) for x, y in big.points]
    for index, (name, point) in enumerate(zip(big.names, big.points)):
        box = _place_label(draw, font, name, point, _outward(big, index), boxes, scale)
        boxes.append(box)
        draw.text(box[:2], name, fill=(20, 20, 20), font=font, stroke_width=1, stroke_fill=(255, 255, 255))
    title = f"{template.name}: {template.num_landmarks} landmarks, {len(template.lines)} lines"
    draw.text(
        (6, 6),
        title,
        fill=(0, 0, 0),
        font=ImageFont.load_default(size=max(10, 4 * scale)),
        stroke_width=1,
        stroke_fill=(255, 255, 255),
    )
    return np.asarray(pil)


def _outward(template: Template, index: int) -> np.ndarray:
    """Unit vector from the centre of the landmark's first line towards the landmark."""
    line = next(line for line in template.lines if index in line)
    direction = template.points[index] - template.points[list(line)].mean(axis=0)
    norm = float(np.linalg.norm(direction))
    return direction / norm if norm > 1e-6 else np.array([1.0, 0.0])


def _place_label(draw, font, text, point, direction, taken, scale) -> tuple[float, float, float, float]:
    """Greedy label placement: the first offset, nearest and most outward first, whose box
    overlaps no earlier label or landmark dot (the outward spot if none is free)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    width, height = right - left, bottom - top
    angle0 = float(np.arctan2(direction[1], direction[0]))
    candidates = []
    for distance in (1.5, 3.0, 5.0, 8.0):
        for turn in (0, 30, -30, 60, -60, 90, -90, 135, -135, 180):
            a = angle0 + np.deg2rad(turn)
            cx, cy = point + distance * scale * np.array([np.cos(a), np.sin(a)])
            # anchor the box on its side that faces the landmark
            x0 = cx - width * (0.5 - 0.5 * np.cos(a))
            y0 = cy - height * (0.5 - 0.5 * np.sin(a))
            candidates.append((x0, y0, x0 + width, y0 + height))
    for box in candidates:
        if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
            return box
    return candidates[0]


def keypoint_colors(count: int) -> np.ndarray:
    """``count`` distinct RGB colours around the hue circle, (count, 3) uint8."""
    import colorsys

    return np.array(
        [[round(255 * c) for c in colorsys.hsv_to_rgb(i / max(count, 1), 0.9, 1.0)] for i in range(count)],
        dtype=np.uint8,
    )


def draw_keypoints(image: np.ndarray, points: np.ndarray, radius: int = 2) -> np.ndarray:
    """Draw keypoints as filled dots, keypoint k always in colour ``keypoint_colors(K)[k]``.

    Args:
        image: (H, W, 3) uint8 RGB; not modified.
        points: (K, 2) pixels of ``image`` (genlmk convention); non-finite rows are skipped.

    Returns:
        A new (H, W, 3) uint8 RGB image.
    """
    import cv2

    canvas = np.ascontiguousarray(image.copy())
    colors = keypoint_colors(len(points))
    finite = np.isfinite(points).all(axis=1)
    for point, color in zip(_cv_points(np.nan_to_num(points))[finite], colors[finite]):
        cv2.circle(
            canvas,
            tuple(point),
            radius << _SUBPIXEL_BITS,
            tuple(int(c) for c in color),
            -1,
            cv2.LINE_AA,
            _SUBPIXEL_BITS,
        )
    return canvas
