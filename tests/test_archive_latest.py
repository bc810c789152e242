"""as_of=latest: the real spider over a Wayback stand-in whose newest capture of every
title is a recorded 2026 challenge (mirror.archive.latest_standin), its older ones the
real pages of ../shared at their capture dates (SOURCES.tsv).

Each title is read from its newest usable capture with one CDX query; a refresh run
over the unchanged archive downloads no page; captures that turn out unusable (a 200
whose body is a challenge, an empty body) are passed over; ARCHIVE_MAX_DISTANCE, set,
counts back from now; WARC files give the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics.views import DATABASE
from mirror.archive import Capture, captures_from_sources, latest_standin
from mirror.faults import Fault
from mirror.server import MirrorServer
from tests import forkserver
from tests.conftest import REAL_PAGES, needs_shared
from tests.crawling import VIEWS, read_table, run_crawl, until_older_than
from tests.test_archive_crawl import capture_dates, content
from tests.test_extraction_golden import _script, first, title_objects
from tests.warcs import write_warc

pytestmark = needs_shared

# Newest real capture (SOURCES.tsv): 2023-05-26, 2022-10-27, 2021-07-02 (next2021plus),
# and a legacy page of 2013.
SEEDS = ["tt0133093", "tt0119698", "tt0468569", "tt0078788"]
MISSING = "tt0000001"
CHALLENGED = "20261101000000"  # the stand-in's recorded challenge, newest of every title
CHALLENGE_PAGE = REAL_PAGES / "tt0111161__abstractcore__other.html"
CDX = "/cdx/search/cdx"
PAST = "2018-06-01"


def standin(titles: list[str]) -> dict[str, list[Capture]]:
    everything = latest_standin(REAL_PAGES, challenged_at=CHALLENGED)
    return {t: list(everything[t]) for t in titles}


def settings(wayback: str, **more: str) -> dict[str, str]:
    return {"WAYBACK_BASE_URL": wayback, "ARCHIVE_CDX_DELAY": "0", **more}


def newest_page(tconst: str) -> tuple[datetime, str, str]:
    return max(capture_dates(tconst))


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def queries(log: list[tuple[str, int]]) -> Counter[str]:
    """CDX queries per title."""
    return Counter(p.split("url=www.imdb.com/title/")[1].split("/")[0]
                   for p, _ in log if p.startswith(CDX))


def replays(log: list[tuple[str, int]], tconst: str) -> list[str]:
    """Timestamps of the captures of ``tconst`` downloaded, in order."""
    return [p.split("/")[2][:-3] for p, _ in log
            if p.startswith("/web/") and p.endswith(f"/title/{tconst}/")]


def rows(out: Path, table: str, run_id: str | None = None) -> dict[str, dict[str, Any]]:
    found = [r for r in read_table(out, table) if run_id is None or r["run_id"] == run_id]
    by_tconst = {r["tconst"]: r for r in found}
    assert len(by_tconst) == len(found), f"a title twice in {table}"
    return by_tconst


def run_ids(out: Path) -> list[str]:
    return [r["run_id"] for r in sorted(read_table(out, "crawl_runs"),
                                        key=lambda r: r["started_at"])]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A latest run, a refresh run over the unchanged archive, a refresh run after one
    title got a newer capture, then a run as of 2018-06-01 into the same OUTPUT_DIR; the
    log of each."""
    out = tmp_path_factory.mktemp("latest") / "out"
    archive = standin(SEEDS)
    seed = ",".join([*SEEDS, MISSING])
    found: dict[str, Any] = {"out": out, "logs": [], "procs": []}
    with MirrorServer(archive=archive) as wayback:
        for extra in ({}, {"refresh": "1s"}, {"refresh": "1s"}, {"as_of": PAST}):
            if len(found["logs"]) == 2:  # the archive captured tt0078788 anew
                archive["tt0078788"].append(Capture(
                    "20261115000000", page=REAL_PAGES / newest_page("tt0078788")[2]))
            start = len(wayback.log)
            proc = run_crawl(wayback.base_url, out, seed=seed, depth=0,
                             extra_args={"as_of": "latest", **extra},
                             settings=settings(wayback.base_url,
                                               **(VIEWS if "as_of" in extra else {})))
            found["procs"].append(proc)
            found["logs"].append(list(wayback.log[start:]))
            if len(found["logs"]) == 1:
                found["first"] = content(out)
                until_older_than(out, timedelta(seconds=1))
    return found



