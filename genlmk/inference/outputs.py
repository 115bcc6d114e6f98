"""The landmark files of one prediction run: one writer per format, all fed the same batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genlmk.data.coco_keypoints import CocoKeypointsWriter
from genlmk.data.landmark_csv import LandmarkCsvWriter
from genlmk.data.landmark_files import LANDMARK_FORMATS
from genlmk.data.landmark_npz import LandmarkNpzWriter
from genlmk.errors import ConfigError
from genlmk.template import Template


def parse_formats(text: str) -> tuple[str, ...]:
    """``"csv,coco,npz"`` -> the format names, checked, in the given order, without repeats.

    Raises:
        ConfigError: an unknown format or none at all.
    """
    names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",") if part.strip()))
    unknown = [n for n in names if n not in LANDMARK_FORMATS]
    if unknown or not names:
        raise ConfigError(f"--formats: expected some of {','.join(LANDMARK_FORMATS)}, got {text!r}")
    return names


class LandmarkOutputs:
    """Writes ``folder/<stem>.<suffix>`` for each format (csv, coco JSON, npz).

    Args:
        folder: output folder.
        stem: file name without suffix (``landmarks``, ``landmarks_smoothed``).
        formats: format names (:data:`genlmk.data.landmark_files.LANDMARK_FORMATS`).
        template: the landmarks' template (names, lines).
        description: a line for the COCO file's ``info``.
        visibility: the landmarks come with their visibility (a landmarker with visibility): the
            CSV gets a ``visible`` column, COCO ``v`` = 2 / 1 for visible / hidden, the archive a
            ``visible`` array; without, the files are those of positions alone.
    """

    def __init__(
        self,
        folder: Path,
        stem: str,
        formats: Sequence[str],
        template: Template,
        description: str = "",
        visibility: bool = False,
    ) -> None:
        self.paths = [folder / f"{stem}{LANDMARK_FORMATS[f]}" for f in formats]
        csv_path, npz_path = folder / f"{stem}.csv", folder / f"{stem}.npz"
        self._csv = LandmarkCsvWriter(csv_path, template.names, visibility) if "csv" in formats else None
        self._coco = (
            CocoKeypointsWriter(folder / f"{stem}.json", template, description) if "coco" in formats else None
        )
        self._npz = LandmarkNpzWriter(npz_path, template, visibility) if "npz" in formats else None

    def write(
        self,
        landmarks: np.ndarray,
        frames: np.ndarray,
        sizes: np.ndarray,
        files: Sequence[str],
        visibility: np.ndarray | None = None,
    ) -> None:
        """Append (B, N, 2) frame-pixel landmarks of consecutive frames ``frames`` (B,) with
        ``sizes`` (B, 2) ``(width, height)``, image names ``files`` (B,) and, when the outputs
        were made with ``visibility``, the landmarks' (B, N) visibility in [0, 1]."""
        if self._csv is not None:
            self._csv.write(landmarks, visibility)
        if self._coco is not None:
            self._coco.write(landmarks, frames, sizes, files, visibility)
        if self._npz is not None:
            self._npz.write(landmarks, frames, sizes, visibility)

    def close(self) -> None:
        """Finish every file."""
        for writer in (self._csv, self._coco, self._npz):
            if writer is not None:
                writer.close()

    def abort(self) -> None:
        """Stop after an error: existing files are not touched; the CSV rows written so far are
        kept as ``<stem>.partial.csv``, the other formats dropped."""
        for writer in (self._csv, self._coco, self._npz):
            if writer is not None:
                writer.abort()
