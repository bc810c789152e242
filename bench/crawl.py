"""End-to-end crawl benchmark: the real spider against a synthetic graph of real-sized pages.

Starts the local mirror (``python -m mirror --synthetic N --pad BYTES``) in its
own process, crawls it breadth-first from the first synthetic title, and prints
pages/s, the crawler's peak RSS and the rows written.  Run at two sizes to see
that memory does not grow with the crawl:

    python bench/crawl.py                 # 1,000 and 5,000 titles, ~900 KB pages
    python bench/crawl.py --titles 2000 --pad 900000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds

ROOT = Path(__file__).resolve().parent.parent


def start_mirror(titles: int, pad: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirror", "--synthetic", str(titles), "--pad", str(pad),
         "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"mirror did not start: {base_url!r}")
    return proc, base_url


def crawl(base_url: str, titles: int, out: Path, concurrency: int) -> dict[str, float]:
    seed = "tt9000001"
    cmd = [
        sys.executable, "-m", "scrapy", "crawl", "more_like_this",
        "-a", f"seed={seed}", "-a", "depth=50", "-a", f"max_titles={titles}",
        "-s", f"IMDB_BASE_URL={base_url}", "-s", f"OUTPUT_DIR={out}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", f"CONCURRENT_REQUESTS={concurrency}",
        "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
        "-s", "LOG_LEVEL=WARNING", "-s", "PROGRESS_INTERVAL=0",
    ]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    # Peak RSS of the finished child (the crawler; the mirror is still running).
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows = {}
    for table in ("titles", "ratings", "credits", "more_like_this", "failures"):
        path = out / table
        rows[table] = ds.dataset(path, partitioning="hive").count_rows() if path.exists() else 0
    return {"seconds": elapsed, "pages_per_s": rows["titles"] / elapsed,
            "peak_rss_mb": peak_kb / 1024, **{f"rows_{k}": v for k, v in rows.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--pad", type=int, default=900_000, help="page size in bytes")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    for n in args.titles:
        # A fresh child per size, so RUSAGE_CHILDREN's peak is this crawl's alone.
        code = (
            f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from bench.crawl import measure; "
            f"print(json.dumps(measure({n}, {args.pad}, {args.concurrency})))"
        )
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                             text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{n:>6} titles, pages of {args.pad // 1000} KB, concurrency {args.concurrency}: "
              f"{r['pages_per_s']:.1f} pages/s ({r['seconds']:.1f} s), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB, rows: "
              + ", ".join(f"{k[5:]} {int(v)}" for k, v in r.items() if k.startswith("rows_")))


def measure(titles: int, pad: int, concurrency: int) -> dict[str, float]:
    # The mirror is started from here too, but it is a child that keeps running while
    # the crawl child finishes, so only the crawler is in RUSAGE_CHILDREN when it is read.
    mirror, base_url = start_mirror(titles + 100, pad)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return crawl(base_url, titles, Path(tmp) / "output", concurrency)
    finally:
        mirror.kill()
        mirror.wait()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
