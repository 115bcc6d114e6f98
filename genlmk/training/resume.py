"""Resuming: ``--ckpt_path last`` resolved to the run it continues, and checkpoints checked
against the configured model before Lightning loads them.

Lightning's own ``last`` looks only in the *new* run's folder (``version_<N+1>/checkpoints``),
finds nothing and starts afresh. Here ``last`` is the most recently written
``<save_dir>/<name>/<version>/checkpoints/last.ckpt``; the resumed run logs into that same
version, and TensorBoard drops the killed run's events from the checkpoint's step on
(``purge_step``), so the curves continue without a gap or a duplicate.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from torch import nn

from genlmk.checkpoints import KIND_KEY, TEMPLATE_KEY, load_checkpoint
from genlmk.errors import CheckpointError, OutputError

LAST_NAME = "last.ckpt"


def find_last_checkpoint(runs: str | Path, version: int | str | None = None) -> Path | None:
    """The most recently written ``runs/<version>/checkpoints/last.ckpt`` (of ``version`` if given)."""
    runs = Path(runs)
    folders = "*" if version is None else (f"version_{version}" if isinstance(version, int) else version)
    found = [p for p in runs.glob(f"{folders}/checkpoints/{LAST_NAME}") if p.is_file()]
    return max(found, key=lambda p: (p.stat().st_mtime_ns, p.parent.parent.name), default=None)


def remove_partial_writes(folder: str | Path) -> list[Path]:
    """Delete the temporary files of checkpoint writes that a killed run left in ``folder``
    (:func:`~genlmk.checkpoints.atomic_torch_save` names them ``.<name>.<random>.tmp``).

    Returns:
        the files removed.
    """
    partial = [p for p in Path(folder).glob(".*.ckpt.*.tmp") if p.is_file()]
    for path in partial:
        path.unlink(missing_ok=True)
    return partial


def run_version(checkpoint: Path) -> int | str:
    """The logger version of a ``<version>/checkpoints/last.ckpt``: ``N`` for ``version_N``."""
    name = checkpoint.parent.parent.name
    return int(name.removeprefix("version_")) if re.fullmatch(r"version_\d+", name) else name


def logged_steps(checkpoint: dict[str, Any]) -> int:
    """The first logger step a run resumed from ``checkpoint`` writes: the number of training
    batches the checkpoint has seen (Lightning logs batch ``k`` at step ``k - 1``). The interrupted
    run's events from this step on came after the checkpoint and are superseded."""
    return int(checkpoint["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["processed"])


def _describe(checkpoint: dict[str, Any]) -> str:
    kind = checkpoint.get(KIND_KEY)
    return f"a {kind!r} model" if kind else "a model"


def read_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint that a run can resume from (weights, loops and optimizer states).

    Raises:
        CheckpointError: missing, unreadable, or not a full training checkpoint.
    """
    checkpoint = load_checkpoint(path)
    missing = [key for key in ("state_dict", "loops", "optimizer_states") if key not in checkpoint]
    if missing:
        raise CheckpointError(
            f"{path}: not a training checkpoint to resume from (it lacks {', '.join(missing)});"
            " to start from its weights, pass it as the model's initial weights instead"
        )
    return checkpoint


def check_resumable(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Read a training checkpoint and check that ``model`` can continue from it.

    Returns:
        the checkpoint (CPU tensors).

    Raises:
        CheckpointError: unreadable; not a full training checkpoint; trained with another template;
            or its weights do not fit ``model`` (names one offending weight).
    """
    path = Path(path)
    checkpoint = read_training_checkpoint(path)
    hparams = getattr(model, "hparams", {})
    if TEMPLATE_KEY in checkpoint and isinstance(hparams.get("template"), dict):
        trained, configured = checkpoint[TEMPLATE_KEY], hparams["template"]
        if trained != configured:
            raise CheckpointError(
                f"{path}: trained with template {trained.get('name')!r} ({len(trained['landmarks'])}"
                f" landmarks), but the configured template is {configured.get('name')!r}"
                f" ({len(configured['landmarks'])} landmarks)"
            )
    saved, expected = checkpoint["state_dict"], model.state_dict()
    what = f"{path}: holds {_describe(checkpoint)} that does not fit the configured {type(model).__name__}"
    for name, tensor in expected.items():
        if name not in saved:
            raise CheckpointError(f"{what}: it has no weight {name!r}")
        if tuple(saved[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{what}: {name} is {list(saved[name].shape)} there, {list(tensor.shape)} here"
            )
    extra = sorted(set(saved) - set(expected))
    if extra:
        raise CheckpointError(f"{what}: it has weights this model lacks ({extra[0]!r} ...)")
    return checkpoint


def check_writable(folder: str | Path) -> None:
    """Create ``folder`` if needed and check that files can be written in it.

    Raises:
        OutputError: naming the folder and the reason.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"{folder}: cannot write training outputs here ({exc.strerror or exc})") from None
