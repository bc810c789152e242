"""What a source of title pages is, and the answers it gives.  Pure: no Scrapy.

A source (the live site, ``crawler.sources.live``; the Wayback Machine, with WARC
files answering under it, ``crawler.sources.wayback``) knows the hosts it may
fetch, the request for a tconst, and how to turn a response into ONE answer.  The
spider matches on the answer and never asks which source it has.  As web-poet's
``Retry`` and ``UseFallback``, an answer is a value, not a branch:

- ``Page``: a title page, with when IMDb showed it (``captured_at``) and its source;
- ``Credits``: a title's full credits page, read (``-a credits=full``);
- ``Follow``: a redirect to the same title, to follow;
- ``Merge``: a redirect into another title;
- ``Refusal``: no page, with its reason and detail (a row of ``failures``);
- ``Retry``: worth asking again (a cut page), else ``otherwise``;
- ``Render``: ask again through the browser (RENDER=auto);
- ``NextCapture`` / ``ReuseCapture``: along the archive's latest walk, the next
  capture to read, or the dataset's capture stands.

A title's full credits page is asked for with ``ask(tconst, FULLCREDITS)``: its request's
meta says ``page``, and its answers are those of a title page with ``Credits`` for
``Page`` (counted under ``fullcredits/`` rather than ``titles/`` and ``pages/``).

Each answer says which Scrapy stats it moves (``counts``), so the source stays pure
and the spider's accounting stays exact.  The offsite and same-title redirect rule is
``redirect_answer``, the one place that decides it for every source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from crawler.blocks import header_text
from crawler.extraction import extract_page
from crawler.extraction.fullcredits import extract_full_credits
from crawler.ids import FULLCREDITS
from crawler.records import FullCreditsResult, PageKind, PageResult, TitleRecord

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
# Kinds of page worth asking for again (a cut connection, a glitch), unlike a 404.
RETRY_KINDS = frozenset({PageKind.TRUNCATED, PageKind.EMPTY})

# The request meta naming the page of a title a request asks for (absent: the title page).
PAGE = "page"
# The dataset's capture of a title, when it may stand for it (a refresh run), else None.
Known = Callable[[str], datetime | None]


def nothing_known(tconst: str) -> datetime | None:
    return None


@dataclass(frozen=True)
class Reply:
    """A response as a source reads it: plain values (the spider builds it)."""

    tconst: str  # the title asked for
    url: str
    status: int
    headers: Any  # a mapping read with .get(bytes): Scrapy's Headers, or a dict
    body: bytes = b""
    meta: Mapping[str, Any] = field(default_factory=dict)  # the request's meta


@dataclass(frozen=True)
class Ask:
    """A request a source wants made: its URL and the meta it reads back on the reply."""

    url: str
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Answered:
    """What every answer has: the Scrapy stats it moves (each by one)."""

    counts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page(Answered):
    """A title page.  ``captured_at``: when an archive recorded it (ISO-8601), None for
    a live page (IMDb showed it when it was fetched)."""

    record: TitleRecord
    source: str
    captured_at: str | None = None


@dataclass(frozen=True)
class Credits(Answered):
    """A title's full credits page, read (``result["kind"]`` is CREDITS)."""

    result: FullCreditsResult
    source: str
    captured_at: str | None = None


@dataclass(frozen=True)
class Follow(Answered):
    """A redirect to the same title (a query string, a slash, the nearest capture)."""

    ask: Ask  # the request to the redirect's target
    captured_at: str | None = None


@dataclass(frozen=True)
class Merge(Answered):
    """The title redirects into ``canonical``.  ``page``: the answer of this very reply
    read as ``canonical``'s page, when the redirect was followed below the spider."""

    canonical: str
    target_url: str
    captured_at: str | None = None
    page: Answer | None = None


@dataclass(frozen=True)
class Refusal(Answered):
    """No page for the title: a row of ``failures`` with this reason and detail."""

    reason: str
    detail: str | None = None
    captured_at: str | None = None


@dataclass(frozen=True)
class Retry(Answered):
    """A page worth asking for again (``kind``: why); ``otherwise`` once retries are spent."""

    ask: Ask
    kind: str
    otherwise: Answer


@dataclass(frozen=True)
class Render(Answered):
    """A page whose JavaScript-filled parts are missing: ask again through the browser."""

    ask: Ask


@dataclass(frozen=True)
class NextCapture(Answered):
    """The archive's latest walk goes on: read this capture of the title next."""

    ask: Ask


