"""Items the spider yields: one per fetched title page, one per failure, one per merge.

A ``TitleItem`` carries everything its page shows: the title's fields, its
rating, and its credits and "More like this" edges as nested lists, so a title's
rows travel and commit together.  Values are as found on the page (see
``crawler.records``); ``pipelines.normalize`` types them, and
``pipelines.rows`` fans a title out into the ``titles``, ``ratings``,
``credits`` and ``more_like_this`` tables.  Every item carries ``run_id``,
``crawled_at`` (ISO-8601 UTC of the fetch) and ``outcome`` (which of the three
it is, for feeds such as ``-o titles.jsonl`` that mix them).  Its rows also say
when IMDb showed the page and where it was read (``observed_at``, ``source``:
see ``observation``), so live and archived pages make one timeline.

With ``-a credits=full`` a title's item waits for its full credits page: its
``credits`` are then that page's (``full_credits_fields``), with its
``credit_categories``; when that page fails they stay the title page's, and the
failure travels in ``subpage_failures`` (``credits_failure_fields``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import scrapy

from crawler.ids import FULLCREDITS
from crawler.records import FULL_CREDITS_READ, FullCreditsResult, Outcome, TitleRecord
from crawler.state.run import LIVE, Run

# TitleRecord fields that are not columns of ``titles`` as they are.
_NESTED = ("credits", "more_like_this")
CAST_CATEGORIES = frozenset({"actor", "actress", "cast"})
_RATING = ("average_rating", "num_votes")
TITLE_FIELDS = tuple(k for k in TitleRecord.__annotations__ if k not in (*_NESTED, *_RATING))
MONEY_FIELDS = ("budget", "opening_weekend_us_canada", "gross_us_canada", "gross_worldwide")
# Fields the normalising pipeline adds (typed columns split out of one raw value).
NORMALIZED_TITLE_FIELDS = (
    "release_date_precision",
    *(f"{m}_{part}" for m in MONEY_FIELDS for part in ("amount", "currency")),
    "num_votes_abbreviated",
)


class OutcomeItem(scrapy.Item):
    # Every item says which run wrote it and when its page was fetched.
    run_id = scrapy.Field()
    crawled_at = scrapy.Field()
    outcome = scrapy.Field()  # an Outcome's value: "title", "failure", "alias", "reused"
    captured_at = scrapy.Field()  # -a as_of: when the archive captured the page (ISO-8601 UTC)
    # When IMDb showed the page, and where it was read: set by a source that knows,
    # else filled in from the fields above and the run (``observation``).
    observed_at = scrapy.Field()
    source = scrapy.Field()  # crawler.state.run.LIVE, WAYBACK or WARC
    outcome_name: ClassVar[str] = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setdefault("outcome", type(self).outcome_name)


class TitleItem(OutcomeItem):
    """One fetched title page: its ``titles`` columns, rating, credits and edges."""

    outcome_name = Outcome.TITLE.value
    for _name in (*TITLE_FIELDS, *_RATING, *NORMALIZED_TITLE_FIELDS, "depth"):
        locals()[_name] = scrapy.Field()
    del _name
    credits = scrapy.Field()  # list of CreditRecord dicts, page order
    more_like_this = scrapy.Field()  # list of SimilarTitleRecord dicts, page order
    # -a credits=full: FULL_CREDITS_READ or why the full credits page failed (None: not
    # asked for); when that page's capture was taken; its categories; its failure.
    full_credits = scrapy.Field()
    full_credits_captured_at = scrapy.Field()
    credit_categories = scrapy.Field()  # list of CreditCategoryRecord dicts, page order
    subpage_failures = scrapy.Field()  # list of dicts: the failed sub-page, why


class FailureItem(OutcomeItem):
    """A title that was scheduled but did not make it into ``titles``, and why."""

    outcome_name = Outcome.FAILURE.value
    tconst = scrapy.Field()
    url = scrapy.Field()
    depth = scrapy.Field()
    reason = scrapy.Field()  # "blocked", "not_found", "http_503", "timeout", "wrong_title", ...
    detail = scrapy.Field()  # what was seen: the exception text, "page is about ttX", ...
    http_status = scrapy.Field()
    attempts = scrapy.Field()


class AliasItem(OutcomeItem):
    """A merged title: ``tconst`` was redirected to ``canonical_tconst``."""

    outcome_name = Outcome.ALIAS.value
    tconst = scrapy.Field()
    canonical_tconst = scrapy.Field()


class ReusedItem(OutcomeItem):
    """A title not fetched again (``-a refresh``): its last fetch, by another run, is fresh."""

    outcome_name = Outcome.REUSED.value
    tconst = scrapy.Field()
    depth = scrapy.Field()
    fetched_run_id = scrapy.Field()
    fetched_at = scrapy.Field()


def title_item(record: TitleRecord, *, depth: int, run_id: str, crawled_at: str,
               captured_at: str | None = None) -> TitleItem:
    """The item of one title page, values as found."""
    values: dict[str, Any] = {k: record.get(k) for k in (*TITLE_FIELDS, *_RATING)}
    return TitleItem(
        **values,
        credits=list(record.get("credits") or []),
        more_like_this=list(record.get("more_like_this") or []),
        depth=depth, run_id=run_id, crawled_at=crawled_at, captured_at=captured_at,
    )


def full_credits_fields(result: FullCreditsResult, captured_at: str | None) -> dict[str, Any]:
    """A title item's fields once its full credits page is read: that page's credits
    (each saying so, and under which category of the page it is listed) and categories."""
    credits = [{**c, "credit_page": FULLCREDITS,
                "page_category": "cast" if c.get("category") in CAST_CATEGORIES
                else c.get("category")} for c in result["credits"]]
    categories = [{**c, "position": n, "layout": result["layout"]}
                  for n, c in enumerate(result["categories"], 1)]
    return {"credits": credits, "credit_categories": categories,
            "full_credits": FULL_CREDITS_READ, "full_credits_captured_at": captured_at}


def credits_failure_fields(url: str, reason: str, detail: str | None, http_status: int | None,
                           attempts: int, captured_at: str | None) -> dict[str, Any]:
    """A title item's fields when its full credits page failed: its credits stay the title
    page's; the failure is said on the title and in a row of ``subpage_failures``."""
    failure = {"page": FULLCREDITS, "url": url, "reason": reason, "detail": detail,
               "http_status": http_status, "attempts": attempts, "captured_at": captured_at}
    return {"full_credits": reason, "full_credits_captured_at": captured_at,
            "subpage_failures": [failure]}


def observation(values: Mapping[str, Any], run: Run | None = None) -> dict[str, Any]:
    """``observed_at`` and ``source`` of an outcome's rows: the item's own when it has
    them; else an archived page's capture time, an archive run's ``as_of`` when nothing
    was captured (the instant asked about), a live page's fetch time; and the run's
    source."""
    observed = values.get("observed_at") or values.get("captured_at")
    source = values.get("source") or (run.source if run is not None else None)
    if observed is None and run is not None and run.source != LIVE:
        observed = run.as_of
    return {"observed_at": observed if observed is not None else values.get("crawled_at"),
            "source": source}
