"""``scrapy crawl imdb_datasets`` over large synthetic files: rows/s and peak RSS.

Writes a synthetic ``title.ratings.tsv.gz`` (3,000,000 rows) and
``title.principals.tsv.gz`` (10,000,000 rows: JSON ``characters`` on 40% of the rows, raw
quotes in some jobs) in IMDb's format, serves them with ``python -m http.server`` on
127.0.0.1 (its own process, reading the files from disk), and runs one crawl per file
with ``-a titles=all``, so every row is parsed, typed and written (the heaviest case;
``titles=graph`` writes a few thousand).  For each file it prints:

* rows/s over the reading and writing of the file (decompress, parse, type, write,
  commit), and over the whole run (download, views rebuild and start-up included);
* peak RSS of the crawl child (``ru_maxrss`` from ``os.wait4``: the child and the views
  rebuild it waits for, never the server), which must stay under 300 MB.

    python bench/datasets.py
    python bench/datasets.py --ratings 300000 --principals 1000000   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.local_server import free_port  # noqa: E402

LIMIT_MB = 300
BATCH = 200_000


def write_ratings(path: Path, rows: int) -> None:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as f:
        f.write("tconst\taverageRating\tnumVotes\n")
        for start in range(0, rows, BATCH):
            f.write("".join(f"tt{i:08d}\t{(i % 91) / 10 + 1:.1f}\t{i % 100_003 + 5}\n"
                            for i in range(start, min(rows, start + BATCH))))


def _principal(i: int) -> str:
    title, order = divmod(i, 10)
    category = ("actor", "actress", "director", "writer", "producer")[i % 5]
    job = '"Story" by' if i % 97 == 0 else "\\N"
    characters = f'["Character {i}"]' if i % 5 < 2 else "\\N"
    return f"tt{title:08d}\t{order + 1}\tnm{i % 3_000_000:08d}\t{category}\t{job}\t{characters}\n"


def write_principals(path: Path, rows: int) -> None:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as f:
        f.write("tconst\tordering\tnconst\tcategory\tjob\tcharacters\n")
        for start in range(0, rows, BATCH):
            f.write("".join(_principal(i) for i in range(start, min(rows, start + BATCH))))


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "127.0.0.1", "--directory", str(directory)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/", timeout=1).close()
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("http.server did not start")


def run_file(short: str, base: str, work: Path) -> dict[str, float]:
    out, stats_file = work / f"out-{short}", work / f"stats-{short}.json"
    cmd = [sys.executable, "-m", "scrapy", "crawl", "imdb_datasets", "-a", f"files={short}",
           "-a", "titles=all", "-s", f"IMDB_DATASETS_URL={base}", "-s", f"OUTPUT_DIR={out}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "LOG_LEVEL=INFO",
           "-s", "STATS_CLASS=bench.runstats.JsonFileStats",
           "-s", f"BENCH_STATS_FILE={stats_file}"]
    started = time.perf_counter()
    with open(work / f"{short}.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        tail = (work / f"{short}.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"imdb_datasets files={short} failed:\n{tail}")
    stats = json.loads(stats_file.read_text())
    rows = stats[f"parquet/rows/imdb_title_{short}"]
    return {"rows": rows, "read_seconds": stats[f"imdb_datasets/{short}/seconds"],
            "run_seconds": stats["elapsed_time_seconds"], "wall": wall,
            "rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=3_000_000)
    parser.add_argument("--principals", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-datasets-") as tmp:
        work = Path(tmp)
        files = work / "files"
        files.mkdir()
        started = time.perf_counter()
        write_ratings(files / "title.ratings.tsv.gz", args.ratings)
        write_principals(files / "title.principals.tsv.gz", args.principals)
        sizes = {p.name: p.stat().st_size / 1e6 for p in files.iterdir()}
        print(f"files written in {time.perf_counter() - started:.0f}s: "
              + ", ".join(f"{n} {mb:.0f} MB" for n, mb in sorted(sizes.items())))
        server, base = start_server(files)
        failed = False
        try:
            for short, expected in (("ratings", args.ratings),
                                    ("principals", args.principals)):
                r = run_file(short, base, work)
                if r["rows"] != expected:
                    raise SystemExit(f"{short}: {r['rows']} rows written, {expected} expected")
                ok = r["rss_mb"] < LIMIT_MB
                failed |= not ok
                print(f"title.{short}: {r['rows']:,} rows; read+write {r['read_seconds']:.1f}s "
                      f"= {r['rows'] / r['read_seconds']:,.0f} rows/s; whole run "
                      f"{r['run_seconds']:.1f}s = {r['rows'] / r['run_seconds']:,.0f} rows/s "
                      f"(wall {r['wall']:.1f}s); peak RSS {r['rss_mb']:.0f} MB "
                      f"({'under' if ok else 'OVER'} {LIMIT_MB} MB)")
        finally:
            server.terminate()
            server.wait()
    if failed:
        raise SystemExit(f"peak RSS went over {LIMIT_MB} MB")


if __name__ == "__main__":
    main()
