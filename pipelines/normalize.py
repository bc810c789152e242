"""Item pipelines that type and trim what the spider found, one per item class.

Each pipeline touches only its own item class (and its subclasses) and passes
every other item through unchanged.  They only transform: nothing is written
or dropped here.  The output is an item of a subclass of the input class (so
``.table`` and ``isinstance`` still hold) whose fields are the columns of
``pipelines.schemas``: e.g. ``budget`` becomes ``budget_amount`` and
``budget_currency``, a credit's ``name`` becomes ``primary_name``.  Running a
pipeline twice gives the same item.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import scrapy
from itemadapter import ItemAdapter

from crawler.items import CreditItem, MoreLikeThisItem, RatingItem, TitleItem
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
)

MONEY_FIELDS = ("budget", "opening_weekend_us_canada", "gross_us_canada", "gross_worldwide")
LIST_FIELDS = TITLE_LIST_FIELDS
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


def _with_fields(base: type[scrapy.Item], *names: str) -> type[scrapy.Item]:
    fields = {n: scrapy.Field() for n in names}
    return type(f"Normalized{base.__name__}", (base,), {**fields, "__module__": __name__})


NormalizedTitleItem = _with_fields(
    TitleItem,
    "release_date_precision",
    "runtime_minutes",
    *(f"{m}_{part}" for m in MONEY_FIELDS for part in ("amount", "currency")),
)
NormalizedRatingItem = _with_fields(RatingItem, "num_votes_abbreviated")
NormalizedCreditItem = _with_fields(
    CreditItem, "primary_name", "credited_as", "attributes", "uncredited"
)
NormalizedMoreLikeThisItem = _with_fields(MoreLikeThisItem, "similar_num_votes_abbreviated")


def _copy(item: scrapy.Item, to: type[scrapy.Item], drop: tuple[str, ...] = ()) -> Any:
    return to({k: v for k, v in ItemAdapter(item).items() if k not in drop})


class NormalizeTitlePipeline:
    """TitleItem: trims text, types numbers, flattens money, parses the release date."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, TitleItem):
            return item
        raw = ItemAdapter(item)
        out = _copy(item, NormalizedTitleItem, drop=MONEY_FIELDS)
        for name in TEXT_FIELDS:
            if name in raw:
                out[name] = clean_text(raw[name])
        for name in LIST_FIELDS:
            if name in raw:
                out[name] = clean_list(raw[name])
        for name in INT_FIELDS:
            if name in raw:
                out[name] = parse_int(raw[name])
        if "is_adult" in raw:
            out["is_adult"] = parse_bool(raw["is_adult"])
        if "runtime_minutes" in raw:
            out["runtime_minutes"] = parse_runtime(raw["runtime_minutes"])
        for name in MONEY_FIELDS:
            if raw.get(name) is not None or f"{name}_amount" not in raw:
                money = parse_money(raw.get(name))
                out[f"{name}_amount"], out[f"{name}_currency"] = money or (None, None)
        value = raw.get("release_date")
        if value is not None and not (
            isinstance(value, date) and raw.get("release_date_precision")
        ):  # already typed: a second pass must keep the precision
            parsed = parse_release_date(value)
            out["release_date"], out["release_date_precision"] = parsed or (None, None)
        return out


class NormalizeRatingPipeline:
    """RatingItem: ``average_rating`` float, ``num_votes`` int + ``num_votes_abbreviated``."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, RatingItem):
            return item
        raw = ItemAdapter(item)
        out = _copy(item, NormalizedRatingItem)
        out["tconst"] = clean_text(raw.get("tconst"))
        out["average_rating"] = parse_rating(raw.get("average_rating"))
        if raw.get("num_votes_abbreviated") is None:
            votes = parse_count(raw.get("num_votes"))
            out["num_votes"], out["num_votes_abbreviated"] = votes or (None, None)
        return out


class NormalizeCreditPipeline:
    """CreditItem: notes -> credited_as / attributes / uncredited; name -> primary_name;
    category in title.principals vocabulary (see ``pipelines.credits``)."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, CreditItem):
            return item
        raw = ItemAdapter(item)
        out = _copy(item, NormalizedCreditItem, drop=("name", "notes"))
        characters = clean_characters(raw.get("characters"))
        if "notes" in raw or "attributes" not in raw:
            notes = parse_notes(raw.get("notes"))
            out["credited_as"] = notes.credited_as
            out["attributes"] = notes.attributes
            out["uncredited"] = notes.uncredited
        if "name" in raw:
            out["primary_name"] = clean_text(raw["name"])
        out["characters"] = characters
        out["category"] = normalize_category(raw.get("category"), characters, out["attributes"])
        out["ordering"] = parse_int(raw.get("ordering"))
        out["nconst"] = clean_text(raw.get("nconst"))
        out["tconst"] = clean_text(raw.get("tconst"))
        return out


class NormalizeMoreLikeThisPipeline:
    """MoreLikeThisItem: rating float, votes int (+ abbreviated flag), year and rank int."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, MoreLikeThisItem):
            return item
        raw = ItemAdapter(item)
        out = _copy(item, NormalizedMoreLikeThisItem)
        for name in (
            "tconst",
            "similar_tconst",
            "similar_primary_title",
            "similar_original_title",
            "similar_title_type",
        ):
            if name in raw:
                out[name] = clean_text(raw[name])
        out["rank"] = parse_int(raw.get("rank"))
        out["similar_start_year"] = parse_int(raw.get("similar_start_year"))
        out["similar_average_rating"] = parse_rating(raw.get("similar_average_rating"))
        if raw.get("similar_num_votes_abbreviated") is None:
            votes = parse_count(raw.get("similar_num_votes"))
            out["similar_num_votes"], out["similar_num_votes_abbreviated"] = votes or (None, None)
        return out
