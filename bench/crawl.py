"""End-to-end crawl benchmark: the real crawl next to a fetch-only Scrapy spider, over
the same synthetic pages of real size, at the same concurrency, in one run.

The local mirror (``python -m mirror --synthetic N --pad BYTES``) runs in its own
process.  For each size it runs, interleaved and alternating which goes first:

* the crawl: ``scrapy crawl more_like_this`` breadth-first from ``tt9000001``, with
  ``max_titles`` = size;
* the baseline: ``bench/fetch_only.py``, a spider that requests the same title URLs
  (the breadth-first order worked out from the synthetic graph: the pages the crawl
  fetches, 404s of links leaving the graph included) and ignores the bodies.

Both get DOWNLOAD_DELAY 0, AutoThrottle off, the same CONCURRENT_REQUESTS and
CONCURRENT_REQUESTS_PER_DOMAIN, robots.txt, user agent and headers.  pages/s is
title pages over Scrapy's ``elapsed_time_seconds`` (spider open to close, so the
crawl's final Parquet commit counts, interpreter start-up does not).  Peak RSS is
each child's own ``ru_maxrss`` (``os.wait4``), so the mirror is never in it.

    python bench/crawl.py                      # 1,000 and 5,000 titles, 3 rounds each
    python bench/crawl.py --titles 2000 --rounds 5 --concurrency 16
    python bench/crawl.py --large              # 100,000 titles, crawl and baseline once
    python bench/crawl.py --large --crawl-only
    python bench/crawl.py --against ../before  # also the crawl of another checkout, same rounds

``--against DIR`` runs, in every round beside the two above, the crawl of another checkout
of this project (its own ``DIR/.venv``, its own code) over the same mirror: a change's
figures side by side with those of the commit before it, under the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mirror.synthetic import _links, outside_tconst, tconst_of  # noqa: E402

SEED_INDEX = 1  # tt9000001
DEPTH = 50
OUT_DEGREE = 12  # python -m mirror's default --out-degree
EXTRA_TITLES = 100  # the graph is a little larger than max_titles, so the cut is real


def bfs_tconsts(graph_titles: int, max_titles: int, depth: int = DEPTH,
                out_degree: int = OUT_DEGREE, seed: int = 0) -> list[str]:
    """The titles a correct crawl from ``tt9000001`` schedules, in order (the same as
    ``mirror.synthetic.bfs_order`` over the graph, from the links alone: fast at 100,000).
    """
    order = [tconst_of(SEED_INDEX)]
    seen = {order[0]}
    level: list[int | str] = [SEED_INDEX]
    d = 0
    while level and d < depth and len(order) < max_titles:
        next_level: list[int | str] = []
        for node in level:
            if isinstance(node, str):  # outside the graph: a 404, no links
                continue
            targets, leaves = _links(node, graph_titles, out_degree, seed)
            links: list[int | str] = [*targets, *([outside_tconst(node)] if leaves else [])]
            for link in links:
                tconst = link if isinstance(link, str) else tconst_of(link)
                if tconst in seen or len(order) >= max_titles:
                    continue
                seen.add(tconst)
                order.append(tconst)
                next_level.append(link)
        level = next_level
        d += 1
    return order


def start_mirror(titles: int, pad: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirror", "--synthetic", str(titles), "--pad", str(pad),
         "--out-degree", str(OUT_DEGREE), "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"mirror did not start: {base_url!r}")
    return proc, base_url


@dataclass
class Result:
    kind: str  # "crawl" | "fetch-only"
    pages: int
    seconds: float  # Scrapy's elapsed_time_seconds
    wall: float  # the whole child, start-up included
    peak_rss_mb: float
    cpu: float  # the child's user + system seconds, start-up included (load hardly moves it)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds


def run_child(cmd: Sequence[str], log: Path, cwd: Path = ROOT) -> tuple[float, float, float]:
    """Run ``cmd``; (wall seconds, peak RSS in MB, CPU seconds) of that child alone."""
    started = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{cmd[2:4]} failed ({proc.returncode}):\n{tail}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def common_settings(concurrency: int, stats_file: Path) -> list[str]:
    settings = {
        "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "LOG_LEVEL": "ERROR",
        "STATS_CLASS": "bench.runstats.JsonFileStats", "BENCH_STATS_FILE": str(stats_file),
    }
    return [arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")]


def run_crawl(base_url: str, titles: int, expected: int, work: Path,
              concurrency: int, checkout: Path = ROOT) -> Result:
    out = work / "output"
    stats_file = work / "crawl-stats.json"
    python = sys.executable if checkout == ROOT else str(checkout / ".venv" / "bin" / "python")
    cmd = [
        python, "-m", "scrapy", "crawl", "more_like_this",
        "-a", f"seed={tconst_of(SEED_INDEX)}", "-a", f"depth={DEPTH}",
        "-a", f"max_titles={titles}",
        "-s", f"IMDB_BASE_URL={base_url}", "-s", f"OUTPUT_DIR={out}",
        "-s", "PROGRESS_INTERVAL=0", *common_settings(concurrency, stats_file),
    ]
    wall, rss, cpu = run_child(cmd, work / "crawl.log", cwd=checkout)
    stats = json.loads(stats_file.read_text())
    done = stats.get("titles/done", 0) + stats.get("titles/failed", 0)
    if done != expected:
        raise SystemExit(f"the crawl had {done} outcomes, the BFS order {expected} titles")
    kind = "crawl" if checkout == ROOT else "against"
    return Result(kind, done, stats["elapsed_time_seconds"], wall, rss, cpu)


def run_fetch_only(urls_file: Path, expected: int, work: Path, concurrency: int) -> Result:
    stats_file = work / "fetch-stats.json"
    cmd = [sys.executable, "-m", "bench.fetch_only", str(urls_file),
           "--stats-file", str(stats_file), *common_settings(concurrency, stats_file)]
    wall, rss, cpu = run_child(cmd, work / "fetch.log")
    stats = json.loads(stats_file.read_text())
    pages = stats.get("response_received_count", 0) - 1  # robots.txt
    if pages != expected:
        raise SystemExit(f"fetch-only got {pages} responses for {expected} URLs")
    return Result("fetch-only", pages, stats["elapsed_time_seconds"], wall, rss, cpu)


def span(values: Sequence[float], fmt: str = ".0f") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}-{hi:{fmt}}"


def round_kinds(i: int, crawl_only: bool, against: Path | None) -> list[str]:
    """This round's runs, the order turning each round so none always goes first."""
    kinds = ["crawl"] + ([] if crawl_only else ["fetch"]) + (["against"] if against else [])
    turn = i % len(kinds)
    return kinds[turn:] + kinds[:turn]


