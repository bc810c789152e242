"""One synthetic OUTPUT_DIR for the benchmarks: committed Parquet written straight with
pyarrow (no crawl), laid out as the exporter lays it out (chunks under
``<table>/crawl_date=.../<run_id>-<chunk>.parquet``, a commit log per run, the run's
crawl_runs row as its last chunk).

N titles (``tconst_of(1..N)``, "Synthetic Title i"), R runs over the same seeds, a day
apart from ``start``.  Run 1 fetches every title.  Each later run fetches ``refetch`` of
them again and reuses the rest (``reused`` rows naming the fetch they stand for);
``fail`` of them fail instead.  A fetched title has ``edges`` "More like this" links
(targets uniform, or Zipf-skewed like the real graph's with ``skew``), ``credits``
credits rows and a rating.
Between runs, among the titles fetched: ``rating_moves`` of the ratings move,
``rerank`` of the titles show their links in reverse order, and ``rewire`` of them
point their last link elsewhere.

Used by bench/report.py, bench/views.py and bench/refresh.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from crawler.state.dataset import commit_log, final_name
from mirror.synthetic import tconst_of
from pipelines.schemas import SCHEMAS

START = datetime(2026, 11, 1, tzinfo=UTC)
TABLES = ("titles", "ratings", "credits", "more_like_this", "failures", "reused",
          "crawl_runs")
REASONS = ("not_found", "http_503")


@dataclass(frozen=True)
class Shape:
    titles: int
    runs: int = 1
    edges: int = 12
    credits: int = 0
    refetch: float = 1.0
    fail: float = 0.0
    rating_moves: float = 0.05
    rerank: float = 0.0
    rewire: float = 0.0
    skew: float | None = None
    seeds: int = 1
    chunk_titles: int = 25_000
    tables: tuple[str, ...] = TABLES
    random_seed: int = 0
    start: datetime = START  # the first run's day (each later run a day after)


def run_id_of(run: int, start: datetime = START) -> str:
    return f"{start + timedelta(days=run):%Y%m%dT%H%M%SZ}-bench{run:03d}"


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def _timestamps(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), type=pa.timestamp("us", tz="UTC"))


def table(name: str, columns: dict[str, pa.Array | np.ndarray | list]) -> pa.Table:
    """The table's full schema: the given columns, nulls for the rest."""
    schema = SCHEMAS[name]
    n = len(next(iter(columns.values())))
    arrays = []
    for f in schema:
        value = columns.get(f.name)
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, pa.Array):
            arrays.append(value.cast(f.type))
        else:
            arrays.append(pa.array(value, f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


@dataclass
class _State:
    """What the dataset holds between runs: each title's links, rating and last fetch."""

    shape: Shape
    rng: np.random.Generator
    ids: pa.Array
    names: pa.Array
    targets: np.ndarray
    rating: np.ndarray
    votes: np.ndarray
    fetched_run: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    fetched_at: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))

    @classmethod
    def new(cls, shape: Shape) -> _State:
        rng = np.random.default_rng(shape.random_seed)
        n = shape.titles
        if shape.skew:  # popular titles are linked more often
            targets = (rng.zipf(shape.skew, size=(n, shape.edges)) - 1) % n
        else:
            targets = rng.integers(0, n, size=(n, shape.edges))
        _distinct(targets, np.arange(n), rng)
        return cls(shape, rng,
                   pa.array([tconst_of(i) for i in range(1, n + 1)], pa.string()),
                   pa.array([f"Synthetic Title {i}" for i in range(1, n + 1)], pa.string()),
                   targets, np.round(rng.uniform(3, 9, n), 1),
                   rng.integers(20, 2_500_000, n),
                   np.full(n, None, dtype=object), np.zeros(n, dtype=np.int64))

    def outcomes(self, run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fetched, failed, reused) title indexes of a run, sorted."""
        n, shape = self.shape.titles, self.shape
        everyone = np.arange(n)
        if run == 0:
            return everyone, everyone[:0], everyone[:0]
        failed = np.sort(self.rng.choice(n, int(n * shape.fail), replace=False))
        fetched = everyone if shape.refetch >= 1 else np.sort(
            self.rng.choice(n, int(n * shape.refetch), replace=False))
        fetched = np.setdiff1d(fetched, failed)
        return fetched, failed, np.setdiff1d(everyone, np.union1d(fetched, failed))

    def change(self, fetched: np.ndarray) -> None:
        """Between two fetches: ratings move, links are re-ranked and rewired."""
        shape, rng, k = self.shape, self.rng, len(fetched)
        moved = fetched[rng.random(k) < shape.rating_moves]
        self.rating[moved] = np.clip(
            np.round(self.rating[moved] + rng.normal(0, 0.2, len(moved)), 1), 1, 10)
        reranked = fetched[rng.random(k) < shape.rerank]
        self.targets[reranked] = self.targets[reranked][:, ::-1]
        rewired = fetched[rng.random(k) < shape.rewire]
        self.targets[rewired, -1] = rng.integers(0, shape.titles, len(rewired))
        _distinct(self.targets, rewired, rng)


def _distinct(targets: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> None:
    """No title links twice to one title (as on IMDb): a repeated target of ``rows`` (its
    later ranks) is drawn again, uniformly, until none repeats."""
    while len(rows):
        block = targets[rows]
        order = np.argsort(block, axis=1, kind="stable")
        ordered = np.take_along_axis(block, order, axis=1)
        repeated = np.zeros_like(block, dtype=bool)
        repeated[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        again = np.zeros_like(repeated)
        np.put_along_axis(again, order, repeated, axis=1)
        block[again] = rng.integers(0, len(targets), int(again.sum()))
        targets[rows] = block
        rows = rows[again.any(axis=1)]


def _page_tables(s: _State, run_id: str, fetched: np.ndarray,
                 at: np.ndarray) -> dict[str, pa.Table]:
    """titles, ratings, credits and more_like_this rows of the titles a run fetched."""
    k, edges, credits = len(fetched), s.shape.edges, s.shape.credits
    ids = s.ids.take(pa.array(fetched))
    stamp = {"run_id": [run_id] * k, "crawled_at": _timestamps(at)}
    flat = pa.array(s.targets[fetched].ravel())
    return {
        "titles": table("titles", {"tconst": ids, "primary_title": s.names.take(
            pa.array(fetched)), "depth": np.zeros(k, np.int32), **stamp}),
        "ratings": table("ratings", {"tconst": ids, "average_rating": s.rating[fetched],
                                     "num_votes": s.votes[fetched], **stamp}),
        "credits": table("credits", {
            "tconst": ids.take(pa.array(np.repeat(np.arange(k), credits))),
            "ordering": np.tile(np.arange(1, credits + 1), k),
            "nconst": [f"nm{i:07d}" for i in range(k * credits)],
            "run_id": [run_id] * (k * credits),
            "crawled_at": _timestamps(np.repeat(at, credits))}),
        "more_like_this": table("more_like_this", {
            "tconst": ids.take(pa.array(np.repeat(np.arange(k), edges))),
            "similar_tconst": s.ids.take(flat), "similar_primary_title": s.names.take(flat),
            "rank": np.tile(np.arange(1, edges + 1), k), "run_id": [run_id] * (k * edges),
            "crawled_at": _timestamps(np.repeat(at, edges))}),
    }


def _other_tables(s: _State, run: int, failed: np.ndarray, reused: np.ndarray,
                  fetched: int) -> dict[str, pa.Table]:
    """failures, reused and crawl_runs rows of a run."""
    shape = s.shape
    run_id, t0 = run_id_of(run, shape.start), shape.start + timedelta(days=run)
    return {
        "failures": table("failures", {
            "tconst": s.ids.take(pa.array(failed, pa.int64())),
            "reason": [REASONS[i % 2] for i in range(len(failed))],
            "http_status": [404 if i % 2 == 0 else 503 for i in range(len(failed))],
            "run_id": [run_id] * len(failed),
            "crawled_at": [t0 + timedelta(hours=1)] * len(failed)}),
        "reused": table("reused", {
            "tconst": s.ids.take(pa.array(reused, pa.int64())),
            "fetched_run_id": s.fetched_run[reused],
            "fetched_at": _timestamps(s.fetched_at[reused]),
            "run_id": [run_id] * len(reused),
            "crawled_at": [t0 + timedelta(hours=2)] * len(reused)}),
        "crawl_runs": table("crawl_runs", {
            "run_id": [run_id], "started_at": [t0], "finished_at": [t0 + timedelta(hours=3)],
            "arguments": ['{"seed": "tt9000001"}'],
            "seeds": [[tconst_of(i) for i in range(1, shape.seeds + 1)]],
            "depth": [99], "max_titles": [shape.titles], "finish_reason": ["finished"],
            "titles_rows": [fetched], "ratings_rows": [fetched],
            "credits_rows": [fetched * shape.credits],
            "more_like_this_rows": [fetched * shape.edges], "failures_rows": [len(failed)],
            "aliases_rows": [0], "reused_rows": [len(reused)],
            "crawled_at": [t0 + timedelta(hours=3)]}),
    }


def _write_run(out: Path, s: _State, run_id: str, day: datetime,
               tables: dict[str, pa.Table], fetched: int) -> None:
    """Each table in the run's chunks (``chunk_titles`` titles each; the crawl_runs row
    last), then the commit log."""
    chunks = max(1, -(-fetched // s.shape.chunk_titles))
    part = f"crawl_date={day.date().isoformat()}"
    for name, t in tables.items():
        if name not in s.shape.tables or t.num_rows == 0:
            continue
        pieces = [(chunks, t)] if name == "crawl_runs" else [
            (c, t.slice(c * -(-t.num_rows // chunks), -(-t.num_rows // chunks)))
            for c in range(chunks)]
        d = out / name / part
        d.mkdir(parents=True, exist_ok=True)
        for chunk, piece in pieces:
            if piece.num_rows:
                pq.write_table(piece, d / final_name(run_id, chunk), compression="zstd")
    log = commit_log(out, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(f"{c}\n" for c in range(chunks + 1)), encoding="ascii")


def write(out: Path, shape: Shape) -> list[str]:
    """Write the dataset into ``out``; returns its run ids, oldest first."""
    s = _State.new(shape)
    run_ids = []
    for run in range(shape.runs):
        run_id, t0 = run_id_of(run, shape.start), shape.start + timedelta(days=run)
        fetched, failed, reused = s.outcomes(run)
        if run:
            s.change(fetched)
        at = _micros(t0) + np.arange(len(fetched), dtype=np.int64)
        tables = {**_page_tables(s, run_id, fetched, at),
                  **_other_tables(s, run, failed, reused, len(fetched))}
        _write_run(out, s, run_id, t0, tables, len(fetched))
        s.fetched_run[fetched] = run_id
        s.fetched_at[fetched] = at
        run_ids.append(run_id)
    return run_ids
