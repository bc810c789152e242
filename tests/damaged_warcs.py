"""Damaged WARC records for tests and bench/warc_damage.py, written byte by byte (warcio
writes only sound records).  Page content comes from the mirror's captures at test time."""

from __future__ import annotations

import gzip
import struct
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from mirror.archive import Capture
from tests.warcs import write_warc

DATE = "2018-08-20T00:00:00Z"
BODY = b"<html><head><title>damaged</title></head><body>a damaged capture</body></html>"


def sound(captures: Mapping[str, Sequence[Capture]], *, gzip: bool) -> bytes:
    """The bytes of sound records (one per capture), as warcio writes them."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_warc(Path(tmp) / "sound.warc", captures, gzip=gzip).read_bytes()


def header_part(tconst: str, length: int, junk: int = 0) -> bytes:
    """A response record's WARC header, with an ``X-Junk`` line of ``junk`` bytes."""
    lines = [b"WARC/1.0", b"WARC-Type: response",
             f"WARC-Target-URI: https://www.imdb.com/title/{tconst}/".encode(),
             f"WARC-Date: {DATE}".encode(), b"Content-Type: application/http; msgtype=response"]
    if junk:
        lines.append(b"X-Junk: " + b"a" * junk)
    lines.append(f"Content-Length: {length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def block(body: bytes = BODY) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


def record(tconst: str, *, junk: int = 0, cut: int = 0) -> bytes:
    """A whole response record; ``cut`` bytes of its block missing (its Content-Length
    still says the whole)."""
    payload = block()
    return header_part(tconst, len(payload), junk) + payload[:len(payload) - cut] + (
        b"" if cut else b"\r\n\r\n")


def member(data: bytes) -> bytes:
    """One gzip member, as a .warc.gz holds each record."""
    return gzip.compress(data, compresslevel=1, mtime=0)


def huge_member(tconst: str, inflated: int, *, trailer: bool = True) -> bytes:
    """A gzip member of a record whose header has an ``X-Junk`` line of ``inflated`` bytes,
    written in O(compressed size): the deflate stream of a megabyte of ``a`` after a full
    flush is the same each time, so it is repeated.  ``trailer=False`` leaves the CRC out
    (zeros: computing it costs a pass over the whole) for a member never read to its end."""
    unit, count = b"a" * (1 << 20), max(1, inflated >> 20)
    payload = block()
    start = header_part(tconst, len(payload))
    at = start.index(b"Content-Length")
    prefix, suffix = start[:at] + b"X-Junk: ", b"\r\n" + start[at:] + payload + b"\r\n\r\n"
    # A full flush ends a block on a byte with no reference across it: the megabyte's
    # stream may follow itself any number of times.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    repeated = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    tail = c.compress(suffix) + c.flush()
    crc = 0
    if trailer:
        crc = zlib.crc32(prefix)
        for _ in range(count):
            crc = zlib.crc32(unit, crc)
        crc = zlib.crc32(suffix, crc)
    size = (len(prefix) + len(unit) * count + len(suffix)) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + repeated * count + tail
            + struct.pack("<II", crc, size))
