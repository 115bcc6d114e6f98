from __future__ import annotations

import numpy as np
import pytest
from skimage.color import deltaE_cie76, rgb2lab

from genlmk.errors import InputDataError
from genlmk.geometry.polylines import point_polyline_distance
from genlmk.template import Template
from genlmk.template.benchmark import MOTIFS, make_scene, score_extraction
from genlmk.template.extract import (
    estimate_paint_color,
    extract_template,
    segment_paint,
    skeleton_graph,
    trace_lines,
)
from genlmk.template.painting import paint_strokes, stroke_coverage

SKIN = (214, 170, 140)
BLUE = (30, 60, 200)


def _canvas(size=(96, 96), color=SKIN):
    return np.broadcast_to(np.array(color, dtype=np.uint8), (size[1], size[0], 3)).copy()


def _mask(polylines, closed, width=5.0, size=(96, 96)):
    return stroke_coverage(size, polylines, closed, width) >= 0.5


def _ring(cx, cy, radius, count=64):
    t = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return np.stack([cx + radius * np.cos(t), cy + radius * np.sin(t)], axis=1)


# ---------------------------------------------------------------------- painting (the test photos)
def test_stroke_coverage_is_width_across_and_half_at_the_edge():
    line = np.array([[10.0, 20.0], [90.0, 20.0]])
    coverage = stroke_coverage((100, 40), [line], [False], width=4.0)
    column = coverage[:, 50]
    assert column.sum() == pytest.approx(4.0, abs=0.05)  # integral across = width
    # pixel centres at y = 18.5 and 21.5 lie 1.5 px from the line: inside a 4-px stroke by 0.5 px
    assert column[18] == pytest.approx(1.0) and column[17] == pytest.approx(0.0)
    assert coverage[20, 95] == 0.0  # beyond the round cap


def test_paint_strokes_mixes_paint_into_the_photo():
    photo = _canvas()
    painted = paint_strokes(photo, [np.array([[10.0, 48.0], [86.0, 48.0]])], [False], BLUE, 6.0)
    np.testing.assert_array_equal(painted[48, 40], BLUE)
    np.testing.assert_array_equal(painted[10, 40], SKIN)
    assert (photo == SKIN).all()  # input untouched


# ---------------------------------------------------------------------- colour and segmentation
def test_estimate_paint_color_finds_the_stroke_colour_not_the_skin():
    painted = paint_strokes(_canvas(), [_ring(48, 48, 25)], [True], BLUE, 5.0)
    found = estimate_paint_color(painted)
    assert deltaE_cie76(rgb2lab(np.uint8([[found]])), rgb2lab(np.uint8([[BLUE]])))[0, 0] < 3


def test_estimate_paint_color_without_paint_is_a_clear_error():
    with pytest.raises(InputDataError, match=r"^skin.png: no saturated paint found .*--color R,G,B"):
        estimate_paint_color(_canvas(), source="skin.png")


def test_segment_paint_matches_the_painted_stroke():
    ring = [_ring(48, 48, 25)]
    painted = paint_strokes(_canvas(), ring, [True], BLUE, 5.0)
    segmentation = segment_paint(painted, BLUE)
    coverage = stroke_coverage((96, 96), ring, [True], 5.0)
    truth = coverage >= 0.5
    # every pixel at least half painted is paint; the others taken are edge pixels near half
    assert segmentation.mask[truth].all()
    assert (coverage[segmentation.mask & ~truth] > 0.3).all()
    assert segmentation.coverage[truth].mean() > 0.9 and segmentation.coverage[~truth].mean() < 0.02


# ---------------------------------------------------------------------- skeleton graph and lines
def test_skeleton_of_a_ring_is_one_loop_without_nodes():
    graph = skeleton_graph(_mask([_ring(48, 48, 25)], [True]))
    assert [(a, b) for a, b, _ in graph.edges] == [(-1, -1)]
    assert graph.stroke_width == pytest.approx(5.0, abs=1.0)
    assert [line.closed for line in trace_lines(graph)] == [True]


def test_crossing_strokes_give_one_junction_and_two_straight_lines():
    a = np.array([[10.0, 20.0], [86.0, 76.0]])
    b = np.array([[10.0, 70.0], [86.0, 26.0]])
    graph = skeleton_graph(_mask([a, b], [False, False]))
    junctions = [n for n in range(len(graph.nodes)) if graph.degree(n) >= 3]
    assert len(junctions) == 1 and graph.degree(junctions[0]) == 4
    lines = trace_lines(graph)
    assert len(lines) == 2 and not any(line.closed for line in lines)
    for line in lines:  # each line runs along one stroke, through the junction
        assert min(point_polyline_distance(line.points, s).max() for s in (a, b)) < 3.0
        assert list(line.anchors.values()) == junctions


