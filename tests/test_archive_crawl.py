"""Crawling the past: the real spider against the mirror's archive mode, and WARC files.

The archive holds the real pages of ../shared at their capture dates (SOURCES.tsv):
several titles have captures years apart in different layouts (legacy, then the
current Next.js page).  Added by hand: a recorded merge (301 to another title), a
recorded challenge page, a recorded 404 and a recorded redirect to another site.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics import views
from mirror.archive import Capture, captures_from_sources
from mirror.faults import Fault
from mirror.server import MirrorServer
from tests import forkserver
from tests.conftest import REAL_PAGES, needs_shared
from tests.crawling import ROOT, VIEWS, read_table, run_crawl
from tests.test_extraction_golden import _script, first, title_objects
from tests.warcs import write_warc

pytestmark = needs_shared

MERGED, CHALLENGE, GONE, ELSEWHERE, MISSING = (
    "tt9900001", "tt0111161", "tt9900003", "tt9900004", "tt0000001")
# Titles with captures in SOURCES.tsv, as_of 2019: two near ones (legacy pages of
# 2018-08-20), three too far (2013, 2021, 2022).
SEEDS = ["tt0133093", "tt0119698", "tt0468569", "tt0078788", "tt0076759"]
EXTRA = [MERGED, CHALLENGE, GONE, ELSEWHERE, MISSING]
DAY = timedelta(days=1)


def sources() -> list[dict[str, str]]:
    with open(REAL_PAGES / "SOURCES.tsv", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def capture_dates(tconst: str) -> list[tuple[datetime, str, str]]:
    """(capture date, layout, file) of a title's title pages, read from SOURCES.tsv."""
    out = []
    for row in sources():
        date = row["capture_date"]
        if row["title_id"] != tconst or row["layout"] not in ("legacy", "next2021plus"):
            continue
        if re.fullmatch(r"\d{4}", date):
            date += "-01-01"
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
            out.append((datetime.fromisoformat(date).replace(tzinfo=UTC), row["layout"],
                        row["file"]))
    return sorted(out)


def nearest_capture(tconst: str, as_of: datetime) -> tuple[datetime, str, str]:
    return min(capture_dates(tconst), key=lambda c: (abs(c[0] - as_of), c[0]))


def archive() -> dict[str, list[Capture]]:
    captures = captures_from_sources(REAL_PAGES)
    challenge = REAL_PAGES / "tt0111161__abstractcore__other.html"
    captures.update({
        MERGED: [Capture("20180801000000", status=301, location="tt0133093")],
        CHALLENGE: [Capture("20181001000000", page=challenge, status=202)],
        GONE: [Capture("20181101000000", status=404, body=b"<html><h1>404</h1></html>")],
        ELSEWHERE: [Capture("20181201000000", status=301, location="https://example.org/x")],
    })
    return captures


def archive_settings(wayback: str, **more: str) -> dict[str, str]:
    # IMDB_BASE_URL points at a closed port: nothing may go there.
    return {"WAYBACK_BASE_URL": wayback, **more}


