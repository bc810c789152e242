"""Fetching title pages through headless Chromium (scrapy-playwright), for RENDER=auto/always.

The spider calls ``configure(settings)`` from ``update_settings`` and adds
``browser_meta(base_url)`` to the meta of a request that must go through the
browser; every other request (robots.txt, plain title pages) is a plain HTTP
request through the same download handler.

What the browser may do is narrow on purpose:

* it only ever talks to the host (and port) of ``IMDB_BASE_URL``: a request to
  any other host (a CDN, an ad server, a tracker) is aborted in the page's route
  and in the context's (popups), a navigation of the page to another host is
  cancelled by a script that runs before the page's own, and Chromium's resolver
  refuses every other host name as well;
* it only loads what puts the page's data in the DOM (documents, scripts,
  XHR/fetch); images, media, fonts, stylesheets and the rest are aborted;
* Chromium's own background traffic (updates, sync, field trials) is off.

Aborts are counted in the crawl stats (``render/aborted/offsite``,
``render/aborted/offsite_navigation``, ``render/aborted/resource/<type>``).

A browser that cannot start fails the crawl loudly: the handler starts it when
the spider opens and closes the spider with finish reason ``browser_failed``
(and an error naming the package to install) when it cannot; a launch that
fails later, e.g. a restart after a crash, closes the crawl the same way.

Settings read here (all optional but ``IMDB_BASE_URL``):

* ``BROWSER_EXECUTABLE``: Chromium binary, default Debian's
  ``/usr/lib/chromium/chromium-headless-shell`` (package ``chromium-headless-shell``).
* ``BROWSER_EXTRA_HOSTS``: hosts, besides the site's, from which scripts and
  XHR/fetch may load (never documents); empty by default.  The real site serves
  its scripts from a CDN host, so rendering it fully needs that host here.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CloseSpider
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from scrapy_playwright.page import PageMethod

from crawler import defaults

if TYPE_CHECKING:
    from playwright.async_api import Page, Route
    from playwright.async_api import Request as PlaywrightRequest
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

BROWSER_PACKAGE = "chromium-headless-shell"
INSTALL_HINT = (
    f"install Debian's package {BROWSER_PACKAGE} "
    f"(apt-get install -y {BROWSER_PACKAGE}, or scripts/install-browser.sh as root), "
    "or set BROWSER_EXECUTABLE to a headless Chromium, or crawl with RENDER=never"
)
FINISH_REASON = "browser_failed"

# Enough to render the page's data; everything else is aborted.
ALLOWED_RESOURCE_TYPES = frozenset({"document", "script", "xhr", "fetch"})
# Only scripts and data may come from BROWSER_EXTRA_HOSTS, never a page.
EXTRA_HOST_RESOURCE_TYPES = frozenset({"script", "xhr", "fetch"})

# A link to another title inside the "More like this" section: the data the wait is for.
MORE_LIKE_THIS_CARDS = '[data-testid="MoreLikeThis"] a[href*="/title/tt"]'
DEFAULT_WAIT_TIMEOUT = 10.0
NAVIGATION_TIMEOUT_MS = 30_000

CHROMIUM_ARGS = (
    "--no-sandbox",  # we run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Without these Chromium keeps connecting out on its own (updates, sync, field trials).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    "--disable-quic",
    "--dns-prefetch-disable",
)


# Runs in every document before the page's scripts: navigations to other hosts are cancelled
# (Navigation API) rather than aborted, which would leave Chromium's error page instead of
# the title page; windows are not opened at all.
_STAY_ON_SITE_SCRIPT = """(function () {
  var site = SITE_ORIGINS;
  window.open = function () { return null; };
  if (!window.navigation) { return; }
  window.navigation.addEventListener("navigate", function (event) {
    var url;
    try { url = new URL(event.destination.url); } catch (e) { return; }
    if (/^https?:$/.test(url.protocol) && site.indexOf(url.origin) < 0 && event.cancelable) {
      event.preventDefault();
      if (window.BLOCKED_BINDING) { window.BLOCKED_BINDING(url.href); }
    }
  });
})();"""


_BLOCKED_BINDING = "__crawlerNavigationBlocked"


class BrowserUnavailableError(RuntimeError):
    """The configured browser is missing or cannot start: the crawl must not go on."""


# --- settings ----------------------------------------------------------------------------


def browser_executable(settings: BaseSettings) -> str:
    """The Chromium binary the crawl will launch (an explicit launch option wins)."""
    launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    return str(
        launch.get("executable_path")
        or settings.get("BROWSER_EXECUTABLE")
        or defaults.BROWSER_EXECUTABLE
    )


def site_host(base_url: str) -> str:
    host = urlsplit(base_url).hostname
    if not host:
        raise ValueError(f"IMDB_BASE_URL={base_url!r} has no host")
    return host


def _resolver_rules(host: str, extra_hosts: list[str]) -> str:
    """Chromium resolves no host name but ours: a second wall behind the route's aborts,
    which also covers what a route never sees (preconnects, WebSockets, DNS prefetch)."""
    excluded = "".join(f", EXCLUDE {h}" for h in (host, *extra_hosts))
    return f"--host-resolver-rules=MAP * ~NOTFOUND{excluded}"


def configure(settings: BaseSettings) -> None:
    """Install the browser download handler and its launch options.

    Set at "spider" priority: a setting given on the command line (``-s``) wins.
    """
    base_url = str(settings.get("IMDB_BASE_URL") or defaults.BASE_URL)
    host = site_host(base_url)
    extra_hosts = settings.getlist("BROWSER_EXTRA_HOSTS")
    scheme = urlsplit(base_url).scheme or "https"

    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    # Only the site's scheme: each scheme would get its own handler, Playwright and browser.
    handlers[scheme] = "crawler.download.rendering.BrowserDownloadHandler"
    settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
    settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="spider")
    settings.set(
        "PLAYWRIGHT_LAUNCH_OPTIONS",
        {
            "executable_path": str(settings.get("BROWSER_EXECUTABLE")
                                   or defaults.BROWSER_EXECUTABLE),
            "headless": True,
            "args": [*CHROMIUM_ARGS, _resolver_rules(host, extra_hosts)],
            "timeout": 30_000,  # ms to wait for the browser to start
        },
        priority="spider",
    )
    # Started with the spider, so that a browser that cannot start stops the crawl at once.
    settings.set(
        "PLAYWRIGHT_CONTEXTS",
        {"default": {"service_workers": "block", "accept_downloads": False,
                     "java_script_enabled": True}},
        priority="spider",
    )
    settings.set("PLAYWRIGHT_ABORT_REQUEST", "crawler.download.rendering.abort_request",
                 priority="spider")
    settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", NAVIGATION_TIMEOUT_MS,
                 priority="spider")
    # Downloads are refused; an aborted navigation need not wait long for one to start (ms).
    settings.set("PLAYWRIGHT_DOWNLOAD_TIMEOUT", 2_000, priority="spider")


def check_browser(settings: BaseSettings) -> None:
    """Raise BrowserUnavailableError, naming the package to install, when the browser is absent."""
    path = Path(browser_executable(settings))
    render = settings.get("RENDER")
    needs = f"RENDER={render}" if render else "rendering through a browser"
    if not path.is_file():
        raise BrowserUnavailableError(
            f"{needs} needs a headless Chromium, but {path} does not exist: {INSTALL_HINT}"
        )
    if not os.access(path, os.X_OK):
        raise BrowserUnavailableError(
            f"{needs} needs a headless Chromium, but {path} is not executable: {INSTALL_HINT}"
        )


# --- requests through the browser ------------------------------------------------------------


async def wait_for_page_data(page: Page, timeout_s: float = DEFAULT_WAIT_TIMEOUT) -> bool:
    """Wait until the "More like this" cards are in the DOM, or the page has gone quiet
    without them (a title with no such list): True when the cards are there."""
    timeout_ms = timeout_s * 1000
    cards = asyncio.ensure_future(
        page.wait_for_selector(MORE_LIKE_THIS_CARDS, state="attached", timeout=timeout_ms)
    )
    quiet = asyncio.ensure_future(page.wait_for_load_state("networkidle", timeout=timeout_ms))
    try:
        await asyncio.wait({cards, quiet}, return_when=asyncio.FIRST_COMPLETED)
        if cards.done() and not cards.cancelled() and cards.exception() is None:
            return True
        # Quiet for 500 ms (or out of time): a list the last fetch brought is in the DOM by now.
        return await page.query_selector(MORE_LIKE_THIS_CARDS) is not None
    finally:
        for task in (cards, quiet):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def browser_meta(base_url: str, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> dict[str, Any]:
    """Request meta that sends a request through the browser and returns the rendered DOM.

    ``base_url`` is the site the request is for; what the browser may reach is decided by
    the handler from ``IMDB_BASE_URL``, so both must be the same site.  The page is taken
    when the "More like this" cards are in the DOM, or once the network has been quiet for
    500 ms without them, or after ``wait_timeout`` seconds.
    """
    site_host(base_url)  # a URL without a host is a caller's mistake
    return {
        "playwright": True,
        "playwright_context": "default",
        # A fresh dict each time: scrapy-playwright pops keys from it.
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded",
                                        "timeout": NAVIGATION_TIMEOUT_MS},
        "playwright_page_methods": [PageMethod(wait_for_page_data, wait_timeout)],
    }


def abort_request(request: PlaywrightRequest) -> bool:
    """PLAYWRIGHT_ABORT_REQUEST: what the page needs to put its data in the DOM, nothing more.

    The host rule is not here but in BrowserDownloadHandler, so that replacing this
    setting can never let the browser talk to another host.
    """
    return request.resource_type not in ALLOWED_RESOURCE_TYPES


def _port(scheme: str, port: int | None) -> int | None:
    if port is None:
        return {"http": 80, "https": 443}.get(scheme)
    return port


def same_site(url: str, host: str, port: int | None) -> bool:
    """Is ``url`` on the site (same host; same port, http/https default ports alike)?"""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True  # no network
    if parts.scheme not in ("http", "https") or parts.hostname != host:
        return False
    if port in (80, 443, None):
        return _port(parts.scheme, parts.port) in (80, 443)
    return parts.port == port


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, held to the site's host and failing loudly."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._crawler = crawler
        settings = crawler.settings
        base_url = str(settings.get("IMDB_BASE_URL"))
        parts = urlsplit(base_url)
        self.site_host = site_host(base_url)
        self.site_port = _port(parts.scheme, parts.port)
        self.extra_hosts = frozenset(settings.getlist("BROWSER_EXTRA_HOSTS"))
        # PLAYWRIGHT_ABORT_REQUEST, if any (set by the base class from the settings).
        self.resource_policy: Any = getattr(self, "abort_request", None)
        self.abort_request = self._abort
        self._launched = False
        self._failed = False
        self._closing: asyncio.Future[None] | None = None
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)

    # --- what the browser may load ------------------------------------------------------

    async def _abort(self, request: PlaywrightRequest) -> bool:
        url = request.url
        if not same_site(url, self.site_host, self.site_port):
            host = urlsplit(url).hostname or ""
            if not (host in self.extra_hosts
                    and request.resource_type in EXTRA_HOST_RESOURCE_TYPES):
                self.stats.inc_value("render/aborted/offsite")
                if request.is_navigation_request():
                    self.stats.inc_value("render/aborted/offsite_navigation")
                logger.debug("aborted a %s request to another host: %s",
                             request.resource_type, url)
                return True
        if self.resource_policy is not None:
            verdict = self.resource_policy(request)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if verdict:
                self.stats.inc_value(f"render/aborted/resource/{request.resource_type}")
                return True
        return False

    async def _create_browser_context(self, *args: Any, **kwargs: Any) -> Any:
        wrapper = await super()._create_browser_context(*args, **kwargs)
        context = wrapper.context
        # Every page of the context, popups included: the page's own route (below) is not
        # there for a popup, this one is.
        await context.route("**", self._route_context_request)
        await context.expose_binding(_BLOCKED_BINDING, self._navigation_blocked)
        await context.add_init_script(
            _STAY_ON_SITE_SCRIPT.replace("SITE_ORIGINS", json.dumps(self._site_origins()))
            .replace("BLOCKED_BINDING", _BLOCKED_BINDING)
        )
        return wrapper

    def _site_origins(self) -> list[str]:
        port = "" if self.site_port in (80, 443, None) else f":{self.site_port}"
        return [f"{scheme}://{self.site_host}{port}" for scheme in ("http", "https")]

    def _navigation_blocked(self, source: Any, url: str) -> None:
        self.stats.inc_value("render/aborted/offsite")
        self.stats.inc_value("render/aborted/offsite_navigation")
        logger.debug("kept the page from navigating to another host: %s", str(url)[:200])

    async def _route_context_request(self, route: Route, request: PlaywrightRequest) -> None:
        if same_site(request.url, self.site_host, self.site_port):
            await route.continue_()
            return
        self.stats.inc_value("render/aborted/offsite")
        await route.abort()

    def _make_request_handler(self, *args: Any, **kwargs: Any) -> Any:
        handle = super()._make_request_handler(*args, **kwargs)

        async def route_request(route: Route, request: PlaywrightRequest) -> None:
            # A page that navigates itself to another host would be replaced by Chromium's
            # error page if the navigation were aborted; a 204 leaves it where it is.  (The
            # init script cancels such navigations before they start; this is the backstop.)
            frame = request.frame
            if (request.is_navigation_request() and frame.parent_frame is None
                    and request.redirected_from is None
                    and same_site(frame.url, self.site_host, self.site_port)
                    and frame.url not in ("", "about:blank")
                    and not same_site(request.url, self.site_host, self.site_port)):
                self.stats.inc_value("render/aborted/offsite")
                self.stats.inc_value("render/aborted/offsite_navigation")
                logger.debug("kept the page from navigating to another host: %s", request.url)
                await route.fulfill(status=204)
                return
            await handle(route, request)

        return route_request

    # --- starting the browser -----------------------------------------------------------

    async def _spider_opened(self) -> None:
        """Start the browser before the first request; CloseSpider when it cannot start."""
        try:
            check_browser(self._crawler.settings)
            await self._launch()
        except Exception as exc:
            self._report_failure(exc)
            raise CloseSpider(FINISH_REASON) from exc
        self._launched = True

    async def _maybe_launch_in_thread(self) -> None:
        if not self._launched:  # already started when the spider opened
            await super()._maybe_launch_in_thread()

    def _engine_started(self) -> Any:
        if not self._launched:
            return super()._engine_started()
        return None

    async def _maybe_launch_browser(self) -> None:
        # Later launches (a restart after the browser died) fail the crawl the same way.
        try:
            await super()._maybe_launch_browser()
        except Exception as exc:
            if self._launched and not self._failed:
                self._report_failure(exc)
                engine = self._crawler.engine
                if engine is not None and engine.spider is not None:
                    self._closing = asyncio.ensure_future(
                        engine.close_spider_async(reason=FINISH_REASON)
                    )
            raise

    def _report_failure(self, exc: BaseException) -> None:
        self._failed = True
        self.stats.set_value("render/browser_error", f"{type(exc).__name__}: {exc}"[:500])
        if isinstance(exc, BrowserUnavailableError):
            message = str(exc)
        else:
            lines = str(exc).strip().splitlines()
            message = (f"{browser_executable(self._crawler.settings)} did not start "
                       f"({lines[0] if lines else type(exc).__name__}): {INSTALL_HINT}")
        logger.error("the browser cannot start, stopping the crawl (%s): %s",
                     FINISH_REASON, message)
