"""The live site as a source: ``{IMDB_BASE_URL}/title/<tconst>/``, read as IMDb answers
it now.  Pure: no Scrapy (the browser's request meta is handed in, see ``configured``).

An answer of the site: a block (HTTP 202, ``x-amzn-waf-action``) is refused with its
reason; a redirect goes through the one redirect rule (``base.redirect_answer``); a
404 or 410 is ``not_found``, another error ``http_<status>``; a page whose URL names
another title (a redirect the browser followed itself) is a merge whose page is this
one; a title page is read, a cut or empty one asked for again, and with RENDER=auto
a page without its "More like this" cards is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawler.blocks import WAF_ACTION_HEADER, block_reason, header_text
from crawler.ids import is_tconst, tconst_from_url, title_url
from crawler.records import PageKind
from crawler.sources.base import (
    REDIRECT_CODES,
    RETRY_KINDS,
    Answer,
    Ask,
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
    read_page,
    redirect_answer,
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

    def title_url(self, tconst: str) -> str:
        return title_url(self.base_url, tconst)

    def ask(self, tconst: str, rendered: bool | None = None, render: bool = False) -> Ask:
        """The title's request; through the browser with RENDER=always or ``render``."""
        meta: dict[str, Any] = {"archive": False}
        if rendered is not None:
            meta["rendered"] = rendered
        if self.render == "always" or render:
            assert self.browser is not None, "a browser is configured unless RENDER=never"
            meta.update(self.browser())
        return Ask(self.title_url(tconst), meta)

    def reaches(self, captured: datetime) -> bool:
        return True

    def answer(self, reply: Reply) -> Answer:
        return counted(self._answer(reply), f"titles/status/{reply.status}")

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
                                   replace(self.ask(reply.tconst), url=target))
        if status in (404, 410):
            return Refusal("not_found")
        if status >= 400:
            return Refusal(f"http_{status}")
        final = tconst_from_url(reply.url)
        if final is not None and final != reply.tconst:
            # A redirect followed below the spider (the browser follows them itself):
            # the title asked for was merged into ``final``, whose page this is.
            merged = redirect_answer(reply.tconst, self._target(reply.url),
                                     self.ask(reply.tconst))
            if isinstance(merged, Merge):
                return replace(merged, page=self._read(reply, final))
            return merged
        return self._read(reply, reply.tconst)

    def _target(self, url: str) -> Target:
        host = urlsplit(url).hostname
        tconst = tconst_from_url(url)
        return Target(url, host, host in self.hosts, tconst if is_tconst(tconst) else None)

    def _read(self, reply: Reply, tconst: str) -> Answer:
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
        reason, detail = unread(result, archived=False)
        if result["kind"] in RETRY_KINDS:
            again = self.ask(tconst, rendered=bool(meta.get("rendered")),
                             render=bool(meta.get("playwright")))
            return Retry(again, str(result["kind"]), Refusal(reason, detail), counts=(seen,))
        return Refusal(reason, detail, counts=(seen,))