@pytest.fixture(scope="module")
def as_of_2019(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("as_of_2019") / "out"
    with MirrorServer() as live, MirrorServer(archive=archive()) as wayback:
        proc = run_crawl(live.base_url, out, seed=",".join(SEEDS + EXTRA), depth=0,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(wayback.base_url))
        live_hits = sum(live.hits.values())
        log = list(wayback.log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"out": out, "live_hits": live_hits, "log": log}


def rows(out: Path, table: str) -> dict[str, dict[str, Any]]:
    found = read_table(out, table)
    by_tconst = {r["tconst"]: r for r in found}
    assert len(by_tconst) == len(found), f"a title twice in {table}"
    return by_tconst


def test_each_title_is_read_from_the_capture_nearest_as_of(as_of_2019: dict[str, Any]) -> None:
    as_of = datetime(2019, 1, 1, tzinfo=UTC)
    titles = rows(as_of_2019["out"], "titles")
    assert sorted(titles) == ["tt0119698", "tt0133093"]
    for tconst, row in titles.items():
        when, layout, _ = nearest_capture(tconst, as_of)
        assert (when, layout) == (datetime(2018, 8, 20, tzinfo=UTC), "legacy")
        assert row["captured_at"] == when
        assert "legacy" in row["layout"], row["layout"]
    # Facts of the 2018 pages: The Matrix (1999), Princess Mononoke (1997).
    assert (titles["tt0133093"]["primary_title"], titles["tt0133093"]["start_year"]) == (
        "The Matrix", 1999)
    assert (titles["tt0119698"]["primary_title"], titles["tt0119698"]["start_year"]) == (
        "Princess Mononoke", 1997)
    edges = [r for r in read_table(as_of_2019["out"], "more_like_this")
             if r["tconst"] == "tt0133093"]
    assert edges and {r["captured_at"] for r in edges} == {titles["tt0133093"]["captured_at"]}


def test_missing_and_far_captures_are_not_archived(as_of_2019: dict[str, Any]) -> None:
    as_of = datetime(2019, 1, 1, tzinfo=UTC)
    failures = rows(as_of_2019["out"], "failures")
    far = {t for t in SEEDS if abs(nearest_capture(t, as_of)[0] - as_of) > 365 * DAY}
    assert far == {"tt0468569", "tt0078788", "tt0076759"}
    not_archived = {t for t, r in failures.items() if r["reason"] == "not_archived"}
    assert not_archived == far | {MISSING}
    for tconst in far:
        assert failures[tconst]["captured_at"] == nearest_capture(tconst, as_of)[0]
        assert "days from as_of 2019-01-01" in failures[tconst]["detail"]
    assert failures[MISSING]["captured_at"] is None
    assert (failures[MISSING]["http_status"], failures[MISSING]["detail"]) == (404, "no capture")


def test_recorded_answers_that_are_not_title_pages(as_of_2019: dict[str, Any]) -> None:
    out = as_of_2019["out"]
    failures = rows(out, "failures")
    assert (failures[CHALLENGE]["reason"], failures[CHALLENGE]["http_status"]) == (
        "archived_blocked", 202)
    assert failures[CHALLENGE]["attempts"] == 1  # a record: never retried as a block
    assert failures[GONE]["reason"] == "archived_not_found"
    assert failures[ELSEWHERE]["reason"] == "offsite_redirect"
    assert failures[ELSEWHERE]["detail"] == "redirect to example.org"
    aliases = rows(out, "aliases")
    assert set(aliases) == {MERGED}
    assert aliases[MERGED]["canonical_tconst"] == "tt0133093"
    assert aliases[MERGED]["captured_at"] == datetime(2018, 8, 1, tzinfo=UTC)


def test_every_scheduled_title_has_exactly_one_outcome(as_of_2019: dict[str, Any]) -> None:
    out = as_of_2019["out"]
    outcomes = Counter(r["tconst"] for t in ("titles", "failures", "aliases", "reused")
                       for r in read_table(out, t))
    assert set(outcomes) == set(SEEDS + EXTRA)
    assert set(outcomes.values()) == {1}


def test_only_the_archive_is_fetched_and_the_run_records_as_of(
    as_of_2019: dict[str, Any],
) -> None:
    assert as_of_2019["live_hits"] == 0
    paths = [p for p, _ in as_of_2019["log"]]
    assert paths[0] == "/robots.txt"
    assert all(p.startswith("/web/") for p in paths[1:]), paths
    # Each title asked for at as_of, then (a redirect) at its capture's own timestamp.
    assert "/web/20190101000000id_/https://www.imdb.com/title/tt0133093/" in paths
    assert "/web/20180820000000id_/https://www.imdb.com/title/tt0133093/" in paths
    (run,) = read_table(as_of_2019["out"], "crawl_runs")
    assert run["as_of"] == datetime(2019, 1, 1, tzinfo=UTC)
    assert json.loads(run["arguments"])["as_of"] == "2019"
    assert run["finish_reason"] == "finished"


def test_a_later_date_reads_the_current_layout(tmp_path: Path) -> None:
    as_of = datetime(2022, 6, 1, tzinfo=UTC)
    with MirrorServer(archive=archive()) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed=",".join(SEEDS), depth=0,
                         extra_args={"as_of": "2022-06"},
                         settings=archive_settings(wayback.base_url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    titles = rows(tmp_path / "out", "titles")
    assert sorted(titles) == sorted(t for t in SEEDS if t != "tt0078788")
    for tconst, row in titles.items():
        when, layout, file = nearest_capture(tconst, as_of)
        assert layout == "next2021plus" and row["captured_at"] == when, tconst
        assert row["layout"].startswith("next"), row["layout"]
        objs = title_objects(_script((REAL_PAGES / file).read_text(encoding="utf-8"),
                                     '<script id="__NEXT_DATA__"'), tconst)
        assert row["primary_title"] == first(objs, "titleText.text"), tconst
    # The Matrix: the 2023-05-26 capture (359 days away) beats the 2018 one.
    assert titles["tt0133093"]["captured_at"] == datetime(2023, 5, 26, tzinfo=UTC)
    assert rows(tmp_path / "out", "failures")["tt0078788"]["reason"] == "not_archived"


def test_linked_titles_missing_from_the_archive_are_all_accounted_for(tmp_path: Path) -> None:
    with MirrorServer(archive=archive()) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed="tt0133093", depth=1,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(wayback.base_url))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "out"
    linked = [r["similar_tconst"] for r in read_table(out, "more_like_this")]
    assert len(linked) >= 6  # the 2018 legacy page's recommendations
    failures = rows(out, "failures")
    titles = rows(out, "titles")
    captures = archive()
    for tconst in linked:
        assert (tconst in titles) != (tconst in failures), tconst
        if tconst not in captures:
            assert failures[tconst]["reason"] == "not_archived", tconst


def test_archive_robots_and_rate_limits_are_respected(tmp_path: Path) -> None:
    robots = b"User-agent: *\nDisallow: /web/2019\n"
    faults = {"tt0119698": [Fault.throttle(0.2, times=1)]}
    with MirrorServer(archive=archive(), robots_txt=robots, faults=faults) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed="tt0133093,tt0119698",
                         depth=0, extra_args={"as_of": "2018-08-20"},
                         settings=archive_settings(wayback.base_url))
        log = list(wayback.log)
    assert proc.returncode == 0, proc.stderr[-3000:]
    titles = rows(tmp_path / "out", "titles")
    assert sorted(titles) == ["tt0119698", "tt0133093"]  # 2018 is allowed, 2019 is not
    answers = [s for p, s in log if "tt0119698" in p]
    assert answers == [429, 200]  # waited as asked, then read
    with MirrorServer(archive=archive(), robots_txt=robots) as wayback:
        proc = run_crawl(wayback.base_url, tmp_path / "out2", seed="tt0133093", depth=0,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(wayback.base_url))
        assert not [p for p, _ in wayback.log if p.startswith("/web/")]
    failures = rows(tmp_path / "out2", "failures")
    assert failures["tt0133093"]["reason"] == "robots_disallowed"


