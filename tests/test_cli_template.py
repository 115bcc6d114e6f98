from __future__ import annotations

import numpy as np
import pytest
from conftest import run_genlmk

from genlmk.cli.main import main
from genlmk.data.images import read_image, write_image
from genlmk.template import Template, load_template
from genlmk.template.benchmark import make_scene, score_extraction


@pytest.mark.parametrize("name", ["face", "hand"])
def test_template_show_writes_a_preview(tmp_path, name):
    out = tmp_path / f"{name}.png"
    assert main(["template", "show", name, "--out", str(out), "--scale", "3"]) == 0
    image = read_image(out)
    assert image.shape == (384, 384, 3)
    # the marker colour appears in the picture
    color = np.array(load_template(name).marker.color)
    assert (np.abs(image.astype(int) - color).sum(-1) < 30).sum() > 500


def test_template_show_over_an_image(tmp_path):
    background = np.zeros((50, 70, 3), dtype=np.uint8)
    background[..., 0] = 200
    write_image(tmp_path / "bg.png", background)
    out = tmp_path / "over.png"
    assert (
        main(
            [
                "template",
                "show",
                "hand",
                "--image",
                str(tmp_path / "bg.png"),
                "--out",
                str(out),
                "--scale",
                "2",
            ]
        )
        == 0
    )
    image = read_image(out)
    assert image.shape == (256, 256, 3)
    assert image[250, 5, 0] > 150  # the red background shows through away from the strokes


def test_missing_template_is_one_line_error_and_nonzero_exit(tmp_path):
    result = run_genlmk("template", "show", tmp_path / "nope.yaml", "--out", tmp_path / "x.png")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"genlmk: error: {tmp_path / 'nope.yaml'}: template file not found "
        "(and not a built-in template: face, foot, hand)"
    ]
    assert not (tmp_path / "x.png").exists()


def test_debug_flag_shows_the_traceback(tmp_path):
    result = run_genlmk("--debug", "template", "show", tmp_path / "nope.yaml", "--out", tmp_path / "x.png")
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_template_extract_writes_the_template_and_a_preview(tmp_path, capsys):
    scene = make_scene(np.random.default_rng(0), grid=(2, 1), motifs=["loop_stems", "cross"])
    write_image(tmp_path / "photo.png", scene.image)
    out = tmp_path / "t" / "extracted.yaml"
    args = ["template", "extract", "--image", str(tmp_path / "photo.png"), "--out", str(out)]
    assert main([*args, "--category", "demo", "--spacing", "6"]) == 0
    assert f"wrote {out} and {out.with_suffix('.png')}" in capsys.readouterr().out
    template = Template.load(out)
    assert template.name == "photo" and template.category == "demo" and template.size == (256, 128)
    score = score_extraction(template, scene.polylines, scene.closed)
    assert score.lines_right and score.closed_right and score.mean_distance < 1.0
    preview = read_image(out.with_suffix(".png"))
    assert preview.shape == (384, 768, 3)  # scaled 3x: about 768 pixels across
    # with the colour given
    assert (
        main([*args, "--color", ",".join(map(str, scene.color)), "--preview", str(tmp_path / "p.png")]) == 0
    )
    assert (tmp_path / "p.png").is_file()


def test_template_extract_bad_colour_is_a_one_line_error(tmp_path, capsys):
    write_image(tmp_path / "photo.png", np.full((32, 32, 3), 128, dtype=np.uint8))
    base = ["template", "extract", "--image", str(tmp_path / "photo.png"), "--out", str(tmp_path / "t.yaml")]
    assert main([*base, "--color", "300,0,0"]) == 1
    assert capsys.readouterr().err == (
        "genlmk: error: --color must be auto or R,G,B with three integers 0-255, got '300,0,0'\n"
    )
    assert main(base) == 1  # a grey photo has no paint
    err = capsys.readouterr().err
    assert (
        err.startswith(f"genlmk: error: {tmp_path / 'photo.png'}: no saturated paint found")
        and err.count("\n") == 1
    )
    assert not (tmp_path / "t.yaml").exists()


def test_template_edit_commands(tmp_path):
    t = str(tmp_path / "foot.yaml")
    steps = [
        ["rename-line", "foot", "outline", "sole"],
        ["split-line", t, "sole", "--at", "sole_4", "sole_11", "--parts", "sole_heel"],
        ["reverse-line", t, "sole_heel"],
        ["drop", t, "instep_*"],
        ["drop-line", t, "little_toe"],
        ["merge-lines", t, "sole", "sole_heel", "--part", "outline"],
        ["set-category", t, "right_foot"],
        ["rescale", t, "--size", "256", "256", "--fit", "--preview", str(tmp_path / "foot.png")],
    ]
    for step in steps:
        assert main(["template", *step, "--out", t]) == 0, step
    final = Template.load(t)
    foot = load_template("foot")
    assert "instep" not in final.parts and "little_toe" not in final.parts
    assert final.is_closed(final.line_index("outline")) and final.size == (256, 256)
    assert final.ids[final.index("big_toe_2")] == "right_foot/big_toe/2"
    assert final.num_landmarks == foot.num_landmarks - 3 - 2
    assert read_image(tmp_path / "foot.png").shape == (768, 768, 3)


def test_template_check_against_a_checkpoint(tmp_path, capsys):
    import torch

    foot = load_template("foot")
    torch.save({"genlmk_kind": "landmarks", "genlmk_template": foot.to_dict()}, tmp_path / "m.ckpt")
    assert main(["template", "check", "foot", str(tmp_path / "m.ckpt")]) == 0
    assert "foot matches the template in" in capsys.readouterr().out
    assert main(["template", "drop", "foot", "arch_*", "--out", str(tmp_path / "f.yaml")]) == 0
    capsys.readouterr()
    assert main(["template", "check", str(tmp_path / "f.yaml"), str(tmp_path / "m.ckpt")]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"genlmk: error: {tmp_path / 'f.yaml'}: does not match the template in {tmp_path / 'm.ckpt'}: "
        "32 vs 37 landmarks; 7 vs 8 lines\n"
    )
