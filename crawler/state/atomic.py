"""Files replaced whole or not at all: written under a temporary name beside the target,
flushed to disk, then renamed over it.  A kill at any moment leaves the old file or the new
one, never a torn one; the temporary name is hidden (a leading dot) and carries the
writer's pid, so a later run can tell a dead writer's leftover from a live one's."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_SUFFIX = ".tmp"


def temporary_name(path: Path) -> Path:
    """The hidden name ``path`` is written under before it is renamed into place."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def fsync_file(path: str | os.PathLike[str]) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename in ``path`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; when the block ends without an error the file is
    synced and renamed to ``path``; on an error it is removed and ``path`` is untouched."""
    target = Path(path)
    tmp = temporary_name(target)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike[str], data: str | bytes,
                 encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``data``, whole or not at all."""
    with replacing(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding=encoding)
        else:
            tmp.write_bytes(data)
