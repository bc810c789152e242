"""``ParquetExporter``: the last item pipeline, and the only thing that writes.

It buffers rows, decides when a chunk is committed, and says so with signals.  What a
row is comes from ``pipelines.rows`` (an item's fan-out into table rows, typed by
``pipelines.schemas``); where chunks go is a ``pipelines.stores.ChunkStore`` picked by
``OUTPUT_DIR`` (a directory, or ``s3://bucket/prefix``); the ``crawl_runs`` row, field
coverage and the drift alarm are ``pipelines.run_recorder``'s.  Layout: see
``crawler.state.dataset`` (hive-partitioned by ``crawl_date``, zstd, one file per table
per committed chunk, a commit log per run).

Rows are buffered per table and go out as row groups of ``PARQUET_ROW_GROUP_SIZE`` to
the open chunk's files, so memory holds at most one row group per table.  An item's
rows always land in the same chunk.

Commit protocol (a resumed run relies on it): every file of the chunk is sealed (whole
and durable; locally still under a hidden name), the chunk is offered for commit
(``crawler.signals.chunk_committing``: a worker of a shared crawl checks in Redis that
it still holds every title of it, and abandons the chunk otherwise), then committed (a
line of the run's commit log, or a marker object), then published (locally, its files
renamed to their final names).  So a chunk is part of the dataset only once it is
committed, and locally a final name is always committed.  On open, for the same run id
(a resumed run), a committed chunk left under hidden names is published, the run's
uncommitted files are deleted and numbering continues after the last committed chunk.

Each session holds a lock in OUTPUT_DIR while it writes (``crawler.state.sessions``);
on open, what dead sessions left behind is cleaned up first
(``pipelines.stores.leftovers``).

When to commit (settings, read in ``ParquetExporter.__init__``; documented in
``crawler.settings``): at every ``crawler.signals.checkpoint`` (the spider sends
it at the end of each breadth-first level), when the crawl closes, and, if
``PARQUET_COMMIT_ROWS`` / ``PARQUET_COMMIT_SECONDS`` are above zero, once a chunk
holds that many titles or is that old.  (The project's settings commit every 2,000
titles: an open chunk's writers hold each row group's metadata until it is committed.)

The run the rows belong to comes from the spider as one explicit object,
``spider.run`` (a ``crawler.state.run.Run``).  Before each commit the exporter asks for
the outcomes no callback yielded (``crawler.signals.outcomes_due``: reused titles, and
titles a stopped crawl never reached).  Signals it sends: ``chunk_committed`` after each
commit, ``title_written`` for each title page, and ``exporter_closed`` once its last
chunk is committed and the finish reason known (the run recorder then writes the
session's ``crawl_runs`` row, through ``write_chunk``, as a chunk of its own).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.python.failure import Failure

from crawler import signals as our_signals
from crawler.items import OutcomeItem, TitleItem
from crawler.state import sessions
from crawler.state.run import RUN_ID_RE, Run
from pipelines.arrow import skip_pandas
from pipelines.rows import OWN_ROWS, RowRejected, table_rows, to_arrow, to_row
from pipelines.run_recorder import RunRecorder
from pipelines.stores import ChunkKey, ChunkStore, leftovers, open_store, output_error_line

logger = logging.getLogger(__name__)


@dataclass
class OpenChunk:
    """What the exporter holds of the chunk being written, until it is committed."""

    day: date | None = None  # its crawl_date partition
    started: float | None = None  # monotonic time of its first row
    rows: dict[str, int] = field(default_factory=dict)  # rows added, per table
    tconsts: list[str] = field(default_factory=list)  # titles whose outcome it holds
    buffers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # not yet written


class ParquetExporter:
    """Buffers rows per table, writes row groups to the open chunk, commits chunks."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.store: ChunkStore = open_store(settings.get("OUTPUT_DIR") or "output")
        self.row_group_size = max(1, settings.getint("PARQUET_ROW_GROUP_SIZE"))
        self.commit_rows = settings.getint("PARQUET_COMMIT_ROWS")  # <= 0: off
        self.commit_seconds = settings.getfloat("PARQUET_COMMIT_SECONDS")  # <= 0: off
        self.run: Run | None = None
        self.chunk = 0  # the open chunk's number
        self._open = OpenChunk()
        self._closed = False
        self._closed_sent = False
        self.failure: str | None = None  # why OUTPUT_DIR could not be written, once it failed
        self._closing: asyncio.Future[None] | None = None
        self.recorder: RunRecorder | None = None
        self.session: sessions.SessionLock | None = None  # held while this session writes

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ParquetExporter:
        exporter = cls(crawler)
        crawler.signals.connect(exporter.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(exporter.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(exporter.checkpoint, signal=our_signals.checkpoint)
        # Every dataset written has its crawl_runs rows, so the exporter brings its recorder.
        exporter.recorder = RunRecorder.from_crawler(crawler, exporter.write_chunk)
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
        self.store.check_writable()
        skip_pandas()  # ~45 MB less where pandas is installed (see pipelines.arrow)
        self.run = run
        out = self.store.output_dir
        self.session = sessions.acquire(out, run.file_key)
        commits = self.store.committed(run.file_key)
        self.session.write(leftovers.session_record(
            run, first_chunk=max(commits) + 1 if commits else 0,
            jobdir=bool(self.crawler.settings.get("JOBDIR"))))
        leftovers.clean(self.store, found_by=run.run_id, at=self.now())
        self.chunk = self.store.recover(run.file_key)

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
            self._add_item(item)
        except OSError as exc:
            self._fail(exc)
        return item

    def close_spider(self, reason: str | None = None) -> None:
        """Commits the open chunk; the crawl_runs row follows once the finish reason is
        known (now if ``reason`` is given or stats have it, else on ``spider_closed``)."""
        if self.run is None:
            return
        if not self._closed:
            self._closed = True
            self._write_due(closing=True)
            self._commit_or_fail()
        reason = reason or self.crawler.stats.get_value("finish_reason")
        if reason:
            self._send_closed(reason)

    def spider_closed(self, spider: Any = None, reason: str | None = None) -> None:
        if self._closed:  # pipelines are closed before this signal is sent
            self._send_closed(reason)

    def checkpoint(self) -> None:
        """The spider finished a breadth-first level: commit it whole."""
        if not self._closed and self.run is not None:
            self._write_due(closing=False)
            self._commit_or_fail()

    def spider_idle(self) -> None:
        if not self._closed and self.failure is None:
            try:
                self._maybe_commit()
            except OSError as exc:
                self._fail(exc)

    def _send_closed(self, reason: str | None) -> None:
        """Once: the last chunk is committed, the run recorder may write its row."""
        if self._closed_sent or self.run is None:
            return
        self._closed_sent = True
        self.crawler.signals.send_catch_log(signal=our_signals.exporter_closed,
                                            run=self.run, reason=reason, at=self.now())
        if self.session is not None:  # its last commit is done: the session ended
            self.session.release(ended=True)
            self.session = None

    def _write_due(self, closing: bool) -> None:
        """Outcomes the spider holds for this commit (see ``crawler.signals.outcomes_due``)."""
        for _, items in self.crawler.signals.send_catch_log(
            signal=our_signals.outcomes_due, closing=closing
        ):
            for item in items if isinstance(items, list) else ():
                self.process_item(item)

    # --- a disk that fails --------------------------------------------------------------

    def _fail(self, exc: OSError) -> None:
        """OUTPUT_DIR cannot be written: drop the open chunk, stop the crawl, say why.

        What the open chunk held is not in the dataset, so the run ends with finish
        reason ``output_failed`` (a non-zero exit); with JOBDIR a rerun fetches it again.
        """
        if self.failure is not None:
            return
        self._record_failure(exc)
        logger.error("%s", self.failure)
        self._discard_open_chunk()
        engine = self.crawler.engine
        if engine is not None and engine.running:
            self._closing = asyncio.ensure_future(
                engine.close_spider_async(reason="output_failed"))

    def _record_failure(self, exc: OSError) -> None:
        self.failure = output_error_line(self.store.output_dir, exc)
        self.crawler.stats.set_value("output/error", self.failure)

    def _commit_or_fail(self) -> None:
        if self.failure is not None:
            return
        try:
            self.commit()
        except OSError as exc:
            self._fail(exc)

    def _discard_open_chunk(self) -> None:
        """Forget the chunk being written, and its files (a reader must not meet rows the
        commit log does not vouch for)."""
        if self.run is not None:
            self.store.abandon(self._key())
        self._open = OpenChunk()

    # --- rows ---------------------------------------------------------------------------

    def _add_item(self, item: OutcomeItem) -> None:
        chunk = self._open
        if chunk.started is None:
            chunk.started = time.monotonic()
            chunk.day = self.now().date()
        written: dict[str, list[dict[str, Any]]] = {}
        for table, values in table_rows(item, self.run):
            if self._add_row(table, values):
                written.setdefault(table, []).append(values)
        if isinstance(item, TitleItem):
            self.crawler.signals.send_catch_log(signal=our_signals.title_written, rows=written)
        if item.get("tconst"):
            chunk.tconsts.append(item["tconst"])

    def _add_row(self, table: str, values: dict[str, Any]) -> bool:
        try:
            row = to_row(table, values, owned=table in OWN_ROWS)
        except RowRejected as rejected:
            self._reject(table, rejected)
            return False
        chunk = self._open
        buffer = chunk.buffers.setdefault(table, [])
        buffer.append(row)
        chunk.rows[table] = chunk.rows.get(table, 0) + 1
        if len(buffer) >= self.row_group_size:
            self._flush(table)
        return True

    def _reject(self, table: str, rejected: RowRejected) -> None:
        self.crawler.stats.inc_value(f"parquet/rejected/{table}")
        logger.error("ParquetExporter: row of %s not written (%s): %r", table, rejected.why,
                     rejected.row)

    # --- writing and committing ---------------------------------------------------------

    def _key(self) -> ChunkKey:
        assert self.run is not None
        return ChunkKey(self.run.file_key, self.chunk)

    def _flush(self, table: str) -> None:
        chunk = self._open
        rows = chunk.buffers.get(table)
        if not rows:
            return
        chunk.buffers[table] = []
        data, rejected = to_arrow(table, rows)
        for bad in rejected:
            chunk.rows[table] -= 1
            self._reject(table, bad)
        if data.num_rows:
            self.store.write(self._key(), table, chunk.day or self.now().date(), data)

    def _maybe_commit(self) -> None:
        chunk = self._open
        if chunk.started is None:
            return
        too_old = (self.commit_seconds > 0
                   and time.monotonic() - chunk.started >= self.commit_seconds)
        too_big = self.commit_rows > 0 and chunk.rows.get("titles", 0) >= self.commit_rows
        if too_old or too_big:
            self.commit()

    def commit(self) -> None:
        """Make the open chunk part of the dataset (see the module doc); no rows, no-op."""
        for table in list(self._open.buffers):
            self._flush(table)
        key = self._key()
        tables = self.store.seal(key)
        if tables and not self._may_commit():
            self.store.abandon(key)
            self.crawler.stats.inc_value("parquet/abandoned_chunks")
        elif tables:
            self._log_commit(self.chunk)
            self._committed(tables)  # committed now, whatever happens to the renames
            self.store.publish(key)
        self._open = OpenChunk()

    def _may_commit(self) -> bool:
        """Whether every receiver of ``chunk_committing`` lets the sealed chunk be
        committed (a shared crawl's worker that lost its titles says no)."""
        answers = self.crawler.signals.send_catch_log(
            signal=our_signals.chunk_committing, tconsts=self._open.tconsts, chunk=self.chunk)
        return all(answer is not False and not isinstance(answer, Failure)
                   for _, answer in answers)

    def _log_commit(self, chunk: int) -> None:
        """The commit point, every file of the chunk sealed, none published yet (tests
        kill the crawl here)."""
        assert self.run is not None
        self.store.commit(ChunkKey(self.run.file_key, chunk))

    def _committed(self, tables: list[str]) -> None:
        """The chunk is in the commit log (or its marker written)."""
        chunk = self._open
        self.crawler.signals.send_catch_log(
            signal=our_signals.chunk_committed, tconsts=chunk.tconsts, chunk=self.chunk)
        for table in tables:
            self.crawler.stats.inc_value(f"parquet/rows/{table}", chunk.rows.get(table, 0))
        self.crawler.stats.inc_value("parquet/chunks")
        self.chunk += 1

    def write_chunk(self, tables: dict[str, list[dict[str, Any]]], at: datetime) -> None:
        """Commit rows already typed (the run recorder's) as a chunk of their own.  On an
        OSError the chunk is dropped and the failure recorded before it is raised."""
        self._open = OpenChunk(day=at.date(), started=time.monotonic(),
                               rows={t: len(rows) for t, rows in tables.items()},
                               buffers={t: list(rows) for t, rows in tables.items()})
        try:
            self.commit()
        except OSError as exc:
            self._discard_open_chunk()
            if self.failure is None:
                self._record_failure(exc)
            raise
