"""Kill-and-resume in archive mode: an as_of crawl killed with SIGKILL at chosen archive
requests, then run again with the same command and JOBDIR, ends with the dataset of an
uninterrupted run (captured_at included); a JOBDIR of another as_of is refused.  The
same for as_of=latest (killed at chosen CDX queries), and for its refresh runs."""

from __future__ import annotations

import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mirror.archive import Capture
from mirror.render import render_title_page_bytes
from mirror.server import MirrorServer
from tests.crawling import crawl_command, read_table, until_older_than
from tests.test_resume import (
    DATA_TABLES,
    DEPTH,
    EXPECTED,
    GRAPH,
    SEED,
    Trigger,
    assert_readable,
    content,
    job_run_id,
)
from tests.test_resume import LEVEL_ENDS as TITLE_LEVEL_ENDS
from tests.test_resume_faults import OTHER_JOB

CAPTURED = "20200315000000"
# Each title: the archive's redirect from as_of to the capture, then the capture; a title
# missing from the graph: one 404.
ARCHIVE = {t: [Capture(CAPTURED, body=render_title_page_bytes(r))] for t, r in GRAPH.items()}
REQUESTS = 2 * len(EXPECTED.order) - len(EXPECTED.missing)
LEVEL_ENDS = [0, 2, 10, 40]  # archive requests by the end of levels 0-2 (none missing)

def command(base_url: str, out: Path, job: Path, as_of: str = "2020-03") -> list[str]:
    return crawl_command(base_url, out, seed=SEED, depth=DEPTH,
                         settings={"WAYBACK_BASE_URL": base_url, "JOBDIR": str(job),
                                   "PARQUET_ROW_GROUP_SIZE": "7"},
                         extra_args={"as_of": as_of})

def archive_trigger(mirror: MirrorServer) -> Trigger:
    trigger = Trigger(mirror)
    trigger.prefix = "/web/"
    return trigger

@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    tmp = tmp_path_factory.mktemp("archive_baseline")
    with MirrorServer(archive=ARCHIVE) as mirror:
        trigger = archive_trigger(mirror)
        proc = trigger.run(command(mirror.base_url, tmp / "out", tmp / "job"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == REQUESTS
    per_level = Counter(EXPECTED.depth[t] for t in EXPECTED.order if t not in EXPECTED.missing)
    assert LEVEL_ENDS[1:] == [2 * sum(per_level[d] for d in range(n + 1)) for n in range(3)]
    out = tmp / "out"
    titles = read_table(out, "titles")
    fetched = set(EXPECTED.order) - set(EXPECTED.missing)
    assert sorted(r["tconst"] for r in titles) == sorted(fetched)
    assert {r["captured_at"] for r in titles} == {datetime(2020, 3, 15, tzinfo=UTC)}
    failures = read_table(out, "failures")
    assert sorted((r["tconst"], r["reason"]) for r in failures) == sorted(
        (t, "not_archived") for t in EXPECTED.missing)
    return content(out)

# The first request, one between a redirect and its capture, the first of level 2, one
# mid level 2, the last.
@pytest.mark.parametrize("at", [1, 6, 11, 27, REQUESTS], ids=lambda n: f"request {n}")
def test_sigkill_of_an_archive_crawl_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]], at: int
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(archive=ARCHIVE) as mirror:
        trigger = archive_trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=at).returncode == -signal.SIGKILL
        assert_readable(out)
        resumed = trigger.run(cmd)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        # Whole levels are committed: only the rest is asked for again.
        done = max(end for end in LEVEL_ENDS if end < at)
        assert trigger.titles == REQUESTS - done
    got = content(out)
    for table in DATA_TABLES:
        assert got[table] == baseline[table], table
    assert {r["run_id"] for r in read_table(out, "titles")} == {job_run_id(job)}

def test_a_job_of_another_as_of_is_refused(tmp_path: Path) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(archive=ARCHIVE) as mirror:
        trigger = archive_trigger(mirror)
        assert trigger.run(command(mirror.base_url, out, job), at=11).returncode == (
            -signal.SIGKILL)
        refused = trigger.run(command(mirror.base_url, out, job, as_of="2021"))
        assert refused.returncode == 2
        assert OTHER_JOB in refused.stderr and "'as_of': '2020-03'" in refused.stderr
        assert trigger.titles == 0

