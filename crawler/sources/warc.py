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

The index keeps, per title page and per full credits page (``/title/<tconst>/fullcredits``,
a URL of its own), (timestamp, file, offset) of each capture; a record is
read again from its file when it is replayed, and a body past DOWNLOAD_MAXSIZE fails
the title as ``too_large``, as over HTTP.  Revisit records (deduplicated
captures) are not resolved; they are left out of the index.

The index is built in a thread by ``crawler.sources.warc_scan`` (bounded headers,
linear, stoppable): a damaged record is named in one log line, counted in the stat
``warc/damaged_records`` (``crawl_runs.warc_damaged_records``) and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.headers import Headers
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from crawler.failures import CrawlStopped
from crawler.ids import is_imdb_host, page_of_path
from crawler.sources.archive import (
    DEFAULT_BASE_URL,
    memento_header,
    parse_replay,
    timestamp14,
    timestamp_time,
    warc_paths,
)
from crawler.sources.cdx import FIELDS, cdx_page
from crawler.sources.warc_scan import MAX_HEADER, Damage, Entry, Stopped, scan

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MIDDLEWARE = "crawler.sources.warc.WarcArchiveMiddleware"
# How often a request waiting for the index looks whether the crawl is closing (seconds).
_WAIT_STEP = 0.05
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


def page_key(tconst: str, page: str | None = None) -> str:
    """The index's key of a title page (its tconst) or of its full credits page."""
    return f"{tconst}/{page}" if page is not None else tconst


def _title_of(uri: str) -> str | None:
    """The index key of an IMDb title page URL (``/title/ttN`` or ``/title/ttN/``) or of
    its full credits page (``/title/ttN/fullcredits``, with or without a slash), else None."""
    parts = urlsplit(uri)
    if not is_imdb_host(parts.hostname) or parts.query:
        return None
    found = page_of_path(parts.path)
    return page_key(*found) if found is not None else None


def _warc_timestamp(value: str) -> str | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return timestamp14(moment)


def _add(captures: dict[str, list[Capture]], path: Path, entry: Entry) -> None:
    """A response record of an IMDb title page (or full credits page), indexed by its key;
    others are left out."""
    if entry.rec_type != "response":
        return
    tconst = _title_of(entry.target_uri)
    stamp = _warc_timestamp(entry.date)
    if tconst is not None and stamp is not None:
        captures.setdefault(tconst, []).append(Capture(stamp, path, entry.offset, entry.status))


def _log_damage(path: Path, offset: int, what: str,
                on_damage: Callable[[Path, int, str], None] | None) -> None:
    logger.warning("ARCHIVE_WARC: damaged record in %s at offset %d: %s; skipped, the rest "
                   "of the file is read", path, offset, what)
    if on_damage is not None:
        on_damage(path, offset, what)


class WarcIndex:
    """Captures of IMDb title pages in WARC files, per tconst (full credits pages: per
    ``page_key``), in time order."""

    def __init__(self, captures: dict[str, list[Capture]],
                 damaged: list[tuple[Path, int, str]] | None = None) -> None:
        self.captures = captures
        self.damaged = damaged or []  # (file, offset, what) of each record skipped

    @classmethod
    def build(cls, paths: list[Path], max_header: int = MAX_HEADER,
              stop: threading.Event | None = None,
              on_damage: Callable[[Path, int, str], None] | None = None) -> WarcIndex:
        """The index of the files' response records.  A damaged record is named in one
        log line and skipped (see ``crawler.sources.warc_scan``); Stopped once ``stop``
        is set."""
        captures: dict[str, list[Capture]] = {}
        damaged: list[tuple[Path, int, str]] = []
        for path in paths:
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    for found in scan(f, size, max_header, stop):
                        if isinstance(found, Damage):
                            damaged.append((path, found.offset, found.what))
                            _log_damage(path, found.offset, found.what, on_damage)
                        else:
                            _add(captures, path, found)
            except OSError as exc:  # unreadable: named and counted like a damaged record
                damaged.append((path, 0, f"cannot be read: {exc.strerror or exc}"))
                _log_damage(path, 0, damaged[-1][2], on_damage)
        for listed in captures.values():
            listed.sort()
        return cls(captures, damaged)

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
    """Answers every request from the WARC index (see the module doc).

    The index is built in a thread of its own, so the reactor runs meanwhile: requests
    wait for it, and a crawl that closes (SIGTERM, Ctrl-C) stops it between two records
    or within a megabyte; the waiting requests are then never sent (CrawlStopped)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.base_url = str(settings.get("WAYBACK_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        self.max_header = max(1024, settings.getint("ARCHIVE_WARC_MAX_HEADER", MAX_HEADER))
        self.paths = warc_paths(settings.get("ARCHIVE_WARC"))
        self.index: WarcIndex | None = None
        self._error: BaseException | None = None  # a bug in the indexing thread
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._waiting = False  # a request waits for the index (said once in the log)
        self.stats.set_value("warc/damaged_records", 0)
        crawler.signals.connect(self._stop.set, signal=signals.spider_closed)
        logger.info("ARCHIVE_WARC: indexing %d file(s)", len(self.paths))
        threading.Thread(target=self._build, name="warc-index", daemon=True).start()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        return cls(crawler)

    def _build(self) -> None:
        started = time.monotonic()
        try:
            index = WarcIndex.build(self.paths, self.max_header, self._stop, self._damaged)
        except Stopped:
            logger.info("ARCHIVE_WARC: indexing stopped after %.1f s: the crawl is closing",
                        time.monotonic() - started)
        except BaseException as exc:  # a bug: the waiting requests fail with it
            self._error = exc
        else:
            logger.info("ARCHIVE_WARC: %d captures of %d titles in %d file(s), %d damaged "
                        "record(s) skipped; indexed in %.1f s",
                        sum(len(c) for c in index.captures.values()), len(index.captures),
                        len(self.paths), len(index.damaged), time.monotonic() - started)
            self.index = index
        finally:
            self._ready.set()

    def _damaged(self, path: Path, offset: int, what: str) -> None:
        self.stats.inc_value("warc/damaged_records")

    def _closing(self) -> bool:
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        return engine is None or not engine.running or (
            slot is not None and slot.closing is not None)

    async def _ready_index(self) -> WarcIndex:
        """The index, once built; CrawlStopped when the crawl closes first."""
        if not self._ready.is_set() and not self._waiting:
            self._waiting = True
            logger.info("ARCHIVE_WARC: the crawl waits for the index")
        while not self._ready.is_set():
            if self._closing():
                self._stop.set()
            await asyncio.sleep(_WAIT_STEP)
        if self._error is not None:
            raise self._error
        if self.index is None:
            raise CrawlStopped("the crawl stopped while the WARC files were indexed")
        return self.index

    async def process_request(self, request: Request) -> Response:
        self.stats.inc_value("warc/requests")
        index = self.index if self.index is not None else await self._ready_index()
        listed = cdx_page(request.url)
        if listed is not None:
            return self._response(request, 200, [("Content-Type", "application/json")],
                                  index.listing(page_key(*listed)))
        replay = parse_replay(request.url)
        if replay is None or replay.tconst is None:
            return self._response(request, 404, [], b"not in the WARC files")
        capture = index.nearest(page_key(replay.tconst, replay.page), replay.timestamp)
        if capture is None:
            return self._response(request, 404, [], b"not archived")
        if capture.timestamp != replay.timestamp:  # the archive's redirect to the nearest
            location = f"{self.base_url}/web/{capture.timestamp}id_/{replay.original}"
            return self._response(request, 302, [("Location", location)], b"")
        status, headers, body = index.read(capture, self.max_size)
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
