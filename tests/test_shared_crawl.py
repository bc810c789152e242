"""One crawl shared by several worker processes through a real Redis (FRONTIER_URL).

The workers are real ``scrapy crawl more_like_this`` processes over the local mirror's
synthetic graph; the result is compared with what one in-process crawl gives.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import pytest
import redis

from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, VIEWS, crawl_command, read_table, run_crawl

GRAPH = synthetic_graph(120, out_degree=5, seed=11)
SEED = tconst_of(1)
DEPTH = 3
MAX_TITLES = 80
OUTCOME_TABLES = ("titles", "failures", "aliases", "reused")
_PLAIN = bfs_order(GRAPH, [SEED], DEPTH, MAX_TITLES).order
# Merges: into a title scheduled deeper, into one the crawl would not reach, and into
# one that is not there (its canonical fails 404).
FAULTS = {_PLAIN[2]: Fault.redirect(_PLAIN[40]), _PLAIN[3]: Fault.redirect(tconst_of(119)),
          _PLAIN[7]: Fault.redirect(tconst_of(500))}


def mirror() -> MirrorServer:
    return MirrorServer(records=GRAPH, faults=FAULTS)


def shared(redis_url: str, worker: str, **more: Any) -> dict[str, Any]:
    return {"FRONTIER_URL": redis_url, "FRONTIER_WORKER": worker,
            # A lease a starved worker on a loaded CI machine still renews in time (a lapsed
            # one lets a live worker write what another also wrote: issue 19, point 2).
            "FRONTIER_LEASE_SECONDS": "4", "FRONTIER_POLL_SECONDS": "0.05", **more}


def start_worker(base_url: str, out: Path | str, redis_url: str, worker: str,
                 **kwargs: Any) -> subprocess.Popen[str]:
    settings = kwargs.pop("settings", {})
    cmd = crawl_command(base_url, out, seed=SEED, depth=DEPTH, max_titles=MAX_TITLES,
                        settings={**shared(redis_url, worker), **settings}, **kwargs)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The log goes to a file: a worker blocked on a full pipe nobody reads yet would hold
    # up the level barrier of the others, and the test with it.
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - read and closed by finish()
    proc = forkserver.popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                            text=True)
    LOGS[proc.pid] = log
    return proc


LOGS: dict[int, IO[str]] = {}


def finish(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[tuple[int, str]]:
    """Each worker's exit code and log, once all have ended."""
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            proc.wait(max(1.0, deadline - time.monotonic()))
    finally:
        for proc in procs:  # none is left running, whatever failed
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    results = []
    for proc in procs:
        log = LOGS.pop(proc.pid)
        log.seek(0)
        results.append((proc.returncode, log.read()))
        log.close()
    return results


def outcomes(out: Path) -> Counter[str]:
    """tconst -> how many outcome rows it has, over every outcome table."""
    counts: Counter[str] = Counter()
    for table in OUTCOME_TABLES:
        counts.update(r["tconst"] for r in read_table(out, table))
    return counts