def test_each_title_is_read_from_its_newest_usable_capture(runs: dict[str, Any]) -> None:
    assert runs["procs"][0].returncode == 0, runs["procs"][0].stderr[-3000:]
    first_run = run_ids(runs["out"])[0]
    titles = rows(runs["out"], "titles", first_run)
    assert sorted(titles) == sorted(SEEDS)
    for tconst, row in titles.items():
        when, layout, file = newest_page(tconst)
        assert row["captured_at"] == when, tconst
        if layout == "next2021plus":
            objs = title_objects(_script((REAL_PAGES / file).read_text(encoding="utf-8"),
                                         '<script id="__NEXT_DATA__"'), tconst)
            assert row["primary_title"] == first(objs, "titleText.text"), tconst
        else:
            assert "legacy" in row["layout"], row["layout"]
    assert titles["tt0133093"]["captured_at"] == datetime(2023, 5, 26, tzinfo=UTC)
    assert (titles["tt0133093"]["primary_title"], titles["tt0133093"]["start_year"]) == (
        "The Matrix", 1999)
    assert titles["tt0078788"]["captured_at"] == datetime(2013, 1, 1, tzinfo=UTC)
    failures = rows(runs["out"], "failures", first_run)
    assert {t: (r["reason"], r["detail"]) for t, r in failures.items()} == {
        MISSING: ("not_archived", "no capture")}


def test_one_cdx_query_per_title_and_no_recorded_challenge_downloaded(
    runs: dict[str, Any],
) -> None:
    log = runs["logs"][0]
    assert queries(log) == Counter({t: 1 for t in [*SEEDS, MISSING]})
    for tconst in SEEDS:
        assert replays(log, tconst) == [stamp(newest_page(tconst)[0])], tconst
    assert not [p for p, _ in log if CHALLENGED in p]
    (run,) = [r for r in read_table(runs["out"], "crawl_runs")
              if r["run_id"] == run_ids(runs["out"])[0]]
    assert json.loads(run["arguments"])["as_of"] == "latest"
    assert run["as_of"] == run["started_at"]  # as of the run's start
    assert run["finish_reason"] == "finished"


def test_a_refresh_over_the_unchanged_archive_downloads_no_page(runs: dict[str, Any]) -> None:
    proc, log = runs["procs"][1], runs["logs"][1]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not [p for p, _ in log if p.startswith("/web/")]
    assert queries(log) == Counter({t: 1 for t in [*SEEDS, MISSING]})
    first_run, second = run_ids(runs["out"])[:2]
    reused = rows(runs["out"], "reused", second)
    assert sorted(reused) == sorted(SEEDS)
    assert {r["fetched_run_id"] for r in reused.values()} == {first_run}
    assert rows(runs["out"], "titles", second) == {}
    assert rows(runs["out"], "failures", second)[MISSING]["reason"] == "not_archived"
    assert "0 titles fetched, 4 reused, 1 failed" in proc.stderr


def test_a_refresh_reads_again_only_the_title_with_a_newer_capture(
    runs: dict[str, Any],
) -> None:
    proc, log = runs["procs"][2], runs["logs"][2]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [p for p, _ in log if p.startswith("/web/")] == [
        "/web/20261115000000id_/https://www.imdb.com/title/tt0078788/"]
    third = run_ids(runs["out"])[2]
    titles = rows(runs["out"], "titles", third)
    assert list(titles) == ["tt0078788"]
    assert titles["tt0078788"]["captured_at"] == datetime(2026, 11, 15, tzinfo=UTC)
    assert sorted(rows(runs["out"], "reused", third)) == sorted(set(SEEDS) - {"tt0078788"})


