from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml
from conftest import small_template_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlmk.errors import TemplateError
from genlmk.template import Template, builtin_template_names, load_template


def test_builtin_face_has_at_least_60_landmarks_on_named_parts(face_template):
    assert face_template.num_landmarks >= 60
    for part in ("jaw", "brow", "nose", "eye", "mouth"):
        assert any(n.startswith(part) for n in face_template.names), part
    assert face_template.size == (128, 128)


def test_builtin_hand_has_21_landmarks_with_fingers_and_palm(hand_template):
    assert hand_template.num_landmarks >= 21
    for finger in ("thumb", "index", "middle", "ring", "pinky"):
        assert any(n.startswith(finger) for n in hand_template.names)
    assert any(hand_template.is_closed(i) for i in range(len(hand_template.lines)))


def test_builtin_names_are_listed():
    assert {"face", "foot", "hand"} <= set(builtin_template_names())


def test_builtin_foot_uses_hierarchical_parts():
    foot = load_template("foot")
    assert foot.category == "foot"
    toes = {"big_toe", "second_toe", "third_toe", "fourth_toe", "little_toe"}
    assert toes | {"outline", "arch"} <= set(foot.parts)
    assert foot.is_closed(foot.line_index("outline"))
    assert foot.num_landmarks >= 30
    assert len(set(foot.ids)) == foot.num_landmarks
    assert all(i.startswith("foot/") for i in foot.ids)
    # each toe starts on the outline (a shared landmark), so its own points are 1 and 2
    assert foot.ids[foot.index("big_toe_2")] == "foot/big_toe/2"


@pytest.mark.parametrize("name", ["face", "hand"])
def test_old_builtin_templates_round_trip_unchanged(name):
    from genlmk.template import builtin_template_dir

    raw = yaml.safe_load((builtin_template_dir() / f"{name}.yaml").read_text())
    template = load_template(name)
    assert template.category == "" and set(template.parts) == {""}
    assert template.ids == template.names
    assert template.to_dict() == raw


def _hierarchical(**overrides):
    data = small_template_dict(
        category="hand",
        lines=[{"part": "palm", "points": ["a", "b", "c", "a"]}, ["c", "d"]],
    )
    data.update(overrides)
    return data


def test_hierarchical_ids_read_category_part_position():
    t = Template.from_dict(_hierarchical())
    assert t.category == "hand" and t.parts == ("palm", "")
    # d is on no line with a part: it keeps its name under the category
    assert t.ids == ("hand/palm/0", "hand/palm/1", "hand/palm/2", "hand/d")
    assert t.index("hand/palm/2") == t.index("c") == 2
    assert t.line_index("palm") == 0 and t.line_index("#1") == 1 and t.line_index(1) == 1
    with pytest.raises(
        TemplateError, match=r"no line 'thumb' \(give a part name or an index 0-1; parts: palm\)"
    ):
        t.line_index("thumb")


def test_hierarchical_template_round_trips_through_yaml(tmp_path):
    t = Template.from_dict(_hierarchical())
    t.save(tmp_path / "h.yaml")
    text = (tmp_path / "h.yaml").read_text()
    assert "category: hand" in text and "{part: palm, points: [a, b, c, a]}" in text
    again = Template.load(tmp_path / "h.yaml")
    assert again.to_dict() == t.to_dict() == _hierarchical()
    assert again.rescaled((64, 48)).ids == t.ids


def test_edges_follow_lines_once_each_including_closing_segment():
    t = Template.from_dict(small_template_dict())
    edges = {tuple(e) for e in t.edges.tolist()}
    assert edges == {(0, 1), (1, 2), (0, 2), (2, 3)}
    assert t.is_closed(0) and not t.is_closed(1)


def test_rescale_scales_points_and_width():
    t = Template.from_dict(small_template_dict())
    r = t.rescaled((64, 48))
    np.testing.assert_allclose(r.points, t.points * 2)
    assert r.marker.width == pytest.approx(4.0)
    assert r.size == (64, 48)


