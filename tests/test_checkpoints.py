from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch

from genlmk import atomic_files
from genlmk.atomic_files import atomic_write
from genlmk.checkpoints import (
    FRAME_SIZE_KEY,
    KIND_KEY,
    LEGACY_FRAME_SIZE_KEY,
    atomic_torch_save,
    load_checkpoint,
    motion_frame_size,
)
from genlmk.data.landmark_csv import LandmarkCsvWriter
from genlmk.errors import CheckpointError


def test_atomic_save_round_trip_and_no_temporary_left(tmp_path):
    atomic_torch_save({KIND_KEY: "landmarks", "w": torch.ones(2)}, tmp_path / "a.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt"]
    assert torch.equal(load_checkpoint(tmp_path / "a.ckpt", kind="landmarks")["w"], torch.ones(2))


def test_failed_save_keeps_the_previous_file(tmp_path):
    target = tmp_path / "a.ckpt"
    atomic_torch_save({"v": 1}, target)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        atomic_torch_save({"v": Unpicklable()}, target)
    assert load_checkpoint(target)["v"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt"]


def test_wrong_kind_missing_and_corrupt_checkpoints_are_clear_errors(tmp_path):
    atomic_torch_save({KIND_KEY: "motion"}, tmp_path / "m.ckpt")
    with pytest.raises(
        CheckpointError, match=r"m.ckpt: checkpoint holds a 'motion' model, but this command needs"
    ):
        load_checkpoint(tmp_path / "m.ckpt", kind="landmarks")
    with pytest.raises(CheckpointError, match=r"nope.ckpt: checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.ckpt")
    (tmp_path / "bad.ckpt").write_bytes(b"garbage" * 10)
    with pytest.raises(CheckpointError, match=r"bad.ckpt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad.ckpt")
    torch.save([1, 2], tmp_path / "list.ckpt")
    with pytest.raises(CheckpointError, match=r"holds a list, expected a dict"):
        load_checkpoint(tmp_path / "list.ckpt")


def test_atomically_written_files_get_the_permissions_of_any_new_file(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic_torch_save({"v": 1}, tmp_path / "a.ckpt")
        with atomic_write(tmp_path / "b.json", "report", "w") as handle:
            handle.write("{}")
        writer = LandmarkCsvWriter(tmp_path / "landmarks.csv", ["p"])
        writer.write(np.zeros((1, 1, 2)))
        writer.close()
        os.umask(0o077)
        atomic_torch_save({"v": 1}, tmp_path / "private.ckpt")
    finally:
        os.umask(previous)
    for name in ("a.ckpt", "b.json", "landmarks.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert stat.S_IMODE((tmp_path / "private.ckpt").stat().st_mode) == 0o600


def test_a_folder_that_refuses_chmod_still_gets_the_file_and_no_stray_temporary(tmp_path, monkeypatch):
    def refused(fd, mode):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(atomic_files.os, "fchmod", refused)
    atomic_torch_save({"v": 2}, tmp_path / "a.ckpt")
    assert load_checkpoint(tmp_path / "a.ckpt")["v"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt"]


def test_umask_is_read_the_same_without_proc(monkeypatch):
    previous = os.umask(0o027)
    try:
        from_proc = atomic_files._current_umask()

        def unreadable(self, *args, **kwargs):
            raise OSError("no /proc here")

        monkeypatch.setattr(atomic_files.Path, "read_text", unreadable)
        without_proc = atomic_files._current_umask()
        after = os.umask(previous)
    finally:
        os.umask(previous)
    assert from_proc == without_proc == 0o027
    assert after == 0o027  # reading it left it as it was


def test_motion_frame_size_is_width_height_and_old_height_width_checkpoints_are_swapped():
    assert motion_frame_size({FRAME_SIZE_KEY: [48, 32]}, (256, 256)) == (48, 32)
    # written before sizes took one order: [height, width] under the old key
    assert motion_frame_size({LEGACY_FRAME_SIZE_KEY: [32, 48]}, (256, 256)) == (48, 32)
    assert motion_frame_size({}, (256, 128)) == (256, 128)
