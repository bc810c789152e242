"""The identity of a crawl run: what every row it writes is stamped with.

A run keeps its id across the sessions of a JOBDIR job (a killed run resumed),
so the dataset comes out as one run.  The spider builds the ``Run``; the exporter
receives it explicitly (``crawler.signals.run_opened``) rather than reading the
spider's attributes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

# A run id names files (``<run_id>-<chunk>.parquet``): letters, digits, '-' and '_'.
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", re.ASCII)
# A worker of a shared crawl names its own files ``<run_id>.<worker>-<chunk>.parquet``:
# a run id has no '.', so the run a file belongs to is the part before the first '.'.
WORKER_RE = RUN_ID_RE


# Where a run's pages come from (``source`` of its rows and of crawl_runs).
LIVE, WAYBACK, WARC = "live", "wayback", "warc"


def source_of(archived: bool, archive_warc: object = None) -> str:
    """The source of a run's pages: the live site, or an archive (an ``as_of`` run) read
    over HTTP (Wayback) or from local WARC files (the ARCHIVE_WARC setting)."""
    if not archived:
        return LIVE
    return WARC if str(archive_warc or "").strip() else WAYBACK


def new_run_id(started_at: datetime) -> str:
    """``20261126T170000Z-1a2b3c4d``: sorts by start time, unique across machines."""
    return started_at.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id):
        raise ValueError(f"run_id={run_id!r} cannot name files; expected 1-64 letters, digits, "
                         "'-' or '_', starting with a letter or digit")
    return run_id


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Run:
    """One crawl run: its id, its arguments, and when it started."""

    run_id: str
    seeds: list[str]
    depth: int
    max_titles: int
    arguments: dict[str, str]  # as given with -a, the way a JOBDIR job records them
    started_at: datetime = field(default_factory=utc_now)
    refresh_seconds: int = 0  # -a refresh: titles fetched more recently are reused
    resumed: bool = False  # this session continues a JOBDIR job
    worker: str | None = None  # this process's id in a shared crawl (FRONTIER_URL)
    as_of: datetime | None = None  # -a as_of: titles are read from captures nearest this
    source: str = LIVE  # where its pages come from: LIVE, WAYBACK or WARC

    @property
    def file_key(self) -> str:
        """What this session's files and commit log are named by: the run id, or in a
        shared crawl the run id and the worker (each worker commits its own files)."""
        return self.run_id if self.worker is None else f"{self.run_id}.{self.worker}"
