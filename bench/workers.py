"""A shared crawl with 1, 2 and 4 workers rendering every page (RENDER=always).

    python bench/workers.py [--titles 150] [--workers 1 2 4] [--concurrency 2]

Starts its own redis-server and the mirror (a synthetic graph, pages padded to the
real pages' size), then for each worker count runs that many
``scrapy crawl more_like_this`` processes with the same arguments, one
FRONTIER_KEY per count, RENDER=always, no delay.  Prints, per count: titles/s over
the whole crawl (first start to last exit: browser start-up included), the CPU
seconds the workers and their browsers used, and how many cores that kept busy.

Rendering is where a crawl spends its CPU (Chromium lays out every page), so this is
what more workers buy on one machine; across machines each brings its own cores.
The politeness budget (DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN) is shared by
all workers, so it is set out of the way here to measure the CPU side alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.crawl import DEPTH, EXTRA_TITLES, OUT_DEGREE, SEED_INDEX  # noqa: E402
from mirror.synthetic import tconst_of  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

PAD = 900_000  # bytes: a real title page's size


def start_mirror(titles: int) -> tuple[subprocess.Popen[str], str]:
    """The mirror with every page rendered once up front and kept: it stands in for the
    site, whose CPU is not this machine's, so it should cost the measurement little."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirror", "--synthetic", str(titles), "--pad", str(PAD),
         "--out-degree", str(OUT_DEGREE), "--cache-pages", str(titles), "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    if not base_url.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"mirror did not start: {base_url!r}")
    for i in range(1, titles + 1):
        with urllib.request.urlopen(f"{base_url}/title/{tconst_of(i)}/") as answer:
            answer.read()
    return proc, base_url


def worker_command(base_url: str, redis_url: str, key: str, worker: str, out: Path,
                   titles: int, concurrency: int, stats_file: Path) -> list[str]:
    settings = {
        "IMDB_BASE_URL": base_url, "OUTPUT_DIR": str(out), "RENDER": "always",
        "FRONTIER_URL": redis_url, "FRONTIER_KEY": key, "FRONTIER_WORKER": worker,
        "DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS": str(concurrency),
        "CONCURRENT_REQUESTS_PER_DOMAIN": "64",
        "PROGRESS_INTERVAL": "0", "LOG_LEVEL": "ERROR",
        "STATS_CLASS": "bench.runstats.JsonFileStats", "BENCH_STATS_FILE": str(stats_file),
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this",
           "-a", f"seed={tconst_of(SEED_INDEX)}", "-a", f"depth={DEPTH}",
           "-a", f"max_titles={titles}"]
    return cmd + [arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")]


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, user + system CPU seconds so far), for every process."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


class TreeCpu:
    """CPU seconds used by a set of processes and all their descendants, sampled from
    /proc: a browser Chromium starts is not always reaped by the worker, so the worker's
    own rusage would miss it."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = set(roots)
        self.last: dict[int, float] = {}  # pid -> CPU seconds when last seen

    def sample(self) -> None:
        table = _proc_table()
        tree = set(self.roots)
        grew = True
        while grew:
            more = {pid for pid, (ppid, _) in table.items() if ppid in tree} - tree
            tree |= more
            grew = bool(more)
        for pid in tree & table.keys():
            self.last[pid] = table[pid][1]

    @property
    def seconds(self) -> float:
        return sum(self.last.values())


def run_workers(n: int, base_url: str, redis_url: str, work: Path, titles: int,
                concurrency: int) -> tuple[int, float, float]:
    """(titles with an outcome, wall seconds, CPU seconds of workers and browsers)."""
    key = f"bench-{n}"
    procs = []
    started = time.perf_counter()
    for i in range(n):
        stats = work / f"{key}-w{i}.json"
        log = open(work / f"{key}-w{i}.log", "wb")  # noqa: SIM115 - closed below
        cmd = worker_command(base_url, redis_url, key, f"w{i}", work / "out", titles,
                             concurrency, stats)
        procs.append((subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT),
                      log, stats))
    cpu = TreeCpu([proc.pid for proc, _, _ in procs])
    while any(proc.poll() is None for proc, _, _ in procs):
        cpu.sample()
        time.sleep(0.1)  # sampling interval; the workers run meanwhile
    wall = time.perf_counter() - started
    for proc, log, _ in procs:
        log.close()
        if proc.returncode != 0:
            tail = Path(log.name).read_text(errors="replace")[-3000:]
            raise SystemExit(f"worker of {n} failed:\n{tail}")
    done = 0
    for _, _, stats_file in procs:
        stats = json.loads(stats_file.read_text())
        done += stats.get("titles/done", 0) + stats.get("titles/failed", 0)
    return done, wall, cpu.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=150)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=1,
                        help="CONCURRENT_REQUESTS of each worker (browser pages at once)")
    args = parser.parse_args()

    server = RedisServer().start()
    mirror, base_url = start_mirror(args.titles + EXTRA_TITLES)
    mirror_cpu = TreeCpu([mirror.pid])
    mirror_cpu.sample()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            print(f"{args.titles} titles, RENDER=always, {args.concurrency} pages at once per "
                  f"worker, {os.cpu_count()} cores")
            base = None
            for n in args.workers:
                done, wall, cpu = run_workers(n, base_url, server.url, Path(tmp),
                                              args.titles, args.concurrency)
                if done != args.titles:
                    raise SystemExit(f"{n} workers: {done} outcomes for {args.titles} titles")
                rate = done / wall
                base = base or rate
                before = mirror_cpu.seconds
                mirror_cpu.sample()
                print(f"{n} worker(s): {rate:5.1f} titles/s ({rate / base:.2f}x), "
                      f"{wall:5.1f} s, CPU {cpu:6.1f} s = {cpu / wall:.2f} cores busy "
                      f"(the mirror: {(mirror_cpu.seconds - before) / wall:.2f} cores)")
    finally:
        mirror.kill()
        server.cleanup()


if __name__ == "__main__":
    main()
