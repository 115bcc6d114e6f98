from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genlmk.errors import CheckpointError, TemplateError
from genlmk.template import Template, edit, load_template


def _chain() -> Template:
    """Two open lines meeting end to end (a1 ... a4 = b0 ... b3) and a closed square."""
    landmarks = [{"name": f"a_{k}", "x": 4.0 + 6 * k, "y": 10.0} for k in range(4)]
    landmarks += [{"name": f"b_{k}", "x": 28.0 + 6 * k, "y": 12.0} for k in range(1, 4)]
    landmarks += [
        {"name": f"s_{k}", "x": x, "y": y}
        for k, (x, y) in enumerate([(10, 30), (30, 30), (30, 50), (10, 50)])
    ]
    return Template.from_dict(
        {
            "name": "chain",
            "category": "test",
            "size": [64, 64],
            "landmarks": landmarks,
            "lines": [
                {"part": "a", "points": ["a_0", "a_1", "a_2", "a_3"]},
                {"part": "b", "points": ["a_3", "b_1", "b_2", "b_3"]},
                {"part": "s", "points": ["s_0", "s_1", "s_2", "s_3", "s_0"]},
            ],
            "marker": {"color": [10, 20, 200], "width": 2.0},
        },
        source="chain.yaml",
    )


def _line(template: Template, ref) -> list[str]:
    return [template.names[i] for i in template.lines[template.line_index(ref)]]


def test_rename_line_renames_the_part_and_its_numbered_landmarks():
    t = edit.rename_line(_chain(), "a", "thumb")
    assert t.parts == ("thumb", "b", "s")
    assert _line(t, "thumb") == ["thumb_0", "thumb_1", "thumb_2", "thumb_3"]
    assert _line(t, "b")[0] == "thumb_3"  # the shared landmark is renamed on every line
    assert t.ids[t.index("thumb_2")] == "test/thumb/2"
    np.testing.assert_array_equal(t.points, _chain().points)


def test_rename_line_to_a_taken_part_or_an_unknown_line_fails_clearly():
    with pytest.raises(TemplateError, match=r"^chain.yaml: part 'a' is taken by line #0$"):
        edit.rename_line(_chain(), "b", "a")
    with pytest.raises(TemplateError, match=r"^chain.yaml: no line 'z'"):
        edit.rename_line(_chain(), "z", "q")


def test_reverse_open_and_closed_lines():
    t = edit.reverse_line(_chain(), "a")
    assert _line(t, "a") == ["a_3", "a_2", "a_1", "a_0"]
    assert t.ids[t.index("a_3")] == "test/a/0"
    s = edit.reverse_line(_chain(), 2)
    assert _line(s, "s") == ["s_0", "s_3", "s_2", "s_1", "s_0"] and s.is_closed(2)


def test_merge_joins_at_the_shared_end_once():
    t = edit.merge_lines(_chain(), "b", "a", part="finger")  # b's start meets a's end: a is flipped
    assert t.parts == ("finger", "s")
    assert _line(t, "finger") == ["b_3", "b_2", "b_1", "a_3", "a_2", "a_1", "a_0"]
    assert t.num_landmarks == _chain().num_landmarks


def test_merge_into_a_loop_and_refusals():
    t = Template.from_dict(
        {
            **_chain().to_dict(),
            "lines": [
                {"part": "a", "points": ["a_0", "a_1", "a_2"]},
                {"part": "b", "points": ["a_2", "a_3", "a_0"]},
                ["s_0", "s_1", "s_2", "s_3", "s_0"],
                ["a_3", "b_1", "b_2", "b_3"],
            ],
        }
    )
    loop = edit.merge_lines(t, "a", "b")
    assert _line(loop, "a") == ["a_0", "a_1", "a_2", "a_3", "a_0"] and loop.is_closed(0)
    with pytest.raises(TemplateError, match="cannot merge closed line #2"):
        edit.merge_lines(_chain(), "a", "s")
    with pytest.raises(TemplateError, match="with itself"):
        edit.merge_lines(_chain(), "a", "#0")


def test_split_open_line_shares_the_cut_landmark():
    t = edit.split_line(_chain(), "a", ["a_1", "a_2"], parts=["a_mid", "a_tip"])
    assert [(_line(t, p)) for p in ("a", "a_mid", "a_tip")] == [
        ["a_0", "a_1"],
        ["a_1", "a_2"],
        ["a_2", "a_3"],
    ]
    default = edit.split_line(_chain(), "a", ["a_2"])
    assert default.parts == ("a", "a.2", "b", "s")


def test_split_closed_line_needs_two_cuts():
    t = edit.split_line(_chain(), "s", ["s_1", "s_3"], parts=["s_back"])
    assert _line(t, "s") == ["s_1", "s_2", "s_3"] and _line(t, "s_back") == ["s_3", "s_0", "s_1"]
    with pytest.raises(TemplateError, match="a closed line needs two landmarks"):
        edit.split_line(_chain(), "s", ["s_1"])
    with pytest.raises(TemplateError, match="at an inner landmark, not at an end"):
        edit.split_line(_chain(), "a", ["a_0"])
    with pytest.raises(TemplateError, match="'b_1' is not on line #0"):
        edit.split_line(_chain(), "a", ["b_1"])
    with pytest.raises(TemplateError, match="give 1 new part names, got 2"):
        edit.split_line(_chain(), "a", ["a_1"], parts=["x", "y"])


