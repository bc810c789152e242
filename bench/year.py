"""A year of daily runs: the views rebuilt, typical queries, ``scrapy report`` and
``scrapy compact`` over ~9,000 committed files (bench/synthetic.py, no crawl).

366 daily runs of a depth-3 crawl capped at 300 titles (every title fetched again each
day, 1% failing, 5% re-ranking their 12 links, 4 credits a title), each committed in 5
chunks, the last run's day yesterday.  Each step is a process of its own, timed from
start to exit, with its peak RSS (``ru_maxrss`` of that child alone):

1. the views built with no ``dataset.duckdb`` yet (every file's footer read once);
2. the views rebuilt as a run's end rebuilds them: one day's files new since the last
   build (the last run's commit log is held back until then);
3. typical queries on ``dataset.duckdb``, each on a fresh connection;
4. ``scrapy report``;
5. ``scrapy compact``, then 2-4 again over the compacted files.

    python bench/year.py
    python bench/year.py --days 30 --keep /tmp/year   # keep OUTPUT_DIR to look at
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import Shape, write  # noqa: E402

QUERIES = {
    "titles_latest: count": "SELECT COUNT(*) FROM titles_latest",
    "ratings_history: one title": "SELECT * FROM ratings_history WHERE tconst = 'tt9000007' "
                                  "ORDER BY observed_at",
    "similarity_changes: last pair of runs":
        "SELECT COUNT(*) FROM similarity_changes c JOIN run_pairs p "
        "USING (old_run_id, new_run_id) WHERE p.new_run_id = "
        "(SELECT run_id FROM run_timeline ORDER BY position DESC LIMIT 1)",
    "runs: every run": "SELECT COUNT(*), SUM(titles_fetched) FROM runs",
    "more_like_this_latest: one title": "SELECT * FROM more_like_this_latest "
                                        "WHERE tconst = 'tt9000001' ORDER BY rank",
}


def shape(days: int) -> Shape:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Shape(titles=300, runs=days, edges=12, credits=4, refetch=1.0, fail=0.01,
                 rerank=0.05, chunk_titles=60, start=start - timedelta(days=days))


def run(cmd: list[str]) -> tuple[str, float, str]:
    """("wall s (CPU s)", peak RSS in MB of this child alone, stdout).  CPU is user + system
    time: on a shared machine it moves less than the wall time."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])}... exited {proc.returncode}: {err.decode()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return f"{seconds:.2f} s (CPU {cpu:.2f} s)", usage.ru_maxrss / 1024, out.decode()


def queries(db: str) -> None:
    """In a child: each query's seconds on a fresh read-only connection, as JSON."""
    import duckdb

    timings = {}
    for name, sql in QUERIES.items():
        started = time.perf_counter()
        con = duckdb.connect(db, read_only=True)
        con.execute(sql).fetchall()
        con.close()
        timings[name] = time.perf_counter() - started
    print(json.dumps(timings))


def measure(out: Path, label: str, rebuild: str) -> None:
    py = sys.executable
    took, peak, _ = run([py, "-m", "analytics.views", str(out)])
    print(f"{label}: views rebuilt ({rebuild}): {took}, peak RSS {peak:.0f} MB")
    took, peak, text = run([py, __file__, "--queries", str(out / "dataset.duckdb")])
    for name, s in json.loads(text).items():
        print(f"{label}:   {name}: {s:.2f} s")
    print(f"{label}:   (the query process: {took}, peak RSS {peak:.0f} MB)")
    took, peak, _ = run([py, "-m", "scrapy", "report", "-s", f"OUTPUT_DIR={out}"])
    print(f"{label}: scrapy report: {took}, peak RSS {peak:.0f} MB")


def files(out: Path) -> int:
    return sum(1 for _ in out.glob("*/crawl_date=*/*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--keep", type=Path, help="write OUTPUT_DIR here and keep it")
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.queries:
        queries(args.queries)
        return
    with tempfile.TemporaryDirectory(prefix="bench-year-") as tmp:
        out = args.keep or Path(tmp) / "out"
        started = time.perf_counter()
        run_ids = write(out, shape(args.days))
        print(f"data: {args.days} daily runs, {files(out):,} files, written in "
              f"{time.perf_counter() - started:.0f} s")
        held = out / "_state" / f"{run_ids[-1]}.commits"
        held.rename(held.with_name(".held"))
        took, peak, _ = run([sys.executable, "-m", "analytics.views", str(out)])
        print(f"views built, no dataset.duckdb before: {took}, peak RSS {peak:.0f} MB")
        held.with_name(".held").rename(held)
        measure(out, "before compaction", "one day's files new")
        before = files(out)
        took, peak, _ = run([sys.executable, "-m", "scrapy", "compact",
                                   "-s", f"OUTPUT_DIR={out}"])
        print(f"scrapy compact: {before:,} files -> {files(out):,} in {took} "
              f"(views rebuilt in it), peak RSS {peak:.0f} MB")
        measure(out, "after compaction", "nothing new")


if __name__ == "__main__":
    main()
