"""Synthetic photos of painted strokes with known centre lines, and scoring of extracted templates.

A scene is a grid of cells on a skin-like textured background; each cell holds one *motif*:

- ``straight``: one straight line;
- ``curve``: a sine wave or a circular arc;
- ``closed``: an ellipse, a smooth blob or a polygon (a closed line);
- ``tee``: a line ending on another line (a T junction; two lines);
- ``cross``: two lines crossing (two lines);
- ``loop_stems``: a closed loop with two lines leaving it outwards, like fingers on a palm (three lines).

The strokes are painted with one colour and width per photo (:mod:`genlmk.template.painting`),
under the scene's illumination, then blurred, noised and JPEG-compressed.
:func:`score_extraction` compares an extracted template with the true polylines.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter
from scipy.optimize import linear_sum_assignment

from genlmk.geometry.polylines import point_polyline_distance, resample_by_spacing
from genlmk.template.painting import paint_strokes
from genlmk.template.template import Template

MOTIFS = ("straight", "curve", "closed", "tee", "cross", "loop_stems")
PAINT_COLORS = (
    (30, 60, 200),  # blue
    (20, 150, 60),  # green
    (190, 30, 150),  # magenta
    (235, 110, 20),  # orange
    (0, 135, 160),  # teal
    (110, 40, 170),  # purple
)
SKIN_TONES = ((226, 184, 156), (198, 144, 110), (150, 100, 72), (236, 200, 176))


@dataclass
class StrokeScene:
    """A synthetic photo and the truth it was painted from.

    Attributes:
        image: (H, W, 3) uint8 RGB photo.
        polylines: true centre lines, each (M, 2) ``(x, y)`` pixels of ``image``.
        closed: per polyline, whether it is closed.
        color: the paint colour, RGB 0-255.
        width: the stroke width at half coverage, pixels.
        motifs: the motif of each cell.
    """

    image: np.ndarray
    polylines: list[np.ndarray]
    closed: list[bool]
    color: tuple[int, int, int]
    width: float
    motifs: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- motifs (local units)
def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _ellipse(rng: np.random.Generator, a: float, b: float, count: int = 96) -> np.ndarray:
    theta = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.stack([a * np.cos(theta), b * np.sin(theta)], axis=1) @ _rotation(rng.uniform(0, np.pi)).T


def _closed_shape(rng: np.random.Generator, r: float) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:
        a = rng.uniform(0.6, 0.95) * r
        return _ellipse(rng, a, rng.uniform(0.55, 1.0) * a)
    theta = np.linspace(0, 2 * np.pi, 96 if kind == 1 else rng.integers(3, 6), endpoint=False)
    theta = theta + rng.uniform(0, 2 * np.pi)
    if kind == 1:  # smooth blob
        radius = r * 0.75 * (1 + 0.15 * np.cos(2 * theta + rng.uniform(0, 6)) + 0.08 * np.cos(3 * theta))
    else:  # polygon with 3-5 corners
        radius = r * rng.uniform(0.8, 0.95, size=len(theta))
    return np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)


def _motif(rng: np.random.Generator, kind: str, r: float) -> list[tuple[np.ndarray, bool]]:
    """Polylines of one motif, centred near the origin, within about ``r`` pixels."""
    turn = _rotation(rng.uniform(0, 2 * np.pi))
    if kind == "straight":
        half = rng.uniform(0.6, 0.95) * r
        return [(np.array([[-half, 0.0], [half, 0.0]]) @ turn.T, False)]
    if kind == "curve":
        if rng.random() < 0.5:
            t = np.linspace(-0.85 * r, 0.85 * r, 90)
            wave = rng.uniform(0.2, 0.35) * r * np.sin(np.pi * t / (0.85 * r) + rng.uniform(0, 2 * np.pi))
            return [(np.stack([t, wave], axis=1) @ turn.T, False)]
        span = rng.uniform(0.5, 1.3) * np.pi
        theta = np.linspace(-span / 2, span / 2, 90)
        radius = rng.uniform(0.6, 0.85) * r
        return [(np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1) @ turn.T, False)]
    if kind == "closed":
        return [(_closed_shape(rng, r), True)]
    if kind == "tee":
        half = rng.uniform(0.7, 0.95) * r
        base = np.array([rng.uniform(-0.4, 0.4) * half, -0.4 * r])
        angle = np.deg2rad(rng.uniform(60, 120))
        tip = base + rng.uniform(0.9, 1.2) * r * np.array([np.cos(angle), np.sin(angle)])
        bar = np.array([[-half, -0.4 * r], [half, -0.4 * r]])
        return [(bar @ turn.T, False), (np.stack([base, tip]) @ turn.T, False)]
    if kind == "cross":
        half_a, half_b = rng.uniform(0.7, 0.95, size=2) * r
        angle = np.deg2rad(rng.uniform(50, 90))
        a = np.array([[-half_a, 0.0], [half_a, 0.0]])
        b = np.array([[-half_b, 0.0], [half_b, 0.0]]) @ _rotation(angle).T + rng.uniform(-0.2, 0.2) * r
        return [(a @ turn.T, False), (b @ turn.T, False)]
    if kind == "loop_stems":
        a = rng.uniform(0.45, 0.55) * r
        loop = _ellipse(rng, a, rng.uniform(0.75, 1.0) * a)
        first = rng.integers(len(loop))
        lines = [(loop, True)]
        for index in (first, (first + len(loop) // 2 + rng.integers(-8, 9)) % len(loop)):
            base = loop[index]
            tangent = loop[(index + 1) % len(loop)] - loop[index - 1]
            normal = np.array([tangent[1], -tangent[0]]) / np.linalg.norm(tangent)
            if normal @ base < 0:
                normal = -normal
            tip = base + rng.uniform(0.35, 0.45) * r * normal
            lines.append((np.stack([base, tip]), False))
        return lines
    raise ValueError(f"unknown motif {kind!r} (known: {', '.join(MOTIFS)})")


# ---------------------------------------------------------------------- photo
def skin_background(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A skin-like textured albedo and an illumination field.

    Returns:
        albedo: (H, W, 3) float64 RGB 0-255 (tone, blotches, grain and a few freckles).
        illumination: (H, W) float64 multiplier, about 0.75-1.1 (a gradient and a vignette).
    """
    width, height = size
    tone = np.asarray(SKIN_TONES[rng.integers(len(SKIN_TONES))], dtype=np.float64) + rng.normal(0, 6, 3)
    low = gaussian_filter(rng.normal(size=(height, width)), sigma=min(size) / 6)
    low /= low.std() + 1e-9
    blotches = gaussian_filter(rng.normal(size=(height, width, 3)), sigma=(3, 3, 0))
    blotches /= blotches.std() + 1e-9
    grain = rng.normal(size=(height, width, 1))
    albedo = tone + low[..., None] * np.array([9.0, 8.0, 6.0]) + 4.0 * blotches + 3.0 * grain
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    for _ in range(rng.integers(3, 9)):  # freckles: small, brownish, low saturation
        cx, cy, radius = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(1.0, 2.5)
        spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
        albedo = albedo * (1 - 0.25 * spot[..., None])
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    ramp = ((xs / width - 0.5) * direction[0] + (ys / height - 0.5) * direction[1]) * rng.uniform(0.1, 0.3)
    vignette = 0.12 * (((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) * 2)
    return albedo, 0.95 + ramp - vignette


def photometric_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Camera blur (sigma 0.4-0.9 px), sensor noise (sigma 2-5 of 255) and JPEG (quality 85-95)."""
    blurred = gaussian_filter(image.astype(np.float64), sigma=(rng.uniform(0.4, 0.9),) * 2 + (0,))
    noisy = np.clip(blurred + rng.normal(0, rng.uniform(2, 5), image.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="JPEG", quality=int(rng.integers(85, 96)))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def make_scene(
    rng: np.random.Generator,
    cell: int = 128,
    grid: tuple[int, int] = (2, 2),
    motifs: list[str] | None = None,
    color: tuple[int, int, int] | None = None,
    width: float | None = None,
) -> StrokeScene:
    """A synthetic photo of strokes painted along known polylines.

    Args:
        rng: the random generator (the scene is a function of its state).
        cell: cell size, pixels; the photo is ``grid[0] * cell`` wide and ``grid[1] * cell`` high.
        grid: cells across and down.
        motifs: one motif per cell (row by row); random when None.
        color: paint colour; a random one of :data:`PAINT_COLORS` when None.
        width: stroke width, pixels; uniform in [2, 7] when None.
    """
    columns, rows = grid
    size = (columns * cell, rows * cell)
    motifs = list(motifs) if motifs is not None else [str(rng.choice(MOTIFS)) for _ in range(rows * columns)]
    if len(motifs) != rows * columns:
        raise ValueError(f"{len(motifs)} motifs for a {columns}x{rows} grid")
    color = color or PAINT_COLORS[rng.integers(len(PAINT_COLORS))]
    width = float(width if width is not None else rng.uniform(2.0, 7.0))
    radius = cell / 2 - width - 6
    polylines, closed = [], []
    for index, kind in enumerate(motifs):
        centre = np.array([(index % columns + 0.5) * cell, (index // columns + 0.5) * cell])
        lines = _motif(rng, kind, radius)
        everything = np.concatenate([line for line, _ in lines])
        middle = (everything.min(axis=0) + everything.max(axis=0)) / 2
        scale = min(1.0, 2 * radius / float((everything.max(axis=0) - everything.min(axis=0)).max()))
        for line, is_closed in lines:
            polylines.append((line - middle) * scale + centre)
            closed.append(is_closed)
    albedo, illumination = skin_background(rng, size)
    photo = np.clip(albedo * illumination[..., None], 0, 255).astype(np.uint8)
    painted = paint_strokes(photo, polylines, closed, color, width, shading=illumination)
    return StrokeScene(photometric_noise(painted, rng), polylines, closed, color, width, motifs)


# ---------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class ExtractionScore:
    """How well an extracted template matches the true polylines.

    Attributes:
        mean_distance: mean distance of the extracted landmarks to their matched true line
            (to the nearest true line for landmarks of unmatched lines), pixels.
        max_distance: the largest such distance, pixels.
        completeness: mean distance from points every pixel along the true lines to their
            matched extracted line (the lines' full length is found), pixels; unmatched true
            lines count as the distance to the nearest extracted line.
        lines_true: number of true lines.
        lines_found: number of extracted lines.
        closed_true: number of true closed lines.
        closed_found: how many of those were extracted as closed lines.
        open_closed_wrongly: true open lines whose match was extracted closed.
        distances: the distance of each extracted landmark (per line, a closed line's first
            landmark once) to its matched true line, pixels.
    """

    mean_distance: float
    max_distance: float
    completeness: float
    lines_true: int
    lines_found: int
    closed_true: int
    closed_found: int
    open_closed_wrongly: int
    distances: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))

    @property
    def lines_right(self) -> bool:
        return self.lines_true == self.lines_found

    @property
    def closed_right(self) -> bool:
        return self.closed_found == self.closed_true and self.open_closed_wrongly == 0


def score_extraction(template: Template, polylines: list[np.ndarray], closed: list[bool]) -> ExtractionScore:
    """Compare the lines of an extracted template with the true polylines (same pixel frame).

    Lines are matched one-to-one by the smallest mean landmark distance (Hungarian matching).
    """
    found = [
        template.points[list(line[:-1] if template.is_closed(k) else line)]
        for k, line in enumerate(template.lines)
    ]
    found_closed = [template.is_closed(k) for k in range(len(template.lines))]
    cost = np.array(
        [[point_polyline_distance(f, t, c).mean() for t, c in zip(polylines, closed)] for f in found]
    ).reshape(len(found), len(polylines))
    rows, cols = linear_sum_assignment(cost)
    match = dict(zip(rows.tolist(), cols.tolist()))
    distances = []
    for k, points in enumerate(found):
        if k in match:
            distances.append(point_polyline_distance(points, polylines[match[k]], closed[match[k]]))
        else:
            distances.append(
                np.min([point_polyline_distance(points, t, c) for t, c in zip(polylines, closed)], 0)
            )
    every = np.concatenate(distances)
    reverse = {j: k for k, j in match.items()}
    gaps = []
    for j, (truth, is_closed) in enumerate(zip(polylines, closed)):
        dense = resample_by_spacing(truth, 1.0, is_closed)
        candidates = [reverse[j]] if j in reverse else range(len(found))
        gaps.append(
            np.min([point_polyline_distance(dense, found[k], found_closed[k]) for k in candidates], axis=0)
        )
    return ExtractionScore(
        mean_distance=float(every.mean()),
        max_distance=float(every.max()),
        completeness=float(np.concatenate(gaps).mean()),
        lines_true=len(polylines),
        lines_found=len(found),
        closed_true=sum(closed),
        closed_found=sum(1 for k, j in match.items() if closed[j] and found_closed[k]),
        open_closed_wrongly=sum(1 for k, j in match.items() if not closed[j] and found_closed[k]),
        distances=every,
    )
