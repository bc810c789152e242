"""``ParquetExporter``: the last item pipeline, and the only thing that writes.

Layout (hive-partitioned, zstd)::

    OUTPUT_DIR/<table>/crawl_date=YYYY-MM-DD/<run_id>-<chunk:05d>.parquet
    OUTPUT_DIR/_state/<run_id>.commits          # commit log: one chunk number a line

``crawl_date`` is the UTC date the chunk was started; it lives in the path only.
Rows are converted through the table's schema (``pipelines.schemas``), so types
never drift, and go out as row groups through a ``pyarrow.parquet.ParquetWriter``
to a hidden temporary file in the same directory (``.<run_id>-<chunk>.parquet.tmp``:
DuckDB, Polars, pyarrow and Spark skip it).  Memory holds at most one row group
per table.

Commit protocol (a resumed run relies on it): committing a chunk closes and
fsyncs every table file of the chunk, renames each to its final name, then
appends the chunk number to the commit log (fsync).  So a final name is always a
complete file, and a chunk is part of the dataset only once it is in the log.
On open, for the same run_id (a resumed run), final-named files whose chunk is
not in the log and all tmp files of the run are deleted, and numbering continues
after the last committed chunk.  ``read_committed`` reads only committed files.

Settings (read in ``ParquetExporter.__init__``):

- ``OUTPUT_DIR`` (default ``"output"``): root of the datasets.
- ``PARQUET_ROW_GROUP_SIZE`` (default 1000): rows buffered per table before they
  are written as one row group.
- ``PARQUET_COMMIT_ROWS`` (default 5000): commit the chunk once it holds this many
  ``titles`` rows.
- ``PARQUET_COMMIT_SECONDS`` (default 60): commit the chunk once its first row is
  this old.  Zero or less turns either rule off.
- The ``crawler.signals.checkpoint`` signal commits the open chunk at once; the
  spider sends it at the end of each breadth-first level.

Both are checked just before a ``titles``, ``failures`` or ``aliases`` row is
added, and when the spider is idle: the spider yields a title's rating, credits
and links right after its titles row, so a title and its rows land in the same
chunk and a resumed run never finds a committed title without them.

On close the open chunk is committed and one ``crawl_runs`` row is written as a
chunk of its own.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler

from crawler import signals as our_signals
from pipelines.schemas import SCHEMAS, TABLE_COUNTS
from pipelines.values import parse_timestamp

logger = logging.getLogger(__name__)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
STATE_DIR = "_state"
COMPRESSION = "zstd"
# Rows that start a title's group: the spider yields a title's rating, credits and
# links right after its titles row, so chunks are cut only before these.
GROUP_STARTS = frozenset({"titles", "failures", "aliases"})


# Per table: column names, timestamp columns, date columns, non-nullable columns.
_COLUMNS = {
    table: (
        schema.names,
        [f.name for f in schema if pa.types.is_timestamp(f.type)],
        [f.name for f in schema if pa.types.is_date(f.type)],
        [f.name for f in schema if not f.nullable],
    )
    for table, schema in SCHEMAS.items()
}


class OutputDirError(RuntimeError):
    """OUTPUT_DIR cannot be used (not writable, or not a directory)."""


def _final_name(run_id: str, chunk: int) -> str:
    return f"{run_id}-{chunk:05d}.parquet"


def _tmp_name(run_id: str, chunk: int) -> str:
    return f".{run_id}-{chunk:05d}.parquet.tmp"


def _commit_log(output_dir: Path, run_id: str) -> Path:
    return output_dir / STATE_DIR / f"{run_id}.commits"


def read_commits(output_dir: str | os.PathLike[str], run_id: str) -> list[int]:
    """Committed chunk numbers of a run, in commit order.  A torn last line is ignored."""
    path = _commit_log(Path(output_dir), run_id)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # only newline-terminated lines were fully written
    return [int(line) for line in lines if line.strip().isdigit()]


def _run_files(output_dir: Path, table: str, run_id: str) -> Iterable[tuple[Path, int, bool]]:
    """(path, chunk, is_tmp) of every file of the run under one table."""
    final = re.compile(rf"^{re.escape(run_id)}-(\d+)\.parquet$")
    tmp = re.compile(rf"^\.{re.escape(run_id)}-(\d+)\.parquet\.tmp$")
    table_dir = output_dir / table
    if not table_dir.is_dir():
        return
    for part in sorted(table_dir.glob("crawl_date=*")):
        for path in sorted(part.iterdir()):
            if m := final.match(path.name):
                yield path, int(m.group(1)), False
            elif m := tmp.match(path.name):
                yield path, int(m.group(1)), True


def read_committed(
    output_dir: str | os.PathLike[str], run_id: str, table: str, columns: list[str]
) -> pa.Table:
    """The committed rows of one run in one table, only ``columns``, in commit order.

    Files written before a column existed give nulls for it.  No files: an empty table.
    """
    schema = SCHEMAS[table]
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise KeyError(f"{table} has no column(s) {unknown}")
    wanted = pa.schema([schema.field(c) for c in columns])
    committed = set(read_commits(output_dir, run_id))
    files = sorted(
        (chunk, path)
        for path, chunk, is_tmp in _run_files(Path(output_dir), table, run_id)
        if not is_tmp and chunk in committed
    )
    parts = []
    for _, path in files:
        pf = pq.ParquetFile(path)
        present = [c for c in columns if c in pf.schema_arrow.names]
        t = pf.read(columns=present)
        arrays = [
            t.column(c) if c in present else pa.nulls(t.num_rows, wanted.field(c).type)
            for c in columns
        ]
        parts.append(pa.Table.from_arrays(arrays, schema=wanted))
    return pa.concat_tables(parts) if parts else wanted.empty_table()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not supported everywhere; the rename is still atomic
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


class ParquetExporter:
    """Buffers rows per table, writes row groups to hidden files, commits chunks."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.output_dir = Path(settings.get("OUTPUT_DIR") or "output")
        self.row_group_size = max(1, settings.getint("PARQUET_ROW_GROUP_SIZE", 1000))
        self.commit_rows = settings.getint("PARQUET_COMMIT_ROWS", 5000)  # <= 0: off
        self.commit_seconds = settings.getfloat("PARQUET_COMMIT_SECONDS", 60.0)
        self.run_id = ""
        self.chunk = 0
        self._chunk_date: date | None = None
        self._chunk_started: float | None = None  # monotonic time of the chunk's first row
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
        self._chunk_rows: dict[str, int] = {}
        self.committed_rows: dict[str, int] = dict.fromkeys(SCHEMAS, 0)
        self._opened = False  # open_spider succeeded: there is a run to write for
        self._closed = False
        self._run_row_written = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParquetExporter:
        exporter = cls(crawler)
        crawler.signals.connect(exporter.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(exporter.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(exporter.checkpoint, signal=our_signals.checkpoint)
        return exporter

    # --- clock (tests replace it) -------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    # --- Scrapy hooks ------------------------------------------------------------------

    def open_spider(self) -> None:
        spider = self.crawler.spider
        run_id = str(getattr(spider, "run_id", "") or "")
        if not RUN_ID_RE.match(run_id):
            raise ValueError(f"run_id {run_id!r} cannot name files: letters, digits, '-', '_'")
        self.run_id = run_id
        self._check_writable()
        self.chunk = self._recover()
        self._opened = True

    def process_item(self, item: Any) -> Any:
        table = getattr(item, "table", None)
        if table not in SCHEMAS or table == "crawl_runs":
            logger.warning("ParquetExporter: %s has no table; not written", type(item).__name__)
            return item
        row = self._to_row(table, ItemAdapter(item))
        if row is None:
            return item
        if table in GROUP_STARTS:
            self._maybe_commit()
        if self._chunk_started is None:
            self._chunk_started = time.monotonic()
            self._chunk_date = self.now().date()
        buffer = self._buffers.setdefault(table, [])
        buffer.append(row)
        self._chunk_rows[table] = self._chunk_rows.get(table, 0) + 1
        if len(buffer) >= self.row_group_size:
            self._flush(table)
        return item

    def close_spider(self, reason: str | None = None) -> None:
        """Commits the open chunk; writes the crawl_runs row once the finish reason is
        known (now if ``reason`` is given or stats have it, else on ``spider_closed``)."""
        if not self._opened:
            return
        if not self._closed:
            # Titles the spider scheduled but never reached (a stop without JOBDIR) are
            # still accounted for, as failures, in the last chunk.
            unfinished = getattr(self.crawler.spider, "unfinished_failures", None)
            for item in unfinished() if callable(unfinished) else ():
                self.process_item(item)
            self.commit()
            self._closed = True
        reason = reason or self.crawler.stats.get_value("finish_reason")
        if reason:
            self.write_crawl_run(reason)

    def spider_closed(self, spider: Any = None, reason: str | None = None) -> None:
        if self._closed:  # pipelines are closed before this signal is sent
            self.write_crawl_run(reason)

    def checkpoint(self) -> None:
        """The spider finished a breadth-first level: commit it whole."""
        if not self._closed and self._opened:
            self.commit()

    def spider_idle(self) -> None:
        if not self._closed:
            self._maybe_commit()

    # --- rows ---------------------------------------------------------------------------

    def _to_row(self, table: str, adapter: ItemAdapter) -> dict[str, Any] | None:
        names, timestamps, dates, required = _COLUMNS[table]
        values = dict(adapter.items())
        row = {name: values.get(name) for name in names}
        for name in timestamps:
            if row[name] is not None:
                row[name] = parse_timestamp(row[name])
        for name in dates:
            if isinstance(row[name], str):
                try:
                    row[name] = date.fromisoformat(row[name])
                except ValueError:
                    row[name] = None
        for name in required:
            if row[name] is None:
                self._reject(table, f"{name} is missing", values)
                return None
        return row

    def _reject(self, table: str, why: str, row: Any) -> None:
        self.crawler.stats.inc_value(f"parquet/rejected/{table}")
        logger.error("ParquetExporter: row of %s not written (%s): %r", table, why, row)

    def _to_arrow(self, table: str, rows: list[dict[str, Any]]) -> pa.Table:
        schema = SCHEMAS[table]
        try:
            return pa.Table.from_pylist(rows, schema=schema)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
        # One bad row must not cost the others: convert them one by one.
        good = []
        for row in rows:
            try:
                good.append(pa.Table.from_pylist([row], schema=schema))
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                self._chunk_rows[table] -= 1
                self._reject(table, str(exc), row)
        return pa.concat_tables(good) if good else schema.empty_table()

    # --- writing ------------------------------------------------------------------------

    def _partition_dir(self, table: str) -> Path:
        day = (self._chunk_date or self.now().date()).isoformat()
        return self.output_dir / table / f"crawl_date={day}"

    def _flush(self, table: str) -> None:
        rows = self._buffers.get(table)
        if not rows:
            return
        self._buffers[table] = []
        data = self._to_arrow(table, rows)
        if data.num_rows == 0:
            return
        if table not in self._writers:
            part = self._partition_dir(table)
            part.mkdir(parents=True, exist_ok=True)
            tmp = part / _tmp_name(self.run_id, self.chunk)
            final = part / _final_name(self.run_id, self.chunk)
            writer = pq.ParquetWriter(tmp, SCHEMAS[table], compression=COMPRESSION)
            self._writers[table] = (writer, tmp, final)
        self._writers[table][0].write_table(data, row_group_size=data.num_rows)

    def _maybe_commit(self) -> None:
        if self._chunk_started is None:
            return
        too_old = (self.commit_seconds > 0
                   and time.monotonic() - self._chunk_started >= self.commit_seconds)
        too_big = self.commit_rows > 0 and self._chunk_rows.get("titles", 0) >= self.commit_rows
        if too_old or too_big:
            self.commit()

    def commit(self) -> None:
        """Make the open chunk part of the dataset (see the module doc); no rows, no-op."""
        for table in list(self._buffers):
            self._flush(table)
        writers, self._writers = self._writers, {}
        if writers:
            for writer, tmp, _ in writers.values():
                writer.close()
                _fsync_file(tmp)
            for _, tmp, final in writers.values():
                if final.exists():  # never overwrite: only a bug or a foreign file gets here
                    raise FileExistsError(f"{final} exists; chunk {self.chunk} not committed")
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            self._log_commit(self.chunk)
            for table in writers:
                self.committed_rows[table] += self._chunk_rows.get(table, 0)
                self.crawler.stats.inc_value(
                    f"parquet/rows/{table}", self._chunk_rows.get(table, 0)
                )
            self.crawler.stats.inc_value("parquet/chunks")
            self.chunk += 1
        self._chunk_rows = {}
        self._chunk_started = None
        self._chunk_date = None

    def _log_commit(self, chunk: int) -> None:
        with open(_commit_log(self.output_dir, self.run_id), "a", encoding="ascii") as f:
            f.write(f"{chunk}\n")
            f.flush()
            os.fsync(f.fileno())

    # --- open: checks and recovery --------------------------------------------------------

    def _check_writable(self) -> None:
        state = self.output_dir / STATE_DIR
        probe = state / f".probe-{os.getpid()}"
        try:
            state.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputDirError(
                f"OUTPUT_DIR {str(self.output_dir)!r} is not a writable directory: "
                f"{exc.strerror or exc}"
            ) from exc

    def _recover(self) -> int:
        """Deletes what an interrupted session of this run left uncommitted; the next chunk."""
        commits = set(read_commits(self.output_dir, self.run_id))
        log = _commit_log(self.output_dir, self.run_id)
        if log.exists():
            # A torn last line (power loss) is cut off, or the next append would extend it.
            text = log.read_bytes()
            if text and not text.endswith(b"\n"):
                with open(log, "r+b") as f:
                    f.truncate(text.rfind(b"\n") + 1)
        removed = 0
        for table in SCHEMAS:
            for path, chunk, is_tmp in list(_run_files(self.output_dir, table, self.run_id)):
                if is_tmp or chunk not in commits:
                    path.unlink()
                    removed += 1
        if removed or commits:
            logger.info(
                "ParquetExporter: resuming run %s after chunk %s (%d uncommitted files removed)",
                self.run_id,
                max(commits) if commits else None,
                removed,
            )
        return max(commits) + 1 if commits else 0

    # --- crawl_runs -----------------------------------------------------------------------

    def write_crawl_run(self, reason: str | None) -> None:
        """One crawl_runs row for this session, committed as a chunk of its own."""
        if self._run_row_written or not self._opened:
            return
        self._run_row_written = True
        spider = self.crawler.spider
        stats = self.crawler.stats
        args = dict(getattr(spider, "crawl_arguments", {}) or {})
        seeds = getattr(spider, "seeds", None)
        if seeds is None and args.get("seed"):
            seeds = [s.strip() for s in str(args["seed"]).split(",") if s.strip()]
        now = self.now()
        row = {
            "run_id": self.run_id,
            "started_at": parse_timestamp(getattr(spider, "started_at", None)),
            "finished_at": now,
            "arguments": json.dumps(args, sort_keys=True),
            "seeds": list(seeds or []),
            "depth": _int(getattr(spider, "max_depth", None), args.get("depth")),
            "max_titles": _int(getattr(spider, "max_titles", None), args.get("max_titles")),
            "pages": stats.get_value("response_received_count", 0),
            "items": stats.get_value("item_scraped_count", 0),
            "errors": stats.get_value("log_count/ERROR", 0),
            "finish_reason": stats.get_value("finish_reason") or reason,
            **{f"{t}_rows": self.committed_rows[t] for t in TABLE_COUNTS},
            "crawled_at": now,
        }
        self._chunk_date = now.date()
        self._chunk_started = time.monotonic()
        self._buffers["crawl_runs"] = [row]
        self._chunk_rows = {"crawl_runs": 1}
        self.commit()


def _int(*candidates: Any) -> int | None:
    for c in candidates:
        try:
            if c is not None:
                return int(c)
        except (TypeError, ValueError):
            continue
    return None
