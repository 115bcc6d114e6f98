"""Editing templates: small pure functions that each return a new, validated template.

Lines are referred to by their part name (``index_finger``) or their index (``3`` or ``#3``,
as in error messages); landmarks by name or hierarchical id. Every edit goes through the
template's YAML structure and :meth:`Template.from_dict`, so its result is validated like a
file and errors name the template's source.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlmk.checkpoints import TEMPLATE_KEY, load_checkpoint
from genlmk.errors import CheckpointError, TemplateError
from genlmk.template.template import Template


def _line_entries(template: Template) -> list[tuple[str, list[str]]]:
    """Each line as ``(part, landmark names)``; a closed line repeats its first name."""
    return [(part, [template.names[i] for i in line]) for part, line in zip(template.parts, template.lines)]


def _rebuilt(template: Template, lines: list[tuple[str, list[str]]], **changes: Any) -> Template:
    """A template with new lines (and other top-level changes), validated."""
    data = template.to_dict()
    data["lines"] = [{"part": part, "points": names} if part else names for part, names in lines]
    data.update(changes)
    return Template.from_dict(data, source=template.source)


def _with_lines(template: Template, lines: list[tuple[str, list[str]]]) -> Template:
    """A template with only ``lines`` and the landmarks on them."""
    on_a_line = {n for _, names in lines for n in names}
    landmarks = [lm for lm in template.to_dict()["landmarks"] if lm["name"] in on_a_line]
    return _rebuilt(template, lines, landmarks=landmarks)


def _is_closed(names: list[str]) -> bool:
    return len(names) > 2 and names[0] == names[-1]


def set_category(template: Template, category: str) -> Template:
    """The template with ``category`` (``""`` removes it)."""
    data = template.to_dict()
    data.pop("category", None)
    if category:
        data["category"] = category
    return Template.from_dict(data, source=template.source)


def rename_line(template: Template, line: str | int, part: str) -> Template:
    """Give a line the part name ``part``.

    Landmarks on the line named after its old part (``<old>_<k>``, as :mod:`extract` names
    them) are renamed ``<part>_<k>``.
    """
    index = template.line_index(line)
    if part in template.parts and template.parts.index(part) != index:
        raise TemplateError(
            f"{template.source}: part {part!r} is taken by line #{template.parts.index(part)}"
        )
    lines = _line_entries(template)
    old, names = lines[index]
    renames = {}
    if old:
        pattern = re.compile(rf"{re.escape(old)}_(\d+)")
        renames = {n: f"{part}_{m.group(1)}" for n in names if (m := pattern.fullmatch(n))}
    lines[index] = (part, names)
    lines = [(p, [renames.get(n, n) for n in ns]) for p, ns in lines]
    data = template.to_dict()
    landmarks = [{**lm, "name": renames.get(lm["name"], lm["name"])} for lm in data["landmarks"]]
    return _rebuilt(template, lines, landmarks=landmarks)


def reverse_line(template: Template, line: str | int) -> Template:
    """Run a line the other way (a closed line keeps its first landmark)."""
    index = template.line_index(line)
    lines = _line_entries(template)
    part, names = lines[index]
    lines[index] = (part, names[::-1])
    return _rebuilt(template, lines)


def merge_lines(template: Template, first: str | int, second: str | int, part: str | None = None) -> Template:
    """Join two open lines into one, at their nearest ends.

    ``second`` is attached to the end of ``first`` nearest to one of its own ends (either
    line is reversed as needed, ``first`` keeping its direction on ties); a landmark the two
    share there appears once. If the joined line ends where it starts it is closed. The
    merged line takes ``first``'s place and part (or ``part``).
    """
    i, j = template.line_index(first), template.line_index(second)
    if i == j:
        raise TemplateError(f"{template.source}: cannot merge line #{i} with itself")
    lines = _line_entries(template)
    (part_a, a), (part_b, b) = lines[i], lines[j]
    for k, names in ((i, a), (j, b)):
        if _is_closed(names):
            raise TemplateError(f"{template.source}: cannot merge closed line #{k}; split it first")
    position = {n: template.points[template.index(n)] for n in a + b}

    def gap(x: list[str], y: list[str]) -> float:
        return float(np.linalg.norm(position[x[-1]] - position[y[0]]))

    options = [(a, b), (a, b[::-1]), (a[::-1], b), (a[::-1], b[::-1])]
    x, y = min(options, key=lambda pair: gap(*pair))
    joined = x + y[1:] if x[-1] == y[0] else x + y
    lines[i] = (part if part is not None else (part_a or part_b), joined)
    del lines[j]
    return _rebuilt(template, lines)


def split_line(
    template: Template, line: str | int, at: Sequence[str], parts: Sequence[str] | None = None
) -> Template:
    """Cut a line at landmarks into lines that share them.

    An open line is cut at one or more of its inner landmarks; a closed line needs at least
    two cut landmarks and becomes the open arcs between them. The first piece keeps the
    line's place and part; the others get ``parts`` in order, or ``<part>.2``, ``<part>.3``,
    ... when the line has a part (no part otherwise).
    """
    index = template.line_index(line)
    lines = _line_entries(template)
    part, names = lines[index]
    closed = _is_closed(names)
    body = names[:-1] if closed else names
    unknown = [n for n in at if n not in body]
    if unknown:
        raise TemplateError(f"{template.source}: landmark {unknown[0]!r} is not on line #{index}")
    cuts = sorted({body.index(n) for n in at})
    if closed:
        if len(cuts) < 2:
            raise TemplateError(f"{template.source}: a closed line needs two landmarks to split at")
        body = body[cuts[0] :] + body[: cuts[0]]
        cuts = [c - cuts[0] for c in cuts] + [len(body)]
        body = [*body, body[0]]
    else:
        if cuts[0] == 0 or cuts[-1] == len(body) - 1:
            raise TemplateError(f"{template.source}: split line #{index} at an inner landmark, not at an end")
        cuts = [0, *cuts, len(body) - 1]
    pieces = [body[lo : hi + 1] for lo, hi in itertools.pairwise(cuts)]
    if parts is not None and len(parts) != len(pieces) - 1:
        raise TemplateError(
            f"{template.source}: splitting line #{index} makes {len(pieces)} lines; "
            f"give {len(pieces) - 1} new part names, got {len(parts)}"
        )
    new_parts = (
        list(parts)
        if parts is not None
        else [f"{part}.{k}" if part else "" for k in range(2, len(pieces) + 1)]
    )
    lines[index : index + 1] = [(part, pieces[0]), *zip(new_parts, pieces[1:])]
    return _rebuilt(template, lines)


def drop_landmarks(template: Template, patterns: Iterable[str]) -> Template:
    """Remove landmarks, given by name, id or glob pattern (``line3_*``).

    Each line closes up over the removed landmarks; a line left with fewer than two points
    is removed, and landmarks then on no line go too. A closed line left with two points
    becomes an open segment.
    """
    patterns = list(patterns)
    labels = list(zip(template.names, template.ids))
    dropped: set[str] = set()
    for pattern in patterns:
        hits = {n for n, i in labels if fnmatch.fnmatchcase(n, pattern) or fnmatch.fnmatchcase(i, pattern)}
        if not hits:
            raise TemplateError(f"{template.source}: no landmark matches {pattern!r}")
        dropped |= hits
    lines = []
    for part, names in _line_entries(template):
        closed = _is_closed(names)
        kept = [n for n in (names[:-1] if closed else names) if n not in dropped]
        if closed and len(kept) >= 3:
            kept.append(kept[0])
        if len(kept) >= 2:
            lines.append((part, kept))
    if not lines:
        raise TemplateError(f"{template.source}: dropping {', '.join(patterns)} leaves no line")
    return _with_lines(template, lines)


def drop_lines(template: Template, lines: Iterable[str | int]) -> Template:
    """Remove whole lines (by part name or index); landmarks then on no line go too."""
    drop = {template.line_index(line) for line in lines}
    kept = [entry for k, entry in enumerate(_line_entries(template)) if k not in drop]
    if not kept:
        raise TemplateError(f"{template.source}: dropping every line leaves an empty template")
    return _with_lines(template, kept)


def rescale_template(
    template: Template, size: tuple[int, int], fit: bool = False, margin: float = 0.1
) -> Template:
    """Put a template on a canvas of ``size = (width, height)`` pixels.

    Without ``fit`` the canvas is stretched (:meth:`Template.rescaled`). With ``fit`` the
    landmarks' bounding box is scaled uniformly (the stroke width too) to fill the canvas
    less ``margin`` (a fraction of each side) and centred: the way to bring a template
    extracted from a large photo onto a training canvas.
    """
    width, height = int(size[0]), int(size[1])
    if width <= 0 or height <= 0:
        raise TemplateError(f"{template.source}: canvas size must be positive, got {size}")
    if not fit:
        return template.rescaled((width, height))
    if not 0 <= margin < 0.5:
        raise TemplateError(f"{template.source}: margin must be in [0, 0.5), got {margin}")
    x0, y0, x1, y1 = template.bounding_box()
    extent = np.maximum([x1 - x0, y1 - y0], 1e-6)
    scale = float(np.min(np.array([width, height]) * (1 - 2 * margin) / extent))
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    points = (template.points - centre) * scale + np.array([width, height]) / 2
    data = template.to_dict()
    data["size"] = [width, height]
    for landmark, (x, y) in zip(data["landmarks"], points):
        landmark["x"], landmark["y"] = round(float(x), 4), round(float(y), 4)
    data["marker"]["width"] = round(template.marker.width * scale, 4)
    return Template.from_dict(data, source=template.source)


def compare_templates(mine: Template, theirs: Template) -> list[str]:
    """How two templates differ in canvas size, landmark names and lines (empty: they agree).

    Each difference is a short phrase, ``mine`` first.
    """
    differences = []
    if mine.size != theirs.size:
        differences.append(f"size {mine.width}x{mine.height} vs {theirs.width}x{theirs.height}")
    if mine.names != theirs.names:
        if len(mine.names) != len(theirs.names):
            differences.append(f"{len(mine.names)} vs {len(theirs.names)} landmarks")
        else:
            k = next(k for k, (a, b) in enumerate(zip(mine.names, theirs.names)) if a != b)
            differences.append(f"landmark #{k} is {mine.names[k]!r} vs {theirs.names[k]!r}")
    mine_lines = [[mine.names[i] for i in line] for line in mine.lines]
    their_lines = [[theirs.names[i] for i in line] for line in theirs.lines]
    if mine_lines != their_lines:
        if len(mine_lines) != len(their_lines):
            differences.append(f"{len(mine_lines)} vs {len(their_lines)} lines")
        else:
            k = next(k for k, (a, b) in enumerate(zip(mine_lines, their_lines)) if a != b)
            differences.append(f"line #{k} runs {_short(mine_lines[k])} vs {_short(their_lines[k])}")
    return differences


def _short(names: list[str]) -> str:
    return "[" + ", ".join(names if len(names) <= 4 else [*names[:2], "...", names[-1]]) + "]"


def check_against_checkpoint(template: Template, checkpoint: str | Path) -> Template:
    """Check that a template is the one a landmark checkpoint was trained with.

    Compares canvas size, landmark names and lines with the template stored in the
    checkpoint (under ``genlmk_template``).

    Returns:
        The checkpoint's template.

    Raises:
        CheckpointError: the checkpoint is unreadable, not a landmark model, or has no template.
        TemplateError: the templates differ; one line listing the differences.
    """
    stored = load_checkpoint(checkpoint, kind="landmarks").get(TEMPLATE_KEY)
    if stored is None:
        raise CheckpointError(f"{checkpoint}: checkpoint holds no template (no {TEMPLATE_KEY!r} key)")
    theirs = Template.from_dict(stored, source=f"{checkpoint} ({TEMPLATE_KEY})")
    differences = compare_templates(template, theirs)
    if differences:
        raise TemplateError(
            f"{template.source}: does not match the template in {checkpoint}: {'; '.join(differences)}"
        )
    return theirs