def test_an_archive_that_keeps_refusing_stops_the_crawl(tmp_path: Path) -> None:
    seeds = SEEDS[:4]
    faults = {t: [Fault.throttle(0)] for t in seeds}
    settings = archive_settings("", CRAWL_BLOCK_WINDOW="4", CRAWL_RETRY_TIMES="3",
                                CONCURRENT_REQUESTS_PER_DOMAIN="1")
    with MirrorServer(archive=archive(), faults=faults) as wayback:
        settings["WAYBACK_BASE_URL"] = wayback.base_url
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed=",".join(seeds), depth=0,
                         extra_args={"as_of": "2019"}, settings=settings)
        answers = [s for p, s in wayback.log if p.startswith("/web/")]
    assert proc.returncode == 1
    assert "finish reason blocked" in proc.stderr
    assert "an archive's 429s" in proc.stderr
    assert set(answers) == {429} and len(answers) <= 8
    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert run["finish_reason"] == "blocked"


def test_a_redirect_off_the_archive_host_is_refused(tmp_path: Path) -> None:
    with MirrorServer() as other, MirrorServer(archive=archive()) as wayback:
        wayback.set_faults({"tt0133093": Fault.redirect(f"{other.base_url}/title/tt0133093/")})
        proc = run_crawl(wayback.base_url, tmp_path / "out", seed="tt0133093", depth=0,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(wayback.base_url))
        other_hits = sum(other.hits.values())
    assert proc.returncode == 1  # no title could be fetched
    assert other_hits == 0
    assert rows(tmp_path / "out", "failures")["tt0133093"]["reason"] == "offsite_redirect"


