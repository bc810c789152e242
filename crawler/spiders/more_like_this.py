"""The ``more_like_this`` spider: breadth-first along IMDb's "More like this" links.

It only decides what to fetch next.  Reading a page is ``crawler.extraction``;
turning values into typed columns is ``pipelines.normalize``; writing is
``pipelines.parquet``.  Every title it schedules ends as a row of ``titles``,
``failures`` or ``aliases``.

    scrapy crawl more_like_this -a seed=tt0050634 -a depth=2 -a max_titles=1000
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest

from crawler import signals as our_signals
from crawler.arguments import check_base_url, check_render, job_arguments, parse_arguments
from crawler.extraction import extract_page
from crawler.frontier import Frontier
from crawler.ids import tconst_from_url, title_url
from crawler.items import AliasItem, FailureItem, items_from_record
from crawler.records import PageKind, TitleRecord

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
REDIRECT_CODES = {301, 302, 303, 307, 308}
# Kinds of page worth asking for again (a cut connection, a glitch), unlike a 404.
RETRY_KINDS = {PageKind.TRUNCATED, PageKind.EMPTY}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class MoreLikeThisSpider(scrapy.Spider):
    name = "more_like_this"

    def __init__(
        self,
        seed: str = "tt0050634",
        depth: str | int = 2,
        max_titles: str | int = 1000,
        run_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        args = parse_arguments(seed, depth, max_titles)
        if run_id is not None and not RUN_ID_RE.match(run_id):
            raise ValueError(f"run_id={run_id!r}: expected letters, digits, '-' or '_'")
        self.seeds = args.seeds
        self.max_depth = args.depth
        self.max_titles = args.max_titles
        self.crawl_arguments = job_arguments(args)
        self.started_at = datetime.now(UTC)
        self.run_id = run_id or (
            self.started_at.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        )
        self.frontier = Frontier(self.seeds, self.max_depth, self.max_titles)
        self.resumed = False
        self.base_url = "https://www.imdb.com"
        self.render_mode = "never"
        self.jobdir: Path | None = None
        self._refetched: set[str] = set()
        self._lost: list[FailureItem] = []  # written with the last chunk (see below)

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
        jobdir = settings.get("JOBDIR")
        if jobdir:
            spider.jobdir = Path(jobdir)
            spider._load_job()
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    # --- job state (JOBDIR) ------------------------------------------------------------

    def _load_job(self) -> None:
        """Same run id and arguments as the killed run, so the dataset comes out as one run."""
        assert self.jobdir is not None
        path = self.jobdir / "more_like_this.json"
        if path.exists():
            state = json.loads(path.read_text(encoding="utf-8"))
            if state["arguments"] != self.crawl_arguments:
                raise ValueError(
                    f"JOBDIR {self.jobdir} holds a job with other arguments "
                    f"({state['arguments']}); use another JOBDIR or the same arguments"
                )
            self.run_id = state["run_id"]
            self.started_at = datetime.fromisoformat(state["started_at"])
            self.resumed = True
        else:
            self.jobdir.mkdir(parents=True, exist_ok=True)
            state = {
                "run_id": self.run_id, "arguments": self.crawl_arguments,
                "started_at": self.started_at.isoformat(),
            }
            self._write_job_state(state)

    def _write_job_state(self, state: dict[str, Any]) -> None:
        """Replace the job file atomically: a kill mid-write must not leave it torn."""
        assert self.jobdir is not None
        path = self.jobdir / "more_like_this.json"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)

    def _replay_committed(self) -> None:
        from pipelines.parquet import read_committed

        output_dir = self.settings.get("OUTPUT_DIR")

        def rows(table: str, columns: list[str]) -> list[dict[str, Any]]:
            return read_committed(output_dir, self.run_id, table, columns).to_pylist()

        outcomes: dict[str, str] = {}
        for r in rows("titles", ["tconst"]):
            outcomes[r["tconst"]] = "title"
        for r in rows("failures", ["tconst"]):
            outcomes.setdefault(r["tconst"], "failure")
        aliases = {r["tconst"]: r["canonical_tconst"]
                   for r in rows("aliases", ["tconst", "canonical_tconst"])}
        ranked: dict[str, list[tuple[int, str]]] = {}
        for r in rows("more_like_this", ["tconst", "similar_tconst", "rank"]):
            ranked.setdefault(r["tconst"], []).append((r["rank"], r["similar_tconst"]))
        edges = {t: [s for _, s in sorted(v)] for t, v in ranked.items()}
        self.frontier = Frontier.replay(
            self.seeds, self.max_depth, self.max_titles, outcomes, edges, aliases
        )
        self.crawler.stats.set_value("resume/titles_done", len(outcomes))
        logger.info(
            "resuming run %s at depth %d: %d titles already done, %d to fetch at this depth",
            self.run_id, self.frontier.depth, len(outcomes), len(self.frontier.pending),
        )

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
        if self.render_mode == "always":
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
        if self.resumed:
            self._replay_committed()
        depth = self.frontier.depth
        for tconst in self.frontier.pending:
            yield self.title_request(tconst, depth)

    def _on_idle(self) -> None:
        """A level is complete: commit it, then start the next one (or let the crawl end)."""
        # Every request has an errback, so nothing should be left here; if something is
        # (a middleware dropped a request silently), fetch it once more rather than lose it.
        lost = [t for t in self.frontier.pending if t not in self._refetched]
        for tconst in self.frontier.pending:
            if tconst in self._refetched:
                logger.error("title %s was lost twice without an outcome; giving it up", tconst)
                self.crawler.stats.inc_value("titles/lost")
                self._lost.append(self._failure(
                    title_url(self.base_url, tconst), tconst, self.frontier.depth, "lost",
                    None, {"attempts": 2}, _now()))
        if lost:
            for tconst in lost:
                logger.error("title %s had no outcome at the end of its level; fetching again",
                             tconst)
                self._refetched.add(tconst)
                self.crawler.engine.crawl(self.title_request(tconst, self.frontier.depth))
            raise DontCloseSpider
        self.crawler.signals.send_catch_log(signal=our_signals.checkpoint)
        finished_depth = self.frontier.depth
        next_level = self.frontier.advance()
        if not next_level:
            return
        logger.info("depth %d complete; fetching %d titles at depth %d",
                    finished_depth, len(next_level), self.frontier.depth)
        for tconst in next_level:
            self.crawler.engine.crawl(self.title_request(tconst, self.frontier.depth))
        raise DontCloseSpider

    # --- responses -------------------------------------------------------------------

    def parse_title(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        tconst: str = meta["tconst"]
        depth: int = meta["title_depth"]
        crawled_at = _now()
        status = response.status
        self.crawler.stats.inc_value(f"titles/status/{status}")

        if status in REDIRECT_CODES:
            yield from self._on_redirect(response, tconst, depth, crawled_at)
            return
        if status in (404, 410):
            yield self._failure(response.url, tconst, depth, "not_found", status, meta,
                                crawled_at)
            return
        if status >= 400 and status != 202:
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
            meta = {**meta, "tconst": final}  # a retry of this page is the canonical's
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        result = extract_page(response.body, response.url, status, ctype)
        kind = result["kind"]
        self.crawler.stats.inc_value(f"pages/{kind}")
        if kind is PageKind.TITLE and result["title"] is not None:
            record = result["title"]
            if self._wants_browser(record, meta):
                from crawler.rendering import browser_meta

                self.crawler.stats.inc_value("render/auto_refetch")
                yield response.request.replace(
                    meta={**meta, **browser_meta(self.base_url), "rendered": True},
                    dont_filter=True,
                )
                return
            yield from self._title_items(record, tconst, depth, crawled_at)
            self.frontier.record_links(
                tconst, [s["tconst"] for s in record.get("more_like_this") or []]
            )
            self.frontier.resolve(tconst, "title")
            return
        if kind in RETRY_KINDS and meta.get("attempts", 1) <= self.settings.getint(
            "CRAWL_RETRY_TIMES"
        ):
            self.crawler.stats.inc_value(f"retry/reason/{kind}")
            yield response.request.replace(
                meta={**meta, "attempts": meta.get("attempts", 1) + 1}, dont_filter=True
            )
            return
        reason = "blocked" if kind is PageKind.CHALLENGE else str(kind)
        detail = result.get("reason")
        if kind is PageKind.WRONG_TITLE and result.get("found_tconst"):
            detail = f"page is about {result['found_tconst']}"
        yield self._failure(response.url, tconst, depth, reason, status, meta, crawled_at,
                            detail)

    def _wants_browser(self, record: TitleRecord, meta: dict[str, Any]) -> bool:
        """In RENDER=auto, a page whose JavaScript-filled parts are missing is rendered."""
        if self.render_mode != "auto" or meta.get("rendered") or meta.get("playwright"):
            return False
        return not record.get("more_like_this")

    def _on_redirect(
        self, response: Response, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        location = response.headers.get(b"Location", b"").decode("latin-1")
        target_url = urljoin(response.url, location)
        item, is_new = self._merged(response, tconst, depth, target_url, crawled_at)
        yield item
        if is_new:
            canonical = tconst_from_url(target_url)
            assert canonical is not None
            yield self.title_request(canonical, depth)

    def _merged(
        self, response: Response, tconst: str, depth: int, target_url: str, crawled_at: str
    ) -> tuple[AliasItem | FailureItem, bool]:
        """``tconst`` redirects to ``target_url``: its row, and whether the canonical title
        is new to this crawl (to be fetched, or parsed from this very response)."""
        target_host = urlsplit(target_url).hostname
        canonical = tconst_from_url(target_url)
        if target_host not in self.allowed_domains:
            self.crawler.stats.inc_value("offsite/redirects_dropped")
            return self._failure(response.url, tconst, depth, "offsite_redirect",
                                 response.status, response.meta, crawled_at,
                                 f"redirect to {target_host}"), False
        if canonical is None or canonical == tconst:
            return self._failure(response.url, tconst, depth, "redirect_not_a_title",
                                 response.status, response.meta, crawled_at, target_url), False
        self.crawler.stats.inc_value("titles/aliases")
        alias = AliasItem(tconst=tconst, canonical_tconst=canonical, run_id=self.run_id,
                          crawled_at=crawled_at)
        return alias, self.frontier.record_alias(tconst, canonical)

    def _title_items(
        self, record: TitleRecord, tconst: str, depth: int, crawled_at: str
    ) -> Iterator[Any]:
        yield from items_from_record(record, depth=depth, run_id=self.run_id,
                                     crawled_at=crawled_at)
        self.crawler.stats.inc_value("titles/done")

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
            tconst=tconst, url=url, depth=depth, reason=reason, http_status=status,
            attempts=meta.get("attempts", 1), run_id=self.run_id, crawled_at=crawled_at,
        )

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        exc = failure.value
        if isinstance(exc, IgnoreRequest):
            reason = "robots_disallowed" if "robots" in str(exc).lower() else "ignored"
        else:
            reason = {
                "DownloadTimeoutError": "timeout",
                "ResponseDataLossError": "connection_lost",
                "DownloadConnectionRefusedError": "connection_refused",
                "DownloadFailedError": "connection_lost",
                "CannotResolveHostError": "dns_error",
                "TimeoutError": "timeout",
                "TCPTimedOutError": "timeout",
                "ResponseFailed": "connection_lost",
                "ResponseNeverReceived": "connection_lost",
                "ConnectionRefusedError": "connection_refused",
                "DNSLookupError": "dns_error",
            }.get(type(exc).__name__, f"error_{type(exc).__name__}")
        yield self._failure(request.url, meta["tconst"], meta["title_depth"], reason, None,
                            meta, _now(), str(exc)[:200])

    # --- end of the crawl -----------------------------------------------------------

    def unfinished_failures(self) -> list[FailureItem]:
        """Titles scheduled but without an outcome when the crawl stops early.

        Without JOBDIR they are recorded as failures ("not_fetched"), so the dataset
        accounts for every scheduled title; with JOBDIR a rerun fetches them instead.
        """
        items = list(self._lost)
        if self.jobdir is not None:
            return items
        stamp = _now()
        for tconst in self.frontier.pending:
            items.append(FailureItem(
                tconst=tconst, url=title_url(self.base_url, tconst),
                depth=self.frontier.depth, reason="not_fetched", http_status=None,
                attempts=0, run_id=self.run_id, crawled_at=stamp,
            ))
        return items

    def closed(self, reason: str) -> None:
        if self.jobdir is not None and reason == "finished":
            path = self.jobdir / "more_like_this.json"
            state = json.loads(path.read_text(encoding="utf-8"))
            state["finished_at"] = _now()
            self._write_job_state(state)
