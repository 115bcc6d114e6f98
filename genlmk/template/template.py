"""Landmark templates: named points joined into the lines a user paints on the skin.

A template is authored as YAML::

    name: face
    size: [128, 128]          # canvas [width, height] the coordinates refer to
    landmarks:                # ordered; names unique
      - {name: jaw_00, x: 26.8, y: 41.2}
    lines:                    # polylines through landmark names
      - [jaw_00, jaw_01, jaw_02]
      - [eye_r_0, eye_r_1, eye_r_2, eye_r_0]   # last == first: a closed line
    marker: {color: [25, 50, 210], width: 2.0}

Hierarchical names (optional): a template may declare a ``category`` (e.g. ``hand``) and a
line may be written as a mapping that names the body ``part`` it traces::

    category: hand
    lines:
      - {part: index_finger, points: [index_1, index_2, index_3, index_4]}
      - [wrist, thumb_1, thumb_2]      # a plain list is still a line (without a part)

Each landmark then has an id ``category/part/k``: ``k`` is its 0-based position on the first
line with a part that passes through it (``hand/index_finger/2`` is ``index_3``). A landmark
on no such line keeps its name as the last component (``hand/wrist``). Templates without
``category`` and parts are unchanged: their ids are their names.

Coordinates are pixels of the canvas, x to the right, y down, with the image's top-left
*corner* at (0, 0): the centre of pixel (row i, column j) is (j + 0.5, i + 0.5). This is
the convention of every coordinate in genlmk's public API; rescaling a canvas is then a
plain multiplication.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from genlmk.errors import TemplateError
from genlmk.yaml_files import read_yaml

_TOP_LEVEL_KEYS = {"name", "category", "size", "landmarks", "lines", "marker", "description"}
_REQUIRED_KEYS = ("name", "size", "landmarks", "lines", "marker")
_LINE_KEYS = {"part", "points"}
# a category or part is one path component of a landmark id
_ID_COMPONENT = re.compile(r"[^/\s]+")


@dataclass(frozen=True)
class Marker:
    """How the lines are painted: RGB colour (0-255) and stroke width in canvas pixels."""

    color: tuple[int, int, int]
    width: float

    @property
    def color_unit(self) -> tuple[float, float, float]:
        """The colour as floats in [0, 1]."""
        return tuple(c / 255.0 for c in self.color)  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class Template:
    """A validated landmark template.

    Attributes:
        name: the template's name (e.g. ``face``).
        size: canvas ``(width, height)`` in pixels that ``points`` refer to.
        names: landmark names, in order; ``names[i]`` labels ``points[i]``.
        points: ``(N, 2)`` float64 array of ``(x, y)`` pixel coordinates on the canvas.
        lines: each line as a tuple of landmark indices; a closed line repeats its first
            index at the end.
        marker: paint colour and stroke width.
        description: free text.
        source: where the template came from (a file path), used in error messages.
        category: the body part the template covers (e.g. ``hand``), or ``""``.
        parts: per line, the name of the part it traces (e.g. ``index_finger``), or ``""``
            for a line given as a plain list; same length as ``lines`` (``()`` means no parts).
    """

    name: str
    size: tuple[int, int]
    names: tuple[str, ...]
    points: np.ndarray
    lines: tuple[tuple[int, ...], ...]
    marker: Marker
    description: str = ""
    source: str = field(default="<memory>", compare=False)
    category: str = ""
    parts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.parts:
            object.__setattr__(self, "parts", ("",) * len(self.lines))
        elif len(self.parts) != len(self.lines):
            raise TemplateError(f"{self.source}: {len(self.parts)} part names for {len(self.lines)} lines")

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path) -> Template:
        """Read and validate a template YAML file.

        Raises:
            TemplateError: the file is missing, is not YAML, or fails validation; the
                message names the file and the problem.
        """
        return cls.from_dict(read_yaml(path, TemplateError, "template"), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<memory>") -> Template:
        """Validate a parsed template (the YAML structure) and build a ``Template``."""
        return _parse(data, source)

    # ------------------------------------------------------------------ derived views
    @property
    def num_landmarks(self) -> int:
        return len(self.names)

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def is_closed(self, line_index: int) -> bool:
        """Whether line ``line_index`` ends where it starts."""
        line = self.lines[line_index]
        return len(line) > 2 and line[0] == line[-1]

    @property
    def closed_lines(self) -> list[tuple[int, ...]]:
        """Each closed line's distinct landmark indices in order (the repeated first one dropped)."""
        return [line[:-1] for k, line in enumerate(self.lines) if self.is_closed(k)]

    @property
    def edges(self) -> np.ndarray:
        """``(E, 2)`` int64 array of neighbouring landmark pairs along the lines.

        Each undirected pair appears once (in first-seen order), so a segment shared by two
        lines is one spring and one painted stroke.
        """
        seen: dict[tuple[int, int], None] = {}
        for line in self.lines:
            for a, b in pairwise(line):
                seen.setdefault((min(a, b), max(a, b)), None)
        return np.array(list(seen), dtype=np.int64).reshape(-1, 2)

    @property
    def ids(self) -> tuple[str, ...]:
        """Hierarchical landmark ids, ``category/part/k`` (see the module docstring).

        ``ids[i]`` labels ``points[i]``; without category and parts the ids are the names.
        """
        return _landmark_ids(self.names, self.lines, self.parts, self.category)

    def index(self, name: str) -> int:
        """Index of the landmark called ``name`` (a landmark name or a hierarchical id)."""
        if name in self.names:
            return self.names.index(name)
        ids = self.ids
        if name in ids:
            return ids.index(name)
        raise TemplateError(f"{self.source}: no landmark named {name!r}")

    def line_index(self, ref: str | int) -> int:
        """Index of a line given by its part name, its index, or ``#index`` (as in error messages)."""
        text = str(ref).removeprefix("#")
        if text in self.parts:
            return self.parts.index(text)
        if text.isdigit() and int(text) < len(self.lines):
            return int(text)
        named = ", ".join(p for p in self.parts if p) or "none"
        raise TemplateError(
            f"{self.source}: no line {ref!r} (give a part name or an index 0-{len(self.lines) - 1};"
            f" parts: {named})"
        )

    def bounding_box(self) -> tuple[float, float, float, float]:
        """``(x_min, y_min, x_max, y_max)`` of the landmarks, in canvas pixels."""
        lo = self.points.min(axis=0)
        hi = self.points.max(axis=0)
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])

    # ------------------------------------------------------------------ transforms
    def with_marker_width(self, width: float) -> Template:
        """The same template painted ``width`` canvas pixels wide."""
        return replace(self, marker=replace(self.marker, width=float(width)))

    def rescaled(self, size: tuple[int, int]) -> Template:
        """The same template on a canvas of ``size = (width, height)`` pixels.

        Points scale per axis; the stroke width scales by the geometric mean of the two
        factors so that a uniform rescale scales it exactly.
        """
        new_w, new_h = int(size[0]), int(size[1])
        if new_w <= 0 or new_h <= 0:
            raise TemplateError(f"{self.source}: cannot rescale to non-positive size {size}")
        sx, sy = new_w / self.width, new_h / self.height
        marker = Marker(self.marker.color, self.marker.width * math.sqrt(sx * sy))
        return Template(
            name=self.name,
            size=(new_w, new_h),
            names=self.names,
            points=self.points * np.array([sx, sy]),
            lines=self.lines,
            marker=marker,
            description=self.description,
            source=self.source,
            category=self.category,
            parts=self.parts,
        )

    # ------------------------------------------------------------------ saving
    def to_dict(self) -> dict[str, Any]:
        """The YAML structure of this template (inverse of :meth:`from_dict`)."""
        data: dict[str, Any] = {"name": self.name}
        if self.category:
            data["category"] = self.category
        data["size"] = [self.width, self.height]
        if self.description:
            data["description"] = self.description
        data["landmarks"] = [
            {"name": n, "x": round(float(p[0]), 4), "y": round(float(p[1]), 4)}
            for n, p in zip(self.names, self.points)
        ]
        data["lines"] = [
            {"part": part, "points": [self.names[i] for i in line]} if part else [self.names[i] for i in line]
            for line, part in zip(self.lines, self.parts)
        ]
        data["marker"] = {"color": list(self.marker.color), "width": float(self.marker.width)}
        return data

    def save(self, path: str | Path) -> None:
        """Write the template as YAML (one landmark per line, one line per line)."""
        Path(path).write_text(dump_template_yaml(self.to_dict()), encoding="utf-8")

    def __repr__(self) -> str:
        return (
            f"Template(name={self.name!r}, size={self.size}, landmarks={self.num_landmarks}, "
            f"lines={len(self.lines)}, source={self.source!r})"
        )


