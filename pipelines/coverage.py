"""Field coverage and the drift alarm: IMDb changing its page must be loud.

When IMDb changes its title page, the HTML fallbacks still read part of it, so a
crawl would keep succeeding with emptier rows.  After each session the exporter
measures, for every column of ``titles``, ``ratings``, ``credits`` and
``more_like_this``, the share of the run's fetched titles that have a value
(``field_coverage``), and compares it with the previous completed run in the
same ``OUTPUT_DIR``.  A column that was covered at least ``DRIFT_MIN_COVERAGE``
and fell by at least ``DRIFT_MIN_DROP`` trips the alarm: the run ends with exit
code 3, ``crawl_runs.drifted`` and one line naming each such column.

spidermon (1.27) runs on Scrapy 2.19, but its monitors run on ``spider_closed``,
after the item pipelines have closed and the run's ``crawl_runs`` row is written;
the alarm belongs in that row and in the exit code, so it is this small module.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.dataset import committed_paths
from pipelines.schemas import SCHEMAS

MEASURED = ("titles", "ratings", "credits", "more_like_this")
# Columns every row has by construction: measuring them says nothing of the page.
NOT_MEASURED = {"tconst", "run_id", "crawled_at", "depth", "url", "layout"}


@dataclass(frozen=True)
class Coverage:
    table_name: str
    column_name: str
    titles: int
    with_value: int

    @property
    def coverage(self) -> float:
        return self.with_value / self.titles if self.titles else 0.0


def _has_value(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_list(column.type):
        return pc.fill_null(pc.greater(pc.list_value_length(column), 0), False)
    if pa.types.is_string(column.type):
        return pc.fill_null(pc.greater(pc.utf8_length(column), 0), False)
    return pc.is_valid(column)


def _run_table(output_dir: str | os.PathLike[str], run_id: str, table: str) -> pa.Table:
    schema = SCHEMAS[table]
    paths = [p for p in committed_paths(output_dir, table)
             if os.path.basename(p).startswith(f"{run_id}-")]
    if not paths:
        return schema.empty_table()
    return ds.dataset(paths, schema=schema, format="parquet").to_table(
        filter=pc.field("run_id") == run_id)


def measure(output_dir: str | os.PathLike[str], run_id: str) -> list[Coverage]:
    """Coverage of every measured column over the titles ``run_id`` fetched."""
    titles = _run_table(output_dir, run_id, "titles")
    fetched = pc.count_distinct(titles.column("tconst")).as_py() if titles.num_rows else 0
    out = []
    for table in MEASURED:
        data = titles if table == "titles" else _run_table(output_dir, run_id, table)
        for name in SCHEMAS[table].names:
            if name in NOT_MEASURED:
                continue
            with_value = 0
            if data.num_rows:
                having = data.column("tconst").filter(_has_value(data.column(name)))
                with_value = pc.count_distinct(having).as_py() if len(having) else 0
            out.append(Coverage(table, name, fetched, with_value))
    return out


@dataclass(frozen=True)
class Drift:
    table_name: str
    column_name: str
    before: float
    now: float

    def __str__(self) -> str:
        name = self.column_name if self.table_name == "titles" else \
            f"{self.table_name}.{self.column_name}"
        return f"{name} {self.before:.0%} -> {self.now:.0%}"


def compare(
    now: Iterable[Coverage],
    before: dict[tuple[str, str], float],
    *,
    min_coverage: float,
    min_drop: float,
    min_titles: int,
) -> list[Drift]:
    """The columns whose coverage fell from at least ``min_coverage`` by ``min_drop``."""
    drifts = []
    for c in now:
        previous = before.get((c.table_name, c.column_name))
        if previous is None or c.titles < min_titles:
            continue
        if previous >= min_coverage and previous - c.coverage >= min_drop:
            drifts.append(Drift(c.table_name, c.column_name, previous, c.coverage))
    return drifts


def previous_coverage(output_dir: str | os.PathLike[str], run_id: str
                      ) -> dict[tuple[str, str], float]:
    """The coverage of the most recent completed run before ``run_id`` (its last session's
    measurement), or {} when there is none."""
    runs_paths = committed_paths(output_dir, "crawl_runs", exclude_run=run_id)
    cov_paths = committed_paths(output_dir, "field_coverage", exclude_run=run_id)
    if not runs_paths or not cov_paths:
        return {}
    runs = ds.dataset(runs_paths, schema=SCHEMAS["crawl_runs"], format="parquet").to_table(
        columns=["run_id", "started_at", "finish_reason"])
    done = runs.filter(pc.equal(runs.column("finish_reason"), "finished"))
    cov = ds.dataset(cov_paths, schema=SCHEMAS["field_coverage"], format="parquet").to_table(
        columns=["run_id", "table_name", "column_name", "coverage", "crawled_at"])
    measured = set(cov.column("run_id").to_pylist())
    candidates = [(r["started_at"], r["run_id"]) for r in done.to_pylist()
                  if r["run_id"] in measured]
    if not candidates:
        return {}
    last_run = max(candidates)[1]
    rows = cov.filter(pc.equal(cov.column("run_id"), last_run)).sort_by("crawled_at")
    return {(r["table_name"], r["column_name"]): r["coverage"] for r in rows.to_pylist()}
