"""Writing a file so that readers (and crashes) see either the old complete file or the new one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from genlmk.errors import OutputError


def temporary_beside(path: Path, what: str) -> tuple[int, Path]:
    """Create the hidden temporary file ``.<name>.<random>.tmp`` beside ``path``, open for writing.

    It gets the permissions any new file would (``0o666`` less the umask), not ``mkstemp``'s
    private ``0o600``: once renamed it is the user's output, readable as their other files are.

    Returns:
        ``(descriptor, temporary path)``.

    Raises:
        OutputError: the folder cannot be made or written: ``<path>: cannot write <what> (...)``.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write {what} ({exc.strerror or exc})") from None
    # a filesystem that refuses chmod (some network and FUSE mounts) still takes the file, private
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666 & ~_current_umask())
    return fd, Path(partial)


def _current_umask() -> int:
    """The process umask, read from /proc where it can be (Linux), else by setting and restoring it
    (which would briefly give files made meanwhile by other threads no mask)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return umask


@contextmanager
def atomic_write(path: str | Path, what: str, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on a clean exit flush it to disk and rename it over
    ``path``, on an error remove it (``path`` is never touched then).

    The temporary file is named ``.<name>.<random>.tmp`` in the same folder (the rename must not
    cross file systems).

    Args:
        path: the file to write.
        what: what is written, for the error message (``"checkpoint"``).
        mode: ``"wb"`` or ``"w"``; ``open_args``: passed to :func:`open` (``encoding=...``).

    Raises:
        OutputError: the folder cannot be made or written: ``<path>: cannot write <what> (...)``.
    """
    path = Path(path)
    fd, partial = temporary_beside(path, what)
    try:
        with os.fdopen(fd, mode, **open_args) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
