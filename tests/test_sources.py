"""Sources, the pure part: each answer kind a source makes of a reply (status, headers,
URL, body as plain values), for the live site and for the Wayback Machine (a date, and
as_of=latest's CDX walk).  No Scrapy, no server: the crawls of the other tests show the
spider acting on these answers."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawler.ids import FULLCREDITS
from crawler.sources.archive import Archive, memento_header, replay_url
from crawler.sources.base import (
    Ask,
    Credits,
    Follow,
    Merge,
    NextCapture,
    Page,
    Refusal,
    Render,
    Reply,
    Retry,
    ReuseCapture,
    Target,
    redirect_answer,
)
from crawler.sources.cdx import Walk, cdx_url
from crawler.sources.live import LiveSource
from crawler.sources.wayback import WaybackSource
from mirror.render import render_fullcredits_page_bytes, render_title_page_bytes
from mirror.synthetic import synthetic_graph

SITE = "https://www.imdb.com"
ARCHIVE = "https://web.archive.org"
GRAPH = synthetic_graph(3)
FIRST, SECOND = "tt9000001", "tt9000002"
PAGE = render_title_page_bytes(GRAPH[FIRST])
WAF = b"x-amzn-waf-action"
MEMENTO = b"Memento-Datetime"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def live(render: str = "never") -> LiveSource:
    return LiveSource(SITE, render, lambda: {"playwright": True})


def site_reply(status: int, body: bytes = b"", url: str = f"{SITE}/title/{FIRST}/",
               **headers: str) -> Reply:
    return Reply(FIRST, url, status, {k.replace("_", "-").encode(): v.encode()
                                      for k, v in headers.items()}, body, {"attempts": 1})


# --- the live site ------------------------------------------------------------------


def test_live_asks_the_title_url_and_fetches_only_the_site() -> None:
    source = live()
    assert source.hosts == ("www.imdb.com",)
    assert source.ask(FIRST) == Ask(f"{SITE}/title/{FIRST}/", {"archive": False})
    assert source.name == "live" and source.as_of is None
    assert live("always").ask(FIRST).meta == {"archive": False, "playwright": True}


def test_live_title_page_is_a_page_with_its_source() -> None:
    answer = live().answer(site_reply(200, PAGE, Content_Type="text/html"))
    assert isinstance(answer, Page)
    assert answer.record["tconst"] == FIRST
    assert answer.record["primary_title"] == GRAPH[FIRST]["primary_title"]
    assert (answer.source, answer.captured_at) == ("live", None)
    assert answer.counts == ("titles/status/200", "pages/title")


def test_live_redirect_to_the_same_title_is_followed() -> None:
    answer = live().answer(site_reply(301, Location=f"/title/{FIRST}/?ref_=x"))
    assert answer == Follow(Ask(f"{SITE}/title/{FIRST}/?ref_=x", {"archive": False}),
                            counts=("titles/status/301",))


def test_live_redirect_to_another_title_is_a_merge() -> None:
    answer = live().answer(site_reply(301, Location=f"{SITE}/title/{SECOND}/"))
    assert answer == Merge(SECOND, f"{SITE}/title/{SECOND}/", counts=("titles/status/301",))


def test_live_page_of_another_title_is_a_merge_with_its_page() -> None:
    """The browser followed a redirect itself: the page read is the canonical title's."""
    body = render_title_page_bytes(GRAPH[SECOND])
    answer = live().answer(site_reply(200, body, url=f"{SITE}/title/{SECOND}/"))
    assert isinstance(answer, Merge) and answer.canonical == SECOND
    assert answer.counts == ("titles/status/200",)
    assert isinstance(answer.page, Page) and answer.page.record["tconst"] == SECOND
    assert answer.page.counts == ("pages/title",)


