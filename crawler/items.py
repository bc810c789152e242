"""Items the spider yields, one class per output table.

Values are as found on the page (see ``crawler.records``); the pipelines in
``pipelines/`` normalise them, and ``pipelines.parquet`` writes each item class
to its table (``Item.table``).  Every item carries ``run_id`` and
``crawled_at`` (ISO-8601 UTC of the fetch), set by the spider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import scrapy

from crawler.records import TitleRecord

# TitleRecord fields that go to other tables.
_NOT_IN_TITLES = {"credits", "more_like_this", "average_rating", "num_votes"}
TITLE_FIELDS = tuple(k for k in TitleRecord.__annotations__ if k not in _NOT_IN_TITLES)


class TableItem(scrapy.Item):
    table: ClassVar[str]
    # Every row says which run wrote it and when its page was fetched.
    run_id = scrapy.Field()
    crawled_at = scrapy.Field()


class TitleItem(TableItem):
    """One row of ``titles``: every TitleRecord field but credits, links and rating."""

    table = "titles"
    for _name in (*TITLE_FIELDS, "depth"):
        locals()[_name] = scrapy.Field()
    del _name


class RatingItem(TableItem):
    """One row of ``ratings``: raw ``average_rating`` ("8.3/10" or 8.3), ``num_votes`` ("16K")."""

    table = "ratings"
    tconst = scrapy.Field()
    average_rating = scrapy.Field()
    num_votes = scrapy.Field()


class CreditItem(TableItem):
    """One row of ``credits``: a CreditRecord plus the title's tconst (raw notes)."""

    table = "credits"
    tconst = scrapy.Field()
    category = scrapy.Field()
    ordering = scrapy.Field()
    nconst = scrapy.Field()
    name = scrapy.Field()
    characters = scrapy.Field()
    notes = scrapy.Field()


class MoreLikeThisItem(TableItem):
    """One edge of the similarity graph: ``tconst`` -> ``similar_tconst`` at ``rank``."""

    table = "more_like_this"
    tconst = scrapy.Field()
    similar_tconst = scrapy.Field()
    rank = scrapy.Field()
    similar_primary_title = scrapy.Field()
    similar_original_title = scrapy.Field()
    similar_title_type = scrapy.Field()
    similar_start_year = scrapy.Field()
    similar_average_rating = scrapy.Field()
    similar_num_votes = scrapy.Field()


class FailureItem(TableItem):
    """A title that was scheduled but did not make it into ``titles``, and why."""

    table = "failures"
    tconst = scrapy.Field()
    url = scrapy.Field()
    depth = scrapy.Field()
    reason = scrapy.Field()  # "blocked", "not_found", "http_503", "timeout", "wrong_title", ...
    http_status = scrapy.Field()
    attempts = scrapy.Field()


class AliasItem(TableItem):
    """A merged title: ``tconst`` was redirected to ``canonical_tconst``."""

    table = "aliases"
    tconst = scrapy.Field()
    canonical_tconst = scrapy.Field()


ITEM_CLASSES: tuple[type[TableItem], ...] = (
    TitleItem,
    RatingItem,
    CreditItem,
    MoreLikeThisItem,
    FailureItem,
    AliasItem,
)


def items_from_record(
    record: TitleRecord, *, depth: int, run_id: str, crawled_at: str
) -> Iterator[TableItem]:
    """The rows of one title page: its title, rating, credits and "More like this" edges."""
    tconst = record["tconst"]
    stamp = {"run_id": run_id, "crawled_at": crawled_at}
    yield TitleItem(**{k: record.get(k) for k in TITLE_FIELDS}, depth=depth, **stamp)
    if record.get("average_rating") is not None or record.get("num_votes") is not None:
        yield RatingItem(tconst=tconst, average_rating=record.get("average_rating"),
                         num_votes=record.get("num_votes"), **stamp)
    for credit in record.get("credits") or []:
        yield CreditItem(
            tconst=tconst,
            category=credit.get("category"),
            ordering=credit.get("ordering"),
            nconst=credit.get("nconst"),
            name=credit.get("name"),
            characters=credit.get("characters") or [],
            notes=credit.get("notes") or [],
            **stamp,
        )
    for card in record.get("more_like_this") or []:
        yield MoreLikeThisItem(
            tconst=tconst,
            similar_tconst=card["tconst"],
            rank=card.get("rank"),
            similar_primary_title=card.get("primary_title"),
            similar_original_title=card.get("original_title"),
            similar_title_type=card.get("title_type"),
            similar_start_year=card.get("start_year"),
            similar_average_rating=card.get("average_rating"),
            similar_num_votes=card.get("num_votes"),
            **stamp,
        )
