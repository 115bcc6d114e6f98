"""Checkpoint files: what genlmk puts in them, reading them safely, writing them atomically.

A genlmk checkpoint is a Lightning checkpoint (a dict) with extra keys:

- ``genlmk_kind``: ``"landmarks"`` or ``"motion"``, so a command can refuse the wrong kind;
- ``genlmk_template``: for landmark models, the template as its YAML structure, so the
  checkpoint alone is enough to predict;
- ``genlmk_appearance``: for landmark models, what the subject looks like in the training inputs
  (:class:`genlmk.geometry.subject_search.Appearance` as plain lists), so ``predict --roi auto``
  can find it in a large frame; absent in checkpoints written before it existed;
- ``genlmk_frame_width_height``: for motion models, the ``[width, height]`` frames were trained at
  (checkpoints written before sizes took that one order hold ``genlmk_frame_size``,
  ``[height, width]``, instead: :func:`motion_frame_size` reads both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from genlmk.atomic_files import atomic_write
from genlmk.errors import CheckpointError

KIND_KEY = "genlmk_kind"
TEMPLATE_KEY = "genlmk_template"
APPEARANCE_KEY = "genlmk_appearance"
TRAINING_ROI_KEY = "genlmk_training_roi"  # data.roi of the fit: predict frames inputs alike
FRAME_SIZE_KEY = "genlmk_frame_width_height"
LEGACY_FRAME_SIZE_KEY = "genlmk_frame_size"
KINDS = ("landmarks", "motion")


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``.

    A reader (or a crash at any moment) sees either the old complete file or the new one.
    """
    with atomic_write(path, "checkpoint") as handle:
        torch.save(obj, handle)


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read a checkpoint onto the CPU (tensors and plain containers only: ``weights_only``).

    Args:
        path: the ``.ckpt`` / ``.pth`` file.
        kind: if given, the ``genlmk_kind`` the caller needs.

    Raises:
        CheckpointError: missing, unreadable, not a dict, or of another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path}: not a checkpoint (holds a {type(checkpoint).__name__}, expected a dict)"
        )
    if kind is not None:
        found = checkpoint.get(KIND_KEY)
        if found != kind:
            what = f"a {found!r} model" if found else "no genlmk model"
            raise CheckpointError(f"{path}: checkpoint holds {what}, but this command needs a {kind!r} model")
    return checkpoint


def motion_frame_size(checkpoint: dict[str, Any], default: tuple[int, int]) -> tuple[int, int]:
    """The ``(width, height)`` a motion checkpoint's frames were trained at, ``default`` when it
    records none (the older ``[height, width]`` key is swapped into that order)."""
    if FRAME_SIZE_KEY in checkpoint:
        width, height = checkpoint[FRAME_SIZE_KEY]
    elif LEGACY_FRAME_SIZE_KEY in checkpoint:
        height, width = checkpoint[LEGACY_FRAME_SIZE_KEY]
    else:
        width, height = default
    return int(width), int(height)
