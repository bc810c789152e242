"""The WARC scanner of the index (crawler.sources.warc_scan): sound files read as warcio
reads them, each kind of damage named at its offset with the records after it still read,
the header limit exact, and a stop honoured."""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.sources.warc import WarcIndex
from crawler.sources.warc_scan import Damage, Entry, Stopped, scan
from mirror.archive import Capture
from tests.damaged_warcs import BODY, block, header_part, member, record, sound

LIMIT = 1024
SOUND = {
    "tt0000001": [Capture("20180101000000", body=b"<html>one</html>"),
                  Capture("20190101000000", status=404, body=b"gone")],
    "tt0000002": [Capture("20180301000000", status=301, location="tt0000001")],
}


def scanned(data: bytes, limit: int = LIMIT) -> list[Entry | Damage]:
    return list(scan(io.BytesIO(data), len(data), limit))


def kinds(found: list[Entry | Damage]) -> list[tuple[str, int, str]]:
    """(kind, offset, tconst URI or damage text) of each item."""
    return [("entry", f.offset, f.target_uri.rsplit("/", 2)[-2]) if isinstance(f, Entry)
            else ("damage", f.offset, f.what) for f in found]


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_sound_files_are_read_as_warcio_reads_them(gzipped: bool) -> None:
    data = sound(SOUND, gzip=gzipped)
    found = scanned(data)
    records = ArchiveIterator(io.BytesIO(data))
    expected = [(records.get_record_offset(), r.rec_headers.get_header("WARC-Target-URI"),
                 r.rec_headers.get_header("WARC-Date"),
                 int(r.http_headers.get_statuscode())) for r in records]
    assert [(e.offset, e.target_uri, e.date, e.status) for e in found
            if isinstance(e, Entry)] == expected
    assert [e.status for e in found if isinstance(e, Entry)] == [200, 404, 301]
    assert all(isinstance(e, Entry) and e.rec_type == "response" for e in found)


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_the_header_limit_is_exact(gzipped: bool) -> None:
    """A WARC header of exactly the limit (its blank line included) is read; a byte more
    is damage, and the record after it is still read."""
    payload = block()
    base = len(header_part("tt0000009", len(payload), junk=1)) - 1  # with an empty junk line
    at_limit = header_part("tt0000009", len(payload), junk=LIMIT - base) + payload + b"\r\n\r\n"
    over = header_part("tt0000009", len(payload), junk=LIMIT - base + 1) + payload + b"\r\n\r\n"
    assert at_limit.index(b"\r\n\r\n") + 4 == LIMIT
    wrap = member if gzipped else (lambda b: b)
    first, second, last = wrap(at_limit), wrap(over), wrap(record("tt0000003"))
    assert kinds(scanned(first + second + last)) == [
        ("entry", 0, "tt0000009"),
        ("damage", len(first), f"WARC header longer than {LIMIT} bytes "
                               "(ARCHIVE_WARC_MAX_HEADER)"),
        ("entry", len(first) + len(second), "tt0000003")]


def http_heavy(tconst: str) -> bytes:
    """A response record whose HTTP header is past the limit."""
    payload = (b"HTTP/1.1 200 OK\r\nSet-Cookie: " + b"c" * (2 * LIMIT) + b"\r\n\r\n" + BODY)
    return header_part(tconst, len(payload)) + payload + b"\r\n\r\n"


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_each_damage_is_named_at_its_offset_and_the_rest_is_read(gzipped: bool) -> None:
    parts: list[tuple[bytes, str | None]] = [
        (record("tt0000001"), None),
        (http_heavy("tt0000002"), f"HTTP header longer than {LIMIT} bytes"),
        (record("tt0000003"), None),
        (b"this is not a WARC record\r\n\r\n", "no WARC record here"),
        (record("tt0000004"), None),
        (record("tt0000005", cut=20), "cut short" if not gzipped else None),
        (record("tt0000006"), None),
    ]
    data, expected = b"", []
    for raw, damage in parts:
        piece = member(raw) if gzipped else raw
        if gzipped and raw.startswith(b"this is"):
            piece = raw  # not even a gzip member
            damage = "corrupt gzip member"
        tconst = raw.split(b"/title/")[1][:9].decode() if b"/title/" in raw else ""
        expected.append(("damage", len(data), damage) if damage
                        else ("entry", len(data), tconst))
        data += piece
    found = kinds(scanned(data))
    if gzipped:  # a member cut inside its block: its gzip stream is whole, the block short
        expected[5] = ("damage", expected[5][1], "cut short")
    assert [(k, o) for k, o, _ in found] == [(k, o) for k, o, _ in expected]
    for (_, _, got), (_, _, want) in zip(found, expected, strict=True):
        assert got.startswith(want) or got == want, (got, want)


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_a_truncated_file_keeps_what_comes_before_the_cut(gzipped: bool) -> None:
    sound_part = sound(SOUND, gzip=gzipped)
    last = member(record("tt0000007")) if gzipped else record("tt0000007")
    for cut in (1, len(last) // 2, len(last) - 5):
        found = kinds(scanned(sound_part + last[:cut]))
        assert [k for k, _, _ in found] == ["entry"] * 3 + ["damage"], (cut, found)
        assert found[-1][1] == len(sound_part)
        assert found[-1][2].startswith("cut short") or (
            gzipped and found[-1][2].startswith("corrupt gzip member")), found[-1]


def test_records_after_the_first_in_one_gzip_member_are_named() -> None:
    together = member(record("tt0000001") + record("tt0000002"))
    alone = member(record("tt0000003"))
    assert kinds(scanned(together + alone)) == [
        ("entry", 0, "tt0000001"),
        ("damage", 0, "more than one record in this gzip member: only the first is read "
                      "(the file is not gzipped per record)"),
        ("entry", len(together), "tt0000003")]


def test_a_stop_ends_the_scan() -> None:
    data = record("tt0000001") * 3
    stop = threading.Event()
    records = scan(io.BytesIO(data), len(data), LIMIT, stop)
    assert isinstance(next(records), Entry)
    stop.set()
    with pytest.raises(Stopped):
        next(records)


def test_the_index_names_each_damaged_record_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = tmp_path / "good.warc.gz"
    good.write_bytes(sound(SOUND, gzip=True))
    bad = tmp_path / "bad.warc"
    first = record("tt0000008")
    bad.write_bytes(first + http_heavy("tt0000009") + record("tt0000010")[:-30])
    seen: list[tuple[Path, int, str]] = []
    with caplog.at_level(logging.WARNING, logger="crawler.sources.warc"):
        index = WarcIndex.build([good, bad], LIMIT,
                                on_damage=lambda *d: seen.append(d))
    assert sorted(index.captures) == ["tt0000001", "tt0000002", "tt0000008"]
    offsets = [(bad, len(first)), (bad, len(first) + len(http_heavy("tt0000009")))]
    assert [(p, o) for p, o, _ in index.damaged] == offsets
    assert [(p, o) for p, o, _ in seen] == offsets
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    for (path, offset, what), line in zip(index.damaged, lines, strict=True):
        assert line == (f"ARCHIVE_WARC: damaged record in {path} at offset {offset}: {what}; "
                        "skipped, the rest of the file is read")
