"""Retries with exponential backoff that honour Retry-After, and block handling.

Replaces Scrapy's RetryMiddleware (which retries at once, ignoring
Retry-After).  A block (HTTP 202, or any answer carrying ``x-amzn-waf-action``:
see ``crawler.failures``) is never a page.  It is retried later with growing
delays, then handed to the spider, which records the title with the block's
reason.  When challenges dominate the
recent responses, the crawl stops itself rather than keep knocking.

The live site's refusal is told apart at once: while no title page has been read,
blocks are retried after a few seconds (CRAWL_BLOCK_FIRST_BACKOFF_BASE), and when the
crawl's first CRAWL_BLOCK_FIRST_ANSWERS answers from the site (title pages, or its
robots.txt) are all blocks, it stops with finish reason ``blocked`` and one plain
line saying what was seen and which sources work (stats ``blocks/refused``).  Once
a title answer that is not a block came, the windowed rule above is the only one.
A shared crawl (FRONTIER_URL) keeps the windowed rule only.

The wait happens here, per request, so other titles go on downloading
meanwhile; the waiting request still counts as in progress, so the spider's
level barrier (see ``crawler.frontier.local``) waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.utils.httpobj import urlparse_cached

from crawler import signals as our_signals
from crawler.failures import WAF_ACTION_HEADER, block_reason, is_transient
from crawler.headers import header_decode, header_text
from crawler.sources.archive import memento_time

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from crawler.download.politeness import SharedCrawl

logger = logging.getLogger(__name__)

# Meta keys Scrapy sets per download; a retried request must not carry them over.
_PER_DOWNLOAD_META = ("download_latency", "download_slot", "retry_times")


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    text = header_decode(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        from datetime import UTC, datetime

        return max(0.0, (parsedate_to_datetime(text) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class BackoffRetryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.max_retries = s.getint("CRAWL_RETRY_TIMES")
        self.retry_codes = {int(c) for c in s.getlist("CRAWL_RETRY_HTTP_CODES")}
        self.backoff_base = s.getfloat("CRAWL_BACKOFF_BASE")
        self.backoff_max = s.getfloat("CRAWL_BACKOFF_MAX")
        self.retry_after_max = s.getfloat("CRAWL_RETRY_AFTER_MAX")
        self.block_retries = s.getint("CRAWL_BLOCK_RETRY_TIMES")
        self.block_backoff_base = s.getfloat("CRAWL_BLOCK_BACKOFF_BASE")
        self.block_stop_ratio = s.getfloat("CRAWL_BLOCK_STOP_RATIO")
        self.recent: deque[bool] = deque(maxlen=s.getint("CRAWL_BLOCK_WINDOW"))
        self.stopping = False
        self._closing: asyncio.Future[None] | None = None
        self.shared: SharedCrawl | None = None
        if crawler.settings.get("FRONTIER_URL"):  # redis is imported only for a shared crawl
            from crawler.download.politeness import shared_crawl

            self.shared = shared_crawl(crawler)
        if self.shared is not None:
            self.shared.on_stop(self.stop)
        # The early rule (see the module): the site's host, and its first block answers.
        self.site = urlsplit(s.get("IMDB_BASE_URL") or "")
        self.first_answers = s.getint("CRAWL_BLOCK_FIRST_ANSWERS")
        self.first_backoff_base = s.getfloat("CRAWL_BLOCK_FIRST_BACKOFF_BASE")
        self.probing = self.first_answers > 0 and self.shared is None
        self.first_blocks: list[tuple[int, str]] = []  # (HTTP status, WAF action)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def _retry(self, request: Request, reason: str, delay: float) -> Request:
        attempts = request.meta.get("attempts", 1)
        self.stats.inc_value(f"retry/reason/{reason}")
        self.stats.inc_value("retry/count")
        logger.debug("retrying %s in %.1fs (%s, attempt %d)", request.url, delay, reason, attempts)
        if delay > 0:
            await asyncio.sleep(delay)
        meta = {k: v for k, v in request.meta.items() if k not in _PER_DOWNLOAD_META}
        meta["attempts"] = attempts + 1
        return request.replace(meta=meta, dont_filter=True)

    def _note_block(self, blocked: bool) -> None:
        self.recent.append(blocked)
        window = self.recent.maxlen or 0
        if self.stopping or len(self.recent) < window:
            return
        share = sum(self.recent) / len(self.recent)
        if share >= self.block_stop_ratio:
            self.stop(sum(self.recent), len(self.recent), "blocked")

    def _probe(self, request: Request, response: Response, block: str | None) -> None:
        """The early rule: the site's first answers, until a title answer is no block."""
        if urlparse_cached(request).netloc != self.site.netloc:
            self.probing = False  # an archive's answer: this crawl does not ask the site
            return
        if block is None:
            # robots.txt says nothing of blocks; a title answer that is no block does.
            self.probing = request.meta.get("tconst") is None
            return
        action = header_text(response.headers, WAF_ACTION_HEADER).strip().lower()
        self.first_blocks.append((response.status, action))
        if len(self.first_blocks) >= self.first_answers:
            self.probing = False
            self.stop(len(self.first_blocks), len(self.first_blocks), "blocked", first=True)

    def refused_line(self) -> str:
        """What the site's first answers were, and which sources work instead."""
        n = len(self.first_blocks)
        status, action = self.first_blocks[-1]
        shown = f"HTTP {status}, x-amzn-waf-action: {action}" if action else f"HTTP {status}"
        kind = {"captcha": "captcha", "block": "block"}.get(action, "challenge")
        return (f"{self.site.hostname} answered {n} of {n} requests with its WAF {kind} "
                f"({shown}); this crawler does not solve challenges. Read IMDb's pages from "
                "the Internet Archive (-a as_of=latest or a date) or from your own WARC files "
                "(-s ARCHIVE_WARC=...).")

    def stop(self, blocks: int | None, seen: int, reason: str, *, first: bool = False) -> None:
        """Stop the crawl: ``blocks`` of the last ``seen`` answers were blocks (``first``:
        the crawl's first answers, before any page), or (None) another worker of the
        shared crawl stopped it with ``reason``."""
        if self.stopping:
            return
        self.stopping = True
        if blocks is None:
            logger.error("stopping: another worker of the shared crawl stopped it (%s)", reason)
        elif first:
            logger.error("stopping: the first %d answers of %s were AWS WAF blocks, before "
                         "any title page", blocks, self.site.hostname)
            line = self.refused_line()
            self.stats.set_value("blocks/refused", line)
            self.stats.set_value("run/error", line)
        else:
            logger.error(
                "stopping: %d of the last %d responses were AWS WAF challenges or blocks "
                "(or an archive's 429s); the site is refusing this client. Try again later, "
                "more slowly (DOWNLOAD_DELAY), or from JOBDIR to resume.",
                blocks, seen,
            )
        self.stats.set_value("blocks/stopped", True)
        engine = self.crawler.engine
        if engine is not None:
            self._closing = asyncio.ensure_future(engine.close_spider_async(reason=reason))

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry"):
            return response
        if memento_time(response.headers) is not None:
            return response  # a capture replayed by an archive: a record, not an answer
        attempts = request.meta.get("attempts", 1)
        block = block_reason(response.status, response.headers)
        tconst = request.meta.get("tconst")
        # Title pages only: robots.txt says nothing of blocks.  The Wayback Machine blocks
        # a client that goes on past its 429s: they count as refusals too, so a throttled
        # archive crawl stops instead of pressing on.  A shared crawl counts every worker's
        # answers (crawler.download.politeness), and counts locally when Redis fails.
        refused = block is not None or (
            bool(request.meta.get("archive")) and response.status == 429)
        if tconst is not None and (
                self.shared is None or not await self.shared.note_block(refused)):
            self._note_block(refused)
        if self.probing:
            self._probe(request, response, block)
        if block is not None:
            self.stats.inc_value("blocks/challenges")
            self.stats.inc_value(f"blocks/{block}")
            if tconst is not None:
                self.crawler.signals.send_catch_log(
                    signal=our_signals.title_blocked, tconst=tconst, reason=block)
            if attempts <= self.block_retries and not self.stopping:
                # Before any page, a few seconds apart: the early rule decides quickly.
                base = self.first_backoff_base if self.probing else self.block_backoff_base
                delay = min(base * 2 ** (attempts - 1), base * 8)
                return await self._retry(request, block, delay)
            return response
        if response.status in self.retry_codes:
            reason = f"http_{response.status}"
            if attempts > self.max_retries or self.stopping:
                return response
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                logger.warning("%s asks to wait %.0fs, longer than CRAWL_RETRY_AFTER_MAX; "
                               "giving the title up", request.url, wait)
                return response
            delay = wait if wait is not None else self._backoff(attempts)
            return await self._retry(request, reason, delay)
        return response

    def _backoff(self, attempts: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (attempts - 1))

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry") or not is_transient(exception):
            return None
        attempts = request.meta.get("attempts", 1)
        if attempts > self.max_retries or self.stopping:
            return None  # the spider's errback records the failure
        reason = type(exception).__name__
        return await self._retry(request, reason, self._backoff(attempts))
