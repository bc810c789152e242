"""Refresh decisions (``-a refresh=<age>``): which titles are fetched again, and which
stand as an earlier run read them.

A title whose last fetch is younger than the age is not fetched: it gets a ``reused``
row, and its recorded edges (or its merge) carry the walk on.  With
``as_of=latest`` an older one is read again only when the archive lists a newer
usable capture than the dataset's (``known_capture``, handed to the source); else
the dataset's stands (``reuse_listed``).  Without ``-a refresh`` every title is
fetched.  With ``-a credits=full`` a title page stands only with its full credits
(read with it): one fetched without them, or whose full credits page failed, is
fetched again.

A title to fetch is claimed first (``crawler.state.title_claims``, a local OUTPUT_DIR,
one process): one another live refresh run is fetching waits (``deferred``) until that
run has committed it or ended, then is decided again over what is committed then
(``ready``): usually reused, so two refresh runs at once never both fetch it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crawler.crawl import LOGGER_NAME
from crawler.crawl.outcomes import Outcomes, now
from crawler.items import ReusedItem
from crawler.records import Outcome
from crawler.state.run import utc_now
from crawler.state.title_claims import TitleClaims

if TYPE_CHECKING:
    from crawler.frontier.local import TitleFrontier
    from crawler.sources.base import Source
    from crawler.state.history import Fetch, History

logger = logging.getLogger(LOGGER_NAME)


class Refresh:
    """Reuse decisions over ``history`` (None: no ``-a refresh``, nothing is reused)."""

    def __init__(self, history: History | None, refresh_seconds: int,
                 frontier: TitleFrontier, source: Source, outcomes: Outcomes,
                 full_credits: bool = False) -> None:
        self.history = history
        self.full_credits = full_credits
        self.max_age = timedelta(seconds=refresh_seconds)
        self.frontier = frontier
        self.source = source
        self.outcomes = outcomes
        # The history was read after the run started: commits before then are in it.
        self.claims = (TitleClaims.open(outcomes.crawler.settings.get("OUTPUT_DIR"),
                                        outcomes.run.file_key,
                                        outcomes.run.started_at.timestamp())
                       if history is not None and not frontier.shared else None)
        self.deferred: dict[str, None] = {}  # titles another live run is fetching, in order

    def to_fetch(self, titles: list[str]) -> list[str]:
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
                if reused == Outcome.TITLE:
                    reused_pages.append(tconst)
                elif reused is None:
                    to_fetch.append(tconst)
                if canonical is not None:
                    joined.append(canonical)
            if reused_pages and self.history is not None:
                for tconst, similar in self.history.edges(reused_pages).items():
                    self.frontier.record_links(tconst, similar)
            todo = joined
        return self._claimed(to_fetch)

    def _claimed(self, titles: list[str]) -> list[str]:
        """The titles this run may fetch; those another live run is fetching wait."""
        if self.claims is None:
            return titles
        mine = []
        for tconst in titles:
            if self.claims.claim(tconst) is None:
                mine.append(tconst)
            else:
                self.deferred[tconst] = None
        if len(mine) < len(titles):
            self.outcomes.stats.inc_value("refresh/waited_for_other_run", len(titles) - len(mine))
            logger.info("%d title(s) are being fetched by another refresh run in this "
                        "OUTPUT_DIR: this run waits for its rows rather than fetch them too",
                        len(titles) - len(mine))
        return mine

    def undeferred(self, titles: list[str]) -> list[str]:
        return [t for t in titles if t not in self.deferred]

    def ready(self) -> list[str]:
        """The waiting titles no live run is fetching any more, decided again over what is
        committed now: those to fetch (the others reused)."""
        assert self.claims is not None
        free = [t for t in self.deferred if not self.claims.waits_on(t)]
        if not free:
            return []
        from crawler.state.job import load_history

        self.claims.loaded_at = time.time()
        self.history = load_history(self.claims.output_dir, self.outcomes.run)
        for tconst in free:
            del self.deferred[tconst]
        return self.to_fetch(free)

    def committed(self, tconsts: list[str], chunk: int) -> None:
        """Their rows are committed: another refresh run may reuse them now."""
        if self.claims is not None:
            self.claims.committed(tconsts)

    def _reuse(self, tconst: str, depth: int) -> tuple[str | None, str | None]:
        """The reused outcome of a fresh title (``title`` or ``alias``; None: fetch it),
        and the canonical title a reused merge newly brought into the level."""
        if self.history is None:
            return None, None
        fetch = self.history.reusable(tconst, utc_now(), self.max_age)
        if fetch is None or not self._stands(fetch):
            return None, None
        return self._reused(tconst, depth, fetch)

    def _reused(self, tconst: str, depth: int, fetch: Fetch) -> tuple[str | None, str | None]:
        """``fetch`` stands for ``tconst``: its ``reused`` row, and its merge followed."""
        canonical = fetch.canonical_tconst
        if fetch.outcome == Outcome.ALIAS and not self._followable(tconst, canonical):
            return None, None  # not a merge to follow as it is: ask the site again
        outcomes = self.outcomes
        outcomes.due.append(ReusedItem(
            tconst=tconst, depth=depth, fetched_run_id=fetch.run_id,
            fetched_at=fetch.crawled_at.isoformat(), run_id=outcomes.run.run_id,
            crawled_at=now()))
        outcomes.stats.inc_value("titles/reused")
        joined = None
        if canonical is not None and fetch.outcome == Outcome.ALIAS:
            if self.frontier.record_alias(tconst, canonical):
                joined = canonical
            outcomes.report_limits()
        self.frontier.resolve(tconst, Outcome.REUSED)
        return fetch.outcome, joined

    def _stands(self, fetch: Fetch) -> bool:
        """A fetch may stand for its title in this run: within the source's reach, and,
        with credits=full, a page read with its full credits."""
        if fetch.captured_at is not None and not self.source.reaches(fetch.captured_at):
            return False
        return not (self.full_credits and fetch.outcome == Outcome.TITLE
                    and not fetch.full_credits)

    def _followable(self, tconst: str, canonical: str | None) -> bool:
        return canonical is not None and not self.frontier.merge_problem(
            tconst, canonical, self.outcomes.max_merge_chain)

    def known_capture(self, tconst: str) -> datetime | None:
        """In a refresh run, the time of the dataset's capture of the title when it may
        stand for it: a page, or a merge that can still be followed, within reach."""
        fetch = self.history.latest(tconst) if self.history is not None else None
        if fetch is None or fetch.captured_at is None or not self._stands(fetch):
            return None
        if fetch.outcome == Outcome.ALIAS and not self._followable(
                tconst, fetch.canonical_tconst):
            return None
        return fetch.captured_at

    def reuse_listed(self, tconst: str, depth: int) -> list[str]:
        """The archive holds no newer usable capture: the dataset's is reused, its edges
        (or its merge) carry the walk on, as for a title fresh by age.  Returns the
        titles to fetch (a merge target new to the crawl)."""
        assert self.history is not None
        fetch = self.history.latest(tconst)
        assert fetch is not None
        self.outcomes.stats.inc_value("archive/reused_unchanged")
        outcome, joined = self._reused(tconst, depth, fetch)
        if outcome == Outcome.TITLE:
            self.frontier.record_links(tconst, self.history.edges([tconst])[tconst])
        return self.to_fetch([joined]) if joined is not None else []

