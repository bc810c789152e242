"""The shared frontier at IMDb scale: Redis memory and claim throughput.

    python bench/redis_frontier.py [--titles 1000000] [--workers 1 4] [--claims 20000]

Starts its own redis-server on a free port (Debian's; see scripts/install-redis.sh),
creates a crawl, and fills its seen-set and current level with ``--titles`` made-up
tconsts, the way a crawl that reached that many titles holds them.  Then prints:

- Redis memory (``used_memory``) before and after, and per title;
- claim throughput: ``--workers`` processes, each claiming titles in batches of
  FRONTIER_CLAIM_BATCH, resolving each and committing each batch, as a worker does,
  through ``crawler.frontier.shared``'s own scripts (titles/s over all workers);
- how long turning a level of 100,000 titles with 12 links each into the next level
  takes (the one script that walks a whole level; Redis serves nothing else meanwhile).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from crawler.frontier.shared import (  # noqa: E402
    _ADVANCE,
    ADVANCE_STEP,
    SharedFrontier,
    open_crawl,
)
from tests.redis_server import RedisServer  # noqa: E402

BATCH = 16
PIPE = 10_000


def tconst(i: int) -> str:
    return f"tt{i:08d}"


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def populate(client: redis.Redis, key: str, titles: int) -> None:
    """A crawl at depth 1 whose seen-set and level hold ``titles`` titles."""
    open_crawl(client, key, "bench", {"seed": tconst(0)}, "2026-11-27T00:00:00+00:00",
               [tconst(0)], 50, titles * 2)
    client.hset(f"{key}:meta", "depth", 1)
    for start in range(1, titles + 1, PIPE):
        chunk = [tconst(i) for i in range(start, min(start + PIPE, titles + 1))]
        pipe = client.pipeline(transaction=False)
        pipe.hset(f"{key}:scheduled", mapping=dict.fromkeys(chunk, 1))
        pipe.rpush(f"{key}:level", *chunk)
        pipe.rpush(f"{key}:queue", *chunk)
        pipe.execute()


def frontier(url: str, key: str, worker: str) -> SharedFrontier:
    return SharedFrontier(redis.Redis.from_url(url), key, worker, lease_seconds=30,
                          claim_batch=BATCH, committed_since=lambda w, c: [])


def work(url: str, key: str, worker: str, claims: int, result: multiprocessing.Queue) -> None:
    f = frontier(url, key, worker)
    done = 0
    started = time.perf_counter()
    while done < claims:
        batch = f.take()
        if not batch:
            break
        for t in batch:
            f.record_links(t, [])
            f.resolve(t, "title")
        f.chunk_committed(batch, 0)
        done += len(batch)
    result.put((done, time.perf_counter() - started))


def claim_throughput(url: str, key: str, workers: int, claims: int) -> float:
    result: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(url, key, f"b{workers}-{i}",
                                                        claims // workers, result))
             for i in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    outcomes = [result.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    return sum(n for n, _ in outcomes) / wall


def advance_time(client: redis.Redis, level: int) -> tuple[float, float, int]:
    """Seconds to turn a complete level of ``level`` titles, 12 links each, into the next."""
    key = "advance"
    open_crawl(client, key, "bench", {"seed": tconst(0)}, "2026-11-27T00:00:00+00:00",
               [tconst(0)], 50, level * 13)
    client.delete(f"{key}:queue")
    for start in range(0, level, PIPE):
        chunk = [tconst(50_000_000 + i) for i in range(start, min(start + PIPE, level))]
        links = {t: json.dumps([tconst(60_000_000 + (int(t[2:]) * 12 + k) % (level * 8))
                                for k in range(12)]) for t in chunk}
        pipe = client.pipeline(transaction=False)
        pipe.hset(f"{key}:scheduled", mapping=dict.fromkeys(chunk, 0))
        pipe.rpush(f"{key}:level", *chunk)
        pipe.hset(f"{key}:links", mapping=links)
        pipe.execute()
    steps = []
    started = time.perf_counter()
    while True:
        step = time.perf_counter()
        state, _ = client.eval(_ADVANCE, 0, key, 0, ADVANCE_STEP)
        steps.append(time.perf_counter() - step)
        if state != b"advancing":
            break
    total = time.perf_counter() - started
    return total, max(steps), int(client.llen(f"{key}:level"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--claims", type=int, default=20_000, help="titles claimed per run")
    parser.add_argument("--level", type=int, default=100_000)
    args = parser.parse_args()

    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url)
        base = used_memory(client)
        started = time.perf_counter()
        populate(client, "mlt", args.titles)
        filled = used_memory(client)
        print(f"frontier of {args.titles:,} titles (seen-set + level + queue): "
              f"{(filled - base) / 2**20:.0f} MiB of Redis memory, "
              f"{(filled - base) / args.titles:.0f} bytes a title "
              f"(filled in {time.perf_counter() - started:.1f} s)")
        for n in args.workers:
            rate = claim_throughput(server.url, "mlt", n, args.claims)
            print(f"{n} worker process(es): {rate:,.0f} titles/s claimed, resolved and "
                  f"committed (batches of {BATCH})")
        for start in range(1, args.titles + 1, PIPE):
            chunk = [tconst(i) for i in range(start, min(start + PIPE, args.titles + 1))]
            client.hset("mlt:done", mapping=dict.fromkeys(chunk, "title"))
        after = used_memory(client)
        print(f"with all {args.titles:,} titles done as well (a finished crawl of that "
              f"size): {(after - base) / 2**20:.0f} MiB")
        seconds, longest, count = advance_time(client, args.level)
        print(f"turning a level of {args.level:,} titles (12 links each) into the next "
              f"({count:,} new titles): {seconds:.2f} s in steps of {ADVANCE_STEP:,} "
              f"titles, the longest {longest * 1000:.0f} ms (Redis serves other workers "
              "between steps)")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
