"""Pairing real footage with generated footage: by video name, then by frame index.

The reference protocol compares the i-th frame of each generated video with the i-th frame of the
real video of the same name. Here both sides are paths that :func:`genlmk.data.footage.find_footage`
understands (a video, a folder of frames, a folder of videos or frame folders). When each side is a
single video (or frame folder) they are paired whatever their names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from genlmk.data.footage import Footage, find_footage
from genlmk.errors import InputDataError


@dataclass(frozen=True)
class FootagePair:
    """A real video and the generated video to compare it with, frame by frame.

    Attributes:
        name: the video's name (the real footage's).
        real: the real footage.
        fake: the generated footage.
        frames: number of frames of both.
    """

    name: str
    real: Footage
    fake: Footage
    frames: int


def _by_name(footage: list[Footage], path: Path) -> dict[str, Footage]:
    twice = [name for name, count in Counter(f.name for f in footage).items() if count > 1]
    if twice:
        raise InputDataError(f"{path}: several videos are named {twice[0]!r} (videos are paired by name)")
    return {f.name: f for f in footage}


def _listing(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def pair_footage(real_path: str | Path, fake_path: str | Path) -> list[FootagePair]:
    """Pair every real video with the generated video of the same name, checking frame counts.

    Raises:
        InputDataError: a path holds no footage, a video has no counterpart on the other side, two
            videos on one side share a name, or a pair's frame counts differ.
    """
    real_path, fake_path = Path(real_path), Path(fake_path)
    real, fake = find_footage(real_path), find_footage(fake_path)
    if len(real) == 1 and len(fake) == 1:
        matched = [(real[0], fake[0])]
    else:
        real_named, fake_named = _by_name(real, real_path), _by_name(fake, fake_path)
        missing = [name for name in real_named if name not in fake_named]
        if missing:
            raise InputDataError(
                f"{fake_path}: no generated video for {_listing(missing)} (videos are paired by name)"
            )
        extra = [name for name in fake_named if name not in real_named]
        if extra:
            raise InputDataError(
                f"{real_path}: no real video for {_listing(extra)} (videos are paired by name)"
            )
        matched = [(footage, fake_named[name]) for name, footage in real_named.items()]
    pairs = []
    for real_footage, fake_footage in matched:
        real_frames, fake_frames = len(real_footage), len(fake_footage)
        if real_frames != fake_frames:
            raise InputDataError(
                f"{fake_footage.path}: {fake_frames} frames, but the real {real_footage.path} has "
                f"{real_frames} (frames are paired by index)"
            )
        pairs.append(FootagePair(real_footage.name, real_footage, fake_footage, real_frames))
    return pairs
