"""Landmarks as COCO keypoints JSON (the person-keypoints layout, for any template).

- ``categories``: one category with the template's landmark names as ``keypoints`` and its lines
  as ``skeleton``: the template's edges as pairs of **1-based** keypoint indices (COCO's rule).
- ``images``: one per frame: ``id`` (frame number + 1), ``file_name``, ``width``, ``height`` and
  ``frame_index`` (the frame number, as in ``landmarks.csv``).
- ``annotations``: one per frame, ``id`` = ``image_id``: ``keypoints`` ``[x1, y1, v1, x2, ...]``
  with ``v = 2`` (labelled, visible) or ``v = 0`` and ``x = y = 0`` for a landmark without a
  finite position; predictions of a landmarker with visibility write ``v = 1`` (labelled, not
  visible: placed where it lies hidden) for a landmark whose visibility is below 0.5;
  ``num_keypoints``, ``bbox`` ``[x, y, w, h]`` around the landmarks, ``area``,
  ``iscrowd = 0``, ``category_id = 1``.

Coordinates: COCO keypoints are pixel *indices* (the centre of the top-left pixel is (0, 0)),
while genlmk puts the top-left *corner* at (0, 0); so ``keypoint = genlmk point - 0.5``. Boxes
are continuous in COCO, as in genlmk, and are written unshifted.

The file is written as frames arrive (images and annotations go to temporary files first), so
memory stays constant whatever the video length, and appears complete only on ``close()``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from genlmk.atomic_files import atomic_write
from genlmk.data.landmark_selection import landmark_columns
from genlmk.errors import InputDataError
from genlmk.template import Template

#: COCO keypoint coordinate = genlmk coordinate + this
COCO_OFFSET = -0.5
#: a landmark with at least this visibility is written ``v = 2`` (visible), below it ``v = 1``
VISIBLE_THRESHOLD = 0.5
_DECIMALS = 3


def coco_category(template: Template) -> dict[str, Any]:
    """The COCO category of a template: keypoint names and the 1-based skeleton of its lines."""
    name = template.category or template.name
    return {
        "id": 1,
        "name": name,
        "supercategory": name,
        "keypoints": list(template.names),
        "skeleton": [[int(a) + 1, int(b) + 1] for a, b in template.edges],
    }


def coco_annotation(points: np.ndarray, frame: int, visibility: np.ndarray | None = None) -> dict[str, Any]:
    """The COCO annotation of one landmark set (N, 2) in genlmk pixels of frame ``frame``, with
    ``v`` from ``visibility`` (N,) in [0, 1] when given (2 from :data:`VISIBLE_THRESHOLD` up, else 1)."""
    points = np.asarray(points, dtype=np.float64)
    finite = np.isfinite(points).all(axis=1)
    keypoints = np.zeros((len(points), 3))
    keypoints[finite, :2] = points[finite] + COCO_OFFSET
    keypoints[finite, 2] = 2
    if visibility is not None:
        keypoints[finite & ~(np.asarray(visibility) >= VISIBLE_THRESHOLD), 2] = 1
    bbox = [0.0, 0.0, 0.0, 0.0]
    if finite.any():
        low, high = points[finite].min(axis=0), points[finite].max(axis=0)
        bbox = [*low.tolist(), *(high - low).tolist()]
    values = [round(float(v), _DECIMALS) for v in keypoints[:, :2].ravel()]
    flat: list[float | int] = []
    for (x, y), v in zip(zip(values[::2], values[1::2]), keypoints[:, 2].astype(int).tolist()):
        flat += [x, y, v]
    return {
        "id": frame + 1,
        "image_id": frame + 1,
        "category_id": 1,
        "keypoints": flat,
        "num_keypoints": int(finite.sum()),
        "bbox": [round(v, _DECIMALS) for v in bbox],
        "area": round(bbox[2] * bbox[3], _DECIMALS),
        "iscrowd": 0,
    }


class CocoKeypointsWriter:
    """Write landmarks batch by batch to a COCO keypoints JSON file (see the module docstring)."""

    def __init__(self, path: str | Path, template: Template, description: str = "") -> None:
        self.path = Path(path)
        self.template = template
        self.description = description
        self.frames_written = 0
        self._parts: list[IO[str]] = [tempfile.TemporaryFile("w+", encoding="utf-8") for _ in range(2)]  # noqa: SIM115 (closed in close/abort)

    def write(
        self,
        landmarks: np.ndarray,
        frames: Sequence[int],
        sizes: np.ndarray,
        files: Sequence[str],
        visibility: np.ndarray | None = None,
    ) -> None:
        """Append (B, N, 2) landmarks of frames numbered ``frames`` (B,), of ``sizes`` (B, 2)
        ``(width, height)``, with ``files`` (B,) as the images' ``file_name`` and, optionally,
        their (B, N) visibility in [0, 1] (see :func:`coco_annotation`)."""
        images, annotations = self._parts
        flags = [None] * len(landmarks) if visibility is None else list(visibility)
        for points, frame, (width, height), name, flag in zip(landmarks, frames, sizes, files, flags):
            separator = "," if self.frames_written else ""
            image = {
                "id": int(frame) + 1,
                "file_name": name,
                "width": int(width),
                "height": int(height),
                "frame_index": int(frame),
            }
            images.write(separator + json.dumps(image))
            annotations.write(separator + json.dumps(coco_annotation(points, int(frame), flag)))
            self.frames_written += 1

    def close(self) -> None:
        """Assemble the JSON document and move it into place."""
        head = {
            "info": {"description": self.description or f"genlmk {self.template.name} landmarks"},
            "licenses": [],
            "categories": [coco_category(self.template)],
        }
        try:
            with atomic_write(self.path, "COCO keypoints", "w", encoding="utf-8") as out:
                out.write(json.dumps(head)[:-1])  # leave the object open
                for key, part in zip(("images", "annotations"), self._parts):
                    out.write(f', "{key}": [')
                    part.seek(0)
                    shutil.copyfileobj(part, out)
                    out.write("]")
                out.write("}\n")
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop what was written (the final file is not touched)."""
        for part in self._parts:
            part.close()