def edges(out: Path) -> Counter[tuple[str, str, int]]:
    return Counter((r["tconst"], r["similar_tconst"], r["rank"])
                   for r in read_table(out, "more_like_this"))


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: one in-process crawl of the same graph and arguments."""
    out = tmp_path_factory.mktemp("single") / "out"
    with mirror() as server:
        proc = run_crawl(server.base_url, out, seed=SEED, depth=DEPTH, max_titles=MAX_TITLES)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def assert_same_crawl(out: Path, single: Path) -> None:
    got = outcomes(out)
    assert set(got.values()) == {1}  # every scheduled title once
    assert got == outcomes(single)  # ... and the same titles as one process
    assert len(got) == MAX_TITLES  # the budget, cut where one process cuts it
    assert edges(out) == edges(single)
    aliases = {(r["tconst"], r["canonical_tconst"]) for r in read_table(out, "aliases")}
    assert aliases == {(_PLAIN[2], _PLAIN[40]), (_PLAIN[3], tconst_of(119)),
                       (_PLAIN[7], tconst_of(500))}
    depth = {r["tconst"]: r["depth"] for r in read_table(single, "titles")}
    assert {r["tconst"]: r["depth"] for r in read_table(out, "titles")} == depth
    assert len({r["run_id"] for r in read_table(out, "titles")}) == 1


def test_three_workers_make_the_crawl_one_process_makes(
    tmp_path: Path, redis_url: str, single: Path
) -> None:
    out = tmp_path / "out"
    # A few titles at a time and a small shared delay, so all three get some of each level.
    spread = {"FRONTIER_CLAIM_BATCH": "2", "CONCURRENT_REQUESTS": "2", "DOWNLOAD_DELAY": "0.03"}
    with mirror() as server:
        procs = [start_worker(server.base_url, out, redis_url, f"w{i}", settings=spread)
                 for i in range(3)]
        results = finish(procs)
        fetched = Counter(p.split("/")[2] for p, _ in server.log if p.startswith("/title/"))
    for code, err in results:
        assert code == 0, err[-2000:]
    assert_same_crawl(out, single)
    assert set(fetched.values()) == {1}  # no title fetched twice across the workers
    # Each worker wrote its own files, named by the run and the worker.
    # (The run id has a '-' of its own: the chunk number is what follows the last one.)
    names = {p.name.rsplit("-", 1)[0] for p in (out / "titles").rglob("*.parquet")}
    run_id = read_table(out, "titles")[0]["run_id"]
    assert len(names) >= 2 and all(n.startswith(f"{run_id}.w") for n in names)
    runs = read_table(out, "crawl_runs")
    assert len(runs) == 3 and {r["finish_reason"] for r in runs} == {"finished"}
    assert sorted(r["worker"] for r in runs) == ["w0", "w1", "w2"]


def held_by(client: redis.Redis, worker: str) -> int:
    return int(client.scard(f"mlt:claims:{worker}"))


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)  # polling a condition, bounded by the deadline


# Slow pages and small claims, so a worker killed mid-level holds titles of it.
SLOW = {"DOWNLOAD_DELAY": "0.08", "FRONTIER_CLAIM_BATCH": "2"}


def crawl_killing_one_mid_level(out: Path | str, redis_url: str) -> list[tuple[int, str]]:
    """Three workers; w0 is SIGKILLed while it holds titles of depth 2 or deeper.  The
    survivors' exit codes and logs."""
    client = redis.Redis.from_url(redis_url)
    with mirror() as server:
        procs = [start_worker(server.base_url, out, redis_url, f"w{i}", settings=SLOW)
                 for i in range(3)]
        wait_until(lambda: int(client.hget("mlt:meta", "depth") or 0) >= 2
                   and held_by(client, "w0") > 0)
        procs[0].send_signal(signal.SIGKILL)
        results = finish(procs[1:])
    for code, err in results:
        assert code == 0, err[-2000:]
    assert "go back to the queue" in "".join(err for _, err in results)
    return results


def test_a_worker_killed_mid_level_loses_nothing(
    tmp_path: Path, redis_url: str, single: Path
) -> None:
    crawl_killing_one_mid_level(tmp_path / "out", redis_url)
    assert_same_crawl(tmp_path / "out", single)


def test_all_workers_stopped_and_started_again_resume_the_run(
    tmp_path: Path, redis_url: str, single: Path
) -> None:
    out = tmp_path / "out"
    client = redis.Redis.from_url(redis_url)
    with mirror() as server:
        procs = [start_worker(server.base_url, out, redis_url, f"a{i}", settings=SLOW)
                 for i in range(2)]
        wait_until(lambda: int(client.hget("mlt:meta", "depth") or 0) >= 2
                   and client.hlen("mlt:claims") > 0)
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        finish(procs)
        run_id = client.hget("mlt:meta", "run_id")
        again = [start_worker(server.base_url, out, redis_url, f"b{i}") for i in range(2)]
        results = finish(again)
    for code, err in results:
        assert code == 0, err[-2000:]
    assert_same_crawl(out, single)
    assert {r["run_id"] for r in read_table(out, "titles")} == {run_id.decode()}


