"""Report benchmark: ``scrapy report`` over a large synthetic OUTPUT_DIR.

Writes N titles x R runs of committed Parquet (bench/synthetic.py: titles, ratings, 12
"More like this" links a title, a few failures, crawl_runs rows and commit logs; each
run moves 5% of the ratings and rewires 1% of the links), then times ``scrapy report``
end to end and prints its seconds, peak RSS and the page's size.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import Shape, write  # noqa: E402

EDGES = 12


def shape(titles: int, runs: int) -> Shape:
    """Every run fetches every title (one chunk a run), moves 5% of the ratings, rewires
    1% of the links and fails 0.05% of the titles; links Zipf-skewed; two seeds."""
    return Shape(titles=titles, runs=runs, edges=EDGES, rating_moves=0.05, rewire=0.01,
                 fail=0.0005, skew=1.3, seeds=2, chunk_titles=titles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        t = time.perf_counter()
        write(out, shape(args.titles, args.runs))
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
