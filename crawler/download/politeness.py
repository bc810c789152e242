"""One politeness budget for a crawl shared by several workers through Redis (FRONTIER_URL).

Each worker alone would keep DOWNLOAD_DELAY and CONCURRENT_REQUESTS_PER_DOMAIN; N workers
would then send N times the rate.  With FRONTIER_URL set, every request to a host first:

1. holds one of CONCURRENT_REQUESTS_PER_DOMAIN shared slots of the host, a sorted set
   ``mlt:polite:slots:<host>`` of holders scored by lease expiry (Redis TIME), so the slots
   of a killed worker come back when their lease runs out.  Released on response or error;
2. takes a turn from ``mlt:polite:turn:<host>`` (one Lua script on Redis TIME): turns are
   at least the effective delay apart across all workers, and the request waits for its turn.

The effective delay of a request is the largest of this worker's DOWNLOAD_DELAY, the delay
AutoThrottle settled on for the host in this worker, and the largest DOWNLOAD_DELAY any
worker asked for on the host (the ``floor`` field), so a worker set faster never undercuts
the others.  Scrapy's jitter is applied upwards only (a turn is 1 to 1.5 delays after the
last), so the shared rate is on average no higher than one worker's alone.  The turns
replace Scrapy's own per-worker delay, which would otherwise add its wait after the turn
and push the send past the next worker's turn.

The block stop rule of ``crawler.download.retry`` becomes shared too (``SharedCrawl.note_block``):
every worker's title answers go to one list trimmed to CRAWL_BLOCK_WINDOW, the worker whose
answer trips the rule sets ``mlt:meta`` field ``stop_reason``, and every worker stops when it
sees that field (on each title answer, before each request, and once a second).

If Redis fails mid-crawl, requests wait for it (one log line), never go out unchecked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import secrets
import socket
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler import defaults
from crawler.failures import CrawlStopped
from crawler.lua import lua_script
from crawler.masking import shown_url

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

PREFIX = "mlt:"


def slots_key(host: str) -> str:
    return f"{PREFIX}polite:slots:{host}"


def turn_key(host: str) -> str:
    return f"{PREFIX}polite:turn:{host}"


def free_slots_of(client: Any, worker: str) -> int:
    """Give back every slot a dead worker holds (``client``: a blocking Redis client).
    The frontier's reaper calls it, so a killed worker's slots come back with its titles
    rather than when their own lease runs out."""
    freed = 0
    for key in client.scan_iter(match=slots_key("*"), count=100):
        holders = [h for h in client.zrange(key, 0, -1)
                   if (h.decode() if isinstance(h, bytes) else h).startswith(f"{worker}:")]
        if holders:
            freed += int(client.zrem(key, *holders))
    return freed


ACQUIRE = lua_script(__package__, "now", "acquire")
TURN = lua_script(__package__, "now", "turn")
NOTE_BLOCK = lua_script(__package__, "note_block")

STOP_CHECK_INTERVAL = 1.0  # seconds between checks of mlt:meta stop_reason by an idle worker
REDIS_RETRY = 1.0  # seconds between attempts while Redis fails
LEASE_MARGIN = 30.0  # seconds a slot's lease outlasts DOWNLOAD_TIMEOUT

# (blocks, answers) seen by the worker that tripped the rule, or None and the reason when
# another worker stopped the crawl.
StopCallback = Callable[[int | None, int, str], None]




_SHARED: weakref.WeakKeyDictionary[Crawler, SharedCrawl] = weakref.WeakKeyDictionary()


def shared_crawl(crawler: Crawler) -> SharedCrawl | None:
    """This crawler's link to the shared crawl, or None when FRONTIER_URL is not set."""
    url = crawler.settings.get("FRONTIER_URL") or ""
    if not url:
        return None
    found = _SHARED.get(crawler)
    if found is None:
        found = _SHARED[crawler] = SharedCrawl(crawler, url)
    return found