# --- WARC files -------------------------------------------------------------------------

LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")
PER_RUN = {"run_id", "crawled_at"}
DATA_TABLES = ("titles", "ratings", "credits", "more_like_this", "failures", "aliases")


def content(out: Path) -> dict[str, Counter[str]]:
    """Every data table as a multiset of rows, without run id, fetch time and port.  A row
    with no capture is observed at the run's as_of, per run with as_of=latest (its start)."""
    def comparable(r: dict[str, object]) -> dict[str, object]:
        kept = {k: v for k, v in r.items() if k not in PER_RUN | {"source"}}
        if r.get("captured_at") is None and "observed_at" in kept:
            kept["observed_at"] = "the run's as_of"
        return kept

    return {
        table: Counter(
            LOCAL_URL.sub("http://archive", json.dumps(comparable(r), sort_keys=True,
                                                       default=str))
            for r in read_table(out, table))
        for table in DATA_TABLES
    }


def sources_of(out: Path) -> dict[str, set[str]]:
    return {table: {r["source"] for r in read_table(out, table)} for table in DATA_TABLES}


@pytest.mark.parametrize("gzip", [True, False], ids=["warc.gz", "warc"])
def test_warc_files_give_the_rows_of_the_same_pages_over_http(
    tmp_path: Path, as_of_2019: dict[str, Any], gzip: bool
) -> None:
    # The captures of the titles crawled (no others are asked for), split over two files
    # (a glob), as archives are.
    captures = {t: c for t, c in archive().items() if t in SEEDS + EXTRA}
    names = sorted(captures)
    half = len(names) // 2
    suffix = ".warc.gz" if gzip else ".warc"
    write_warc(tmp_path / f"a{suffix}", {t: captures[t] for t in names[:half]}, gzip=gzip)
    write_warc(tmp_path / f"b{suffix}", {t: captures[t] for t in names[half:]}, gzip=gzip)
    out = tmp_path / "out"
    # WAYBACK_BASE_URL names a server that counts requests: none may arrive.
    with MirrorServer() as nowhere:
        proc = run_crawl(nowhere.base_url, out, seed=",".join(SEEDS + EXTRA), depth=0,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(nowhere.base_url,
                                                   ARCHIVE_WARC=str(tmp_path / f"*{suffix}")))
        hits = sum(nowhere.hits.values())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits == 0
    assert "robots.txt" not in proc.stderr
    got, expected = content(out), content(as_of_2019["out"])
    for table, want in expected.items():
        assert got[table] == want, table
    assert sum(expected["titles"].values()) == 2
    # The same rows, each saying where it was read.
    assert sources_of(out) == {t: {"warc"} for t in DATA_TABLES}
    assert sources_of(as_of_2019["out"]) == {t: {"wayback"} for t in DATA_TABLES}
    assert {r["source"] for r in read_table(out, "crawl_runs")} == {"warc"}


# --- a run of the past beside runs of the live site -------------------------------------


