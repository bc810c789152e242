"""The ``more_like_this`` spider: breadth-first along IMDb's "More like this" links.

It only decides what to fetch next.  Reading a page is ``crawler.extraction``;
naming failures is ``crawler.failures``; the frontier is ``crawler.frontier``;
JOBDIR state is ``crawler.job``; typing values is ``pipelines.normalize``;
writing is ``pipelines.parquet``.  Every title it schedules ends as a row of
``titles``, ``failures`` or ``aliases``.

    scrapy crawl more_like_this -a seed=tt0050634 -a depth=2 -a max_titles=1000
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider

from crawler import defaults, job
from crawler import signals as our_signals
from crawler.arguments import check_base_url, check_render, job_arguments, parse_arguments
from crawler.extraction import extract_page
from crawler.failures import (
    WAF_ACTION_HEADER,
    block_reason,
    exception_detail,
    exception_reason,
    header_text,
)
from crawler.frontier import Frontier, clean_links
from crawler.ids import is_tconst, tconst_from_url, title_url
from crawler.items import AliasItem, FailureItem, OutcomeItem, ReusedItem, title_item
from crawler.politeness import CrawlStopped
from crawler.records import PageKind, TitleRecord
from crawler.run import Run, check_run_id, new_run_id, utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.history import History

logger = logging.getLogger(__name__)

REDIRECT_CODES = {301, 302, 303, 307, 308}
# A title page redirecting to itself (adding a query, a slash) settles within a hop or two.
MAX_SAME_TITLE_REDIRECTS = 3
# Kinds of page worth asking for again (a cut connection, a glitch), unlike a 404.
RETRY_KINDS = {PageKind.TRUNCATED, PageKind.EMPTY}
# A level's titles are requested this many at a time, whenever Scrapy's scheduler runs dry.
FEED_BATCH = 64


def _now() -> str:
    return utc_now().isoformat(timespec="microseconds")


class MoreLikeThisSpider(scrapy.Spider):
    name = "more_like_this"

    def __init__(
        self,
        seed: str = defaults.SEED,
        depth: str | int = defaults.DEPTH,
        max_titles: str | int = defaults.MAX_TITLES,
        refresh: str = defaults.REFRESH,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        args = parse_arguments(seed, depth, max_titles, refresh)
        started_at = utc_now()
        self.run = Run(
            run_id=check_run_id(run_id) if run_id is not None else new_run_id(started_at),
            seeds=args.seeds, depth=args.depth, max_titles=args.max_titles,
            arguments=job_arguments(args), started_at=started_at,
            refresh_seconds=args.refresh,
        )
        self.frontier = Frontier(self.run.seeds, self.run.depth, self.run.max_titles)
        self.base_url = defaults.BASE_URL
        self.render_mode = "never"
        self.jobdir: str | None = None
        self.allowed_domains: list[str] = []  # the site's host only (set from IMDB_BASE_URL)
        self.max_merge_chain = 5
        self._refetched: set[str] = set()  # titles fetched again after being lost once
        self._last_block: dict[str, str] = {}  # tconst -> reason of its last block
        self._due: list[OutcomeItem] = []  # outcomes for the exporter's next commit
        self._unrequested: deque[str] = deque()  # titles of the level not requested yet
        self.history: History | None = None  # what earlier runs committed (-a refresh)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # The browser download handler is installed only when a browser may be used.
        if str(settings.get("RENDER", "never")).strip().lower() in ("auto", "always"):
            from crawler.rendering import configure

            configure(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MoreLikeThisSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = check_base_url(settings.get("IMDB_BASE_URL"))
        spider.render_mode = check_render(settings.get("RENDER", "never"))
        spider.allowed_domains = [urlsplit(spider.base_url).hostname or ""]
        spider.max_merge_chain = settings.getint("CRAWL_MAX_MERGE_CHAIN")
        spider.jobdir = settings.get("JOBDIR") or None
        output_dir = settings.get("OUTPUT_DIR")
        if spider.jobdir:
            spider.run = job.open_job(spider.jobdir, spider.run)
        if spider.run.refresh_seconds:
            spider.history = job.load_history(output_dir, spider.run)
        if spider.run.resumed:
            spider._resume(output_dir)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._feed, signal=signals.scheduler_empty)
        crawler.signals.connect(spider.outcomes_due, signal=our_signals.outcomes_due)
        crawler.signals.connect(spider._on_block, signal=our_signals.title_blocked)
        crawler.signals.connect(spider._on_run_recorded, signal=our_signals.run_recorded)
        return spider

    def _resume(self, output_dir: str) -> None:
        self.frontier = job.replay(output_dir, self.run, self.history)
        done = len(self.frontier.done)
        logger.info("resuming run %s at depth %d: %d titles already done, %d to fetch at "
                    "this depth", self.run.run_id, self.frontier.depth, done,
                    len(self.frontier.pending))

    # --- requests --------------------------------------------------------------------

    def title_request(self, tconst: str, depth: int, **meta: Any) -> scrapy.Request:
        meta = {
            "tconst": tconst,
            "title_depth": depth,
            "attempts": 1,
            # Redirects are decided here: a merged title becomes an alias, another host
            # is refused; so are error statuses, which become failures, not silence.
            "dont_redirect": True,
            "handle_httpstatus_all": True,
            **meta,
        }
        if self.render_mode == "always" or meta.pop("render", False):
            from crawler.rendering import browser_meta

            meta.update(browser_meta(self.base_url))
        return scrapy.Request(
            title_url(self.base_url, tconst),
            callback=self.parse_title,
            errback=self.on_error,
            meta=meta,
            dont_filter=True,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.run.resumed:
            self.crawler.stats.set_value("resume/titles_done", len(self.frontier.done))
        over = self.frontier.seeds_over_limit
        if over:
            logger.warning("%d seed(s) beyond max_titles=%d were not scheduled: %s%s",
                           len(over), self.run.max_titles, ", ".join(over[:10]),
                           ", ..." if len(over) > 10 else "")
        self._report_limits()
        for tconst in self._level_to_fetch():
            request = self._request_or_failure(tconst, self.frontier.depth)
            if request is not None:
                yield request  # Scrapy takes start requests as it has room: no pile-up

    def _on_idle(self) -> None:
        """A level is complete: commit it, then start the next one (or let the crawl end).

        A level whose titles were all reused is complete at once, so the loop goes on
        to the next one without waiting for the engine.
        """
        if self._unrequested:
            self._feed()
            raise DontCloseSpider
        if self.frontier.pending and self._recover_lost(self.frontier.pending):
            raise DontCloseSpider
        while True:
            self.crawler.signals.send_catch_log(signal=our_signals.checkpoint)
            finished_depth = self.frontier.depth
            if not self.frontier.advance():
                return
            self._report_limits()
            to_fetch = self._level_to_fetch()
            logger.info("depth %d complete; depth %d: %d titles to fetch, %d reused",
                        finished_depth, self.frontier.depth, len(to_fetch),
                        len(self.frontier.level) - len(to_fetch))
            if to_fetch:
                self._unrequested.extend(to_fetch)
                self._feed()
                raise DontCloseSpider

    def _feed(self) -> None:
        """Request the level's next FEED_BATCH titles.  Called when Scrapy's scheduler runs
        dry: a level may hold tens of thousands of titles, and a Request made for each at
        once grew the crawl's memory with the crawl (~100 MB at 100,000 titles)."""
        depth = self.frontier.depth
        for _ in range(min(FEED_BATCH, len(self._unrequested))):
            request = self._request_or_failure(self._unrequested.popleft(), depth)
            if request is not None:
                self.crawler.engine.crawl(request)

    def _level_to_fetch(self) -> list[str]:
        """The current level's titles to fetch, in order; fresh ones are reused instead
        (merge targets they lead to join the level and are decided in turn)."""
        depth = self.frontier.depth
        decided: set[str] = set()
        to_fetch = []
        while todo := [t for t in self.frontier.pending if t not in decided]:
            reused_pages = []
            for tconst in todo:
                decided.add(tconst)
                reused = self._reuse(tconst, depth)
                if reused == "title":
                    reused_pages.append(tconst)
                elif reused is None:
                    to_fetch.append(tconst)
            if reused_pages and self.history is not None:
                for tconst, similar in self.history.edges(reused_pages).items():
                    self.frontier.record_links(tconst, similar)
        return to_fetch

    def _request_or_failure(self, tconst: str, depth: int) -> scrapy.Request | None:
        """A title's request; one that cannot be made becomes a failure, never a lost level."""
        try:
            return self.title_request(tconst, depth)
        except Exception as exc:  # one bad value must not cost the rest of the level
            logger.error("title %s cannot be requested: %s", tconst, exc)
            self._due.append(self._failure(
                str(tconst), str(tconst), depth, exception_reason(exc), None, {"attempts": 0},
                _now(), exception_detail(exc)))
            return None

    def _reuse(self, tconst: str, depth: int) -> str | None:
        """With ``-a refresh``, a title whose last fetch is fresh is not fetched again: it
        gets a ``reused`` row, and its recorded edges (or merge) carry the walk on.
        Returns the reused outcome ("title" or "alias"), or None to fetch the title."""
        if self.history is None:
            return None
        fetch = self.history.reusable(tconst, utc_now(),
                                      timedelta(seconds=self.run.refresh_seconds))
        if fetch is None:
            return None
        canonical = fetch.canonical_tconst
        if fetch.outcome == "alias" and (
            canonical is None
            or self.frontier.merge_problem(tconst, canonical, self.max_merge_chain)
        ):
            return None  # not a merge to follow as it is: ask the site again
        self._due.append(ReusedItem(
            tconst=tconst, depth=depth, fetched_run_id=fetch.run_id,
            fetched_at=fetch.crawled_at.isoformat(), run_id=self.run.run_id,
            crawled_at=_now()))
        self.crawler.stats.inc_value("titles/reused")
        if canonical is not None and fetch.outcome == "alias":
            self.frontier.record_alias(tconst, canonical)
            self._report_limits()
        self.frontier.resolve(tconst, "reused")
        return fetch.outcome

    def _report_limits(self) -> None:
        stats = self.crawler.stats
        stats.set_value("frontier/seeds_over_limit", len(self.frontier.seeds_over_limit))
        stats.set_value("frontier/titles_over_limit", self.frontier.titles_over_limit)

    def _recover_lost(self, pending: list[str]) -> int:
        """Titles of a finished level without an outcome (a middleware dropped their request
        silently): each is fetched once more, then recorded as lost, with its level.
        Returns how many were asked for again."""
        depth = self.frontier.depth
        again = 0
        for tconst in pending:
            if tconst not in self._refetched:
                logger.error("title %s had no outcome at the end of its level; fetching "
                             "again", tconst)
                self._refetched.add(tconst)
                request = self._request_or_failure(tconst, depth)
                if request is not None:
                    self.crawler.engine.crawl(request)
                    again += 1
                continue
            logger.error("title %s was lost twice without an outcome; giving it up", tconst)
            self.crawler.stats.inc_value("titles/lost")
            self._due.append(self._failure(
                title_url(self.base_url, tconst), tconst, depth, "lost", None,
                {"attempts": 2}, _now(), "no outcome after two requests"))
        return again

    # --- responses -------------------------------------------------------------------

    def parse_title(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        tconst: str = meta["tconst"]
        depth: int = meta["title_depth"]
        crawled_at = _now()
        status = response.status
        self.crawler.stats.inc_value(f"titles/status/{status}")

        block = block_reason(status, response.headers)
        if block is not None:
            action = header_text(response.headers, WAF_ACTION_HEADER)
            yield self._failure(response.url, tconst, depth, block, status, meta, crawled_at,
                                f"x-amzn-waf-action: {action}" if action else f"HTTP {status}")
            return
        if status in REDIRECT_CODES:
            yield from self._on_redirect(response, tconst, depth, crawled_at)
            return
        if status in (404, 410):
            yield self._failure(response.url, tconst, depth, "not_found", status, meta,
                                crawled_at)
            return
        if status >= 400:
            yield self._failure(response.url, tconst, depth, f"http_{status}", status, meta,
                                crawled_at)
            return

        final = tconst_from_url(response.url)
        if final is not None and final != tconst:
            # A redirect followed below us (the browser follows them itself): the title we
            # asked for was merged into ``final``, whose page this is.
            item, is_new = self._merged(response, tconst, depth, response.url, crawled_at)
            yield item
            if not is_new:
                return  # refused, or the canonical title is fetched in its own right
            tconst = final
        yield from self._read_page(response, tconst, depth, crawled_at)

    def _read_page(
        self, response: Response, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        meta = response.meta
        ctype = header_text(response.headers, b"Content-Type") or None
        result = extract_page(response.body, response.url, response.status, ctype)
        kind = result["kind"]
        self.crawler.stats.inc_value(f"pages/{kind}")
        record = result["title"]
        if kind is PageKind.TITLE and record is not None:
            if self._wants_browser(record, meta):
                self.crawler.stats.inc_value("render/auto_refetch")
                yield self.title_request(tconst, depth, attempts=meta.get("attempts", 1),
                                         rendered=True, render=True)
                return
            record = self._with_clean_links(tconst, record)
            yield title_item(record, depth=depth, run_id=self.run.run_id,
                             crawled_at=crawled_at)
            self.crawler.stats.inc_value("titles/done")
            self.frontier.record_links(
                tconst, [s["tconst"] for s in record.get("more_like_this") or []]
            )
            self.frontier.resolve(tconst, "title")
            return
        attempts = meta.get("attempts", 1)
        if kind in RETRY_KINDS and attempts <= self.settings.getint("CRAWL_RETRY_TIMES"):
            self.crawler.stats.inc_value(f"retry/reason/{kind}")
            yield self.title_request(tconst, depth, attempts=attempts + 1,
                                     rendered=bool(meta.get("rendered")),
                                     render=bool(meta.get("playwright")))
            return
        reason = "blocked" if kind is PageKind.CHALLENGE else str(kind)
        detail = result.get("reason")
        if kind is PageKind.WRONG_TITLE and result.get("found_tconst"):
            detail = f"page is about {result['found_tconst']}"
        yield self._failure(response.url, tconst, depth, reason, response.status, meta,
                            crawled_at, detail)

    def _with_clean_links(self, tconst: str, record: TitleRecord) -> TitleRecord:
        """The record with only the cards that become edges (see ``clean_links``)."""
        cards = record.get("more_like_this") or []
        links = clean_links(tconst, [c.get("tconst") for c in cards])
        if len(links.kept) == len(cards):
            return record
        stats = self.crawler.stats
        for name, count in (("invalid", links.invalid), ("self", links.self_links),
                            ("duplicate", links.duplicates)):
            if count:
                stats.inc_value(f"links/{name}", count)
        if links.invalid:
            logger.warning("title %s: %d 'More like this' card(s) with an id that is not a "
                           "tconst were dropped", tconst, links.invalid)
        return {**record, "more_like_this": [cards[i] for i in links.kept]}

    def _wants_browser(self, record: TitleRecord, meta: dict[str, Any]) -> bool:
        """In RENDER=auto, a page whose JavaScript-filled parts are missing is rendered."""
        if self.render_mode != "auto" or meta.get("rendered") or meta.get("playwright"):
            return False
        return not record.get("more_like_this")

    def _on_redirect(
        self, response: Response, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        location = header_text(response.headers, b"Location")
        target_url = urljoin(response.url, location)
        if (tconst_from_url(target_url) == tconst
                and urlsplit(target_url).hostname in self.allowed_domains):
            yield from self._same_title_redirect(response, tconst, depth, target_url,
                                                 crawled_at)
            return
        item, is_new = self._merged(response, tconst, depth, target_url, crawled_at)
        yield item
        if is_new:
            canonical = tconst_from_url(target_url)
            assert canonical is not None
            yield self.title_request(canonical, depth)

    def _same_title_redirect(
        self, response: Response, tconst: str, depth: int, target_url: str, crawled_at: str
    ) -> Iterator[Any]:
        """A redirect to the same title (a query string, a trailing slash) is followed;
        one that keeps coming back is a loop."""
        meta = response.meta
        hops = meta.get("same_title_redirects", 0)
        if hops >= MAX_SAME_TITLE_REDIRECTS:
            yield self._failure(response.url, tconst, depth, "redirect_loop", response.status,
                                meta, crawled_at, f"redirects to itself again: {target_url}")
            return
        self.crawler.stats.inc_value("titles/same_title_redirects")
        yield self.title_request(tconst, depth, attempts=meta.get("attempts", 1),
                                 same_title_redirects=hops + 1).replace(url=target_url)

    def _merged(
        self, response: Response, tconst: str, depth: int, target_url: str, crawled_at: str
    ) -> tuple[AliasItem | FailureItem, bool]:
        """``tconst`` redirects to ``target_url``: its row, and whether the canonical title
        is new to this crawl (to be fetched, or parsed from this very response)."""
        target_host = urlsplit(target_url).hostname
        canonical = tconst_from_url(target_url)
        meta = response.meta
        if target_host not in self.allowed_domains:
            self.crawler.stats.inc_value("offsite/redirects_dropped")
            return self._failure(response.url, tconst, depth, "offsite_redirect",
                                 response.status, meta, crawled_at,
                                 f"redirect to {target_host}"), False
        if canonical is None or not is_tconst(canonical):
            return self._failure(response.url, tconst, depth, "redirect_not_a_title",
                                 response.status, meta, crawled_at, target_url), False
        problem = self.frontier.merge_problem(tconst, canonical, self.max_merge_chain)
        if problem is not None:
            return self._failure(response.url, tconst, depth, problem, response.status, meta,
                                 crawled_at, f"redirect to {canonical}"), False
        self.crawler.stats.inc_value("titles/aliases")
        alias = AliasItem(tconst=tconst, canonical_tconst=canonical, run_id=self.run.run_id,
                          crawled_at=crawled_at)
        is_new = self.frontier.record_alias(tconst, canonical)
        self._report_limits()
        return alias, is_new

    def _failure(
        self,
        url: str,
        tconst: str,
        depth: int,
        reason: str,
        status: int | None,
        meta: dict[str, Any],
        crawled_at: str,
        detail: str | None = None,
    ) -> FailureItem:
        self.frontier.resolve(tconst, "failure")
        self.crawler.stats.inc_value(f"failures/{reason}")
        self.crawler.stats.inc_value("titles/failed")
        logger.warning("title %s failed: %s%s (HTTP %s, %d attempts)", tconst, reason,
                       f" ({detail})" if detail else "", status, meta.get("attempts", 1))
        return FailureItem(
            tconst=tconst, url=url, depth=depth, reason=reason, detail=detail,
            http_status=status, attempts=meta.get("attempts", 1), run_id=self.run.run_id,
            crawled_at=crawled_at,
        )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value if failure.value is not None else RuntimeError("unknown failure")
        if isinstance(exc, CrawlStopped):
            return  # never sent: the title stays pending, and the close accounts for it
        yield self._failure(request.url, request.meta["tconst"], request.meta["title_depth"],
                            exception_reason(exc), None, request.meta, _now(),
                            exception_detail(exc))

    # --- end of the crawl -----------------------------------------------------------

    def _on_block(self, tconst: str, reason: str) -> None:
        self._last_block[tconst] = reason

    def outcomes_due(self, closing: bool = False) -> list[OutcomeItem]:
        """Outcomes no callback yielded, handed to the exporter before it commits: reused
        titles and titles given up as lost, and, when the crawl closes early, the titles
        it never reached.

        Without JOBDIR those are recorded as failures, so the dataset accounts for every
        scheduled title: ``blocked`` (or the block's own reason) when their last answer
        was a block, else ``not_fetched``.  With JOBDIR a rerun fetches them instead.
        """
        due, self._due = self._due, []
        if not closing or self.jobdir is not None:
            return due
        stamp = _now()
        for tconst in self.frontier.pending:
            reason = self._last_block.get(tconst, "not_fetched")
            due.append(FailureItem(
                tconst=tconst, url=title_url(self.base_url, tconst),
                depth=self.frontier.depth, reason=reason, http_status=None, attempts=0,
                detail="the crawl stopped before the title had an outcome",
                run_id=self.run.run_id, crawled_at=stamp,
            ))
        return due

    def _on_run_recorded(self, finish_reason: str) -> None:
        if self.jobdir is not None and finish_reason == "finished":
            job.mark_finished(self.jobdir, self.run, utc_now())