class SharedCrawl:
    """The Redis side of one worker: its client, the stop rule and the stop watcher."""

    def __init__(self, crawler: Crawler, url: str) -> None:
        self.crawler = crawler
        self.url = url
        s = crawler.settings
        self.redis = aioredis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        # The frontier's name for this worker, so that its reaper frees a dead one's slots.
        run = getattr(crawler.spider, "run", None)
        self.worker = getattr(run, "worker", None) or (
            f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}")
        # Slots and turns are per host, whatever the crawl: two crawls sharing a Redis share
        # the site's budget too.  The stop and the block window are the crawl's own.
        key = s.get("FRONTIER_KEY") or defaults.FRONTIER_KEY
        self.meta_key = f"{key}:meta"  # the crawl's state (crawler.frontier.shared)
        self.blocks_key = f"{key}:polite:blocks"
        self.window = s.getint("CRAWL_BLOCK_WINDOW")
        self.ratio = s.getfloat("CRAWL_BLOCK_STOP_RATIO")
        self.stop_reason: str | None = None
        self._stop_told = False  # the stop went to _on_stop (or closed the spider)
        self._noting = 0  # note_block calls waiting for Redis
        self._on_stop: StopCallback | None = None
        self._down = False
        self._watcher: asyncio.Task[None] | None = None
        self._watching = False
        self.acquire_script = self.redis.register_script(ACQUIRE)
        self.turn_script = self.redis.register_script(TURN)
        self._note = self.redis.register_script(NOTE_BLOCK)
        self.held: dict[str, set[str]] = {}  # host -> slots held and not yet released
        self._closing: asyncio.Future[None] | None = None
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    def on_stop(self, callback: StopCallback) -> None:
        """``callback`` stops this worker (crawler.download.retry's stop); without one the spider
        is closed directly."""
        self._on_stop = callback

    # --- Redis failures: wait, never send unchecked -----------------------------------
    async def failed(self, exc: Exception) -> None:
        if not self._down:
            self._down = True
            logger.warning("shared crawl: Redis at %s failed (%s: %s); requests wait until "
                           "it answers again", shown_url(self.url), type(exc).__name__, exc)
        self.crawler.stats.inc_value("politeness/redis_errors")
        await asyncio.sleep(REDIS_RETRY)

    def answered(self) -> None:
        if self._down:
            self._down = False
            logger.warning("shared crawl: Redis at %s answers again", shown_url(self.url))

    # --- the stop --------------------------------------------------------------------
    def halted(self) -> bool:
        """Stopped, or this worker lost the shared frontier (it is closing): a request
        waiting for Redis must not hold the close up."""
        if self.stop_reason is not None:
            return True
        frontier = getattr(self.crawler.spider, "frontier", None)
        return bool(getattr(frontier, "stop_reason", None))

    def stopped(self, reason: str, blocks: int | None = None, seen: int = 0) -> None:
        """The crawl is stopped: ``blocks`` of the last ``seen`` answers, counted by this
        worker's own note, tripped it; or (None) it was found stopped."""
        if self._stop_told:
            return
        self.stop_reason = self.stop_reason or reason
        if blocks is None and self._noting:
            # This worker's own answer, still on its way back, may be what tripped the stop:
            # note_block tells it, so that the log says which worker stopped the crawl.
            return
        self._stop_told = True
        if self._on_stop is not None:
            self._on_stop(blocks, seen, reason)
            return
        logger.error("stopping: the shared crawl was stopped (%s)", reason)
        engine = self.crawler.engine
        if engine is not None:
            self._closing = asyncio.ensure_future(engine.close_spider_async(reason=reason))

    async def note_block(self, blocked: bool) -> bool:
        """Count a title answer in the shared window; False when Redis failed (the caller
        then counts it locally)."""
        self._noting += 1
        try:
            got = await self._note(
                keys=[self.blocks_key, self.meta_key], args=[int(blocked), self.window, self.ratio])
        except (RedisError, OSError) as exc:
            got = None
            if not self._down:
                logger.warning("shared crawl: Redis at %s failed (%s: %s); counting blocks "
                               "locally", shown_url(self.url), type(exc).__name__, exc)
                self._down = True
        except BaseException:  # cancelled: a stop found meanwhile must still be told
            self._noted()
            raise
        if got is not None:
            self.answered()
            blocks, seen, mine, reason = got
            if reason:
                reason = reason.decode() if isinstance(reason, bytes) else str(reason)
                if mine:
                    self.stopped(reason, int(blocks), int(seen))
                else:
                    self.stopped(reason)
        self._noted()
        return got is not None

    def _noted(self) -> None:
        """A note is back: a stop found while notes were out is told now (unless it was)."""
        self._noting -= 1
        if self.stop_reason is not None and not self._noting:
            self.stopped(self.stop_reason)

    async def _watch(self) -> None:
        while self.stop_reason is None and self._watching:
            try:
                reason = await self.redis.hget(self.meta_key, "stop_reason")
            except (RedisError, OSError):
                reason = None  # the requests themselves wait for Redis and say so
            if reason:
                self.stopped(reason.decode() if isinstance(reason, bytes) else str(reason))
                return
            await asyncio.sleep(STOP_CHECK_INTERVAL)

    def _opened(self) -> None:
        self._watching = True
        self._watcher = asyncio.ensure_future(self._watch())

    async def _closed(self) -> None:
        if self._watcher is not None:
            # The flag ends the loop even if a cancel lands inside a Redis call that turns
            # it into an error (the close then hung, waiting on a watcher that went on).
            self._watching = False
            self._watcher.cancel()
            await asyncio.wait({self._watcher}, timeout=STOP_CHECK_INTERVAL + 1)
        # Given back at once: only a killed worker's slots wait for their lease.
        for host, holders in self.held.items():
            if holders:
                with contextlib.suppress(RedisError, OSError):
                    await self.redis.zrem(slots_key(host), *holders)
        self.held.clear()
        with contextlib.suppress(RedisError, OSError):
            await self.redis.aclose()


