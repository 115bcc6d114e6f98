"""Steps 3-4 of extraction: the paint mask's skeleton as a graph, and the graph traced into lines.

Positions are ``(x, y)`` pixels with the image's top-left corner at the origin (pixel
(row i, column j) has its centre at ``(j + 0.5, i + 0.5)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize

from genlmk.geometry.polylines import arc_lengths

# the 8 neighbours of a pixel, (row, column) offsets
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


@dataclass
class SkeletonGraph:
    """The skeleton of the paint mask as a graph.

    Attributes:
        nodes: (K, 2) node positions ``(x, y)``, pixels (end points and junctions).
        edges: each ``(a, b, path)``: node indices (``-1, -1`` for a loop with no node) and
            the (P, 2) pixel path from node ``a`` to node ``b`` including both node positions
            (for a loop: once around, first point not repeated).
        stroke_width: the stroke width estimated from the mask's distance transform on the
            skeleton, pixels.
    """

    nodes: np.ndarray
    stroke_width: float
    edges: list[tuple[int, int, np.ndarray]] = field(default_factory=list)

    def degree(self, node: int) -> int:
        return sum((a == node) + (b == node) for a, b, _ in self.edges)


def _pixel_adjacency(skeleton: np.ndarray) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """8-connected neighbours of each skeleton pixel, without the redundant diagonal steps
    (a diagonal neighbour also reachable through a shared 4-neighbour is not linked)."""
    pixels = list(zip(*np.nonzero(skeleton)))
    on = set(pixels)
    adjacency: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for y, x in pixels:
        links = []
        for dy, dx in _NEIGHBOURS:
            q = (y + dy, x + dx)
            if q not in on:
                continue
            if dy and dx and ((y + dy, x) in on or (y, x + dx) in on):
                continue
            links.append(q)
        adjacency[(y, x)] = links
    return adjacency


def _centre(pixels) -> np.ndarray:
    """Pixel (row, column) pairs to ``(x, y)`` centres, (P, 2)."""
    return np.array([(x + 0.5, y + 0.5) for y, x in pixels], dtype=np.float64).reshape(-1, 2)


def skeleton_graph(mask: np.ndarray) -> SkeletonGraph:
    """Skeletonize a paint mask and trace it into a graph of end points, junctions and paths.

    Junction pixels that touch form one junction; paths from an end point to a junction shorter
    than ``SPUR_WIDTHS`` stroke widths (spurs of the thinning, e.g. into sharp corners) are
    removed; junctions joined by a path shorter than ``BRIDGE_WIDTHS`` widths + 2 pixels merge
    (two strokes crossing at an angle); components shorter than ``CRUMB_WIDTHS`` widths are
    dropped.

    Args:
        mask: (H, W) bool paint mask.
    """
    skeleton = skeletonize(mask)
    inside = ndimage.distance_transform_edt(mask)[skeleton]
    # a stroke w pixels across has the distance (w + 1) / 2 at its centre pixel
    stroke_width = max(1.0, 2.0 * float(np.median(inside)) - 1.0) if inside.size else 1.0
    adjacency = _pixel_adjacency(skeleton)
    special = [p for p, links in adjacency.items() if len(links) != 2]
    # group touching junction pixels into one node; end points are nodes of their own
    node_of: dict[tuple[int, int], int] = {}
    members: list[list[tuple[int, int]]] = []
    for p in special:
        if p in node_of or not adjacency[p]:
            continue
        group, stack = [p], [p]
        node_of[p] = len(members)
        while stack and len(adjacency[p]) > 2:
            for q in adjacency[stack.pop()]:
                if q not in node_of and len(adjacency[q]) > 2:
                    node_of[q] = len(members)
                    group.append(q)
                    stack.append(q)
        members.append(group)
    nodes = np.array([_centre(group).mean(axis=0) for group in members]).reshape(-1, 2)
    graph = SkeletonGraph(nodes=nodes, stroke_width=stroke_width)
    seen: set[tuple[int, int]] = set()
    for p, node in node_of.items():
        for q in adjacency[p]:
            if node_of.get(q) == node or (p, q) in seen or q in seen:
                continue
            path, previous, current = [p], p, q
            while current not in node_of:
                path.append(current)
                seen.add(current)
                step = [r for r in adjacency[current] if r != previous]
                if not step:
                    break
                previous, current = current, step[0]
            seen.update({(p, q), (current, previous)})
            if current not in node_of:  # a dead end without a node cannot happen; be safe
                continue
            points = np.concatenate(
                [nodes[node : node + 1], _centre(path[1:]), nodes[node_of[current]][None]]
            )
            graph.edges.append((node, node_of[current], points))
    for p in adjacency:  # loops without any node
        if p in seen or p in node_of or len(adjacency[p]) != 2:
            continue
        path, previous, current = [p], adjacency[p][0], p
        seen.add(p)
        while True:
            step = [r for r in adjacency[current] if r != previous and r not in seen]
            if not step:
                break
            previous, current = current, step[0]
            path.append(current)
            seen.add(current)
        if len(path) >= 3:
            graph.edges.append((-1, -1, _centre(path)))
    _simplify(graph)
    return graph


def _path_length(path: np.ndarray) -> float:
    return float(arc_lengths(path)[-1])


# in stroke widths: the longest spur pruned, the longest junction-to-junction path merged
# (two strokes crossing at 45 degrees leave a bridge of about 2.6 widths), the shortest line kept
SPUR_WIDTHS = 2.0
BRIDGE_WIDTHS = 2.5
CRUMB_WIDTHS = 2.0
# dead-end branches shorter than this many widths (a smudge, a detail of the photo touching a
# line) count as turning this many degrees more when branches are paired at a junction
STUB_WIDTHS = 4.0
STUB_TURN_PENALTY = 30.0


def _simplify(graph: SkeletonGraph) -> None:
    """Prune spurs, merge close junctions, join paths through degree-2 nodes, drop crumbs."""
    width = graph.stroke_width
    while True:
        degree = np.zeros(len(graph.nodes), dtype=int)
        for a, b, _ in graph.edges:
            if a >= 0:
                degree[a] += 1
                degree[b] += 1
        inner = [(k, a, b, _path_length(path)) for k, (a, b, path) in enumerate(graph.edges) if 0 <= a != b]
        spurs = [
            k
            for k, a, b, length in inner
            if length < SPUR_WIDTHS * width and sorted(degree[[a, b]])[0] == 1 and max(degree[[a, b]]) >= 3
        ]
        bridges = [
            (k, a, b)
            for k, a, b, length in inner
            if length < BRIDGE_WIDTHS * width + 2 and min(degree[[a, b]]) >= 3
        ]
        passing = [n for n in range(len(graph.nodes)) if degree[n] == 2]
        if spurs:
            del graph.edges[spurs[0]]
        elif bridges:
            k, a, b = bridges[0]
            graph.nodes[a] = graph.edges[k][2][len(graph.edges[k][2]) // 2]
            del graph.edges[k]
            graph.edges[:] = [_reattached(edge, (a, b), a, graph.nodes[a]) for edge in graph.edges]
        elif passing:
            touching = [k for k, (a, b, _) in enumerate(graph.edges) if passing[0] in (a, b)]
            if len(touching) == 2:
                _join_at(graph, passing[0], touching)
            else:  # a loop through one node
                graph.edges[touching[0]] = (-1, -1, graph.edges[touching[0]][2][:-1])
        else:
            break
    graph.edges[:] = [edge for edge in graph.edges if _component_length(graph, edge) >= CRUMB_WIDTHS * width]


def _reattached(edge, old: tuple[int, int], new: int, position: np.ndarray):
    """An edge with its ends at nodes ``old`` moved to node ``new`` at ``position``."""
    a, b, path = edge
    if a in old:
        a, path = new, np.concatenate([position[None], path[1:]])
    if b in old:
        b, path = new, np.concatenate([path[:-1], position[None]])
    return a, b, path


def _join_at(graph: SkeletonGraph, node: int, touching: list[int]) -> None:
    """Join the two edges that meet at a degree-2 node into one."""
    (a1, b1, p1), (a2, b2, p2) = graph.edges[touching[0]], graph.edges[touching[1]]
    if b1 != node:
        a1, b1, p1 = b1, a1, p1[::-1]
    if a2 != node:
        a2, b2, p2 = b2, a2, p2[::-1]
    for k in sorted(touching, reverse=True):
        del graph.edges[k]
    graph.edges.append((a1, b2, np.concatenate([p1, p2[1:]])))


def _component_length(graph: SkeletonGraph, edge) -> float:
    """Total path length of the connected component holding ``edge``."""
    a, _, path = edge
    if a < 0:
        return _path_length(path) + float(np.linalg.norm(path[-1] - path[0]))
    component, frontier, total = set(), {a}, 0.0
    while frontier:
        component |= frontier
        reached = set()
        for x, y, _ in graph.edges:
            if x in component or y in component:
                reached |= {x, y}
        frontier = reached - component
    for x, y, p in graph.edges:
        if x in component or y in component:
            total += _path_length(p)
    return total


@dataclass(frozen=True)
class TracedLine:
    """One painted line as a dense polyline.

    Attributes:
        points: (P, 2) ``(x, y)`` pixels along the line, about 1 pixel apart (a closed line
            lists each point once).
        closed: whether the line is a loop.
        anchors: ``{position in points: node index}`` for the junctions on the line (points
            shared with other lines).
    """

    points: np.ndarray
    closed: bool
    anchors: dict[int, int]


def _direction(path: np.ndarray, stroke_width: float) -> np.ndarray:
    """Unit direction in which ``path`` leaves its first point, measured just beyond the
    junction's blur: from arc length ``w / 2 + 1`` to ``1.5 w + 3`` (clipped to the path)."""
    s = arc_lengths(path)
    total = s[-1]
    near = np.array([np.interp(min(stroke_width / 2 + 1, total / 3), s, path[:, i]) for i in (0, 1)])
    far = np.array([np.interp(min(1.5 * stroke_width + 3, total), s, path[:, i]) for i in (0, 1)])
    delta = far - near
    norm = np.linalg.norm(delta)
    return delta / norm if norm > 1e-9 else np.zeros(2)


