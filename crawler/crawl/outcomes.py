"""Outcomes and their accounting: the one row each scheduled title ends in, and stats.

Every title the spider schedules ends as one row of ``titles``, ``failures``,
``aliases`` or ``reused``.  Callbacks yield most of them; the others (reused titles,
titles given up as lost and, when a crawl without JOBDIR stops early, the titles it
never reached) wait in ``due`` for the exporter's next commit
(``crawler.signals.outcomes_due``).  With ``-a credits=full`` a title whose page is
read waits in ``awaiting`` for its full credits page (``crawler.crawl.credits``): it
has its outcome, one ``titles`` row, only once that page is answered.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.crawl import LOGGER_NAME
from crawler.frontier.local import clean_links
from crawler.ids import FULLCREDITS
from crawler.items import (
    AliasItem,
    FailureItem,
    OutcomeItem,
    TitleItem,
    credits_failure_fields,
    title_item,
)
from crawler.records import Outcome, TitleRecord
from crawler.state.run import utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from crawler.frontier.local import TitleFrontier
    from crawler.sources.base import Source
    from crawler.state.run import Run

logger = logging.getLogger(LOGGER_NAME)


def now() -> str:
    """The time stamp of an outcome (``crawled_at``)."""
    return utc_now().isoformat(timespec="microseconds")


@dataclass(frozen=True)
class TitlePage:
    """A title page read, its item waiting for the title's full credits page."""

    tconst: str
    depth: int
    record: TitleRecord
    crawled_at: str
    captured_at: str | None


class Outcomes:
    """Builds outcome rows, resolves their titles in the frontier, counts them."""

    def __init__(self, crawler: Crawler, run: Run, frontier: TitleFrontier,
                 source: Source, jobdir: str | None, max_merge_chain: int) -> None:
        self.crawler = crawler
        self.run = run
        self.frontier = frontier
        self.source = source
        self.jobdir = jobdir
        self.max_merge_chain = max_merge_chain
        self.due: list[OutcomeItem] = []  # outcomes for the exporter's next commit
        self.last_block: dict[str, str] = {}  # tconst -> reason of its last block
        self.awaiting: dict[str, TitlePage] = {}  # tconst -> its page (credits=full)

    @property
    def stats(self) -> StatsCollector:
        return self.crawler.stats  # set once the crawl starts

    def failure(self, url: str, tconst: str, depth: int, reason: str, status: int | None,
                attempts: int, crawled_at: str, detail: str | None = None,
                captured_at: str | None = None) -> FailureItem:
        self.frontier.resolve(tconst, Outcome.FAILURE)
        self.stats.inc_value(f"failures/{reason}")
        self.stats.inc_value("titles/failed")
        logger.warning("title %s failed: %s%s (HTTP %s, %d attempts)", tconst, reason,
                       f" ({detail})" if detail else "", status, attempts)
        return FailureItem(
            tconst=tconst, url=url, depth=depth, reason=reason, detail=detail,
            http_status=status, attempts=attempts, run_id=self.run.run_id,
            crawled_at=crawled_at, captured_at=captured_at,
        )

    def title(self, tconst: str, depth: int, record: TitleRecord, crawled_at: str,
              captured_at: str | None, fields: Mapping[str, Any] | None = None) -> TitleItem:
        """A title page's row; its "More like this" titles become the next level's.
        ``fields``: what its full credits page adds (``crawler.items``)."""
        record = self._with_clean_links(tconst, record)
        item = title_item(record, depth=depth, run_id=self.run.run_id,
                          crawled_at=crawled_at, captured_at=captured_at)
        if fields:
            item.update(fields)
        self.stats.inc_value("titles/done")
        self.frontier.record_links(
            tconst, [s["tconst"] for s in record.get("more_like_this") or []])
        self.frontier.resolve(tconst, Outcome.TITLE)
        return item

    def awaited(self, tconst: str, fields: Mapping[str, Any]) -> TitleItem:
        """The row of a title that waited for its full credits page, with ``fields``."""
        page = self.awaiting.pop(tconst)
        return self.title(tconst, page.depth, page.record, page.crawled_at, page.captured_at,
                          fields)

    def merge(self, url: str, tconst: str, depth: int, canonical: str, status: int,
              attempts: int, crawled_at: str, captured_at: str | None
              ) -> tuple[AliasItem | FailureItem, bool]:
        """``tconst`` was merged into ``canonical``: its row, and whether ``canonical`` is
        new to this crawl (to be fetched, or read from this very answer)."""
        problem = self.frontier.merge_problem(tconst, canonical, self.max_merge_chain)
        if problem is not None:
            return self.failure(url, tconst, depth, problem, status, attempts, crawled_at,
                                f"redirect to {canonical}", captured_at), False
        self.stats.inc_value("titles/aliases")
        alias = AliasItem(tconst=tconst, canonical_tconst=canonical, run_id=self.run.run_id,
                          crawled_at=crawled_at, captured_at=captured_at)
        is_new = self.frontier.record_alias(tconst, canonical)
        self.report_limits()
        return alias, is_new

    def _with_clean_links(self, tconst: str, record: TitleRecord) -> TitleRecord:
        """The record with only the cards that become edges (see ``clean_links``)."""
        cards = record.get("more_like_this") or []
        links = clean_links(tconst, [c.get("tconst") for c in cards])
        if len(links.kept) == len(cards):
            return record
        for name, count in (("invalid", links.invalid), ("self", links.self_links),
                            ("duplicate", links.duplicates)):
            if count:
                self.stats.inc_value(f"links/{name}", count)
        if links.invalid:
            logger.warning("title %s: %d 'More like this' card(s) with an id that is not a "
                           "tconst were dropped", tconst, links.invalid)
        return {**record, "more_like_this": [cards[i] for i in links.kept]}

    def report_limits(self) -> None:
        self.stats.set_value("frontier/seeds_over_limit", len(self.frontier.seeds_over_limit))
        self.stats.set_value("frontier/titles_over_limit", self.frontier.titles_over_limit)

    def on_block(self, tconst: str, reason: str) -> None:
        self.last_block[tconst] = reason

    def outcomes_due(self, closing: bool = False) -> list[OutcomeItem]:
        """Outcomes no callback yielded, handed to the exporter before it commits: reused
        titles and titles given up as lost, and, when the crawl closes early, the titles
        it never reached.

        Without JOBDIR those are recorded as failures, so the dataset accounts for every
        scheduled title: ``blocked`` (or the block's own reason) when their last answer
        was a block, else ``not_fetched``; a title whose page was read while its full
        credits page had no answer is a title with its title page's credits and that
        sub-page failure.  With JOBDIR a rerun fetches them instead.
        """
        due, self.due = self.due, []
        if not closing or self.jobdir is not None or self.frontier.shared:
            return due
        stamp = now()
        for tconst in list(self.frontier.pending):
            reason = self.last_block.get(tconst, "not_fetched")
            if tconst in self.awaiting:  # its page was read: its title-page credits stand
                due.append(self.awaited(tconst, credits_failure_fields(
                    self.source.title_url(tconst, FULLCREDITS), reason,
                    "the crawl stopped before the full credits page had an answer", None, 0,
                    None)))
                continue
            due.append(FailureItem(
                tconst=tconst, url=self.source.title_url(tconst),
                depth=self.frontier.depth, reason=reason, http_status=None, attempts=0,
                detail="the crawl stopped before the title had an outcome",
                run_id=self.run.run_id, crawled_at=stamp,
            ))
        return due