@pytest.mark.parametrize(("reply", "reason", "detail", "counts"), [
    (site_reply(202, **{"x_amzn_waf_action": "challenge"}), "blocked",
     "x-amzn-waf-action: challenge", ()),
    (site_reply(202), "blocked", "HTTP 202", ()),
    (site_reply(404), "not_found", None, ()),
    (site_reply(503), "http_503", None, ()),
    (site_reply(302, Location="https://evil.example/title/tt9000001/"), "offsite_redirect",
     "redirect to evil.example", ("offsite/redirects_dropped",)),
    (site_reply(302, Location="/name/nm0000001/"), "redirect_not_a_title",
     f"{SITE}/name/nm0000001/", ()),
    (site_reply(200, b"<html><body>Sorry</body></html>"), "other", None, ("pages/other",)),
])
def test_live_refusals(reply: Reply, reason: str, detail: str | None,
                       counts: tuple[str, ...]) -> None:
    answer = live().answer(reply)
    assert isinstance(answer, Refusal)
    assert (answer.reason, answer.captured_at) == (reason, None)
    if detail is not None:
        assert answer.detail == detail
    assert answer.counts == (f"titles/status/{reply.status}", *counts)


def test_live_empty_page_is_retried_else_refused() -> None:
    answer = live().answer(site_reply(200, b""))
    assert answer == Retry(Ask(f"{SITE}/title/{FIRST}/", {"archive": False, "rendered": False}),
                           "empty", Refusal("empty", "empty body"),
                           counts=("titles/status/200", "pages/empty"))


def test_live_page_without_its_cards_is_rendered_with_render_auto() -> None:
    record = {**GRAPH[FIRST], "more_like_this": []}
    body = render_title_page_bytes(record)  # type: ignore[arg-type]
    answer = live("auto").answer(site_reply(200, body))
    assert answer == Render(Ask(f"{SITE}/title/{FIRST}/",
                                {"archive": False, "rendered": True, "playwright": True}),
                            counts=("titles/status/200", "pages/title", "render/auto_refetch"))
    assert isinstance(live("never").answer(site_reply(200, body)), Page)


# --- the one redirect rule ------------------------------------------------------------


def test_the_redirect_rule_is_one_for_every_source() -> None:
    follow = Ask("u")
    assert redirect_answer(FIRST, Target("u", "x.org", False, FIRST), follow) == Refusal(
        "offsite_redirect", "redirect to x.org", counts=("offsite/redirects_dropped",))
    assert redirect_answer(FIRST, Target("u", "h", True, None), follow) == Refusal(
        "redirect_not_a_title", "u")
    assert redirect_answer(FIRST, Target("u", "h", True, FIRST), follow, "t") == Follow(
        follow, "t")
    assert redirect_answer(FIRST, Target("u", "h", True, SECOND), follow, "t") == Merge(
        SECOND, "u", "t")


# --- the Wayback Machine, as of a date --------------------------------------------------

AS_OF = utc(2018, 1, 1)
DATED = WaybackSource(Archive(ARCHIVE, AS_OF, timedelta(days=365)))


def capture_url(timestamp: str, tconst: str = FIRST) -> str:
    return replay_url(ARCHIVE, timestamp, tconst)


def capture(status: int, body: bytes = b"", timestamp: str = "20180315000000",
            meta: dict[str, Any] | None = None, **headers: str) -> Reply:
    """A replayed capture: the Memento-Datetime of its timestamp, recorded headers."""
    moment = datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    values = {MEMENTO: memento_header(moment).encode(),
              **{k.replace("_", "-").encode(): v.encode() for k, v in headers.items()}}
    return Reply(FIRST, capture_url(timestamp), status, values, body,
                 {"attempts": 1, **(meta or {})})


def test_wayback_asks_the_replay_as_of_the_date_on_the_archive_only() -> None:
    assert DATED.hosts == ("web.archive.org",)
    assert DATED.name == "wayback" and DATED.as_of == AS_OF
    assert DATED.ask(FIRST) == Ask(capture_url("20180101000000"), {"archive": True})


def test_wayback_capture_of_a_title_page_is_a_page_with_when_it_was_captured() -> None:
    answer = DATED.answer(capture(200, PAGE))
    assert isinstance(answer, Page) and answer.record["tconst"] == FIRST
    assert (answer.source, answer.captured_at) == ("wayback", "2018-03-15T00:00:00+00:00")
    assert answer.counts == ("titles/status/200", "pages/title")