def test_rescale_anisotropic_uses_geometric_mean_width():
    t = Template.from_dict(small_template_dict())
    r = t.rescaled((64, 24))
    np.testing.assert_allclose(r.points[:, 0], t.points[:, 0] * 2)
    np.testing.assert_allclose(r.points[:, 1], t.points[:, 1])
    assert r.marker.width == pytest.approx(2.0 * math.sqrt(2.0))


def test_save_and_load_round_trip(tmp_path, face_template):
    path = tmp_path / "face_copy.yaml"
    face_template.save(path)
    again = Template.load(path)
    assert again.names == face_template.names
    assert again.lines == face_template.lines
    np.testing.assert_allclose(again.points, face_template.points, atol=1e-4)
    assert again.marker == face_template.marker


def _mutated(**changes):
    data = small_template_dict()
    for key, value in changes.items():
        data[key] = value
    return data


BAD_TEMPLATES = {
    "unknown name in a line": (_mutated(lines=[["a", "b", "zz"]]), "unknown landmark 'zz'"),
    "duplicate name": (
        _mutated(landmarks=small_template_dict()["landmarks"] + [{"name": "a", "x": 1, "y": 1}]),
        "duplicate landmark name 'a'",
    ),
    "non-finite coordinate": (
        _mutated(
            landmarks=[{"name": "a", "x": float("nan"), "y": 1}, *small_template_dict()["landmarks"][1:]]
        ),
        "must be finite",
    ),
    "out-of-canvas coordinate": (
        _mutated(landmarks=[{"name": "a", "x": 40.0, "y": 1}, *small_template_dict()["landmarks"][1:]]),
        "outside the 32x24 canvas",
    ),
    "line with one point": (_mutated(lines=[["a", "b", "c", "a"], ["c", "d"], ["d"]]), "fewer than 2 points"),
    "bad colour": (_mutated(marker={"color": [300, 0, 0], "width": 2}), "marker color"),
    "bad width": (_mutated(marker={"color": [1, 2, 3], "width": -1}), "marker width"),
    "landmark on no line": (_mutated(lines=[["a", "b", "c", "a"]]), "'d' lies on no line"),
    "missing key": (
        {k: v for k, v in small_template_dict().items() if k != "lines"},
        "missing required key 'lines'",
    ),
    "unknown key": (_mutated(colour="red"), "unknown keys ['colour']"),
    "bad size": (_mutated(size=[32]), "size must be"),
    "not a mapping": ([1, 2, 3], "must be a YAML mapping"),
    "zero-length segment": (_mutated(lines=[["a", "a", "b"], ["b", "c", "d"]]), "twice in a row"),
    "category with a slash": (_mutated(category="hand/left"), "category must be a non-empty name"),
    "line mapping without points": (
        _mutated(lines=[{"part": "palm"}, ["c", "d"]]),
        "line #0 as a mapping must have exactly the keys part and points",
    ),
    "part with a space": (
        _mutated(lines=[{"part": "index finger", "points": ["a", "b", "c", "a"]}, ["c", "d"]]),
        "line #0 part must be a non-empty name",
    ),
    "repeated part": (
        _mutated(lines=[{"part": "p", "points": ["a", "b", "c", "a"]}, {"part": "p", "points": ["c", "d"]}]),
        "line #1 repeats part 'p'",
    ),
    "ids that clash": (
        _mutated(
            landmarks=[*small_template_dict()["landmarks"][:3], {"name": "p/0", "x": 1, "y": 1}],
            lines=[{"part": "p", "points": ["a", "b", "c", "a"]}, ["c", "p/0"]],
        ),
        "two landmarks have the id 'p/0'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_TEMPLATES))
def test_invalid_template_names_file_and_problem(tmp_path, case):
    data, message = BAD_TEMPLATES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(TemplateError) as info:
        Template.load(path)
    text = str(info.value)
    assert str(path) in text
    assert message in text
    assert "\n" not in text


def test_missing_and_non_yaml_files_are_template_errors(tmp_path):
    with pytest.raises(TemplateError, match="template file not found"):
        load_template(tmp_path / "nope.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(TemplateError, match=r"broken.yaml: not valid YAML"):
        Template.load(bad)


# ---------------------------------------------------------------- property-based tests
@st.composite
def valid_templates(draw):
    width = draw(st.integers(8, 256))
    height = draw(st.integers(8, 256))
    count = draw(st.integers(2, 12))
    names = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=count, max_size=count, unique=True
        )
    )
    coords = st.tuples(st.floats(0, width, allow_nan=False), st.floats(0, height, allow_nan=False))
    points = draw(st.lists(coords, min_size=count, max_size=count))
    order = draw(st.permutations(names))
    # split the permutation into open lines of >= 2 points
    cuts = (
        sorted(draw(st.sets(st.integers(2, count - 2), max_size=max(0, count // 2 - 1))))
        if count >= 4
        else []
    )
    lines, start = [], 0
    for cut in [*cuts, count]:
        if cut - start >= 2:
            lines.append(list(order[start:cut]))
            start = cut
    lines[-1].extend(order[start:])
    closed = draw(st.booleans()) and len(lines[0]) >= 3
    if closed:
        lines[0].append(lines[0][0])
    data = {"name": "prop"}
    # hierarchical names on some templates: a category and parts on some lines
    if draw(st.booleans()):
        data["category"] = draw(st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True))
    parts = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_.-]{0,6}", fullmatch=True),
            unique=True,
            min_size=len(lines),
            max_size=len(lines),
        )
    )
    with_part = draw(st.lists(st.booleans(), min_size=len(lines), max_size=len(lines)))
    lines = [{"part": p, "points": line} if use else line for line, p, use in zip(lines, parts, with_part)]
    return data | {
        "size": [width, height],
        "landmarks": [{"name": n, "x": x, "y": y} for n, (x, y) in zip(names, points)],
        "lines": lines,
        "marker": {
            "color": draw(st.lists(st.integers(0, 255), min_size=3, max_size=3)),
            "width": draw(st.floats(0.1, min(width, height) / 4)),
        },
    }


def _without_coordinates(data):
    return {**data, "landmarks": [lm["name"] for lm in data["landmarks"]], "marker": data["marker"]["color"]}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid_templates())