def trace_lines(graph: SkeletonGraph, max_turn: float = 60.0) -> list[TracedLine]:
    """Follow the skeleton graph into lines.

    At each junction the branches are paired greedily, most nearly straight first, when the
    line would turn by less than ``max_turn`` degrees; a short dead end (:func:`_is_stub`)
    counts as turning ``STUB_TURN_PENALTY`` degrees more, so it continues a line only when it
    clearly does. A branch left unpaired ends at the junction, which stays a point of every
    line through or ending at it (its anchor).

    Args:
        graph: from :func:`skeleton_graph`.
        max_turn: largest turn, degrees, for two branches to continue each other.
    """
    ends_at: dict[int, list[tuple[int, int]]] = {}
    for k, (a, b, _) in enumerate(graph.edges):
        if a >= 0:
            ends_at.setdefault(a, []).append((k, 0))
            ends_at.setdefault(b, []).append((k, 1))
    partner: dict[tuple[int, int], tuple[int, int]] = {}
    for ends in ends_at.values():
        if len(ends) < 3:
            continue
        directions = {
            end: _direction(graph.edges[end[0]][2][:: 1 if end[1] == 0 else -1], graph.stroke_width)
            for end in ends
        }
        penalty = {end: STUB_TURN_PENALTY * _is_stub(graph, end[0], ends_at) for end in ends}
        pairs = []
        for i, e in enumerate(ends):
            for f in ends[i + 1 :]:
                turn = float(np.degrees(np.arccos(np.clip(-directions[e] @ directions[f], -1.0, 1.0))))
                if turn < max_turn:
                    pairs.append((turn + penalty[e] + penalty[f], e, f))
        for _, e, f in sorted(pairs):
            if e not in partner and f not in partner:
                partner[e], partner[f] = f, e
    used: set[int] = set()
    lines = []
    starts = [(k, side) for k, (a, _, _) in enumerate(graph.edges) if a >= 0 for side in (0, 1)]
    for start in [s for s in starts if s not in partner] + starts:
        if start[0] in used:
            continue
        lines.extend(_follow(graph, start, partner, used))
    lines.extend(
        TracedLine(path, True, {}) for k, (a, _, path) in enumerate(graph.edges) if a < 0 and k not in used
    )
    return lines


