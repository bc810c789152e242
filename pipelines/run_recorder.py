"""``RunRecorder``: the session's ``crawl_runs`` row, its ``field_coverage`` rows and the
drift alarm, committed as a chunk of their own when the exporter closes.

A Scrapy component fed by the run's stats and the exporter's signals
(``crawler.signals``): ``title_written`` (each title page's rows, for field coverage),
``exporter_closed`` (the last chunk is committed and the finish reason known: write the
row now).  Row counts are the stats ``parquet/rows/<table>`` (the rows the exporter
committed this session), the pages, items and errors Scrapy's, and a failed
OUTPUT_DIR is ``output/error``.  Once the row is committed it sends
``run_recorded``.  The exporter makes its recorder (``ParquetExporter.from_crawler``):
every dataset it writes has its crawl_runs rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
from scrapy.crawler import Crawler

from crawler import signals as our_signals
from crawler.state.run import Run
from pipelines import coverage
from pipelines.normalize import NUL_STAT
from pipelines.schemas import TABLE_COUNTS

logger = logging.getLogger(__name__)

# Commits rows already typed as a chunk of their own (``ParquetExporter.write_chunk``).
WriteChunk = Callable[[dict[str, list[dict[str, Any]]], datetime], None]


class RunRecorder:
    def __init__(self, crawler: Crawler, write: WriteChunk) -> None:
        self.crawler = crawler
        self.write = write
        self.output_dir = crawler.settings.get("OUTPUT_DIR") or "output"
        self.coverage = coverage.CoverageCounter()  # of the titles written this session

    @classmethod
    def from_crawler(cls, crawler: Crawler, write: WriteChunk) -> RunRecorder:
        recorder = cls(crawler, write)
        crawler.signals.connect(recorder.title_written, signal=our_signals.title_written)
        crawler.signals.connect(recorder.exporter_closed, signal=our_signals.exporter_closed)
        return recorder

    def title_written(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self.coverage.add_title(rows)

    def exporter_closed(self, run: Run, reason: str | None, at: datetime) -> None:
        self.write_crawl_run(run, reason, at)

    def write_crawl_run(self, run: Run, reason: str | None, at: datetime) -> None:
        """One crawl_runs row for this session (and its field_coverage rows), committed."""
        row = self.crawl_run_row(run, reason, at)
        measured = self.field_coverage(run, at)
        row["drifted"] = any(c["drifted"] for c in measured) if measured else None
        row["drift"] = self.crawler.stats.get_value("drift/fields")
        try:
            self.write({"crawl_runs": [row], "field_coverage": measured}, at)
        except OSError as exc:
            logger.error("the crawl_runs row of run %s could not be written: %s",
                         run.run_id, exc.strerror or exc)
            return
        self.crawler.signals.send_catch_log(signal=our_signals.run_recorded,
                                            finish_reason=row["finish_reason"])

    def crawl_run_row(self, run: Run, reason: str | None, at: datetime) -> dict[str, Any]:
        """The session's crawl_runs row, from the run and the stats (drift columns apart)."""
        stats = self.crawler.stats
        failure = stats.get_value("output/error")
        committed = {t: stats.get_value(f"parquet/rows/{t}", 0) for t in (*TABLE_COUNTS,
                                                                           "reused")}
        return {
            "run_id": run.run_id,
            "started_at": run.started_at,
            "finished_at": at,
            "arguments": json.dumps(run.arguments, sort_keys=True),
            "seeds": list(run.seeds),
            "depth": run.depth,
            "max_titles": run.max_titles,
            "pages": stats.get_value("response_received_count", 0),
            "items": stats.get_value("item_scraped_count", 0),
            "errors": stats.get_value("log_count/ERROR", 0),
            "finish_reason": "output_failed" if failure else (
                stats.get_value("finish_reason") or reason),
            "error": failure or stats.get_value("run/error"),
            "invalid_links": stats.get_value("links/invalid", 0),
            "seeds_over_limit": stats.get_value("frontier/seeds_over_limit", 0),
            "titles_over_limit": stats.get_value("frontier/titles_over_limit", 0),
            "reused_rows": committed["reused"],
            "refresh_seconds": run.refresh_seconds,
            "worker": run.worker,
            "as_of": run.as_of,
            "source": run.source,
            "warc_damaged_records": stats.get_value("warc/damaged_records"),
            "nul_removed": stats.get_value(NUL_STAT, 0),
            **{f"{t}_rows": committed[t] for t in TABLE_COUNTS},
            "crawled_at": at,
        }

    def field_coverage(self, run: Run, at: datetime) -> list[dict[str, Any]]:
        """This run's field_coverage rows, compared with the previous completed run; a
        drift is logged in one line and kept in the stats for the exit code."""
        if self.crawler.stats.get_value("output/error") is not None:
            return []
        try:
            counter = self.coverage
            if run.worker is None:  # a worker of a shared crawl measures its own titles
                counter.start_from(coverage.run_so_far(self.output_dir, run.run_id))
            measured = counter.measured()
            before = coverage.previous_coverage(
                self.output_dir, run.run_id, run.arguments.get("credits", "page"),
                self.crawler.settings.getint("DRIFT_MIN_TITLES"))
        except (OSError, pa.ArrowException) as exc:
            logger.error("field coverage could not be measured: %s", exc)
            return []
        drifted = self._drift_alarm(measured, before)
        return [
            {"run_id": run.run_id, "table_name": c.table_name,
             "column_name": c.column_name, "titles": c.titles, "with_value": c.with_value,
             "coverage": c.coverage,
             "previous_coverage": before.get((c.table_name, c.column_name)),
             "drifted": (c.table_name, c.column_name) in drifted, "crawled_at": at}
            for c in measured
        ]

    def _drift_alarm(self, measured: list[coverage.Coverage],
                     before: dict[tuple[str, str], float]) -> set[tuple[str, str]]:
        """The drifted (table, column)s; named in one error line and the stats."""
        settings = self.crawler.settings
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
        return {(d.table_name, d.column_name) for d in drifts}
