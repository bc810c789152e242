"""The live site as a source: ``{IMDB_BASE_URL}/title/<tconst>/``, read as IMDb answers
it now.  Pure: no Scrapy (the browser's request meta is handed in, see ``configured``).

An answer of the site: a block (HTTP 202, ``x-amzn-waf-action``) is refused with its
reason; a redirect goes through the one redirect rule (``base.redirect_answer``); a
404 or 410 is ``not_found``, another error ``http_<status>``; a page whose URL names
another title (a redirect the browser followed itself) is a merge whose page is this
one; a title page is read, a cut or empty one asked for again, and with RENDER=auto
a page without its "More like this" cards is rendered.  A full credits page is answered
the same way (its ``__NEXT_DATA__`` holds every list: it is never rendered for them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.blocks import WAF_ACTION_HEADER, block_reason, header_text
from crawler.ids import is_tconst, tconst_from_url, title_url
from crawler.records import FullCreditsResult, PageKind, PageResult
from crawler.sources.base import (
    REDIRECT_CODES,
    RETRY_KINDS,
    Answer,
    Ask,
    Credits,
    Known,
    Merge,
    Page,
    Refusal,
    Render,
    Reply,
    Retry,
    Source,
    Target,
    counted,
    page_meta,
    page_of,
    read_credits,
    read_page,
    redirect_answer,
    status_count,
    unread,
)
from crawler.state.run import LIVE

# Request meta sending a request through the browser (crawler.download.rendering).
BrowserMeta = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class LiveSource:
    """The site at ``base_url``; ``render``: never, auto or always (RENDER)."""

    base_url: str
    render: str = "never"
    browser: BrowserMeta | None = None  # needed unless RENDER=never
    name: str = LIVE
    as_of: datetime | None = None

    @property
    def hosts(self) -> tuple[str, ...]:
        return (urlsplit(self.base_url).hostname or "",)

    def for_run(self, started_at: datetime, known: Known) -> Source:
        return self  # the site is read as it is now; nothing of the dataset is needed

    def title_url(self, tconst: str, page: str | None = None) -> str:
        return title_url(self.base_url, tconst, page)

    def ask(self, tconst: str, page: str | None = None, *, rendered: bool | None = None,
            render: bool = False) -> Ask:
        """The title's (or its ``page``'s) request; through the browser with
        RENDER=always or ``render``."""
        meta: dict[str, Any] = {"archive": False, **page_meta(page)}
        if rendered is not None:
            meta["rendered"] = rendered
        if self.render == "always" or render:
            assert self.browser is not None, "a browser is configured unless RENDER=never"
            meta.update(self.browser())
        return Ask(self.title_url(tconst, page), meta)

    def reaches(self, captured: datetime) -> bool:
        return True

    def answer(self, reply: Reply) -> Answer:
        return counted(self._answer(reply), status_count(reply))

    def _answer(self, reply: Reply) -> Answer:
        status = reply.status
        block = block_reason(status, reply.headers)
        if block is not None:
            action = header_text(reply.headers, WAF_ACTION_HEADER)
            return Refusal(block, f"x-amzn-waf-action: {action}" if action
                           else f"HTTP {status}")
        if status in REDIRECT_CODES:
            target = urljoin(reply.url, header_text(reply.headers, b"Location"))
            return redirect_answer(reply.tconst, self._target(target),
                                   replace(self.ask(reply.tconst, page_of(reply)), url=target))
        if status in (404, 410):
            return Refusal("not_found")
        if status >= 400:
            return Refusal(f"http_{status}")
        final = tconst_from_url(reply.url)
        if final is not None and final != reply.tconst:
            # A redirect followed below the spider (the browser follows them itself):
            # the title asked for was merged into ``final``, whose page this is.
            merged = redirect_answer(reply.tconst, self._target(reply.url),
                                     self.ask(reply.tconst, page_of(reply)))
            if isinstance(merged, Merge):
                return replace(merged, page=self._read(reply, final))
            return merged
        return self._read(reply, reply.tconst)

    def _target(self, url: str) -> Target:
        host = urlsplit(url).hostname
        tconst = tconst_from_url(url)
        return Target(url, host, host in self.hosts, tconst if is_tconst(tconst) else None)

    def _read(self, reply: Reply, tconst: str) -> Answer:
        if page_of(reply) is not None:
            return self._read_credits(reply, tconst)
        result, seen = read_page(reply)
        record = result["title"]
        meta = reply.meta
        if result["kind"] is PageKind.TITLE and record is not None:
            if (self.render == "auto" and not meta.get("rendered")
                    and not meta.get("playwright") and not record.get("more_like_this")):
                # The JavaScript-filled parts are missing: render the page.
                return Render(self.ask(tconst, rendered=True, render=True),
                              counts=(seen, "render/auto_refetch"))
            return Page(record, self.name, counts=(seen,))
        return self._unread(reply, tconst, result, seen)

    def _read_credits(self, reply: Reply, tconst: str) -> Answer:
        result, seen = read_credits(reply)
        if result["kind"] is PageKind.CREDITS:
            return Credits(result, self.name, counts=(seen,))
        return self._unread(reply, tconst, result, seen)

    def _unread(self, reply: Reply, tconst: str, result: PageResult | FullCreditsResult,
                seen: str) -> Answer:
        """A page that could not be read: asked for again when cut or empty."""
        reason, detail = unread(result, archived=False)
        if result["kind"] in RETRY_KINDS:
            meta = reply.meta
            again = self.ask(tconst, page_of(reply), rendered=bool(meta.get("rendered")),
                             render=bool(meta.get("playwright")))
            return Retry(again, str(result["kind"]), Refusal(reason, detail), counts=(seen,))
        return Refusal(reason, detail, counts=(seen,))
