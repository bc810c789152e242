"""The ``more_like_this`` spider: breadth-first along IMDb's "More like this" links.

It only decides what to fetch next.  Reading a page is ``crawler.extraction``;
naming failures is ``crawler.failures``; the frontier is ``crawler.frontier.local``;
JOBDIR state is ``crawler.state.job``; typing values is ``pipelines.normalize``;
writing is ``pipelines.parquet``.  Every title it schedules ends as a row of
``titles``, ``failures`` or ``aliases``.

    scrapy crawl more_like_this -a seed=tt0050634 -a depth=2 -a max_titles=1000

``scrapy parse --spider more_like_this <title URL>`` checks one page: it prints the
title's item, requests no other title and writes nothing to OUTPUT_DIR (see
``crawler.commands.parse``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CloseSpider, DontCloseSpider

from crawler import defaults
from crawler import signals as our_signals
from crawler.arguments import check_render, job_arguments, parse_arguments
from crawler.checks import check_base_url
from crawler.extraction import extract_page
from crawler.failures import (
    WAF_ACTION_HEADER,
    CrawlStopped,
    block_reason,
    exception_detail,
    exception_reason,
    header_text,
)
from crawler.frontier.local import Frontier, FrontierUnavailable, TitleFrontier, clean_links
from crawler.ids import is_tconst, tconst_from_url, title_url
from crawler.items import AliasItem, FailureItem, OutcomeItem, ReusedItem, title_item
from crawler.records import PageKind, TitleRecord
from crawler.sources.archive import (
    Archive,
    archive_from_settings,
    is_latest,
    parse_as_of,
    recorded_header,
)
from crawler.sources.cdx import CaptureFailure, Reuse, Walk, parse_listing, plan
from crawler.state import job
from crawler.state.run import Run, check_run_id, new_run_id, source_of, utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.state.history import Fetch, History

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
        as_of: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        args = parse_arguments(seed, depth, max_titles, refresh, as_of)
        started_at = utc_now()
        self.run = Run(
            run_id=check_run_id(run_id) if run_id is not None else new_run_id(started_at),
            seeds=args.seeds, depth=args.depth, max_titles=args.max_titles,
            arguments=job_arguments(args), started_at=started_at,
            refresh_seconds=args.refresh,
            as_of=(None if args.as_of is None else started_at if is_latest(args.as_of)
                   else parse_as_of(args.as_of)),
        )
        self.frontier: TitleFrontier = Frontier(self.run.seeds, self.run.depth,
                                                self.run.max_titles)
        self.base_url = defaults.BASE_URL
        self.render_mode = "never"
        self.jobdir: str | None = None
        self.allowed_domains: list[str] = []  # the site's host only (set from IMDB_BASE_URL)
        self.max_merge_chain = 5
        self._refetched: set[str] = set()  # titles fetched again after being lost once
        self._last_block: dict[str, str] = {}  # tconst -> reason of its last block
        self._due: list[OutcomeItem] = []  # outcomes for the exporter's next commit
        self._unrequested: deque[str] = deque()  # titles taken, to be requested
        self.history: History | None = None  # what earlier runs committed (-a refresh)
        self._closing: asyncio.Future[None] | None = None
        self.archive: Archive | None = None  # -a as_of: titles come from this archive

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # The browser download handler is installed only when a browser may be used.
        if str(settings.get("RENDER", "never")).strip().lower() in ("auto", "always"):
            from crawler.download.rendering import configure

            configure(settings)
        if str(settings.get("ARCHIVE_WARC") or "").strip():
            from crawler.sources.warc import configure as configure_warc

            configure_warc(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> MoreLikeThisSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = check_base_url(settings.get("IMDB_BASE_URL"))
        spider.render_mode = check_render(settings.get("RENDER", "never"))
        spider.allowed_domains = [urlsplit(spider.base_url).hostname or ""]
        spider.max_merge_chain = settings.getint("CRAWL_MAX_MERGE_CHAIN")
        spider.jobdir = settings.get("JOBDIR") or None
        spider.archive = archive_from_settings(spider.run.arguments.get("as_of"), settings.get)
        if spider.archive is not None:
            spider.allowed_domains = [spider.archive.host]  # the archive's host only
            spider.run.source = source_of(True, settings.get("ARCHIVE_WARC"))
        if settings.getbool("CHECK_ONE_PAGE"):
            return spider  # `scrapy parse` asks for its one page itself: feed nothing
        output_dir = settings.get("OUTPUT_DIR")
        if settings.get("FRONTIER_URL"):
            from crawler.frontier.shared import join

            spider.frontier, spider.run = join(settings, spider.run, output_dir)
            spider._start_polling(settings.getfloat("FRONTIER_POLL_SECONDS"))
        elif spider.jobdir:
            spider.run = job.open_job(spider.jobdir, spider.run)
        if spider.archive is not None and spider.archive.latest:
            # "Now" is the run's start, a resumed session's too: one run, one as_of.
            spider.run.as_of = spider.run.started_at
            spider.archive = spider.archive.at(spider.run.started_at)
        if spider.run.refresh_seconds:
            spider.history = job.load_history(output_dir, spider.run)
        if spider.run.resumed and not spider.frontier.shared:
            spider._resume(output_dir)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._feed, signal=signals.scheduler_empty)
        crawler.signals.connect(spider.outcomes_due, signal=our_signals.outcomes_due)
        crawler.signals.connect(spider._on_block, signal=our_signals.title_blocked)
        crawler.signals.connect(spider._on_run_recorded, signal=our_signals.run_recorded)
        crawler.signals.connect(spider.frontier.chunk_committed,
                                signal=our_signals.chunk_committed)
        return spider

    def _start_polling(self, interval: float) -> None:
        """A shared crawl waits on other workers (a level's last titles, their commits):
        look again every ``interval`` seconds rather than at Scrapy's 5 s idle beat."""
        from twisted.internet import task

        self._poll_call = task.LoopingCall(self._poll)
        self._poll_ticks = 0
        self._poll_every = max(1, round(1.0 / interval))  # heartbeat and reap once a second
        self.crawler.signals.connect(self._poll_start, signal=signals.spider_opened)
        self.crawler.signals.connect(self._poll_stop, signal=signals.spider_closed)
        self._poll_interval = interval

    def _poll_start(self) -> None:
        self._poll_call.start(self._poll_interval, now=False)

    def _poll_stop(self) -> None:
        if self._poll_call.running:
            self._poll_call.stop()

    def _poll(self) -> None:
        engine = self.crawler.engine
        if engine is None or self._closing is not None:
            return
        try:
            if self._poll_ticks % self._poll_every == 0:
                self.frontier.heartbeat()
                self.frontier.reap()
            self._poll_ticks += 1
            if self.frontier.stop_reason:
                self._close(self.frontier.stop_reason)
            elif engine.spider_is_idle() and not self._step():
                self._close("finished")
        except FrontierUnavailable as exc:
            # Without its lease this worker's titles go to others: stop; what it did not
            # commit is fetched again once the crawl goes on.
            logger.error("shared frontier lost: %s", exc)
            self._close("frontier_lost")
        except Exception:  # a Redis hiccup: the next beat tries again
            logger.exception("shared frontier: poll failed")

    def _close(self, reason: str) -> None:
        logger.info("shared crawl: closing this worker (%s)", reason)
        if reason == "frontier_lost":
            self.crawler.stats.set_value("run/error", "the shared frontier (FRONTIER_URL) "
                                         "could not be reached")
        self._closing = asyncio.ensure_future(
            self.crawler.engine.close_spider_async(reason=reason))

    def _resume(self, output_dir: str) -> None:
        self.frontier = job.replay(output_dir, self.run, self.history)
        done = len(self.frontier.done)
        logger.info("resuming run %s at depth %d: %d titles already done, %d to fetch at "
                    "this depth", self.run.run_id, self.frontier.depth, done,
                    len(self.frontier.pending))

    # --- requests --------------------------------------------------------------------

    def _title_url(self, tconst: str) -> str:
        """The site's title URL, or with as_of the archive's replay URL of it."""
        if self.archive is not None:
            return self.archive.title_url(tconst)
        return title_url(self.base_url, tconst)

    def title_request(self, tconst: str, depth: int, **meta: Any) -> scrapy.Request:
        if self.archive is not None and self.archive.latest:
            return self._latest_request(self.archive, tconst, depth, **meta)
        meta = {
            "tconst": tconst,
            "title_depth": depth,
            "attempts": 1,
            # Redirects are decided here: a merged title becomes an alias, another host
            # is refused; so are error statuses, which become failures, not silence.
            "dont_redirect": True,
            "handle_httpstatus_all": True,
            "archive": self.archive is not None,
            **meta,
        }
        if self.render_mode == "always" or meta.pop("render", False):
            from crawler.download.rendering import browser_meta

            meta.update(browser_meta(self.base_url))
        return scrapy.Request(
            self._title_url(tconst),
            callback=self.parse_title,
            errback=self.on_error,
            meta=meta,
            dont_filter=True,
        )

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.run.resumed:
            self.crawler.stats.set_value(
                "resume/titles_done", sum(done for done, _ in self.frontier.per_depth().values()))
        over = self.frontier.seeds_over_limit
        if over:
            logger.warning("%d seed(s) beyond max_titles=%d were not scheduled: %s%s",
                           len(over), self.run.max_titles, ", ".join(over[:10]),
                           ", ..." if len(over) > 10 else "")
        self._report_limits()
        self._fill()
        while self._unrequested:
            request = self._request_or_failure(self._unrequested.popleft(),
                                               self.frontier.depth)
            if request is not None:
                yield request  # Scrapy takes start requests as it has room: no pile-up
            if not self._unrequested:
                self._fill()

    def _on_idle(self) -> None:
        if self._step():
            raise DontCloseSpider
        if self.frontier.stop_reason:
            raise CloseSpider(self.frontier.stop_reason)

    def _step(self) -> bool:
        """Nothing is in flight here: feed more of the level, or, once the level is
        complete, commit it and start the next one.  False when the crawl is over.

        A level whose titles were all reused is complete at once, so the loop goes on
        to the next one without waiting for the engine.  In a shared crawl, a level is
        fetched once no worker holds a title of it without an outcome; each worker then
        commits its part, and the level is complete once all of them have.
        """
        if self.frontier.stop_reason:
            return False
        if self._feed():
            return True
        if self.frontier.pending and self._recover_lost(self.frontier.pending):
            return True
        while True:
            if not self.frontier.level_fetched():
                return True  # other workers still fetching
            self.crawler.signals.send_catch_log(signal=our_signals.checkpoint)
            if not self.frontier.level_complete():
                return True  # other workers still committing
            finished_depth = self.frontier.depth
            if not self.frontier.advance():
                return False
            self._report_limits()
            logger.info("depth %d complete; depth %d: %d titles", finished_depth,
                        self.frontier.depth, self.frontier.level_size())
            if self._feed():
                return True

    def _feed(self) -> bool:
        """Request the level's next FEED_BATCH titles; False when there was none to request.

        Called when Scrapy's scheduler runs dry: a level may hold tens of thousands of
        titles, and a Request made for each at once grew the crawl's memory with the
        crawl (~100 MB at 100,000 titles)."""
        self._fill()
        depth = self.frontier.depth
        fed = False
        for _ in range(min(FEED_BATCH, len(self._unrequested))):
            request = self._request_or_failure(self._unrequested.popleft(), depth)
            if request is not None:
                self.crawler.engine.crawl(request)
                fed = True
            if not self._unrequested:
                self._fill()
        return fed

    def _fill(self) -> None:
        """Take titles from the frontier until some are to be fetched (fresh ones are
        reused instead), or the frontier has none to give."""
        while not self._unrequested and (titles := self.frontier.take()):
            self._unrequested.extend(self._to_fetch(titles))

    def _to_fetch(self, titles: list[str]) -> list[str]:
        """Which of these titles to fetch, in order; fresh ones are reused instead (a
        merge target a reused alias leads to is decided in turn)."""
        depth = self.frontier.depth
        to_fetch: list[str] = []
        todo = titles
        while todo:
            reused_pages = []
            joined = []
            for tconst in todo:
                reused, canonical = self._reuse(tconst, depth)
                if reused == "title":
                    reused_pages.append(tconst)
                elif reused is None:
                    to_fetch.append(tconst)
                if canonical is not None:
                    joined.append(canonical)
            if reused_pages and self.history is not None:
                for tconst, similar in self.history.edges(reused_pages).items():
                    self.frontier.record_links(tconst, similar)
            todo = joined
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

    def _reuse(self, tconst: str, depth: int) -> tuple[str | None, str | None]:
        """With ``-a refresh``, a title whose last fetch is fresh is not fetched again: it
        gets a ``reused`` row, and its recorded edges (or merge) carry the walk on.
        Returns the reused outcome ("title" or "alias", None to fetch the title), and the
        canonical title a reused merge newly brought into the level."""
        if self.history is None:
            return None, None
        fetch = self.history.reusable(tconst, utc_now(),
                                      timedelta(seconds=self.run.refresh_seconds))
        if fetch is None or (self.archive is not None and fetch.captured_at is not None
                             and self.archive.too_far(fetch.captured_at)):
            return None, None
        return self._reused(tconst, depth, fetch)

    def _reused(self, tconst: str, depth: int, fetch: Fetch) -> tuple[str | None, str | None]:
        """``fetch`` stands for ``tconst``: its ``reused`` row, and its merge followed."""
        canonical = fetch.canonical_tconst
        if fetch.outcome == "alias" and (
            canonical is None
            or self.frontier.merge_problem(tconst, canonical, self.max_merge_chain)
        ):
            return None, None  # not a merge to follow as it is: ask the site again
        self._due.append(ReusedItem(
            tconst=tconst, depth=depth, fetched_run_id=fetch.run_id,
            fetched_at=fetch.crawled_at.isoformat(), run_id=self.run.run_id,
            crawled_at=_now()))
        self.crawler.stats.inc_value("titles/reused")
        joined = None
        if canonical is not None and fetch.outcome == "alias":
            if self.frontier.record_alias(tconst, canonical):
                joined = canonical
            self._report_limits()
        self.frontier.resolve(tconst, "reused")
        return fetch.outcome, joined

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
                self._title_url(tconst), tconst, depth, "lost", None,
                {"attempts": 2}, _now(), "no outcome after two requests"))
        return again

    # --- responses -------------------------------------------------------------------

    @staticmethod
    def _asked(response: Response) -> tuple[str, int] | None:
        """The title a response answers and its depth: from the meta of the spider's own
        requests, or, for one it did not make (``scrapy parse``), from the first URL
        asked for, at depth 0.  None when that URL is not a title's."""
        meta = response.meta
        if "tconst" in meta:
            return meta["tconst"], meta["title_depth"]
        tconst = tconst_from_url((meta.get("redirect_urls") or [response.url])[0])
        return (tconst, 0) if tconst is not None else None

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Scrapy's default callback (``scrapy parse`` without ``-c``): a title page."""
        return self.parse_title(response)

    def parse_title(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        asked = self._asked(response)
        if asked is None:
            logger.error("%s is not a title URL (/title/tt.../)", response.url)
            return
        tconst, depth = asked
        crawled_at = _now()
        status = response.status
        self.crawler.stats.inc_value(f"titles/status/{status}")
        if self.archive is not None:
            yield from self._archive_answer(self.archive, response, tconst, depth, crawled_at)
            return

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
                             crawled_at=crawled_at, captured_at=meta.get("captured_at"))
            self.crawler.stats.inc_value("titles/done")
            self.frontier.record_links(
                tconst, [s["tconst"] for s in record.get("more_like_this") or []]
            )
            self.frontier.resolve(tconst, "title")
            return
        attempts = meta.get("attempts", 1)
        # Along a walk of captures (as_of=latest) an empty one is passed over at once.
        retry_kinds = {PageKind.TRUNCATED} if meta.get("walk") else RETRY_KINDS
        if kind in retry_kinds and attempts <= self.settings.getint("CRAWL_RETRY_TIMES"):
            self.crawler.stats.inc_value(f"retry/reason/{kind}")
            yield self.title_request(tconst, depth, attempts=attempts + 1,
                                     rendered=bool(meta.get("rendered")),
                                     render=bool(meta.get("playwright")), walk=meta.get("walk"))
            return
        reason = "blocked" if kind is PageKind.CHALLENGE else str(kind)
        if meta.get("captured_at"):  # the archive recorded it so: not a page we were served
            reason = f"archived_{reason}"
        detail = result.get("reason")
        if kind is PageKind.WRONG_TITLE and result.get("found_tconst"):
            detail = f"page is about {result['found_tconst']}"
        yield from self._unusable(response, tconst, depth, reason, crawled_at, detail)

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
        yield from self._merge_into(response, tconst, depth, target_url, crawled_at)

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
                                 same_title_redirects=hops + 1,
                                 walk=meta.get("walk")).replace(url=target_url)

    def _merge_into(
        self, response: Response, tconst: str, depth: int, target_url: str, crawled_at: str
    ) -> Iterator[Any]:
        """``tconst`` redirects to another title's ``target_url``: its row, then the
        canonical title's request when that title is new to this crawl."""
        item, is_new = self._merged(response, tconst, depth, target_url, crawled_at)
        yield item
        canonical = tconst_from_url(target_url)
        if is_new and canonical is not None:
            yield self.title_request(canonical, depth)

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
                          crawled_at=crawled_at, captured_at=meta.get("captured_at"))
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
            crawled_at=crawled_at, captured_at=meta.get("captured_at"),
        )

    # --- answers of the archive (-a as_of; see crawler.sources.archive) ---------------------

    def _archive_answer(
        self, archive: Archive, response: Response, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        """A capture is read like the site's answer, with its own time; a capture too far
        from as_of, or none at all, is ``not_archived``; a capture of an error, a block or
        a 404 is never read as a title (``archived_<reason>``)."""
        meta = response.meta
        status = response.status
        captured = archive.capture_time(response.url, response.headers, status)
        if captured is not None:
            meta["captured_at"] = captured.isoformat()
            if archive.too_far(captured):
                yield self._failure(response.url, tconst, depth, "not_archived", status, meta,
                                    crawled_at, archive.distance_text(captured))
                return
        if captured is None:
            block = block_reason(status, response.headers)
        else:  # the capture's own headers, as recorded (the Wayback Machine prefixes them)
            action = recorded_header(response.headers, WAF_ACTION_HEADER)
            block = block_reason(status, {WAF_ACTION_HEADER: action} if action else {})
        if status in REDIRECT_CODES and block is None:
            yield from self._archive_redirect(archive, response, tconst, depth, crawled_at)
            return
        if captured is None:  # the archive's own answer
            if block is not None:
                yield self._failure(response.url, tconst, depth, block, status, meta,
                                    crawled_at, f"HTTP {status} from the archive")
            elif status in (404, 410):
                yield self._failure(response.url, tconst, depth, "not_archived", status, meta,
                                    crawled_at, "no capture")
            else:
                yield self._failure(response.url, tconst, depth, f"http_{status}", status,
                                    meta, crawled_at, "the archive's answer, not a capture")
            return
        if block is not None or status >= 300:
            reason = block or ("not_found" if status in (404, 410) else f"http_{status}")
            yield from self._unusable(response, tconst, depth, f"archived_{reason}",
                                      crawled_at, f"the capture is an HTTP {status} answer")
            return
        yield from self._read_page(response, tconst, depth, crawled_at)

    # --- as_of=latest: a title's captures listed by one CDX query (crawler.sources.cdx) ------

    def _latest_request(self, archive: Archive, tconst: str, depth: int,
                        **meta: Any) -> scrapy.Request:
        """The title's CDX query, or, along its walk, the replay of its next capture."""
        walk: Walk | None = meta.get("walk")
        meta.pop("render", None)  # captures are read as recorded
        meta = {"tconst": tconst, "title_depth": depth, "attempts": 1, "dont_redirect": True,
                "handle_httpstatus_all": True, "archive": True, **meta}
        if walk is None:
            return scrapy.Request(archive.title_url(tconst), callback=self.parse_listing,
                                  errback=self.on_error, meta={**meta, "cdx": True},
                                  dont_filter=True)
        return scrapy.Request(archive.capture_url(tconst, walk.first),
                              callback=self.parse_title, errback=self.on_error, meta=meta,
                              dont_filter=True)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """The CDX API's list of a title's captures: the newest that may be usable is read
        (newer than the dataset's, in a refresh run), or the dataset's is reused."""
        meta = response.meta
        tconst: str = meta["tconst"]
        depth: int = meta["title_depth"]
        crawled_at = _now()
        assert self.archive is not None
        self.crawler.stats.inc_value(f"archive/cdx_status/{response.status}")
        refused = block_reason(response.status, response.headers)
        if refused is not None or response.status != 200:
            yield self._failure(response.url, tconst, depth, refused or f"http_{response.status}",
                                response.status, meta, crawled_at,
                                "the archive's answer to the CDX query")
            return
        try:
            captures = parse_listing(response.body)
        except ValueError as exc:
            yield self._failure(response.url, tconst, depth, "cdx_unreadable", 200, meta,
                                crawled_at, f"not a list of captures: {exc}"[:500])
            return
        known = self._known_capture(self.archive, tconst)
        decision = plan(captures, self.archive.since(),
                        known.captured_at if known is not None else None)
        yield from self._walk(response, tconst, depth, crawled_at, decision)

    def _unusable(self, response: Response, tconst: str, depth: int, reason: str,
                  crawled_at: str, detail: str | None) -> Iterator[Any]:
        """A capture that is no title page nor merge: along a walk, passed over for the
        next older one; else the title's failure."""
        walk: Walk | None = response.meta.get("walk")
        if walk is None or not reason.startswith("archived_"):
            yield self._failure(response.url, tconst, depth, reason, response.status,
                                response.meta, crawled_at, detail)
            return
        self.crawler.stats.inc_value(f"archive/passed_over/{reason}")
        yield from self._walk(response, tconst, depth, crawled_at, walk.passed_over(reason))

    def _walk(self, response: Response, tconst: str, depth: int, crawled_at: str,
              decision: Walk | CaptureFailure | Reuse) -> Iterator[Any]:
        if isinstance(decision, Walk):
            yield self.title_request(tconst, depth, walk=decision)
        elif isinstance(decision, Reuse):
            yield from self._reuse_listed(tconst, depth)
        else:
            captured = decision.captured_at.isoformat() if decision.captured_at else None
            yield self._failure(response.url, tconst, depth, decision.reason, response.status,
                                {**response.meta, "captured_at": captured}, crawled_at,
                                decision.detail)

    def _known_capture(self, archive: Archive, tconst: str) -> Fetch | None:
        """In a refresh run, the dataset's capture of the title when it may stand for it:
        a page, or a merge that can still be followed, within ARCHIVE_MAX_DISTANCE."""
        fetch = self.history.latest(tconst) if self.history is not None else None
        if fetch is None or fetch.captured_at is None or archive.too_far(fetch.captured_at):
            return None
        if fetch.outcome == "alias" and (
            fetch.canonical_tconst is None
            or self.frontier.merge_problem(tconst, fetch.canonical_tconst, self.max_merge_chain)
        ):
            return None
        return fetch

    def _reuse_listed(self, tconst: str, depth: int) -> Iterator[Any]:
        """The archive holds no newer usable capture: the dataset's is reused, its edges
        (or its merge) carry the walk on, as for a title fresh by age."""
        assert self.history is not None
        fetch = self.history.latest(tconst)
        assert fetch is not None
        self.crawler.stats.inc_value("archive/reused_unchanged")
        outcome, joined = self._reused(tconst, depth, fetch)
        if outcome == "title":
            self.frontier.record_links(tconst, self.history.edges([tconst])[tconst])
        for canonical in self._to_fetch([joined]) if joined is not None else []:
            yield self.title_request(canonical, depth)

    def _archive_redirect(
        self, archive: Archive, response: Response, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        """To the same title's capture (the nearest one, or a recorded redirect to itself):
        followed, hops bounded; to another title's: a merge; anywhere else: refused."""
        meta = response.meta
        target_url = urljoin(response.url, header_text(response.headers, b"Location"))
        replay = archive.replay_of(target_url)
        if replay is None or replay.tconst is None:
            host = urlsplit(replay.original if replay is not None else target_url).hostname or ""
            imdb = host == "imdb.com" or host.endswith(".imdb.com")
            if archive.on_archive(target_url) if replay is None else imdb:
                yield self._failure(response.url, tconst, depth, "redirect_not_a_title",
                                    response.status, meta, crawled_at, target_url)
                return
            self.crawler.stats.inc_value("offsite/redirects_dropped")
            yield self._failure(response.url, tconst, depth, "offsite_redirect",
                                response.status, meta, crawled_at, f"redirect to {host}")
            return
        if replay.tconst == tconst:
            if archive.too_far(replay.time):
                meta["captured_at"] = replay.time.isoformat()
                yield self._failure(response.url, tconst, depth, "not_archived",
                                    response.status, meta, crawled_at,
                                    archive.distance_text(replay.time))
                return
            yield from self._same_title_redirect(response, tconst, depth, target_url,
                                                 crawled_at)
            return
        yield from self._merge_into(response, tconst, depth, target_url, crawled_at)

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
        if not closing or self.jobdir is not None or self.frontier.shared:
            return due
        stamp = _now()
        for tconst in self.frontier.pending:
            reason = self._last_block.get(tconst, "not_fetched")
            due.append(FailureItem(
                tconst=tconst, url=self._title_url(tconst),
                depth=self.frontier.depth, reason=reason, http_status=None, attempts=0,
                detail="the crawl stopped before the title had an outcome",
                run_id=self.run.run_id, crawled_at=stamp,
            ))
        return due

    def _on_run_recorded(self, finish_reason: str) -> None:
        if self.jobdir is not None and finish_reason == "finished":
            job.mark_finished(self.jobdir, self.run, utc_now())
        self.frontier.release()
