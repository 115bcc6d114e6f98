"""Landmark files in any of genlmk's formats: CSV, COCO keypoints JSON, NumPy archive.

``genlmk predict --formats csv,coco,npz`` writes ``landmarks.csv``, ``landmarks.json`` and
``landmarks.npz`` (and ``landmarks_smoothed.*`` with ``--smooth``); every format holds the same
landmarks in pixels of the input frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genlmk.data.coco_keypoints import read_coco_keypoints
from genlmk.data.landmark_csv import read_landmark_csv
from genlmk.data.landmark_npz import read_landmark_npz
from genlmk.errors import InputDataError

#: format name -> file suffix
LANDMARK_FORMATS = {"csv": ".csv", "coco": ".json", "npz": ".npz"}
_READERS = {".csv": read_landmark_csv, ".json": read_coco_keypoints, ".npz": read_landmark_npz}


def read_landmarks(
    path: str | Path, names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[int]]:
    """Read a landmark file of any format, chosen by its suffix.

    Returns:
        landmarks (F, N, 2) float64 genlmk pixels (NaN where missing), the N names, the F frame
        numbers ascending; ``names`` picks and orders the landmarks.

    Raises:
        InputDataError: an unknown suffix, or what the format's reader raises.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(_READERS)
        raise InputDataError(f"{path}: unknown landmark file type (expected {known})")
    return reader(path, names)
