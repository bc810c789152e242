"""Refresh benchmark: what a scheduled re-crawl costs (``-a refresh``).

Prints three figures:

1. reading the previous state (``crawler.state.history.History.load``) of an OUTPUT_DIR
   holding N committed titles with 12 edges each: seconds and peak RSS;
2. a refresh run right after a full run of the same arguments: title requests and
   seconds (every title is reused);
3. the same when half of the titles are older than the window: title requests
   (exactly the stale half) and seconds.

    python bench/refresh.py                    # 100,000 titles of state, 1,000-title crawls
    python bench/refresh.py --state 20000 --titles 300
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic import Shape, write  # noqa: E402
from crawler.state.dataset import committed_paths  # noqa: E402
from mirror.server import MirrorServer  # noqa: E402
from mirror.synthetic import SyntheticGraph  # noqa: E402

EDGES = 12
CHUNK = 5000


def write_state(out: Path, n_titles: int) -> None:
    """A committed OUTPUT_DIR of one run: n titles, 12 edges each, in chunks of 5,000
    (titles and more_like_this only: what History.load reads).  Written by a process of
    its own: Linux carries a parent's peak RSS into the child it starts, and the
    loader's figures must not include the writer's."""
    writer = multiprocessing.get_context("spawn").Process(
        target=write, args=(out, Shape(titles=n_titles, runs=1, edges=EDGES,
                                       chunk_titles=CHUNK,
                                       tables=("titles", "more_like_this"))))
    writer.start()
    writer.join()
    if writer.exitcode != 0:
        raise SystemExit(f"writing the state failed ({writer.exitcode})")


LOAD = """
import resource, sys, time
from crawler.state.history import History
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
h = History.load(sys.argv[1])
elapsed = time.perf_counter() - t
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert len(h) == int(sys.argv[2]) and len(h.edges(["tt9000001"])["tt9000001"]) == 12
t = time.perf_counter()
names = [f"tt{9000000 + i}" for i in range(1, int(sys.argv[2]) + 1)]
edges = sum(len(v) for i in range(0, len(names), 10000)
            for v in h.edges(names[i:i + 10000]).values())
per_level = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{elapsed:.2f} {before / 1024:.0f} {after / 1024:.0f} {per_level:.2f} {edges} "
      f"{peak / 1024:.0f}")
"""


def bench_state(n_titles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        write_state(out, n_titles)
        proc = subprocess.run([sys.executable, "-c", LOAD, str(out), str(n_titles)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        seconds, before, after, edge_seconds, edges, peak = proc.stdout.split()
        print(f"previous state of {n_titles:,} titles ({n_titles * EDGES:,} edges): "
              f"loaded in {seconds} s, +{int(after) - int(before)} MB "
              f"(peak RSS {after} MB, {before} MB of it the interpreter and pyarrow)")
        print(f"  edges of all {n_titles:,} titles read 10,000 at a time (as levels are): "
              f"{edge_seconds} s for {int(edges):,} edges, peak RSS {peak} MB")


class ClosedGraph(Mapping[str, dict]):
    """A synthetic graph without its links to titles outside it: no title fails."""

    def __init__(self, n_titles: int) -> None:
        self.graph = SyntheticGraph(n_titles, out_degree=12)

    def __getitem__(self, tconst: str) -> dict:
        record = dict(self.graph[tconst])
        record["more_like_this"] = [c for c in record["more_like_this"]
                                    if c["tconst"] in self.graph]
        return record

    def __iter__(self) -> Iterator[str]:
        return iter(self.graph)

    def __len__(self) -> int:
        return len(self.graph)


def crawl(base_url: str, out: Path, titles: int, refresh: str) -> float:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this", "-a", "seed=tt9000001",
           "-a", "depth=50", "-a", f"max_titles={titles}", "-a", f"refresh={refresh}",
           "-s", f"IMDB_BASE_URL={base_url}", "-s", f"OUTPUT_DIR={out}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
           "-s", "CONCURRENT_REQUESTS=8", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
           "-s", "LOG_LEVEL=WARNING", "-s", "PROGRESS_INTERVAL=0"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return time.perf_counter() - started


def age_half(out: Path, by: timedelta) -> int:
    """Make every other title of the run look fetched ``by`` earlier; how many."""
    titles = pa.concat_tables(pq.read_table(p, columns=["tconst"])
                              for p in committed_paths(out, "titles"))
    stale = pa.array(sorted(titles.column("tconst").to_pylist())[::2])
    for table in ("titles", "ratings", "credits", "more_like_this"):
        for path in committed_paths(out, table):
            t = pq.read_table(path)
            mask = pc.is_in(t.column("tconst"), value_set=stale)
            at = t.schema.get_field_index("crawled_at")
            t = t.set_column(at, t.schema.field(at), pc.if_else(
                mask, pc.subtract(t.column(at), pa.scalar(by)), t.column(at)))
            pq.write_table(t, path)
    return len(stale)


def title_requests(mirror: MirrorServer) -> int:
    return sum(n for p, n in mirror.hits.items() if p.startswith("/title/"))


def bench_refresh(titles: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, MirrorServer(records=ClosedGraph(titles)) as m:
        out = Path(tmp) / "out"
        full = crawl(m.base_url, out, titles, "0")
        fetched = title_requests(m)
        print(f"full run: {fetched:,} title requests, {full:.1f} s")
        again = crawl(m.base_url, out, titles, "7d")
        print(f"refresh=7d right after it: {title_requests(m) - fetched} title requests, "
              f"{again:.1f} s")
        before = title_requests(m)
        stale = age_half(out, timedelta(days=10))
        half = crawl(m.base_url, out, titles, "7d")
        print(f"refresh=7d with {stale:,} titles older than the window: "
              f"{title_requests(m) - before:,} title requests, {half:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=int, default=100_000, help="titles of previous state")
    parser.add_argument("--titles", type=int, default=1000, help="titles crawled")
    args = parser.parse_args()
    bench_state(args.state)
    bench_refresh(args.titles)


if __name__ == "__main__":
    main()
