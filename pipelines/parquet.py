"""``ParquetExporter``: the last item pipeline, and the only thing that writes.

Layout: see ``crawler.state.dataset`` (hive-partitioned by ``crawl_date``, zstd, one
file per table per committed chunk, a commit log per run).

A ``TitleItem`` fans out into rows of ``titles``, ``ratings``, ``credits`` and
``more_like_this``; a ``FailureItem`` and an ``AliasItem`` are one row of
``failures`` and ``aliases``.  Rows are converted through the table's schema
(``pipelines.schemas``), so types never drift, and go out as row groups through a
``pyarrow.parquet.ParquetWriter`` to a hidden temporary file in the same
directory (DuckDB, Polars, pyarrow and Spark skip it).  Memory holds at most one
row group per table.  An item's rows always land in the same chunk.

Commit protocol (a resumed run relies on it): committing a chunk closes and
fsyncs every table file of the chunk, renames each to its final name, then
appends the chunk number to the commit log (fsync).  So a final name is always a
complete file, and a chunk is part of the dataset only once it is in the log.
On open, for the same run id (a resumed run), final-named files whose chunk is
not in the log and all tmp files of the run are deleted, and numbering continues
after the last committed chunk.

On an object store (``OUTPUT_DIR=s3://bucket/prefix``; no rename, no append) each
table file of a chunk is streamed straight to its final name (the upload completes,
atomically, when the file is closed at commit), and the commit is one marker object
written after every file of the chunk is closed.  Recovery is the same: the run's
files without a marker are deleted.  Why this is safe: ``crawler.state.dataset``.

When to commit (settings, read in ``ParquetExporter.__init__``; documented in
``crawler.settings``): at every ``crawler.signals.checkpoint`` (the spider sends
it at the end of each breadth-first level), when the crawl closes, and, if
``PARQUET_COMMIT_ROWS`` / ``PARQUET_COMMIT_SECONDS`` are above zero, once a chunk
holds that many titles or is that old.

The run the rows belong to comes from the spider as one explicit object,
``spider.run`` (a ``crawler.state.run.Run``).  On close, the exporter asks for the
outcomes no callback yielded (``crawler.signals.outcomes_due``: reused titles, and
titles a stopped crawl never reached) before each commit, and on close writes one
``crawl_runs`` row as a chunk of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from scrapy import signals
from scrapy.crawler import Crawler

from crawler import signals as our_signals
from crawler.items import (
    AliasItem,
    FailureItem,
    OutcomeItem,
    ReusedItem,
    TitleItem,
    observation,
)
from crawler.state import dataset
from crawler.state.run import RUN_ID_RE, Run
from pipelines import coverage
from pipelines.arrow import skip_pandas
from pipelines.schemas import SCHEMAS, TABLE_COUNTS
from pipelines.values import parse_timestamp

logger = logging.getLogger(__name__)

COMPRESSION = "zstd"
STAMP = ("run_id", "crawled_at", "captured_at", "observed_at", "source")

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


def read_committed(
    output_dir: str | os.PathLike[str], run_id: str, table: str, columns: list[str]
) -> pa.Table:
    """The committed rows of one run in one table, only ``columns``, typed as the table's
    schema, in commit order.  No files: an empty table."""
    schema = SCHEMAS[table]
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise KeyError(f"{table} has no column(s) {unknown}")
    wanted = pa.schema([schema.field(c) for c in columns])
    return dataset.read_committed(output_dir, run_id, table, wanted)


read_commits = dataset.read_commits


def table_rows(item: Any, run: Run | None = None) -> Iterable[tuple[str, dict[str, Any]]]:
    """(table, row) for each row an item becomes, each saying when IMDb showed it and
    where it was read (``crawler.items.observation``; ``run``: the run writing it)."""
    values = dict(item)
    values.update(observation(values, run))
    stamp = {k: values.get(k) for k in STAMP}
    if isinstance(item, TitleItem):
        yield "titles", values
        if values.get("average_rating") is not None or values.get("num_votes") is not None:
            yield "ratings", values
        tconst = values.get("tconst")
        for credit in values.get("credits") or ():
            yield "credits", {**credit, "tconst": tconst, **stamp}
        for edge in values.get("more_like_this") or ():
            yield "more_like_this", {**edge, "tconst": tconst, **stamp}
    elif isinstance(item, FailureItem):
        yield "failures", values
    elif isinstance(item, AliasItem):
        yield "aliases", values
    elif isinstance(item, ReusedItem):
        yield "reused", values


def output_error_line(output_dir: str | os.PathLike[str], exc: OSError) -> str:
    """One line naming why OUTPUT_DIR could not be written ("disk full in OUTPUT_DIR ...")."""
    what = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.EIO: "I/O error"}.get(exc.errno or 0, "cannot write")
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"{what} in OUTPUT_DIR {dataset.display(output_dir)!r}{where}: {exc.strerror or exc}; "
            "the rows not yet committed were not written")


def _abandon(writer: pq.ParquetWriter) -> None:
    """Close a writer whose file is given up; it must not try again when collected."""
    try:
        writer.close()
    except (OSError, pa.ArrowException):
        writer.is_open = False


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
        output_dir = settings.get("OUTPUT_DIR") or "output"
        # An object store (s3://...) is written through pyarrow's filesystem layer.
        self.remote = dataset.remote(output_dir)
        self.output_dir = Path(output_dir)
        # What readers and messages get: the path, or the URI (a Path would drop its '//').
        self.output_name: str | Path = output_dir if self.remote is not None \
            else self.output_dir
        self.row_group_size = max(1, settings.getint("PARQUET_ROW_GROUP_SIZE"))
        self.commit_rows = settings.getint("PARQUET_COMMIT_ROWS")  # <= 0: off
        self.commit_seconds = settings.getfloat("PARQUET_COMMIT_SECONDS")  # <= 0: off
        self.run: Run | None = None
        self.chunk = 0
        self._chunk_date: date | None = None
        self._chunk_started: float | None = None  # monotonic time of the chunk's first row
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._writers: dict[str, tuple[pq.ParquetWriter, Path, Path]] = {}
        # On an object store: table -> (writer, its upload stream, the object's path).
        self._uploads: dict[str, tuple[pq.ParquetWriter, pa.NativeFile, str]] = {}
        self._chunk_rows: dict[str, int] = {}
        self._chunk_tconsts: list[str] = []  # titles whose outcome the open chunk holds
        self.committed_rows: dict[str, int] = dict.fromkeys(SCHEMAS, 0)
        self._closed = False
        self._run_row_written = False
        self.failure: str | None = None  # why OUTPUT_DIR could not be written, once it failed
        self.coverage = coverage.CoverageCounter()  # of the titles written this session
        self._last_stamp: tuple[Any, Any] = (None, None)
        self._closing: asyncio.Future[None] | None = None

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
        run = getattr(self.crawler.spider, "run", None)
        if not isinstance(run, Run):
            raise TypeError("ParquetExporter needs a spider with a `run` (crawler.state.run.Run)")
        if not RUN_ID_RE.match(run.run_id):
            raise ValueError(f"run_id {run.run_id!r} cannot name files: letters, digits, "
                             "'-', '_'")
        self._check_writable()
        skip_pandas()  # ~45 MB less where pandas is installed (see pipelines.arrow)
        self.run = run
        self.chunk = self._recover(run.file_key)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, OutcomeItem):
            logger.warning("ParquetExporter: %s is not an outcome; not written",
                           type(item).__name__)
            return item
        if self.failure is not None:
            self.crawler.stats.inc_value("output/items_lost")
            return item
        try:
            self._maybe_commit()
            if self._chunk_started is None:
                self._chunk_started = time.monotonic()
                self._chunk_date = self.now().date()
            rows: dict[str, list[dict[str, Any]]] = {}
            for table, values in table_rows(item, self.run):
                if self._add_row(table, values):
                    rows.setdefault(table, []).append(values)
            if isinstance(item, TitleItem):
                self.coverage.add_title(rows)
            if item.get("tconst"):
                self._chunk_tconsts.append(item["tconst"])
        except OSError as exc:
            self._fail(exc)
        return item

    # --- a disk that fails --------------------------------------------------------------

    def _fail(self, exc: OSError) -> None:
        """OUTPUT_DIR cannot be written: drop the open chunk, stop the crawl, say why.

        What the open chunk held is not in the dataset, so the run ends with finish
        reason ``output_failed`` (a non-zero exit); with JOBDIR a rerun fetches it again.
        """
        if self.failure is not None:
            return
        self.failure = output_error_line(self.output_name, exc)
        logger.error("%s", self.failure)
        self.crawler.stats.set_value("output/error", self.failure)
        self._discard_open_chunk()
        engine = self.crawler.engine
        if engine is not None and engine.running:
            self._closing = asyncio.ensure_future(
                engine.close_spider_async(reason="output_failed"))

    def _discard_open_chunk(self) -> None:
        """Forget the chunk being written, and its files (tmp, or renamed but not logged:
        a reader must not meet rows the commit log does not vouch for)."""
        writers, self._writers = self._writers, {}
        for writer, _, _ in writers.values():
            _abandon(writer)
        self._abandon_uploads()
        with contextlib.suppress(OSError):
            self._delete_uncommitted_chunk()
        self._buffers = {}
        self._chunk_rows = {}
        self._chunk_tconsts = []
        self._chunk_started = None
        self._chunk_date = None

    def close_spider(self, reason: str | None = None) -> None:
        """Commits the open chunk; writes the crawl_runs row once the finish reason is
        known (now if ``reason`` is given or stats have it, else on ``spider_closed``)."""
        if self.run is None:
            return
        if not self._closed:
            self._closed = True
            self._write_due(closing=True)
            self._commit_or_fail()
        reason = reason or self.crawler.stats.get_value("finish_reason")
        if reason:
            self.write_crawl_run(reason)

    def spider_closed(self, spider: Any = None, reason: str | None = None) -> None:
        if self._closed:  # pipelines are closed before this signal is sent
            self.write_crawl_run(reason)

    def checkpoint(self) -> None:
        """The spider finished a breadth-first level: commit it whole."""
        if not self._closed and self.run is not None:
            self._write_due(closing=False)
            self._commit_or_fail()

    def _write_due(self, closing: bool) -> None:
        """Outcomes the spider holds for this commit (see ``crawler.signals.outcomes_due``)."""
        for _, items in self.crawler.signals.send_catch_log(
            signal=our_signals.outcomes_due, closing=closing
        ):
            for item in items if isinstance(items, list) else ():
                self.process_item(item)

    def spider_idle(self) -> None:
        if not self._closed and self.failure is None:
            try:
                self._maybe_commit()
            except OSError as exc:
                self._fail(exc)

    def _commit_or_fail(self) -> None:
        if self.failure is not None:
            return
        try:
            self.commit()
        except OSError as exc:
            self._fail(exc)

    # --- rows ---------------------------------------------------------------------------

    def _add_row(self, table: str, values: dict[str, Any]) -> bool:
        row = self._to_row(table, values)
        if row is None:
            return False
        buffer = self._buffers.setdefault(table, [])
        buffer.append(row)
        self._chunk_rows[table] = self._chunk_rows.get(table, 0) + 1
        if len(buffer) >= self.row_group_size:
            self._flush(table)
        return True

    def _to_row(self, table: str, values: dict[str, Any]) -> dict[str, Any] | None:
        names, timestamps, dates, required = _COLUMNS[table]
        row = {name: values.get(name) for name in names}
        for name in timestamps:
            value = row[name]
            if value is not None:
                row[name] = self._timestamp(value)
        for name in dates:
            value = row[name]
            if isinstance(value, str):
                try:
                    row[name] = date.fromisoformat(value)
                except ValueError:
                    row[name] = None
        for name in required:
            if row[name] is None:
                self._reject(table, f"{name} is missing", row)
                return None
        return row

    def _timestamp(self, value: Any) -> Any:
        # A title's ~30 rows share one crawled_at string: parse it once.
        if value is self._last_stamp[0] or value == self._last_stamp[0]:
            return self._last_stamp[1]
        parsed = parse_timestamp(value)
        if isinstance(value, str):
            self._last_stamp = (value, parsed)
        return parsed

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
        return self.output_dir / table / f"{dataset.PARTITION}={day}"

    def _flush(self, table: str) -> None:
        rows = self._buffers.get(table)
        if not rows:
            return
        self._buffers[table] = []
        data = self._to_arrow(table, rows)
        if data.num_rows == 0:
            return
        if self.remote is not None:
            self._upload(table, data)
            return
        if table not in self._writers:
            assert self.run is not None
            part = self._partition_dir(table)
            part.mkdir(parents=True, exist_ok=True)
            tmp = part / dataset.tmp_name(self.run.file_key, self.chunk)
            final = part / dataset.final_name(self.run.file_key, self.chunk)
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
        if self.remote is not None:
            self._commit_uploads()
            return
        writers, self._writers = self._writers, {}
        if writers:
            try:
                for writer, tmp, _ in writers.values():
                    writer.close()
                    _fsync_file(tmp)
            except BaseException:
                for writer, _, _ in writers.values():
                    _abandon(writer)
                raise
            for _, tmp, final in writers.values():
                if final.exists():  # never overwrite: only a bug or a foreign file gets here
                    raise FileExistsError(f"{final} exists; chunk {self.chunk} not committed")
                os.replace(tmp, final)
                _fsync_dir(final.parent)
            self._log_commit(self.chunk)
            self._committed(list(writers))
        self._chunk_rows = {}
        self._chunk_tconsts = []
        self._chunk_started = None
        self._chunk_date = None

    def _committed(self, tables: list[str]) -> None:
        """The chunk is in the commit log (or its marker written)."""
        self.crawler.signals.send_catch_log(
            signal=our_signals.chunk_committed, tconsts=self._chunk_tconsts, chunk=self.chunk)
        for table in tables:
            self.committed_rows[table] += self._chunk_rows.get(table, 0)
            self.crawler.stats.inc_value(
                f"parquet/rows/{table}", self._chunk_rows.get(table, 0)
            )
        self.crawler.stats.inc_value("parquet/chunks")
        self.chunk += 1

    # --- an object store: no rename, no append (see crawler.state.dataset) --------------------

    def _upload(self, table: str, data: pa.Table) -> None:
        """Stream a row group to the table's object of the open chunk, under its final name:
        the object becomes visible only when the stream is closed, whole."""
        rem = self.remote
        assert rem is not None and self.run is not None
        if table not in self._uploads:
            day = (self._chunk_date or self.now().date()).isoformat()
            key = rem.path(table, f"{dataset.PARTITION}={day}",
                           dataset.final_name(self.run.file_key, self.chunk))
            if rem.fs.get_file_info(key).type != pafs.FileType.NotFound:
                raise FileExistsError(f"{dataset.display(rem.uri)}: {key} exists; chunk "
                                      f"{self.chunk} not written")  # never overwrite
            stream = rem.fs.open_output_stream(key)
            writer = pq.ParquetWriter(stream, SCHEMAS[table], compression=COMPRESSION)
            self._uploads[table] = (writer, stream, key)
        self._uploads[table][0].write_table(data, row_group_size=data.num_rows)

    def _commit_uploads(self) -> None:
        """Complete every upload of the chunk, then write its marker: the commit point."""
        rem = self.remote
        assert rem is not None and self.run is not None
        uploads, self._uploads = self._uploads, {}
        if uploads:
            try:
                for writer, stream, _ in uploads.values():
                    writer.close()
                    stream.close()  # completes the upload: the object is now whole
            except BaseException:
                self._uploads = uploads
                self._abandon_uploads()
                raise
            self._log_commit(self.chunk)  # the marker
            self._committed(list(uploads))
        self._chunk_rows = {}
        self._chunk_tconsts = []
        self._chunk_started = None
        self._chunk_date = None

    def _abandon_uploads(self) -> None:
        """Give up the open chunk's uploads.  Closing may still complete an upload: the
        object has no marker, so readers ignore it and it is deleted as uncommitted."""
        uploads, self._uploads = self._uploads, {}
        for writer, stream, _ in uploads.values():
            _abandon(writer)
            with contextlib.suppress(OSError, pa.ArrowException):
                stream.close()

    def _log_commit(self, chunk: int) -> None:
        assert self.run is not None
        if self.remote is not None:
            dataset.write_marker(self.remote, self.run.file_key, chunk)
            return
        log = dataset.commit_log(self.output_dir, self.run.file_key)
        with open(log, "a", encoding="ascii") as f:
            f.write(f"{chunk}\n")
            f.flush()
            os.fsync(f.fileno())

    def _delete_uncommitted_chunk(self) -> None:
        if self.run is None or self.chunk in dataset.read_commits(self.output_name,
                                                                  self.run.file_key):
            return
        for table in SCHEMAS:
            for path, chunk, _ in list(dataset.run_files(self.output_name, table,
                                                         self.run.file_key)):
                if chunk == self.chunk:
                    dataset.remove(self.output_name, path)

    # --- open: checks and recovery --------------------------------------------------------

    def _check_writable(self) -> None:
        if self.remote is not None:
            self._check_remote_writable(self.remote)
            return
        state = self.output_dir / dataset.STATE_DIR
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

    def _check_remote_writable(self, rem: dataset.Remote) -> None:
        probe = rem.path(dataset.STATE_DIR, f".probe-{os.getpid()}")
        try:
            rem.fs.open_output_stream(probe).close()
            rem.fs.delete_file(probe)
        except OSError as exc:
            raise OutputDirError(f"OUTPUT_DIR {dataset.display(rem.uri)!r} cannot be written: "
                                 f"{' '.join(str(exc).split())}") from exc

    def _recover(self, run_id: str) -> int:
        """Deletes what an interrupted session of this run left uncommitted; the next chunk."""
        commits = set(dataset.read_commits(self.output_name, run_id))
        log = dataset.commit_log(self.output_dir, run_id)
        if self.remote is None and log.exists():
            # A torn last line (power loss) is cut off, or the next append would extend it.
            text = log.read_bytes()
            if text and not text.endswith(b"\n"):
                with open(log, "r+b") as f:
                    f.truncate(text.rfind(b"\n") + 1)
        removed = 0
        for table in SCHEMAS:
            for path, chunk, is_tmp in list(dataset.run_files(self.output_name, table,
                                                              run_id)):
                if is_tmp or chunk not in commits:
                    dataset.remove(self.output_name, path)
                    removed += 1
        if removed or commits:
            logger.info(
                "ParquetExporter: resuming run %s after chunk %s (%d uncommitted files removed)",
                run_id, max(commits) if commits else None, removed,
            )
        return max(commits) + 1 if commits else 0

    # --- field coverage and the drift alarm ---------------------------------------------

    def _field_coverage(self, now: datetime) -> list[dict[str, Any]]:
        """This run's field_coverage rows, compared with the previous completed run; a
        drift is logged in one line and kept in the stats for the exit code."""
        if self.run is None or self.failure is not None:
            return []
        settings = self.crawler.settings
        try:
            counter = self.coverage
            if self.run.worker is None:  # a worker of a shared crawl measures its own titles
                counter.start_from(coverage.run_so_far(self.output_name, self.run.run_id))
            measured = counter.measured()
            before = coverage.previous_coverage(self.output_name, self.run.run_id)
        except (OSError, pa.ArrowException) as exc:
            logger.error("field coverage could not be measured: %s", exc)
            return []
        drifts = coverage.compare(
            measured, before,
            min_coverage=settings.getfloat("DRIFT_MIN_COVERAGE"),
            min_drop=settings.getfloat("DRIFT_MIN_DROP"),
            min_titles=settings.getint("DRIFT_MIN_TITLES"),
        )
        if drifts:
            line = ", ".join(str(d) for d in drifts)
            self.crawler.stats.set_value("drift/fields", line)
            logger.error("IMDb's page may have changed: %s", line)
        drifted = {(d.table_name, d.column_name) for d in drifts}
        return [
            {"run_id": self.run.run_id, "table_name": c.table_name,
             "column_name": c.column_name, "titles": c.titles, "with_value": c.with_value,
             "coverage": c.coverage,
             "previous_coverage": before.get((c.table_name, c.column_name)),
             "drifted": (c.table_name, c.column_name) in drifted, "crawled_at": now}
            for c in measured
        ]

    # --- crawl_runs -----------------------------------------------------------------------

    def write_crawl_run(self, reason: str | None) -> None:
        """One crawl_runs row for this session, committed as a chunk of its own."""
        if self._run_row_written or self.run is None:
            return
        self._run_row_written = True
        run = self.run
        stats = self.crawler.stats
        now = self.now()
        row = {
            "run_id": run.run_id,
            "started_at": run.started_at,
            "finished_at": now,
            "arguments": json.dumps(run.arguments, sort_keys=True),
            "seeds": list(run.seeds),
            "depth": run.depth,
            "max_titles": run.max_titles,
            "pages": stats.get_value("response_received_count", 0),
            "items": stats.get_value("item_scraped_count", 0),
            "errors": stats.get_value("log_count/ERROR", 0),
            "finish_reason": "output_failed" if self.failure else (
                stats.get_value("finish_reason") or reason),
            "error": self.failure or stats.get_value("run/error"),
            "invalid_links": stats.get_value("links/invalid", 0),
            "seeds_over_limit": stats.get_value("frontier/seeds_over_limit", 0),
            "titles_over_limit": stats.get_value("frontier/titles_over_limit", 0),
            "reused_rows": self.committed_rows["reused"],
            "refresh_seconds": run.refresh_seconds,
            "worker": run.worker,
            "as_of": run.as_of,
            "source": run.source,
            "warc_damaged_records": stats.get_value("warc/damaged_records"),
            **{f"{t}_rows": self.committed_rows[t] for t in TABLE_COUNTS},
            "crawled_at": now,
        }
        coverage = self._field_coverage(now)
        drifted = [c for c in coverage if c["drifted"]]
        row["drifted"] = bool(drifted) if coverage else None
        row["drift"] = self.crawler.stats.get_value("drift/fields")
        self._chunk_date = now.date()
        self._chunk_started = time.monotonic()
        self._buffers["crawl_runs"] = [row]
        self._buffers["field_coverage"] = coverage
        self._chunk_rows = {"crawl_runs": 1, "field_coverage": len(coverage)}
        try:
            self.commit()
            self.crawler.signals.send_catch_log(signal=our_signals.run_recorded,
                                                finish_reason=row["finish_reason"])
        except OSError as exc:
            self._discard_open_chunk()
            if self.failure is None:
                self.failure = output_error_line(self.output_name, exc)
                self.crawler.stats.set_value("output/error", self.failure)
            logger.error("the crawl_runs row of run %s could not be written: %s",
                         run.run_id, exc.strerror or exc)
