"""The normalising item pipelines, on items built from the seed page's facts."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from itemadapter import ItemAdapter

from crawler.items import (
    AliasItem,
    CreditItem,
    FailureItem,
    MoreLikeThisItem,
    RatingItem,
    TitleItem,
)
from pipelines.normalize import (
    NormalizeCreditPipeline,
    NormalizeMoreLikeThisPipeline,
    NormalizeRatingPipeline,
    NormalizeTitlePipeline,
)
from pipelines.schemas import SCHEMAS

STAMP = {"run_id": "r1", "crawled_at": "2024-05-01T12:00:00Z"}
PIPELINES = [
    NormalizeTitlePipeline(),
    NormalizeRatingPipeline(),
    NormalizeCreditPipeline(),
    NormalizeMoreLikeThisPipeline(),
]


def run_all(item: object) -> object:
    for p in PIPELINES:
        item = p.process_item(item)
    return item


def seed_title_html() -> TitleItem:
    """tt0050634 as its HTML shows it (strings as found)."""
    return TitleItem(
        tconst="tt0050634",
        url="https://www.imdb.com/title/tt0050634/",
        layout="legacy",
        title_type="movie",
        primary_title=" Letyat zhuravli\n",
        start_year="1957",
        runtime_minutes="1h 35m",
        genres=["Drama", " Romance ", "", "War"],
        certificate="Not Rated",
        release_date="October 12, 1957 (Soviet Union)",
        release_country="Soviet Union",
        countries_of_origin=["Soviet Union"],
        spoken_languages=["Russian"],
        also_known_as=["The Cranes Are Flying"],
        gross_us_canada="$17,923",
        gross_worldwide="$17,923",
        budget=None,
        color=["Black and White"],
        sound_mix=["Mono"],
        aspect_ratio=["1.37 : 1"],
        awards_wins=6,
        awards_nominations=4,
        user_review_count="83",
        critic_review_count="73",
        keywords_total=92,
        depth=0,
        **STAMP,
    )


def test_title_from_html_strings() -> None:
    out = ItemAdapter(run_all(seed_title_html()))
    assert isinstance(out.item, TitleItem) and out.item.table == "titles"
    assert out["primary_title"] == "Letyat zhuravli"
    assert out["start_year"] == 1957
    assert out["runtime_minutes"] == 95
    assert out["genres"] == ["Drama", "Romance", "War"]
    assert out["release_date"] == date(1957, 10, 12)
    assert out["release_date_precision"] == "day"
    assert (out["gross_us_canada_amount"], out["gross_us_canada_currency"]) == (17923, "USD")
    assert (out["gross_worldwide_amount"], out["gross_worldwide_currency"]) == (17923, "USD")
    assert out["budget_amount"] is None and out["budget_currency"] is None
    assert out["opening_weekend_us_canada_amount"] is None
    assert "gross_us_canada" not in out and "budget" not in out
    assert (out["user_review_count"], out["critic_review_count"]) == (83, 73)
    # every field is a column of titles, and the row converts without a cast error
    assert set(out.keys()) <= set(SCHEMAS["titles"].names)
    row = dict(out.items())
    row["crawled_at"] = None
    pa.Table.from_pylist([row], schema=SCHEMAS["titles"])


def test_title_from_json_values_and_partial_date() -> None:
    item = TitleItem(
        tconst="tt1167638",
        runtime_minutes=117,  # extraction already turned 7020 s into minutes
        budget={"amount": 18000000, "currency": "EUR"},
        release_date="2009-10",
        is_adult=False,
        **STAMP,
    )
    out = ItemAdapter(run_all(item))
    assert out["runtime_minutes"] == 117
    assert (out["budget_amount"], out["budget_currency"]) == (18_000_000, "EUR")
    assert (out["release_date"], out["release_date_precision"]) == (date(2009, 10, 1), "month")
    assert out["is_adult"] is False


def test_bad_strings_become_none() -> None:
    item = TitleItem(
        tconst="tt0050634",
        runtime_minutes="soon",
        budget="lots",
        release_date="someday",
        start_year="19xx",
        **STAMP,
    )
    out = ItemAdapter(run_all(item))
    assert out["runtime_minutes"] is None and out["budget_amount"] is None
    assert out["release_date"] is None and out["start_year"] is None


def test_pipelines_are_idempotent() -> None:
    once = run_all(seed_title_html())
    twice = run_all(once)
    assert dict(ItemAdapter(twice).items()) == dict(ItemAdapter(once).items())
    credit = run_all(CreditItem(tconst="tt0050634", name="X", notes=["(as Y)"], **STAMP))
    assert dict(ItemAdapter(run_all(credit)).items()) == dict(ItemAdapter(credit).items())


def test_rating() -> None:
    html = ItemAdapter(
        run_all(RatingItem(tconst="tt0050634", average_rating="8.3/10", num_votes="16K", **STAMP))
    )
    assert (html["average_rating"], html["num_votes"], html["num_votes_abbreviated"]) == (
        8.3,
        16000,
        True,
    )
    json_ = ItemAdapter(
        run_all(RatingItem(tconst="tt0050634", average_rating=8.3, num_votes=16123, **STAMP))
    )
    assert (json_["average_rating"], json_["num_votes"], json_["num_votes_abbreviated"]) == (
        8.3,
        16123,
        False,
    )
    missing = ItemAdapter(run_all(RatingItem(tconst="tt5935574", **STAMP)))
    assert missing["num_votes"] is None and missing["num_votes_abbreviated"] is None


def test_credit() -> None:
    item = CreditItem(
        tconst="tt0050634",
        category="cast",
        ordering=5,
        nconst=None,
        name="  Svetlana Kharitonova ",
        characters=["Irina Fyodorovna  Borozdina"],
        notes=["(as S. Kharitonova)"],
        **STAMP,
    )
    out = ItemAdapter(run_all(item))
    assert out["primary_name"] == "Svetlana Kharitonova"
    assert out["characters"] == ["Irina Fyodorovna Borozdina"]
    assert out["credited_as"] == "S. Kharitonova"
    assert out["attributes"] == [] and out["uncredited"] is False
    assert out["category"] == "cast" and out["ordering"] == 5
    assert "name" not in out and "notes" not in out
    assert set(out.keys()) <= set(SCHEMAS["credits"].names)

    writer = ItemAdapter(
        run_all(
            CreditItem(
                tconst="tt0050634",
                category="writer",
                ordering=1,
                name="Viktor Rozov",
                notes=['play "Vecno zivye"', "screenplay"],
                **STAMP,
            )
        )
    )
    assert writer["attributes"] == ['play "Vecno zivye"', "screenplay"]
    assert writer["characters"] == [] and writer["category"] == "writer"


def test_more_like_this() -> None:
    item = MoreLikeThisItem(
        tconst="tt0050634",
        similar_tconst="tt0053106",
        rank=1,
        similar_primary_title="Neotpravlennoe pismo",
        similar_start_year="1960",
        similar_average_rating="7.9",
        similar_num_votes="2.1K",
        **STAMP,
    )
    out = ItemAdapter(run_all(item))
    assert out["similar_average_rating"] == 7.9
    assert (out["similar_num_votes"], out["similar_num_votes_abbreviated"]) == (2100, True)
    assert out["similar_start_year"] == 1960 and out["rank"] == 1
    assert set(out.keys()) <= set(SCHEMAS["more_like_this"].names)


def test_other_items_pass_through_untouched() -> None:
    failure = FailureItem(tconst="tt0111161", reason="blocked", http_status=202, **STAMP)
    alias = AliasItem(tconst="tt0000001", canonical_tconst="tt0000002", **STAMP)
    plain = {"anything": " as is "}
    for item in (failure, alias, plain):
        assert run_all(item) is item
    rating = RatingItem(tconst="tt0050634", average_rating="8.3/10", num_votes="16K", **STAMP)
    # a pipeline leaves other classes' items alone, even ones it could parse
    assert NormalizeTitlePipeline().process_item(rating) is rating
    assert NormalizeCreditPipeline().process_item(rating) is rating