@dataclass(frozen=True)
class ReuseCapture(Answered):
    """The archive holds no newer usable capture than the dataset's: it stands."""


Answer = (Page | Credits | Follow | Merge | Refusal | Retry | Render | NextCapture
          | ReuseCapture)
A = TypeVar("A", bound=Answered)


def counted(answer: A, *counts: str) -> A:
    """``answer``, moving ``counts`` too (before its own)."""
    return replace(answer, counts=(*counts, *answer.counts))


class Source(Protocol):
    """Where title pages are read from (see the module doc)."""

    @property
    def name(self) -> str:
        """crawler.state.run.LIVE, WAYBACK or WARC: the ``source`` of its rows."""
        ...

    @property
    def hosts(self) -> tuple[str, ...]:
        """The only hosts it fetches (the spider's ``allowed_domains``)."""
        ...

    @property
    def as_of(self) -> datetime | None:
        """The instant its pages are asked as of (None: now, the live site)."""
        ...

    def for_run(self, started_at: datetime, known: Known) -> Source:
        """This source for a run that started at ``started_at`` (a resumed one's first
        start), with the dataset's captures ``known`` (a refresh run)."""
        ...

    def title_url(self, tconst: str, page: str | None = None) -> str:
        """The URL a title (or its ``page``) is first asked at (the ``url`` of a row it
        never answered)."""
        ...

    def ask(self, tconst: str, page: str | None = None) -> Ask:
        """The first request for a title, or for its full credits ``page``."""
        ...

    def answer(self, reply: Reply) -> Answer:
        """The one answer a reply to this source's request makes."""
        ...

    def reaches(self, captured: datetime) -> bool:
        """A page captured then may still stand for its title in this source's run."""
        ...


@dataclass(frozen=True)
class Target:
    """Where a redirect points, as a source sees it."""

    url: str
    host: str | None  # named in an offsite refusal
    ours: bool  # on the source's own hosts
    tconst: str | None  # the title it is a page of; None: no title page


def redirect_answer(tconst: str, target: Target, follow: Ask,
                    captured_at: str | None = None) -> Answer:
    """The one redirect rule: off the source's hosts is refused (``offsite_redirect``);
    to no title too (``redirect_not_a_title``); to the same title it is followed
    (``follow``); to another title it is a merge."""
    if not target.ours:
        return Refusal("offsite_redirect", f"redirect to {target.host}", captured_at,
                       counts=("offsite/redirects_dropped",))
    if target.tconst is None:
        return Refusal("redirect_not_a_title", target.url, captured_at)
    if target.tconst == tconst:
        return Follow(follow, captured_at)
    return Merge(target.tconst, target.url, captured_at)


def page_of(reply: Reply) -> str | None:
    """The page of its title a reply answers: None (the title page) or FULLCREDITS."""
    return FULLCREDITS if reply.meta.get(PAGE) == FULLCREDITS else None


def page_meta(page: str | None) -> dict[str, str]:
    """The request meta of a page of a title (none for the title page)."""
    return {PAGE: page} if page is not None else {}


def status_count(reply: Reply) -> str:
    """The stat counting a reply's HTTP status: ``titles/status/<n>`` for a title page,
    ``fullcredits/status/<n>`` for its full credits page."""
    return f"{page_of(reply) or 'titles'}/status/{reply.status}"


def read_credits(reply: Reply) -> tuple[FullCreditsResult, str]:
    """The reply read as a full credits page, and the stat that counts it
    (``fullcredits/<kind>``)."""
    ctype = header_text(reply.headers, b"Content-Type") or None
    result = extract_full_credits(reply.body, reply.url, reply.status, ctype)
    return result, f"fullcredits/{result['kind']}"


def read_page(reply: Reply) -> tuple[PageResult, str]:
    """The reply read as a title page, and the stat that counts it (``pages/<kind>``)."""
    ctype = header_text(reply.headers, b"Content-Type") or None
    result = extract_page(reply.body, reply.url, reply.status, ctype)
    return result, f"pages/{result['kind']}"


def unread(result: PageResult | FullCreditsResult, archived: bool) -> tuple[str, str | None]:
    """The reason and detail of a page that is no title page (``archived_`` for one an
    archive recorded so: not a page we were served)."""
    kind = result["kind"]
    reason = "blocked" if kind is PageKind.CHALLENGE else str(kind)
    detail = result.get("reason")
    if kind is PageKind.WRONG_TITLE and result.get("found_tconst"):
        detail = f"page is about {result['found_tconst']}"
    return (f"archived_{reason}" if archived else reason), detail
