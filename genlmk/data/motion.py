"""Data for motion transfer: frame pairs from videos in the First Order Motion Model layout.

``root/train`` and ``root/test`` each hold videos and/or frame folders (see
:func:`genlmk.data.footage.find_footage`). Training samples a *source* and a *driving* frame of the
same video, both augmented alike (albumentations: horizontal flip, colour jitter); with
``flow_pairs`` the driving frame's temporal neighbour comes too, with the classical optical flow
between them and its forward-backward validity mask (for the flow keypoint loss). Validation pairs
each test video's first frame with evenly spaced later frames (the reconstruction protocol).

Frame folders are read frame by frame; a video file is decoded from its start up to the frames a
sample needs, so for training on long clips frame folders (the reference's ``vox-png``) are faster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lightning.pytorch import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from genlmk.data.augmentation import build_augmentation
from genlmk.data.footage import Footage, find_footage
from genlmk.data.frames import read_frames, to_tensor
from genlmk.data.images import resize_rgb
from genlmk.errors import ConfigError, InputDataError
from genlmk.geometry.flow import FLOW_METHODS, dense_flow, flow_consistency_mask
from genlmk.training.sampling import ItemKey, TrainDataPosition, item_rng, split_key


def _usable(footage: list[Footage], minimum: int) -> list[tuple[Footage, int]]:
    """(footage, frame count) of every footage with at least ``minimum`` frames."""
    counted = [(f, len(f)) for f in footage]
    return [(f, n) for f, n in counted if n >= minimum]


class MotionTrainDataset(Dataset):
    """Random same-video (source, driving[, neighbour]) frames; ``len`` = videos x ``repeats``.

    Items are dicts of float32 tensors in [0, 1]: ``source`` and ``driving`` (3, H, W); with
    ``flow_pairs`` also ``neighbour`` (3, H, W) (the frame after the driving one, or before it with
    ``time_flip`` half the time), ``flow`` (2, H, W): pixels from neighbour to driving on the
    neighbour's grid, and ``flow_valid`` (1, H, W) bool. Frames are resized to ``frame_size`` =
    (width, height) with :func:`genlmk.data.images.resize_rgb`.

    Items are indexed by ``i`` or by a key ``(epoch, i)``
    (:class:`~genlmk.training.sampling.ResumableSampler`). Randomness comes from a NumPy generator
    seeded by ``(seed, epoch, i)``, never from global state, so an item is the same in every
    worker, rank and resumed run.
    """

    def __init__(
        self,
        videos: list[tuple[Footage, int]],
        frame_size: tuple[int, int],
        repeats: int = 1,
        augment=None,
        time_flip: bool = True,
        flow_pairs: bool = True,
        flow_method: str = "farneback",
        seed: int = 0,
    ) -> None:
        self.videos = videos
        self.frame_size = frame_size
        self.repeats = repeats
        self.augment = augment
        self.time_flip = time_flip
        self.flow_pairs = flow_pairs
        self.flow_method = flow_method
        self.seed = seed

    def __len__(self) -> int:
        return len(self.videos) * self.repeats

    def __getitem__(self, key: ItemKey) -> dict[str, Tensor]:
        _, index = split_key(key)
        footage, count = self.videos[index % len(self.videos)]
        rng = item_rng(self.seed, key)
        source, driving = (int(i) for i in rng.integers(0, count, size=2))
        indices = [source, driving]
        if self.flow_pairs:
            step = -1 if self.time_flip and rng.random() < 0.5 else 1
            neighbour = driving + step
            indices.append(neighbour if 0 <= neighbour < count else driving - step)
        frames = [resize_rgb(f, self.frame_size) for f in read_frames(footage, indices)]
        if self.augment is not None:
            self.augment.set_random_seed(int(rng.integers(2**31)))
            out = self.augment(image=frames[0], **{f"frame{i}": f for i, f in enumerate(frames[1:], 1)})
            frames = [out["image"]] + [out[f"frame{i}"] for i in range(1, len(frames))]
        tensors = [to_tensor(f) for f in frames]
        item = {"source": tensors[0], "driving": tensors[1]}
        if self.flow_pairs:
            driving_t, neighbour_t = tensors[1][None], tensors[2][None]
            back = dense_flow(neighbour_t, driving_t, self.flow_method)
            forward = dense_flow(driving_t, neighbour_t, self.flow_method)
            item.update(
                neighbour=tensors[2], flow=back[0], flow_valid=flow_consistency_mask(back, forward)[0]
            )
        return item


class MotionPairsDataset(Dataset):
    """Reconstruction pairs: each video's frame 0 with ``pairs_per_video`` evenly spaced later frames.

    Items: ``source``, ``driving`` (3, H, W) float32 in [0, 1] at ``frame_size`` = (width, height),
    and ``video`` (the video's index).
    """

    def __init__(
        self, videos: list[tuple[Footage, int]], frame_size: tuple[int, int], pairs_per_video: int = 4
    ):
        self.frame_size = frame_size
        self.pairs = []
        for number, (footage, count) in enumerate(videos):
            later = np.linspace(1, count - 1, min(pairs_per_video, count - 1)).round().astype(int)
            self.pairs += [(number, footage, int(i)) for i in dict.fromkeys(later)]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Tensor | int]:
        number, footage, driving = self.pairs[index]
        source, target = (
            to_tensor(resize_rgb(f, self.frame_size)) for f in read_frames(footage, [0, driving])
        )
        return {"source": source, "driving": target, "video": number}


class MotionDataModule(LightningDataModule):
    """Videos in the FOMM layout (``root/train``, ``root/test``) as training and validation batches.

    Args:
        root: folder holding ``train/`` and (optionally) ``test/``.
        frame_size: frames are resized to this (an int for square, or [width, height], the order of
            every size in genlmk; configs and checkpoints from before it took [height, width]:
            square sizes mean the same, a non-square one must be swapped).
        batch_size: training batch size (validation uses the same).
        num_workers: DataLoader worker processes.
        repeats: each training video is sampled this many times per epoch (FOMM's ``num_repeats``).
        horizontal_flip, jitter: augmentation (jitter: brightness, contrast, saturation, hue amounts
            as in ``ColorJitter``; None or zeros switch it off).
        time_flip: the neighbour frame for the flow loss is the previous frame half the time.
        flow_pairs: also deliver the driving frame's neighbour and the optical flow (needed by the
            flow keypoint loss; costs two OpenCV flow computations per sample).
        flow_method: ``"farneback"`` or ``"dis"``.
        val_pairs_per_video: validation pairs per test video; val_videos: at most this many test videos.
        seed: seeds the order, the sampling and the augmentation (the order of epoch ``e`` depends
            only on ``(seed, e)``; checkpoints keep the position in it, so a resumed run continues
            mid-epoch).
    """

    def __init__(
        self,
        root: str,
        frame_size: int | list[int] = 256,
        batch_size: int = 40,
        num_workers: int = 4,
        repeats: int = 75,
        horizontal_flip: bool = True,
        jitter: dict[str, float] | None = None,
        time_flip: bool = True,
        flow_pairs: bool = True,
        flow_method: str = "farneback",
        val_pairs_per_video: int = 4,
        val_videos: int | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if flow_method not in FLOW_METHODS:
            raise ConfigError(f"data.flow_method: expected one of {FLOW_METHODS}, got {flow_method!r}")
        size = (frame_size, frame_size) if isinstance(frame_size, int) else tuple(frame_size)
        if len(size) != 2:
            raise ConfigError(f"data.frame_size: expected an int or [width, height], got {frame_size!r}")
        self.root = Path(root)
        self.frame_size = size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.repeats = repeats
        self.horizontal_flip = horizontal_flip
        self.jitter = jitter
        self.time_flip = time_flip
        self.flow_pairs = flow_pairs
        self.flow_method = flow_method
        self.val_pairs_per_video = val_pairs_per_video
        self.val_videos = val_videos
        self.seed = seed
        self.train_set: MotionTrainDataset | None = None
        self.val_set: MotionPairsDataset | None = None
        self.position = TrainDataPosition()

    def setup(self, stage: str | None = None) -> None:
        train_dir, test_dir = self.root / "train", self.root / "test"
        if not train_dir.is_dir():
            raise InputDataError(
                f"{self.root}: expected the FOMM layout, a train/ folder (and test/) of videos"
            )
        if self.train_set is None:
            minimum = 2 if self.flow_pairs else 1
            videos = _usable(find_footage(train_dir), minimum)
            if not videos:
                raise InputDataError(f"{train_dir}: no video or frame folder with {minimum} frames or more")
            frames = 3 if self.flow_pairs else 2
            self.train_set = MotionTrainDataset(
                videos,
                self.frame_size,
                self.repeats,
                build_augmentation(
                    [f"frame{i}" for i in range(1, frames)],
                    horizontal_flip=self.horizontal_flip,
                    jitter=self.jitter,
                ),
                self.time_flip,
                self.flow_pairs,
                self.flow_method,
                self.seed,
            )
        if self.val_set is None and test_dir.is_dir():
            videos = _usable(find_footage(test_dir), 2)[: self.val_videos]
            self.val_set = (
                MotionPairsDataset(videos, self.frame_size, self.val_pairs_per_video) if videos else None
            )

    def train_dataloader(self) -> DataLoader:
        whole_batches = len(self.train_set) >= self.batch_size
        return self.position.loader(
            self.train_set, self.trainer, self.batch_size, self.seed, self.num_workers, whole_batches
        )

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None:
            return []
        return DataLoader(
            self.val_set,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def state_dict(self) -> dict[str, int]:
        return self.position.state_dict(self.trainer)

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.position.load_state_dict(state_dict)
