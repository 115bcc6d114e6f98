"""Shared test fixtures. Tests run on CPU with small synthetic data they make themselves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

# keep test runs reproducible and polite on a 2-core machine
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def face_template():
    from genlmk.template import load_template

    return load_template("face")


@pytest.fixture
def hand_template():
    from genlmk.template import load_template

    return load_template("hand")


def small_template_dict(**overrides):
    """A minimal valid template structure: a closed triangle and an open line."""
    data = {
        "name": "tiny",
        "size": [32, 24],
        "landmarks": [
            {"name": "a", "x": 4.0, "y": 4.0},
            {"name": "b", "x": 20.0, "y": 4.0},
            {"name": "c", "x": 12.0, "y": 16.0},
            {"name": "d", "x": 26.0, "y": 20.0},
        ],
        "lines": [["a", "b", "c", "a"], ["c", "d"]],
        "marker": {"color": [255, 0, 0], "width": 2.0},
    }
    data.update(overrides)
    return data


# torch.compile's inductor backend builds C++ on the CPU; tests of compiled paths skip without a compiler
HAS_CXX = any(shutil.which(name) for name in ("g++", "c++", "clang++"))


def run_genlmk(*args: str) -> subprocess.CompletedProcess:
    """Run the command line in a fresh interpreter (exit code, stdout and stderr as a user sees them)."""
    return subprocess.run([sys.executable, "-m", "genlmk", *map(str, args)], capture_output=True, text=True)


def run_script(name: str, *args) -> subprocess.CompletedProcess:
    """Run ``scripts/<name>`` from the repository root in a fresh interpreter, as a user would."""
    command = [sys.executable, str(SCRIPTS / name), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=SCRIPTS.parent)


# the smallest LandmarkGAN networks the tests build at 64 x 64 px (seconds on a CPU)
TINY_SYSTEM = {
    "image_size": (64, 64),
    "landmarker": {"channels": [4, 8, 8, 8], "hidden": 16},
    "generator": {"ngf": 4, "blocks": 1, "residual": True},
    "discriminator": {"ndf": 4, "layers": 2},
    "image_log_every": 0,
}


@pytest.fixture
def tiny_system():
    """A factory of tiny :class:`~genlmk.systems.landmarks.LandmarkGAN` s on the ``face``
    template: ``tiny_system(losses={"flow": {"weight": 1.0}}, ...)`` overrides any argument."""
    from genlmk.systems.landmarks import LandmarkGAN

    def build(**options):
        return LandmarkGAN(**{"template": "face", **TINY_SYSTEM, **options})

    return build