def test_a_run_as_of_the_past_after_them_leaves_the_newest_captures_latest(
    runs: dict[str, Any],
) -> None:
    """The timeline is the captures': the past run comes last but its older captures
    neither replace the newest in titles_latest nor hide them in ratings_history."""
    proc = runs["procs"][3]
    assert proc.returncode == 0, proc.stderr[-3000:]
    past = rows(runs["out"], "titles", run_ids(runs["out"])[3])
    for tconst in ("tt0133093", "tt0119698"):  # captured 2018-08-20, nearest to PAST
        assert past[tconst]["captured_at"] == datetime(2018, 8, 20, tzinfo=UTC), tconst
    newest = {t: r for run in run_ids(runs["out"])[:3]
              for t, r in rows(runs["out"], "titles", run).items()}
    con = duckdb.connect(str(runs["out"] / DATABASE), read_only=True)
    latest = con.execute("SELECT tconst, captured_at FROM titles_latest").fetchall()
    history = con.execute("SELECT tconst, observed_at FROM ratings_history "
                          "WHERE average_rating IS NOT NULL").fetchall()
    con.close()
    assert sorted(latest) == sorted((t, r["captured_at"]) for t, r in newest.items())
    rated = [{t for t, r in rows(runs["out"], "ratings", run).items()
              if r["average_rating"] is not None} for run in run_ids(runs["out"])]
    rated_in_both = set(rated[3]) & set().union(*rated[:3])
    assert {"tt0133093", "tt0119698"} <= set(rated_in_both)
    for tconst in rated_in_both:
        observed = {when for t, when in history if t == tconst}
        assert {past[tconst]["captured_at"], newest[tconst]["captured_at"]} <= observed


def test_warc_files_give_the_rows_of_the_same_captures(
    tmp_path: Path, runs: dict[str, Any],
) -> None:
    write_warc(tmp_path / "a.warc.gz", standin(SEEDS), gzip=True)
    with MirrorServer() as nowhere:
        proc = run_crawl(nowhere.base_url, tmp_path / "out", seed=",".join([*SEEDS, MISSING]),
                         depth=0, extra_args={"as_of": "latest"},
                         settings=settings(nowhere.base_url,
                                           ARCHIVE_WARC=str(tmp_path / "a.warc.gz")))
        hits = sum(nowhere.hits.values())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits == 0
    got, expected = content(tmp_path / "out"), runs["first"]
    for table, want in expected.items():
        assert got[table] == want, table
    assert sum(got["titles"].values()) == len(SEEDS)


# --- captures that turn out unusable ----------------------------------------------------

CHALLENGE_BODY, EMPTY_BODY, UNUSABLE, MERGED = "tt0103639", "tt0185183", "tt9900005", "tt9900001"


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    archive = standin([CHALLENGE_BODY, EMPTY_BODY, "tt0119698"])
    archive[CHALLENGE_BODY].insert(-1, Capture.challenge_page("20250601000000", CHALLENGE_PAGE))
    archive[EMPTY_BODY].insert(-1, Capture("20240101000000", body=b""))
    archive[UNUSABLE] = [Capture.error("20190101000000", 503),
                         Capture.challenge_page("20240601000000", CHALLENGE_PAGE),
                         Capture.challenge(CHALLENGED)]
    archive[MERGED] = [Capture("20180801000000", status=301, location="tt0119698"),
                       Capture.challenge(CHALLENGED)]
    out = tmp_path_factory.mktemp("tricky") / "out"
    with MirrorServer(archive=archive) as wayback:
        proc = run_crawl(wayback.base_url, out, depth=0,
                         seed=",".join([CHALLENGE_BODY, EMPTY_BODY, UNUSABLE, MERGED]),
                         extra_args={"as_of": "latest"}, settings=settings(wayback.base_url))
        log = list(wayback.log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"out": out, "log": log}


def test_a_200_whose_body_is_a_challenge_is_passed_over(tricky: dict[str, Any]) -> None:
    title = rows(tricky["out"], "titles")[CHALLENGE_BODY]
    assert title["captured_at"] == datetime(2022, 10, 27, tzinfo=UTC)
    assert replays(tricky["log"], CHALLENGE_BODY) == ["20250601000000", "20221027000000"]


def test_an_empty_capture_is_passed_over_at_once(tricky: dict[str, Any]) -> None:
    title = rows(tricky["out"], "titles")[EMPTY_BODY]
    assert title["captured_at"] == datetime(2022, 10, 27, tzinfo=UTC)
    assert replays(tricky["log"], EMPTY_BODY) == ["20240101000000", "20221027000000"]


def test_a_title_whose_captures_are_all_unusable_fails_with_its_newests_reason(
    tricky: dict[str, Any],
) -> None:
    failure = rows(tricky["out"], "failures")[UNUSABLE]
    assert failure["reason"] == "archived_blocked"
    assert failure["detail"] == ("all 3 captures were unusable (the newest, "
                                 "2026-11-01T00:00:00+00:00: archived_blocked)")
    assert failure["captured_at"] == datetime(2026, 11, 1, tzinfo=UTC)
    # Only the 200 was read: the listing showed the 503 and the 202 unusable.
    assert replays(tricky["log"], UNUSABLE) == ["20240601000000"]


