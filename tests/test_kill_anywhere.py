"""Kills at any moment of the commit protocol, without JOBDIR: a plain glob over OUTPUT_DIR
(the README's way to read it) counts what the views count, after every kill and after the
next complete run, which removes what the killed runs left (never what a live run beside
it writes) and records them in ``runs``.  bench/kill_anywhere.py kills more often.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import duckdb

from analytics.views import connect_current
from crawler.state import sessions
from mirror.server import MirrorServer
from pipelines.stores import read_commits
from tests import forkserver
from tests.crawling import ROOT, VIEWS
from tests.test_resume import GRAPH, command, committed_hidden, kill_inside

TABLES = ("titles", "failures", "more_like_this", "credits", "crawl_runs")
RANDOM_KILLS = 4  # plus one between a commit and its renames; bench/ has no more to add


def commit_lines(out: Path) -> int:
    return sum(len(p.read_bytes().splitlines()) for p in (out / "_state").glob("*.commits"))


def glob_count(out: Path, table: str) -> int:
    if not list((out / table).glob("**/*.parquet")):
        return 0
    query = f"SELECT count(*) FROM read_parquet('{out}/{table}/**/*.parquet')"
    with duckdb.connect() as con:
        return int(con.execute(query).fetchall()[0][0])


def assert_globs_count_what_the_views_count(out: Path,
                                            con: duckdb.DuckDBPyConnection) -> None:
    for table in TABLES:
        (views,) = con.execute(f"SELECT count(*) FROM {table}_raw").fetchone()  # type: ignore[misc]
        assert glob_count(out, table) == views, table


def kill_at_random(cmd: list[str], out: Path, commits: int) -> None:
    """Start the crawl, SIGKILL it as soon as ``commits`` more chunks are in commit logs
    (so often between a commit and its renames)."""
    target = commit_lines(out) + commits
    proc = forkserver.popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while commit_lines(out) < target and proc.poll() is None:  # polls a condition
            assert time.monotonic() < deadline, "the crawl committed nothing in 60 s"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_kills_anywhere_then_a_complete_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rng = random.Random(19)
    settings = {"PARQUET_COMMIT_ROWS": "1"}  # a commit per title: kills land in commits
    with MirrorServer(records=GRAPH) as mirror:
        cmd = command(mirror.base_url, out, None, settings)
        killed = forkserver.run(command(mirror.base_url, out, None,
                                        {**settings, **kill_inside("publish:3")}),
                                cwd=ROOT, capture_output=True, text=True, check=False)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        run_id = next((out / "_state").glob("*.commits")).name.removesuffix(".commits")
        assert committed_hidden(out, run_id)  # committed, not published: no glob sees it
        assert read_commits(out, run_id) == [0, 1, 2]
        with connect_current(out) as con:
            assert_globs_count_what_the_views_count(out, con)
        for _ in range(RANDOM_KILLS):
            kill_at_random(cmd, out, rng.randint(1, 12))
            with connect_current(out) as con:
                assert_globs_count_what_the_views_count(out, con)
        # The complete run (with JOBDIR: it cleans up all the same) beside a live one.
        live = out / "titles" / "crawl_date=2026-01-01" / ".live1-00000.parquet.tmp"
        live.parent.mkdir(parents=True, exist_ok=True)
        live.write_bytes(b"being written")
        lock = sessions.acquire(out, "live1")  # this test process is that live run
        try:
            complete = forkserver.run(command(mirror.base_url, out, tmp_path / "job",
                                              {**settings, **VIEWS}),
                                      cwd=ROOT, capture_output=True, text=True, check=False)
            assert live.exists(), "a live run's file was removed"
        finally:
            lock.release(ended=True)
            live.unlink(missing_ok=True)
    assert complete.returncode == 0, complete.stderr[-3000:]
    assert not list(out.rglob("*.tmp")), "what the killed runs left is removed"
    assert not committed_hidden(out, run_id)
    with duckdb.connect(str(out / "dataset.duckdb"), read_only=True) as con:
        assert_globs_count_what_the_views_count(out, con)
        runs = con.execute("SELECT run_id, finish_reason, finished_at, titles_rows "
                           "FROM runs").fetchall()
        titles = dict(con.execute("SELECT run_id, count(*) FROM titles_raw "
                                  "GROUP BY run_id").fetchall())
    # Every killed run is in runs, said killed, with the titles it committed.
    assert sorted(r[1] for r in runs) == ["finished"] + ["killed"] * (RANDOM_KILLS + 1)
    for found, reason, finished_at, titles_rows in runs:
        assert titles_rows == titles.get(found, 0), found
        assert (finished_at is None) == (reason == "killed")
    assert titles[run_id] >= 3
