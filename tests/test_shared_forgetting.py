"""A shared crawl whose Redis forgets: restarted without its data, flushed, or restored
from an older snapshot.  No worker takes what is left for a finished crawl (each exits 1
in one line), and running the same command again resumes the same run from what the
workers committed, fetching only the rest.

Real ``scrapy crawl`` workers against the mirror and a real redis-server of each test's
own (it is killed, flushed or reloaded).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, crawl_command, read_table, run_crawl
from tests.redis_server import RedisServer, redis_available
from tests.test_shared_crawl import LOGS, edges, finish, outcomes, wait_until

GRAPH = synthetic_graph(70, out_degree=4, seed=5)
SEED = tconst_of(1)
DEPTH = 3
MAX_TITLES = 50
# A few titles at a time, a shared delay that makes the crawl last a few seconds, and
# commits every 3 titles, so that Redis forgets mid-level with some of it committed.
SETTINGS = {"FRONTIER_CLAIM_BATCH": "2", "CONCURRENT_REQUESTS": "2", "DOWNLOAD_DELAY": "0.05",
            "PARQUET_COMMIT_ROWS": "3"}
ERROR = "scrapy crawl more_like_this: error: finish reason "

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server not installed")


def mirror() -> MirrorServer:
    return MirrorServer(records=GRAPH)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one in-process crawl of the same graph and arguments."""
    out = tmp_path_factory.mktemp("single") / "out"
    with mirror() as server:
        proc = run_crawl(server.base_url, out, seed=SEED, depth=DEPTH, max_titles=MAX_TITLES)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A redis-server of this test's own (DEBUG RELOAD allowed)."""
    own = RedisServer(debug=True).start()
    yield own
    own.cleanup()


def workers(base_url: str, out: Path, url: str, n: int = 2) -> list[subprocess.Popen[str]]:
    """The same command, started ``n`` times (workers w0, w1, ...; logs to files, read by
    ``finish``)."""
    procs = []
    for i in range(n):
        cmd = crawl_command(base_url, out, seed=SEED, depth=DEPTH, max_titles=MAX_TITLES,
                            settings={"FRONTIER_URL": url, "FRONTIER_WORKER": f"w{i}",
                                      "FRONTIER_LEASE_SECONDS": "2",
                                      "FRONTIER_POLL_SECONDS": "0.05", **SETTINGS})
        log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - read and closed by finish()
        proc = forkserver.popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                stdout=subprocess.DEVNULL, stderr=log, text=True)
        LOGS[proc.pid] = log
        procs.append(proc)
    return procs


def done(client: redis.Redis) -> int:
    return sum(int(n) for n in client.hvals("mlt:count:done"))


def assert_one_complete_run(out: Path, single: Path, run_id: str) -> None:
    """Every title scheduled once in the raw tables, as one process has them, one run."""
    got = outcomes(out)
    assert set(got.values()) == {1}
    assert got == outcomes(single)
    assert edges(out) == edges(single)
    assert {r["run_id"] for t in ("titles", "failures", "aliases", "more_like_this")
            for r in read_table(out, t)} == {run_id}


def assert_stopped(results: list[tuple[int, str]], *reasons: str) -> None:
    """No worker exited 0; each ended with one line naming one of ``reasons``."""
    for code, err in results:
        assert code == 1, err[-3000:]
        last = err.strip().splitlines()[-1]
        assert any(last.startswith(ERROR + r) for r in reasons), last
        assert "Traceback" not in err


def crawl_until_forgotten(out: Path, server: RedisServer, forget: Any,
                          when: Any = None) -> tuple[str, set[str], list[tuple[int, str]]]:
    """Two workers; ``forget(client)`` once some titles are committed mid-crawl.  The run
    id, the titles committed when the workers had stopped, and their exit codes and logs."""
    client = redis.Redis.from_url(server.url)
    with mirror() as site:
        procs = workers(site.base_url, out, server.url)
        wait_until(when or (lambda: int(client.hget("mlt:meta", "depth") or 0) >= 1
                            and done(client) >= 12))
        run_id = client.hget("mlt:meta", "run_id").decode()
        forget(client)
        results = finish(procs)
    committed = set(outcomes(out))
    assert 0 < len(committed) < MAX_TITLES  # titles were missing when they stopped
    return run_id, committed, results


