"""-a credits=full: every title page read is followed by its full credits page.

A crawl over the real full credits pages of ../shared, served by the local mirror (the
older HTML ones of pages/real, the current-layout ``__NEXT_DATA__`` of pages/next-json),
checked against each page's own people and totals worked out here independently of the
extractor (an lxml DOM for the HTML pages, a plain traversal of the JSON), and against
facts (Titanic's Visual Effects: 10 listed of 791).  Then a refresh run over the same
output.  Without the crawls: the outcome of a title waiting for its full credits page
(read, failed, the crawl stopped), the rows it fans out into (a hand-written series
fixture's episodes), and the archive's and WARC files' full credits captures.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from analytics.views import connect
from crawler.crawl.credits import FullCredits
from crawler.crawl.outcomes import Outcomes
from crawler.extraction.fullcredits import read_next
from crawler.frontier.local import Frontier
from crawler.ids import FULLCREDITS
from crawler.items import TitleItem
from crawler.records import FullCreditsResult, PageKind, TitleRecord
from crawler.sources.base import Credits, Page, Refusal
from crawler.sources.live import LiveSource
from crawler.sources.warc import WarcIndex, page_key, warc_paths
from crawler.state.run import Run
from mirror.archive import Capture, answer, answer_cdx, fullcredits_captures
from mirror.faults import Fault
from mirror.render.fullcredits import full_credits_of
from mirror.server import MirrorServer
from mirror.synthetic import SyntheticGraph
from pipelines.normalize import NormalizeTitlePipeline
from pipelines.rows import table_rows, to_row
from tests.conftest import REAL_PAGES, SHARED, needs_shared, real_pages
from tests.crawling import VIEWS, read_table, run_crawl
from tests.test_extraction_fullcredits import (
    HEADINGS,
    SERIES_NEXT,
    _dom_cast,
    _dom_crew,
    _dom_departments,
)
from tests.warcs import write_warc

NEXT_JSON = SHARED / "pages" / "next-json"
TITANIC = "tt0120338"  # its full credits page: pages/next-json (no title page at hand)
LEGACY = {p.name.split("__")[0]: p for p in real_pages("fullcredits")}
NO_FULL_CREDITS = "tt0119698"  # a real title page, no full credits page: a 404
SERIES = "tt9000005"  # a synthetic series: the mirror renders its page, episodes and all
RETRIED = "tt0087544"  # its full credits page answers 503 once
LOOP = "tt9000001"  # its full credits page redirects to itself, again and again
# Titanic's title page, by hand: facts only (the mirror renders it).
TITANIC_RECORD: TitleRecord = {
    "tconst": TITANIC, "primary_title": "Titanic", "title_type": "movie", "start_year": 1997,
    "credits": [{"category": "director", "ordering": 1, "nconst": "nm0000116",
                 "name": "James Cameron"}],
    "more_like_this": [],
}
GRAPH = SyntheticGraph(20)
SEEDS = [*sorted(LEGACY), TITANIC, SERIES, NO_FULL_CREDITS, LOOP]
KEPT = {NO_FULL_CREDITS: ("not_found", 404), LOOP: ("redirect_loop", 301)}


def _by_page_category(rows: list[dict[str, Any]], tconst: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in sorted((r for r in rows if r["tconst"] == tconst), key=lambda r: r["ordering"]):
        out.setdefault(row["page_category"], []).append(row)
    return out


# --- the crawl ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not (NEXT_JSON / "SOURCES.tsv").is_file() or len(LEGACY) != 3:
        pytest.fail(f"the real pages are not all at {SHARED}")
    out = tmp_path_factory.mktemp("full") / "out"
    records = {TITANIC: TITANIC_RECORD, SERIES: GRAPH[SERIES], LOOP: GRAPH[LOOP]}
    mirror = MirrorServer(pages_dir=REAL_PAGES, next_json_dir=NEXT_JSON, records=records)
    loop = f"{mirror.base_url}/title/{LOOP}/fullcredits/?ref_=x"
    mirror.set_faults({f"/title/{RETRIED}/fullcredits/": Fault.status(503, times=1),
                       f"/title/{LOOP}/fullcredits/": Fault.redirect(loop)})
    with mirror:
        proc = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=0,
                         extra_args={"credits": "full"})
        first = list(mirror.log)
        refresh = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=0,
                            extra_args={"credits": "full", "refresh": "7d"}, settings=VIEWS)
        second = mirror.log[len(first):]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert refresh.returncode == 0, refresh.stderr[-3000:]
    titles = read_table(out, "titles")
    run_id = next(r["run_id"] for r in titles if r["tconst"] == TITANIC)  # the first run's

    def first_run(table: str) -> list[dict[str, Any]]:
        return [r for r in read_table(out, table) if r["run_id"] == run_id]

    return {"out": out, "log": first, "refresh_log": second, "run_id": run_id,
            "titles": {r["tconst"]: r for r in titles if r["run_id"] == run_id},
            "credits": first_run("credits"), "categories": first_run("credit_categories"),
            "failures": first_run("subpage_failures"),
            "reused": [r for r in read_table(out, "reused") if r["run_id"] != run_id]}


@needs_shared
def test_two_requests_per_title_page_the_same_retries(full: dict[str, Any]) -> None:
    hits = Counter(urlsplit(path).path for path, _ in full["log"] if path.startswith("/title/"))
    expected = {f"/title/{t}/": 1 for t in SEEDS}
    expected |= {f"/title/{t}/fullcredits/": 1 for t in SEEDS}
    expected[f"/title/{RETRIED}/fullcredits/"] = 2  # a 503, retried as a title page is
    expected[f"/title/{LOOP}/fullcredits/"] = 4  # a redirect to itself, followed 3 times
    assert hits == expected
    assert ("/title/tt0087544/fullcredits/", 503) in full["log"]
    # Every scheduled title ends in exactly one of titles, failures, aliases.
    assert sorted(full["titles"]) == sorted(SEEDS)
    out = full["out"]
    assert read_table(out, "failures") == read_table(out, "aliases") == []


@needs_shared
def test_a_titles_credits_are_its_full_credits_pages_of_the_same_fetch(
        full: dict[str, Any]) -> None:
    for tconst, title in full["titles"].items():
        rows = [r for r in full["credits"] if r["tconst"] == tconst]
        assert rows, tconst
        assert {(r["run_id"], r["crawled_at"]) for r in rows} == {
            (title["run_id"], title["crawled_at"])}, tconst
        page = "title" if tconst in KEPT else "fullcredits"
        assert {r["credit_page"] for r in rows} == {page}, tconst
        assert title["full_credits"] == (KEPT[tconst][0] if tconst in KEPT else "read")


@needs_shared
@pytest.mark.parametrize("tconst", sorted(LEGACY))
def test_older_pages_every_department_with_exactly_its_people(
        full: dict[str, Any], tconst: str) -> None:
    got = _by_page_category(full["credits"], tconst)
    categories = sorted((c for c in full["categories"] if c["tconst"] == tconst),
                        key=lambda c: c["position"])
    departments = list(_dom_departments(LEGACY[tconst]))
    assert [c["category"] for c in categories] == [HEADINGS[h] for h, _, _ in departments]
    for (heading, _, table), row in zip(departments, categories, strict=True):
        category = HEADINGS[heading]
        expected = _dom_cast(table) if category == "cast" else _dom_crew(table, category)
        people = got[category]
        assert [(p["nconst"], p["primary_name"]) for p in people] == [
            (e["nconst"], e["name"]) for e in expected], heading
        if category == "cast":  # every cast member, with their characters
            assert [p["characters"] for p in people] == [e["characters"] for e in expected]
        # An older page lists everyone: its total is what it lists.
        assert row["listed"] == row["total"] == len(expected) > 0, heading
        assert row["layout"] == "fullcredits-legacy"


@needs_shared
def test_current_page_every_category_with_its_listed_people_and_total(
        full: dict[str, Any]) -> None:
    data = json.loads(next(NEXT_JSON.glob(f"{TITANIC}__*fullcredits*.json")).read_bytes())
    page = data["props"]["pageProps"]["contentData"]["categories"]
    got = _by_page_category(full["credits"], TITANIC)
    categories = sorted((c for c in full["categories"] if c["tconst"] == TITANIC),
                        key=lambda c: c["position"])
    assert [(c["category"], c["name"]) for c in categories] == [
        (c["id"], c["name"]) for c in page]
    for cat, row in zip(page, categories, strict=True):
        items = cat["section"]["items"]
        assert (row["listed"], row["total"]) == (len(items), cat["section"]["total"])
        people = got.get(cat["id"], [])
        assert [(p["nconst"], p["primary_name"]) for p in people] == [
            (it["id"], it["rowTitle"]) for it in items], cat["id"]
        if cat["id"] == "cast":  # every cast member is listed, with their characters
            assert len(items) == cat["section"]["total"]
            assert [p["characters"] for p in people] == [
                it.get("characters") or [] for it in items]
    vfx = next(c for c in categories if c["category"] == "visual_effects")
    assert (vfx["listed"], vfx["total"]) == (10, 791)  # Titanic's, as the page says


@needs_shared
def test_a_series_full_credits_carry_its_episodes(full: dict[str, Any]) -> None:
    shown = full_credits_of(GRAPH[SERIES], made_up_crew=True)  # what the mirror's page shows
    cast = _by_page_category(full["credits"], SERIES)["cast"]
    assert [(r["primary_name"], r["episode_count"], r["episode_start_year"],
             r["episode_end_year"]) for r in cast] == [
        (c["name"], c["episode_count"], c["episode_start_year"], c["episode_end_year"])
        for c in shown.credits if c["category"] in ("actor", "actress", "cast")]
    assert all(r["episode_count"] for r in cast)
    totals = {c["category"]: (c["listed"], c["total"]) for c in full["categories"]
              if c["tconst"] == SERIES}
    assert totals == {c["category"]: (c["listed"], c["total"]) for c in shown.categories}


@needs_shared
def test_a_failed_full_credits_page_keeps_the_title_pages_credits_and_says_so(
        full: dict[str, Any]) -> None:
    failures = {f["tconst"]: f for f in full["failures"]}
    assert sorted(failures) == sorted(KEPT)
    for tconst, (reason, status) in KEPT.items():
        title, failure = full["titles"][tconst], failures[tconst]
        assert (failure["page"], failure["reason"], failure["http_status"]) == (
            "fullcredits", reason, status)
        assert failure["url"].startswith("http://127.0.0.1:")
        assert f"/title/{tconst}/fullcredits/" in failure["url"]
        assert (failure["run_id"], failure["crawled_at"]) == (
            title["run_id"], title["crawled_at"])
        rows = [r for r in full["credits"] if r["tconst"] == tconst]
        assert {r["category"] for r in rows} >= {"director", "writer"}  # the title page's
        assert not [c for c in full["categories"] if c["tconst"] == tconst]
    loop = [(r["primary_name"], r["nconst"]) for r in full["credits"] if r["tconst"] == LOOP]
    assert sorted(loop) == sorted((c["name"], c["nconst"]) for c in GRAPH[LOOP]["credits"])


@needs_shared
def test_the_views_pick_the_full_rows(full: dict[str, Any]) -> None:
    con = connect(full["out"])
    try:
        pages = dict(con.execute("SELECT credit_page, count(*) FROM credits_latest "
                                 "WHERE tconst = ? GROUP BY ALL", [TITANIC]).fetchall())
        vfx = con.execute("SELECT listed, total FROM credit_categories_latest "
                          "WHERE tconst = ? AND category = 'visual_effects'",
                          [TITANIC]).fetchall()
        kept = con.execute("SELECT DISTINCT credit_page FROM credits_latest WHERE tconst = ?",
                           [NO_FULL_CREDITS]).fetchall()
    finally:
        con.close()
    full_rows = [r for r in full["credits"] if r["tconst"] == TITANIC]
    assert pages == {"fullcredits": len(full_rows)}
    assert vfx == [(10, 791)]
    assert kept == [("title",)]


@needs_shared
def test_a_refresh_reuses_titles_read_with_their_full_credits_and_fetches_the_rest(
        full: dict[str, Any]) -> None:
    # Only the title whose full credits page failed is fetched again: title page, then its
    # full credits page; the others stand as read, full credits and all.
    asked = [path for path, _ in full["refresh_log"] if path.startswith("/title/")]
    assert [p for p in asked if NO_FULL_CREDITS in p] == [
        f"/title/{NO_FULL_CREDITS}/", f"/title/{NO_FULL_CREDITS}/fullcredits/"]
    assert {urlsplit(p).path for p in asked} == {
        f"/title/{t}/{page}" for t in KEPT for page in ("", "fullcredits/")}
    assert sorted(r["tconst"] for r in full["reused"]) == sorted(
        t for t in SEEDS if t not in KEPT)


# --- without a crawl: a title waiting for its full credits page ----------------------------


class _Stats(Counter):
    def inc_value(self, key: str, count: int = 1) -> None:
        self[key] += count

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value


A, B, C = "tt9000001", "tt9000002", "tt9000003"
SITE = LiveSource("http://site.test")
FC_META = {"page": FULLCREDITS, "attempts": 1}


def _waiting(jobdir: str | None = None) -> tuple[Outcomes, FullCredits, Frontier]:
    run = Run(run_id="r1", seeds=[A, B, C], depth=0, max_titles=10, arguments={})
    frontier = Frontier(run.seeds, 0, 10)
    frontier.take()
    outcomes = Outcomes(SimpleNamespace(stats=_Stats()), run, frontier,  # type: ignore[arg-type]
                        SITE, jobdir, 3)
    credits = FullCredits(outcomes, SITE, True)
    for tconst in (A, B, C):
        ask = credits.wait_for(tconst, 0, GRAPH[tconst], "2026-01-01T00:00:00+00:00", None)
        assert ask == SITE.ask(tconst, FULLCREDITS)
    return outcomes, credits, frontier


def _read(tconst: str) -> FullCreditsResult:
    shown = full_credits_of(GRAPH[tconst], made_up_crew=True)
    return FullCreditsResult(kind=PageKind.CREDITS, layout="fullcredits-next", reason=None,
                             tconst=tconst, found_tconst=tconst, credits=shown.credits,
                             categories=shown.categories)


def test_a_title_has_its_one_row_once_its_full_credits_page_is_answered() -> None:
    outcomes, credits, frontier = _waiting()
    assert sorted(frontier.pending) == [A, B, C]  # no outcome while they wait
    title_page = Page(GRAPH[A], "live")
    assert credits.settle(title_page, {"tconst": A, "attempts": 1}, "u", 200) is None
    item = credits.settle(Credits(_read(A), "live"), {"tconst": A, **FC_META}, "u", 200)
    assert isinstance(item, TitleItem) and item["full_credits"] == "read"
    assert [c["credit_page"] for c in item["credits"]] == ["fullcredits"] * len(item["credits"])
    assert len(item["credits"]) == len(_read(A)["credits"]) > len(GRAPH[A]["credits"])
    failed = credits.settle(Refusal("http_503", "HTTP 503"), {"tconst": B, **FC_META},
                            "http://site.test/title/tt9000002/fullcredits/", 503)
    assert isinstance(failed, TitleItem) and failed["full_credits"] == "http_503"
    assert failed["credits"] == GRAPH[B]["credits"]  # the title page's stand
    assert failed["subpage_failures"][0]["reason"] == "http_503"
    assert frontier.pending == [C]
    assert outcomes.stats["fullcredits/failed/http_503"] == 1


@pytest.mark.parametrize("jobdir", [None, "jobs/x"])
def test_a_crawl_that_stops_while_a_title_waits(jobdir: str | None) -> None:
    outcomes, _, frontier = _waiting(jobdir)
    due = outcomes.outcomes_due(closing=True)
    if jobdir is not None:  # the resumed run fetches them again, title page first
        assert due == [] and sorted(frontier.pending) == [A, B, C]
        return
    # Without JOBDIR: their title pages were read; the missing page is said, not lost.
    assert [(i["tconst"], i["full_credits"]) for i in due] == [
        (t, "not_fetched") for t in (A, B, C)]
    assert all(i["credits"] == GRAPH[i["tconst"]]["credits"] for i in due)
    assert frontier.pending == []


def test_a_series_fixtures_episodes_reach_the_credits_rows() -> None:
    """The hand-written series fixture (the current page's item shape) through the
    normalising pipeline into rows: episode counts and years, categories with totals."""
    read = read_next(SERIES_NEXT)
    assert read is not None
    result = FullCreditsResult(kind=PageKind.CREDITS, layout=read.layout, reason=None,
                               tconst="tt9100001", found_tconst="tt9100001",
                               credits=read.credits, categories=read.categories)
    outcomes, credits, _ = _waiting()
    outcomes.awaiting["tt9100001"] = outcomes.awaiting.pop(A)
    item = credits.settle(Credits(result, "live", "2025-07-01T00:00:00+00:00"),
                          {"tconst": "tt9100001", **FC_META}, "u", 200)
    typed = NormalizeTitlePipeline().process_item(item)
    rows: dict[str, list[dict]] = {}
    for table, values in table_rows(typed):
        rows.setdefault(table, []).append(to_row(table, values))
    episodes = {r["primary_name"]: (r["page_category"], r["category"], r["episode_count"],
                                    r["episode_start_year"], r["episode_end_year"], r["job"])
                for r in rows["credits"]}
    assert episodes == {"Ivo Lind": ("director", "director", 5, 2009, None, None),
                        "Ada Quill": ("cast", "actress", 62, 2008, 2013, None),
                        "Bo Reyes": ("cast", "cast", 1, 2011, None, None),
                        "Cy Moss": ("writer", "writer", 12, 2008, 2013, "creator")}
    (title,) = rows["titles"]
    captured = {r["captured_at"].isoformat() for r in rows["credits"] + rows["credit_categories"]}
    assert captured == {"2025-07-01T00:00:00+00:00"} != {str(title["captured_at"])}
    assert [(r["position"], r["category"], r["listed"], r["total"])
            for r in rows["credit_categories"]] == [
        (1, "director", 1, 1), (2, "cast", 2, 2), (3, "writer", 1, 4)]


# --- the archive's and WARC files' full credits captures --------------------------------------


def _archive() -> dict[str, list[Capture]]:
    return {A: [Capture("20180101000000", body=b"<html>title</html>")],
            f"{A}/fullcredits": [Capture("20170601000000", body=b"<html>credits</html>")]}


def test_the_mirrors_archive_keeps_full_credits_captures_apart() -> None:
    archive = _archive()
    page = "/web/2018id_/https://www.imdb.com/title/tt9000001/fullcredits/"
    status, headers, _, _ = answer(archive, page)
    assert (status, headers["Location"]) == (
        302, "/web/20170601000000id_/https://www.imdb.com/title/tt9000001/fullcredits/")
    status, _, body, _ = answer(archive, headers["Location"])
    assert (status, body) == (200, b"<html>credits</html>")
    status, _, body, _ = answer_cdx(
        archive, "url=www.imdb.com/title/tt9000001/fullcredits/&output=json&fl=timestamp")
    assert json.loads(body) == [["timestamp"], ["20170601000000"]]
    status, _, body, _ = answer_cdx(archive, "url=www.imdb.com/title/tt9000001/&output=json"
                                             "&fl=timestamp")
    assert json.loads(body) == [["timestamp"], ["20180101000000"]]


@needs_shared
def test_real_full_credits_pages_as_captures_and_in_warc_files(tmp_path: Path) -> None:
    found = fullcredits_captures(REAL_PAGES)
    assert sorted(found) == [f"{t}/fullcredits" for t in sorted(LEGACY)]
    path = write_warc(tmp_path / "a.warc.gz", {**_archive(), **found}, gzip=True)
    index = WarcIndex.build(warc_paths(str(path)))
    assert [c.timestamp for c in index.captures[page_key(A)]] == ["20180101000000"]
    capture = index.nearest(page_key(A, FULLCREDITS), "2019")
    assert capture is not None and capture.timestamp == "20170601000000"
    assert index.read(capture)[2] == b"<html>credits</html>"
    listing = json.loads(index.listing(page_key("tt0133093", FULLCREDITS)))
    assert [row[0] for row in listing[1:]] == ["20130101000000"]
