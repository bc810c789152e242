"""The ``more_like_this`` spider: breadth-first along IMDb's "More like this" links.

It only decides what to fetch next, matching on the one answer its source makes of
each response (``crawler.sources``: the live site, or with ``-a as_of`` the archive).
Reading a page is ``crawler.extraction``; feeding the levels, refresh decisions,
outcomes, full credits pages (``-a credits=full``) and the shared worker loop are
``crawler.crawl``; the frontier is ``crawler.frontier``; JOBDIR state is
``crawler.state.job``; writing is ``pipelines.parquet``.  Every title it schedules ends
as a row of ``titles``, ``failures``, ``aliases`` or ``reused``.

``scrapy parse --spider more_like_this <title URL>`` checks one page (see
``crawler.commands.parse``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider

from crawler import defaults
from crawler import signals as our_signals
from crawler.arguments import job_arguments, parse_arguments
from crawler.crawl.credits import FullCredits
from crawler.crawl.feeding import Feeder
from crawler.crawl.outcomes import Outcomes, now
from crawler.crawl.refresh import Refresh
from crawler.crawl.shared_loop import SharedLoop
from crawler.failures import CrawlStopped, exception_detail, exception_reason
from crawler.frontier.local import Frontier, TitleFrontier
from crawler.ids import tconst_from_url
from crawler.sources import base
from crawler.sources.configured import prepare, run_as_of, source_from_settings
from crawler.state import job
from crawler.state.run import Run, check_run_id, new_run_id, utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.state.history import History

logger = logging.getLogger(__name__)

# A title page redirecting to itself (adding a query, a slash) settles within a hop or two.
MAX_SAME_TITLE_REDIRECTS = 3


class MoreLikeThisSpider(scrapy.Spider):
    name = "more_like_this"

    def __init__(
        self,
        seed: str = defaults.SEED,
        depth: str | int = defaults.DEPTH,
        max_titles: str | int = defaults.MAX_TITLES,
        refresh: str = defaults.REFRESH,
        run_id: str | None = None,
        as_of: str | None = None,
        credits: str = defaults.CREDITS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        args = parse_arguments(seed, depth, max_titles, refresh, as_of, credits)
        started_at = utc_now()
        self.run = Run(
            run_id=check_run_id(run_id) if run_id is not None else new_run_id(started_at),
            seeds=args.seeds, depth=args.depth, max_titles=args.max_titles,
            arguments=job_arguments(args), started_at=started_at,
            refresh_seconds=args.refresh, as_of=run_as_of(args.as_of, started_at),
        )
        self.frontier: TitleFrontier = Frontier(self.run.seeds, self.run.depth,
                                                self.run.max_titles)
        self.allowed_domains: list[str] = []  # the source's own hosts only
        self.history: History | None = None  # what earlier runs committed (-a refresh)
        self.shared_loop: SharedLoop | None = None  # a worker's loop (FRONTIER_URL)

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        prepare(settings)  # the browser, or the WARC files, only when used

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MoreLikeThisSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings, run = crawler.settings, spider.run
        source = source_from_settings(run.arguments.get("as_of"), settings.get)
        spider.allowed_domains = list(source.hosts)
        run.source = source.name
        if settings.getbool("CHECK_ONE_PAGE"):
            spider._assemble(source)  # `scrapy parse` asks for its one page itself
            return spider
        output_dir = settings.get("OUTPUT_DIR")
        if settings.get("FRONTIER_URL"):
            from crawler.frontier.shared import join

            spider.frontier, spider.run = join(settings, run, output_dir)
        elif settings.get("JOBDIR"):
            spider.run = job.open_job(settings.get("JOBDIR"), run)
        # The source's "now" is the run's start, a resumed session's too: one run, one as_of.
        source = source.for_run(spider.run.started_at, base.nothing_known)
        spider.run.as_of = source.as_of
        if spider.run.refresh_seconds:
            spider.history = job.load_history(output_dir, spider.run)
        if spider.run.resumed and not spider.frontier.shared:
            spider.frontier = job.resume(output_dir, spider.run, spider.history)
        spider._assemble(source)
        if settings.get("FRONTIER_URL"):
            spider.shared_loop = SharedLoop(crawler, spider.frontier, spider.feeder.step,
                                            settings.getfloat("FRONTIER_POLL_SECONDS"))
        for receiver, signal in (
                (spider._on_idle, signals.spider_idle),
                (spider.feeder.feed, signals.scheduler_empty),
                (spider.outcomes.outcomes_due, our_signals.outcomes_due),
                (spider.outcomes.on_block, our_signals.title_blocked),
                (spider._on_run_recorded, our_signals.run_recorded),
                (spider.frontier.chunk_committed, our_signals.chunk_committed)):
            crawler.signals.connect(receiver, signal=signal)
        return spider

    def _assemble(self, source: base.Source) -> None:
        """The crawl's parts, over the run's final frontier and source."""
        settings = self.crawler.settings
        self.jobdir: str | None = settings.get("JOBDIR") or None
        self.outcomes = Outcomes(self.crawler, self.run, self.frontier, source,
                                 self.jobdir, settings.getint("CRAWL_MAX_MERGE_CHAIN"))
        full = self.run.arguments.get("credits") == "full"
        self.refresh = Refresh(self.history, self.run.refresh_seconds, self.frontier, source,
                               self.outcomes, full)
        self.feeder = Feeder(self.crawler, self.frontier, self.refresh, self.outcomes,
                             self.title_request)
        self.source = source
        if self.history is not None:  # the dataset's captures may stand (as_of=latest)
            self.source = source.for_run(self.run.started_at, self.refresh.known_capture)
        self.credits = FullCredits(self.outcomes, self.source, full)
        self.retry_times = settings.getint("CRAWL_RETRY_TIMES")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self.feeder.start(self.run):
            yield request  # Scrapy takes start requests as it has room: no pile-up

    def _on_idle(self) -> None:
        if self.feeder.step():
            raise DontCloseSpider
        if self.frontier.stop_reason:
            raise CloseSpider(self.frontier.stop_reason)

    def title_request(self, tconst: str, depth: int) -> scrapy.Request:
        return self._request(tconst, depth, self.source.ask(tconst))

    def _request(self, tconst: str, depth: int, ask: base.Ask, **meta: Any) -> scrapy.Request:
        meta = {"tconst": tconst, "title_depth": depth, "attempts": 1,
                # Redirects are decided here: a merged title becomes an alias, another
                # host is refused; so are error statuses, which become failures.
                "dont_redirect": True, "handle_httpstatus_all": True, **ask.meta, **meta}
        return scrapy.Request(ask.url, callback=self.parse_title, errback=self.on_error,
                              meta=meta, dont_filter=True)

    @staticmethod
    def _asked(response: Response) -> tuple[str, int] | None:
        """The title a response answers and its depth (the spider's meta; for a page of
        ``scrapy parse``, its first URL's title at depth 0); None: no title's URL."""
        meta = response.meta
        if "tconst" in meta:
            return meta["tconst"], meta["title_depth"]
        tconst = tconst_from_url((meta.get("redirect_urls") or [response.url])[0])
        return (tconst, 0) if tconst is not None else None

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Scrapy's default callback (``scrapy parse`` without ``-c``): a title page."""
        return self.parse_title(response)

    def parse_title(self, response: Response) -> Iterator[Any]:
        asked = self._asked(response)
        if asked is None:
            logger.error("%s is not a title URL (/title/tt.../)", response.url)
            return
        reply = base.Reply(asked[0], response.url, response.status, response.headers,
                           response.body, response.meta)
        yield from self._on(self.source.answer(reply), reply, asked[0], asked[1], now())

    def _on(self, answer: base.Answer, reply: base.Reply, tconst: str, depth: int,
            crawled_at: str) -> Iterator[Any]:
        """What the crawl does with a source's answer about ``tconst``."""
        for key in answer.counts:
            self.crawler.stats.inc_value(key)
        attempts = reply.meta.get("attempts", 1)
        match answer:
            case _ if settled := self.credits.settle(answer, reply.meta, reply.url, reply.status):
                yield settled  # its full credits page is answered: the title's row
            case base.Page(record=record, captured_at=captured_at):
                ask = self.credits.wait_for(tconst, depth, record, crawled_at, captured_at)
                yield (self._request(tconst, depth, ask) if ask is not None else
                       self.outcomes.title(tconst, depth, record, crawled_at, captured_at))
            case base.Refusal(reason=reason, detail=detail, captured_at=captured_at):
                yield self.outcomes.failure(reply.url, tconst, depth, reason, reply.status,
                                            attempts, crawled_at, detail, captured_at)
            case base.Merge(canonical=canonical, captured_at=captured_at, page=page):
                item, is_new = self.outcomes.merge(reply.url, tconst, depth, canonical,
                                                   reply.status, attempts, crawled_at,
                                                   captured_at)
                yield item
                if is_new and page is not None:  # the canonical title's page is this one
                    yield from self._on(page, reply, canonical, depth, crawled_at)
                elif is_new:
                    yield self.title_request(canonical, depth)
            case base.Follow(ask=ask, captured_at=captured_at):
                hops = reply.meta.get("same_title_redirects", 0)
                if hops >= MAX_SAME_TITLE_REDIRECTS:  # one that keeps coming back: a loop
                    loop = base.Refusal("redirect_loop", f"redirects to itself again: {ask.url}",
                                        captured_at)
                    yield from self._on(loop, reply, tconst, depth, crawled_at)
                else:
                    self.crawler.stats.inc_value("titles/same_title_redirects")
                    yield self._request(tconst, depth, ask, attempts=attempts,
                                        same_title_redirects=hops + 1)
            case base.Retry(ask=ask, kind=kind, otherwise=otherwise):
                if attempts <= self.retry_times:
                    self.crawler.stats.inc_value(f"retry/reason/{kind}")
                    yield self._request(tconst, depth, ask, attempts=attempts + 1)
                else:
                    yield from self._on(otherwise, reply, tconst, depth, crawled_at)
            case base.Render(ask=ask):
                yield self._request(tconst, depth, ask, attempts=attempts)
            case base.NextCapture(ask=ask):
                yield self._request(tconst, depth, ask)
            case base.ReuseCapture():
                for canonical in self.refresh.reuse_listed(tconst, depth):
                    yield self.title_request(canonical, depth)

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value if failure.value is not None else RuntimeError("unknown failure")
        if isinstance(exc, CrawlStopped):
            return  # never sent: the title stays pending, and the close accounts for it
        meta, reason, detail = request.meta, exception_reason(exc), exception_detail(exc)
        yield (self.credits.settle(base.Refusal(reason, detail), meta, request.url, None)
               or self.outcomes.failure(request.url, meta["tconst"], meta["title_depth"],
                                        reason, None, meta.get("attempts", 1), now(), detail))

    def _on_run_recorded(self, finish_reason: str) -> None:
        if self.jobdir is not None and finish_reason == "finished":
            job.mark_finished(self.jobdir, self.run, utc_now())
        self.frontier.release()
