from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from genlmk.geometry.polylines import (
    arc_lengths,
    line_tangents,
    point_polyline_distance,
    resample_by_spacing,
    resample_polyline,
)

SQUARE = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]])


def test_arc_lengths_of_a_square_open_and_closed():
    np.testing.assert_allclose(arc_lengths(SQUARE), [0, 10, 20, 30])
    np.testing.assert_allclose(arc_lengths(SQUARE, closed=True), [0, 10, 20, 30, 40])


def test_resampling_a_closed_square_hits_corners_and_midpoints():
    np.testing.assert_allclose(resample_polyline(SQUARE, 4, closed=True), SQUARE)
    eight = resample_polyline(SQUARE, 8, closed=True)
    np.testing.assert_allclose(eight[::2], SQUARE)
    np.testing.assert_allclose(eight[1::2], [[5, 0], [10, 5], [5, 10], [0, 5]])


def test_resample_by_spacing_counts():
    line = np.array([[0.0, 0.0], [20.0, 0.0]])
    np.testing.assert_allclose(resample_by_spacing(line, 5.0), [[0, 0], [5, 0], [10, 0], [15, 0], [20, 0]])
    assert len(resample_by_spacing(SQUARE, 10.0, closed=True)) == 4
    assert len(resample_by_spacing(line, 100.0)) == 2  # never fewer than the two ends
    with pytest.raises(ValueError, match="count >= 3"):
        resample_polyline(SQUARE, 2, closed=True)


def test_point_polyline_distance_known_answers():
    line = np.array([[0.0, 0.0], [10.0, 0.0]])
    queries = np.array([[5.0, 3.0], [13.0, 4.0], [-3.0, -4.0], [2.0, 0.0]])
    np.testing.assert_allclose(point_polyline_distance(queries, line), [3.0, 5.0, 5.0, 0.0])
    # the closing segment of the square counts only when closed
    inside_left = np.array([[1.0, 5.0]])
    assert point_polyline_distance(inside_left, SQUARE)[0] == pytest.approx(5.0)
    assert point_polyline_distance(inside_left, SQUARE, closed=True)[0] == pytest.approx(1.0)
    # a one-point polyline is a point
    assert point_polyline_distance(np.array([[3.0, 4.0]]), np.zeros((1, 2)))[0] == pytest.approx(5.0)


polylines = arrays(
    np.float64, st.tuples(st.integers(2, 8), st.just(2)), elements=st.floats(-50, 50, width=32)
)


@settings(max_examples=60, deadline=None)
@given(polylines, st.integers(2, 30), st.booleans())
def test_resampled_points_lie_on_the_polyline_evenly_spaced(points, count, closed):
    total = arc_lengths(points, closed)[-1]
    if total < 1e-3 or (closed and (count < 3 or len(points) < 3)):
        return
    out = resample_polyline(points, count, closed)
    assert out.shape == (count, 2)
    assert point_polyline_distance(out, points, closed).max() < 1e-6
    np.testing.assert_allclose(out[0], points[0])
    if not closed:
        np.testing.assert_allclose(out[-1], points[-1], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(polylines, arrays(np.float64, (5, 2), elements=st.floats(-60, 60, width=32)))
def test_distance_equals_brute_force_on_a_dense_resampling(points, queries):
    total = arc_lengths(points)[-1]
    if total < 1e-3:
        return
    dense = resample_polyline(points, max(2, int(total * 20)))
    brute = np.sqrt(((queries[:, None] - dense[None]) ** 2).sum(-1)).min(1)
    exact = point_polyline_distance(queries, points)
    assert np.all(exact <= brute + 1e-9)
    assert np.all(brute - exact < 0.05 + 1e-6)  # half the dense spacing bounds the gap


def test_line_tangents_follow_open_lines_one_sided_at_their_ends_and_closed_lines_round_the_loop():
    #   0 - 1 - 2 (open, along x), and 1 - 3 - 4 - 1 closed (a triangle below 1)
    points = np.array([[[0.0, 0.0], [2.0, 0.0], [4.0, 0.0], [2.0, 2.0], [0.0, 2.0]]])
    tangents = line_tangents(points, [(0, 1, 2), (1, 3, 4, 1)])
    assert np.allclose(tangents[0, :3], [[1.0, 0.0]] * 3)  # 1 takes its first line's direction
    # on the loop 1 -> 3 -> 4 -> 1: 3's direction is from 1 to 4, 4's from 3 to 1
    assert np.allclose(tangents[0, 3], np.array([-1.0, 1.0]) / np.sqrt(2.0))
    assert np.allclose(tangents[0, 4], [0.0, -1.0])
    assert np.isnan(line_tangents(points, [(0, 1)])[0, 2]).all()  # on no line