def test_drop_landmarks_by_pattern_closes_lines_and_removes_orphans():
    t = edit.drop_landmarks(_chain(), ["b_*", "s_1", "test/s/2"])
    assert t.parts == ("a", "s")  # b is left with one point (a_3): removed
    assert _line(t, "s") == ["s_0", "s_3"] and not t.is_closed(1)  # a square left with two points
    assert set(t.names) == {"a_0", "a_1", "a_2", "a_3", "s_0", "s_3"}
    with pytest.raises(TemplateError, match=r"no landmark matches 'q\*'"):
        edit.drop_landmarks(_chain(), ["q*"])
    with pytest.raises(TemplateError, match="leaves no line"):
        edit.drop_landmarks(_chain(), ["*"])


def test_drop_lines_keeps_shared_landmarks():
    t = edit.drop_lines(_chain(), ["b", 2])
    assert t.parts == ("a",) and set(t.names) == {"a_0", "a_1", "a_2", "a_3"}
    with pytest.raises(TemplateError, match="empty template"):
        edit.drop_lines(_chain(), [0, 1, 2])


def test_rescale_fit_centres_uniformly_and_scales_the_width():
    t = _chain()
    fitted = edit.rescale_template(t, (128, 96), fit=True, margin=0.1)
    x0, y0, x1, y1 = fitted.bounding_box()
    scale = (x1 - x0) / (t.bounding_box()[2] - t.bounding_box()[0])
    assert (y1 - y0) / (t.bounding_box()[3] - t.bounding_box()[1]) == pytest.approx(scale)  # uniform
    assert max((x1 - x0) / 128, (y1 - y0) / 96) == pytest.approx(0.8)  # fills the canvas less margins
    assert ((x0 + x1) / 2, (y0 + y1) / 2) == pytest.approx((64, 48))
    assert fitted.marker.width == pytest.approx(2.0 * scale, rel=1e-3)
    stretched = edit.rescale_template(t, (128, 32))
    np.testing.assert_allclose(stretched.points, t.rescaled((128, 32)).points)
    with pytest.raises(TemplateError, match="margin must be in"):
        edit.rescale_template(t, (64, 64), fit=True, margin=0.5)


def test_set_category_changes_ids():
    assert edit.set_category(_chain(), "hand").ids[0] == "hand/a/0"
    assert edit.set_category(_chain(), "").ids[0] == "a/0"


def _checkpoint(path, template: Template, kind="landmarks"):
    torch.save({"genlmk_kind": kind, "genlmk_template": template.to_dict(), "state_dict": {}}, path)
    return path


def test_check_against_checkpoint_passes_and_reports_differences_in_one_line(tmp_path):
    ckpt = _checkpoint(tmp_path / "m.ckpt", _chain())
    assert edit.check_against_checkpoint(_chain(), ckpt).names == _chain().names
    # moving points does not matter; names, lines and size do
    edit.check_against_checkpoint(edit.rescale_template(_chain(), (64, 64), fit=True), ckpt)
    changed = edit.split_line(edit.rescale_template(_chain(), (32, 32)), "a", ["a_1"])
    with pytest.raises(TemplateError) as info:
        edit.check_against_checkpoint(changed, ckpt)
    message = str(info.value)
    assert message == (
        f"chain.yaml: does not match the template in {ckpt}: size 32x32 vs 64x64; 4 vs 3 lines"
    )
    renamed = edit.rename_line(_chain(), "b", "c")
    with pytest.raises(
        TemplateError, match=r"landmark #4 is 'c_1' vs 'b_1'; line #1 runs \[a_3, c_1, c_2, c_3\]"
    ):
        edit.check_against_checkpoint(renamed, ckpt)


def test_check_against_a_wrong_checkpoint_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="needs a 'landmarks' model"):
        edit.check_against_checkpoint(_chain(), _checkpoint(tmp_path / "m.ckpt", _chain(), kind="motion"))
    torch.save({"genlmk_kind": "landmarks"}, tmp_path / "bare.ckpt")
    with pytest.raises(CheckpointError, match="holds no template"):
        edit.check_against_checkpoint(_chain(), tmp_path / "bare.ckpt")


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["face", "hand", "foot"]), st.data())
def test_split_then_merge_and_reverse_twice_restore_a_line(name, data):
    template = load_template(name)
    open_lines = [
        k for k in range(len(template.lines)) if not template.is_closed(k) and len(template.lines[k]) >= 3
    ]
    k = data.draw(st.sampled_from(open_lines))
    names = [template.names[i] for i in template.lines[k]]
    cut = data.draw(st.sampled_from(names[1:-1]))
    split = edit.split_line(template, k, [cut], parts=["piece"] if template.parts[k] else None)
    merged = edit.merge_lines(split, k, k + 1)
    assert merged.lines == template.lines and merged.names == template.names
    twice = edit.reverse_line(edit.reverse_line(template, k), k)
    assert twice.lines == template.lines
