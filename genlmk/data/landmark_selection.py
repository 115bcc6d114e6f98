"""Picking and ordering the landmarks a caller asks for among those a file holds."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from genlmk.errors import InputDataError


def landmark_columns(
    found: Sequence[str], names: Sequence[str] | None, path: str | Path, holder: str
) -> tuple[list[str], list[int]]:
    """The names to return and their columns among ``found``.

    Args:
        found: the landmark names in the file, in its order.
        names: the names wanted, in the order wanted; ``None``: all of ``found``.
        path: the file, for the error message.
        holder: what holds the names, for the error message (e.g. ``"the archive"``).

    Raises:
        InputDataError: a wanted name is not in ``found``.
    """
    order = list(names) if names is not None else list(found)
    missing = [n for n in order if n not in found]
    if missing:
        raise InputDataError(f"{path}: landmark {missing[0]!r} is not in {holder}")
    return order, [list(found).index(n) for n in order]
