from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from genlmk.cli.main import main
from genlmk.data.images import read_image, write_image


@pytest.mark.parametrize("name", ["face", "hand"])
def test_template_show_writes_a_preview(tmp_path, name):
    out = tmp_path / f"{name}.png"
    assert main(["template", "show", name, "--out", str(out), "--scale", "3"]) == 0
    image = read_image(out)
    assert image.shape == (384, 384, 3)
    # the marker colour appears in the picture
    from genlmk.template import load_template

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
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genlmk",
            "template",
            "show",
            str(tmp_path / "nope.yaml"),
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"genlmk: error: {tmp_path / 'nope.yaml'}: template file not found "
        "(and not a built-in template: face, foot, hand)"
    ]
    assert not (tmp_path / "x.png").exists()


def test_debug_flag_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genlmk",
            "--debug",
            "template",
            "show",
            str(tmp_path / "nope.yaml"),
            "--out",
            str(tmp_path / "x.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