def test_wayback_redirect_to_the_nearest_capture_is_followed_unless_too_far() -> None:
    own = Reply(FIRST, capture_url("20180101000000"), 302,
                {b"Location": capture_url("20180315000000").encode()}, b"", {})
    assert DATED.answer(own) == Follow(Ask(capture_url("20180315000000"), {"archive": True}),
                                       counts=("titles/status/302",))
    far = Reply(FIRST, capture_url("20180101000000"), 302,
                {b"Location": capture_url("20200315000000").encode()}, b"", {})
    answer = DATED.answer(far)
    assert isinstance(answer, Refusal) and answer.reason == "not_archived"
    assert answer.captured_at == "2020-03-15T00:00:00+00:00"
    assert answer.detail == ("nearest capture 2020-03-15T00:00:00+00:00 is 804 days from "
                             "as_of 2018-01-01")


def test_wayback_recorded_redirect_to_another_title_is_a_merge() -> None:
    target = capture_url("20180315000000", SECOND)
    answer = DATED.answer(capture(301, Location=target))
    assert answer == Merge(SECOND, target, "2018-03-15T00:00:00+00:00",
                           counts=("titles/status/301",))


@pytest.mark.parametrize(("reply", "reason", "detail"), [
    (Reply(FIRST, capture_url("20180101000000"), 404, {}, b"", {}), "not_archived",
     "no capture"),
    (Reply(FIRST, capture_url("20180101000000"), 429, {}, b"", {}), "http_429",
     "the archive's answer, not a capture"),
    (capture(202, x_archive_orig_x_amzn_waf_action="challenge"), "archived_blocked",
     "the capture is an HTTP 202 answer"),
    (capture(404), "archived_not_found", "the capture is an HTTP 404 answer"),
    (capture(302, Location=f"{ARCHIVE}/web/20180315000000id_/https://evil.example/"),
     "offsite_redirect", "redirect to evil.example"),
    (capture(302, Location=f"{ARCHIVE}/about/"), "redirect_not_a_title", f"{ARCHIVE}/about/"),
    (capture(200, PAGE, timestamp="20200315000000"), "not_archived",
     "nearest capture 2020-03-15T00:00:00+00:00 is 804 days from as_of 2018-01-01"),
])
def test_wayback_refusals(reply: Reply, reason: str, detail: str) -> None:
    answer = DATED.answer(reply)
    assert isinstance(answer, Refusal)
    assert (answer.reason, answer.detail) == (reason, detail)
    assert answer.counts[0] == f"titles/status/{reply.status}"


def test_wayback_empty_capture_is_retried_else_refused_as_archived() -> None:
    answer = DATED.answer(capture(200, b""))
    assert isinstance(answer, Retry) and answer.kind == "empty"
    assert answer.ask == DATED.ask(FIRST)
    assert isinstance(answer.otherwise, Refusal)
    assert answer.otherwise.reason == "archived_empty"
    assert answer.otherwise.captured_at == "2018-03-15T00:00:00+00:00"


# --- as_of=latest: one CDX query, then a walk over the captures ------------------------

NOW = utc(2026, 12, 1)
LATEST = WaybackSource(Archive(ARCHIVE, NOW, None, latest=True)).for_run(NOW, lambda t: None)


def listing_reply(rows: list[list[str]], status: int = 200) -> Reply:
    body = json.dumps([["timestamp", "statuscode", "mimetype"], *rows]).encode()
    return Reply(FIRST, cdx_url(ARCHIVE, FIRST), status, {}, body, {"cdx": True})


def test_latest_asks_the_cdx_listing_first() -> None:
    assert LATEST.ask(FIRST) == Ask(cdx_url(ARCHIVE, FIRST), {"archive": True, "cdx": True})
    assert LATEST.as_of == NOW


def test_latest_listing_names_the_next_capture_to_read() -> None:
    answer = LATEST.answer(listing_reply([["20180315000000", "200", "text/html"],
                                          ["20260401000000", "202", "text/html"]]))
    assert isinstance(answer, NextCapture)
    assert answer.ask.url == capture_url("20180315000000")
    walk = answer.ask.meta["walk"]
    assert walk.to_try == ("20180315000000",) and walk.newest_reason == "archived_blocked"
    assert answer.counts == ("archive/cdx_status/200",)


