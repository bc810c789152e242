"""The CDX API's own limit: its queries (``as_of=latest``) at most one per ARCHIVE_CDX_DELAY.

The Wayback Machine limits its CDX API per IP (24 queries a minute since 2026-06; the
replays have no published limit).  A CDX query is an ordinary request to the archive's
host: robots.txt, DOWNLOAD_DELAY, AutoThrottle, Retry-After and the block window apply
to it as to a replay.  On top of that this middleware hands CDX queries to the
downloader at least ARCHIVE_CDX_DELAY apart; replays go on meanwhile.  In a shared crawl
``crawler.download.politeness`` also gives every CDX query a turn at least ARCHIVE_CDX_DELAY
after the host's previous one, across the workers.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler

MIDDLEWARE = "crawler.download.cdx_pacing.CdxPacingMiddleware"


class CdxPacingMiddleware:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._next = 0.0  # time.monotonic() of the next query's earliest hand-over

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getfloat("ARCHIVE_CDX_DELAY"))

    async def process_request(self, request: Request) -> None:
        if not request.meta.get("cdx") or self.delay <= 0:
            return None
        now = time.monotonic()
        at = max(now, self._next)
        self._next = at + self.delay  # reserved before the wait: queries keep their order
        if at > now:
            await asyncio.sleep(at - now)
        return None