def _is_stub(graph: SkeletonGraph, edge: int, ends_at: dict) -> bool:
    """Whether an edge is a short dead end: under ``STUB_WIDTHS`` stroke widths, one end free."""
    a, b, path = graph.edges[edge]
    free = len(ends_at.get(a, [])) == 1 or len(ends_at.get(b, [])) == 1
    return free and _path_length(path) < STUB_WIDTHS * graph.stroke_width


def _follow(graph: SkeletonGraph, start: tuple[int, int], partner: dict, used: set[int]) -> list[TracedLine]:
    """Walk from edge end ``start`` through paired junctions until a free end or an edge
    already walked; returns the walk as lines (see :func:`_split_repeats`)."""
    pieces: list[np.ndarray] = []
    nodes: list[int] = []  # the node each piece starts at
    edge, side = start
    while True:
        a, b, path = graph.edges[edge]
        used.add(edge)
        pieces.append(path if side == 0 else path[::-1])
        nodes.append(a if side == 0 else b)
        last = b if side == 0 else a
        following = partner.get((edge, 1 - side))
        if following is None or following[0] in used:
            break
        edge, side = following
    positions = np.cumsum([0] + [len(p) - 1 for p in pieces]).tolist()
    points = np.concatenate([pieces[0], *[p[1:] for p in pieces[1:]]])
    anchors = [(pos, n) for pos, n in zip(positions, [*nodes, last]) if graph.degree(n) >= 3]
    return _split_repeats(points, anchors)


def _split_repeats(points: np.ndarray, anchors: list[tuple[int, int]]) -> list[TracedLine]:
    """Cut a walk that meets a junction twice into lines that do not: the stretch between two
    visits is a closed line (a walk that ends where it started is one closed line), and the
    rest continues as an open line.

    Args:
        points: (P, 2) the walk's points.
        anchors: ``(position, node)`` of the junctions on the walk, in order.
    """
    lines = []
    while True:
        first_seen: dict[int, int] = {}
        repeat = None
        for position, node in anchors:
            if node in first_seen:
                repeat = (first_seen[node], position)
                break
            first_seen[node] = position
        if repeat is None:
            break
        i, j = repeat
        if j - i >= 3:
            lines.append(TracedLine(points[i:j], True, {p - i: n for p, n in anchors if i <= p < j}))
        points = np.concatenate([points[:i], points[j:]])
        anchors = [(p, n) for p, n in anchors if p < i] + [(p - (j - i), n) for p, n in anchors if p >= j]
    if len(points) >= 2:
        lines.append(TracedLine(points, False, dict(anchors)))
    return lines
