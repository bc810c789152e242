"""What ``scrapy report`` shows, read from the views (``analytics/views.sql``).

The views define everything: the order of runs (``run_timeline``), which run is
compared with which (``run_pairs``), what changed (``similarity_changes`` and
``rating_changes`` of that pair), each run's edges (``run_more_like_this``) and names
(``titles_latest``).  This module only
selects, counts and limits what is shown, into a :class:`Report`.

The views are those of ``dataset.duckdb`` built in memory over the files committed
now (:func:`analytics.views.connect_current`): a run still writing is seen as far as
it has committed, and OUTPUT_DIR is only read.  Committed files gone since the views
last listed them (``analytics.missing_files``) are named in ``Report.missing``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from analytics import views
from analytics.missing_files import MissingFile
from crawler.masking import shown_url

MAX_SEEDS = 10
MAX_NODES = 40
TOP_LINKED = 15
RATING_LINES = 8
MAX_ROWS = 25


@dataclass(frozen=True)
class Title:
    tconst: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.tconst})" if self.name != self.tconst else self.tconst


@dataclass(frozen=True)
class LastRun:
    run_id: str
    started_at: datetime | None
    finished_at: datetime | None
    finish_reason: str | None
    as_of: datetime | None
    sessions: int
    seeds: list[Title]
    titles_fetched: int
    titles_reused: int
    titles_failed: int
    links: int


@dataclass(frozen=True)
class LinkChange:
    """A row of similarity_changes: ``old_rank`` None when added, ``new_rank`` when
    removed."""

    title: Title
    target: Title
    old_rank: int | None
    new_rank: int | None


@dataclass(frozen=True)
class RatingMove:
    """A row of rating_changes."""

    title: Title
    before: float | None
    now: float | None
    votes_before: int | None
    votes_now: int | None


@dataclass(frozen=True)
class Changes:
    """similarity_changes and rating_changes of one pair of run_pairs: the first
    ``MAX_ROWS`` of each kind, and how many there are."""

    previous_run_id: str
    compared: int
    added: list[LinkChange]
    removed: list[LinkChange]
    reranked: list[LinkChange]
    moves: list[RatingMove]
    counts: dict[str, int]


@dataclass(frozen=True)
class Neighbourhood:
    nodes: list[str]
    depth: dict[str, int]
    edges: list[tuple[str, str, int]]
    links: dict[str, int]


@dataclass(frozen=True)
class Linked:
    title: Title
    links: int
    rating: float | None


@dataclass(frozen=True)
class CoverageRow:
    table_name: str | None
    column_name: str | None
    coverage: float | None
    drifted: bool


@dataclass(frozen=True)
class Report:
    """Everything the page shows; ``last`` is None when no run is recorded."""

    output_dir: str
    missing: list[MissingFile]
    last: LastRun | None = None
    failures: list[tuple[str, int]] | None = None
    coverage: list[CoverageRow] | None = None
    neighbourhood: Neighbourhood | None = None
    linked: list[Linked] | None = None
    ratings: dict[str, list[tuple[datetime, float]]] | None = None
    names: dict[str, str] | None = None
    changes: Changes | None = None

    @property
    def seeds(self) -> set[str]:
        return {t.tconst for t in self.last.seeds} if self.last else set()

    @property
    def drifted(self) -> list[str]:
        return [f"{r.table_name}.{r.column_name}" for r in self.coverage or [] if r.drifted]


# --- queries ------------------------------------------------------------------------------

LAST_RUN = """
SELECT r.run_id, r.started_at, r.finished_at, r.finish_reason, r.as_of, r.sessions,
       r.seeds, r.titles_fetched, r.titles_reused, r.titles_failed
FROM runs AS r JOIN run_timeline AS t USING (run_id)
ORDER BY t.position DESC
LIMIT 1"""

# The last run's edges, one row per link (a title fetched twice links twice: best rank).
LAST_EDGES = """
CREATE TEMP TABLE last_edges AS
SELECT tconst, similar_tconst, MIN(rank) AS rank
FROM run_more_like_this WHERE run_id = $run
GROUP BY tconst, similar_tconst"""

LAST_DEGREE = """
CREATE TEMP TABLE last_degree AS
SELECT similar_tconst AS tconst, COUNT(*) AS links FROM last_edges GROUP BY similar_tconst"""

PAIR_CHANGES = """
CREATE TEMP TABLE pair_changes AS
SELECT tconst, similar_tconst, change, old_rank, new_rank FROM similarity_changes
WHERE old_run_id = $old AND new_run_id = $new"""

PAIR_MOVES = """
CREATE TEMP TABLE pair_moves AS
SELECT tconst, old_average_rating, new_average_rating, old_num_votes, new_num_votes
FROM rating_changes WHERE old_run_id = $old AND new_run_id = $new"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str,
          params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    return con.execute(sql, params or {}).fetchall()


