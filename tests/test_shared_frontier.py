"""The Redis frontier against the in-process one, and its leases, on a real redis-server."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import redis

from crawler.frontier.local import Frontier
from crawler.frontier.recovery import open_crawl
from crawler.frontier.shared import SharedFrontier
from crawler.state.run import Run
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, crawl_command
from tests.redis_server import RedisServer

STARTED = "2026-11-27T00:00:00+00:00"


def shared(url: str, worker: str, seeds: list[str], depth: int, max_titles: int,
           out: Path, key: str = "mlt", committed: dict[str, list[str]] | None = None,
           lease: float = 30, settled: bool | None = False) -> SharedFrontier:
    """A worker's frontier in the crawl under ``key`` (created by the first call)."""
    from datetime import datetime

    client = redis.Redis.from_url(url)
    run = Run(run_id="run1", seeds=seeds, depth=depth, max_titles=max_titles,
              arguments={"seed": ",".join(seeds)}, started_at=datetime.fromisoformat(STARTED))
    crawl = open_crawl(client, key, run, out, lease_seconds=lease)
    return SharedFrontier(client, key, worker, epoch=crawl.epoch, lease_seconds=lease,
                          claim_batch=7,
                          committed_since=lambda w, last: (committed or {}).get(w, []),
                          settle=lambda w, chunk, own: settled)


