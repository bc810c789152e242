"""Feeding the levels: a level's titles are requested a batch at a time, whenever
Scrapy's scheduler runs dry, and the next level starts once this one is complete.

A level may hold tens of thousands of titles, and a Request made for each at once
grew the crawl's memory with the crawl (~100 MB at 100,000 titles).  A title whose
request goes missing (a middleware dropped it silently) is asked for once more at
the end of its level, then recorded as ``lost``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from scrapy import signals
from twisted.internet import task

from crawler import signals as our_signals
from crawler.crawl import LOGGER_NAME
from crawler.crawl.outcomes import now
from crawler.failures import exception_detail, exception_reason

if TYPE_CHECKING:
    import scrapy
    from scrapy.crawler import Crawler

    from crawler.crawl.outcomes import Outcomes
    from crawler.crawl.refresh import Refresh
    from crawler.frontier.local import TitleFrontier
    from crawler.state.run import Run

logger = logging.getLogger(LOGGER_NAME)

# A level's titles are requested this many at a time, whenever Scrapy's scheduler runs dry.
FEED_BATCH = 64
# Seconds between looks at titles another refresh run is fetching (crawl.refresh).
WAIT_POLL_SECONDS = 0.5


class Feeder:
    """Takes titles from the frontier and hands their requests to Scrapy."""

    def __init__(self, crawler: Crawler, frontier: TitleFrontier, refresh: Refresh,
                 outcomes: Outcomes, request: Callable[[str, int], scrapy.Request]) -> None:
        self.crawler = crawler
        self.frontier = frontier
        self.refresh = refresh
        self.outcomes = outcomes
        self.request = request  # a title's request at a depth (the spider's)
        self.unrequested: deque[str] = deque()  # titles taken, to be requested
        self.refetched: set[str] = set()  # titles fetched again after being lost once
        self.waiting: task.LoopingCall | None = None  # looks while other runs hold titles
        self.closing: asyncio.Future[None] | None = None
        if refresh.claims is not None:  # the claims of a refresh run go with its commits
            crawler.signals.connect(refresh.committed, signal=our_signals.chunk_committed)
            crawler.signals.connect(refresh.claims.release_all, signal=signals.spider_closed)

    def start(self, run: Run) -> Iterator[scrapy.Request]:
        """The first requests, as Scrapy has room for them: no pile-up."""
        if run.resumed:
            self.crawler.stats.set_value(
                "resume/titles_done", sum(done for done, _ in self.frontier.per_depth().values()))
        over = self.frontier.seeds_over_limit
        if over:
            logger.warning("%d seed(s) beyond max_titles=%d were not scheduled: %s%s",
                           len(over), run.max_titles, ", ".join(over[:10]),
                           ", ..." if len(over) > 10 else "")
        self.outcomes.report_limits()
        self.fill()
        while self.unrequested:
            request = self.request_or_failure(self.unrequested.popleft(), self.frontier.depth)
            if request is not None:
                yield request
            if not self.unrequested:
                self.fill()

    def step(self) -> bool:
        """Nothing is in flight here: feed more of the level, or, once the level is
        complete, commit it and start the next one.  False when the crawl is over.

        A level whose titles were all reused is complete at once, so the loop goes on
        to the next one without waiting for the engine.  In a shared crawl, a level is
        fetched once no worker holds a title of it without an outcome; each worker then
        commits its part, and the level is complete once all of them have.
        """
        if self.frontier.stop_reason:
            return False
        if self.feed():
            return True
        pending = self.refresh.undeferred(self.frontier.pending)
        if pending and self.recover_lost(pending):
            return True
        while True:
            if self.refresh.deferred and self.wait_for_other_runs():
                return True  # another refresh run is fetching titles of this level
            if not self.frontier.level_fetched():
                return True  # other workers still fetching
            self.crawler.signals.send_catch_log(signal=our_signals.checkpoint)
            if not self.frontier.level_complete():
                return True  # other workers still committing
            finished_depth = self.frontier.depth
            if not self.frontier.advance():
                return False
            self.outcomes.report_limits()
            logger.info("depth %d complete; depth %d: %d titles", finished_depth,
                        self.frontier.depth, self.frontier.level_size())
            if self.feed():
                return True

    def wait_for_other_runs(self) -> bool:
        """Titles of the level another refresh run is fetching: commit what this run has
        (that run may wait on it too), then take up those it is done with.  False once
        none is left to wait for and none was requested: the level may be complete."""
        self.crawler.signals.send_catch_log(signal=our_signals.checkpoint)
        self.unrequested.extend(self.refresh.ready())
        if self.feed() or self.refresh.deferred:
            if self.waiting is None:  # look again soon, not at Scrapy's 5 s idle beat
                self.waiting = task.LoopingCall(self.look_again)
                self.waiting.start(WAIT_POLL_SECONDS, now=False)
            return True
        return False

    def look_again(self) -> None:
        engine = self.crawler.engine
        running = engine is not None and engine.running and self.closing is None
        if running and engine is not None and engine.spider_is_idle() and (
                self.refresh.deferred and not self.step()):
            self.closing = asyncio.ensure_future(engine.close_spider_async(reason="finished"))
        if (not running or not self.refresh.deferred) and self.waiting is not None:
            if self.waiting.running:
                self.waiting.stop()
            self.waiting = None

    def feed(self) -> bool:
        """Request the level's next FEED_BATCH titles; False when there was none to request
        (called when Scrapy's scheduler runs dry)."""
        self.fill()
        depth = self.frontier.depth
        fed = False
        for _ in range(min(FEED_BATCH, len(self.unrequested))):
            request = self.request_or_failure(self.unrequested.popleft(), depth)
            if request is not None:
                self.crawler.engine.crawl(request)
                fed = True
            if not self.unrequested:
                self.fill()
        return fed

    def fill(self) -> None:
        """Take titles from the frontier until some are to be fetched (fresh ones are
        reused instead), or the frontier has none to give."""
        while not self.unrequested and (titles := self.frontier.take()):
            self.unrequested.extend(self.refresh.to_fetch(titles))

    def request_or_failure(self, tconst: str, depth: int) -> scrapy.Request | None:
        """A title's request; one that cannot be made becomes a failure, never a lost level."""
        try:
            return self.request(tconst, depth)
        except Exception as exc:  # one bad value must not cost the rest of the level
            logger.error("title %s cannot be requested: %s", tconst, exc)
            self.outcomes.due.append(self.outcomes.failure(
                str(tconst), str(tconst), depth, exception_reason(exc), None, 0, now(),
                exception_detail(exc)))
            return None

    def recover_lost(self, pending: list[str]) -> int:
        """Titles of a finished level without an outcome (a middleware dropped their request
        silently): each is fetched once more, then recorded as lost, with its level.
        Returns how many were asked for again."""
        depth = self.frontier.depth
        again = 0
        for tconst in pending:
            if tconst not in self.refetched:
                logger.error("title %s had no outcome at the end of its level; fetching "
                             "again", tconst)
                self.refetched.add(tconst)
                request = self.request_or_failure(tconst, depth)
                if request is not None:
                    self.crawler.engine.crawl(request)
                    again += 1
                continue
            logger.error("title %s was lost twice without an outcome; giving it up", tconst)
            self.crawler.stats.inc_value("titles/lost")
            self.outcomes.due.append(self.outcomes.failure(
                self.outcomes.source.title_url(tconst), tconst, depth, "lost", None, 2, now(),
                "no outcome after two requests"))
        return again
