"""Box files: a crop box per frame, CSV with columns ``frame,x,y,w,h``.

Boxes are in pixels of their frame (``x, y`` the top-left corner, ``w, h`` the size; see
:mod:`genlmk.geometry.boxes`), frames numbered as in ``landmarks.csv`` (decode order for videos,
sorted file-name order for frame folders, from 0). Values are rounded to whole pixels.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from genlmk.errors import InputDataError
from genlmk.geometry.boxes import check_boxes

BOX_COLUMNS = ("frame", "x", "y", "w", "h")


class BoxTrack:
    """Crop boxes for numbered frames (read with :func:`read_box_csv`).

    Attributes:
        frames: (F,) int64 frame numbers, ascending.
        boxes: (F, 4) int64 ``x, y, w, h``.
        source: the file the boxes came from (for messages).
    """

    def __init__(self, frames: np.ndarray, boxes: np.ndarray, source: str) -> None:
        order = np.argsort(frames, kind="stable")
        self.frames = np.asarray(frames, dtype=np.int64)[order]
        self.boxes = np.asarray(boxes, dtype=np.int64)[order]
        self.source = source

    def lookup(self, frames: np.ndarray) -> np.ndarray:
        """Boxes (B, 4) for frame numbers (B,).

        Raises:
            InputDataError: a frame has no box.
        """
        frames = np.asarray(frames, dtype=np.int64)
        where = np.clip(np.searchsorted(self.frames, frames), 0, len(self.frames) - 1)
        missing = self.frames[where] != frames
        if missing.any():
            raise InputDataError(f"{self.source}: no box for frame {int(frames[np.argmax(missing)])}")
        return self.boxes[where]


def read_box_csv(path: str | Path) -> BoxTrack:
    """Read a ``frame,x,y,w,h`` CSV.

    Raises:
        InputDataError: missing file, wrong columns, non-numeric values, a frame listed twice.
        ConfigError: a box smaller than one pixel.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: box file not found")
    frames: list[int] = []
    values: list[list[float]] = []
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not set(BOX_COLUMNS) <= set(reader.fieldnames):
                raise InputDataError(
                    f"{path}: expected columns {','.join(BOX_COLUMNS)}, got {reader.fieldnames}"
                )
            for line, row in enumerate(reader, start=2):
                try:
                    frames.append(int(row["frame"]))
                    values.append([float(row[k]) for k in BOX_COLUMNS[1:]])
                except (TypeError, ValueError):
                    raise InputDataError(
                        f"{path}: line {line} is not an integer frame and 4 numbers"
                    ) from None
    except UnicodeDecodeError:
        raise InputDataError(f"{path}: not a text CSV file") from None
    if not frames:
        raise InputDataError(f"{path}: no boxes")
    unique, counts = np.unique(frames, return_counts=True)
    if (counts > 1).any():
        raise InputDataError(f"{path}: frame {int(unique[np.argmax(counts > 1)])} has more than one box")
    if not np.isfinite(values).all():
        raise InputDataError(f"{path}: boxes must be finite numbers")
    return BoxTrack(np.array(frames), check_boxes(np.array(values), str(path)), str(path))
