"""Pretrained weights, offline: from a path the user gives, else from the torch hub cache.

genlmk never downloads. A network that needs published weights (Inception for FID, AlexNet or VGG
for LPIPS, ...) looks for them in this order:

1. the file the user names (``--fid-features PATH``, ``backbone_weights=...``);
2. the torch hub cache, ``$TORCH_HOME/hub/checkpoints/`` (``~/.cache/torch/hub/checkpoints/`` by
   default), under the file names the usual downloaders give them;

and raises :class:`~genlmk.errors.WeightsNotFoundError` naming both places when neither has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from genlmk.errors import WeightsNotFoundError


def hub_cache_dir() -> Path:
    """The folder torch.hub keeps downloaded weights in (honours ``TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(what: str, path: str | Path | None, cache_names: Sequence[str]) -> Path:
    """Locate a weights file.

    Args:
        what: what the weights are, for messages (``"FID Inception-v3"``).
        path: the file the user gave, or None to look in the cache.
        cache_names: file names to look for in :func:`hub_cache_dir`, in order.

    Returns:
        The path of an existing file.

    Raises:
        WeightsNotFoundError: ``path`` is not a file, or (when ``path`` is None) no cache name exists.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: {what} weights file not found")
        return path
    cache = hub_cache_dir()
    for name in cache_names:
        if (cache / name).is_file():
            return cache / name
    names = " or ".join(cache_names)
    raise WeightsNotFoundError(
        f"{what} weights not found: looked for {names} in {cache} (set by TORCH_HOME); "
        "copy the file there or give its path (genlmk downloads nothing)"
    )


def load_state_dict(path: Path, what: str) -> dict[str, torch.Tensor]:
    """Read a state dict of tensors (``weights_only``) onto the CPU.

    Raises:
        WeightsNotFoundError: the file is not a readable state dict of tensors.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        reason = str(exc).splitlines()[0][:120] if str(exc) else exc.__class__.__name__
        raise WeightsNotFoundError(f"{path}: not readable {what} weights ({reason})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsNotFoundError(f"{path}: not a {what} state dict (expected a dict of tensors)")
    return state
