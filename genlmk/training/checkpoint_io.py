"""Crash-safe checkpoint writes for Lightning.

Lightning's own writer stages the file through ``fsspec`` but does not ``fsync``; after a power
loss the renamed file can be empty. :class:`AtomicCheckpointIO` writes local checkpoints with
:func:`genlmk.checkpoints.atomic_torch_save` (temporary file in the same folder, ``fsync``,
``os.replace``): a ``kill -9`` or a crash at any moment leaves either the previous complete
``last.ckpt`` or the new complete one.
"""

from __future__ import annotations

from typing import Any

import fsspec
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.rank_zero import rank_zero_warn

from genlmk.checkpoints import atomic_torch_save


class AtomicCheckpointIO(TorchCheckpointIO):
    """:class:`~lightning.pytorch.plugins.io.TorchCheckpointIO` with atomic local writes.

    Remote paths (``s3://`` ...) keep Lightning's own writer. After :meth:`refuse_writes` (the
    non-finite guard calls it when training stops on a NaN), no checkpoint is written at all, so
    exception-time saves cannot replace the last good checkpoint.
    """

    def __init__(self) -> None:
        super().__init__()
        self.refusal: str | None = None

    def refuse_writes(self, reason: str) -> None:
        """Skip every later :meth:`save_checkpoint` (with a warning naming ``reason``)."""
        self.refusal = reason

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if self.refusal is not None:
            rank_zero_warn(f"not writing checkpoint {path}: {self.refusal}")
            return
        if storage_options is not None or fsspec.utils.get_protocol(str(path)) != "file":
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        atomic_torch_save(checkpoint, path)