def test_latest_listing_with_no_newer_capture_than_the_datasets_reuses_it() -> None:
    source = LATEST.for_run(NOW, lambda tconst: utc(2018, 3, 15))
    answer = source.answer(listing_reply([["20180315000000", "200", "text/html"],
                                          ["20260401000000", "202", "text/html"]]))
    assert answer == ReuseCapture(counts=("archive/cdx_status/200",))


@pytest.mark.parametrize(("reply", "reason"), [
    (listing_reply([]), "not_archived"),
    (listing_reply([["20260401000000", "202", "text/html"]]), "archived_blocked"),
    (Reply(FIRST, cdx_url(ARCHIVE, FIRST), 200, {}, b"{}", {"cdx": True}), "cdx_unreadable"),
    (listing_reply([], status=503), "http_503"),
])
def test_latest_listing_refusals(reply: Reply, reason: str) -> None:
    answer = LATEST.answer(reply)
    assert isinstance(answer, Refusal) and answer.reason == reason


def test_latest_unusable_capture_is_passed_over_for_the_next_older_one() -> None:
    walk = Walk(("20220101000000", "20180315000000"), 3, "20260401000000", "archived_blocked")
    answer = LATEST.answer(capture(200, b"", "20220101000000", {"walk": walk}))
    assert isinstance(answer, NextCapture)  # an empty capture: passed over at once
    assert answer.ask.url == capture_url("20180315000000")
    assert answer.counts == ("titles/status/200", "pages/empty",
                             "archive/passed_over/archived_empty")
    last = Walk(("20180315000000",), 3, "20260401000000", "archived_blocked")
    failed = LATEST.answer(capture(404, b"", "20180315000000", {"walk": last}))
    assert isinstance(failed, Refusal) and failed.reason == "archived_blocked"
    assert failed.detail == ("all 3 captures were unusable (the newest, "
                             "2026-04-01T00:00:00+00:00: archived_blocked)")
    known = Walk(("20180315000000",), 3, "20260401000000", "archived_blocked",
                 known="20170101000000")
    assert isinstance(LATEST.answer(capture(404, b"", "20180315000000", {"walk": known})),
                      ReuseCapture)


def test_latest_capture_of_a_page_is_a_page() -> None:
    walk = Walk(("20180315000000",), 2, "20260401000000", "archived_blocked")
    answer = LATEST.answer(capture(200, PAGE, meta={"walk": walk}))
    assert isinstance(answer, Page) and answer.captured_at == "2018-03-15T00:00:00+00:00"


# --- a title's full credits page (-a credits=full): a URL of its own, the same rules ------

CREDITS_PAGE = render_fullcredits_page_bytes(GRAPH[FIRST], made_up_crew=True)
FC = {"page": FULLCREDITS}


def credits_reply(status: int, body: bytes = b"", **headers: str) -> Reply:
    reply = site_reply(status, body, url=f"{SITE}/title/{FIRST}/fullcredits/", **headers)
    return replace(reply, meta={**reply.meta, **FC})


def test_live_asks_the_full_credits_page_of_the_title() -> None:
    assert live().ask(FIRST, FULLCREDITS) == Ask(f"{SITE}/title/{FIRST}/fullcredits/",
                                                 {"archive": False, **FC})
    assert live().title_url(FIRST, FULLCREDITS) == f"{SITE}/title/{FIRST}/fullcredits/"
    assert live("always").ask(FIRST, FULLCREDITS).meta == {"archive": False, **FC,
                                                           "playwright": True}


def test_live_full_credits_page_is_read_and_counted_apart() -> None:
    answer = live("auto").answer(credits_reply(200, CREDITS_PAGE))  # never rendered
    assert isinstance(answer, Credits) and answer.source == "live"
    assert answer.result["found_tconst"] == FIRST
    assert answer.counts == ("fullcredits/status/200", "fullcredits/credits")
    vfx = next(c for c in answer.result["categories"] if c["category"] == "visual_effects")
    assert vfx["listed"] == 10 < vfx["total"]  # type: ignore[operator]


