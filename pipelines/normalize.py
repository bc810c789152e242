"""The normalising item pipeline: one title page's values become typed columns.

``NormalizeTitlePipeline`` types a ``TitleItem`` as a whole: its ``titles``
fields, its rating, and each of its credits and "More like this" edges, through
the pure functions below.  It only transforms: nothing is written or dropped
here, and other items pass through untouched.  Afterwards every title field is a
column of ``titles`` or ``ratings`` (``budget`` becomes ``budget_amount`` and
``budget_currency``, ``num_votes`` gains ``num_votes_abbreviated``), each credit
holds the columns of ``credits`` and each edge those of ``more_like_this``
(without the title's ``tconst`` and stamps, which the exporter adds).  Running
it twice gives the same item.  NUL characters are removed from every string of a
title page (and counted): never text, and a cut in many readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from crawler.items import MONEY_FIELDS, TitleItem
from crawler.records import TITLE_LIST_FIELDS
from pipelines.credits import clean_characters, normalize_category, parse_notes
from pipelines.values import (
    clean_list,
    clean_text,
    parse_bool,
    parse_count,
    parse_int,
    parse_money,
    parse_rating,
    parse_release_date,
    parse_runtime,
    without_nul,
)

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

NUL_STAT = "text/nul_removed"

INT_FIELDS = (
    "start_year",
    "end_year",
    "keywords_total",
    "awards_wins",
    "awards_nominations",
    "prestigious_award_wins",
    "prestigious_award_nominations",
    "user_review_count",
    "critic_review_count",
    "metascore",
    "depth",
)
TEXT_FIELDS = (
    "tconst",
    "url",
    "layout",
    "title_type",
    "primary_title",
    "original_title",
    "certificate",
    "release_country",
    "release_country_code",
    "plot",
    "storyline",
    "storyline_author",
    "prestigious_award",
    "poster_url",
    "run_id",
    "crawled_at",
)
# An edge's columns and the SimilarTitleRecord key each is read from.
# ``credits.credit_page`` of a credit read from the title page, and what such a credit
# has of the columns of a full credits page's line.
TITLE_CREDITS = "title"
_TITLE_PAGE_LINE = {"credit_page": TITLE_CREDITS, "page_category": None, "job": None,
                    "episode_count": None, "episode_start_year": None,
                    "episode_end_year": None}
EDGE_TEXT = {
    "similar_tconst": "tconst",
    "similar_primary_title": "primary_title",
    "similar_original_title": "original_title",
    "similar_title_type": "title_type",
}


def _raw(values: Mapping[str, Any], column: str, key: str) -> Any:
    """The raw value (``key``) when present, else the already typed one (``column``)."""
    return values[key] if key in values else values.get(column)


def normalize_title(values: Mapping[str, Any]) -> dict[str, Any]:
    """A title's fields, typed; money split, release date parsed, rating typed."""
    out = {k: v for k, v in values.items() if k not in MONEY_FIELDS}
    for name in TEXT_FIELDS:
        if name in values:
            out[name] = clean_text(values[name])
    for name in TITLE_LIST_FIELDS:
        if name in values:
            out[name] = clean_list(values[name])
    for name in INT_FIELDS:
        if name in values:
            out[name] = parse_int(values[name])
    if "is_adult" in values:
        out["is_adult"] = parse_bool(values["is_adult"])
    if "runtime_minutes" in values:
        out["runtime_minutes"] = parse_runtime(values["runtime_minutes"])
    for name in MONEY_FIELDS:
        if values.get(name) is not None or f"{name}_amount" not in values:
            money = parse_money(values.get(name))
            out[f"{name}_amount"], out[f"{name}_currency"] = money or (None, None)
    value = values.get("release_date")
    if value is not None and not (
        isinstance(value, date) and values.get("release_date_precision")
    ):  # already typed: a second pass must keep the precision
        parsed = parse_release_date(value)
        out["release_date"], out["release_date_precision"] = parsed or (None, None)
    out.update(normalize_rating(values))
    return out


