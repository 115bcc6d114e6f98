"""Unpaired marked / unmarked frames for the landmark GAN.

Each source (a video, a folder of images, or a folder of videos / frame folders) is decoded
once, every frame resized to the model input size and kept in memory as uint8 (18k frames at
128 px take under 1 GB). The last ``val_fraction`` of each source is held out for validation
(a contiguous block, so neighbouring video frames do not leak into it).
"""

from __future__ import annotations

from typing import Any

import albumentations as A
import lightning as L
import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader, Dataset

from genlmk.data.augmentation import build_augmentation
from genlmk.data.footage import FrameSelection
from genlmk.data.frames import to_tensor
from genlmk.data.images import resize_rgb
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.roi import PartCropper
from genlmk.data.video import h264_round_trip
from genlmk.errors import ConfigError, InputDataError
from genlmk.geometry.boxes import frame_to_crop
from genlmk.training.sampling import ItemKey, TrainDataPosition, item_rng, split_key

DEFAULT_AUGMENT = {
    "rotate": 5.0,
    "scale": 0.05,
    "translate": 0.03,
    "color": 0.15,
    "white_balance": 0.0,
    "noise": 0.02,
    "blur": 0.1,
}


def load_frames(
    path: str, image_size: tuple[int, int], selection: FrameSelection | None = None
) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Decode a source's selected frames, resized to ``image_size = (width, height)``.

    Returns:
        frames: (F, H, W, 3) uint8 RGB.
        sizes: original ``(width, height)`` of each frame.
        footage: (F,) int, which footage (video or frame folder) each frame comes from.
        indices: (F,) int, each frame's number in its footage.
    """
    frames, sizes, footage_ids, indices = [], [], [], []
    for number, _, index, frame in (selection or FrameSelection()).frames(path, progress=True):
        sizes.append((frame.shape[1], frame.shape[0]))
        frames.append(resize_rgb(frame, image_size))
        footage_ids.append(number)
        indices.append(index)
    return np.stack(frames), sizes, np.array(footage_ids), np.array(indices)


def augmentation_from_options(options: dict[str, float] | bool | None) -> A.Compose | None:
    """The pipeline of the ``data.augment`` options (``True``: :data:`DEFAULT_AUGMENT`; ``False``/
    ``None``: none), built by :func:`genlmk.data.augmentation.build_augmentation`.

    A second image passed as ``next=`` gets exactly the same transform (frame pairs stay aligned).

    Raises:
        ConfigError: an option name is not one of :data:`DEFAULT_AUGMENT`'s.
    """
    if not options:
        return None
    unknown = set(options if isinstance(options, dict) else {}) - set(DEFAULT_AUGMENT)
    if unknown:
        raise ConfigError(f"unknown augment options {sorted(unknown)} (known: {sorted(DEFAULT_AUGMENT)})")
    o = {**DEFAULT_AUGMENT, **(options if isinstance(options, dict) else {})}
    color = o["color"]
    return build_augmentation(
        ("next",),
        affine=o,
        jitter={"brightness": color, "contrast": color, "saturation": color / 2, "hue": 0.0},
        jitter_probability=0.7,
        white_balance=o["white_balance"],
        noise=o["noise"],
        blur=o["blur"],
    )


class UnpairedFrames(Dataset):
    """Item ``i``: unmarked frame ``i mod U`` and marked frame ``i mod M`` (the pairing is
    arbitrary: every loss compares a frame only with its own reconstructions), plus the unmarked
    frame's ground-truth landmarks when given.

    With ``next_index`` (temporal mode) only unmarked frames that have a successor are used, and
    each item also holds that successor as ``unmarked_next``, transformed identically; with
    ``next_copies`` (arrays shaped like ``unmarked``, e.g. re-encoded) the successor is read from
    ``unmarked`` or one of the copies, chosen at random per item.

    Items are indexed by ``i`` or by a key ``(epoch, i)``
    (:class:`~genlmk.training.sampling.ResumableSampler`); the augmentation draws from
    ``(seed, epoch, i)`` only, so an item is the same in every worker, rank and resumed run.
    """

    def __init__(
        self,
        unmarked: np.ndarray,
        marked: np.ndarray,
        augment: A.Compose | None = None,
        landmarks: np.ndarray | None = None,
        next_index: np.ndarray | None = None,
        seed: int = 0,
        next_copies: list[np.ndarray] | None = None,
    ) -> None:
        self.unmarked, self.marked, self.augment, self.landmarks = unmarked, marked, augment, landmarks
        self.next_index = next_index
        self.next_sources = [unmarked, *(next_copies or [])]
        self.order = np.arange(len(unmarked)) if next_index is None else np.flatnonzero(next_index >= 0)
        self.seed = seed

    def __len__(self) -> int:
        return max(len(self.order), len(self.marked))

    def __getitem__(self, key: ItemKey) -> dict[str, torch.Tensor]:
        _, index = split_key(key)
        k = int(self.order[index % len(self.order)])
        marked = self.marked[index % len(self.marked)]
        pair = {"image": self.unmarked[k]}
        rng = item_rng(self.seed, key)
        augment_seed = int(rng.integers(2**31))
        if self.next_index is not None:
            pair["next"] = self.next_sources[int(rng.integers(len(self.next_sources)))][self.next_index[k]]
        if self.augment is not None:
            self.augment.set_random_seed(augment_seed)
            pair = self.augment(**pair)
            marked = self.augment(image=marked)["image"]
        item = {"unmarked": to_tensor(pair["image"]), "marked": to_tensor(marked)}
        if "next" in pair:
            item["unmarked_next"] = to_tensor(pair["next"])
        if self.landmarks is not None:
            item["landmarks"] = torch.as_tensor(self.landmarks[k], dtype=torch.float32)
        return item


def successor_index(footage: np.ndarray, indices: np.ndarray | None = None, stride: int = 1) -> np.ndarray:
    """For frames tagged with their footage id (F,): the index of the next frame of the same
    footage, or -1 for the last frame of each. With ``indices`` (F,), the frames' numbers in their
    footage, a frame whose successor was left out (``data.roi``) has none either (the next kept
    frame must be ``stride`` frames on)."""
    following = np.arange(1, len(footage) + 1)
    same = np.append(footage[1:] == footage[:-1], False)
    if indices is not None:
        same &= np.append(np.diff(indices) == stride, False)
    return np.where(same, following, -1)


class UnpairedFramesDataModule(L.LightningDataModule):
    """Two unpaired sources of frames for :class:`~genlmk.systems.landmarks.LandmarkGAN`.

    Args:
        marked: footage with the painted lines (video, image folder, or folder of either).
        unmarked: footage without paint.
        image_size: model input ``[width, height]``; default: the model's.
        batch_size: frames of each kind per batch.
        val_fraction: share of each source held out (the end of it).
        augment: albumentations options (``rotate`` deg, ``scale``, ``translate``, ``color``,
            ``white_balance``, ``noise``, ``blur``), or ``false``.
        max_frames: read at most this many frames per source; ``frame_stride``: keep every k-th.
        time_range: ``[start, end]`` seconds of each video (or frame folder, at 25 fps) to read.
        unmarked_gt: optional ``frame,name,x,y`` CSV of the unmarked source (pixels of its frames)
            to report validation NME.
        roi: ``none`` (each whole frame resized to the model input) or ``auto``: crop both sources
            around the painted part, framed as the template frames it (:mod:`genlmk.data.roi`;
            frames where it is not found are left out). For footage where the part fills a
            fraction of a large frame, and for sessions framed differently.
        temporal: draw consecutive unmarked frames (t, t+1) together, for the optical-flow loss
            (the unmarked source must be video or frame sequences).
        reencode: H.264 constant rate factors (0-51) of copies of the unmarked training frames,
            each made once at setup; with ``temporal``, frame t+1 of each pair is drawn from the
            source or one of the copies at random, so that the flow loss meets new codec artifacts
            between the two frames.
        num_workers: DataLoader workers.
        seed: seed of the shuffling and the augmentation (the order of epoch ``e`` depends only on
            ``(seed, e)``; checkpoints keep the position in it, so a resumed run continues mid-epoch).
    """

    def __init__(
        self,
        marked: str,
        unmarked: str,
        image_size: tuple[int, int] | None = None,
        batch_size: int = 8,
        val_fraction: float = 0.1,
        augment: dict[str, float] | bool = True,
        max_frames: int | None = None,
        frame_stride: int = 1,
        time_range: tuple[float, float] | None = None,
        unmarked_gt: str | None = None,
        roi: str = "none",
        temporal: bool = False,
        reencode: list[int] | None = None,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
        self.marked_path, self.unmarked_path = marked, unmarked
        self.image_size = tuple(image_size) if image_size else None
        self.batch_size, self.val_fraction = batch_size, val_fraction
        self.augment_options: Any = augment
        if time_range is not None and len(time_range) != 2:
            raise ConfigError(f"data.time_range must be [start, end] seconds, got {list(time_range)}")
        start, end = (0.0, None) if time_range is None else (float(time_range[0]), float(time_range[1]))
        self.selection = FrameSelection(max_frames, frame_stride, start, end)
        self.unmarked_gt = unmarked_gt
        if roi not in ("none", "auto"):
            raise ConfigError(f"data.roi must be none or auto, got {roi!r}")
        self.roi = roi
        self.temporal = temporal
        self.reencode = [int(crf) for crf in reencode or []]
        if self.reencode and not temporal:
            raise ConfigError("data.reencode copies the frames t+1 of temporal pairs: it needs data.temporal")
        if any(not 0 <= crf <= 51 for crf in self.reencode):
            raise ConfigError(f"data.reencode: H.264 rate factors are 0-51, got {self.reencode}")
        self.num_workers, self.seed = num_workers, seed
        self.train_set: UnpairedFrames | None = None
        self.val_set: UnpairedFrames | None = None
        self.position = TrainDataPosition()

    def _model_attribute(self, name: str):
        model = self.trainer.lightning_module if self.trainer is not None else None
        return getattr(model, name, None)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        model_template = self._model_attribute("template")
        size = self.image_size or (tuple(model_template.size) if model_template is not None else None)
        if size is None:
            raise ConfigError("data.image_size is not set and no model gives it")
        if model_template is not None and tuple(model_template.size) != tuple(size):
            raise ConfigError(
                f"data.image_size {list(size)} differs from the model's {list(model_template.size)}"
            )
        if self.roi == "auto":
            unmarked, marked, footage, boxes, indices = self._cropped(model_template, size)
        else:
            unmarked, sizes, footage, indices = load_frames(self.unmarked_path, size, self.selection)
            marked = load_frames(self.marked_path, size, self.selection)[0]
            boxes = np.array([(0, 0, width, height) for width, height in sizes])
        self.marked_frames = marked  # the model measures the paint's colour in them
        landmarks = None
        if self.unmarked_gt:
            if model_template is None:
                raise ConfigError("data.unmarked_gt needs the model's template to order landmarks")
            landmarks = self._ground_truth(model_template.names, boxes, footage, indices, size)
        cut_u = len(unmarked) - round(len(unmarked) * self.val_fraction)
        cut_m = len(marked) - round(len(marked) * self.val_fraction)
        self.unmarked_frames = unmarked[:cut_u]  # the model keeps their appearance (predict --roi auto)
        augment = augmentation_from_options(self.augment_options)
        following = (
            successor_index(footage[:cut_u], indices[:cut_u], self.selection.stride)
            if self.temporal
            else None
        )
        if following is not None and not (following >= 0).any():
            raise InputDataError(
                f"{self.unmarked_path}: data.temporal needs consecutive frames (a video or frame sequences)"
            )
        self.train_set = UnpairedFrames(
            unmarked[:cut_u],
            marked[:cut_m],
            augment,
            None if landmarks is None else landmarks[:cut_u],
            following,
            self.seed,
            [h264_round_trip(unmarked[:cut_u], crf) for crf in self.reencode],
        )
        if cut_u < len(unmarked) and cut_m < len(marked):
            self.val_set = UnpairedFrames(
                unmarked[cut_u:], marked[cut_m:], None, None if landmarks is None else landmarks[cut_u:]
            )

    def _cropped(self, template, size) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``data.roi auto``: unmarked crops, marked crops, the unmarked crops' footage ids, crop
        boxes (source pixels) and frame numbers."""
        if template is None:
            raise ConfigError("data.roi auto needs the model's template (it frames the crops)")
        cropper = PartCropper(template, size)
        marked, color = cropper.marked(self.marked_path, self.selection)
        appearance = cropper.appearance(marked, color)
        unmarked, scores = cropper.unmarked(self.unmarked_path, appearance, marked.share(), self.selection)
        rank_zero_info(
            f"data.roi auto: paint in {len(marked.frames)} of {marked.scanned} marked frames, the part in "
            f"{len(unmarked.frames)} of {unmarked.scanned} unmarked frames (match {np.median(scores):.2f}, "
            f"floor {appearance.floor:.2f}); crops {marked.share():.2f} / {unmarked.share():.2f} of the "
            "frames' short side"
        )
        return unmarked.frames, marked.frames, unmarked.footage, unmarked.boxes(), unmarked.indices

    def _ground_truth(
        self, names, boxes: np.ndarray, footage: np.ndarray, indices: np.ndarray, model_size
    ) -> np.ndarray:
        """The ``unmarked_gt`` landmarks of the used frames (their numbers ``indices`` (F,)), in
        pixels of their model inputs (crops ``boxes`` (F, 4) of the source frames)."""
        if len(set(footage.tolist())) > 1:
            raise ConfigError(
                f"data.unmarked_gt: {self.unmarked_path} holds several videos or folders; ground truth "
                "numbers the frames of one"
            )
        gt, _, frames = read_landmark_csv(self.unmarked_gt, names)
        count = int(indices.max()) + 1 if len(indices) else 0
        if frames != list(range(len(frames))) or len(frames) < count:
            raise InputDataError(f"{self.unmarked_gt}: needs frames 0..{count - 1} of {self.unmarked_path}")
        return frame_to_crop(gt[indices], boxes, model_size)

    def train_dataloader(self) -> DataLoader:
        return self.position.loader(
            self.train_set, self.trainer, self.batch_size, self.seed, self.num_workers
        )

    def state_dict(self) -> dict[str, int]:
        return self.position.state_dict(self.trainer)

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.position.load_state_dict(state_dict)

    def val_dataloader(self) -> DataLoader | list:
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False, num_workers=0)
