"""crawler.sources.archive (pure), the mirror's archive answers, the WARC index, and the one-line
refusals of bad archive arguments and settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.exceptions import IgnoreRequest

from crawler.sources.archive import (
    Archive,
    memento_header,
    memento_time,
    parse_as_of,
    parse_max_distance,
    parse_replay,
    replay_url,
    timestamp14,
    timestamp_time,
)
from crawler.sources.warc import WarcIndex, warc_paths
from mirror.archive import Capture, answer
from tests.crawling import crawl_command
from tests.test_cli import UNUSED, run
from tests.warcs import write_warc

MATRIX = "tt0133093"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("text", "moment"), [
    ("2018", utc(2018, 1, 1)), ("2018-08", utc(2018, 8, 1)), ("2018-08-20", utc(2018, 8, 20)),
    (" 1996 ", utc(1996, 1, 1)),
])
def test_as_of_is_the_start_of_the_period(text: str, moment: datetime) -> None:
    assert parse_as_of(text) == moment


@pytest.mark.parametrize("text", ["18", "2018-8-1", "2018-13", "2018-02-30", "1995",
                                  "2018-08-20T10:00", "yesterday", ""])
def test_a_bad_as_of_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY, YYYY-MM or YYYY-MM-DD"):
        parse_as_of(text)


@pytest.mark.parametrize(("text", "days"), [("365", 365), ("365d", 365), ("52w", 364),
                                            ("1", 1), ("36h", 1.5)])
def test_max_distance_is_days_or_an_age(text: str, days: float) -> None:
    assert parse_max_distance(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["0", "-3", "a year", "365 days", "0d"])
def test_a_bad_max_distance_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="ARCHIVE_MAX_DISTANCE"):
        parse_max_distance(text)


def test_replay_urls_round_trip() -> None:
    url = replay_url("https://web.archive.org/", "20180820000000", MATRIX)
    assert url == ("https://web.archive.org/web/20180820000000id_/"
                   "https://www.imdb.com/title/tt0133093/")
    replay = parse_replay(url)
    assert replay is not None
    assert (replay.timestamp, replay.tconst, replay.time) == (
        "20180820000000", MATRIX, utc(2018, 8, 20))
    assert replay.original == "https://www.imdb.com/title/tt0133093/"


@pytest.mark.parametrize(("path", "tconst"), [
    ("/web/2018/https://www.imdb.com/title/tt0133093/", MATRIX),  # no modifier, short
    ("/web/20180820000000id_/http://imdb.com/title/tt0133093/?ref_=x", MATRIX),
    ("/web/20180820000000id_/www.imdb.com/title/tt0133093/", MATRIX),  # no scheme
    ("/web/20180820000000id_/https://example.org/title/tt0133093/", None),  # not IMDb
    ("/web/20180820000000id_/https://www.imdb.com/name/nm0000206/", None),
])
def test_replay_paths_name_their_title(path: str, tconst: str | None) -> None:
    replay = parse_replay("https://web.archive.org" + path)
    assert replay is not None and replay.tconst == tconst


@pytest.mark.parametrize("path", ["/title/tt0133093/", "/web/20181320000000id_/https://www"
                                  ".imdb.com/title/tt0133093/", "/web/abc/https://x/"])
def test_other_paths_are_no_replay(path: str) -> None:
    assert parse_replay("https://web.archive.org" + path) is None


def test_timestamps_pad_to_their_lower_bound() -> None:
    assert timestamp_time("2018") == utc(2018, 1, 1)
    assert timestamp_time("201808") == utc(2018, 8, 1)
    assert timestamp_time("20180820123456") == utc(2018, 8, 20, 12, 34, 56)
    assert timestamp14(utc(2018, 8, 20, 12, 34, 56)) == "20180820123456"


def test_a_capture_is_known_by_its_memento_datetime() -> None:
    header = memento_header(utc(2018, 8, 20, 12, 34, 56))
    assert header == "Mon, 20 Aug 2018 12:34:56 GMT"
    assert memento_time({b"Memento-Datetime": header.encode()}) == utc(2018, 8, 20, 12, 34, 56)
    assert memento_time({}) is None
    assert memento_time({b"Memento-Datetime": b"not a date"}) is None
    archive = Archive("http://127.0.0.1:1", utc(2019, 1, 1), timedelta(days=365))
    page = "http://127.0.0.1:1/web/20180820000000id_/https://www.imdb.com/title/tt0133093/"
    memento = {b"Memento-Datetime": b"Sun, 19 Aug 2018 00:00:00 GMT"}
    assert archive.capture_time(page, memento, 301) == utc(2018, 8, 19)
    assert archive.capture_time(page, {}, 200) == utc(2018, 8, 20)  # reached at its own time
    assert archive.capture_time(page, {}, 302) is None  # the archive's redirect: no capture
    assert archive.capture_time(page, {}, 404) is None
    assert not archive.too_far(utc(2018, 1, 1)) and archive.too_far(utc(2017, 12, 31))
    assert archive.on_archive(page) and not archive.on_archive("http://127.0.0.1:2/web/")


CAPTURES = {
    MATRIX: [Capture("20130101000000", body=b"<html>2013</html>"),
             Capture("20180820000000", body=b"<html>2018</html>"),
             Capture("20230526000000", body=b"<html>2023</html>")],
    "tt9900001": [Capture("20180801000000", status=301, location=MATRIX)],
}


def replay_path(timestamp: str, tconst: str = MATRIX) -> str:
    return f"/web/{timestamp}id_/https://www.imdb.com/title/{tconst}/"


@pytest.mark.parametrize(("asked", "nearest"), [
    ("2019", "20180820000000"), ("20210107000000", "20230526000000"),
    ("2015", "20130101000000"),  # 2015-01-01 is nearer 2013 than 2018-08
    ("20210106000000", "20180820000000"),  # halfway, a tie: the earlier one
])
def test_the_mirror_redirects_to_the_nearest_capture(asked: str, nearest: str) -> None:
    status, headers, body, _ = answer(CAPTURES, replay_path(asked))
    assert (status, headers, body) == (302, {"Location": replay_path(nearest)}, b"")


def test_the_mirror_replays_a_capture_and_a_recorded_redirect() -> None:
    status, headers, body, _ = answer(CAPTURES, replay_path("20180820000000"))
    assert (status, body) == (200, b"<html>2018</html>")
    assert headers["Memento-Datetime"] == "Mon, 20 Aug 2018 00:00:00 GMT"
    status, headers, _, _ = answer(CAPTURES, replay_path("20180801000000", "tt9900001"))
    assert status == 301
    assert headers["Location"] == replay_path("20180801000000")
    status, headers, _, _ = answer(CAPTURES, replay_path("2019", "tt0000001"))
    assert (status, "Memento-Datetime" in headers) == (404, False)


@pytest.mark.parametrize("gzip", [True, False])
def test_the_warc_index_finds_the_nearest_capture_and_reads_it(
    tmp_path: Path, gzip: bool
) -> None:
    path = write_warc(tmp_path / ("a.warc.gz" if gzip else "a.warc"), CAPTURES, gzip=gzip)
    index = WarcIndex.build(warc_paths(str(tmp_path / "*.warc*")))
    assert [c.timestamp for c in index.captures[MATRIX]] == [
        "20130101000000", "20180820000000", "20230526000000"]
    assert index.nearest("tt0000001", "2019") is None
    capture = index.nearest(MATRIX, "2019")
    assert capture is not None and (capture.timestamp, capture.path) == ("20180820000000", path)
    status, _, body = index.read(capture)
    assert (status, body) == (200, b"<html>2018</html>")
    redirect = index.nearest("tt9900001", "2019")
    assert redirect is not None
    status, headers, _ = index.read(redirect)
    assert status == 301
    assert ("Location", "https://www.imdb.com/title/tt0133093/") in headers


def test_one_title_across_files_and_the_size_limit(tmp_path: Path) -> None:
    early, late = CAPTURES[MATRIX][:2], CAPTURES[MATRIX][2:]
    write_warc(tmp_path / "early.warc.gz", {MATRIX: early}, gzip=True)
    write_warc(tmp_path / "late.warc", {MATRIX: late}, gzip=False)
    index = WarcIndex.build(warc_paths(f"{tmp_path}/early.warc.gz,{tmp_path}/late.warc"))
    capture = index.nearest(MATRIX, "2022")
    assert capture is not None
    assert (capture.timestamp, capture.path.name) == ("20230526000000", "late.warc")
    assert index.read(capture, max_size=17)[2] == b"<html>2023</html>"  # 17 bytes: fits
    with pytest.raises(IgnoreRequest, match="larger than DOWNLOAD_MAXSIZE"):
        index.read(capture, max_size=16)


def test_warc_paths_must_name_files(tmp_path: Path) -> None:
    (tmp_path / "a.warc").write_bytes(b"")
    assert warc_paths(f"{tmp_path}/a.warc, {tmp_path}/*.warc") == [tmp_path / "a.warc"]
    with pytest.raises(ValueError, match="matches no file"):
        warc_paths(f"{tmp_path}/*.warc.gz")
    with pytest.raises(ValueError, match="names no file"):
        warc_paths(" , ")


@pytest.mark.parametrize(
    ("args", "settings", "message"),
    [
        ({"as_of": "2018-13"}, {}, "as_of='2018-13' is not a real date; expected latest, YYYY, "
                                   "YYYY-MM or YYYY-MM-DD"),
        ({"as_of": "2018", "refresh": "7d"}, {},
         "refresh cannot be combined with a dated as_of: a run of the past fetches every "
         "title; drop -a refresh, or use -a as_of=latest"),
        ({"as_of": "latest"}, {"ARCHIVE_MAX_DISTANCE": "0d"},
         "ARCHIVE_MAX_DISTANCE='0d' must be above zero"),
        ({"as_of": "latest"}, {"ARCHIVE_CDX_DELAY": "-1"},
         "ARCHIVE_CDX_DELAY='-1' is out of range"),
        ({}, {"ARCHIVE_WARC": "x.warc"}, "ARCHIVE_WARC='x.warc' needs -a as_of=<date>"),
        ({"as_of": "2018"}, {"ARCHIVE_WARC": "/nonexistent/*.warc.gz"},
         "ARCHIVE_WARC: '/nonexistent/*.warc.gz' matches no file"),
        ({"as_of": "2018"}, {"ARCHIVE_MAX_DISTANCE": "0"},
         "ARCHIVE_MAX_DISTANCE='0' must be above zero"),
        ({"as_of": "2018"}, {"WAYBACK_BASE_URL": "https://web.archive.org/web"},
         "WAYBACK_BASE_URL='https://web.archive.org/web' has a path"),
        ({"as_of": "2018"}, {"RENDER": "auto"}, "RENDER=auto cannot be used with as_of"),
    ],
)
def test_bad_archive_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, args: dict[str, str], settings: dict[str, str], message: str
) -> None:
    out = tmp_path / "out"
    proc = run(crawl_command(UNUSED, out, seed="tt0050634", settings=settings,
                             extra_args=args))
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("scrapy crawl more_like_this: error: ")
    assert message in lines[0]
    assert not out.exists()


@pytest.mark.parametrize(("text", "accepted"), [
    ("2026-03-15", True), ("2026-03", True), ("2026", True),
    ("2026-03-16", False), ("2026-04", False), ("2027", False), ("9999", False),
])
def test_an_as_of_after_today_is_refused(text: str, accepted: bool) -> None:
    now = utc(2026, 3, 15, 23, 59)
    if accepted:
        assert parse_as_of(text, now) <= now
        return
    with pytest.raises(ValueError, match=r"in the future \(today is 2026-03-15, UTC\).*"
                                         r"as_of=latest"):
        parse_as_of(text, now)
