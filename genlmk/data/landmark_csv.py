"""Landmark files: ``landmarks.csv`` / ``*_gt.csv`` with columns ``frame,name,x,y``.

One row per frame and landmark, coordinates in pixels of that frame (genlmk convention).
Frames are integers: decode order for videos, sorted file-name order for frame folders.
Predictions of a landmarker with visibility have a fifth column ``visible``: the probability
(3 decimals) that the landmark's paint shows; readers of positions ignore it.
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
VISIBLE_COLUMN = "visible"


def write_landmark_csv(
    path: str | Path,
    landmarks: np.ndarray,
    names: Sequence[str],
    first_frame: int = 0,
    visibility: np.ndarray | None = None,
) -> None:
    """Write (F, N, 2) landmarks for frames ``first_frame ...`` as long-format CSV; with
    ``visibility`` (F, N) in [0, 1] also the ``visible`` column."""
    landmarks = np.asarray(landmarks)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (len(names), 2):
        raise ValueError(f"landmarks must be (F, {len(names)}, 2), got {landmarks.shape}")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(_columns(visibility is not None))
            _write_rows(writer, landmarks, names, first_frame, visibility)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write landmarks ({exc.strerror or exc})") from None


def _columns(visibility: bool) -> tuple[str, ...]:
    return (*COLUMNS, VISIBLE_COLUMN) if visibility else COLUMNS


def _write_rows(
    writer, landmarks: np.ndarray, names: Sequence[str], first_frame: int, visibility: np.ndarray | None
) -> None:
    for offset, frame in enumerate(landmarks):
        flags = [()] * len(names) if visibility is None else [(f"{v:.3f}",) for v in visibility[offset]]
        for name, (x, y), flag in zip(names, frame, flags):
            writer.writerow((first_frame + offset, name, f"{x:.3f}", f"{y:.3f}", *flag))


class LandmarkCsvWriter:
    """Append landmarks batch by batch (constant memory for long videos).

    Rows go to a hidden file beside ``path`` that :meth:`close` renames to ``path``, so an
    earlier ``path`` stays as it was until the new one is complete; :meth:`abort` keeps the rows
    written so far as ``<stem>.partial.csv``. With ``visibility`` the file has the ``visible``
    column and every :meth:`write` must give it.
    """

    def __init__(self, path: str | Path, names: Sequence[str], visibility: bool = False) -> None:
        self.path = Path(path)
        self.names = list(names)
        self.visibility = visibility
        fd, self._partial = temporary_beside(self.path, "landmarks")
        self._handle = os.fdopen(fd, "w", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(_columns(visibility))
        self.frames_written = 0

    def write(self, landmarks: np.ndarray, visibility: np.ndarray | None = None) -> None:
        """Append (B, N, 2) landmarks for the next B frames, and their (B, N) visibility when the
        file has the column."""
        if (visibility is not None) != self.visibility:
            state = "has" if self.visibility else "has no"
            raise ValueError(f"{self.path}: the file {state} a visible column")
        _write_rows(self._writer, np.asarray(landmarks), self.names, self.frames_written, visibility)
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


def read_landmark_csv_visibility(path: str | Path, names: Sequence[str] | None = None) -> np.ndarray | None:
    """The ``visible`` column of a landmark CSV as (F, N) float64 in [0, 1] (NaN where a row lacks
    it), frames ascending and landmarks in ``names`` order as :func:`read_landmark_csv` gives
    them; None for a file without the column.

    Raises:
        InputDataError: what :func:`read_landmark_csv` raises, or a non-numeric flag.
    """
    _, order, frames = read_landmark_csv(path, names)
    with Path(path).open(newline="") as handle:
        reader = csv.DictReader(handle)
        if VISIBLE_COLUMN not in (reader.fieldnames or ()):
            return None
        rows = list(reader)
    index = {n: i for i, n in enumerate(order)}
    position = {f: i for i, f in enumerate(frames)}
    out = np.full((len(frames), len(order)), np.nan)
    for line, row in enumerate(rows, start=2):
        try:
            out[position[int(row["frame"])], index[row["name"]]] = float(row[VISIBLE_COLUMN])
        except (TypeError, ValueError):
            raise InputDataError(f"{path}: line {line} has a non-numeric {VISIBLE_COLUMN} value") from None
    return out
