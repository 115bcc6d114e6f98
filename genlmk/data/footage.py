"""Footage: the inputs users point genlmk at, as sequences of frames.

A *footage* is one video file or one folder of image frames. A path given by the user can be
- a video file: one footage;
- a folder of images: one footage, frames in natural file-name order (``f2`` before ``f10``);
- a folder of videos and/or of frame folders (the First Order Motion Model layout): one
  footage per video or sub-folder, in natural name order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from genlmk.data.images import is_image_path, read_image
from genlmk.data.video import count_video_frames, is_video_path, iter_video_frames, probe_video
from genlmk.errors import ConfigError, InputDataError


def natural_key(path: Path) -> list:
    """Sort key that orders embedded numbers numerically: ``f2.png`` < ``f10.png``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


@dataclass(frozen=True)
class Footage:
    """One video file or one folder of frames.

    Attributes:
        path: the video file or the frame folder.
        frame_files: for a frame folder, its image files in order; empty for a video.
    """

    path: Path
    frame_files: tuple[Path, ...] = ()

    @property
    def is_video(self) -> bool:
        return not self.frame_files

    @property
    def name(self) -> str:
        """The footage's name: the video's file stem or the folder's name."""
        return self.path.stem if self.is_video else self.path.name

    @property
    def fps(self) -> float:
        """Frame rate (a frame folder is taken as 25 fps)."""
        return probe_video(self.path).fps if self.is_video else 25.0

    def __len__(self) -> int:
        return count_video_frames(self.path) if self.is_video else len(self.frame_files)

    def frames(self) -> Iterator[np.ndarray]:
        """The frames, in order, as (H, W, 3) uint8 RGB; one at a time."""
        if self.is_video:
            yield from iter_video_frames(self.path)
        else:
            for file in self.frame_files:
                yield read_image(file)

    def frame_names(self) -> list[str]:
        """A label per frame: the file name for frame folders, the index for videos."""
        if self.is_video:
            return [str(i) for i in range(len(self))]
        return [f.name for f in self.frame_files]


def _images_in(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and is_image_path(p)), key=natural_key)


def find_footage(path: str | Path) -> list[Footage]:
    """Resolve a user-given path into footage (see the module docstring).

    Raises:
        InputDataError: the path does not exist, or holds no video and no image.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: no such file or folder")
    if path.is_file():
        if is_video_path(path):
            return [Footage(path)]
        if is_image_path(path):
            return [Footage(path.parent, (path,))]
        raise InputDataError(f"{path}: neither a video ({', '.join(_SUFFIX_HINT)}) nor an image")
    entries = sorted(path.iterdir(), key=natural_key)
    if not entries:
        raise InputDataError(f"{path}: folder is empty")
    images = _images_in(path)
    if images:
        return [Footage(path, tuple(images))]
    found = [Footage(p) for p in entries if p.is_file() and is_video_path(p)]
    for sub in (p for p in entries if p.is_dir()):
        frames = _images_in(sub)
        if frames:
            found.append(Footage(sub, tuple(frames)))
    if not found:
        raise InputDataError(f"{path}: folder holds no images, videos or frame folders")
    return sorted(found, key=lambda f: natural_key(f.path))


@dataclass(frozen=True)
class FrameSelection:
    """Which frames of each footage training reads.

    Attributes:
        max_frames: at most this many frames in all (None: no limit).
        stride: every ``stride``-th frame of each footage (counted from its first frame).
        start: seconds from each footage's start at which reading begins.
        end: seconds from each footage's start at which reading stops (None: to the end).

    Times are frame number / frame rate (a frame folder counts as 25 fps), so for a video of
    variable frame rate they follow its average rate.
    """

    max_frames: int | None = None
    stride: int = 1
    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if self.stride < 1:
            raise ConfigError(f"data.frame_stride must be at least 1, got {self.stride}")
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            bounds = [self.start, self.end]
            raise ConfigError(f"data.time_range must be [start, end] seconds, 0 <= start < end; got {bounds}")

    def frames(
        self, path: str | Path, progress: bool = False
    ) -> Iterator[tuple[int, Footage, int, np.ndarray]]:
        """``(footage number, footage, frame number, (H, W, 3) uint8 RGB frame)`` of the selected
        frames of each footage under ``path`` (:func:`find_footage`); one frame in memory at a
        time. ``progress``: a progress bar per footage (on a terminal only)."""
        count = 0
        for number, footage in enumerate(find_footage(path)):
            fps = footage.fps if (self.start or self.end is not None) else 25.0
            first = int(np.ceil(self.start * fps - 1e-9))
            stop = None if self.end is None else int(np.ceil(self.end * fps - 1e-9))
            frames = footage.frames()
            if progress:
                frames = tqdm(frames, desc=f"loading {footage.name}", leave=False, disable=None)
            for index, frame in enumerate(frames):
                if stop is not None and index >= stop:
                    break
                if index < first or (index - first) % self.stride:
                    continue
                yield number, footage, index, frame
                count += 1
                if self.max_frames and count >= self.max_frames:
                    return


_SUFFIX_HINT = (".mp4", ".avi", ".mov", "...")
