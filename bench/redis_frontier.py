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
  takes (the one script that walks a whole level; Redis serves nothing else meanwhile);
- what the guard every script runs first costs (``lua/guard.lua``: the epoch and the
  generations that tell a Redis that forgot): Redis time per title claimed, resolved
  and committed, through the guarded scripts and through the same scripts without it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from crawler.frontier.recovery import open_crawl  # noqa: E402
from crawler.frontier.shared import (  # noqa: E402
    _ADVANCE,
    ADVANCE_STEP,
    SharedFrontier,
)
from crawler.state.run import Run  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

BATCH = 16
PIPE = 10_000


def tconst(i: int) -> str:
    return f"tt{i:08d}"


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def create(client: redis.Redis, key: str, max_titles: int) -> str:
    """A new crawl under ``key`` (its records in a temporary OUTPUT_DIR); its epoch."""
    run = Run(run_id="bench", seeds=[tconst(0)], depth=50, max_titles=max_titles,
              arguments={"seed": tconst(0)},
              started_at=datetime.fromisoformat("2026-11-27T00:00:00+00:00"))
    return open_crawl(client, key, run, tempfile.mkdtemp(prefix="bench-out-"),
                      lease_seconds=30).epoch


def populate(client: redis.Redis, key: str, titles: int) -> str:
    """A crawl at depth 1 whose seen-set and level hold ``titles`` titles; its epoch."""
    epoch = create(client, key, titles * 2)
    client.hset(f"{key}:meta", "depth", 1)
    for start in range(1, titles + 1, PIPE):
        chunk = [tconst(i) for i in range(start, min(start + PIPE, titles + 1))]
        pipe = client.pipeline(transaction=False)
        pipe.hset(f"{key}:scheduled", mapping=dict.fromkeys(chunk, 1))
        pipe.rpush(f"{key}:level", *chunk)
        pipe.rpush(f"{key}:queue", *chunk)
        pipe.execute()
    return epoch


def frontier(url: str, key: str, worker: str, epoch: str) -> SharedFrontier:
    return SharedFrontier(redis.Redis.from_url(url), key, worker, epoch=epoch,
                          lease_seconds=30, claim_batch=BATCH,
                          committed_since=lambda w, c: [])


def work(url: str, key: str, epoch: str, worker: str, claims: int,
         result: multiprocessing.Queue) -> None:
    f = frontier(url, key, worker, epoch)
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


def claim_throughput(url: str, key: str, epoch: str, workers: int, claims: int) -> float:
    result: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=work, args=(url, key, epoch, f"b{workers}-{i}",
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
    epoch = create(client, key, level * 13)
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
    f = SharedFrontier(client, key, "bench", epoch=epoch, lease_seconds=30, claim_batch=BATCH,
                       committed_since=lambda w, c: [])
    steps = []
    started = time.perf_counter()
    while True:
        step = time.perf_counter()
        state, _ = f._call(_ADVANCE, 0, ADVANCE_STEP)
        steps.append(time.perf_counter() - step)
        if state != b"advancing":
            break
    total = time.perf_counter() - started
    return total, max(steps), int(client.llen(f"{key}:level"))


def guard_cost(client: redis.Redis, titles: int) -> tuple[float, float]:
    """Microseconds of Redis time per title (claim, resolve, commit), without the guard
    and with it: the same script bodies, one client, ``INFO commandstats``."""
    from crawler.frontier import shared
    from crawler.lua import lua_script

    bare = {name: lua_script(shared.__file__, *parts) for name, parts in (
        ("claim", ("claim",)), ("resolve", ("resolve",)), ("commit", ("mark_done", "commit")))}
    costs = []
    for key in ("bare", "guarded"):
        epoch = create(client, key, titles * 2)
        chunk = [tconst(i) for i in range(1, titles + 1)]
        for start in range(0, titles, PIPE):
            client.hset(f"{key}:scheduled", mapping=dict.fromkeys(chunk[start:start + PIPE], 0))
            client.rpush(f"{key}:queue", *chunk[start:start + PIPE])
        f = SharedFrontier(client, key, "w", epoch=epoch, lease_seconds=30,
                           claim_batch=BATCH, committed_since=lambda w, c: [])
        client.config_resetstat()
        while True:
            if key == "guarded":
                batch = f.take()
            else:
                _, *raw = client.eval(bare["claim"], 0, key, "w", 30000, BATCH)
                batch = [t.decode() for t in raw]
            if not batch:
                break
            for t in batch:
                if key == "guarded":
                    f.resolve(t, "title")
                else:
                    client.eval(bare["resolve"], 0, key, "w", t, "title")
            if key == "guarded":
                f.chunk_committed(batch, 0)
            else:
                client.eval(bare["commit"], 0, key, "w", json.dumps(batch), 0)
        costs.append(client.info("commandstats")["cmdstat_eval"]["usec"] / titles)
    return costs[0], costs[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--claims", type=int, default=20_000, help="titles claimed per run")
    parser.add_argument("--level", type=int, default=100_000)
    parser.add_argument("--guard", type=int, default=20_000, help="titles for the guard's cost")
    args = parser.parse_args()

    server = RedisServer().start()
    try:
        client = redis.Redis.from_url(server.url)
        base = used_memory(client)
        started = time.perf_counter()
        epoch = populate(client, "mlt", args.titles)
        filled = used_memory(client)
        print(f"frontier of {args.titles:,} titles (seen-set + level + queue): "
              f"{(filled - base) / 2**20:.0f} MiB of Redis memory, "
              f"{(filled - base) / args.titles:.0f} bytes a title "
              f"(filled in {time.perf_counter() - started:.1f} s)")
        for n in args.workers:
            rate = claim_throughput(server.url, "mlt", epoch, n, args.claims)
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
        bare, guarded = guard_cost(client, args.guard)
        print(f"the guard: {bare:.1f} us of Redis time a title claimed, resolved and "
              f"committed without it, {guarded:.1f} us with it")
    finally:
        server.cleanup()


if __name__ == "__main__":
    main()
