from __future__ import annotations

import numpy as np
import pytest
import torch

from genlmk.data.footage import find_footage
from genlmk.data.frames import read_frames
from genlmk.data.images import write_image
from genlmk.data.motion import MotionDataModule
from genlmk.data.synthetic_motion import synthetic_motion_video, write_synthetic_motion_dataset
from genlmk.errors import ConfigError, InputDataError


def test_synthetic_video_is_seeded_and_its_subject_moves():
    video = synthetic_motion_video(num_frames=6, size=48, seed=3)
    assert video.shape == (6, 48, 48, 3) and video.dtype == np.uint8
    assert np.array_equal(video, synthetic_motion_video(num_frames=6, size=48, seed=3))
    assert not np.array_equal(video, synthetic_motion_video(num_frames=6, size=48, seed=4))
    change = np.abs(video[1:].astype(int) - video[:-1].astype(int)).mean(axis=(1, 2, 3))
    assert (change > 0.2).all()  # every frame differs from the previous one
    corners = video[:, [0, 0, -1, -1], [0, -1, 0, -1]].astype(int)
    assert np.abs(corners - corners[:1]).max() <= 1  # the background stays put


@pytest.mark.parametrize("video_format", ["png", "mp4"])
def test_dataset_layout_and_frame_access(tmp_path, video_format):
    root = write_synthetic_motion_dataset(tmp_path, 2, 1, num_frames=5, size=32, video_format=video_format)
    train = find_footage(root / "train")
    assert [f.name for f in train] == ["train0000", "train0001"] and len(find_footage(root / "test")) == 1
    frames = read_frames(train[1], [4, 0])
    expected = synthetic_motion_video(5, 32, seed=1)
    tolerance = 0 if video_format == "png" else 12  # H.264 is lossy
    assert np.abs(frames[0].astype(int) - expected[4]).mean() <= tolerance
    assert np.abs(frames[1].astype(int) - expected[0]).mean() <= tolerance
    with pytest.raises(InputDataError, match="train0001"):
        read_frames(train[1], [5])


def test_training_batches_hold_pairs_neighbours_and_flow(tmp_path):
    write_synthetic_motion_dataset(tmp_path, 3, 2, num_frames=6, size=32)
    data = MotionDataModule(str(tmp_path), frame_size=24, batch_size=4, num_workers=0, repeats=2)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert set(batch) == {"source", "driving", "neighbour", "flow", "flow_valid"}
    assert batch["source"].shape == (4, 3, 24, 24) and batch["flow"].shape == (4, 2, 24, 24)
    assert batch["flow_valid"].dtype == torch.bool and batch["flow_valid"].shape == (4, 1, 24, 24)
    assert batch["driving"].min() >= 0 and batch["driving"].max() <= 1
    assert len(data.train_set) == 6
    val = next(iter(data.val_dataloader()))
    assert val["source"].shape == (4, 3, 24, 24)
    assert len(data.val_set) == 2 * 4 and val["video"].tolist() == [0, 0, 0, 0]


def test_a_non_square_frame_size_is_width_then_height(tmp_path):
    write_synthetic_motion_dataset(tmp_path, 1, 1, num_frames=3, size=32)
    data = MotionDataModule(str(tmp_path), frame_size=[40, 24], batch_size=2, num_workers=0, repeats=2)
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["source"].shape == (2, 3, 24, 40) and batch["flow"].shape == (2, 2, 24, 40)
    assert data.val_set[0]["driving"].shape == (3, 24, 40)


def test_augmentation_is_identical_for_all_frames_of_a_sample(tmp_path):
    still = synthetic_motion_video(1, 32, seed=0)[0]
    for t in range(4):
        write_image(tmp_path / "train" / "still" / f"{t}.png", still)
    jitter = {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.2}
    data = MotionDataModule(
        str(tmp_path), frame_size=32, batch_size=8, num_workers=0, repeats=8, jitter=jitter
    )
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert torch.equal(batch["source"], batch["driving"]) and torch.equal(
        batch["driving"], batch["neighbour"]
    )
    # ...but differs between samples, and the flow between identical frames is about zero
    assert not torch.equal(batch["source"][0], batch["source"][1])
    assert batch["flow"].abs().max() < 0.1 and batch["flow_valid"].all()  # Farneback: not exactly 0
    assert data.val_set is None and data.val_dataloader() == []


def test_data_module_errors_name_the_problem(tmp_path):
    with pytest.raises(InputDataError, match=r"expected the FOMM layout, a train/ folder"):
        MotionDataModule(str(tmp_path)).setup("fit")
    write_image(tmp_path / "train" / "one" / "0.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputDataError, match=r"train: no video or frame folder with 2 frames or more"):
        MotionDataModule(str(tmp_path)).setup("fit")
    with pytest.raises(ConfigError, match=r"data.flow_method: expected one of"):
        MotionDataModule(str(tmp_path), flow_method="raft")
