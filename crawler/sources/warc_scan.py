"""The headers of a WARC file's records, read for the index: bounded, linear, stoppable.

warcio reads a header line by appending 16 KB blocks to it (``bytes +=``): a line of n
bytes costs O(n^2), and a header has no size limit.  Here a record's WARC header, and
the HTTP header of a response record, are read from at most ``max_header`` bytes each;
the body is skipped (a seek, or inflated and dropped in a ``.warc.gz``).  A record that
cannot be read (a header past the limit, a record cut short, bytes that are no WARC
record, a corrupt gzip member) is a ``Damage``; the scan goes on at the next record it
can find.  ``stop`` is looked at between records and every megabyte.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import threading

MAX_HEADER = 65536
_CHUNK = 1 << 20
_FIRST_READ = 8192
_GZIP_MAGIC = b"\x1f\x8b\x08"
# Where a record may start after damage (not only after a newline: a record cut short
# runs into the next one).
_RECORD_START = (b"WARC/1.",)
_BLANK_LINES = (b"\n\r\n", b"\n\n")
# Bytes after a record in its own gzip member: its closing CRLF CRLF, give or take.
_MEMBER_SLACK = 16


class Stopped(Exception):
    """The scan was asked to stop (the crawl is closing)."""


@dataclass(frozen=True)
class Entry:
    """A record that can be read again from ``offset`` (its gzip member's, if gzipped)."""

    offset: int
    rec_type: str
    target_uri: str
    date: str
    status: int | None  # of a response record's HTTP header


@dataclass(frozen=True)
class Damage:
    offset: int
    what: str


class _Bad(Exception):
    """A record that cannot be read (why in its text)."""


class _TooLong(_Bad):
    """A header past the limit."""


class _Truncated(_Bad):
    """The file ends inside the headers: nothing after can be read."""


class _Short(_Bad):
    """More bytes are needed to read the record's headers."""

    def __init__(self) -> None:
        super().__init__("unreadable headers")


@dataclass(frozen=True)
class _Head:
    rec_type: str
    target_uri: str
    date: str
    length: int  # Content-Length: the block's
    block_start: int  # from the record's start
    status: int | None


def _header_end(data: bytes, limit: int, complete: bool, what: str) -> int:
    """Where the header in ``data`` ends (after its blank line), within ``limit`` bytes."""
    window = data[:limit]
    ends = [i + n for i, n in ((window.find(b"\n\r\n"), 3), (window.find(b"\n\n"), 2))
            if i >= 0]
    if ends:
        return min(ends)
    if len(data) >= limit:
        raise _TooLong(f"{what} longer than {limit} bytes (ARCHIVE_WARC_MAX_HEADER)")
    if complete:
        raise _Truncated(f"cut short in its {what}")
    raise _Short


def _fields(lines: list[bytes]) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = ""
    for raw in lines:
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        if line[:1] in (" ", "\t") and name:  # a folded line continues the last value
            fields[name] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            fields[name] = value.strip()
    return fields


def parse_head(data: bytes, max_header: int, complete: bool) -> _Head:
    """A record's headers from its first bytes; ``complete``: ``data`` is all there is.
    _Bad when the record cannot be read, _Short when more bytes would tell."""
    if not data.startswith(b"WARC/"):
        if len(data) < 5 and b"WARC/".startswith(data):
            if complete:
                raise _Truncated("cut short in its WARC header")
            raise _Short
        raise _Bad("no WARC record here (expected a WARC/1.x line)")
    end = _header_end(data, max_header, complete, "WARC header")
    lines = data[:end].split(b"\n")
    fields = _fields(lines[1:])
    length = fields.get("content-length", "")
    if not length.isdigit():
        raise _Bad(f"no valid Content-Length ({length[:40]!r})")
    rec_type, size = fields.get("warc-type", ""), int(length)
    status = None
    block = data[end:end + min(size, max_header)]
    if rec_type == "response" and data[end:end + 5] == b"HTTP/":
        bounded = min(size, max_header)
        _header_end(block, bounded, complete or len(block) >= bounded, "HTTP header")
        parts = block.split(b"\n", 1)[0].split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    elif rec_type == "response" and len(block) < min(size, 5) and not complete:
        raise _Short
    return _Head(rec_type, fields.get("warc-target-uri", ""), fields.get("warc-date", ""),
                 size, end, status)


def scan(f: BinaryIO, size: int, max_header: int = MAX_HEADER,
         stop: threading.Event | None = None) -> Iterator[Entry | Damage]:
    """Every record of a WARC file (``size`` bytes), gzipped per record or not."""
    f.seek(0)
    gzipped = f.read(2) == _GZIP_MAGIC[:2]
    if gzipped:
        yield from _scan_gzip(f, size, max_header, stop)
    else:
        yield from _scan_plain(f, size, max_header, stop)


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped


def _entry(offset: int, head: _Head) -> Entry:
    return Entry(offset, head.rec_type, head.target_uri, head.date, head.status)


# --- uncompressed files -------------------------------------------------------------------


def _scan_plain(f: BinaryIO, size: int, max_header: int,
                stop: threading.Event | None) -> Iterator[Entry | Damage]:
    pos = _skip_blank(f, 0, size, stop)
    while pos < size:
        _check(stop)
        try:
            head = _read_head(f, pos, size, max_header)
        except _Bad as bad:
            yield Damage(pos, str(bad))
            if isinstance(bad, _Truncated):
                return
            start = pos + 1
            if isinstance(bad, _TooLong):  # a record within the limit ends its header at
                blank = _find(f, pos, size, _BLANK_LINES, stop)  # a blank line, so starts
                start = max(start, blank - max_header)  # at most the limit before one
            pos = _find(f, start, size, _RECORD_START, stop)
            continue
        end = pos + head.block_start + head.length
        if end > size:
            yield Damage(pos, f"cut short: Content-Length {head.length}, but the file ends "
                              f"{size - pos - head.block_start} bytes into the block")
            return
        if not _record_ends(f, end, size):  # cut short, and the next record follows early
            yield Damage(pos, f"cut short: no record end after its Content-Length "
                              f"({head.length}), at offset {end}")
            pos = _find(f, pos + head.block_start, size, _RECORD_START, stop)
            continue
        yield _entry(pos, head)
        pos = _skip_blank(f, end, size, stop)


def _read_head(f: BinaryIO, pos: int, size: int, max_header: int) -> _Head:
    """The headers of the record at ``pos``, reading no more than the headers need."""
    want, cap = _FIRST_READ, 2 * max_header + 8
    while True:
        f.seek(pos)
        data = f.read(min(want, cap))
        try:
            return parse_head(data, max_header, complete=pos + len(data) >= size)
        except _Short:
            if want >= cap:  # cannot happen: cap bytes always tell
                raise
            want *= 4


def _record_ends(f: BinaryIO, end: int, size: int) -> bool:
    """A block ends in CRLF CRLF (LF LF tolerated), or at the end of the file."""
    f.seek(end)
    after = f.read(4)
    return after in (b"\r\n\r\n", b"") or after[:2] == b"\n\n" or (
        end + len(after) >= size and not after.strip(b"\r\n"))


def _skip_blank(f: BinaryIO, pos: int, size: int, stop: threading.Event | None) -> int:
    """The first byte at or after ``pos`` that is no CR or LF (between records)."""
    while pos < size:
        f.seek(pos)
        chunk = f.read(_FIRST_READ)
        rest = chunk.lstrip(b"\r\n")
        pos += len(chunk) - len(rest)
        if rest:
            return pos
        _check(stop)
    return size


def _find(f: BinaryIO, pos: int, size: int, patterns: tuple[bytes, ...],
          stop: threading.Event | None) -> int:
    """The offset of the first of ``patterns`` at or after ``pos``, else ``size``."""
    start, overlap = pos, max(len(p) for p in patterns)
    while start < size:
        _check(stop)
        f.seek(start)
        chunk = f.read(_CHUNK + overlap)
        found = [at for at in (chunk.find(p) for p in patterns) if at >= 0]
        if found:
            return start + min(found)
        if len(chunk) <= overlap:
            break
        start += len(chunk) - overlap + 1
    return size


# --- .warc.gz: one gzip member per record -------------------------------------------------


@dataclass
class _Member:
    head: bytes  # its first bytes, inflated
    total: int  # its inflated size
    end: int | None  # where the next member starts; None: the file ends inside it
    error: str | None = None  # a corrupt member
    rest: bytes = b""  # bytes read past the member's end: the next one's first


def _scan_gzip(f: BinaryIO, size: int, max_header: int,
               stop: threading.Event | None) -> Iterator[Entry | Damage]:
    pos, lost = 0, False  # lost: after damage, trying each gzip magic number that follows
    rest = b""  # read ahead from pos
    while pos < size:
        _check(stop)
        member = _inflate(f, pos, rest, 2 * max_header + 8, stop)
        rest = member.rest
        if member.error is not None or member.end is None:
            if not lost:  # a false start, when lost, is no record: not counted
                yield Damage(pos, f"corrupt gzip member ({member.error})" if member.error
                             else "cut short: the file ends inside this record's gzip member")
            pos, lost = _find(f, pos + 1, size, (_GZIP_MAGIC,), stop), True
            continue
        lost = False
        try:
            head = parse_head(member.head, max_header, complete=member.total <= len(member.head))
        except _Bad as bad:
            yield Damage(pos, str(bad))
            pos = member.end
            continue
        extra = member.total - head.block_start - head.length
        if extra < 0:
            yield Damage(pos, f"cut short: Content-Length {head.length}, the member holds "
                              f"{member.total - head.block_start} bytes of the block")
        else:
            yield _entry(pos, head)
            if extra > _MEMBER_SLACK:
                yield Damage(pos, "more than one record in this gzip member: only the first "
                                  "is read (the file is not gzipped per record)")
        pos = member.end


def _inflate(f: BinaryIO, pos: int, ahead: bytes, keep: int,
             stop: threading.Event | None) -> _Member:
    """The gzip member at ``pos`` (``ahead``: its first bytes, already read): its first
    ``keep`` bytes and size inflated, and its end."""
    f.seek(pos + len(ahead))
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip framing only
    head, total, data, at_end = bytearray(), 0, ahead, False
    while True:
        if not data and not at_end:
            data = f.read(_CHUNK)
            at_end = not data
        try:
            out = inflater.decompress(data, _CHUNK)  # bounded: a bomb is read in steps
        except zlib.error as exc:
            return _Member(bytes(head), total, pos, str(exc))
        total += len(out)
        if len(head) < keep:
            head += out[:keep - len(head)]
        if inflater.eof:
            # unused_data: the input after the member (unconsumed_tail may be stale then)
            rest = inflater.unused_data
            return _Member(bytes(head), total, f.tell() - len(rest), rest=rest)
        data = inflater.unconsumed_tail
        if at_end and not data and not out:  # nothing more will come: cut short
            return _Member(bytes(head), total, None)
        _check(stop)