def test_a_recorded_merge_is_usable_and_every_title_has_one_outcome(
    tricky: dict[str, Any],
) -> None:
    out, log = tricky["out"], tricky["log"]
    alias = rows(out, "aliases")[MERGED]
    assert (alias["canonical_tconst"], alias["captured_at"]) == (
        "tt0119698", datetime(2018, 8, 1, tzinfo=UTC))
    assert rows(out, "titles")["tt0119698"]["captured_at"] == datetime(2022, 10, 27, tzinfo=UTC)
    outcomes = Counter(r["tconst"] for t in ("titles", "failures", "aliases", "reused")
                       for r in read_table(out, t))
    assert outcomes == Counter({t: 1 for t in [CHALLENGE_BODY, EMPTY_BODY, UNUSABLE, MERGED,
                                               "tt0119698"]})
    assert set(queries(log).values()) == {1} and len(queries(log)) == 5
    assert not [p for p, _ in log if CHALLENGED in p]
    assert [r["reason"] for r in read_table(out, "failures")] == ["archived_blocked"]


# --- ARCHIVE_MAX_DISTANCE, set, counts back from now; the CDX API's own pace -------------


def test_an_explicit_max_distance_counts_back_from_now(tmp_path: Path) -> None:
    archive = standin(["tt0133093", "tt0119698"])
    archive["tt0078788"] = captures_from_sources(REAL_PAGES)["tt0078788"]  # 2013 only
    since = datetime(2023, 1, 1, tzinfo=UTC)
    days = (datetime.now(UTC) - since).days  # the bound falls on 2023-01-01
    with MirrorServer(archive=archive) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out",
                         seed="tt0133093,tt0119698,tt0078788", depth=0,
                         extra_args={"as_of": "latest"},
                         settings=settings(wayback.base_url, ARCHIVE_MAX_DISTANCE=str(days)))
        log = list(wayback.log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    titles = rows(tmp_path / "out", "titles")
    assert {t: r["captured_at"] for t, r in titles.items()} == {
        "tt0133093": datetime(2023, 5, 26, tzinfo=UTC)}
    failures = rows(tmp_path / "out", "failures")
    # Within the distance tt0119698 has only its recorded challenge; its 2022 page is
    # farther back.
    assert failures["tt0119698"]["reason"] == "archived_blocked"
    assert failures["tt0119698"]["detail"].startswith("the only capture since 2023-01-01")
    assert failures["tt0078788"]["reason"] == "not_archived"
    assert failures["tt0078788"]["detail"].startswith(
        "newest capture 2013-01-01T00:00:00+00:00 is before 2023-01-01")
    assert replays(log, "tt0119698") == replays(log, "tt0078788") == []


def test_cdx_queries_are_paced_and_a_429_is_waited_out(tmp_path: Path) -> None:
    archive = standin(["tt0133093", "tt0119698", "tt0468569"])
    with MirrorServer(archive=archive, faults={CDX: [Fault.throttle(0.2, times=1)]}) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out",
                         seed="tt0133093,tt0119698,tt0468569", depth=0,
                         extra_args={"as_of": "latest"},
                         settings=settings(wayback.base_url, ARCHIVE_CDX_DELAY="0.6"))
        arrivals = [(at, path) for at, path, _ in wayback.arrivals]
        answers = [s for p, s in wayback.log if p.startswith(CDX)]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert answers == [429, 200, 200, 200]
    cdx_times = [at for at, path in arrivals if path.startswith(CDX)]
    gaps = [b - a for a, b in pairwise(cdx_times)]
    assert len(cdx_times) == 4 and min(gaps) >= 0.55, gaps
    assert len(rows(tmp_path / "out", "titles")) == 3


# --- the shared crawl (FRONTIER_URL) ----------------------------------------------------


def shared_archive() -> dict[str, list[Capture]]:
    """The shared-crawl tests' graph as captures of 2020, each with a newer recorded
    challenge; their merges as recorded redirects."""
    from mirror.render import render_title_page_bytes
    from tests.test_shared_crawl import FAULTS, GRAPH

    archive = {t: [Capture("20200315000000", body=render_title_page_bytes(r)),
                   Capture.challenge(CHALLENGED)] for t, r in GRAPH.items()}
    for tconst, fault in FAULTS.items():
        archive[tconst] = [Capture("20200315000000", status=301, location=fault.params["to"]),
                           Capture.challenge(CHALLENGED)]
    return archive


