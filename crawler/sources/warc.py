"""``-s ARCHIVE_WARC=<paths or globs>``: the archive's answers from local WARC files.

A downloader middleware, first in the chain, answers every request of an ``as_of``
crawl from an index of the files' response records, the way the Wayback Machine
answers its raw replay URLs (see ``crawler.sources.archive``): a timestamp that is not a
capture's own is redirected (302) to the nearest capture of the title; a capture
is replayed with its recorded status, headers and body, and a ``Memento-Datetime``;
a recorded redirect points at the replay URL of its target; a title without any
capture is a 404.  With ``as_of=latest`` the CDX query of a title is answered from the
index too (its captures and their recorded status, as the archive's CDX API lists
them).  So the spider's code path is the same as over HTTP, and nothing at all goes
to the network (robots.txt neither: the files are no host).

The index keeps, per title, (timestamp, file, offset) of each capture; a record is
read again from its file when it is replayed, and a body past DOWNLOAD_MAXSIZE fails
the title as ``too_large``, as over HTTP.  Revisit records (deduplicated
captures) are not resolved; they are left out of the index.
"""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from crawler.ids import TCONST_PATTERN
from crawler.sources.archive import (
    DEFAULT_BASE_URL,
    memento_header,
    parse_replay,
    timestamp14,
    timestamp_time,
    warc_paths,
)
from crawler.sources.cdx import FIELDS, cdx_tconst

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MIDDLEWARE = "crawler.sources.warc.WarcArchiveMiddleware"
_TITLE_PATH_RE = re.compile(rf"/title/({TCONST_PATTERN})/?")
# Hop-by-hop and encoding headers: the body is replayed decoded, whole.
_DROPPED_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length",
                    b"connection", b"keep-alive"}


def configure(settings: BaseSettings) -> None:
    """Install the middleware ahead of every other (robots.txt included)."""
    middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
    middlewares[MIDDLEWARE] = 50
    settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")


@dataclass(frozen=True, order=True)
class Capture:
    timestamp: str  # 14 digits, from WARC-Date
    path: Path
    offset: int
    status: int | None = None  # the recorded HTTP status


def _title_of(uri: str) -> str | None:
    """The tconst of an IMDb title page URL (``/title/ttN`` or ``/title/ttN/``), else None."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if not (host == "imdb.com" or host.endswith(".imdb.com")) or parts.query:
        return None
    m = _TITLE_PATH_RE.fullmatch(parts.path)
    return m.group(1) if m else None


def _warc_timestamp(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timestamp14(moment)


class WarcIndex:
    """Captures of IMDb title pages in WARC files, per tconst, in time order."""

    def __init__(self, captures: dict[str, list[Capture]]) -> None:
        self.captures = captures

    @classmethod
    def build(cls, paths: list[Path]) -> WarcIndex:
        captures: dict[str, list[Capture]] = {}
        for path in paths:
            with open(path, "rb") as f:
                records = ArchiveIterator(f)
                for record in records:
                    if record.rec_type != "response":
                        continue
                    tconst = _title_of(record.rec_headers.get_header("WARC-Target-URI") or "")
                    stamp = _warc_timestamp(record.rec_headers.get_header("WARC-Date") or "")
                    if tconst is None or stamp is None:
                        continue
                    code = record.http_headers.get_statuscode() if record.http_headers else None
                    captures.setdefault(tconst, []).append(Capture(
                        stamp, path, records.get_record_offset(),
                        int(code) if code and code.isdigit() else None))
        for found in captures.values():
            found.sort()
        return cls(captures)

    def listing(self, tconst: str) -> bytes:
        """A title's captures as the archive's CDX API lists them (``output=json`` with
        ``fl=timestamp,statuscode,mimetype``): a row of field names, then one per capture."""
        rows: list[list[str]] = [list(FIELDS)]
        for c in self.captures.get(tconst, []):
            rows.append([c.timestamp, "-" if c.status is None else str(c.status), "text/html"])
        return json.dumps(rows if len(rows) > 1 else []).encode()

    def nearest(self, tconst: str, timestamp: str) -> Capture | None:
        """The capture nearest ``timestamp`` (the earlier one on a tie), None when none."""
        found = self.captures.get(tconst)
        if not found:
            return None
        target = timestamp_time(timestamp)
        at = bisect_left([c.timestamp for c in found], timestamp14(target))
        near = found[max(0, at - 1): at + 1]
        return min(near, key=lambda c: (abs(timestamp_time(c.timestamp) - target), c.timestamp))

    @staticmethod
    def read(capture: Capture, max_size: int = 0) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, decoded body) of a capture's response record; with
        ``max_size``, IgnoreRequest (reason too_large) for a body that inflates past it."""
        with open(capture.path, "rb") as f:
            f.seek(capture.offset)
            record = next(iter(ArchiveIterator(f)))
            status = int(record.http_headers.get_statuscode() or 200)
            headers = list(record.http_headers.headers)
            stream = record.content_stream()
            body = stream.read(max_size + 1) if max_size > 0 else stream.read()
        if max_size > 0 and len(body) > max_size:
            # As over HTTP: the body is not kept, the title fails as too_large.
            raise IgnoreRequest(f"the capture's body is larger than DOWNLOAD_MAXSIZE "
                                f"({max_size} bytes): {capture.path}")
        return status, headers, body


class WarcArchiveMiddleware:
    """Answers every request from the WARC index (see the module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.stats = crawler.stats
        self.base_url = str(settings.get("WAYBACK_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        paths = warc_paths(settings.get("ARCHIVE_WARC"))
        self.index = WarcIndex.build(paths)
        logger.info("ARCHIVE_WARC: %d captures of %d titles in %d file(s)",
                    sum(len(c) for c in self.index.captures.values()),
                    len(self.index.captures), len(paths))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> Response:
        self.stats.inc_value("warc/requests")
        listed = cdx_tconst(request.url)
        if listed is not None:
            return self._response(request, 200, [("Content-Type", "application/json")],
                                  self.index.listing(listed))
        replay = parse_replay(request.url)
        if replay is None or replay.tconst is None:
            return self._response(request, 404, [], b"not in the WARC files")
        capture = self.index.nearest(replay.tconst, replay.timestamp)
        if capture is None:
            return self._response(request, 404, [], b"not archived")
        if capture.timestamp != replay.timestamp:  # the archive's redirect to the nearest
            location = f"{self.base_url}/web/{capture.timestamp}id_/{replay.original}"
            return self._response(request, 302, [("Location", location)], b"")
        status, headers, body = self.index.read(capture, self.max_size)
        replayed: list[tuple[str, str]] = []
        for name, value in headers:
            if name.lower().encode("latin-1") in _DROPPED_HEADERS:
                continue
            if name.lower() == "location":  # a recorded redirect, into the archive
                target = urljoin(replay.original, value)
                value = f"{self.base_url}/web/{capture.timestamp}id_/{target}"
            replayed.append((name, value))
        moment = timestamp_time(capture.timestamp)
        replayed.append(("Memento-Datetime", memento_header(moment)))
        self.stats.inc_value("warc/captures_replayed")
        return self._response(request, status, replayed, body)

    @staticmethod
    def _response(request: Request, status: int, headers: list[tuple[str, str]],
                  body: bytes) -> Response:
        values: dict[str, Any] = {}
        for name, value in headers:
            values.setdefault(name, []).append(value)
        replayed = Headers(values)
        cls = responsetypes.from_args(headers=replayed, url=request.url, body=body)
        return cls(url=request.url, status=status, headers=replayed, body=body, request=request)
