"""robots.txt decided per RFC 9309, with one warning line instead of a traceback.

Replaces Scrapy's RobotsTxtMiddleware, which treats a robots.txt it could not get
(a 5xx, a timeout, a refused connection) as allowing everything, and logs the
download error with its traceback.  Here, per RFC 9309 section 2.3.1:

- 2xx: the file is parsed (an empty one allows everything);
- 4xx "unavailable" (2.3.1.3): no restrictions, whatever the error page says;
- 5xx or no answer at all, "unreachable" (2.3.1.4): complete disallow.  So are a 429
  (the site asks us to hold off, as Google also reads it), an AWS WAF block (see
  ``crawler.failures.block_reason``: the rules are unknown) and any other answer,
  e.g. a redirect that could not be followed: where the RFC leaves a choice, we
  choose not to crawl.

The request for robots.txt goes through ``crawler.download.retry`` like any other, so a
passing outage is retried with backoff first; the decision then holds for the
host for the rest of the crawl.  An unreachable robots.txt is logged once, as one
warning line; each title of that host then fails with ``RobotsUnavailable``
(reason ``robots_unavailable``), a disallowed one with ``RobotsDisallowed``
(``robots_disallowed``).

A robots.txt answered with a block that stopped the crawl (``crawler.download.retry``'s
early rule: the site refuses this client) is not that: the titles waiting for it
are never sent, and each ends as ``blocked`` when the crawl closes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.robotstxt import (
    RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware,
)
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler import signals as our_signals
from crawler.failures import (
    CrawlStopped,
    RobotsDisallowed,
    RobotsUnavailable,
    block_reason,
    exception_detail,
    exception_reason,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)


def unreachable_because(response: Response) -> str | None:
    """Why an answer to robots.txt leaves it unreachable (complete disallow), or None
    when it can be read (2xx) or means no rules (4xx but 429)."""
    status = response.status
    block = block_reason(status, response.headers)
    if block is not None:
        return f"{block}, HTTP {status}"
    if 200 <= status < 300 or (400 <= status < 500 and status != 429):
        return None
    return f"HTTP {status}"


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._unreachable: dict[str, str] = {}  # netloc -> why its robots.txt is
        self._stopped: set[str] = set()  # netlocs whose robots.txt a stop kept from going out
        self._blocked: dict[str, str] = {}  # netloc -> the block its robots.txt stopped on

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        netloc = urlparse_cached(request).netloc
        if netloc in self._stopped:
            block = self._blocked.get(netloc)
            tconst = request.meta.get("tconst")
            if block is not None and tconst is not None:  # refused with its site
                self.crawler.signals.send_catch_log(
                    signal=our_signals.title_blocked, tconst=tconst, reason=block)
            raise CrawlStopped("the crawl was stopped before robots.txt was read")
        why = self._unreachable.get(netloc)
        if why is not None:
            self._stats.inc_value("robotstxt/refused_unreachable")
            raise RobotsUnavailable(
                f"robots.txt of {netloc} is unreachable ({why}); RFC 9309: complete disallow")
        if rp is None:
            return
        useragent: str | bytes | None = self._robotstxt_useragent
        if not useragent:
            useragent = request.headers.get(b"User-Agent", self._default_useragent)
            assert useragent is not None
        if not rp.allowed(request.url, useragent):
            self._stats.inc_value("robotstxt/forbidden")
            raise RobotsDisallowed("Forbidden by robots.txt")

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robots_request = Request(
                f"{url.scheme}://{netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True},
                callback=NO_CALLBACK,
            )
            why: str | None
            try:
                response = await self.crawler.engine.download_async(robots_request)
            except CrawlStopped:
                # Never asked: the shared crawl stopped.  Titles waiting on it are not sent.
                self._stop_host(netloc)
                raise
            except Exception as exc:  # any download error: unreachable, one line
                why = f"{exception_reason(exc)}: {exception_detail(exc)}"
                self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            else:
                block = block_reason(response.status, response.headers)
                if block is not None and self._stats.get_value("blocks/stopped"):
                    # The crawl stopped on this very refusal: its titles are blocked.
                    self._blocked[netloc] = block
                    self._stop_host(netloc)
                    return None
                why = unreachable_because(response)
                if why is None:
                    if response.status >= 400:  # unavailable: no rules, not the error page
                        response = response.replace(body=b"")
                    await self._parse_robots(response, netloc, request)
            if why is not None:
                self._refuse_host(netloc, robots_request.url, why)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            # Each waiter gets a Deferred of its own: awaiting the shared one hands its
            # result to the first waiter only (asFuture leaves None behind), and every
            # later request of the host went out with no rules at all.
            waiter: Deferred[RobotParser | None] = Deferred()

            def pass_on(result: RobotParser | None) -> RobotParser | None:
                waiter.callback(result)
                return result

            parser.addCallback(pass_on)
            return await maybe_deferred_to_future(waiter)
        return parser

    def _stop_host(self, netloc: str) -> None:
        """No title of ``netloc`` is sent: the crawl stopped before its robots.txt was read."""
        self._stopped.add(netloc)
        waiting, self._parsers[netloc] = self._parsers[netloc], None
        if isinstance(waiting, Deferred):
            waiting.callback(None)

    def _refuse_host(self, netloc: str, robots_url: str, why: str) -> None:
        logger.warning("%s is unreachable (%s): assuming complete disallow (RFC 9309), so "
                       "every title of %s fails as robots_unavailable", robots_url, why, netloc)
        self._stats.inc_value("robotstxt/unreachable")
        self._unreachable[netloc] = why
        waiting = self._parsers[netloc]
        self._parsers[netloc] = None
        if isinstance(waiting, Deferred):
            waiting.callback(None)