def random_world(seed: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Links of 60 titles, and merges of some of them into others (or into new ones)."""
    rng = random.Random(seed)
    titles = [tconst_of(i) for i in range(60)]
    links = {t: rng.sample(titles, rng.randint(0, 6)) for t in titles}
    merges = {t: rng.choice([*titles, tconst_of(100 + i)])
              for i, t in enumerate(rng.sample(titles, 8))}
    return links, merges


def crawl_levels(frontier: Frontier | SharedFrontier, links: dict[str, list[str]],
                 merges: dict[str, str], client: redis.Redis | None) -> list[list[str]]:
    """Drive a frontier as the spider does, one title at a time; the levels it made."""
    levels = []
    while True:
        level = (list(frontier.level) if isinstance(frontier, Frontier) else
                 [t.decode() for t in client.lrange("mlt:level", 0, -1)])  # type: ignore[union-attr]
        levels.append(level)
        todo = frontier.take()
        committed = []
        while todo:
            tconst = todo.pop(0)
            canonical = merges.get(tconst)
            if canonical is not None and not frontier.merge_problem(tconst, canonical, 5):
                if frontier.record_alias(tconst, canonical):
                    todo.append(canonical)
            else:
                frontier.record_links(tconst, [s for s in links.get(tconst, []) if s != tconst])
                frontier.resolve(tconst, "title")
            committed.append(tconst)
            if not todo:
                todo = frontier.take()
        frontier.chunk_committed(committed, len(levels))
        assert frontier.level_fetched() and frontier.level_complete()
        if not frontier.advance():
            return levels


@pytest.mark.parametrize("world", range(6))
@pytest.mark.parametrize("max_titles", [15, 1000])
def test_redis_levels_are_the_in_process_levels(redis_url: str, world: int,
                                                max_titles: int, tmp_path: Path) -> None:
    links, merges = random_world(world)
    seeds = [tconst_of(0), tconst_of(1)]
    local = Frontier(seeds, 4, max_titles)
    expected = crawl_levels(local, links, merges, None)
    remote = shared(redis_url, "w0", seeds, 4, max_titles, tmp_path)
    got = crawl_levels(remote, links, merges, redis.Redis.from_url(redis_url))
    assert got == expected
    assert remote.titles_over_limit == local.titles_over_limit
    assert {d: n for d, (_, n) in remote.per_depth().items() if n} == {
        d: n for d, (_, n) in local.per_depth().items()}


def test_a_dead_workers_titles_go_back_except_those_its_commit_log_holds(
    redis_url: str, tmp_path: Path
) -> None:
    seeds = [tconst_of(i) for i in range(10)]
    committed = {"dead": [tconst_of(0), tconst_of(1), tconst_of(2)]}
    dead = shared(redis_url, "dead", seeds, 0, 100, tmp_path, committed=committed, lease=0)
    got = dead.take()
    assert got == seeds[:7]
    for tconst in got[:5]:
        dead.record_links(tconst, [])
        dead.resolve(tconst, "title")
    # It committed 0-2 and died before telling Redis; 3-4 had outcomes not committed,
    # 5-6 none at all.
    alive = shared(redis_url, "alive", seeds, 0, 100, tmp_path, committed=committed)
    assert alive.reap() == 4
    client = redis.Redis.from_url(redis_url)
    assert sorted(k.decode() for k in client.hkeys("mlt:done")) == seeds[:3]
    assert not alive.level_fetched()
    again = alive.take()
    assert sorted(again) == sorted(seeds[3:])  # the 4 given back and the 3 never claimed
    assert client.hlen("mlt:claims") == 7


@pytest.mark.parametrize(("settled", "done", "back"),
                         [(True, 2, 1), (False, 0, 3), (None, 0, 1)],
                         ids=["committed", "not committed", "its worker lives"])
def test_a_chunk_a_dead_worker_was_committing_is_settled_by_its_commit_log(
    redis_url: str, tmp_path: Path, settled: bool | None, done: int, back: int
) -> None:
    seeds = [tconst_of(i) for i in range(3)]
    dead = shared(redis_url, "dead", seeds, 0, 100, tmp_path, lease=0)
    got = dead.take()
    for tconst in got:
        dead.record_links(tconst, [])
        dead.resolve(tconst, "title")
    assert dead.chunk_committing(got[:2], 0)  # it claimed the commit of two, then stalled
    alive = shared(redis_url, "alive", seeds, 0, 100, tmp_path, settled=settled)
    assert alive.reap() == back
    client = redis.Redis.from_url(redis_url)
    assert client.hlen("mlt:done") == done
    # Held for it while it lives: the level waits for it to finish its commit.
    assert {k.decode() for k in client.hkeys("mlt:claims")} == (
        set(got[:2]) if settled is None else set())
    # Taken for dead, it commits nothing more, and says so once.
    assert not dead.chunk_committing(got[2:], 1)
    assert dead.stop_reason == "lease_lost" and dead.lease_lost is not None
    assert dead.take() == []


def test_a_worker_that_loses_redis_stops_in_one_line_and_exit_1(tmp_path: Path) -> None:
    server = RedisServer().start()  # its own: this test kills it
    worker: subprocess.Popen[str] | None = None
    try:
        client = redis.Redis.from_url(server.url)
        with MirrorServer(records=synthetic_graph(60, out_degree=5, seed=3)) as mirror:
            cmd = crawl_command(mirror.base_url, tmp_path / "out", seed=tconst_of(1), depth=3,
                                settings={"FRONTIER_URL": server.url,
                                          "FRONTIER_POLL_SECONDS": "0.05",
                                          "DOWNLOAD_DELAY": "0.5"})
            worker = forkserver.popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 60
            while not client.hlen("mlt:claims"):  # polls a condition, bounded
                assert time.monotonic() < deadline and worker.poll() is None
            assert server.process is not None
            server.process.send_signal(signal.SIGKILL)
            _, err = worker.communicate(timeout=120)
    finally:
        if worker is not None and worker.poll() is None:  # never left running
            worker.kill()
            worker.communicate()
        server.cleanup()
    assert worker.returncode == 1, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl more_like_this: error: finish reason frontier_lost")
    assert "Traceback" not in err


def test_a_stop_holds_for_live_workers_and_clears_for_a_new_session(
    redis_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from scrapy.settings import Settings

    from crawler import settings as project_settings
    from crawler.frontier.shared import join
    from crawler.state.run import Run

    settings = Settings()
    settings.setmodule(project_settings)
    settings.set("FRONTIER_URL", redis_url)
    run = Run(run_id="r1", seeds=[tconst_of(1)], depth=1, max_titles=10,
              arguments={"seed": tconst_of(1)}, started_at=datetime.now(UTC))
    first, joined = join(settings, run, str(tmp_path))
    assert joined.worker and not joined.resumed
    first.stop("blocked")
    second, _ = join(settings, run, str(tmp_path))  # the first still holds its lease
    assert second.stop_reason == "blocked" and second.take() == []
    first.release()
    second.release()
    third, resumed = join(settings, run, str(tmp_path))
    assert resumed.resumed and resumed.run_id == "r1"
    assert third.stop_reason is None and third.take() == [tconst_of(1)]
