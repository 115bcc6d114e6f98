"""Landmarks as a NumPy ``.npz`` archive, written as frames arrive.

Arrays (``numpy.load(path)`` reads them; no pickles):

- ``landmarks``: (F, N, 2) float64 ``(x, y)`` in pixels of each frame (genlmk's corner origin);
- ``frames``: (F,) int64 frame numbers (as in ``landmarks.csv``);
- ``sizes``: (F, 2) int64 frame ``(width, height)``;
- ``found``: (F,) bool, False for a frame whose landmarks are missing (NaN, e.g. a subject lost by
  ``--roi auto``);
- ``visible``: (F, N) float64 in [0, 1], the probability that each landmark's paint shows; only in
  the predictions of a landmarker with visibility;
- ``names``: (N,) str landmark names;
- ``template``: 0-d str, the template's YAML text (``Template.from_dict(yaml.safe_load(...))``).

The growing arrays go to temporary files while frames arrive and are copied into the archive on
``close()``, so memory stays constant whatever the video length, and the archive appears
complete only then.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from genlmk.atomic_files import atomic_write
from genlmk.data.landmark_selection import landmark_columns
from genlmk.errors import InputDataError
from genlmk.template import Template
from genlmk.template.template import dump_template_yaml

_STREAMED = {"landmarks": np.float64, "frames": np.int64, "sizes": np.int64, "found": np.bool_}
VISIBLE = "visible"


class LandmarkNpzWriter:
    """Append landmarks batch by batch; see the module docstring for the archive's arrays.

    With ``visibility`` the archive has the ``visible`` array and every :meth:`write` must give it.
    """

    def __init__(self, path: str | Path, template: Template, visibility: bool = False) -> None:
        self.path = Path(path)
        self.template = template
        self.frames_written = 0
        self._streamed = {**_STREAMED, VISIBLE: np.float64} if visibility else dict(_STREAMED)
        self._parts: dict[str, IO[bytes]] = {name: tempfile.TemporaryFile() for name in self._streamed}  # noqa: SIM115 (closed in close/abort)

    def write(
        self,
        landmarks: np.ndarray,
        frames: Sequence[int],
        sizes: np.ndarray,
        visibility: np.ndarray | None = None,
    ) -> None:
        """Append (B, N, 2) landmarks of frames numbered ``frames`` (B,) of ``sizes`` (B, 2), and
        their (B, N) visibility when the archive has it."""
        if (visibility is not None) != (VISIBLE in self._streamed):
            state = "has" if VISIBLE in self._streamed else "has no"
            raise ValueError(f"{self.path}: the archive {state} a visible array")
        found = np.isfinite(landmarks).all(axis=(1, 2))
        arrays = {
            "landmarks": landmarks,
            "frames": frames,
            "sizes": sizes,
            "found": found,
            VISIBLE: visibility,
        }
        for name, dtype in self._streamed.items():
            self._parts[name].write(np.ascontiguousarray(arrays[name], dtype=dtype).tobytes())
        self.frames_written += len(landmarks)

    def close(self) -> None:
        """Write the archive and move it into place."""
        count = self.frames_written
        shapes = {
            "landmarks": (count, self.template.num_landmarks, 2),
            "frames": (count,),
            "sizes": (count, 2),
            "found": (count,),
            VISIBLE: (count, self.template.num_landmarks),
        }
        try:
            with (
                atomic_write(self.path, "landmarks") as handle,
                zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
            ):
                for name, dtype in self._streamed.items():
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        header = {
                            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                            "fortran_order": False,
                            "shape": shapes[name],
                        }
                        np.lib.format.write_array_header_1_0(member, header)
                        self._parts[name].seek(0)
                        shutil.copyfileobj(self._parts[name], member)
                fixed = {
                    "names": np.array(self.template.names),
                    "template": np.array(dump_template_yaml(self.template.to_dict())),
                }
                for name, array in fixed.items():
                    with archive.open(f"{name}.npy", "w") as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop what was written (the final file is not touched)."""
        for part in self._parts.values():
            part.close()


def read_landmark_npz(
    path: str | Path, names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str], list[int]]:
    """Read a landmark archive written by :class:`LandmarkNpzWriter`.

    Returns:
        landmarks (F, N, 2) float64, names (N,), frame numbers (F,) ascending; ``names`` picks
        and orders the landmarks.

    Raises:
        InputDataError: unreadable, lacking an array, or ``names`` not in the archive.
    """
    landmarks, _, order, frames = _read_archive(Path(path), names)
    return landmarks, order, frames


def read_npz_visibility(path: str | Path, names: Sequence[str] | None = None) -> np.ndarray | None:
    """The archive's ``visible`` array (F, N) float64, frames and landmarks ordered as
    :func:`read_landmark_npz` gives them; None for an archive without it.

    Raises:
        InputDataError: as :func:`read_landmark_npz`.
    """
    return _read_archive(Path(path), names)[1]


def _read_archive(
    path: Path, names: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray | None, list[str], list[int]]:
    """Landmarks (F, N, 2), visibility (F, N) or None, names, frames; frames ascending."""
    try:
        with np.load(path, allow_pickle=False) as data:
            landmarks, found, frames = data["landmarks"], [str(n) for n in data["names"]], data["frames"]
            visible = data[VISIBLE] if VISIBLE in data.files else None
    except FileNotFoundError:
        raise InputDataError(f"{path}: landmark file not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputDataError(f"{path}: not a genlmk landmark archive ({exc})") from None
    order, columns = landmark_columns(found, names, path, "the archive")
    sort = np.argsort(frames, kind="stable")
    if visible is not None:
        visible = visible[sort][:, columns].astype(np.float64)
    return landmarks[sort][:, columns].astype(np.float64), visible, order, [int(f) for f in frames[sort]]
