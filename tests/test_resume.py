"""Resume after ``kill -9``: ``genlmk fit ... --ckpt_path last`` continues the killed run exactly.

Each test trains a tiny model in subprocesses: an uninterrupted run, and the same command killed
with SIGKILL in the middle of an epoch (after a checkpoint, with later steps already logged),
then run again. Both subprocesses use one thread, so float results are bitwise reproducible:
the resumed run must give exactly the uninterrupted run's losses, curves and weights.
"""

from __future__ import annotations

import pytest
import torch
from training_helpers import (
    kill_after_step,
    landmark_data,
    landmark_fit_args,
    motion_data,
    motion_fit_args,
    run_to_completion,
    scalars,
)

from genlmk.checkpoints import load_checkpoint

pytestmark = pytest.mark.slow


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [name for name in a if not torch.equal(a[name], b[name])]
    assert not different, f"weights differ: {different[:5]}"


def test_landmarks_resume_after_sigkill_continues_the_run_exactly(tmp_path):
    data = landmark_data(tmp_path / "data", frames=32)  # 24 training frames: 12 batches per epoch
    steps, every = 9, 3

    def args(runs):
        return [*landmark_fit_args(data, runs, steps, every=every), "--ckpt_path", "last"]

    full = run_to_completion(args(tmp_path / "full"))
    assert "pre-optimization state" not in full.stderr  # Lightning's advice for another case, silenced
    assert "LeafSpec" not in full.stderr
    # the first start with --ckpt_path last finds nothing to resume and says so
    stderr = kill_after_step(args(tmp_path / "killed"), step=5, signal=tmp_path / "hanging")
    assert "to resume from: starting a new run" in stderr
    run = tmp_path / "killed" / "landmarks" / "version_0"
    killed = load_checkpoint(run / "checkpoints" / "last.ckpt", kind="landmarks")
    assert killed["global_step"] == 3 and killed["epoch"] == 0  # mid-epoch, two steps before the kill
    assert [s for s, _ in scalars(run)["train/total"]] == [0, 1, 2, 3, 4]  # logged past the checkpoint

    partial = run / "checkpoints" / ".last.ckpt.x1y2z3.tmp"  # what a kill during a checkpoint write leaves
    partial.write_bytes(b"half a checkpoint")
    resumed = run_to_completion(args(tmp_path / "killed"))
    assert not partial.exists()
    assert f"Restored all states from the checkpoint at {run / 'checkpoints' / 'last.ckpt'}" in resumed.stderr
    assert sorted(p.name for p in run.parent.iterdir()) == ["version_0"]  # the same TensorBoard run

    uninterrupted = tmp_path / "full" / "landmarks" / "version_0"
    expected, got = scalars(uninterrupted), scalars(run)
    # every curve as one uninterrupted run: the same steps (no gap, no duplicate) and the same values
    assert got.keys() == expected.keys()
    for tag in expected:
        assert got[tag] == expected[tag], tag
    final = load_checkpoint(run / "checkpoints" / "last.ckpt")
    reference = load_checkpoint(uninterrupted / "checkpoints" / "last.ckpt")
    assert final["global_step"] == reference["global_step"] == steps
    _assert_same_weights(final["state_dict"], reference["state_dict"])
    pools, reference_pools = final["genlmk_image_pools"], reference["genlmk_image_pools"]
    assert torch.equal(pools["marked"]["images"], reference_pools["marked"]["images"])
    assert final["optimizer_states"][0]["state"].keys() == reference["optimizer_states"][0]["state"].keys()


def test_motion_resume_after_sigkill_continues_the_step_count_and_curves(tmp_path):
    data = motion_data(tmp_path / "data")  # 3 videos x 4 repeats: 6 batches per epoch
    steps, every = 4, 2

    def args(runs):
        return [*motion_fit_args(data, runs, steps, every=every), "--ckpt_path", "last"]

    run_to_completion(args(tmp_path / "full"))
    kill_after_step(args(tmp_path / "killed"), step=3, signal=tmp_path / "hanging")
    run = tmp_path / "killed" / "version_0"
    assert load_checkpoint(run / "checkpoints" / "last.ckpt", kind="motion")["global_step"] == 2
    run_to_completion(args(tmp_path / "killed"))
    assert sorted(p.name for p in run.parent.iterdir() if p.name.startswith("version")) == ["version_0"]

    uninterrupted = tmp_path / "full" / "version_0"
    final = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert final["global_step"] == steps
    expected, got = scalars(uninterrupted), scalars(run)
    assert [s for s, _ in got["train/total"]] == list(range(steps))
    for tag in expected:
        assert got[tag] == expected[tag], tag
    _assert_same_weights(
        final["state_dict"], load_checkpoint(uninterrupted / "checkpoints" / "last.ckpt")["state_dict"]
    )