def read_coco_keypoints(
    path: str | Path, names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[int]]:
    """Read landmarks from a COCO keypoints file with one category and one annotation per image.

    Frames are the images' ``frame_index`` (or ``id - 1`` without it); keypoints with ``v = 0``
    read as NaN. Coordinates are returned in genlmk pixels (``+ 0.5``).

    Returns:
        landmarks (F, N, 2) float64, names (N,), frame numbers (F,) ascending; ``names`` picks
        and orders the landmarks.

    Raises:
        InputDataError: unreadable, not this layout, or ``names`` not in the category.
    """
    keypoints, order, frames = _read_keypoints(Path(path), names)
    labelled = keypoints[..., 2] > 0
    out = np.full((len(frames), len(order), 2), np.nan)
    out[labelled] = keypoints[labelled][:, :2] - COCO_OFFSET
    return out, order, frames


def read_coco_visibility(path: str | Path, names: Sequence[str] | None = None) -> np.ndarray:
    """The keypoints' visibility flags as (F, N) float64: 1 for ``v = 2``, 0 for ``v = 1``, NaN
    for ``v = 0`` (no position); frames and landmarks as :func:`read_coco_keypoints` orders them.

    Raises:
        InputDataError: as :func:`read_coco_keypoints`.
    """
    keypoints, _, _ = _read_keypoints(Path(path), names)
    flags = keypoints[..., 2]
    return np.where(flags > 0, (flags >= 2).astype(np.float64), np.nan)


def _read_keypoints(path: Path, names: Sequence[str] | None) -> tuple[np.ndarray, list[str], list[int]]:
    """(F, N, 3) COCO ``x, y, v`` rows, frames ascending, landmarks in ``names`` order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        [category] = data["categories"]
        found = list(category["keypoints"])
        frame_of = {img["id"]: int(img.get("frame_index", img["id"] - 1)) for img in data["images"]}
        rows = {frame_of[a["image_id"]]: a["keypoints"] for a in data["annotations"]}
    except FileNotFoundError:
        raise InputDataError(f"{path}: landmark file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputDataError(f"{path}: not a COCO keypoints file with one category ({exc})") from None
    order, columns = landmark_columns(found, names, path, "the file's keypoints")
    frames = sorted(rows)
    keypoints = np.zeros((len(frames), len(order), 3))
    for i, frame in enumerate(frames):
        keypoints[i] = np.asarray(rows[frame], dtype=np.float64).reshape(-1, 3)[columns]
    return keypoints, order, frames
