"""The wheel carries the built-in templates and presets: built, installed into a folder of its own
and run from outside the checkout, ``genlmk`` finds them by name."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from genlmk.builtin import builtin_config_dir, builtin_template_dir, preset_names, resolve_preset
from genlmk.cli.fit import with_preset_files
from genlmk.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
# the wheel is built offline with the venv's own backend: license = "MIT" needs setuptools 77
SETUPTOOLS_77 = int(version("setuptools").split(".")[0]) >= 77


def test_every_package_under_genlmk_is_in_the_wheels_list():
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "genlmk").rglob("__init__.py")}
    assert {name for name in listed if not name.startswith("genlmk.builtin.")} == found


def test_a_checkout_finds_the_top_level_folders():
    assert builtin_template_dir() == ROOT / "templates"
    assert builtin_config_dir() == ROOT / "configs"


def test_presets_are_named_landmarks_bare_and_the_others_by_folder():
    assert preset_names() == ["cpu", "gpu", "heatmap", "sessions", "video", "motion/cpu", "motion/vox-256"]
    assert resolve_preset("cpu") == ROOT / "configs/landmarks/cpu.yaml"
    assert resolve_preset("landmarks/video.yaml") == ROOT / "configs/landmarks/video.yaml"
    assert resolve_preset("motion/vox-256") == ROOT / "configs/motion/vox-256.yaml"
    # the same file whether the relative path is read from the checkout or from elsewhere
    assert resolve_preset("configs/motion/cpu.yaml").resolve() == ROOT / "configs/motion/cpu.yaml"


def test_a_preset_file_stays_a_file(tmp_path):
    mine = tmp_path / "cpu.yaml"
    mine.write_text("seed_everything: 1\n")
    assert resolve_preset(mine) == mine


def test_fit_arguments_take_presets_by_name_in_every_spelling():
    argv = ["fit", "--preset", "cpu", "--config=motion/cpu", "--config", "video", "--data.marked", "x"]
    assert with_preset_files(argv) == [
        "fit",
        "--config",
        str(ROOT / "configs/landmarks/cpu.yaml"),
        f"--config={ROOT / 'configs/motion/cpu.yaml'}",
        "--config",
        str(ROOT / "configs/landmarks/video.yaml"),
        "--data.marked",
        "x",
    ]


def test_an_unknown_preset_is_one_line_listing_the_known_ones():
    with pytest.raises(ConfigError) as error:
        with_preset_files(["fit", "--preset", "tpu"])
    assert str(error.value) == (
        "tpu: preset file not found (and not a built-in preset: "
        "cpu, gpu, heatmap, sessions, video, motion/cpu, motion/vox-256)"
    )


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(
    not SETUPTOOLS_77, reason="building the wheel needs setuptools>=77 (pip install -e '.[dev]')"
)
def test_the_installed_wheel_finds_templates_and_presets_outside_the_checkout(tmp_path):
    wheels, target, elsewhere = tmp_path / "wheels", tmp_path / "target", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    env = dict(os.environ)
    built = _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], tmp_path, env
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("genlmk-*.whl")
    installed = _run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], tmp_path, env)
    assert installed.returncode == 0, installed.stderr

    # the installed copy alone: dependencies from the venv, no checkout on the path
    env["PYTHONPATH"] = str(target)
    where = _run([sys.executable, "-c", "import genlmk; print(genlmk.__file__)"], elsewhere, env)
    assert Path(where.stdout.strip()).is_relative_to(target), where.stdout + where.stderr
    genlmk = [sys.executable, "-m", "genlmk.cli.main"]

    shown = _run([*genlmk, "template", "show", "face", "--out", "f.png"], elsewhere, env)
    assert shown.returncode == 0, shown.stderr
    assert (elsewhere / "f.png").stat().st_size > 0

    printed = _run([*genlmk, "fit", "--preset", "cpu", "--print_config"], elsewhere, env)
    assert printed.returncode == 0, printed.stderr
    assert "class_path: genlmk.systems.landmarks.LandmarkGAN" in printed.stdout
    assert "template: face" in printed.stdout

    unknown = _run([*genlmk, "fit", "--preset", "tpu", "--print_config"], elsewhere, env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().endswith("motion/cpu, motion/vox-256)")