def test_runs_refresh_views_and_report_keep_working(tmp_path: Path) -> None:
    """An as_of run, then a live refresh run into the same OUTPUT_DIR: the live run
    reuses nothing of the past; the views make one timeline of both, the live pages
    being the newest."""
    out = tmp_path / "out"
    seeds = "tt0133093,tt0119698,tt0000001"
    with MirrorServer(archive=archive()) as wayback:
        past = run_crawl(wayback.base_url, out, seed=seeds, depth=0,
                         extra_args={"as_of": "2019"},
                         settings=archive_settings(wayback.base_url))
    assert past.returncode == 0, past.stderr[-3000:]
    with MirrorServer(pages_dir=REAL_PAGES) as live:
        now = run_crawl(live.base_url, out, seed=seeds, depth=0, extra_args={"refresh": "7d"},
                        settings=VIEWS)
        hits = Counter(live.hits)
    assert now.returncode == 0, now.stderr[-3000:]
    assert hits["/title/tt0133093/"] == hits["/title/tt0119698/"] == 1  # fetched, not reused
    assert read_table(out, "reused") == []
    runs = {r["run_id"]: r for r in read_table(out, "crawl_runs")}
    (past_id,) = [i for i, r in runs.items() if r["as_of"] is not None]
    (live_id,) = [i for i, r in runs.items() if r["as_of"] is None]
    con = duckdb.connect(str(out / views.DATABASE), read_only=True)
    try:
        latest = con.execute("SELECT tconst, run_id, captured_at FROM titles_latest "
                             "ORDER BY tconst").fetchall()
        failing = con.execute("SELECT tconst, reason, run_id FROM failures_latest").fetchall()
        as_of = con.execute("SELECT run_id, as_of FROM runs ORDER BY started_at").fetchall()
        history = con.execute(
            "SELECT tconst, run_id, source, observed_at = crawled_at, observed_at "
            "FROM ratings_history ORDER BY tconst, observed_at").fetchall()
    finally:
        con.close()
    assert latest == [("tt0119698", live_id, None), ("tt0133093", live_id, None)]
    assert failing == [("tt0000001", "not_found", live_id)]
    assert [r[0] for r in as_of] == [past_id, live_id]
    assert as_of[0][1] is not None and as_of[1][1] is None
    # Both observations of each title: the 2018 capture, then the live page (fetch time).
    captured = datetime(2018, 8, 20, tzinfo=UTC)
    assert [h[:4] for h in history] == [
        ("tt0119698", past_id, "wayback", False), ("tt0119698", live_id, "live", True),
        ("tt0133093", past_id, "wayback", False), ("tt0133093", live_id, "live", True)]
    assert [h[4] == captured for h in history] == [True, False, True, False]
    report = forkserver.run([sys.executable, "-m", "scrapy", "report", "-s",
                             f"OUTPUT_DIR={out}"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert report.returncode == 0, report.stderr[-3000:]
    assert (out / "report.html").is_file()


def test_a_capture_past_download_maxsize_fails_as_too_large(tmp_path: Path) -> None:
    # The 2018 pages of these titles are 212-220 KB; the limit is 150 KB.  The WARC holds
    # every capture of the two (each has a later one too), and no other title's.
    seeds = ("tt0133093", "tt0119698")
    write_warc(tmp_path / "a.warc.gz", {t: archive()[t] for t in seeds}, gzip=True)
    proc = run_crawl("http://127.0.0.1:9", tmp_path / "out", seed=",".join(seeds),
                     depth=0, extra_args={"as_of": "2019"},
                     settings=archive_settings("http://127.0.0.1:9", DOWNLOAD_MAXSIZE="150000",
                                               ARCHIVE_WARC=str(tmp_path / "a.warc.gz")))
    assert proc.returncode == 1, proc.stderr[-3000:]  # no title could be read
    failures = rows(tmp_path / "out", "failures")
    assert {t: r["reason"] for t, r in failures.items()} == {
        "tt0133093": "too_large", "tt0119698": "too_large"}
