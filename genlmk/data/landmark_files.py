"""Landmark files in any of genlmk's formats: CSV, COCO keypoints JSON, NumPy archive.

``genlmk predict --formats csv,coco,npz`` writes ``landmarks.csv``, ``landmarks.json`` and
``landmarks.npz`` (and ``landmarks_smoothed.*`` with ``--smooth``); every format holds the same
landmarks in pixels of the input frames. A landmarker with visibility adds each landmark's
visibility: the CSV's ``visible`` column, COCO's ``v`` (2 visible, 1 hidden), the archive's
``visible`` array; :func:`read_visibility` reads it back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from genlmk.data.coco_keypoints import read_coco_keypoints, read_coco_visibility
from genlmk.data.landmark_csv import read_landmark_csv, read_landmark_csv_visibility
from genlmk.data.landmark_npz import read_landmark_npz, read_npz_visibility
from genlmk.errors import InputDataError

#: format name -> file suffix
LANDMARK_FORMATS = {"csv": ".csv", "coco": ".json", "npz": ".npz"}
_READERS = {".csv": read_landmark_csv, ".json": read_coco_keypoints, ".npz": read_landmark_npz}
_VISIBILITY_READERS = {
    ".csv": read_landmark_csv_visibility,
    ".json": read_coco_visibility,
    ".npz": read_npz_visibility,
}


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
    return _reader(path, _READERS)(Path(path), names)


def read_visibility(path: str | Path, names: Sequence[str] | None = None) -> np.ndarray | None:
    """The landmarks' visibility in a landmark file of any format, (F, N) float64 in [0, 1] (NaN
    where unknown), frames and landmarks as :func:`read_landmarks` orders them.

    CSV and archives without the flag give None; a COCO file always has ``v``, binary: 1 for
    ``v = 2``, 0 for ``v = 1`` (a file from a landmarker without visibility reads all visible).

    Raises:
        InputDataError: as :func:`read_landmarks`.
    """
    return _reader(path, _VISIBILITY_READERS)(Path(path), names)


def _reader(path: str | Path, readers: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    reader = readers.get(Path(path).suffix.lower())
    if reader is None:
        known = ", ".join(readers)
        raise InputDataError(f"{path}: unknown landmark file type (expected {known})")
    return reader