def test_loop_with_stems_gives_a_closed_line_and_two_lines_ending_on_it():
    stems = [np.array([[73.0, 48.0], [92.0, 48.0]]), np.array([[23.0, 48.0], [4.0, 48.0]])]
    graph = skeleton_graph(_mask([_ring(48, 48, 25), *stems], [True, False, False]))
    lines = trace_lines(graph)
    assert sorted(line.closed for line in lines) == [False, False, True]
    loop = next(line for line in lines if line.closed)
    for stem in (line for line in lines if not line.closed):
        assert set(stem.anchors.values()) <= set(loop.anchors.values())
        assert len(stem.anchors) == 1


# ---------------------------------------------------------------------- whole extraction
@pytest.mark.parametrize("motif", [*MOTIFS, "mixed"])
def test_extraction_is_within_a_pixel_with_the_right_lines(motif):
    seed = MOTIFS.index(motif) if motif in MOTIFS else 99
    scene = make_scene(np.random.default_rng(seed), motifs=None if motif == "mixed" else [motif] * 4)
    template = extract_template(scene.image, spacing=8.0)
    score = score_extraction(template, scene.polylines, scene.closed)
    assert score.mean_distance < 1.0, score
    assert score.lines_right and score.closed_right, score
    assert score.completeness < 1.0, score
    assert abs(template.marker.width - scene.width) < 2.0
    assert template.size == (scene.image.shape[1], scene.image.shape[0])


def test_extraction_with_the_colour_given_measures_the_width():
    scene = make_scene(np.random.default_rng(3), motifs=["closed", "curve", "tee", "straight"], width=5.0)
    template = extract_template(scene.image, color=scene.color, spacing=8.0)
    assert template.marker.width == pytest.approx(5.0, abs=0.6)
    assert score_extraction(template, scene.polylines, scene.closed).mean_distance < 1.0


def test_extracted_names_spacing_and_shared_junctions():
    scene = make_scene(
        np.random.default_rng(5), motifs=["tee", "straight", "closed", "loop_stems"], width=4.0
    )
    template = extract_template(scene.image, spacing=7.0, category="test", name="scene")
    assert template.parts == tuple(f"line{n}" for n in range(1, len(template.lines) + 1))
    assert all(i.startswith("test/line") for i in template.ids)
    for part, line in zip(template.parts, template.lines):
        for k, i in enumerate(line[:-1] if template.is_closed(template.line_index(part)) else line):
            name = template.names[i]
            assert name == f"{part}_{k}" or not name.startswith(f"{part}_")  # <line>_<k>, or shared
        steps = np.linalg.norm(np.diff(template.points[list(line)], axis=0), axis=1)
        assert np.median(steps) == pytest.approx(7.0, rel=0.2)
    shared = [i for i in range(template.num_landmarks) if sum(i in line for line in template.lines) > 1]
    assert len(shared) >= 3  # one T junction and two stems on the loop
    assert Template.from_dict(template.to_dict()).ids == template.ids


def test_score_extraction_measures_known_offsets():
    scene = make_scene(np.random.default_rng(7), motifs=["straight", "closed", "curve", "tee"])
    lines, landmarks = [], []
    for k, (truth, closed) in enumerate(zip(scene.polylines, scene.closed)):
        names = [f"l{k}_{j}" for j in range(len(truth))]
        landmarks += [{"name": n, "x": float(x), "y": float(y)} for n, (x, y) in zip(names, truth)]
        lines.append(names + names[:1] if closed else names)
    exact = Template.from_dict(
        {
            "name": "truth",
            "size": [256, 256],
            "landmarks": landmarks,
            "lines": lines,
            "marker": {"color": list(scene.color), "width": 3.0},
        }
    )
    score = score_extraction(exact, scene.polylines, scene.closed)
    assert score.mean_distance < 1e-9 and score.completeness < 1e-9
    assert score.lines_right and score.closed_right
    # move the straight line's landmarks 1 px sideways: each is then 1 px from its line
    start, end = exact.points[list(exact.lines[0])]
    normal = np.array([start[1] - end[1], end[0] - start[0]]) / np.linalg.norm(end - start)
    data = exact.to_dict()
    for i in exact.lines[0]:
        data["landmarks"][i]["x"] += float(normal[0])
        data["landmarks"][i]["y"] += float(normal[1])
    moved = score_extraction(Template.from_dict(data), scene.polylines, scene.closed)
    assert moved.distances[: len(exact.lines[0])] == pytest.approx(np.ones(len(exact.lines[0])), abs=1e-3)


def test_photo_without_paint_of_the_given_colour_is_a_clear_error():
    with pytest.raises(InputDataError, match=r"^photo.png: no painted lines of colour \[30, 60, 200\]"):
        extract_template(_canvas(), color=BLUE, source="photo.png")
    with pytest.raises(InputDataError, match="spacing must be positive"):
        extract_template(_canvas(), spacing=0.0, source="photo.png")
