"""Access to single frames of footage: pick frames by index, turn them into tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from genlmk.data.footage import Footage
from genlmk.data.images import read_image
from genlmk.errors import InputDataError


def read_frames(footage: Footage, indices: Sequence[int]) -> list[np.ndarray]:
    """Frames ``indices`` of a footage as (H, W, 3) uint8 RGB, in the order asked.

    A frame folder reads only those files; a video is decoded up to the last index needed.

    Raises:
        InputDataError: an index is past the end of the footage.
    """
    if not footage.is_video:
        if max(indices) >= len(footage.frame_files):
            raise InputDataError(
                f"{footage.path}: has {len(footage.frame_files)} frames, asked for {max(indices)}"
            )
        return [read_image(footage.frame_files[i]) for i in indices]
    wanted, found = set(indices), {}
    for index, frame in enumerate(footage.frames()):
        if index in wanted:
            found[index] = frame
        if len(found) == len(wanted):
            break
    if len(found) < len(wanted):
        raise InputDataError(f"{footage.path}: has fewer frames than {max(indices) + 1}")
    return [found[i] for i in indices]


def to_tensor(frame: np.ndarray) -> Tensor:
    """An (H, W, 3) uint8 RGB frame as a (3, H, W) float32 tensor in [0, 1] (value / 255)."""
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float() / 255.0