def dump_template_yaml(data: dict[str, Any]) -> str:
    """Format a template structure as compact, hand-editable YAML."""

    def flow(value: Any) -> str:
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000)
        return text.removesuffix("\n...\n").strip()  # a bare scalar gets a document-end marker

    out = [f"name: {flow(data['name'])}"]
    if data.get("category"):
        out.append(f"category: {flow(data['category'])}")
    if data.get("description"):
        out.append(f"description: {flow(data['description'])}")
    out.append(f"size: {flow(list(data['size']))}")
    out.append("landmarks:")
    out.extend(f"  - {flow(lm)}" for lm in data["landmarks"])
    out.append("lines:")
    out.extend(f"  - {flow(line if isinstance(line, dict) else list(line))}" for line in data["lines"])
    out.append(f"marker: {flow(data['marker'])}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- validation
def _fail(source: str, problem: str) -> TemplateError:
    return TemplateError(f"{source}: {problem}")


def _number(value: Any, what: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, f"{what} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(source, f"{what} must be finite, got {value!r}")
    return float(value)


def _parse_size(value: Any, source: str) -> tuple[int, int]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise _fail(source, f"size must be [width, height] as two positive integers, got {value!r}")
    return int(value[0]), int(value[1])


def _parse_marker(value: Any, size: tuple[int, int], source: str) -> Marker:
    if not isinstance(value, dict):
        raise _fail(source, f"marker must be a mapping with color and width, got {value!r}")
    unknown = set(value) - {"color", "width"}
    if unknown:
        raise _fail(source, f"marker has unknown keys {sorted(unknown)} (allowed: color, width)")
    color = value.get("color")
    if (
        not isinstance(color, (list, tuple))
        or len(color) != 3
        or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
    ):
        raise _fail(source, f"marker color must be three integers 0-255 (RGB), got {color!r}")
    width = _number(value.get("width"), "marker width", source)
    if not 0 < width <= min(size) / 4:
        raise _fail(source, f"marker width must be in (0, {min(size) / 4:g}] pixels, got {width:g}")
    return Marker((int(color[0]), int(color[1]), int(color[2])), width)


def _parse_landmarks(value: Any, size: tuple[int, int], source: str) -> tuple[tuple[str, ...], np.ndarray]:
    if not isinstance(value, list) or not value:
        raise _fail(source, "landmarks must be a non-empty list of {name, x, y}")
    names: list[str] = []
    coords: list[tuple[float, float]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"name", "x", "y"}:
            raise _fail(source, f"landmark #{i} must be a mapping with exactly name, x, y; got {item!r}")
        name = item["name"]
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise _fail(source, f"landmark #{i} has an invalid name {name!r}")
        if name in seen:
            raise _fail(source, f"duplicate landmark name {name!r}")
        seen.add(name)
        x = _number(item["x"], f"landmark {name!r} x", source)
        y = _number(item["y"], f"landmark {name!r} y", source)
        if not (0 <= x <= size[0] and 0 <= y <= size[1]):
            raise _fail(
                source,
                f"landmark {name!r} at ({x:g}, {y:g}) is outside the {size[0]}x{size[1]} canvas",
            )
        names.append(name)
        coords.append((x, y))
    return tuple(names), np.array(coords, dtype=np.float64)


def _parse_part(value: Any, what: str, source: str) -> str:
    if not isinstance(value, str) or not _ID_COMPONENT.fullmatch(value):
        raise _fail(source, f"{what} must be a non-empty name without '/' or spaces, got {value!r}")
    return value


def _split_line(line: Any, k: int, source: str) -> tuple[Any, str]:
    """A line entry as (its list of names, its part): a plain list, or ``{part, points}``."""
    if not isinstance(line, dict):
        return line, ""
    if set(line) != _LINE_KEYS:
        raise _fail(
            source, f"line #{k} as a mapping must have exactly the keys part and points, got {line!r}"
        )
    return line["points"], _parse_part(line["part"], f"line #{k} part", source)


def _parse_lines(
    value: Any, names: tuple[str, ...], source: str
) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    if not isinstance(value, list) or not value:
        raise _fail(source, "lines must be a non-empty list of lines (name lists or {part, points})")
    lookup = {n: i for i, n in enumerate(names)}
    lines: list[tuple[int, ...]] = []
    parts: list[str] = []
    for k, entry in enumerate(value):
        line, part = _split_line(entry, k, source)
        if not isinstance(line, list) or not all(isinstance(n, str) for n in line):
            raise _fail(source, f"line #{k} must be a list of landmark names, got {line!r}")
        if len(line) < 2:
            raise _fail(source, f"line #{k} {line!r} has fewer than 2 points")
        unknown = [n for n in line if n not in lookup]
        if unknown:
            raise _fail(source, f"line #{k} names unknown landmark {unknown[0]!r}")
        for a, b in pairwise(line):
            if a == b:
                raise _fail(source, f"line #{k} repeats {a!r} twice in a row (a zero-length segment)")
        closed = line[0] == line[-1]
        if closed and len(line) < 4:
            raise _fail(source, f"closed line #{k} {line!r} needs at least 3 distinct points")
        body = line[:-1] if closed else line
        if len(set(body)) != len(body):
            raise _fail(
                source, f"line #{k} visits a landmark twice (only a closed line may end at its start)"
            )
        if part and part in parts:
            raise _fail(source, f"line #{k} repeats part {part!r} (part names must be unique)")
        lines.append(tuple(lookup[n] for n in line))
        parts.append(part)
    on_a_line = {i for line in lines for i in line}
    orphans = [names[i] for i in range(len(names)) if i not in on_a_line]
    if orphans:
        raise _fail(source, f"landmark {orphans[0]!r} lies on no line (every landmark must be painted)")
    return tuple(lines), tuple(parts)


def _landmark_ids(
    names: tuple[str, ...], lines: tuple[tuple[int, ...], ...], parts: tuple[str, ...], category: str
) -> tuple[str, ...]:
    ids = list(names)
    named = [False] * len(names)
    for line, part in zip(lines, parts):
        if not part:
            continue
        for k, i in enumerate(line):
            if not named[i]:
                ids[i], named[i] = f"{part}/{k}", True
    if category:
        ids = [f"{category}/{i}" for i in ids]
    return tuple(ids)


def _parse(data: Any, source: str) -> Template:
    if not isinstance(data, dict):
        raise _fail(source, f"a template must be a YAML mapping, got {type(data).__name__}")
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise _fail(source, f"unknown keys {sorted(unknown)} (allowed: {sorted(_TOP_LEVEL_KEYS)})")
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise _fail(source, f"missing required key {missing[0]!r}")
    name = data["name"]
    if not isinstance(name, str) or not name:
        raise _fail(source, f"name must be a non-empty string, got {name!r}")
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        raise _fail(source, "description must be a string")
    category = _parse_part(data["category"], "category", source) if "category" in data else ""
    size = _parse_size(data["size"], source)
    names, points = _parse_landmarks(data["landmarks"], size, source)
    lines, parts = _parse_lines(data["lines"], names, source)
    ids = _landmark_ids(names, lines, parts, category)
    if len(set(ids)) != len(ids):
        clash = next(i for i in ids if ids.count(i) > 1)
        raise _fail(source, f"two landmarks have the id {clash!r} (rename one or its part)")
    marker = _parse_marker(data["marker"], size, source)
    return Template(
        name=name,
        size=size,
        names=names,
        points=points,
        lines=lines,
        marker=marker,
        description=description,
        source=source,
        category=category,
        parts=parts,
    )