def test_valid_templates_load_and_round_trip(tmp_path, data):
    t = Template.from_dict(data)
    assert t.num_landmarks == len(data["landmarks"])
    assert t.points.shape == (t.num_landmarks, 2)
    path = tmp_path / "t.yaml"
    t.save(path)
    again = Template.load(path)
    assert again.names == t.names and again.lines == t.lines
    assert again.category == t.category and again.parts == t.parts and again.ids == t.ids
    np.testing.assert_allclose(again.points, t.points, atol=1e-4)
    # the structure (all but the rounded coordinates) comes back exactly as written
    assert _without_coordinates(again.to_dict()) == _without_coordinates(data)
    assert len(set(t.ids)) == t.num_landmarks
    if "category" in data:
        assert all(i.startswith(data["category"] + "/") for i in t.ids)
    # every edge joins two landmarks that are neighbours on some line
    for a, b in again.edges:
        assert any(
            (line[i], line[i + 1]) in ((a, b), (b, a)) for line in again.lines for i in range(len(line) - 1)
        )


@settings(max_examples=150, deadline=None)
@given(valid_templates(), st.data())
def test_corrupted_templates_fail_only_with_template_error(data, draw):
    corrupted = copy.deepcopy(data)
    key = draw.draw(st.sampled_from(sorted(corrupted)))
    corrupted[key] = draw.draw(
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=5),
            st.lists(st.integers(), max_size=3),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        )
    )
    try:
        Template.from_dict(corrupted, source="prop.yaml")
    except TemplateError as exc:
        assert str(exc).startswith("prop.yaml: ")