def round_line(i: int, results: dict[str, Result], figures: dict[str, list[float]]) -> str:
    line = f"  round {i + 1}: " + "; ".join(
        f"{r.kind} {r.pages_per_s:.1f} pages/s ({r.pages} in {r.seconds:.1f} s, "
        f"{r.wall:.1f} s with start-up, CPU {r.cpu:.1f} s), "
        f"peak RSS {r.peak_rss_mb:.0f} MB"
        for r in results.values())
    for kind, key in (("crawl", "ratio"), ("against", "against_ratio")):
        if "fetch" in results and kind in results:
            ratio = results[kind].pages_per_s / results["fetch"].pages_per_s
            figures[key].append(ratio)
            line += f"; {kind} ratio {ratio:.0%}"
    return line


def bench_size(titles: int, pad: int, concurrency: int, rounds: int,
               crawl_only: bool, against: Path | None = None) -> dict[str, list[float]]:
    graph = titles + EXTRA_TITLES
    tconsts = bfs_tconsts(graph, titles)
    mirror, base_url = start_mirror(graph, pad)
    figures: dict[str, list[float]] = {k: [] for k in (
        "crawl", "fetch", "against", "ratio", "against_ratio",
        "crawl_rss", "fetch_rss", "against_rss")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
            urls_file = Path(tmp) / "urls.txt"
            urls_file.write_text("".join(f"{base_url}/title/{t}/\n" for t in tconsts))
            for i in range(rounds):
                results: dict[str, Result] = {}
                for kind in round_kinds(i, crawl_only, against):
                    work = Path(tempfile.mkdtemp(dir=tmp))
                    if kind == "fetch":
                        r = run_fetch_only(urls_file, len(tconsts), work, concurrency)
                    else:
                        checkout = against if kind == "against" and against else ROOT
                        r = run_crawl(base_url, titles, len(tconsts), work, concurrency,
                                      checkout)
                    results[kind] = r
                    figures[kind].append(r.pages_per_s)
                    figures[f"{kind}_rss"].append(r.peak_rss_mb)
                print(round_line(i, results, figures), flush=True)
    finally:
        mirror.kill()
        mirror.wait()
    return figures


def summary_line(n: int, f: dict[str, list[float]]) -> str:
    parts = [f"crawl {span(f['crawl'], '.1f')} pages/s, peak RSS {span(f['crawl_rss'])} MB"]
    if f["fetch"]:
        parts.append(f"fetch-only {span(f['fetch'], '.1f')} pages/s, "
                     f"peak RSS {span(f['fetch_rss'])} MB")
        parts.append(f"crawl/fetch-only {span([r * 100 for r in f['ratio']])}% "
                     f"(median {statistics.median(f['ratio']):.0%})")
    if f["against"]:
        parts.append(f"the other checkout: crawl {span(f['against'], '.1f')} pages/s, "
                     f"peak RSS {span(f['against_rss'])} MB")
        if f["against_ratio"]:
            parts.append(f"its crawl/fetch-only {span([r * 100 for r in f['against_ratio']])}%"
                         f" (median {statistics.median(f['against_ratio']):.0%})")
        rss = statistics.median(f["crawl_rss"]) / statistics.median(f["against_rss"]) - 1
        parts.append(f"peak RSS medians this/other {rss:+.1%}")
    return f"{n:>7,} titles: " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="*", default=[1000, 5000])
    parser.add_argument("--large", action="store_true",
                        help="100,000 synthetic titles, one round (instead of --titles)")
    parser.add_argument("--crawl-only", action="store_true", help="skip the baseline")
    parser.add_argument("--rounds", type=int, default=None,
                        help="crawl + baseline pairs per size (default 3; 1 with --large)")
    parser.add_argument("--pad", type=int, default=900_000, help="page size in bytes")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout (with its .venv) whose crawl runs each round too")
    args = parser.parse_args()
    sizes = [100_000] if args.large else args.titles
    rounds = args.rounds or (1 if args.large else 3)
    against = args.against.resolve() if args.against else None
    summary: dict[int, dict[str, list[float]]] = {}
    for n in sizes:
        print(f"{n:,} titles, pages of {args.pad // 1000} KB, concurrency {args.concurrency}, "
              f"{rounds} round(s):", flush=True)
        f = summary[n] = bench_size(n, args.pad, args.concurrency, rounds, args.crawl_only,
                                    against)
        print(summary_line(n, f), flush=True)
    if len(summary) > 1:
        first, last = min(summary), max(summary)
        growth = (statistics.median(summary[last]["crawl_rss"])
                  / statistics.median(summary[first]["crawl_rss"]) - 1)
        print(f"crawl peak RSS at {last:,} vs {first:,} titles (medians): {growth:+.1%}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