# --- as_of=latest: one CDX query per title, then its newest usable capture ---------------

# Each title's newest capture is a recorded challenge, never downloaded.
LATEST = {t: [*found, Capture.challenge("20261101000000")] for t, found in ARCHIVE.items()}
CDX_LEVEL_ENDS = [0, *TITLE_LEVEL_ENDS]  # CDX queries by the end of each level

def latest_command(base_url: str, out: Path, job: Path | None, **extra: str) -> list[str]:
    settings = {"WAYBACK_BASE_URL": base_url, "PARQUET_ROW_GROUP_SIZE": "7",
                "ARCHIVE_CDX_DELAY": "0"}
    if job is not None:
        settings["JOBDIR"] = str(job)
    return crawl_command(base_url, out, seed=SEED, depth=DEPTH, settings=settings,
                         extra_args={"as_of": "latest", **extra})

def cdx_trigger(mirror: MirrorServer) -> Trigger:
    trigger = Trigger(mirror)
    trigger.prefix = "/cdx/"  # counts the CDX queries
    return trigger

@pytest.fixture(scope="module")
def latest_baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    tmp = tmp_path_factory.mktemp("latest_baseline")
    with MirrorServer(archive=LATEST) as mirror:
        trigger = cdx_trigger(mirror)
        proc = trigger.run(latest_command(mirror.base_url, tmp / "out", tmp / "job"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == len(EXPECTED.order)  # one query per title
        assert not [p for p, _ in mirror.log if "20261101000000" in p]
    data = content(tmp / "out")
    assert sum(data["titles"].values()) == len(EXPECTED.order) - len(EXPECTED.missing)
    return data

# The first query, the first of level 2, one mid level 2, the last.
@pytest.mark.parametrize("at", [1, CDX_LEVEL_ENDS[2] + 1, 27, len(EXPECTED.order)],
                         ids=lambda n: f"query {n}")
def test_sigkill_of_a_latest_crawl_then_resume(
    tmp_path: Path, latest_baseline: dict[str, Counter[str]], at: int
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(archive=LATEST) as mirror:
        trigger = cdx_trigger(mirror)
        cmd = latest_command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=at).returncode == -signal.SIGKILL
        assert_readable(out)
        resumed = trigger.run(cmd)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        done = max(end for end in CDX_LEVEL_ENDS if end < at)
        assert trigger.titles == len(EXPECTED.order) - done
    got = content(out)
    for table in DATA_TABLES:
        assert got[table] == latest_baseline[table], table

def test_a_killed_latest_refresh_resumes_reusing_every_title_without_a_download(
    tmp_path: Path,
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(archive=LATEST) as mirror:
        trigger = cdx_trigger(mirror)
        first = trigger.run(latest_command(mirror.base_url, out, None))
        assert first.returncode == 0, first.stderr[-3000:]
        (first_run,) = {r["run_id"] for r in read_table(out, "titles")}
        until_older_than(out, timedelta(seconds=1))
        start = len(mirror.log)
        cmd = latest_command(mirror.base_url, out, job, refresh="1s")
        assert trigger.run(cmd, at=27).returncode == -signal.SIGKILL
        resumed = trigger.run(cmd)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        later = mirror.log[start:]
    assert not [p for p, _ in later if p.startswith("/web/")]
    run_id = job_run_id(job)
    fetched = set(EXPECTED.order) - set(EXPECTED.missing)
    reused = [r for r in read_table(out, "reused") if r["run_id"] == run_id]
    assert sorted(r["tconst"] for r in reused) == sorted(fetched)
    assert {r["fetched_run_id"] for r in reused} == {first_run}
    assert {r["tconst"]: r["depth"] for r in reused} == {t: EXPECTED.depth[t] for t in fetched}
    failures = [r for r in read_table(out, "failures") if r["run_id"] == run_id]
    assert sorted((r["tconst"], r["reason"]) for r in failures) == sorted(
        (t, "not_archived") for t in EXPECTED.missing)
    assert not [r for r in read_table(out, "titles") if r["run_id"] == run_id]
