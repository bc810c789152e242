"""Views benchmark: build ``dataset.duckdb`` and query every view over synthetic Parquet
written straight with pyarrow (bench/synthetic.py, no crawl): N titles, R runs over the
same seeds.

Run 1 fetches every title; each later run fetches a third again (the rest is reused),
re-ranks the edges of 5% of those, and 1% of titles fail.  Each run is a few
chunks, with its commit log and crawl_runs row, as the exporter writes them.

    python bench/views.py                      # 100,000 titles, 10 runs
    python bench/views.py --titles 20000 --runs 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics import views  # noqa: E402
from bench.synthetic import Shape, write  # noqa: E402


def shape(titles: int, runs: int) -> Shape:
    """Run 1 fetches every title, later runs a third (the rest reused); 1% fail, 5% of
    the fetched re-rank their links; 4 credits a title; 4 chunks in run 1."""
    return Shape(titles=titles, runs=runs, edges=12, credits=4, refetch=1 / 3, fail=0.01,
                 rerank=0.05, chunk_titles=max(1, titles // 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-views-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        write(out, shape(args.titles, args.runs))
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
