"""``-a credits=full``: after each title page, the title's full credits page.

It is asked of the same source as the title page (the live site, the archive: its own
capture, WARC files), as one more request through the same politeness, retries, block
handling and stop rule.  The title's page waits in ``Outcomes.awaiting`` meanwhile, so
the title still ends in exactly one row: once its full credits page is read, a
``titles`` row whose credits are that page's (with its ``credit_categories``); once it
fails, a ``titles`` row with the title page's credits, the failure said on it
(``full_credits``) and in ``subpage_failures``.  Nothing is partial without saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crawler.crawl import LOGGER_NAME
from crawler.crawl.outcomes import TitlePage
from crawler.ids import FULLCREDITS
from crawler.items import credits_failure_fields, full_credits_fields
from crawler.sources.base import PAGE, Ask, Credits, Merge, Refusal

if TYPE_CHECKING:
    from crawler.crawl.outcomes import Outcomes
    from crawler.items import TitleItem
    from crawler.records import TitleRecord
    from crawler.sources.base import Answer, Source

logger = logging.getLogger(LOGGER_NAME)


class FullCredits:
    """Asks for a title's full credits page after its title page (``full``), and makes
    the title's row of the answer."""

    def __init__(self, outcomes: Outcomes, source: Source, full: bool) -> None:
        self.outcomes = outcomes
        self.source = source
        self.full = full

    def wait_for(self, tconst: str, depth: int, record: TitleRecord, crawled_at: str,
                 captured_at: str | None) -> Ask | None:
        """With credits=full, the request for the title's full credits page, its title
        page waiting meanwhile; None when the title's row is made at once."""
        if not self.full:
            return None
        self.outcomes.awaiting[tconst] = TitlePage(tconst, depth, record, crawled_at,
                                                   captured_at)
        return self.source.ask(tconst, FULLCREDITS)

    def settle(self, answer: Answer, meta: Mapping[str, Any], url: str,
               status: int | None) -> TitleItem | None:
        """The title's row when ``answer`` ends its full credits page: read, refused
        (or failed: an errback's), or a redirect into another title.  None when the
        answer is a title page's, or asks for more (a redirect to follow, a retry, the
        archive's next capture): the spider goes on as for a title page."""
        if meta.get(PAGE) != FULLCREDITS:
            return None
        tconst = meta["tconst"]
        attempts = meta.get("attempts", 1)
        match answer:
            case Credits(result=result, captured_at=captured_at):
                self.outcomes.stats.inc_value("fullcredits/read")
                return self.outcomes.awaited(tconst, full_credits_fields(result, captured_at))
            case Refusal(reason=reason, detail=detail, captured_at=captured_at):
                return self._failed(tconst, url, reason, detail, status, attempts, captured_at)
            case Merge(canonical=canonical, captured_at=captured_at):
                return self._failed(tconst, url, "wrong_title", f"redirect to {canonical}",
                                    status, attempts, captured_at)
        return None

    def _failed(self, tconst: str, url: str, reason: str, detail: str | None,
                status: int | None, attempts: int, captured_at: str | None) -> TitleItem:
        self.outcomes.stats.inc_value(f"fullcredits/failed/{reason}")
        logger.warning("title %s: full credits page failed: %s%s (HTTP %s, %d attempts); "
                       "its title page's credits stand", tconst, reason,
                       f" ({detail})" if detail else "", status, attempts)
        return self.outcomes.awaited(tconst, credits_failure_fields(
            url, reason, detail, status, attempts, captured_at))
