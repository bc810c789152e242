"""Shared politeness benchmark: the request rate the site sees as workers are added.

1, 2 and 4 workers (``scrapy crawl more_like_this`` processes) join one shared crawl
(``FRONTIER_URL`` on a throwaway redis-server on a free port) against the local mirror (a
synthetic graph, in this process), with one shared ``DOWNLOAD_DELAY``.  Each configuration
makes the same number of title requests in all (``--requests``, split between its
workers) and is cut after ``--max-seconds``.  The mirror notes each request's arrival, so
the rate is what the site would see: requests over the time from the first to the last.
It must stay within 10% of one worker's rate, however many workers there are; "all
running" is the rate over the stretch where every worker had started and none finished.

``--unshared`` runs the same workers without FRONTIER_URL, as a control: the rate then
grows with the workers.

    python bench/shared_rate.py                  # 1, 2, 4 workers, delay 0.05 s, 200 requests
    python bench/shared_rate.py --workers 1 2 4 8 --delay 0.1 --requests 300
    python bench/shared_rate.py --unshared
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from mirror.server import MirrorServer  # noqa: E402
from mirror.synthetic import SyntheticGraph, tconst_of  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def worker_command(base_url: str, frontier_url: str, index: int, workers: int, titles: int,
                   output_dir: Path, delay: float) -> list[str]:
    """The command of worker ``index`` of ``workers``.  Shared, they are workers of one crawl
    of ``titles`` titles; unshared (the control), each crawls its own ``titles``."""
    settings = {
        "IMDB_BASE_URL": base_url,
        "OUTPUT_DIR": str(output_dir),
        "DOWNLOAD_DELAY": str(delay),
        "AUTOTHROTTLE_ENABLED": "False",
        "CONCURRENT_REQUESTS": "8",
        "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
        "USER_AGENT": f"shared-rate-bench/worker-{index}",
        "PROGRESS_INTERVAL": "0",
        "LOG_LEVEL": "WARNING",
    }
    if frontier_url:
        settings["FRONTIER_URL"] = frontier_url
    cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this",
           "-a", f"seed={tconst_of(1)}", "-a", "depth=50", "-a", f"max_titles={titles}"]
    for name, value in settings.items():
        cmd += ["-s", f"{name}={value}"]
    return cmd


@dataclass
class Result:
    workers: int
    requests: int
    rate: float  # requests/s, first to last request
    rate_all_running: float | None  # requests/s while every worker was running
    seconds: float


def rate_of(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def run(workers: int, args: argparse.Namespace, mirror: MirrorServer, frontier_url: str,
        tmp: Path) -> Result:
    if frontier_url:
        client = redis.Redis.from_url(frontier_url)
        client.flushdb()
        client.close()
    start = len(mirror.arrivals)
    # Shared: one crawl of all the requests; the control: each worker its own share.
    titles = args.requests if frontier_url else max(1, args.requests // workers)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = []
    for i in range(workers):
        out = tmp / f"w{workers}" if frontier_url else tmp / f"w{workers}-{i}"
        cmd = worker_command(mirror.base_url, frontier_url, i, workers, titles, out, args.delay)
        log = tmp / f"w{workers}-{i}.log"  # a file: a full pipe would stall the worker
        with open(log, "w") as err:
            procs.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                           stderr=err), log))
    deadline = time.monotonic() + args.max_seconds
    for proc, log in procs:
        try:
            proc.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # bounded in time: what was sent counts
            proc.kill()
            proc.wait()
        if proc.returncode not in (0, -9):
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"a worker failed ({proc.returncode}):\n{tail}")
    arrivals = [a for a in mirror.arrivals[start:] if a[1].startswith("/title/")]
    times = sorted(t for t, _, _ in arrivals)
    by_worker: dict[str, list[float]] = {}
    for t, _, agent in arrivals:
        by_worker.setdefault(agent, []).append(t)
    first = max(v[0] for v in by_worker.values())
    last = min(v[-1] for v in by_worker.values())
    running = [t for t in times if first <= t <= last]
    all_running = rate_of(running) if len(by_worker) == workers and len(running) > 10 else None
    return Result(workers, len(times), rate_of(times), all_running, times[-1] - times[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--delay", type=float, default=0.05, help="the shared DOWNLOAD_DELAY")
    parser.add_argument("--requests", type=int, default=200,
                        help="title requests per configuration, split between its workers")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--unshared", action="store_true",
                        help="control: the same workers without FRONTIER_URL")
    args = parser.parse_args()
    server = None if args.unshared else RedisServer().start()
    frontier_url = "" if server is None else server.url
    try:
        with tempfile.TemporaryDirectory(prefix="shared-rate-") as tmp, \
                MirrorServer(records=SyntheticGraph(max(1000, 2 * args.requests))) as mirror:
            mode = "unshared (control)" if args.unshared else "shared"
            print(f"{mode}, DOWNLOAD_DELAY {args.delay} s (at most {1 / args.delay:.1f} "
                  f"requests/s), {args.requests} title requests per configuration")
            print(f"{'workers':>7} {'requests':>8} {'seconds':>7} {'req/s':>7} "
                  f"{'all running':>11} {'vs 1':>6}")
            base: float | None = None
            worst = 0.0
            for n in args.workers:
                r = run(n, args, mirror, frontier_url, Path(tmp))
                base = base if base is not None else r.rate
                ratio = r.rate / base
                worst = max(worst, abs(ratio - 1))
                running = f"{r.rate_all_running:.2f}" if r.rate_all_running else "-"
                print(f"{n:>7} {r.requests:>8} {r.seconds:>7.2f} {r.rate:>7.2f} "
                      f"{running:>11} {ratio:>6.3f}", flush=True)
            verdict = "within" if worst <= 0.10 else "NOT within"
            print(f"rate {verdict} 10% of one worker's (largest deviation {worst:.1%})")
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
