"""A chunk's commit, step by step, for whoever finishes it: the session that wrote it, a
later session of its run, or another worker settling a dead worker's chunk.

Locally a chunk is written under hidden names (``.<file_key>-<n>.parquet.tmp``), synced,
then committed (its number appended to ``_state/<file_key>.commits``), then *published*
(each file renamed to its final name).  So a file under a final name is always
committed, and a glob reader (``titles/**/*.parquet``) never sees a row the commit log
does not vouch for.  A kill between the commit and the renames leaves a committed chunk
under hidden names: ``publish_committed`` finishes it, and every reader that must see it
(a resumed run, the reaper, another run cleaning up) calls it first.  Each step may be
done twice, by two processes at once: a rename whose source is gone is done.

On an object store the files are written straight to their final names (no rename
there) and the commit is a marker object (``crawler.state.dataset``): readers go through
the markers, or the views.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from crawler.state import dataset, sessions
from crawler.state.atomic import fsync_dir


def append_commit(output_dir: str | os.PathLike[str], file_key: str, chunk: int) -> None:
    """The commit point of a chunk: a line of its commit log (fsynced), or its marker."""
    rem = dataset.remote(output_dir)
    if rem is not None:
        dataset.write_marker(rem, file_key, chunk)
        return
    log = dataset.commit_log(output_dir, file_key)
    with open(log, "a+b") as f:
        end = f.tell()
        if end and os.pread(f.fileno(), 1, end - 1) != b"\n":
            # A torn last line (its writer died mid-line) is no commit: cut it, or it
            # would swallow this one.  Only a run's own session appends to its log.
            text = os.pread(f.fileno(), end, 0)
            f.truncate(text.rfind(b"\n") + 1)
        f.write(f"{chunk}\n".encode("ascii"))
        f.flush()
        os.fsync(f.fileno())


def publish(tmp: Path, final: Path) -> None:
    """Give a committed chunk's file its final name (never over another file)."""
    try:
        if final.exists():
            if tmp.exists():  # only a bug or a foreign file gets here
                raise FileExistsError(f"{final} exists; not replaced by {tmp.name}")
            return
        os.replace(tmp, final)
    except FileNotFoundError:
        if not final.exists():
            raise
        return  # another process published it first
    fsync_dir(final.parent)


def publish_committed(output_dir: str | os.PathLike[str], file_key: str) -> int:
    """Publish every committed chunk of ``file_key`` still under hidden names (a kill
    between its commit and its renames); how many files were renamed."""
    if dataset.is_remote(output_dir):
        return 0
    commits = set(dataset.read_commits(output_dir, file_key))
    renamed = 0
    for table in dataset.table_dirs(output_dir):
        for path, chunk, is_tmp in list(dataset.run_files(output_dir, table, file_key)):
            if is_tmp and chunk in commits:
                assert isinstance(path, Path)
                publish(path, path.with_name(dataset.final_name(file_key, chunk)))
                renamed += 1
    return renamed


def delete_chunk(output_dir: str | os.PathLike[str], file_key: str, chunk: int) -> None:
    """Delete an uncommitted chunk's files, hidden or not (a local OUTPUT_DIR)."""
    for table in dataset.table_dirs(output_dir):
        for path, number, _ in list(dataset.run_files(output_dir, table, file_key)):
            if number == chunk:
                with contextlib.suppress(FileNotFoundError):
                    dataset.remove(output_dir, path)


def decide(output_dir: str | os.PathLike[str], file_key: str, chunk: int) -> bool:
    """Settle a chunk its writer was committing when it died: True when it is committed
    (now published), False when it is not (its files deleted).  The commit log decides;
    on an object store the chunk is committed (its objects were whole before it was
    offered for commit, so its marker may be written by anyone)."""
    rem = dataset.remote(output_dir)
    if rem is not None:
        dataset.write_marker(rem, file_key, chunk)
        return True
    if chunk in dataset.read_commits(output_dir, file_key):
        publish_committed(output_dir, file_key)
        return True
    delete_chunk(output_dir, file_key, chunk)
    return False


def settle(output_dir: str | os.PathLike[str], file_key: str, chunk: int) -> bool | None:
    """``decide`` for another process's chunk, only once that process is dead: None while
    it holds its session lock (stalled: it finishes the commit itself when it goes on)."""
    if dataset.is_remote(output_dir):
        return decide(output_dir, file_key, chunk)
    lock = sessions.try_lock(output_dir, file_key)
    if lock is None:
        return None
    try:
        return decide(output_dir, file_key, chunk)
    finally:
        lock.release(ended=False)
