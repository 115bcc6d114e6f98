"""Tiny ``genlmk fit`` runs for the reliability tests: data, command lines, and TensorBoard curves.

The command lines train the landmark GAN on 32 px random frames with networks of a few thousand
weights (a step takes well under a second on one core), log every step and checkpoint every
``every`` steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_SYSTEM, small_template_dict
from landmark_helpers import random_frames
from motion_helpers import TINY

from genlmk.data.images import write_image
from genlmk.data.synthetic_motion import write_synthetic_motion_dataset
from genlmk.template import Template

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CHECKPOINT = "lightning.pytorch.callbacks.ModelCheckpoint"


def landmark_data(folder: Path, frames: int = 12) -> Path:
    """``folder/{marked,unmarked}`` of random 32 px PNG frames and ``folder/template.yaml``."""
    for name, seed in (("marked", 1), ("unmarked", 2)):
        for index, frame in enumerate(random_frames(frames, 32, 32, seed=seed)):
            write_image(folder / name / f"{index:03d}.png", frame)
    Template.from_dict(small_template_dict(size=[32, 32])).save(folder / "template.yaml")
    return folder


def tiny_model_args(**landmarker) -> list[str]:
    """``genlmk fit`` arguments for :data:`conftest.TINY_SYSTEM`'s networks, the landmarker's
    options updated by ``landmarker``."""
    return [
        "--model.landmarker",
        json.dumps({**TINY_SYSTEM["landmarker"], **landmarker}),
        "--model.generator",
        json.dumps(TINY_SYSTEM["generator"]),
        "--model.discriminator",
        json.dumps(TINY_SYSTEM["discriminator"]),
    ]


def landmark_fit_args(data: Path, runs: Path, steps: int, every: int = 2, batch: int = 2) -> list[str]:
    """``genlmk fit`` arguments: the landmarks cpu preset with tiny networks, ``steps`` steps, a
    validation and a checkpoint every ``every`` steps."""
    return [
        "fit",
        "--config",
        str(ROOT / "configs/landmarks/cpu.yaml"),
        "--data.marked",
        str(data / "marked"),
        "--data.unmarked",
        str(data / "unmarked"),
        "--data.batch_size",
        str(batch),
        "--data.val_fraction",
        "0.25",
        "--model.template",
        str(data / "template.yaml"),
        "--model.image_size",
        "[32, 32]",
        *tiny_model_args(channels=[4, 4, 4, 4], hidden=8, coords=True),
        "--model.pool_size",
        "4",
        "--model.image_log_every",
        "0",
        "--trainer.val_check_interval",
        str(every),
        "--trainer.num_sanity_val_steps",
        "1",
        *_common_trainer_args(runs, steps, every),
    ]


def _common_trainer_args(runs: Path, steps: int, every: int) -> list[str]:
    settings = {"save_last": True, "every_n_train_steps": every, "monitor": None}
    checkpoint = {"class_path": CHECKPOINT, "init_args": settings}
    return [
        "--trainer.max_steps",
        str(steps),
        "--trainer.limit_val_batches",
        "1",
        "--trainer.log_every_n_steps",
        "1",
        "--trainer.callbacks",
        json.dumps([checkpoint]),
        "--trainer.logger.init_args.save_dir",
        str(runs),
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
    ]


def motion_data(folder: Path) -> Path:
    """Three 6-frame 32 px training videos and one test video (``genlmk.data.synthetic_motion``)."""
    return write_synthetic_motion_dataset(folder, 3, 1, num_frames=6, size=32)


def motion_fit_args(data: Path, runs: Path, steps: int, every: int = 2) -> list[str]:
    """``genlmk fit`` arguments: the motion cpu preset with the tiny FOMM of the motion tests."""
    return [
        "fit",
        "--config",
        str(ROOT / "configs/motion/cpu.yaml"),
        "--data.root",
        str(data),
        "--data.frame_size",
        "32",
        "--data.batch_size",
        "2",
        "--data.num_workers",
        "0",
        "--model.model_params",
        json.dumps(TINY),
        "--model.log_images_every_n_steps",
        "0",
        "--trainer.default_root_dir",
        str(runs),
        *_common_trainer_args(runs, steps, every),
    ]


def genlmk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "genlmk", *map(str, args)]


def child_env() -> dict[str, str]:
    """The environment of a ``genlmk`` subprocess: this tests folder importable, one thread."""
    paths = [str(TESTS), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), "OMP_NUM_THREADS": "1"}


def run_to_completion(args: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        genlmk_command(*args), capture_output=True, text=True, env=child_env(), cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def kill_after_step(args: list[str], step: int, signal: Path, timeout: float = 300) -> str:
    """Run ``genlmk`` with :class:`fault_callbacks.HangAfterStep` appended; SIGKILL it once it hangs."""
    hang = ["--trainer.callbacks+=fault_callbacks.HangAfterStep"]
    hang += [f"--trainer.callbacks.step={step}", f"--trainer.callbacks.signal={signal}"]
    process = subprocess.Popen(
        genlmk_command(*args, *hang),
        env=child_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while not signal.exists():
            assert process.poll() is None, process.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "training did not reach the step in time"
            time.sleep(0.1)
    finally:
        process.kill()  # SIGKILL
        _, stderr = process.communicate()
    assert process.returncode == -9
    return stderr


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar of a run folder as ``(step, value)`` in order, as TensorBoard shows
    them (events that a resumed run purged left out)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"scalars": 0}).Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