def rerun(out: Path, server: RedisServer) -> tuple[set[str], list[tuple[int, str]]]:
    """The same command again: the titles it asked the site for, and how it ended."""
    with mirror() as site:
        results = finish(workers(site.base_url, out, server.url))
        asked = {p.split("/")[2] for p, _ in site.log if p.startswith("/title/")}
    for code, err in results:
        assert code == 0, err[-3000:]
    return asked, results


def test_redis_restarted_empty_mid_crawl_then_one_rerun_completes_the_run(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    out = tmp_path / "out"
    run_id, committed, results = crawl_until_forgotten(
        out, server, lambda client: server.restart())
    # Redis came back at once, empty: a call on it is refused (forgot), or, in the instant
    # it was down, failed (lost); never a finished crawl.
    assert_stopped(results, "frontier_forgot", "frontier_lost")
    asked, again = rerun(out, server)
    assert_one_complete_run(out, single, run_id)
    assert not asked & committed  # only what was not committed is fetched again
    assert any("rebuilt from what its workers committed" in err for _, err in again)


def test_redis_down_then_back_empty_the_rerun_resumes_the_same_run(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    out = tmp_path / "out"
    run_id, committed, results = crawl_until_forgotten(out, server, lambda client: server.kill())
    assert_stopped(results, "frontier_lost")  # while it is down, as before
    server.start_again()
    asked, _ = rerun(out, server)  # as the error line advises
    assert_one_complete_run(out, single, run_id)  # the same run, not a new one
    assert not asked & committed


def test_redis_flushed_mid_crawl_then_one_rerun_completes_the_run(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    out = tmp_path / "out"
    run_id, committed, results = crawl_until_forgotten(
        out, server, lambda client: client.flushall())
    assert_stopped(results, "frontier_forgot")
    assert all("Redis no longer holds the crawl" in err for _, err in results)
    asked, _ = rerun(out, server)
    assert_one_complete_run(out, single, run_id)
    assert not asked & committed


def gens_after(client: redis.Redis, gen: int) -> bool:
    """Every worker made a change after generation ``gen``."""
    mine = [int(g) for g in client.hvals("mlt:gens")]
    return len(mine) == 2 and min(mine) > gen


def test_an_older_snapshot_restored_under_live_workers_is_noticed(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    out = tmp_path / "out"
    client = redis.Redis.from_url(server.url)
    snapshot: dict[str, int] = {}

    def later() -> bool:
        """A snapshot once 8 titles are done; true once 10 more are, and each worker
        changed the state since."""
        if not snapshot and done(client) >= 8:
            client.save()
            snapshot.update(gen=int(client.hget("mlt:meta", "gen")), done=done(client))
        return bool(snapshot) and done(client) >= snapshot["done"] + 10 and gens_after(
            client, snapshot["gen"])

    def restore(client: redis.Redis) -> None:
        client.execute_command("DEBUG", "RELOAD", "NOSAVE")  # the snapshot, in place

    run_id, committed, results = crawl_until_forgotten(out, server, restore, when=later)
    assert_stopped(results, "frontier_forgot")
    # The first to call notices the generation gone back; it deletes the sentinel, so the
    # others find an older state without it, whatever they saw.
    assert all("Redis holds an older" in err for _, err in results)
    asked, _ = rerun(out, server)
    assert_one_complete_run(out, single, run_id)
    assert not asked & committed


def test_an_older_snapshot_restored_while_no_worker_runs_is_noticed_by_the_rerun(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    """No live worker remembers the newer state: the generation of each worker's last
    commit, recorded in OUTPUT_DIR, tells the rerun."""
    out = tmp_path / "out"
    client = redis.Redis.from_url(server.url)
    with mirror() as site:
        procs = workers(site.base_url, out, server.url)
        wait_until(lambda: done(client) >= 8)
        client.save()
        saved = done(client)
        wait_until(lambda: done(client) >= saved + 12)
        run_id = client.hget("mlt:meta", "run_id").decode()
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        finish(procs)
    client.execute_command("DEBUG", "RELOAD", "NOSAVE")
    assert done(client) == saved  # Redis now holds the older state, intact
    committed = set(outcomes(out))
    asked, again = rerun(out, server)
    assert any("Redis holds an older state of run" in err for _, err in again)
    assert_one_complete_run(out, single, run_id)
    assert not asked & committed


def test_a_finished_run_then_redis_restarted_empty_then_the_same_command_is_a_new_run(
    tmp_path: Path, server: RedisServer
) -> None:
    out = tmp_path / "out"
    with mirror() as site:
        for code, err in finish(workers(site.base_url, out, server.url, n=1)):
            assert code == 0, err[-3000:]
        record = json.loads((out / "_state" / "shared" / "mlt.json").read_text())
        assert record["finished_at"] is not None  # OUTPUT_DIR says the run finished
        first = record["run_id"]
        server.restart()  # Redis forgets the finished crawl
        for code, err in finish(workers(site.base_url, out, server.url, n=1)):
            assert code == 0, err[-3000:]
    runs = {r["run_id"] for r in read_table(out, "titles")}
    assert first in runs and len(runs) == 2  # a new run, as a new FRONTIER_KEY makes
    second = json.loads((out / "_state" / "shared" / "mlt.json").read_text())["run_id"]
    assert second != first
    titles = [r["tconst"] for r in read_table(out, "titles") if r["run_id"] == second]
    assert len(titles) == len(set(titles)) == len(
        [r for r in read_table(out, "titles") if r["run_id"] == first])


def test_workers_killed_then_the_same_command_with_the_same_worker_names_resumes(
    tmp_path: Path, server: RedisServer, single: Path
) -> None:
    """Redis kept everything; each restarted worker finds what its killed predecessor of
    the same name held (it never gave it back, and its lease never runs out now)."""
    out = tmp_path / "out"
    client = redis.Redis.from_url(server.url)
    with mirror() as site:
        procs = workers(site.base_url, out, server.url)
        wait_until(lambda: done(client) >= 12 and client.scard("mlt:claims:w0") > 0)
        run_id = client.hget("mlt:meta", "run_id").decode()
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        finish(procs)
    committed = set(outcomes(out))
    asked, again = rerun(out, server)
    assert any("w0 ended without giving back what it held" in err for _, err in again)
    assert_one_complete_run(out, single, run_id)
    assert not asked & committed


def test_the_guard_tells_each_way_of_forgetting(tmp_path: Path, server: RedisServer) -> None:
    """In process, call by call: a flush, an older snapshot (which stops a worker that saw
    nothing newer too), and a state rebuilt by a new session (which stays usable)."""
    from datetime import datetime

    from crawler.frontier.recovery import open_crawl
    from crawler.frontier.shared import SharedFrontier
    from crawler.state.run import Run

    client = redis.Redis.from_url(server.url)
    seeds = [tconst_of(i) for i in range(1, 9)]
    run = Run(run_id="r1", seeds=seeds, depth=1, max_titles=20, arguments={"seed": "x"},
              started_at=datetime.fromisoformat("2026-11-27T00:00:00+00:00"))

    def worker(name: str) -> SharedFrontier:
        epoch = open_crawl(client, "mlt", run, tmp_path, lease_seconds=0).epoch
        return SharedFrontier(client, "mlt", name, epoch=epoch, lease_seconds=30,
                              claim_batch=2, committed_since=lambda w, last: [])

    a, b = worker("a"), worker("b")
    assert a.take() == seeds[:2] and a.stop_reason is None
    client.save()  # the snapshot: b has changed nothing since
    a.resolve(seeds[0], "title")
    client.execute_command("DEBUG", "RELOAD", "NOSAVE")
    assert a.take() == [] and a.stop_reason == "frontier_forgot"
    assert "older state" in (a.forgot or "")
    assert b.take() == [] and b.stop_reason == "frontier_forgot"  # a deleted the sentinel
    assert "older or partial state" in (b.forgot or "")
    assert b.advance() is not False  # never "the crawl is over" on a forgotten state

    c = worker("c")  # a new session: the record's run, rebuilt under a new epoch
    assert c.epoch.split(".")[0] == "2" and c.take()
    b.forgot = None
    b.heartbeat()
    assert b.stop_reason == "frontier_forgot" and "new session" in (b.forgot or "")
    assert c.take() and c.stop_reason is None  # the old worker left the new state alone

    client.flushall()
    c.heartbeat()
    assert c.stop_reason == "frontier_forgot" and "no longer holds" in (c.forgot or "")
    assert not c.finished and c.level_fetched() is False