def _last_run(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    rows = _rows(con, LAST_RUN)
    return rows[0] if rows else None


def _previous(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    rows = _rows(con, "SELECT old_run_id FROM run_pairs WHERE new_run_id = $run",
                 {"run": run_id})
    return rows[0][0] if rows else None


def _top_linked(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return [(t, n) for t, n in _rows(
        con, "SELECT tconst, links FROM last_degree ORDER BY links DESC, tconst LIMIT $n",
        {"n": TOP_LINKED})]


def neighbourhood(con: duckdb.DuckDBPyConnection, seeds: Sequence[str],
                  max_nodes: int = MAX_NODES) -> Neighbourhood:
    """The seeds and titles up to two links away in the last run, at most ``max_nodes``:
    nearer first, then by rank, then by how many titles link to them."""
    depth: dict[str, int] = {s: 0 for s in seeds[:MAX_SEEDS]}
    level = list(depth)
    for d in (1, 2):
        if not level or len(depth) >= max_nodes:
            break
        found = _rows(con, """
            SELECT e.similar_tconst, MIN(e.rank), COALESCE(ANY_VALUE(g.links), 0)
            FROM last_edges AS e LEFT JOIN last_degree AS g ON g.tconst = e.similar_tconst
            WHERE list_contains($level, e.tconst)
            GROUP BY e.similar_tconst""", {"level": level})
        found.sort(key=lambda r: (r[1] if r[1] is not None else 1 << 30, -r[2], r[0]))
        level = [t for t, _, _ in found if t not in depth][: max_nodes - len(depth)]
        depth.update(dict.fromkeys(level, d))
    nodes = list(depth)
    edges = _rows(con, """
        SELECT tconst, similar_tconst, rank FROM last_edges
        WHERE list_contains($nodes, tconst) AND list_contains($nodes, similar_tconst)
        ORDER BY ALL""", {"nodes": nodes})
    links = dict(_rows(con, "SELECT tconst, links FROM last_degree "
                            "WHERE list_contains($nodes, tconst)", {"nodes": nodes}))
    return Neighbourhood(nodes, depth, [(a, b, r) for a, b, r in edges],
                         {n: links.get(n, 0) for n in nodes})


def rating_series(con: duckdb.DuckDBPyConnection, tconsts: Sequence[str]
                  ) -> dict[str, list[tuple[datetime, float]]]:
    """ratings_history of ``tconsts``, one point per run at its place in the timeline
    (run_timeline: the titles of one run line up), and one per daily file (IMDb's
    snapshots, at their own time), oldest first."""
    series: dict[str, list[tuple[datetime, float]]] = {t: [] for t in tconsts}
    for tconst, at, rating in _rows(con, """
            SELECT * FROM (
                SELECT h.tconst, t.timeline_at AS seen_at,
                       arg_max(h.average_rating, h.observed_at) AS rating
                FROM ratings_history AS h JOIN run_timeline AS t USING (run_id)
                WHERE list_contains($titles, h.tconst) AND h.average_rating IS NOT NULL
                GROUP BY h.tconst, h.run_id, t.timeline_at
                UNION ALL
                SELECT tconst, observed_at, average_rating FROM ratings_history
                WHERE source = 'imdb_datasets' AND list_contains($titles, tconst)
                  AND average_rating IS NOT NULL
            ) AS points
            ORDER BY tconst, seen_at""", {"titles": list(tconsts)}):
        series[tconst].append((at, rating))
    return {t: points for t, points in series.items() if points}


def _coverage(con: duckdb.DuckDBPyConnection, run_id: str) -> list[CoverageRow] | None:
    rows = _rows(con, """
        SELECT table_name, column_name, coverage, COALESCE(drifted, false) AS drifted
        FROM field_coverage_raw WHERE run_id = $run
        ORDER BY drifted DESC, table_name, column_name""", {"run": run_id})
    return [CoverageRow(*r) for r in rows] or None


def _failures(con: duckdb.DuckDBPyConnection, run_id: str) -> list[tuple[str, int]]:
    """The run's failures rows by reason, most first."""
    return [(r, n) for r, n in _rows(con, """
        SELECT reason, COUNT(*) AS failures FROM failures_raw WHERE run_id = $run
        GROUP BY reason ORDER BY failures DESC, reason""", {"run": run_id})]


def names_of(con: duckdb.DuckDBPyConnection, tconsts: Iterable[str]) -> dict[str, str]:
    """primary_title of each title's latest observation (titles_latest); else the title
    on the latest card linking to it; else the tconst itself."""
    wanted = sorted(set(tconsts))
    names = dict(_rows(con, """
        SELECT tconst, primary_title FROM titles_latest
        WHERE list_contains($titles, tconst) AND primary_title IS NOT NULL""",
                       {"titles": wanted}))
    missing = [t for t in wanted if t not in names]
    if missing:  # linked to but never fetched: the name on a card
        names.update(_rows(con, """
            SELECT similar_tconst, arg_max(similar_primary_title, observed_at)
            FROM more_like_this_raw
            WHERE list_contains($titles, similar_tconst) AND similar_primary_title IS NOT NULL
            GROUP BY similar_tconst""", {"titles": missing}))
    return {t: names.get(t, t) for t in wanted}


# --- changes since the previous run -------------------------------------------------------

KINDS = ("added", "removed", "rank_changed")


@dataclass(frozen=True)
class _PairRows:
    """The rows of a run pair's changes, before names are attached."""

    previous_run_id: str
    compared: int
    links: dict[str, list[tuple[str, str, int | None, int | None]]]
    moves: list[tuple[str, float | None, float | None, int | None, int | None]]
    counts: dict[str, int]

    def tconsts(self) -> set[str]:
        linked = {t for rows in self.links.values() for r in rows for t in r[:2]}
        return linked | {m[0] for m in self.moves}


def _pair_rows(con: duckdb.DuckDBPyConnection, old: str, new: str,
               max_rows: int) -> _PairRows:
    """similarity_changes and rating_changes of the pair (old, new) of run_pairs."""
    pair = {"old": old, "new": new}
    con.execute(PAIR_CHANGES, pair)
    con.execute(PAIR_MOVES, pair)
    counts = {kind: 0 for kind in (*KINDS, "ratings")}
    counts.update(_rows(con, "SELECT change, COUNT(*) FROM pair_changes GROUP BY change"))
    counts["ratings"] = _rows(con, "SELECT COUNT(*) FROM pair_moves")[0][0]
    links = {kind: [(a, b, o, n) for a, b, o, n in _rows(con, """
        SELECT tconst, similar_tconst, old_rank, new_rank FROM pair_changes
        WHERE change = $kind
        ORDER BY tconst, COALESCE(new_rank, old_rank), similar_tconst LIMIT $n""",
                                                          {"kind": kind, "n": max_rows})]
             for kind in KINDS}
    moves = [(t, b, a, vb, va) for t, b, a, vb, va in _rows(con, """
        SELECT tconst, old_average_rating, new_average_rating, old_num_votes, new_num_votes
        FROM pair_moves
        ORDER BY abs(new_average_rating - old_average_rating) DESC NULLS LAST, tconst
        LIMIT $n""", {"n": max_rows})]
    (compared,) = _rows(con, "SELECT COUNT(*) FROM observation_pairs "
                             "WHERE old_run_id = $old AND new_run_id = $new", pair)[0]
    return _PairRows(old, compared, links, moves, counts)


def _changes(rows: _PairRows, title: Callable[[str], Title]) -> Changes:
    def link(kind: str) -> list[LinkChange]:
        return [LinkChange(title(a), title(b), o, n) for a, b, o, n in rows.links[kind]]

    return Changes(rows.previous_run_id, rows.compared, link("added"), link("removed"),
                   link("rank_changed"),
                   [RatingMove(title(t), b, a, vb, va) for t, b, a, vb, va in rows.moves],
                   rows.counts)


# --- the report ---------------------------------------------------------------------------


def load(output_dir: str | os.PathLike[str], max_rows: int = MAX_ROWS) -> Report:
    """The report of ``output_dir``: its last run (run_timeline) and, when run_pairs pairs
    it with a previous run over the same seeds, what changed between the two."""
    now = views.current(output_dir)
    con = views.connect_current(output_dir, now)
    try:
        return _load(con, shown_url(output_dir), now.missing, max_rows)
    finally:
        con.close()


def _load(con: duckdb.DuckDBPyConnection, shown: str, missing: list[MissingFile],
          max_rows: int) -> Report:
    row = _last_run(con)
    if row is None:
        return Report(shown, missing)
    run_id, seeds = row[0], list(row[6] or [])
    con.execute(LAST_EDGES, {"run": run_id})
    con.execute(LAST_DEGREE)
    top = _top_linked(con)
    hood = neighbourhood(con, seeds)
    rated = list(dict.fromkeys([*seeds[:MAX_SEEDS], *(t for t, _ in top)]))[:RATING_LINES]
    previous = _previous(con, run_id)
    pair = _pair_rows(con, previous, run_id, max_rows) if previous else None
    names = names_of(con, {*seeds, *hood.nodes, *rated, *(t for t, _ in top),
                           *(pair.tconsts() if pair else ())})

    def title(tconst: str) -> Title:
        return Title(tconst, names.get(tconst, tconst))

    rating = dict(_rows(con, "SELECT tconst, average_rating FROM ratings_latest WHERE "
                             "list_contains($titles, tconst) AND average_rating IS NOT NULL",
                        {"titles": [t for t, _ in top]}))
    (links,) = _rows(con, "SELECT COUNT(*) FROM last_edges")[0]
    last = LastRun(run_id, row[1], row[2], row[3], row[4], row[5], [title(s) for s in seeds],
                   row[7], row[8], row[9], links)
    return Report(shown, missing, last, _failures(con, run_id), _coverage(con, run_id), hood,
                  [Linked(title(t), n, rating.get(t)) for t, n in top],
                  rating_series(con, rated), names,
                  _changes(pair, title) if pair else None)
