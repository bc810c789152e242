"""The normalising pipeline, on title pages built from the seed page's facts."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from itemadapter import ItemAdapter

from crawler.items import AliasItem, FailureItem, TitleItem
from pipelines.normalize import (
    NormalizeTitlePipeline,
    normalize_credit,
    normalize_edge,
    normalize_rating,
)
from pipelines.rows import table_rows
from pipelines.schemas import SCHEMAS

STAMP = {"run_id": "r1", "crawled_at": "2024-05-01T12:00:00Z"}
PIPELINE = NormalizeTitlePipeline()


def run_all(item: object) -> object:
    return PIPELINE.process_item(item)


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
    assert isinstance(out.item, TitleItem)
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
    # every field is a column of titles or ratings, and each row converts without a cast error
    columns = set(SCHEMAS["titles"].names) | set(SCHEMAS["ratings"].names)
    assert set(out.keys()) - {"credits", "more_like_this", "outcome"} <= columns
    assert out["outcome"] == "title"
    for table, values in table_rows(out.item):
        row = {k: values.get(k) for k in SCHEMAS[table].names}
        row["crawled_at"] = row["observed_at"] = None  # ISO strings: the exporter types them
        pa.Table.from_pylist([row], schema=SCHEMAS[table])


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


def test_pipeline_is_idempotent() -> None:
    item = seed_title_html()
    item["credits"] = [{"name": "X", "notes": ["(as Y)"], "category": "actress"}]
    item["more_like_this"] = [{"rank": 1, "tconst": "tt0053106", "num_votes": "2.1K"}]
    once = run_all(item)
    twice = run_all(once)
    assert dict(ItemAdapter(twice).items()) == dict(ItemAdapter(once).items())
    assert ItemAdapter(once)["credits"][0]["credited_as"] == "Y"


def test_rating() -> None:
    html = normalize_rating({"average_rating": "8.3/10", "num_votes": "16K"})
    assert html == {"average_rating": 8.3, "num_votes": 16000, "num_votes_abbreviated": True}
    json_ = normalize_rating({"average_rating": 8.3, "num_votes": 16123})
    assert json_ == {"average_rating": 8.3, "num_votes": 16123, "num_votes_abbreviated": False}
    missing = normalize_rating({})
    assert missing["num_votes"] is None and missing["num_votes_abbreviated"] is None


def test_a_title_without_rating_writes_no_ratings_row() -> None:
    out = run_all(TitleItem(tconst="tt5935574", depth=1, **STAMP))
    assert [table for table, _ in table_rows(out)] == ["titles"]


def test_credit() -> None:
    out = normalize_credit({
        "category": "cast",
        "ordering": 5,
        "nconst": None,
        "name": "  Svetlana Kharitonova ",
        "characters": ["Irina Fyodorovna  Borozdina"],
        "notes": ["(as S. Kharitonova)"],
    })
    assert out["primary_name"] == "Svetlana Kharitonova"
    assert out["characters"] == ["Irina Fyodorovna Borozdina"]
    assert out["credited_as"] == "S. Kharitonova"
    assert out["attributes"] == [] and out["uncredited"] is False
    assert out["category"] == "cast" and out["ordering"] == 5
    assert "name" not in out and "notes" not in out
    assert set(out) <= set(SCHEMAS["credits"].names)

    writer = normalize_credit({
        "category": "writer",
        "ordering": 1,
        "name": "Viktor Rozov",
        "notes": ['play "Vecno zivye"', "screenplay"],
    })
    assert writer["attributes"] == ['play "Vecno zivye"', "screenplay"]
    assert writer["characters"] == [] and writer["category"] == "writer"


def test_more_like_this() -> None:
    out = normalize_edge({
        "tconst": "tt0053106",
        "rank": 1,
        "primary_title": "Neotpravlennoe pismo",
        "start_year": "1960",
        "average_rating": "7.9",
        "num_votes": "2.1K",
    })
    assert out["similar_tconst"] == "tt0053106"
    assert out["similar_primary_title"] == "Neotpravlennoe pismo"
    assert out["similar_average_rating"] == 7.9
    assert (out["similar_num_votes"], out["similar_num_votes_abbreviated"]) == (2100, True)
    assert out["similar_start_year"] == 1960 and out["rank"] == 1
    assert set(out) <= set(SCHEMAS["more_like_this"].names)


def test_title_page_is_normalised_whole() -> None:
    item = seed_title_html()
    item["average_rating"], item["num_votes"] = "8.3/10", "16K"
    item["credits"] = [{"category": "director", "ordering": 1, "nconst": "nm0456615",
                        "name": "Mikhail Kalatozov "}]
    item["more_like_this"] = [{"rank": 1, "tconst": "tt0053106", "average_rating": "7.9"}]
    out = ItemAdapter(run_all(item))
    assert (out["average_rating"], out["num_votes"], out["num_votes_abbreviated"]) == (
        8.3, 16000, True)
    assert out["credits"][0]["primary_name"] == "Mikhail Kalatozov"
    assert out["more_like_this"][0]["similar_average_rating"] == 7.9


def test_other_items_pass_through_untouched() -> None:
    failure = FailureItem(tconst="tt0111161", reason="blocked", http_status=202, **STAMP)
    alias = AliasItem(tconst="tt0000001", canonical_tconst="tt0000002", **STAMP)
    plain = {"anything": " as is "}
    for item in (failure, alias, plain):
        assert run_all(item) is item
