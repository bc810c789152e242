"""Field coverage and the drift alarm: IMDb changing its page must be loud.

When IMDb changes its title page, the HTML fallbacks still read part of it, so a
crawl would keep succeeding with emptier rows.  After each session the run recorder
measures, for every column of ``titles``, ``ratings``, ``credits`` and
``more_like_this``, the share of the run's fetched titles that have a value
(``field_coverage``), and compares it with the previous completed run in the
same ``OUTPUT_DIR`` made with the same ``-a credits``.  A column that was covered at
least ``DRIFT_MIN_COVERAGE`` and fell by at least ``DRIFT_MIN_DROP`` trips the alarm:
the run ends with exit code 3, ``crawl_runs.drifted`` and one line naming each such column.

spidermon (1.27) runs on Scrapy 2.19, but its monitors run on ``spider_closed``,
after the item pipelines have closed and the run's ``crawl_runs`` row is written;
the alarm belongs in that row and in the exit code, so it is this small module.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crawler.state.dataset import committed_paths, open_parquet
from pipelines.schemas import SCHEMAS

MEASURED = ("titles", "ratings", "credits", "more_like_this")
# Columns every row has by construction: measuring them says nothing of the page.
NOT_MEASURED = {"tconst", "run_id", "crawled_at", "depth", "url", "layout", "captured_at",
                "observed_at", "source", "full_credits", "full_credits_captured_at",
                "credit_page"}
COLUMNS = {t: [c for c in SCHEMAS[t].names if c not in NOT_MEASURED] for t in MEASURED}


@dataclass(frozen=True)
class Coverage:
    table_name: str
    column_name: str
    titles: int
    with_value: int

    @property
    def coverage(self) -> float:
        return self.with_value / self.titles if self.titles else 0.0


# What counts as no value: None, an empty text, an empty list (compared, not called: this
# runs for each of a title's ~110 columns).
_EMPTY: tuple[Any, ...] = (None, "", [])


def _columns_with_value(columns: list[str], rows: Iterable[dict[str, Any]]) -> list[str]:
    """The columns that have a value in at least one of the rows.  Asks each row only
    for the columns still without one, and stops when none is left (a title's rows
    usually fill them all within the first few)."""
    missing = columns
    for row in rows:
        get = row.get
        missing = [c for c in missing if get(c) in _EMPTY]
        if not missing:
            break
    return [c for c in columns if c not in missing] if missing else columns


@dataclass
class CoverageCounter:
    """Counts, title by title as the exporter writes them, which columns have a value.

    Counts add up across the sessions of a run (a title is fetched once per run), so a
    resumed session starts from what its run's last measurement counted.
    """

    titles: int = 0
    with_value: dict[tuple[str, str], int] = field(default_factory=dict)

    def add_title(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        """One fetched title: its rows per measured table."""
        self.titles += 1
        counts = self.with_value
        for table in MEASURED:
            for column in _columns_with_value(COLUMNS[table], rows.get(table) or ()):
                key = (table, column)
                counts[key] = counts.get(key, 0) + 1

    def start_from(self, earlier: list[Coverage]) -> None:
        """Add the counts of the run's earlier sessions (once, before measuring)."""
        if earlier:
            self.titles += max(c.titles for c in earlier)
        for c in earlier:
            key = (c.table_name, c.column_name)
            self.with_value[key] = self.with_value.get(key, 0) + c.with_value

    def measured(self) -> list[Coverage]:
        return [Coverage(t, c, self.titles, self.with_value.get((t, c), 0))
                for t in MEASURED for c in COLUMNS[t]]


def _rows(output_dir: str | os.PathLike[str], table: str, columns: list[str],
          exclude_run: str | None = None) -> list[dict[str, Any]]:
    """Committed rows of a small table (crawl_runs, field_coverage), file by file."""
    out: list[dict[str, Any]] = []
    for path in committed_paths(output_dir, table, exclude_run):
        pf = open_parquet(output_dir, path)
        present = pf.schema_arrow.names
        out += pf.read(columns=[c for c in columns if c in present]).to_pylist()
    return out


def run_so_far(output_dir: str | os.PathLike[str], run_id: str) -> list[Coverage]:
    """The run's last measurement (from its earlier sessions), or [] for a new run."""
    rows = [r for r in _rows(output_dir, "field_coverage",
                             ["run_id", "table_name", "column_name", "titles", "with_value",
                              "crawled_at"]) if r["run_id"] == run_id]
    if not rows:
        return []
    last = max(r["crawled_at"] for r in rows)
    return [Coverage(r["table_name"], r["column_name"], r["titles"] or 0,
                     r["with_value"] or 0) for r in rows if r["crawled_at"] == last]


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


def _credits_mode(arguments: str | None) -> str:
    """A run's -a credits, from its recorded arguments (JSON; page when not given)."""
    try:
        recorded = json.loads(arguments or "{}")
    except ValueError:
        return "page"
    return str(recorded.get("credits", "page")) if isinstance(recorded, dict) else "page"


def previous_coverage(output_dir: str | os.PathLike[str], run_id: str,
                      credits: str = "page", min_titles: int = 0
                      ) -> dict[tuple[str, str], float]:
    """The coverage of the most recent completed run before ``run_id`` with the same
    ``-a credits`` (a full credits page shows more than a title page: a run of the other
    mode is no measure) that measured at least ``min_titles`` titles (a refresh run that
    fetched a handful, most titles reused, is no baseline): its last session's
    measurement; {} when there is none."""
    runs = _rows(output_dir, "crawl_runs",
                 ["run_id", "started_at", "finish_reason", "arguments"], exclude_run=run_id)
    runs = [r for r in runs if _credits_mode(r.get("arguments")) == credits]
    cov = _rows(output_dir, "field_coverage",
                ["run_id", "table_name", "column_name", "coverage", "titles", "crawled_at"],
                exclude_run=run_id)
    measured = {r["run_id"] for r in cov
                if r["table_name"] == "titles" and (r["titles"] or 0) >= min_titles}
    candidates = [(r["started_at"], r["run_id"]) for r in runs
                  if r["finish_reason"] == "finished" and r["run_id"] in measured]
    if not candidates:
        return {}
    last_run = max(candidates)[1]
    rows = sorted((r for r in cov if r["run_id"] == last_run), key=lambda r: r["crawled_at"])
    return {(r["table_name"], r["column_name"]): r["coverage"] for r in rows}
