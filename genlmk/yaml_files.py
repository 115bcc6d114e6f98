"""Reading the YAML files a user writes (templates, presets) with one-line errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from genlmk.errors import GenlmkError


def read_yaml(path: str | Path, error: type[GenlmkError], kind: str) -> Any:
    """The parsed content of a YAML file.

    Args:
        path: the file.
        error: the error type to raise (``TemplateError``, ``ConfigError``, ...).
        kind: what the file should be, for the message (``"template"``, ``"preset"``).

    Raises:
        ``error``: the file is missing, is not text, or is not valid YAML; the message names the
            file, the problem and, for a syntax error, its line.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {kind} file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise error(f"{path}: not a text file (expected a YAML {kind})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise error(f"{path}: not valid YAML ({problem}{line})") from None