def _skip_local_delay(slot: Any) -> None:
    """The turn already spaced the request: Scrapy's downloader slot must not add its own
    (jittered) wait after it, which would push the send past the next worker's turn."""
    slot.lastseen = min(slot.lastseen, time.monotonic() - 2 * slot.delay - 1)
    later = getattr(slot, "latercall", None)
    if later is not None:  # the wait Scrapy set up after this worker's last send
        later.cancel()
        slot.latercall = None


class SharedPolitenessMiddleware:
    """Holds a shared slot and takes a shared turn for every request (see the module)."""

    def __init__(self, crawler: Crawler, shared: SharedCrawl) -> None:
        s = crawler.settings
        self.crawler = crawler
        self.shared = shared
        self.delay = s.getfloat("DOWNLOAD_DELAY")
        # A CDX query's turn comes at least this long after the host's previous one.
        self.cdx_delay = s.getfloat("ARCHIVE_CDX_DELAY")
        # A new downloader slot starts at AutoThrottle's start delay when it is on.
        self.start_delay = (max(self.delay, s.getfloat("AUTOTHROTTLE_START_DELAY"))
                            if s.getbool("AUTOTHROTTLE_ENABLED") else self.delay)
        self.limit = max(1, s.getint("CONCURRENT_REQUESTS_PER_DOMAIN"))
        self.lease_ms = math.ceil((s.getfloat("DOWNLOAD_TIMEOUT") + LEASE_MARGIN) * 1000)
        # Poll for a free slot often enough that a released one is taken within a tenth
        # of the delay; one poller per host per worker (the lock) keeps Redis load low.
        self.poll = min(0.1, max(0.005, self.delay / 10))
        self._locks: dict[str, asyncio.Lock] = {}
        self._count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        shared = shared_crawl(crawler)
        if shared is None:
            # No message: Scrapy logs a NotConfigured that carries one at WARNING, and a
            # crawl alone is the ordinary case, not one to act on.
            logger.debug("FRONTIER_URL is not set: this worker crawls alone")
            raise NotConfigured
        return cls(crawler, shared)

    def _local_slot(self, request: Request) -> Any:
        engine = self.crawler.engine
        if engine is None:
            return None
        downloader = engine.downloader
        return downloader.slots.get(downloader.get_slot_key(request))

    def _effective_delay(self, request: Request) -> float:
        floor = self.cdx_delay if request.meta.get("cdx") else 0.0
        slot = self._local_slot(request)
        if slot is None:  # this worker's first request to the host
            return max(self.delay, self.start_delay, floor)
        # Scrapy's jitter (RANDOMIZE_DOWNLOAD_DELAY, +-50%) applied upwards only: turns are
        # never closer than the delay, and on average no closer than one worker's alone.
        jitter = random.uniform(0.0, getattr(slot, "jitter", 0.0))
        return max(self.delay, slot.delay, floor) * (1.0 + jitter)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        holder = await self._acquire(host)
        if holder is None:
            raise CrawlStopped("the shared crawl was stopped "
                               f"({self.shared.stop_reason or 'frontier_lost'})")
        try:
            wait = await self._take_turn(host, holder, self._effective_delay(request))
            if wait is not None and wait > 0:
                await asyncio.sleep(wait)
        except BaseException:  # cancelled, or a bug: the slot must not wait for its lease
            await self._release(host, holder)
            raise
        if wait is None or self.shared.halted():
            await self._release(host, holder)
            raise CrawlStopped("the shared crawl was stopped "
                               f"({self.shared.stop_reason or 'frontier_lost'})")
        slot = self._local_slot(request)
        if slot is not None:
            _skip_local_delay(slot)
        request.meta["polite_slot"] = (host, holder)
        return None

    async def _acquire(self, host: str) -> str | None:
        """A shared slot of ``host`` (the holder's name), or None once the crawl stopped."""
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock:
            self._count += 1
            holder = f"{self.shared.worker}:{self._count}"
            while True:
                if self.shared.halted():
                    return None
                try:
                    got = await self.shared.acquire_script(
                        keys=[slots_key(host), self.shared.meta_key],
                        args=[holder, self.limit, self.lease_ms])
                except (RedisError, OSError) as exc:
                    await self.shared.failed(exc)
                    continue
                self.shared.answered()
                if isinstance(got, bytes | str):
                    self.shared.stopped(got.decode() if isinstance(got, bytes) else got)
                    return None
                if got == 1:
                    self.shared.held.setdefault(host, set()).add(holder)
                    return holder
                await asyncio.sleep(self.poll)

    async def _take_turn(self, host: str, holder: str, delay: float) -> float | None:
        """Seconds until this request's turn, or None once the crawl stopped."""
        while True:
            try:
                wait_ms = await self.shared.turn_script(
                    keys=[turn_key(host), slots_key(host), self.shared.meta_key],
                    args=[math.ceil(delay * 1000), math.ceil(self.delay * 1000), holder,
                          self.lease_ms])
            except (RedisError, OSError) as exc:
                if self.shared.halted():
                    return None
                await self.shared.failed(exc)
                continue
            self.shared.answered()
            if wait_ms < 0:
                reason = await self._stop_reason()
                self.shared.stopped(reason)
                return None
            return float(wait_ms) / 1000

    async def _stop_reason(self) -> str:
        try:
            reason = await self.shared.redis.hget(self.shared.meta_key, "stop_reason")
        except (RedisError, OSError):
            reason = None
        return reason.decode() if isinstance(reason, bytes) else str(reason or "blocked")

    async def _release(self, host: str, holder: str) -> None:
        self.shared.held.get(host, set()).discard(holder)
        try:
            await self.shared.redis.zrem(slots_key(host), holder)
        except (RedisError, OSError) as exc:  # the lease frees it later
            logger.warning("shared crawl: could not release a slot of %s (%s: %s); its lease "
                           "frees it", host, type(exc).__name__, exc)

    async def _done(self, request: Request) -> None:
        held = request.meta.pop("polite_slot", None)
        if held is not None:
            await self._release(*held)

    async def process_response(self, request: Request, response: Response) -> Response:
        await self._done(request)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        await self._done(request)
        return None