def normalize_rating(values: Mapping[str, Any]) -> dict[str, Any]:
    """``average_rating`` float; ``num_votes`` int and whether the page rounded it."""
    out: dict[str, Any] = {"average_rating": parse_rating(values.get("average_rating"))}
    if values.get("num_votes_abbreviated") is None:
        votes = parse_count(values.get("num_votes"))
        out["num_votes"], out["num_votes_abbreviated"] = votes or (None, None)
    return out


def normalize_credit(credit: Mapping[str, Any]) -> dict[str, Any]:
    """One credit: notes -> credited_as / attributes / uncredited; name -> primary_name;
    category in title.principals vocabulary (see ``pipelines.credits``); a full credits
    line's job and episodes typed."""
    characters = clean_characters(credit.get("characters"))
    uncredited: bool | None
    if "notes" in credit or "attributes" not in credit:
        notes = parse_notes(credit.get("notes"))
        credited_as, attributes, uncredited = notes.credited_as, notes.attributes, notes.uncredited
    else:
        credited_as = credit.get("credited_as")
        attributes = credit.get("attributes") or []
        uncredited = credit.get("uncredited")
    out = {
        "category": normalize_category(credit.get("category"), characters, attributes),
        "ordering": parse_int(credit.get("ordering")),
        "nconst": clean_text(credit.get("nconst")),
        "primary_name": clean_text(_raw(credit, "primary_name", "name")),
        "characters": characters,
        "credited_as": credited_as,
        "attributes": attributes,
        "uncredited": uncredited,
    }
    if "job" not in credit and "credit_page" not in credit:
        out.update(_TITLE_PAGE_LINE)  # a title page's credit (the common case: no parsing)
        return out
    out.update({
        "credit_page": credit.get("credit_page") or TITLE_CREDITS,
        "page_category": clean_text(credit.get("page_category")),
        "job": clean_text(credit.get("job")),
        "episode_count": parse_int(credit.get("episode_count")),
        "episode_start_year": parse_int(credit.get("episode_start_year")),
        "episode_end_year": parse_int(credit.get("episode_end_year")),
    })
    return out


def normalize_edge(card: Mapping[str, Any], rank: int | None = None) -> dict[str, Any]:
    """One "More like this" card: rating float, votes int (+ abbreviated flag), year int."""
    out: dict[str, Any] = {col: clean_text(_raw(card, col, key)) for col, key in EDGE_TEXT.items()}
    out["rank"] = parse_int(card.get("rank", rank))
    out["similar_start_year"] = parse_int(_raw(card, "similar_start_year", "start_year"))
    out["similar_average_rating"] = parse_rating(
        _raw(card, "similar_average_rating", "average_rating"))
    if card.get("similar_num_votes_abbreviated") is None:
        votes = parse_count(_raw(card, "similar_num_votes", "num_votes"))
        out["similar_num_votes"], out["similar_num_votes_abbreviated"] = votes or (None, None)
    else:
        out["similar_num_votes"] = card.get("similar_num_votes")
        out["similar_num_votes_abbreviated"] = card["similar_num_votes_abbreviated"]
    return out


class NormalizeTitlePipeline:
    """Types a ``TitleItem`` whole (see the module doc); other items pass through.  NUL
    characters are first removed from every string of the item, and counted in the stat
    ``text/nul_removed`` (crawl_runs ``nul_removed``)."""

    def __init__(self, stats: StatsCollector | None = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizeTitlePipeline:
        return cls(crawler.stats)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, TitleItem):
            return item
        values, removed = without_nul(dict(item))
        if removed and self.stats is not None:
            self.stats.inc_value(NUL_STAT, removed)
        out = normalize_title({k: v for k, v in values.items()
                               if k not in ("credits", "more_like_this")})
        out["credits"] = [normalize_credit(c) for c in values.get("credits") or []]
        out["more_like_this"] = [normalize_edge(c) for c in values.get("more_like_this") or []]
        return TitleItem(out)
