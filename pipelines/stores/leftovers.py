"""What dead sessions left in a local OUTPUT_DIR, cleaned up by the next session there.

A session is dead when no process holds its lock (``crawler.state.sessions``): killed
(SIGKILL, OOM, power loss) or, for files older than session locks, simply gone.  For
each dead session, with or without JOBDIR, ``clean``:

- publishes the chunks it committed that a kill left under hidden names
  (``crawler.state.commits``);
- deletes what it left uncommitted: hidden ``.tmp`` files, and final-named files its
  commit log does not list (left by crawlers before this one);
- records it in ``crawl_runs``, when it wrote a session record and had no JOBDIR (a
  JOBDIR session is recorded by its resume): one row, ``finish_reason`` ``killed``,
  ``finished_at`` null (nobody saw it end), the rows it committed counted from its files;
- deletes its lock file.

A live session's files are never touched, stalled or not.  An object store has no
locks: there, leftovers are removed when their own run resumes, and readers go through
the markers or the views (docs/object-store.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.state import dataset, sessions
from crawler.state.run import Run
from pipelines.rows import to_arrow, to_row
from pipelines.schemas import TABLE_COUNTS
from pipelines.stores.base import ChunkKey, ChunkStore

logger = logging.getLogger(__name__)

KILLED = "killed"
_FINAL = re.compile(r"^(.+)-(\d+)\.parquet$", re.ASCII)
_TMP = re.compile(r"^\.(.+)-(\d+)\.parquet\.tmp$", re.ASCII)


def session_record(run: Run, *, first_chunk: int, jobdir: bool) -> dict[str, Any]:
    """What a session's lock file says of it: enough for its crawl_runs row if it dies."""
    return {
        "run_id": run.run_id, "file_key": run.file_key, "worker": run.worker,
        "started_at": run.started_at.isoformat(), "arguments": run.arguments,
        "seeds": list(run.seeds), "depth": run.depth, "max_titles": run.max_titles,
        "refresh_seconds": run.refresh_seconds, "source": run.source,
        "as_of": run.as_of.isoformat() if run.as_of is not None else None,
        "first_chunk": first_chunk, "jobdir": jobdir, "crawl_runs": True,
    }


def clean(store: ChunkStore, *, found_by: str, at: datetime) -> int:
    """Clean up after every dead session of ``store``'s OUTPUT_DIR (see the module doc);
    how many were cleaned.  A failure is logged, never raised: it costs the next run a
    try again, not this one."""
    out = store.output_dir
    if dataset.is_remote(out):
        return 0
    cleaned = 0
    try:
        for lock in sessions.dead_sessions(out):
            try:
                _clean_session(store, lock, found_by, at)
                cleaned += 1
            finally:
                lock.release(ended=True)
        for file_key in _unlocked_keys(Path(out)):
            unlocked = sessions.try_lock(out, file_key)
            if unlocked is not None:
                try:
                    store.tidy(file_key)
                    cleaned += 1
                finally:
                    unlocked.release(ended=False)
    except OSError as exc:
        logger.error("what dead runs left in OUTPUT_DIR could not be cleaned up: %s", exc)
    return cleaned


def _clean_session(store: ChunkStore, lock: sessions.SessionLock, found_by: str,
                   at: datetime) -> None:
    record = lock.record()
    file_key = lock.file_key
    number, _ = store.tidy(file_key)
    if record is None or record.get("jobdir") or not record.get("crawl_runs"):
        return
    first = int(record.get("first_chunk", 0))
    if any(chunk >= first for chunk, _ in dataset.committed_files(store.output_dir, file_key,
                                                                   "crawl_runs")):
        return  # its row is in already (a cleaner killed before it deleted the lock file)
    row = killed_row(store.output_dir, record, found_by, at)
    key = ChunkKey(file_key, number)
    data, rejected = to_arrow("crawl_runs", [to_row("crawl_runs", row)])
    if rejected or not data.num_rows:
        logger.error("the crawl_runs row of the dead session %s could not be typed", file_key)
        return
    try:
        store.write(key, "crawl_runs", at.date(), data)
        store.seal(key)
        store.commit(key)
        store.publish(key)
    except BaseException:
        store.abandon(key)
        raise
    logger.warning("run %s%s was killed (it never closed): recorded in crawl_runs, finish "
                   "reason killed", record.get("run_id"),
                   f" (worker {record['worker']})" if record.get("worker") else "")


def killed_row(output_dir: str | Path, record: dict[str, Any], found_by: str,
               at: datetime) -> dict[str, Any]:
    """The crawl_runs row of a session that died: what its record and files tell."""
    rows = committed_rows(output_dir, record["file_key"], int(record.get("first_chunk", 0)))
    return {
        "run_id": record["run_id"], "started_at": record.get("started_at"),
        "finished_at": None, "arguments": json.dumps(record.get("arguments") or {},
                                                     sort_keys=True),
        "seeds": record.get("seeds"), "depth": record.get("depth"),
        "max_titles": record.get("max_titles"), "pages": None, "items": None,
        "errors": None, "finish_reason": KILLED,
        "error": (f"the session ended without closing (killed, or its machine stopped); "
                  f"found dead by run {found_by}"),
        "reused_rows": rows["reused"], "refresh_seconds": record.get("refresh_seconds"),
        "worker": record.get("worker"), "as_of": record.get("as_of"),
        "source": record.get("source"),
        **{f"{t}_rows": rows[t] for t in TABLE_COUNTS},
        "crawled_at": at,
    }


def committed_rows(output_dir: str | Path, file_key: str, first_chunk: int) -> dict[str, int]:
    """Rows per table in ``file_key``'s committed chunks numbered ``first_chunk`` on."""
    rows = {}
    for table in (*TABLE_COUNTS, "reused"):
        rows[table] = 0
        for chunk, path in dataset.committed_files(output_dir, file_key, table):
            if chunk >= first_chunk:
                with contextlib.suppress(OSError, pa.ArrowException):
                    rows[table] += pq.ParquetFile(path).metadata.num_rows
    return rows


def _unlocked_keys(out: Path) -> Iterator[str]:
    """File keys with hidden or uncommitted files whose session has no lock file (files
    older than session locks; or, rarely, a session not yet started): ``try_lock`` then
    tells a live one."""
    keys: dict[str, set[int]] = {}
    hidden: set[str] = set()
    for table in dataset.table_dirs(out):
        for part in (out / table).glob(f"{dataset.PARTITION}=*"):
            with contextlib.suppress(NotADirectoryError, FileNotFoundError):
                for path in part.iterdir():
                    if m := _TMP.match(path.name):
                        hidden.add(m.group(1))
                    elif m := _FINAL.match(path.name):
                        keys.setdefault(m.group(1), set()).add(int(m.group(2)))
    # A final name of a run without a commit log is of unknown origin: left alone.
    stray = hidden | {key for key, chunks in keys.items()
                      if dataset.commit_log(out, key).exists()
                      and not chunks <= set(dataset.read_commits(out, key))}
    for key in sorted(stray):
        if not sessions.lock_path(out, key).exists():
            yield key
