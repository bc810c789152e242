"""Progress lines during a crawl and a short summary at its end.

Replaces Scrapy's LogStats ("Crawled N pages") with what a user of this crawl
wants to know: titles done and queued per depth, the rate, failures, and at
the end what was written where.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from twisted.internet import task

from crawler.masking import shown_url

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger("crawler.progress")


class Progress:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Zero or less turns the periodic lines off; the end summary is always written.
        ext = cls(crawler, crawler.settings.getfloat("PROGRESS_INTERVAL"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        if self.interval > 0:
            self.loop = task.LoopingCall(self.log_progress, spider)
            self.loop.start(self.interval, now=False)

    def line(self, spider: Spider) -> str:
        stats = self.crawler.stats
        frontier = getattr(spider, "frontier", None)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = stats.get_value("titles/done", 0)
        failed = stats.get_value("titles/failed", 0)
        reused = stats.get_value("titles/reused", 0)
        parts = [f"{done} titles fetched, {reused} reused, {failed} failed",
                 f"{done / elapsed * 60:.0f} titles/min"]
        if frontier is not None:
            per_depth = frontier.per_depth().items()
            depths = ", ".join(f"d{d} {fin}/{tot}" for d, (fin, tot) in per_depth)
            at = min(frontier.depth, frontier.max_depth)
            parts.insert(1, f"depth {at}/{frontier.max_depth} [{depths}]")
            parts.insert(2, f"{len(frontier.pending)} queued")
        blocks = stats.get_value("blocks/challenges", 0)
        if blocks:
            parts.append(f"{blocks} challenges")
        return "progress: " + " | ".join(parts)

    def log_progress(self, spider: Spider) -> None:
        logger.info(self.line(spider))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        stats: dict[str, Any] = self.crawler.stats.get_stats()
        logger.info(self.line(spider))
        written = {k.removeprefix("parquet/rows/"): v for k, v in stats.items()
                   if k.startswith("parquet/rows/")}
        output = shown_url(self.crawler.settings.get("OUTPUT_DIR") or "")  # no credentials
        tables = ", ".join(f"{t} {n}" for t, n in sorted(written.items())) or "nothing"
        run_id = getattr(getattr(spider, "run", None), "run_id", "?")
        logger.info("finished (%s) in %.1fs: run %s wrote %s rows to %s", reason,
                    time.monotonic() - self.started, run_id, tables, output)
