"""Landmark files: ``landmarks.csv`` / ``*_gt.csv`` with columns ``frame,name,x,y``.

One row per frame and landmark, coordinates in pixels of that frame (genlmk convention).
Frames are integers: decode order for videos, sorted file-name order for frame folders.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genlmk.atomic_files import temporary_beside
from genlmk.errors import InputDataError, OutputError

COLUMNS = ("frame", "name", "x", "y")


def write_landmark_csv(
    path: str | Path, landmarks: np.ndarray, names: Sequence[str], first_frame: int = 0
) -> None:
    """Write (F, N, 2) landmarks for frames ``first_frame ...`` as long-format CSV."""
    landmarks = np.asarray(landmarks)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (len(names), 2):
        raise ValueError(f"landmarks must be (F, {len(names)}, 2), got {landmarks.shape}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            _write_rows(handle, landmarks, names, first_frame, header=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write landmarks ({exc.strerror or exc})") from None


def _write_rows(handle, landmarks: np.ndarray, names: Sequence[str], first_frame: int, header: bool) -> None:
    writer = csv.writer(handle)
    if header:
        writer.writerow(COLUMNS)
    for offset, frame in enumerate(landmarks):
        for name, (x, y) in zip(names, frame):
            writer.writerow((first_frame + offset, name, f"{x:.3f}", f"{y:.3f}"))


class LandmarkCsvWriter:
    """Append landmarks batch by batch (constant memory for long videos).

    Rows go to a hidden file beside ``path`` that :meth:`close` renames to ``path``, so an
    earlier ``path`` stays as it was until the new one is complete; :meth:`abort` keeps the rows
    written so far as ``<stem>.partial.csv``.
    """

    def __init__(self, path: str | Path, names: Sequence[str]) -> None:
        self.path = Path(path)
        self.names = list(names)
        fd, self._partial = temporary_beside(self.path, "landmarks")
        self._handle = os.fdopen(fd, "w", newline="")
        csv.writer(self._handle).writerow(COLUMNS)
        self.frames_written = 0

    def write(self, landmarks: np.ndarray) -> None:
        """Append (B, N, 2) landmarks for the next B frames."""
        _write_rows(self._handle, np.asarray(landmarks), self.names, self.frames_written, header=False)
        self.frames_written += len(landmarks)

    def close(self) -> None:
        """Finish: the file becomes ``path``."""
        self._finish(self.path)

    def abort(self) -> None:
        """Stop after an error: ``path`` is not touched, the rows so far go to ``<stem>.partial.csv``."""
        self._finish(self.path.with_name(f"{self.path.stem}.partial.csv"))

    def _finish(self, target: Path) -> None:
        self._handle.close()
        os.replace(self._partial, target)


def read_landmark_csv(
    path: str | Path, names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[int]]:
    """Read a landmark CSV.

    Args:
        path: the CSV file.
        names: landmark order to return; default: order of first appearance in the file.

    Returns:
        landmarks: (F, N, 2) float64 pixels, NaN where a frame lacks a landmark.
        names: the N landmark names.
        frames: the F frame numbers, ascending.

    Raises:
        InputDataError: missing file, wrong columns, non-numeric values, or names not in ``names``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: landmark file not found")
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not set(COLUMNS) <= set(reader.fieldnames):
                raise InputDataError(f"{path}: expected columns {','.join(COLUMNS)}, got {reader.fieldnames}")
            rows = list(reader)
    except UnicodeDecodeError:
        raise InputDataError(f"{path}: not a text CSV file") from None
    if not rows:
        raise InputDataError(f"{path}: no landmark rows")
    order = list(names) if names is not None else list(dict.fromkeys(r["name"] for r in rows))
    index = {n: i for i, n in enumerate(order)}
    try:
        frames = sorted({int(r["frame"]) for r in rows})
    except (TypeError, ValueError):
        raise InputDataError(f"{path}: the frame column must hold integers") from None
    position = {f: i for i, f in enumerate(frames)}
    out = np.full((len(frames), len(order), 2), np.nan)
    for line, row in enumerate(rows, start=2):
        if row["name"] not in index:
            raise InputDataError(f"{path}: line {line} names landmark {row['name']!r}, not in the template")
        try:
            x, y = float(row["x"]), float(row["y"])
        except (TypeError, ValueError):
            raise InputDataError(f"{path}: line {line} has a non-numeric coordinate") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        out[position[int(row["frame"])], index[row["name"]]] = (x, y)
    return out, order, frames
