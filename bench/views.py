"""Views benchmark: build ``dataset.duckdb`` and query every view over synthetic Parquet
written straight with pyarrow (no crawl): N titles, R runs over the same seeds.

Run 1 fetches every title; each later run fetches a third again (the rest is reused),
re-ranks the edges of 5% of those, and 1% of titles fail.  Each run is 4 chunks, with
its commit log and crawl_runs row, as the exporter writes them.

    python bench/views.py                      # 100,000 titles, 10 runs
    python bench/views.py --titles 20000 --runs 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import views  # noqa: E402
from crawler.state.dataset import commit_log, final_name  # noqa: E402
from pipelines.schemas import SCHEMAS  # noqa: E402

EDGES = 12
CREDITS = 4
CHUNKS = 4


def table(name: str, columns: dict[str, pa.Array | list]) -> pa.Table:
    """The table's full schema: given columns, nulls for the rest."""
    schema = SCHEMAS[name]
    n = len(next(iter(columns.values())))
    arrays = [pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(n, f.type)
              for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_run(out: Path, run_id: str, day: datetime, tables: dict[str, pa.Table]) -> None:
    part = f"crawl_date={day.date().isoformat()}"
    for name, t in tables.items():
        if t.num_rows == 0:
            continue
        step = -(-t.num_rows // CHUNKS)
        for chunk in range(CHUNKS if name != "crawl_runs" else 1):
            piece = t.slice(chunk * step, step) if name != "crawl_runs" else t
            d = out / name / part
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(piece, d / final_name(run_id, chunk if name != "crawl_runs"
                                                 else CHUNKS), compression="zstd")
    log = commit_log(out, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(f"{c}\n" for c in range(CHUNKS + 1)), encoding="ascii")


def make(out: Path, n: int, runs: int) -> None:
    rng = np.random.default_rng(0)
    tconsts = np.array([f"tt{9_000_001 + i}" for i in range(n)], dtype=object)
    targets = rng.integers(0, n, size=(n, EDGES))
    rating = np.round(rng.uniform(1, 10, n), 1)
    last_fetch: dict[str, np.ndarray] = {}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for r in range(runs):
        run_id = f"R{r:02d}"
        t0 = start + timedelta(days=7 * r)
        fetched = np.arange(n) if r == 0 else np.sort(rng.choice(n, n // 3, replace=False))
        failed = np.sort(rng.choice(n, n // 100, replace=False))
        fetched = np.setdiff1d(fetched, failed) if r else fetched
        reused = np.setdiff1d(np.setdiff1d(np.arange(n), fetched), failed) if r else \
            np.array([], dtype=int)
        at = np.array([t0 + timedelta(microseconds=int(i)) for i in fetched], dtype=object)
        shuffle = fetched[rng.random(len(fetched)) < 0.05]
        targets[shuffle] = targets[shuffle][:, ::-1]
        rating[fetched] = np.round(np.clip(rating[fetched] + rng.normal(0, .1, len(fetched)),
                                           1, 10), 1)
        ids = tconsts[fetched]
        stamp = {"run_id": [run_id] * len(fetched), "crawled_at": at}
        ranks = np.tile(np.arange(1, EDGES + 1), len(fetched))
        tables = {
            "titles": table("titles", {"tconst": ids, "primary_title": ids, "depth":
                                       np.zeros(len(ids), np.int32), **stamp}),
            "ratings": table("ratings", {"tconst": ids, "average_rating": rating[fetched],
                                         "num_votes": fetched * 10, **stamp}),
            "credits": table("credits", {
                "tconst": np.repeat(ids, CREDITS),
                "ordering": np.tile(np.arange(1, CREDITS + 1), len(ids)),
                "nconst": [f"nm{i:07d}" for i in range(len(ids) * CREDITS)],
                "run_id": [run_id] * (len(ids) * CREDITS),
                "crawled_at": np.repeat(at, CREDITS)}),
            "more_like_this": table("more_like_this", {
                "tconst": np.repeat(ids, EDGES),
                "similar_tconst": tconsts[targets[fetched].ravel()], "rank": ranks,
                "run_id": [run_id] * (len(ids) * EDGES), "crawled_at": np.repeat(at, EDGES)}),
            "failures": table("failures", {
                "tconst": tconsts[failed], "reason": ["http_503"] * len(failed),
                "http_status": [503] * len(failed), "run_id": [run_id] * len(failed),
                "crawled_at": [t0 + timedelta(hours=1)] * len(failed)}),
            "reused": table("reused", {
                "tconst": tconsts[reused], "fetched_run_id": [
                    last_fetch["run"][i] for i in reused] if r else [],
                "fetched_at": [last_fetch["at"][i] for i in reused] if r else [],
                "run_id": [run_id] * len(reused),
                "crawled_at": [t0 + timedelta(hours=2)] * len(reused)}),
            "crawl_runs": table("crawl_runs", {
                "run_id": [run_id], "started_at": [t0], "finished_at": [t0 + timedelta(hours=3)],
                "arguments": ['{"seed": "tt9000001"}'], "seeds": [["tt9000001"]],
                "depth": [99], "max_titles": [n], "finish_reason": ["finished"],
                "titles_rows": [len(fetched)], "ratings_rows": [len(fetched)],
                "credits_rows": [len(fetched) * CREDITS],
                "more_like_this_rows": [len(fetched) * EDGES],
                "failures_rows": [len(failed)], "aliases_rows": [0],
                "reused_rows": [len(reused)], "crawled_at": [t0 + timedelta(hours=3)]}),
        }
        write_run(out, run_id, t0, tables)
        if r == 0:
            last_fetch = {"run": np.array([run_id] * n, dtype=object),
                          "at": np.array([None] * n, dtype=object)}
        last_fetch["run"][fetched] = run_id
        last_fetch["at"][fetched] = at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-views-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        make(out, args.titles, args.runs)
        print(f"data: {args.titles:,} titles x {args.runs} runs written in "
              f"{time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        db = views.build(out)
        print(f"build: {time.perf_counter() - started:.2f} s")
        con = duckdb.connect(str(db), read_only=True)
        for view in views.VIEWS:
            started = time.perf_counter()
            (rows,) = con.execute(f"SELECT COUNT(*) FROM (SELECT * FROM {view})").fetchone()
            print(f"{view}: {rows:,} rows in {time.perf_counter() - started:.2f} s")
        con.close()


if __name__ == "__main__":
    main()
