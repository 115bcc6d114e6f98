"""Result tables of the ``genlmk evaluate`` commands: printed, and written as JSON and CSV.

A table is a list of rows (dicts from column key to value) and a list of :class:`Column` s saying
which keys to show and how. Missing values (a metric that does not apply to a row) print as ``-``,
are empty in CSV and ``null`` in JSON, as is NaN (nothing could be scored).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genlmk.errors import OutputError


@dataclass(frozen=True)
class Column:
    """One column: the row key, its header, and a format spec for numbers (``".3f"``)."""

    key: str
    header: str
    spec: str = ""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_cell(value: Any, spec: str) -> str:
    """A value as table text: ``-`` when missing, else ``format(value, spec)``."""
    return "-" if _is_missing(value) else format(value, spec)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> str:
    """Rows as a text table: left-aligned first column, right-aligned others, a rule under the header."""
    cells = [[c.header for c in columns]]
    cells += [[format_cell(row.get(c.key), c.spec) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        first = values[0].ljust(widths[0])
        return "  ".join([first] + [v.rjust(w) for v, w in zip(values[1:], widths[1:])]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(values) for values in cells[1:]])


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON (NaN written as null)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(json_ready(data), indent=2) + "\n")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write results ({exc.strerror or exc})") from None


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    """Write rows as CSV with the columns' keys as header (missing values empty, numbers unrounded)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.key for c in columns])
            for row in rows:
                writer.writerow(["" if _is_missing(row.get(c.key)) else row.get(c.key) for c in columns])
    except OSError as exc:
        raise OutputError(f"{path}: cannot write results ({exc.strerror or exc})") from None
