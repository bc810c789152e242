"""Report benchmark: ``scrapy report`` over a large synthetic OUTPUT_DIR.

Writes N titles x R runs of committed Parquet (titles, ratings, 12 "More like this"
links a title, a few failures, crawl_runs rows and commit logs; each run moves 5% of
the ratings and rewires 1% of the links), then times ``scrapy report`` end to end and
prints its seconds, peak RSS and the page's size.

    python bench/report.py                        # 100,000 titles, 10 runs
    python bench/report.py --titles 20000 --runs 3
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mirror.synthetic import tconst_of  # noqa: E402
from pipelines.schemas import SCHEMAS  # noqa: E402

EDGES = 12
SEEDS = 2


def write_table(out: Path, table: str, run_id: str, day: str, chunk: int,
                columns: dict[str, pa.Array]) -> None:
    schema = SCHEMAS[table]
    n = len(next(iter(columns.values())))
    arrays = [columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
              for f in schema]
    part = out / table / f"crawl_date={day}"
    part.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema),
                   part / f"{run_id}-{chunk:05d}.parquet", compression="zstd")


def write_runs(out: Path, n: int, runs: int) -> None:
    rng = np.random.default_rng(0)
    ids = pa.array([tconst_of(i) for i in range(1, n + 1)], pa.string())
    names = pa.array([f"Synthetic Title {i}" for i in range(1, n + 1)], pa.string())
    # Popular titles are linked more often: a skewed target choice, like the real graph.
    targets = (rng.zipf(1.3, size=(n, EDGES)) - 1) % n
    rating = np.round(rng.uniform(3, 9, n), 1)
    votes = rng.integers(20, 2_500_000, n)
    (out / "_state").mkdir(parents=True)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for r in range(runs):
        at = start + timedelta(days=r)
        run_id = f"{at:%Y%m%dT%H%M%SZ}-bench{r:03d}"
        day = f"{at:%Y-%m-%d}"
        moved = rng.random(n) < 0.05
        rating = np.where(moved, np.clip(np.round(rating + rng.normal(0, 0.2, n), 1), 1, 10),
                          rating)
        rewired = rng.random(n) < 0.01
        targets[rewired, EDGES - 1] = rng.integers(0, n, int(rewired.sum()))
        stamp = {"run_id": pa.array([run_id] * n), "crawled_at": pa.array([at] * n)}
        write_table(out, "titles", run_id, day, 0,
                    {"tconst": ids, "primary_title": names, "depth": pa.array([2] * n),
                     **stamp})
        write_table(out, "ratings", run_id, day, 1,
                    {"tconst": ids, "average_rating": pa.array(rating),
                     "num_votes": pa.array(votes), **stamp})
        flat = targets.reshape(-1)
        write_table(out, "more_like_this", run_id, day, 2, {
            "tconst": ids.take(pa.array(np.repeat(np.arange(n), EDGES))),
            "similar_tconst": ids.take(pa.array(flat)),
            "similar_primary_title": names.take(pa.array(flat)),
            "rank": pa.array(np.tile(np.arange(1, EDGES + 1), n)),
            "run_id": pa.array([run_id] * (n * EDGES)),
            "crawled_at": pa.array([at] * (n * EDGES))})
        failed = [f"tt8{i:06d}" for i in range(1, 51)]
        write_table(out, "failures", run_id, day, 3, {
            "tconst": pa.array(failed), "reason": pa.array(["not_found"] * 40 + ["http_503"] * 10),
            "run_id": pa.array([run_id] * 50), "crawled_at": pa.array([at] * 50)})
        write_table(out, "crawl_runs", run_id, day, 4, {
            "run_id": pa.array([run_id]), "started_at": pa.array([at]),
            "finished_at": pa.array([at + timedelta(hours=1)]),
            "seeds": pa.array([[tconst_of(i) for i in range(1, SEEDS + 1)]]),
            "finish_reason": pa.array(["finished"]), "titles_rows": pa.array([n]),
            "crawled_at": pa.array([at + timedelta(hours=1)])})
        (out / "_state" / f"{run_id}.commits").write_text("0\n1\n2\n3\n4\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        t = time.perf_counter()
        write_runs(out, args.titles, args.runs)
        print(f"wrote {args.titles:,} titles x {args.runs} runs "
              f"({args.titles * EDGES * args.runs:,} links) in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "scrapy", "report", "-s",
                               f"OUTPUT_DIR={out}"], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size = (out / "report.html").stat().st_size / 1024
        print(f"scrapy report: {elapsed:.1f} s, peak RSS {peak:.0f} MB, report.html {size:.0f} KB")


if __name__ == "__main__":
    main()