def test_a_shared_latest_crawl_and_its_refresh_equal_one_process(
    tmp_path: Path, redis_url: str,
) -> None:
    from tests.test_shared_crawl import (
        DEPTH,
        MAX_TITLES,
        SEED,
        assert_same_crawl,
        finish,
        outcomes,
        start_worker,
    )

    latest = {"as_of": "latest"}
    with MirrorServer(archive=shared_archive()) as wayback:
        single = tmp_path / "single"
        proc = run_crawl(wayback.base_url, single, seed=SEED, depth=DEPTH,
                         max_titles=MAX_TITLES, extra_args=latest,
                         settings=settings(wayback.base_url))
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = tmp_path / "out"
        spread = {**settings(wayback.base_url), "FRONTIER_CLAIM_BATCH": "2",
                  "CONCURRENT_REQUESTS": "2"}
        for key, extra in (("week1", latest), ("week2", {**latest, "refresh": "1s"})):
            start = len(wayback.log)
            procs = [start_worker(wayback.base_url, out, redis_url, f"{key}-w{i}",
                                  settings={**spread, "FRONTIER_KEY": key}, extra_args=extra)
                     for i in range(2)]
            for code, err in finish(procs):
                assert code == 0, err[-2000:]
            log = wayback.log[start:]
            assert set(queries(log).values()) == {1}, key  # once per title, across workers
            assert len(queries(log)) == MAX_TITLES
            if key == "week1":
                assert_same_crawl(out, single)
                assert not [p for p, _ in log if CHALLENGED in p]
                until_older_than(out, timedelta(seconds=1))
    assert not [p for p, _ in log if p.startswith("/web/")]  # the refresh read no page
    reused = read_table(out, "reused")
    failed = {r["tconst"] for r in read_table(single, "failures")}
    assert Counter(r["tconst"] for r in reused) == Counter(
        t for t in outcomes(single) if t not in failed)


def test_workers_of_a_shared_crawl_share_the_cdx_pace(tmp_path: Path, redis_url: str) -> None:
    import os
    import subprocess

    from tests.crawling import ROOT, crawl_command
    from tests.test_shared_crawl import SEED, shared

    titles = 20
    with MirrorServer(archive=shared_archive()) as wayback:
        cmds = [crawl_command(wayback.base_url, tmp_path / "out", seed=SEED, depth=2,
                              max_titles=titles, extra_args={"as_of": "latest"},
                              settings={**settings(wayback.base_url, ARCHIVE_CDX_DELAY="0.3"),
                                        **shared(redis_url, f"w{i}"),
                                        "FRONTIER_CLAIM_BATCH": "1",
                                        "CONCURRENT_REQUESTS": "1"})
                for i in range(2)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        procs = [forkserver.popen(c, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for c in cmds]
        codes = [p.wait(240) for p in procs]
        arrivals = [at for at, path, _ in wayback.arrivals if path.startswith(CDX)]
    assert codes == [0, 0]
    assert len(arrivals) == titles
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert min(gaps) >= 0.25, gaps  # ARCHIVE_CDX_DELAY across both workers
    writers = {p.name.rsplit("-", 1)[0].rsplit(".", 1)[1]
               for p in (tmp_path / "out" / "more_like_this").rglob("*.parquet")}
    assert writers == {"w0", "w1"}  # both workers read titles


def test_a_cdx_answer_that_is_no_listing_fails_its_title(tmp_path: Path) -> None:
    seeds = ["tt0133093", "tt0119698", "tt0468569"]
    # The CDX path's first answer is a 404, its second a JSON object: two titles fail,
    # whichever asked first; the third is read.
    faults = {CDX: [Fault.status(404, times=1), Fault("non_html", times=1)]}
    with MirrorServer(archive=standin(seeds), faults=faults) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed=",".join(seeds), depth=0,
                         extra_args={"as_of": "latest"}, settings=settings(wayback.base_url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    failures = rows(tmp_path / "out", "failures")
    assert sorted(r["reason"] for r in failures.values()) == ["cdx_unreadable", "http_404"]
    assert {r["detail"] for r in failures.values()} >= {"the archive's answer to the CDX query"}
    assert len(rows(tmp_path / "out", "titles")) == 1
