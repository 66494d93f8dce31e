"""Atomic file writes: a file is either its old self or completely new, never half-written.

The bytes go to a temporary file in the target's folder (so the rename stays on one file system), which is
flushed and fsynced, renamed over the target, and then the folder is fsynced so the rename itself survives a
power cut. A crash before the rename leaves the target untouched and at worst a stray hidden
`.NAME.*.tmp` file beside it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """`with atomic_write(path) as f: f.write(...)`: `path` gets the bytes only if the block finishes.

    The new file gets the usual permissions (0o666 less the umask), as `open(path, "wb")` would.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":  # Windows cannot open a folder to fsync it
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
