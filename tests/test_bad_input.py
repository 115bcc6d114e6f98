"""The bad-input matrix: every case through the ``genlmk`` command line in a fresh interpreter.

A bad input exits with status 1 and ends stderr with one line ``genlmk: error: <path>: <problem>``
(Lightning's own start-up notes may come before it during ``fit``), without a traceback, and leaves
the outputs and checkpoints of earlier runs byte for byte as they were. Images that are grayscale,
RGBA or 16-bit, and frame folders that mix sizes, are not errors: they are converted to 8-bit RGB
(the overlay video takes the first frame's size) and work.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_genlmk, small_template_dict
from landmark_helpers import random_frames, tiny_landmarks_checkpoint
from PIL import Image
from test_template import BAD_TEMPLATES
from training_helpers import landmark_data, landmark_fit_args

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, atomic_torch_save
from genlmk.cli.main import main
from genlmk.data.footage import find_footage
from genlmk.data.images import write_image
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.video import probe_video, write_video
from genlmk.template import Template

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Every bad (and odd but good) input, a tiny landmarks checkpoint, and earlier outputs."""
    root = tmp_path_factory.mktemp("inputs")
    frames = random_frames(4, 32, 32)
    tiny_landmarks_checkpoint(root / "landmarks.ckpt", image_size=(32, 32))
    (root / "empty").mkdir()
    (root / "no_images").mkdir()
    (root / "no_images" / "notes.txt").write_text("not a frame")
    write_video(root / "good.mp4", list(frames), fps=10)
    video = (root / "good.mp4").read_bytes()
    (root / "corrupt.mp4").write_bytes(b"\x00not a video" * 64)
    (root / "truncated.mp4").write_bytes(video[: len(video) // 2])
    for index, frame in enumerate(frames):
        write_image(root / "with_junk" / f"{index:02d}.png", frame)
        Image.fromarray(frame[..., 0]).save(_new(root / "gray" / f"{index:02d}.png"))
        rgba = np.dstack([frame, np.full(frame.shape[:2], 128, np.uint8)])
        Image.fromarray(rgba).save(_new(root / "rgba" / f"{index:02d}.png"))
        Image.fromarray(frame[..., 1].astype(np.uint16) * 257).save(_new(root / "16bit" / f"{index:02d}.png"))
        write_image(root / "mixed_sizes" / f"{index:02d}.png", random_frames(1, 32 + 8 * index, 40)[0])
    (root / "with_junk" / "02.png").write_bytes(b"not a png")
    (root / "with_junk" / "readme.txt").write_text("ignored: not an image suffix")
    atomic_torch_save({KIND_KEY: "motion", "state_dict": {}}, root / "motion.ckpt")
    (root / "bad_template.yaml").write_text(yaml.safe_dump({**small_template_dict(), "colour": "red"}))
    (root / "typo.yaml").write_text("trainer:\n  max_stepz: 3\n")
    (root / "loss_typo.yaml").write_text("model:\n  init_args:\n    losses: {flow: {weight: 1, windw: 15}}\n")
    (root / "a_file").write_text("a file, not a folder")
    landmark_data(root / "data", frames=4)
    # outputs of earlier runs that no failing command may touch
    (root / "earlier" / "predictions").mkdir(parents=True)
    (root / "earlier" / "predictions" / "landmarks.csv").write_text("frame,name,x,y\n0,a,1.0,2.0\n")
    # (a run trained with another template, that `--ckpt_path last` finds)
    other = Template.from_dict(small_template_dict(name="other", size=[32, 32]))
    resumable = {"state_dict": {}, "loops": {}, "optimizer_states": [], KIND_KEY: "landmarks"}
    last = root / "earlier" / "runs" / "landmarks" / "version_0" / "checkpoints" / "last.ckpt"
    atomic_torch_save({**resumable, TEMPLATE_KEY: other.to_dict()}, last)
    atomic_torch_save({**resumable, "hyper_parameters": {"blocks": 9}}, root / "foreign.ckpt")
    return root


def _new(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _predict(root: Path, footage: str, *, ckpt: str = "landmarks.ckpt", out: str = "earlier/predictions"):
    return ["predict", "--ckpt", root / ckpt, "--input", root / footage, "--out", root / out]


def _fit(root: Path, *extra) -> list:
    return [*landmark_fit_args(root / "data", root / "earlier" / "runs", steps=1), *map(str, extra)]


# case -> (command line from the inputs folder, the path the message names, what it says)
ERRORS = {
    "missing path": (lambda r: _predict(r, "nope"), "nope", "no such file or folder"),
    "empty folder": (lambda r: _predict(r, "empty"), "empty", "folder is empty"),
    "folder without images": (
        lambda r: _predict(r, "no_images"),
        "no_images",
        "folder holds no images, videos or frame folders",
    ),
    "corrupt video": (lambda r: _predict(r, "corrupt.mp4"), "corrupt.mp4", "not a readable video"),
    "truncated video": (lambda r: _predict(r, "truncated.mp4"), "truncated.mp4", "not a readable video"),
    "non-image file among images": (
        lambda r: _predict(r, "with_junk"),
        "with_junk/02.png",
        "not a readable image",
    ),
    "missing checkpoint": (
        lambda r: _predict(r, "gray", ckpt="nope.ckpt"),
        "nope.ckpt",
        "checkpoint file not found",
    ),
    "checkpoint of the wrong kind": (
        lambda r: _predict(r, "gray", ckpt="motion.ckpt"),
        "motion.ckpt",
        "checkpoint holds a 'motion' model, but this command needs a 'landmarks' model",
    ),
    "template not matching the checkpoint": (
        lambda r: _fit(r, "--ckpt_path", "last"),
        "earlier/runs/landmarks/version_0/checkpoints/last.ckpt",
        "trained with template 'other' (4 landmarks), but the configured template is 'tiny'",
    ),
    "weights-only checkpoint to resume from": (
        lambda r: _fit(r, "--ckpt_path", r / "landmarks.ckpt"),
        "landmarks.ckpt",
        "not a training checkpoint to resume from (it lacks loops, optimizer_states)",
    ),
    "checkpoint with settings the model lacks": (
        lambda r: _fit(r, "--ckpt_path", r / "foreign.ckpt"),
        "foreign.ckpt",
        "its hyperparameters do not fit the configured model (model: Option 'blocks' is not accepted)",
    ),
    "invalid template": (
        lambda r: _fit(r, "--model.template", r / "bad_template.yaml"),
        "bad_template.yaml",
        "unknown keys ['colour']",
    ),
    "unknown config key in a file": (
        lambda r: _fit(r, "--config", r / "typo.yaml"),
        "typo.yaml",
        "does not accept option 'trainer.max_stepz'",
    ),
    "unknown key of a loss block in a file": (
        lambda r: _fit(r, "--config", r / "loss_typo.yaml"),
        "loss_typo.yaml",
        "model.losses.flow: unknown key(s) ['windw']; known: ['aperture', 'appearance', 'method',",
    ),
    "unknown renderer key on the command line": (
        lambda r: _fit(r, "--model.renderer.backnd", "splat"),
        "model.renderer",
        "unknown key(s) ['backnd']; known: ['backend', 'center_coverage', 'points_per_pixel',",
    ),
    "loss setting out of range": (
        lambda r: _fit(r, "--model.losses.flow.window", "2"),
        "model.losses.flow.window",
        "must be at least 3 pixels, got 2",
    ),
    "unknown model option on the command line": (
        lambda r: _fit(r, "--model.init_args.colour", "red"),
        "model",
        "Option 'colour' is not accepted",
    ),
    "unwritable prediction folder": (
        lambda r: _predict(r, "gray", out="a_file/predictions"),
        "a_file/predictions",
        "cannot write predictions here (Not a directory)",
    ),
    "unwritable training folder": (
        lambda r: _fit(r, "--trainer.logger.init_args.save_dir", r / "a_file" / "runs"),
        "a_file/runs/landmarks",
        "cannot write training outputs here (Not a directory)",
    ),
    "missing training data": (
        lambda r: _fit(r, "--data.marked", r / "nope"),
        "nope",
        "no such file or folder",
    ),
    "corrupt training video": (
        lambda r: _fit(r, "--data.unmarked", r / "corrupt.mp4"),
        "corrupt.mp4",
        "not a readable video",
    ),
}


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", list(ERRORS))
def test_bad_input_is_a_one_line_error_naming_the_path(inputs, case):
    command, path, problem = ERRORS[case]
    before = _digests(inputs / "earlier")
    result = run_genlmk(*command(inputs))
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "genlmk: error" in line] == lines[-1:], result.stderr[-2000:]
    message = lines[-1]
    assert message.startswith("genlmk: error: ") and problem in message
    assert path in message, f"{message!r} does not name {path!r}"
    after = _digests(inputs / "earlier")
    assert {name: after.get(name) for name in before} == before  # earlier outputs intact


@pytest.mark.parametrize("kind", ["gray", "rgba", "16bit", "mixed_sizes"])
def test_grayscale_rgba_16bit_and_mixed_size_frames_are_converted_and_work(inputs, tmp_path, kind):
    result = run_genlmk(*_predict(inputs, kind, out=str(tmp_path / "out")))
    assert result.returncode == 0, result.stderr[-2000:]
    landmarks, _, frames = read_landmark_csv(tmp_path / "out" / "landmarks.csv")
    assert frames == [0, 1, 2, 3] and np.isfinite(landmarks).all()
    first = next(find_footage(inputs / kind)[0].frames())
    assert first.dtype == np.uint8 and first.shape[2] == 3
    info = probe_video(tmp_path / "out" / "overlay.mp4")
    assert (info.width, info.height) == (first.shape[1], first.shape[0])  # the first frame's size


def test_every_template_validation_error_is_one_line_through_the_command_line(tmp_path, capsys):
    for case, (data, problem) in BAD_TEMPLATES.items():
        path = tmp_path / f"{case.replace(' ', '_')}.yaml"
        path.write_text(yaml.safe_dump(data))
        assert main(["template", "show", str(path), "--out", str(tmp_path / "preview.png")]) == 1, case
        err = capsys.readouterr().err
        assert err.startswith(f"genlmk: error: {path}: ") and problem in err and err.count("\n") == 1, case
    assert not (tmp_path / "preview.png").exists()


def test_debug_shows_the_traceback_of_a_bad_input(inputs):
    result = run_genlmk("--debug", *_predict(inputs, "corrupt.mp4"))
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "InputDataError" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("genlmk: error: ")