def test_a_worker_with_other_arguments_is_refused(tmp_path: Path, redis_url: str) -> None:
    with mirror() as server:
        first = start_worker(server.base_url, tmp_path / "out", redis_url, "w0")
        ((code, err),) = finish([first])
        assert code == 0, err[-2000:]
        proc = run_crawl(server.base_url, tmp_path / "out", seed=SEED, depth=1,
                         max_titles=MAX_TITLES, settings=shared(redis_url, "w9"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "runs with other arguments" in lines[0]
    assert "'depth': '3'" in lines[0]


def test_a_finished_shared_crawl_is_not_run_again(tmp_path: Path, redis_url: str) -> None:
    with mirror() as server:
        ((code, err),) = finish([start_worker(server.base_url, tmp_path / "out", redis_url,
                                              "w0")])
        assert code == 0, err[-2000:]
        before = len(server.log)
        again = start_worker(server.base_url, tmp_path / "out", redis_url, "w1")
        ((code, err),) = finish([again])
        assert len(server.log) == before
    assert code == 0
    assert "is finished; nothing to do" in err


def test_redis_down_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.redis_server import free_port

    port = free_port()  # nothing listens there
    url = f"redis://:s3cret@127.0.0.1:{port}/0"
    with mirror() as server:
        proc = run_crawl(server.base_url, tmp_path / "out", seed=SEED, depth=1,
                         settings=shared(url, "w0"))
        assert server.log == []
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Redis cannot be reached" in lines[0]
    assert f"redis://:***@127.0.0.1:{port}/0" in lines[0]
    assert "s3cret" not in proc.stderr + proc.stdout  # a password is never echoed


def test_jobdir_with_a_shared_crawl_is_refused(tmp_path: Path, redis_url: str) -> None:
    proc = run_crawl("http://127.0.0.1:9", tmp_path / "out", seed=SEED, depth=1,
                     settings={**shared(redis_url, "w0"), "JOBDIR": str(tmp_path / "job")})
    assert proc.returncode == 2
    assert "drop JOBDIR" in proc.stderr


def test_a_shared_refresh_decides_each_title_once_and_views_count_the_run(
    tmp_path: Path, redis_url: str, single: Path
) -> None:
    import duckdb

    out = tmp_path / "out"
    with mirror() as server:
        first = [start_worker(server.base_url, out, redis_url, f"w{i}",
                              settings={"FRONTIER_KEY": "week1"}) for i in range(2)]
        for code, err in finish(first):
            assert code == 0, err[-2000:]
        before = len(server.log)
        again = [start_worker(server.base_url, out, redis_url, f"v{i}",
                              settings={"FRONTIER_KEY": "week2", **VIEWS},
                              extra_args={"refresh": "7d"}) for i in range(2)]
        results = finish(again)
        title_requests = [p for p, _ in server.log[before:] if p.startswith("/title/")]
    for code, err in results:
        assert code == 0, err[-2000:]
    # Every page and merge is fresh: only the failures are asked for again, once each.
    failed = sorted(r["tconst"] for r in read_table(single, "failures"))
    assert len(failed) >= 2
    assert sorted(p.split("/")[2] for p in title_requests) == failed
    reused = read_table(out, "reused")
    assert len({r["run_id"] for r in reused}) == 1
    assert Counter(r["tconst"] for r in reused) == Counter(
        t for t in outcomes(single) if t not in failed)
    with duckdb.connect(str(out / "dataset.duckdb"), read_only=True) as db:
        rows = db.execute("SELECT sessions, titles_scheduled, titles_reused, titles_failed "
                          "FROM runs ORDER BY started_at").fetchall()
    assert rows == [(2, MAX_TITLES, 0, len(failed)),
                    (2, MAX_TITLES, MAX_TITLES - len(failed), len(failed))]


def test_workers_writing_to_an_object_store_one_killed_mid_level(
    redis_url: str, single: Path, s3_server: Any, s3_bucket: str
) -> None:
    from tests.test_s3_output import s3_rows

    uri = s3_server.uri(s3_bucket, "shared")
    crawl_killing_one_mid_level(uri, redis_url)
    got: Counter[str] = Counter()
    for table in OUTCOME_TABLES:
        got.update(r["tconst"] for r in s3_rows(uri, table))
    assert got == outcomes(single)  # every scheduled title once, as one process has them
    assert Counter((r["tconst"], r["similar_tconst"], r["rank"])
                   for r in s3_rows(uri, "more_like_this")) == edges(single)


def test_a_worker_stalled_past_its_lease_writes_nothing_twice(
    tmp_path: Path, redis_url: str, single: Path
) -> None:
    """w0 is SIGSTOPped holding fetched, uncommitted titles; once it is taken for dead and
    w1 has committed them, it goes on: it must commit none of them again (issue 19)."""
    out = tmp_path / "out"
    client = redis.Redis.from_url(redis_url)
    with mirror() as server:
        procs = [start_worker(server.base_url, out, redis_url, f"w{i}", settings=SLOW)
                 for i in range(2)]
        for _ in range(3):  # stopped just as it committed its titles: let it go on
            wait_until(lambda: int(client.hget("mlt:meta", "depth") or 0) >= 1
                       and client.hlen("mlt:out:w0") > 0)
            procs[0].send_signal(signal.SIGSTOP)
            fetched = [t.decode() for t in client.hkeys("mlt:out:w0")]
            if fetched:
                break
            procs[0].send_signal(signal.SIGCONT)
        assert fetched
        try:
            # A second live process under its name is refused: w0 holds its session lock.
            twin = run_crawl(server.base_url, out, seed=SEED, depth=DEPTH,
                             max_titles=MAX_TITLES, settings=shared(redis_url, "w0"))
            assert twin.returncode == 2, twin.stderr[-2000:]
            assert "a worker of that name is running" in twin.stderr
            wait_until(lambda: client.hexists("mlt:reaped", "w0"))  # its lease ran out
            # ... and w1 fetched and committed again what w0 had fetched
            wait_until(lambda: all(client.hexists("mlt:done", t)
                                   or client.hget("mlt:claims", t) == b"w0" for t in fetched))
        finally:
            procs[0].send_signal(signal.SIGCONT)
        (stalled, stalled_log), (other, other_log) = finish(procs)
    assert other == 0, other_log[-2000:]
    # The raw tables hold each title once, and the crawl one process makes.
    for table in (*OUTCOME_TABLES, "more_like_this"):
        rows = [(r["tconst"], r["run_id"], r.get("similar_tconst")) for r in read_table(out, table)]
        assert len(rows) == len(set(rows)), table
    assert_same_crawl(out, single)
    lines = [line for line in stalled_log.splitlines() if "ERROR: worker w0 lost its" in line]
    assert len(lines) == 1 and "taken for dead" in lines[0], stalled_log[-3000:]
    assert stalled == 1, stalled_log[-2000:]
    assert "finish reason lease_lost" in stalled_log.strip().splitlines()[-1]
    runs = read_table(out, "crawl_runs")
    assert sorted(r["finish_reason"] for r in runs) == ["finished", "lease_lost"]
    counted = sum(r[f"{t}_rows"] for r in runs for t in ("titles", "failures", "aliases"))
    assert counted + sum(r["reused_rows"] for r in runs) == MAX_TITLES