@pytest.mark.parametrize(("reply", "reason"), [
    (credits_reply(404), "not_found"),
    (credits_reply(202, x_amzn_waf_action="challenge"), "blocked"),
    (credits_reply(200, PAGE), "other"),  # a title page is no full credits page
    (credits_reply(200, render_fullcredits_page_bytes(GRAPH[SECOND])), "wrong_title"),
])
def test_live_full_credits_refusals(reply: Reply, reason: str) -> None:
    answer = live().answer(reply)
    assert isinstance(answer, Refusal) and answer.reason == reason
    assert answer.counts[0] == f"fullcredits/status/{reply.status}"


def test_live_full_credits_redirects_and_retries_keep_asking_for_it() -> None:
    target = f"{SITE}/title/{FIRST}/fullcredits/?ref_=x"
    assert live().answer(credits_reply(308, Location=target)) == Follow(
        Ask(target, {"archive": False, **FC}), counts=("fullcredits/status/308",))
    merged = live().answer(credits_reply(301, Location=f"/title/{SECOND}/fullcredits/"))
    assert isinstance(merged, Merge) and merged.canonical == SECOND
    retry = live().answer(credits_reply(200, b""))
    assert isinstance(retry, Retry) and retry.ask.meta["page"] == FULLCREDITS
    assert retry.counts == ("fullcredits/status/200", "fullcredits/empty")


def test_wayback_reads_the_full_credits_capture_nearest_as_of() -> None:
    assert DATED.ask(FIRST, FULLCREDITS) == Ask(
        replay_url(ARCHIVE, "20180101000000", FIRST, FULLCREDITS), {"archive": True, **FC})
    reply = capture(200, CREDITS_PAGE, meta=FC)
    answer = DATED.answer(replace(reply, url=replay_url(ARCHIVE, "20180315000000", FIRST,
                                                       FULLCREDITS)))
    assert isinstance(answer, Credits)
    assert (answer.source, answer.captured_at) == ("wayback", "2018-03-15T00:00:00+00:00")
    far = DATED.answer(capture(200, CREDITS_PAGE, timestamp="20200315000000", meta=FC))
    assert isinstance(far, Refusal) and far.reason == "not_archived"  # the same distance rule
    nearest = replay_url(ARCHIVE, "20180315000000", FIRST, FULLCREDITS)
    own = Reply(FIRST, replay_url(ARCHIVE, "20180101000000", FIRST, FULLCREDITS), 302,
                {b"Location": nearest.encode()}, b"", FC)
    assert DATED.answer(own) == Follow(Ask(nearest, {"archive": True, **FC}),
                                       counts=("fullcredits/status/302",))


def test_latest_lists_the_full_credits_captures_of_their_own_and_walks_them() -> None:
    ask = LATEST.ask(FIRST, FULLCREDITS)
    assert ask == Ask(cdx_url(ARCHIVE, FIRST, FULLCREDITS), {"archive": True, "cdx": True, **FC})
    assert "url=www.imdb.com/title/tt9000001/fullcredits/&" in ask.url
    # In a refresh run the dataset's capture of the title stands for the title page only:
    # the full credits page is read whenever the title page is.
    source = LATEST.for_run(NOW, lambda tconst: utc(2018, 3, 15))
    rows = [["20180315000000", "200", "text/html"], ["20260401000000", "202", "text/html"]]
    listing = replace(listing_reply(rows), meta={"cdx": True, **FC})
    answer = source.answer(listing)
    assert isinstance(answer, NextCapture)
    assert answer.ask.url == replay_url(ARCHIVE, "20180315000000", FIRST, FULLCREDITS)
    assert answer.ask.meta["page"] == FULLCREDITS
    assert isinstance(source.answer(listing_reply(rows)), ReuseCapture)  # the title page's
    walk = answer.ask.meta["walk"]
    read = LATEST.answer(capture(200, CREDITS_PAGE, meta={"walk": walk, **FC}))
    assert isinstance(read, Credits) and read.captured_at == "2018-03-15T00:00:00+00:00"
    gone = LATEST.answer(capture(404, b"", meta={"walk": walk, **FC}))
    assert isinstance(gone, Refusal) and gone.reason == "archived_blocked"


def test_sources_import_no_scrapy() -> None:
    code = ("import sys, crawler.sources.live, crawler.sources.wayback; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scrapy', 'twisted'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
