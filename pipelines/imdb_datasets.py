"""``DatasetSnapshotPipeline``: IMDb's daily files into Parquet snapshots, each whole or
not at all.

The ``imdb_datasets`` spider yields one ``crawler.sources.imdb_files.DatasetFileItem`` per file it
asked for.  A new file (``downloaded``) is read a block at a time (``pipelines.imdb_tsv``),
kept to the graph's titles with ``-a titles=graph``, stamped with its snapshot and written
as row groups to the table's file of one chunk of the run, together with the file's row
of ``imdb_dataset_runs``; the chunk is then committed as the crawl's chunks are (see
``crawler.state.commits``: hidden name + commit log + rename locally, final name + marker object
on an object store).  A file that fails anywhere (a broken gzip, a changed header, a bad
row, a limit, a disk error) leaves no file behind: the chunk is abandoned and only its runs
row, ``failed`` with the reason, is committed.  ``unchanged`` (HTTP 304) and ``failed``
answers are a runs row alone.

The work runs in a thread (the reactor stays free), one file at a time, so memory holds
one file's blocks.  Once the spider closes, ``crawler.signals.run_recorded`` is sent and
``analytics.extension.BuildViews`` rebuilds ``OUTPUT_DIR/dataset.duckdb``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler import signals as our_signals
from crawler.sources.imdb_files import FILES, RUNS_TABLE, DatasetFileItem
from crawler.state import commits, dataset, sessions
from crawler.state.atomic import fsync_file
from pipelines.arrow import skip_pandas
from pipelines.imdb_tsv import DatasetFileError, TsvReader
from pipelines.schemas import SCHEMAS
from pipelines.stores.base import COMPRESSION, abandon_writer, output_error_line

logger = logging.getLogger(__name__)

# Rows gathered before a row group goes out, in Arrow bytes: ~130k ratings, ~60k principals.
# Larger groups cost memory (128k principals: +20 MB peak) for little gain to readers.
ROW_GROUP_BYTES = 4 << 20


class Chunk:
    """The files of one chunk of a run, one per table, committed together or not at all."""

    def __init__(self, output_dir: str, file_key: str, number: int, day: str) -> None:
        self.output_dir = output_dir
        self.remote = dataset.remote(output_dir)
        self.file_key = file_key
        self.number = number
        self.day = day
        self._writers: dict[str, tuple[pq.ParquetWriter, Any, str]] = {}

    def _final(self, table: str) -> str:
        parts = (table, f"{dataset.PARTITION}={self.day}",
                 dataset.final_name(self.file_key, self.number))
        return self.remote.path(*parts) if self.remote else str(Path(self.output_dir, *parts))

    def write(self, table: str, data: pa.Table) -> None:
        if table not in self._writers:
            final = self._final(table)
            if self.remote is not None:
                sink: Any = self.remote.fs.open_output_stream(final)  # whole at close
                where = final
            else:
                Path(final).parent.mkdir(parents=True, exist_ok=True)
                where = str(Path(final).with_name(dataset.tmp_name(self.file_key, self.number)))
                sink = where
            writer = pq.ParquetWriter(sink, SCHEMAS[table], compression=COMPRESSION)
            self._writers[table] = (writer, sink, where)
        self._writers[table][0].write_table(data, row_group_size=max(1, data.num_rows))

    def commit(self) -> None:
        """Close every file, then the commit line or marker, then (locally) give each
        file its final name: a final name is always committed."""
        try:
            for table, (writer, sink, where) in self._writers.items():
                writer.close()
                if self.remote is not None:
                    sink.close()  # completes the upload: the object is whole
                else:
                    fsync_file(Path(where))
                    if Path(self._final(table)).exists():  # never overwrite (a bug)
                        raise FileExistsError(f"{self._final(table)} exists; chunk "
                                              f"{self.number} not committed")
        except BaseException:
            self.abandon()
            raise
        commits.append_commit(self.output_dir, self.file_key, self.number)
        if self.remote is None:
            for table, (_, _, where) in self._writers.items():
                commits.publish(Path(where), Path(self._final(table)))

    def abandon(self) -> None:
        """Forget the chunk: its files, whole or not, are deleted (it was never committed)."""
        writers, self._writers = self._writers, {}
        for writer, sink, where in writers.values():
            abandon_writer(writer)
            if self.remote is not None:
                with contextlib.suppress(OSError, pa.ArrowException):
                    sink.close()
            with contextlib.suppress(OSError):
                dataset.remove(self.output_dir, where)


def _constant(value: Any, type_: pa.DataType, rows: int) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), rows)


class DatasetSnapshotPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.output_dir = str(settings.get("OUTPUT_DIR") or "output")
        self.max_bytes = settings.getint("IMDB_DATASETS_MAX_BYTES")
        self.run_id = ""
        self.titles = "graph"
        self.started_at = datetime.now(UTC)
        self.chunk = 0
        self.errors: list[str] = []  # one line per file that failed
        self._lock = threading.Lock()  # one file at a time: chunk numbers, memory
        self._keys: dict[str, pa.Array] = {}  # graph tconsts / credited nconsts, read once
        self.session: sessions.SessionLock | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DatasetSnapshotPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.run_id = spider.run_id  # type: ignore[union-attr]
        self.titles = spider.titles  # type: ignore[union-attr]
        self.started_at = spider.started_at  # type: ignore[union-attr]
        skip_pandas()  # ~45 MB less where pandas is installed (see pipelines.arrow)
        # Held while it writes, so no other run takes its files for a dead run's.
        self.session = sessions.acquire(self.output_dir, self.run_id)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, DatasetFileItem):
            await maybe_deferred_to_future(deferToThread(self.record, item))
        return item

    def close_spider(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("imdb_datasets/errors", list(self.errors))
        if self.session is not None:
            self.session.release(ended=True)
            self.session = None
        # The views see the new snapshots (analytics.extension.BuildViews).
        self.crawler.signals.send_catch_log(
            signal=our_signals.run_recorded,
            finish_reason=stats.get_value("finish_reason") or "finished")

    # --- one file ---------------------------------------------------------------------------

    def record(self, item: DatasetFileItem) -> None:
        """Commit the file's snapshot and runs row, or its runs row alone (in a thread)."""
        imdb_name = FILES[item.file][0]
        with self._lock:
            try:
                row = self._runs_row(item)
                if item.outcome == "downloaded":
                    self._snapshot(item, row)
                if row["outcome"] != "downloaded":
                    self._commit({RUNS_TABLE: [row]})
            except OSError as exc:
                row["outcome"], row["detail"] = "failed", output_error_line(self.output_dir,
                                                                             exc)
            finally:
                if item.path is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)
        self._tell(imdb_name, item, row)

    def _tell(self, imdb_name: str, item: DatasetFileItem, row: dict[str, Any]) -> None:
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(f"imdb_datasets/{row['outcome']}")
        if row["outcome"] == "failed":
            line = f"{imdb_name}: {row['detail']}; nothing committed"
            self.errors.append(line)
            logger.error("%s", line)
        elif row["outcome"] == "unchanged":
            since = (item.last_modified or item.crawled_at).date().isoformat()
            logger.info("%s: unchanged since %s (%s); nothing downloaded, nothing written",
                        imdb_name, since, row["detail"])
        else:
            table = FILES[item.file][1]
            stats.inc_value(f"parquet/rows/{table}", row["rows"])
            logger.info("%s: snapshot of %s committed to %s: %d of %d rows (titles=%s), "
                        "%d bytes downloaded", imdb_name, row["snapshot_date"], table,
                        row["rows"], row["rows_read"], self.titles, row["bytes"] or 0)

    def _runs_row(self, item: DatasetFileItem) -> dict[str, Any]:
        imdb_name, table = FILES[item.file]
        return {
            "run_id": self.run_id, "file": imdb_name, "table_name": table, "url": item.url,
            "titles": self.titles, "outcome": item.outcome, "detail": item.detail,
            "http_status": item.http_status, "etag": item.etag,
            "last_modified": item.last_modified,
            "snapshot_date": item.snapshot_date if item.outcome == "downloaded" else None,
            "snapshot_at": item.snapshot_at if item.outcome == "downloaded" else None,
            "rows_read": None, "rows": None, "bytes": item.bytes, "decompressed_bytes": None,
            "started_at": self.started_at, "crawled_at": item.crawled_at,
        }

    def _commit(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        chunk = Chunk(self.output_dir, self.run_id, self.chunk, self._day())
        try:
            for table, rows in tables.items():
                chunk.write(table, pa.Table.from_pylist(rows, schema=SCHEMAS[table]))
            chunk.commit()
        except BaseException:
            chunk.abandon()
            raise
        self.chunk += 1

    def _day(self) -> str:
        return self.started_at.astimezone(UTC).date().isoformat()

    def _snapshot(self, item: DatasetFileItem, row: dict[str, Any]) -> None:
        """Read, keep, stamp and write the file; commit it with ``row``.  A bad file: the
        chunk is dropped and ``row`` says why."""
        imdb_name, table = FILES[item.file]
        assert item.path is not None
        reader = TsvReader(item.path, imdb_name, self.max_bytes)
        keep = self._keep(item.file)
        chunk = Chunk(self.output_dir, self.run_id, self.chunk, self._day())
        started = time.monotonic()
        written = pending_bytes = 0
        pending: list[pa.Table] = []
        try:
            for batch in reader.batches():
                data = self._kept(pa.Table.from_batches([batch]), item.file, keep)
                if data.num_rows:
                    pending.append(data)
                    pending_bytes += data.nbytes
                    if pending_bytes >= ROW_GROUP_BYTES:
                        written += self._write(chunk, table, pending, item)
                        pending, pending_bytes = [], 0
            written += self._write(chunk, table, pending, item)
            row.update(rows_read=reader.rows, rows=written,
                       decompressed_bytes=reader.decompressed_bytes)
            chunk.write(RUNS_TABLE, pa.Table.from_pylist([row], schema=SCHEMAS[RUNS_TABLE]))
            chunk.commit()
            self.chunk += 1
        except DatasetFileError as exc:
            chunk.abandon()
            row.update(outcome="failed", detail=str(exc), snapshot_date=None,
                       snapshot_at=None, rows_read=reader.rows,
                       decompressed_bytes=reader.decompressed_bytes)
        except BaseException:
            chunk.abandon()
            raise
        self.crawler.stats.set_value(
            f"imdb_datasets/{item.file}/seconds", round(time.monotonic() - started, 3))

    def _write(self, chunk: Chunk, table: str, pending: list[pa.Table],
               item: DatasetFileItem) -> int:
        if not pending:
            return 0
        data = pa.concat_tables(pending)
        rows = data.num_rows
        stamp = {"snapshot_date": (item.snapshot_date, pa.date32()),
                 "snapshot_at": (item.snapshot_at, SCHEMAS[table].field("snapshot_at").type),
                 "run_id": (self.run_id, pa.string()),
                 "crawled_at": (item.crawled_at, SCHEMAS[table].field("crawled_at").type)}
        for name, (value, type_) in stamp.items():
            data = data.append_column(name, _constant(value, type_, rows))
        chunk.write(table, data.cast(SCHEMAS[table]))
        return rows

    # --- -a titles=graph ------------------------------------------------------------------

    def _keep(self, file: str) -> pa.Array | None:
        """The keys a row must have to be kept (None: every row)."""
        if self.titles == "all":
            return None
        from crawler.sources.imdb_files import credited_nconsts, graph_tconsts

        kind = "nconst" if file == "names" else "tconst"
        if kind not in self._keys:
            read = credited_nconsts if kind == "nconst" else graph_tconsts
            self._keys[kind] = read(self.output_dir)
        return self._keys[kind]

    @staticmethod
    def _kept(data: pa.Table, file: str, keep: pa.Array | None) -> pa.Table:
        if keep is None:
            return data
        key = "nconst" if file == "names" else "tconst"
        mask = pc.is_in(data.column(key), value_set=keep)
        if file == "episode":  # an episode of a graph series belongs to the graph too
            mask = pc.or_kleene(mask, pc.is_in(data.column("parent_tconst"), value_set=keep))
        return data.filter(mask)
