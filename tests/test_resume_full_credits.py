"""Kill-and-resume, and the shared crawl, with ``-a credits=full``.

With full credits a title's row waits for a second page, its full credits page, after its
title page (``crawler.crawl.credits``): a title killed in between has no outcome yet and
must be fetched again, both pages, by the resumed run; a committed one never.  The
dataset must be the one an uninterrupted ``credits=full`` crawl makes (tests/test_resume.py
checks the same for ``credits=page``), full credits rows and ``credit_categories`` included.
A crawl shared by two workers (FRONTIER_URL) must make it too.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from mirror.server import MirrorServer
from pipelines.stores import read_commits
from tests import test_shared_crawl as shared_crawl
from tests.crawling import crawl_command, read_table
from tests.test_resume import (
    DATA_TABLES,
    DEPTH,
    EXPECTED,
    GRAPH,
    LEVEL_ENDS,
    SEED,
    TOTAL,
    Trigger,
    assert_readable,
    assert_same_dataset,
    committed_outcomes,
    content,
    hidden_tmp_files,
    job_run_id,
)

FETCHED = [t for t in EXPECTED.order if t not in EXPECTED.missing]  # a title page read
FULL = {"credits": "full"}


def command(base_url: str, out: Path, job: Path) -> list[str]:
    return crawl_command(base_url, out, seed=SEED, depth=DEPTH, extra_args=FULL,
                         settings={"JOBDIR": str(job), "PARQUET_ROW_GROUP_SIZE": "7"})


def full_credits_trigger(mirror: MirrorServer) -> Trigger:
    """A Trigger counting full credits requests only: its kill lands on one, after the
    title page of the same title was answered."""
    trigger = Trigger(mirror)
    counting, plain = mirror._count, trigger._count

    def count(path: str) -> int:
        return counting(path) if path.endswith("/fullcredits/") else plain(path)

    mirror._count = count  # type: ignore[method-assign]
    return trigger


def pages_asked(mirror: MirrorServer) -> Counter[str]:
    """Requests of each title page (``tt…/``) and full credits page (``tt…/fullcredits/``)."""
    return Counter({path.removeprefix("/title/"): n for path, n in mirror.hits.items()
                    if path.startswith("/title/")})


def each_once(titles: list[str], fetched: list[str]) -> Counter[str]:
    return Counter([f"{t}/" for t in titles] + [f"{t}/fullcredits/" for t in fetched])


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    """The dataset of an uninterrupted credits=full run of the same command."""
    tmp = tmp_path_factory.mktemp("full_baseline")
    with MirrorServer(records=GRAPH) as mirror:
        proc = full_credits_trigger(mirror).run(command(mirror.base_url, tmp / "out",
                                                        tmp / "job"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert pages_asked(mirror) == each_once(EXPECTED.order, FETCHED)
    # One commit per level, one for the crawl_runs row.
    assert read_commits(tmp / "out", job_run_id(tmp / "job")) == list(range(DEPTH + 2))
    data = content(tmp / "out")
    rows = [json.loads(r) for r in data["credits"]]
    assert {r["credit_page"] for r in rows} == {"fullcredits"}
    assert {r["tconst"] for r in rows} == set(FETCHED)
    titles = [json.loads(r) for r in data["titles"]]
    assert sorted(t["tconst"] for t in titles) == sorted(FETCHED)
    assert {t["full_credits"] for t in titles} == {"read"}
    categories = Counter(json.loads(r)["tconst"] for r in data["credit_categories"])
    assert set(categories) == set(FETCHED) and min(categories.values()) > 1
    assert not data["subpage_failures"]
    return data


# --- SIGKILL with JOBDIR -------------------------------------------------------------------

# The 20th full credits request of level 3 (none of levels 0-2 is missing: each of their
# titles asked for one): levels 0-2 committed, level 3 partly written to hidden tmp files,
# the title asking read and without an outcome.
assert all(EXPECTED.depth[t] == DEPTH for t in EXPECTED.missing)
KILL_AT = LEVEL_ENDS[DEPTH - 1] + 20


def test_sigkill_between_a_title_page_and_its_full_credits_page_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = full_credits_trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=KILL_AT).returncode == -signal.SIGKILL
        assert_readable(out)
        assert hidden_tmp_files(out)  # level 3 was being written
        done = committed_outcomes(out, job)
        assert done == {t for t in EXPECTED.order if EXPECTED.depth[t] < DEPTH}
        before = pages_asked(mirror)
        # Titles whose title page was read (their full credits page asked), no outcome.
        assert {t for t in FETCHED if before[f"{t}/fullcredits/"] and t not in done}
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        again = pages_asked(mirror) - before
    # Every title without an outcome once more, both its pages; no page of a committed one.
    assert again == each_once([t for t in EXPECTED.order if t not in done],
                              [t for t in FETCHED if t not in done])
    assert_same_dataset(out, baseline)


# --- a shared crawl ------------------------------------------------------------------------


def test_two_workers_make_the_credits_full_crawl_one_process_makes(
    tmp_path: Path, redis_url: str, baseline: dict[str, Counter[str]]
) -> None:
    # start_worker crawls its module's seed and depth: the same as here, uncut.
    assert (shared_crawl.SEED, shared_crawl.DEPTH) == (SEED, DEPTH)
    assert shared_crawl.MAX_TITLES > TOTAL
    out = tmp_path / "out"
    # A few titles at a time and a small delay, so both get some of each level.
    spread = {"FRONTIER_CLAIM_BATCH": "2", "CONCURRENT_REQUESTS": "2",
              "DOWNLOAD_DELAY": "0.03", "PARQUET_ROW_GROUP_SIZE": "7"}
    with MirrorServer(records=GRAPH) as mirror:
        procs = [shared_crawl.start_worker(mirror.base_url, out, redis_url, f"w{i}",
                                           settings=spread, extra_args=FULL)
                 for i in range(2)]
        results = shared_crawl.finish(procs)
        asked = pages_asked(mirror)
    for code, err in results:
        assert code == 0, err[-2000:]
    # Each title page and each full credits page once, across the workers.
    assert asked == each_once(EXPECTED.order, FETCHED)
    got = content(out)
    for table in DATA_TABLES:
        dups = [row for row, n in got[table].items() if n > 1]
        assert not dups, f"duplicate rows in {table}: {dups[:3]}"
        assert got[table] == baseline[table], table
    assert len({r["run_id"] for t in DATA_TABLES for r in read_table(out, t)}) == 1
    # Both workers wrote full credits rows (files named by the run and the worker).
    names = {p.name.rsplit("-", 1)[0].rsplit(".", 1)[1]
             for p in (out / "credits").rglob("*.parquet")}
    assert names == {"w0", "w1"}
