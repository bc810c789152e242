"""as_of=latest, the pure part: a CDX listing read (crawler.sources.cdx), the walk over a title's
captures planned from it, the mirror's CDX endpoint and recorded captures, and the WARC
index answering the same query."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http.headers import Headers

from crawler.sources.archive import recorded_header
from crawler.sources.cdx import (
    CaptureFailure,
    Listed,
    Reuse,
    Walk,
    cdx_tconst,
    cdx_url,
    listed_reason,
    parse_listing,
    plan,
)
from crawler.sources.warc import WarcIndex
from mirror.archive import (
    Capture,
    answer,
    answer_cdx,
    latest_standin,
    with_recorded_challenges,
)
from tests.conftest import REAL_PAGES, needs_shared
from tests.warcs import write_warc

MATRIX = "tt0133093"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def listing(*rows: tuple[str, str]) -> list[Listed]:
    body = json.dumps([["timestamp", "statuscode"], *[list(r) for r in rows]])
    return parse_listing(body.encode())


def test_the_query_names_the_title_and_the_fields() -> None:
    url = cdx_url("https://web.archive.org/", MATRIX)
    assert url == ("https://web.archive.org/cdx/search/cdx?url=www.imdb.com/title/tt0133093/"
                   "&output=json&fl=timestamp,statuscode,mimetype")
    assert cdx_tconst(url) == MATRIX
    assert cdx_tconst("https://web.archive.org/cdx/search/cdx?url=imdb.com/name/nm0000206/") \
        is None
    assert cdx_tconst("https://web.archive.org/web/2018id_/https://www.imdb.com/title/"
                      "tt0133093/") is None


def test_a_listing_is_read_by_its_field_names() -> None:
    # The shape of the wayback-cdx-server README's example, fields in another order, with
    # a revisit ("-") and the resume key rows a showResumeKey query ends with.
    body = json.dumps([
        ["statuscode", "timestamp", "mimetype"],
        ["200", "20230526000000", "text/html"],
        ["202", "20261101000000", "text/html"],
        ["-", "20240101000000", "warc/revisit"],
        [], ["com%2Cimdb%29%2Ftitle+20261101000000%21"],
    ]).encode()
    assert parse_listing(body) == [
        Listed("20230526000000", 200, "text/html"),
        Listed("20240101000000", None, "warc/revisit"),
        Listed("20261101000000", 202, "text/html"),
    ]
    assert parse_listing(b"") == parse_listing(b"[]") == []
    assert parse_listing(gzip.compress(body)) == parse_listing(body)


@pytest.mark.parametrize("body", [b"{}", b"[1, 2]", b"<html>", b'[["urlkey"], ["x"]]',
                                  b"\x1f\x8bnot gzip", b"\xff\xfe"])
def test_a_body_that_is_no_listing_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_listing(body)


@pytest.mark.parametrize(("status", "reason"), [
    ("202", "archived_blocked"), ("404", "archived_not_found"), ("503", "archived_http_503"),
    ("403", "archived_http_403"), ("200", None), ("301", None), ("-", None),
])
def test_what_the_listed_status_already_says(status: str, reason: str | None) -> None:
    (capture,) = listing(("20200101000000", status))
    assert listed_reason(capture) == reason


def test_the_walk_starts_at_the_newest_capture_that_may_be_usable() -> None:
    captures = listing(("20180820000000", "200"), ("20221027000000", "200"),
                       ("20250101000000", "503"), ("20261101000000", "202"))
    walk = plan(captures)
    assert walk == Walk(("20221027000000", "20180820000000"), 4, "20261101000000",
                        "archived_blocked")
    # The 2022 capture's body is a challenge: the 2018 one is next, from the same list.
    second = walk.passed_over("archived_blocked")
    assert isinstance(second, Walk) and second.first == "20180820000000"
    failed = second.passed_over("archived_empty")
    assert failed == CaptureFailure(
        "archived_blocked", "all 4 captures were unusable (the newest, "
        "2026-11-01T00:00:00+00:00: archived_blocked)", utc(2026, 11, 1))


def test_a_newest_capture_found_unusable_on_reading_names_the_failure() -> None:
    walk = plan(listing(("20210101000000", "404"), ("20240101000000", "200")))
    assert isinstance(walk, Walk) and walk.newest_reason is None
    assert walk.to_try == ("20240101000000",)  # the 404 is never read
    assert walk.passed_over("archived_empty") == CaptureFailure(
        "archived_empty", "all 2 captures were unusable (the newest, "
        "2024-01-01T00:00:00+00:00: archived_empty)", utc(2024, 1, 1))


def test_no_capture_and_captures_beyond_the_distance_are_not_archived() -> None:
    assert plan([]) == CaptureFailure("not_archived", "no capture", None)
    old = listing(("20130101000000", "200"))
    assert plan(old, since=utc(2023, 1, 1)) == CaptureFailure(
        "not_archived", "newest capture 2013-01-01T00:00:00+00:00 is before "
        "2023-01-01T00:00:00+00:00 (ARCHIVE_MAX_DISTANCE back from now)", utc(2013, 1, 1))
    both = listing(("20130101000000", "200"), ("20261101000000", "202"))
    assert plan(both, since=utc(2023, 1, 1)) == CaptureFailure(
        "archived_blocked", "the only capture since 2023-01-01T00:00:00+00:00 was unusable "
        "(the newest, 2026-11-01T00:00:00+00:00: archived_blocked)", utc(2026, 11, 1))
    walk = plan(listing(("20130101000000", "200"), ("20230526000000", "200")),
                since=utc(2023, 1, 1))
    assert isinstance(walk, Walk) and walk.to_try == ("20230526000000",)


def test_a_refresh_reads_only_captures_newer_than_the_datasets() -> None:
    captures = listing(("20180820000000", "200"), ("20221027000000", "200"),
                       ("20261101000000", "202"))
    assert plan(captures, known=utc(2022, 10, 27)) == Reuse()
    assert plan([], known=utc(2022, 10, 27)) == Reuse()
    walk = plan(captures, known=utc(2018, 8, 20))
    assert isinstance(walk, Walk) and walk.to_try == ("20221027000000",)
    # The newer one is unusable after all: the dataset's capture stands, nothing older
    # is read again.
    assert walk.passed_over("archived_blocked") == Reuse()


# --- the mirror's CDX API and recorded captures -----------------------------------------

CAPTURES = {MATRIX: [Capture("20180820000000", body=b"<html>a</html>"),
                     Capture.error("20200101000000", 503),
                     Capture.challenge("20261101000000")]}


def cdx(query: str) -> tuple[int, bytes]:
    status, _, body, _ = answer_cdx(CAPTURES, query)
    return status, body


def test_the_mirror_lists_a_titles_captures_as_the_cdx_api_does() -> None:
    query = urlsplit(cdx_url("http://x", MATRIX)).query
    status, body = cdx(query)
    assert status == 200
    assert json.loads(body) == [["timestamp", "statuscode", "mimetype"],
                                ["20180820000000", "200", "text/html"],
                                ["20200101000000", "503", "text/html"],
                                ["20261101000000", "202", "text/html"]]
    assert parse_listing(body)[-1] == Listed("20261101000000", 202, "text/html")
    status, body = cdx(f"url=imdb.com/title/{MATRIX}/&output=json&limit=-1&fl=timestamp")
    assert json.loads(body) == [["timestamp"], ["20261101000000"]]
    status, body = cdx(f"url=www.imdb.com/title/{MATRIX}/&from=2019&to=2020&fl=statuscode,"
                       "length")
    assert body == b"503 38\n"  # the error page: 38 bytes
    assert cdx("url=www.imdb.com/title/tt0000001/&output=json") == (200, b"[]")
    assert cdx("url=example.org/&output=json")[0] == 400
    default = cdx(f"url=www.imdb.com/title/{MATRIX}/&output=json&limit=1")[1]
    assert json.loads(default)[0] == ["urlkey", "timestamp", "original", "mimetype",
                                      "statuscode", "digest", "length"]


def test_a_recorded_header_is_read_as_replayed_by_the_archive_or_a_warc() -> None:
    name = b"x-amzn-waf-action"
    assert recorded_header(Headers({"X-Archive-Orig-X-Amzn-Waf-Action": "challenge"}),
                           name) == "challenge"
    assert recorded_header(Headers({"x-amzn-waf-action": "captcha"}), name) == "captcha"
    assert recorded_header(Headers({"Content-Type": "text/html"}), name) == ""


def test_a_recorded_challenge_is_replayed_with_its_header_as_the_archive_does() -> None:
    path = f"/web/20261101000000id_/https://www.imdb.com/title/{MATRIX}/"
    status, headers, body, _ = answer(CAPTURES, path)
    assert (status, body) == (202, b"")
    assert headers["x-archive-orig-x-amzn-waf-action"] == "challenge"
    assert headers["Memento-Datetime"] == "Sun, 01 Nov 2026 00:00:00 GMT"


@needs_shared
def test_the_stand_in_puts_a_recorded_challenge_after_every_real_page() -> None:
    standin = latest_standin(REAL_PAGES)
    assert {c.timestamp for c in standin[MATRIX]} == {
        "20130101000000", "20180820000000", "20230526000000", "20261101000000"}
    for found in standin.values():
        assert found[-1] == Capture.challenge("20261101000000")
        assert all(c.status == 200 and c.page is not None for c in found[:-1])
    with pytest.raises(ValueError, match="20260320000000"):
        latest_standin(REAL_PAGES, challenged_at="20250101000000")


def test_any_archive_gets_a_newest_recorded_challenge() -> None:
    old = {MATRIX: [Capture("20210601000000", body=b"<html></html>")]}
    assert with_recorded_challenges(old, "20270101000000") == {
        MATRIX: [old[MATRIX][0], Capture.challenge("20270101000000")]}


def test_the_warc_index_answers_the_cdx_query_with_recorded_statuses(tmp_path: Path) -> None:
    index = WarcIndex.build([write_warc(tmp_path / "a.warc.gz", CAPTURES, gzip=True)])
    assert parse_listing(index.listing(MATRIX)) == [
        Listed("20180820000000", 200, "text/html"), Listed("20200101000000", 503, "text/html"),
        Listed("20261101000000", 202, "text/html")]
    assert index.listing("tt0000001") == b"[]"
