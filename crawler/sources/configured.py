"""The source a crawl reads from, as its arguments and settings say: the live site
(``IMDB_BASE_URL``, ``RENDER``), or with ``-a as_of`` the Wayback Machine
(``WAYBACK_BASE_URL``), answered from local WARC files with ``ARCHIVE_WARC``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawler.arguments import check_render
from crawler.checks import check_base_url
from crawler.sources.archive import archive_from_settings, is_latest, parse_as_of
from crawler.sources.base import Source
from crawler.sources.live import LiveSource
from crawler.sources.wayback import WaybackSource
from crawler.state.run import source_of

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


def prepare(settings: BaseSettings) -> None:
    """Install what the source needs to download: the browser download handler only
    when a browser may be used; the WARC middleware only when files answer."""
    if str(settings.get("RENDER", "never")).strip().lower() in ("auto", "always"):
        from crawler.download.rendering import configure

        configure(settings)
    if str(settings.get("ARCHIVE_WARC") or "").strip():
        from crawler.sources.warc import configure as configure_warc

        configure_warc(settings)


def source_from_settings(as_of: str | None, get: Callable[..., Any]) -> Source:
    """The live site, or with ``as_of`` the archive; ValueError, in one line, for a
    setting that is not valid (the crawl command checked them all before)."""
    base_url = check_base_url(get("IMDB_BASE_URL"))
    render = check_render(get("RENDER", "never"))
    archive = archive_from_settings(as_of, get)
    if archive is not None:
        return WaybackSource(archive, source_of(True, get("ARCHIVE_WARC")))
    if render == "never":
        return LiveSource(base_url)

    def browser() -> dict[str, Any]:
        from crawler.download.rendering import browser_meta

        return browser_meta(base_url)

    return LiveSource(base_url, render, browser)


def run_as_of(as_of: str | None, started_at: datetime) -> datetime | None:
    """The instant a run asks its pages as of: None (live), the date, or with latest
    the run's start."""
    if as_of is None:
        return None
    return started_at if is_latest(as_of) else parse_as_of(as_of)
