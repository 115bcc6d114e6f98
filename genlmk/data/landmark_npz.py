"""Landmarks as a NumPy ``.npz`` archive, written as frames arrive.

Arrays (``numpy.load(path)`` reads them; no pickles):

- ``landmarks``: (F, N, 2) float64 ``(x, y)`` in pixels of each frame (genlmk's corner origin);
- ``frames``: (F,) int64 frame numbers (as in ``landmarks.csv``);
- ``sizes``: (F, 2) int64 frame ``(width, height)``;
- ``found``: (F,) bool, False for a frame whose landmarks are missing (NaN, e.g. a subject lost by
  ``--roi auto``);
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


class LandmarkNpzWriter:
    """Append landmarks batch by batch; see the module docstring for the archive's arrays."""

    def __init__(self, path: str | Path, template: Template) -> None:
        self.path = Path(path)
        self.template = template
        self.frames_written = 0
        self._parts: dict[str, IO[bytes]] = {name: tempfile.TemporaryFile() for name in _STREAMED}  # noqa: SIM115 (closed in close/abort)

    def write(self, landmarks: np.ndarray, frames: Sequence[int], sizes: np.ndarray) -> None:
        """Append (B, N, 2) landmarks of frames numbered ``frames`` (B,) of ``sizes`` (B, 2)."""
        found = np.isfinite(landmarks).all(axis=(1, 2))
        arrays = {"landmarks": landmarks, "frames": frames, "sizes": sizes, "found": found}
        for name, dtype in _STREAMED.items():
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
        }
        try:
            with (
                atomic_write(self.path, "landmarks") as handle,
                zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
            ):
                for name, dtype in _STREAMED.items():
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
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            landmarks, found, frames = data["landmarks"], [str(n) for n in data["names"]], data["frames"]
    except FileNotFoundError:
        raise InputDataError(f"{path}: landmark file not found") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise InputDataError(f"{path}: not a genlmk landmark archive ({exc})") from None
    order, columns = landmark_columns(found, names, path, "the archive")
    sort = np.argsort(frames, kind="stable")
    return landmarks[sort][:, columns].astype(np.float64), order, [int(f) for f in frames[sort]]
