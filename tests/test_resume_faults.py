"""Kill-and-resume, continued: refusals of a JOBDIR, damaged chunks, a disk that fails,
kills without JOBDIR, Ctrl-C, and merged and failed titles (tests/test_resume.py has the
kills at title requests and inside the commit protocol, and the helpers both use).
A module of its own so that ``make test`` runs the two halves on two workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest

from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order
from pipelines.stores import read_commits
from tests import forkserver
from tests.crawling import FAST, ROOT, crawl_command, read_table
from tests.test_resume import (
    DATA_TABLES,
    DEPTH,
    EXPECTED,
    GRAPH,
    LEVEL_ENDS,
    SEED,
    TIMEOUT,
    TOTAL,
    Trigger,
    assert_readable,
    assert_same_dataset,
    command,
    committed_outcomes,
    content,
    fail_inside,
    hidden_tmp_files,
    job_run_id,
    kill_inside,
    resume,
    uninterrupted,
)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    return uninterrupted(tmp_path_factory)


def test_rerun_of_a_finished_job_says_so_and_writes_nothing(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd).returncode == 0
        files = sorted(p for p in out.rglob("*") if p.is_file())
        again = trigger.run(cmd)
        assert (again.returncode, trigger.titles) == (0, 0)
        run_id = job_run_id(job)
        assert again.stderr.startswith(f"scrapy crawl more_like_this: JOBDIR {job} holds run "
                                       f"{run_id}, already finished at ")
        assert again.stderr.count("\n") == 1
        assert sorted(p for p in out.rglob("*") if p.is_file()) == files
    assert_same_dataset(out, baseline)
    assert len(read_table(out, "crawl_runs")) == 1


def test_a_second_crawl_on_a_held_jobdir_is_refused(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    """flock on JOBDIR/lock: the second crawl exits 2 at once naming the holder; the first
    goes on undisturbed.  A lock left by a killed run (see the kill tests) never blocks."""
    out, job = tmp_path / "out", tmp_path / "job"
    arrived, release = threading.Event(), threading.Event()
    with MirrorServer(records=GRAPH) as mirror:
        count = mirror._count

        def held(path: str) -> int:
            if path.startswith("/title/"):
                arrived.set()
                release.wait(TIMEOUT)
            return count(path)

        mirror._count = held  # type: ignore[method-assign]
        cmd = command(mirror.base_url, out, job)
        first = forkserver.popen(cmd, cwd=ROOT, text=True, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        try:
            assert arrived.wait(TIMEOUT), "the first crawl never asked for a title"
            second = forkserver.run(cmd, cwd=ROOT, text=True, capture_output=True,
                                    timeout=TIMEOUT, check=False)
        finally:
            release.set()
            _, first_log = first.communicate(timeout=TIMEOUT)
    assert second.returncode == 2
    assert second.stderr == (f"scrapy crawl more_like_this: error: JOBDIR={str(job)!r} is in "
                             f"use by another crawl (pid {first.pid}); wait for it to end or "
                             "use another JOBDIR\n")
    assert first.returncode == 0, first_log[-3000:]
    assert_same_dataset(out, baseline)


@pytest.mark.parametrize("text", ["[1, 2]", '{"run_id": 5}', "{not json"],
                         ids=["a list", "wrong types", "not JSON"])
def test_a_malformed_job_file_is_refused_in_one_line(tmp_path: Path, text: str) -> None:
    job = tmp_path / "job"
    job.mkdir()
    (job / "more_like_this.json").write_text(text)
    proc = forkserver.run(crawl_command("http://127.0.0.1:9", tmp_path / "out", seed=SEED,
                                        settings={"JOBDIR": str(job)}),
                          cwd=ROOT, text=True, capture_output=True, timeout=TIMEOUT, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"scrapy crawl more_like_this: error: JOBDIR={str(job)!r}: "
                                  "its job file ")
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_committed_chunk_is_dropped_and_fetched_again(
    tmp_path: Path, baseline: dict[str, Counter[str]], damage: str
) -> None:
    """The resume drops the first unreadable committed chunk (and the chunks after it),
    fetches exactly their titles again, and never starts over under the same run id."""
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        killed = trigger.run(cmd, at=LEVEL_ENDS[2] + 1)  # levels 0-2 committed
        assert killed.returncode == -signal.SIGKILL
        run_id = job_run_id(job)
        assert read_commits(out, run_id) == [0, 1, 2]
        (level_1,) = out.glob(f"titles/crawl_date=*/{run_id}-00001.parquet")
        data = level_1.read_bytes()
        level_1.write_bytes(data[: len(data) // 2] if damage == "truncated"
                            else data[:4] + bytes(len(data) - 8) + data[-4:])
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "committed chunk 1 cannot be read" in proc.stderr
        assert trigger.titles == TOTAL - LEVEL_ENDS[0]  # levels 1 and on, once each
    assert_same_dataset(out, baseline)


def test_sigkill_while_the_job_state_is_written_at_close(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        killed = trigger.run(command(mirror.base_url, out, job, kill_inside("job_state")))
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        proc = trigger.run(command(mirror.base_url, out, job))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == 0
    assert_same_dataset(out, baseline)


OTHER_JOB = "holds a job with other arguments"


def test_other_arguments_on_the_same_jobdir_are_refused(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=LEVEL_ENDS[2] + 1).returncode == -signal.SIGKILL
        before = content(out)
        other = crawl_command(mirror.base_url, out, seed=SEED, depth=DEPTH - 1,
                              settings={"JOBDIR": str(job)})
        refused = trigger.run(other)
        assert refused.returncode != 0
        assert OTHER_JOB in refused.stderr
        assert trigger.titles == 0
        assert content(out) == before
        resume(trigger, cmd, out, job)  # the job is intact
    assert_same_dataset(out, baseline)


def test_other_arguments_on_the_same_jobdir_are_refused_in_one_line(tmp_path: Path) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        assert trigger.run(command(mirror.base_url, out, job), at=1).returncode == -signal.SIGKILL
        refused = trigger.run(crawl_command(mirror.base_url, out, seed=SEED, depth=DEPTH - 1,
                                            settings={"JOBDIR": str(job)}))
    assert OTHER_JOB in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.returncode == 2  # as for any other bad argument


# --- a disk that fails ---------------------------------------------------------------------

DISK_FULL = "scrapy crawl more_like_this: error: disk full in OUTPUT_DIR "


@pytest.mark.parametrize("point", ["write:9", "close:3", "rename:5", "log:3", "write:1"])
def test_a_full_disk_exits_non_zero_and_a_rerun_completes_the_job(
    tmp_path: Path, baseline: dict[str, Counter[str]], point: str
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        failed = trigger.run(command(mirror.base_url, out, job, fail_inside(point)))
        assert failed.returncode == 1, failed.stderr[-3000:]
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith(DISK_FULL) and "No space left on device" in last, last
        assert "Traceback" not in failed.stderr
        assert_readable(out)
        run_id = job_run_id(job)
        commits = set(read_commits(out, run_id))
        assert not [p for p in out.glob("*/crawl_date=*/*.parquet")
                    if int(p.stem.rsplit("-", 1)[1]) not in commits]
        assert committed_outcomes(out, job) != set(EXPECTED.order)  # something was lost...
        resume(trigger, command(mirror.base_url, out, job), out, job)  # ...and is fetched
    assert_same_dataset(out, baseline)


def test_a_full_disk_without_jobdir_says_so_in_crawl_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with MirrorServer(records=GRAPH) as mirror:
        # The disk is full once; dropping the chunk frees room for the crawl_runs row.
        failed = Trigger(mirror).run(command(mirror.base_url, out, None,
                                             fail_inside("log:3-3")))
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith(DISK_FULL)
    (run,) = read_table(out, "crawl_runs")
    assert run["finish_reason"] == "output_failed"
    assert run["error"].startswith("disk full in OUTPUT_DIR")


def test_a_real_full_disk(tmp_path: Path, baseline: dict[str, Counter[str]]) -> None:
    """OUTPUT_DIR on a tmpfs too small for the run; then grown, and the job resumed."""
    out, job = tmp_path / "out", tmp_path / "job"
    out.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(out)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the injected "
                    "ENOSPC tests above cover every write and rename")
    try:
        with MirrorServer(records=GRAPH) as mirror:
            trigger = Trigger(mirror)
            failed = trigger.run(command(mirror.base_url, out, job))
            assert failed.returncode == 1, failed.stderr[-3000:]
            assert failed.stderr.strip().splitlines()[-1].startswith(DISK_FULL)
            assert "Traceback" not in failed.stderr
            assert_readable(out)
            subprocess.run(["mount", "-o", "remount,size=64m", str(out)], check=True)
            resume(trigger, command(mirror.base_url, out, job), out, job)
        assert_same_dataset(out, baseline)
    finally:
        subprocess.run(["umount", str(out)], check=False)


# --- SIGKILL without JOBDIR ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "point"), [(45, None), (None, "commit:3")], ids=["level 3 being written", "in a commit"]
)
def test_sigkill_without_jobdir_leaves_only_readable_files(
    tmp_path: Path, at: int | None, point: str | None
) -> None:
    out = tmp_path / "out"
    with MirrorServer(records=GRAPH) as mirror:
        cmd = command(mirror.base_url, out, None, kill_inside(point) if point else None)
        killed = Trigger(mirror).run(cmd, at=at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert_readable(out)
    if at is not None:
        assert hidden_tmp_files(out)  # there was something half-written to hide
    for table in DATA_TABLES:
        read_table(out, table)  # the whole dataset opens, as a reader opens it
    titles = read_table(out, "titles")
    assert titles and len({r["tconst"] for r in titles}) == len(titles)


# --- Ctrl-C --------------------------------------------------------------------------------

SHUTDOWN = "Closing spider (shutdown)"


INTERRUPTED = "error: finish reason shutdown: interrupted before the crawl was done"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_ctrl_c_without_jobdir_accounts_for_every_scheduled_title(
    tmp_path: Path, sig: signal.Signals
) -> None:
    out = tmp_path / "out"
    at = LEVEL_ENDS[1] + 1  # the first request of level 2
    with MirrorServer(records=GRAPH) as mirror:
        # Requests in flight wait until the shutdown has begun: the rest of level 2 is cut.
        proc = Trigger(mirror).run(command(mirror.base_url, out, None), at=at,
                                   sig=sig, hold_until=SHUTDOWN)
    # An interrupted run is not a success, even though it accounted for everything.
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert SHUTDOWN in proc.stderr and INTERRUPTED in proc.stderr
    assert_readable(out)
    assert not hidden_tmp_files(out)

    (run,) = read_table(out, "crawl_runs")
    assert run["finish_reason"] == "shutdown"
    titles = [r["tconst"] for r in read_table(out, "titles")]
    failures = {r["tconst"]: r for r in read_table(out, "failures")}
    assert len(set(titles)) == len(titles)
    assert not set(titles) & set(failures)
    # Scheduled: levels 0-2 (level 2 was scheduled when level 1 ended), nothing deeper.
    scheduled = {t for t in EXPECTED.order if EXPECTED.depth[t] <= 2}
    assert set(titles) | set(failures) == scheduled
    not_fetched = {t for t, r in failures.items() if r["reason"] == "not_fetched"}
    assert {failures[t]["depth"] for t in not_fetched} == {2}
    # At most the requests in flight at the signal were answered.
    level_2 = {t for t in scheduled if EXPECTED.depth[t] == 2}
    fetched_2 = level_2 - not_fetched
    assert 1 <= len(fetched_2) <= int(FAST["CONCURRENT_REQUESTS"])
    assert {t for t, r in failures.items() if r["reason"] != "not_fetched"} == (
        set(EXPECTED.missing) & (scheduled - not_fetched)
    )
    assert run["titles_rows"] == len(titles) and run["failures_rows"] == len(failures)


FORCED = "forcing unclean shutdown"


def test_ctrl_c_with_jobdir_then_resume(tmp_path: Path, baseline: dict[str, Counter[str]]) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        stopped = trigger.run(cmd, at=30, sig=signal.SIGINT, hold_until=SHUTDOWN)
        assert stopped.returncode == 1, stopped.stderr[-3000:]
        assert INTERRUPTED in stopped.stderr
        assert_readable(out)
        assert not hidden_tmp_files(out)
        (run,) = read_table(out, "crawl_runs")
        assert run["finish_reason"] == "shutdown"
        # What was fetched of level 3 is committed at close, and not fetched again.
        assert LEVEL_ENDS[2] < len(committed_outcomes(out, job)) < TOTAL
        resume(trigger, cmd, out, job)
    assert_same_dataset(out, baseline)
    reasons = [r["finish_reason"] for r in sorted(read_table(out, "crawl_runs"),
                                                  key=lambda r: r["finished_at"])]
    assert reasons == ["shutdown", "finished"]


def test_ctrl_c_twice_with_jobdir_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    """The second Ctrl-C ends the process at once: no commit at close, like a kill."""
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        stopped = trigger.run(cmd, at=40, sig=signal.SIGINT, again_on=SHUTDOWN,
                              hold_until=FORCED)
        assert FORCED in stopped.stderr
        assert_readable(out)
        assert hidden_tmp_files(out)  # level 3 was being written
        assert not read_table(out, "crawl_runs")
        assert len(committed_outcomes(out, job)) == LEVEL_ENDS[2]
        resume(trigger, cmd, out, job)
    assert_same_dataset(out, baseline)


def test_sigkill_with_max_titles_cut_then_resume(tmp_path: Path) -> None:
    """The max_titles cut in the last level is the same after a resume."""
    expected = bfs_order(GRAPH, [SEED], DEPTH, 30)
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = crawl_command(mirror.base_url, out, seed=SEED, depth=DEPTH, max_titles=30,
                            settings={"JOBDIR": str(job), "PARQUET_ROW_GROUP_SIZE": "7"})
        assert trigger.run(cmd, at=25).returncode == -signal.SIGKILL
        assert trigger.run(cmd).returncode == 0
        assert trigger.titles == len(expected.order) - LEVEL_ENDS[2]
    titles = [r["tconst"] for r in read_table(out, "titles")]
    assert sorted(titles) == sorted(set(expected.order) - set(expected.missing))
    failures = [(r["tconst"], r["reason"]) for r in read_table(out, "failures")]
    assert sorted(failures) == sorted((t, "not_found") for t in expected.missing)
    edges = [(r["tconst"], r["similar_tconst"], r["rank"])
             for r in read_table(out, "more_like_this")]
    assert Counter(edges) == Counter(expected.ranked_edges)
    assert_readable(out)


# --- merged titles and failures ------------------------------------------------------------

# A level-2 title merged into one nobody links to (it joins level 2), a level-3 title merged
# into the seed, a level-3 title that always fails with 500, a level-2 page of another title.
FAULTS = {
    "tt9000021": Fault("redirect", params={"to": "tt9000005"}),
    "tt9000016": Fault("redirect", params={"to": SEED}),
    "tt9000045": Fault.status(500),
    "tt9000060": Fault("wrong_title", params={"tconst": "tt9000002"}),
}


@pytest.fixture(scope="module")
def faulty_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    tmp = tmp_path_factory.mktemp("faulty")
    with MirrorServer(records=GRAPH, faults=FAULTS) as mirror:
        proc = Trigger(mirror).run(command(mirror.base_url, tmp / "out", tmp / "job"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = content(tmp / "out")
    aliases = {json.loads(r)["tconst"]: json.loads(r)["canonical_tconst"] for r in data["aliases"]}
    assert aliases == {"tt9000021": "tt9000005", "tt9000016": SEED}
    reasons = {json.loads(r)["tconst"]: json.loads(r)["reason"] for r in data["failures"]}
    # tt9000005's links replace tt9000021's: level 3 differs from EXPECTED.
    assert reasons == {"tt8000035": "not_found", "tt9000045": "http_500",
                       "tt9000060": "wrong_title"}
    assert '"tconst": "tt9000005"' in "".join(data["titles"])
    return data


@pytest.mark.parametrize(("at", "point"), [(12, None), (None, "commit:3"), (40, None)],
                         ids=["mid level 2", "in the commit of level 2", "mid level 3"])
def test_sigkill_with_merged_and_failed_titles_then_resume(
    tmp_path: Path, faulty_baseline: dict[str, Counter[str]], at: int | None, point: str | None
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH, faults=FAULTS) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        killed = trigger.run(command(mirror.base_url, out, job, kill_inside(point))
                             if point else cmd, at=at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        done = committed_outcomes(out, job)
        hits = Counter(mirror.hits)
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        fetched_again = [t for t in done if mirror.hits[f"/title/{t}/"] != hits[f"/title/{t}/"]]
        assert not fetched_again
    got = content(out)
    assert all(n == 1 for table in DATA_TABLES for n in got[table].values())
    assert got == faulty_baseline
    assert len({r["run_id"] for r in read_table(out, "titles")}) == 1
    assert_readable(out)
