"""Which sessions are writing a local ``OUTPUT_DIR`` now: one lock file per session.

Every process that writes chunks holds ``_state/sessions/<file_key>.lock`` locked
(``flock``, exclusive) from before its first file until its last commit, and the file
holds the session's record (JSON: run id, worker, start, arguments, the first chunk
number of the session, whether it has a JOBDIR).  A lock the kernel holds dies with its
process (SIGKILL, OOM, power loss), so:

- a lock file nobody holds is a **dead session**: the next process in that OUTPUT_DIR
  takes it, removes what the session left uncommitted, records it in ``crawl_runs``
  (``pipelines.stores.leftovers``) and deletes the lock file;
- a lock held is a **live session**, stalled or not: its files are never touched;
- a session that ends cleanly deletes its own lock file, after its last commit.

On a shared directory the lock must be one every machine sees (a local disk, NFSv4,
NFSv3 with lockd: Linux maps ``flock`` to NFS locks).  On a filesystem without locks,
or an object store, there is no lock: nothing is known dead, nothing is cleaned by
another session (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.state import dataset

logger = logging.getLogger(__name__)

FOLDER = "sessions"  # under OUTPUT_DIR/_state
SUFFIX = ".lock"
WAIT_STEP = 0.05  # seconds between tries while another process holds a lock briefly
# How long a lock held by another process may be a moment's hold, not a live session's.
BUSY_WAIT = 5.0
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS)


class SessionBusy(RuntimeError):
    """Another live process holds the session's lock (the same run and worker running
    twice)."""


def lock_path(output_dir: str | os.PathLike[str], file_key: str) -> Path:
    return Path(output_dir) / dataset.STATE_DIR / FOLDER / f"{file_key}{SUFFIX}"


class SessionLock:
    """A held session lock (``fd`` None: none could be taken, nothing to hold)."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd

    @property
    def file_key(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    def record(self) -> dict[str, Any] | None:
        """The record its session wrote; None when it wrote none (or a torn one)."""
        if self.fd is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            data = os.pread(self.fd, 1 << 20, 0)
            found = json.loads(data.decode("utf-8")) if data else None
            return found if isinstance(found, dict) else None
        return None

    def write(self, record: dict[str, Any]) -> None:
        """Replace the record (only the holder writes it; readers take the lock first)."""
        if self.fd is None:
            return
        data = json.dumps(record, sort_keys=True).encode("utf-8")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)
        os.fsync(self.fd)

    def release(self, *, ended: bool) -> None:
        """Let the lock go; ``ended``: the session is over (its lock file is deleted
        first, while still held, so no one takes it for a dead session)."""
        if self.fd is None:
            return
        _HELD.pop(self.path, None)
        if ended:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self.fd)
        self.fd = None


_HELD: dict[Path, SessionLock] = {}


def _take(path: Path, create: bool = True) -> int | None:
    """The lock file opened and locked, or None when a live process holds it.  A file
    deleted (its session cleaned or ended) between opening and locking is opened again
    (``FileNotFoundError`` then, unless ``create``)."""
    while True:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:
            os.close(fd)
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def acquire(output_dir: str | os.PathLike[str], file_key: str,
            wait: float = BUSY_WAIT) -> SessionLock:
    """This process's lock on session ``file_key`` (the one it holds already, if so: one
    release ends it).  ``SessionBusy`` when another live process keeps it for ``wait``
    seconds (one cleaning a dead session holds it for a moment)."""
    path = lock_path(output_dir, file_key)
    held = _HELD.get(path)
    if held is not None:
        return held
    if dataset.is_remote(output_dir):
        return SessionLock(path, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = _take(path)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                raise
            logger.warning("OUTPUT_DIR %s has no file locks (%s): another run cannot tell "
                           "this one is alive, so none cleans up after another", output_dir,
                           exc.strerror)
            return SessionLock(path, None)
        if fd is not None:
            lock = _HELD[path] = SessionLock(path, fd)
            return lock
        if time.monotonic() > deadline:
            raise SessionBusy(f"run {file_key} is being written by another live process "
                              f"(it holds {path})")
        time.sleep(WAIT_STEP)  # a lock held by another process: only time frees it


def try_lock(output_dir: str | os.PathLike[str], file_key: str) -> SessionLock | None:
    """Session ``file_key``'s lock if no live process holds it: its session is dead (or
    has no lock file: a lock holding nothing).  None while it is alive, or where there
    are no locks (an object store)."""
    if dataset.is_remote(output_dir):
        return None
    path = lock_path(output_dir, file_key)
    if path in _HELD:
        return None  # this very process
    try:
        fd = _take(path, create=False)
    except FileNotFoundError:
        return SessionLock(path, None)
    except OSError:
        return None
    if fd is None:
        return None
    lock = _HELD[path] = SessionLock(path, fd)
    return lock


def dead_sessions(output_dir: str | os.PathLike[str]) -> Iterator[SessionLock]:
    """The lock of every dead session with a lock file, taken; the caller cleans up
    after it and releases it with ``ended=True``."""
    if dataset.is_remote(output_dir):
        return
    folder = Path(output_dir) / dataset.STATE_DIR / FOLDER
    if not folder.is_dir():
        return
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        lock = try_lock(output_dir, path.name.removesuffix(SUFFIX))
        if lock is not None:
            yield lock


def is_live(output_dir: str | os.PathLike[str], file_key: str, wait: float = 0.0) -> bool:
    """Whether a live process holds session ``file_key``'s lock (this one included).

    ``wait``: seconds to keep asking while it is held, so that a process holding a dead
    session's lock for a moment (to clean up after it, or to ask this same question) is
    not taken for that session alive."""
    if dataset.is_remote(output_dir):
        return True  # no locks there: nothing may be taken for dead
    deadline = time.monotonic() + wait
    while (lock := try_lock(output_dir, file_key)) is None:
        if time.monotonic() >= deadline or lock_path(output_dir, file_key) in _HELD:
            return True
        time.sleep(WAIT_STEP)  # a lock held by another process: only time frees it
    lock.release(ended=False)
    return False


def live_starts(output_dir: str | os.PathLike[str]) -> list[float]:
    """When each live session started (POSIX time), as its record says."""
    folder = Path(output_dir) / dataset.STATE_DIR / FOLDER
    starts = []
    for path in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        if not is_live(output_dir, path.name.removesuffix(SUFFIX)):
            continue
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            record = json.loads(path.read_text(encoding="utf-8"))
            starts.append(datetime.fromisoformat(record["started_at"]).timestamp())
    return starts
