"""Kill anywhere: a crawl SIGKILLed N times at random moments of its commits
(``PARQUET_COMMIT_ROWS=1``, a commit per title; each kill lands as soon as a random
number of further commits is in the commit logs, so often between a commit and its
renames), then run once to the end, without JOBDIR.  Prints, per table, what a plain
``read_parquet('OUTPUT_DIR/<table>/**/*.parquet')`` counts and what the views count
(they must agree), the hidden files left, and the runs' finish reasons.

    python bench/kill_anywhere.py              # 15 kills (issue 19)
    python bench/kill_anywhere.py --kills 40 --seed 3
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mirror.server import MirrorServer  # noqa: E402
from mirror.synthetic import synthetic_graph, tconst_of  # noqa: E402

TABLES = ("titles", "failures", "more_like_this", "credits", "crawl_runs")


def command(base_url: str, out: Path) -> list[str]:
    settings = {"IMDB_BASE_URL": base_url, "OUTPUT_DIR": str(out), "DOWNLOAD_DELAY": "0",
                "AUTOTHROTTLE_ENABLED": "False", "PARQUET_COMMIT_ROWS": "1",
                "LOG_LEVEL": "ERROR"}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this", "-a",
           f"seed={tconst_of(1)}", "-a", "depth=3"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def commit_lines(out: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in (out / "_state").glob("*.commits"))


def kill_after(cmd: list[str], out: Path, commits: int) -> None:
    target = commit_lines(out) + commits
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while commit_lines(out) < target and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def counts(out: Path) -> list[tuple[str, int, int]]:
    con = duckdb.connect(str(out / "dataset.duckdb"), read_only=True)
    rows = []
    for table in TABLES:
        (views,) = con.execute(f"SELECT count(*) FROM {table}_raw").fetchall()[0]
        with duckdb.connect() as plain:
            glob = plain.execute(f"SELECT count(*) FROM read_parquet("
                                 f"'{out}/{table}/**/*.parquet')").fetchall()[0][0]
        rows.append((table, int(glob), int(views)))
    con.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="kill-anywhere-") as tmp, \
            MirrorServer(records=synthetic_graph(60, out_degree=4, seed=3)) as mirror:
        out = Path(tmp) / "out"
        cmd = command(mirror.base_url, out)
        started = time.monotonic()
        for _ in range(args.kills):
            kill_after(cmd, out, rng.randint(1, 12))
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        print(f"{args.kills} kills, then a complete run (exit {done.returncode}) in "
              f"{time.monotonic() - started:.1f} s")
        print("| table | glob | views |\n|---|---|---|")
        for table, glob, views in counts(out):
            print(f"| {table} | {glob} | {views} |{'' if glob == views else '  <- differs'}")
        print(f"hidden files left: {len(list(out.rglob('.*.tmp')))}")
        with duckdb.connect(str(out / "dataset.duckdb"), read_only=True) as con:
            reasons = Counter(r for (r,) in con.execute("SELECT finish_reason FROM runs")
                              .fetchall())
        print(f"runs: {dict(reasons)}")


if __name__ == "__main__":
    main()
