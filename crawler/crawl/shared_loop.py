"""A worker's loop in a shared crawl (FRONTIER_URL): the worker waits on the others
(a level's last titles, their commits), so it looks again every FRONTIER_POLL_SECONDS
rather than at Scrapy's 5 s idle beat; once a second it renews its lease and requeues
the titles of workers that died; it closes when the crawl is stopped or over, or when
this worker lost its lease (its commit-time claim, ``chunk_committing``, is wired here).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from scrapy import signals
from twisted.internet import task

from crawler import signals as our_signals
from crawler.crawl import LOGGER_NAME
from crawler.frontier.local import FrontierUnavailable
from crawler.frontier.shared import SharedFrontier

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.frontier.local import TitleFrontier

logger = logging.getLogger(LOGGER_NAME)


class SharedLoop:
    """Polls the shared frontier every ``interval`` seconds while the spider is open;
    ``step`` feeds the worker (False: the crawl is over)."""

    def __init__(self, crawler: Crawler, frontier: TitleFrontier, step: Callable[[], bool],
                 interval: float) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.step = step
        self.interval = interval
        self.call = task.LoopingCall(self.poll)
        self.ticks = 0
        self.every = max(1, round(1.0 / interval))  # heartbeat and reap once a second
        self.closing: asyncio.Future[None] | None = None
        crawler.signals.connect(self.start, signal=signals.spider_opened)
        crawler.signals.connect(self.stop, signal=signals.spider_closed)
        if isinstance(frontier, SharedFrontier):
            crawler.signals.connect(frontier.chunk_committing,
                                    signal=our_signals.chunk_committing)
            frontier.on_lease_lost = self.lease_lost

    def lease_lost(self, line: str, titles: int) -> None:
        """Recorded at once: the session's crawl_runs row and exit code say so."""
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("run/error", line)
        self.crawler.stats.set_value("frontier/lease_lost_titles", titles)

    def start(self) -> None:
        self.call.start(self.interval, now=False)

    def stop(self) -> None:
        if self.call.running:
            self.call.stop()

    def poll(self) -> None:
        engine = self.crawler.engine
        if engine is None or self.closing is not None:
            return
        try:
            if self.ticks % self.every == 0:
                self.frontier.heartbeat()
                self.frontier.reap()
            self.ticks += 1
            if self.frontier.stop_reason:
                self.close(self.frontier.stop_reason)
            elif engine.spider_is_idle() and not self.step():
                self.close("finished")
        except FrontierUnavailable as exc:
            # Without its lease this worker's titles go to others: stop; what it did not
            # commit is fetched again once the crawl goes on.
            logger.error("shared frontier lost: %s", exc)
            self.close("frontier_lost")
        except Exception:  # a Redis hiccup: the next beat tries again
            logger.exception("shared frontier: poll failed")

    def close(self, reason: str) -> None:
        logger.info("shared crawl: closing this worker (%s)", reason)
        error = {"frontier_lost": "the shared frontier (FRONTIER_URL) could not be reached",
                 "frontier_forgot": "Redis lost the shared crawl's state (FRONTIER_URL): "
                                    "run the same command again to resume the run",
                 "lease_lost": getattr(self.frontier, "lease_lost", None)}.get(reason)
        if error:
            self.crawler.stats.set_value("run/error", error)
        assert self.crawler.engine is not None
        self.closing = asyncio.ensure_future(
            self.crawler.engine.close_spider_async(reason=reason))
