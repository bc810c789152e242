"""The seed title, tt0050634: every fact its page shows comes out right.

The page is rendered from the hand-written catalogue record (facts of
../shared/seed, markup of our own after the real pages' structure), read back by
the extraction layer and normalised by the pipelines, as a crawl would.  The
expected values are written out here, from the seed text, not read from the
catalogue, so a wrong catalogue fails too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from crawler.extraction import extract_page
from crawler.items import title_item
from crawler.records import PageKind
from mirror.loader import load_catalogue
from mirror.render import render_title_page
from pipelines.normalize import NormalizeTitlePipeline
from pipelines.rows import table_rows

URL = "https://www.imdb.com/title/tt0050634/"

CAST = [  # billing, name, nconst, character, credited as (../shared/seed/people.tsv)
    (1, "Tatyana Samoylova", "nm0759967", "Veronika", None),
    (2, "Aleksey Batalov", None, "Boris Fyodorovich Borodin", None),
    (3, "Vasiliy Merkurev", None, "Fyodor Ivanovich Borozdin", None),
    (4, "Aleksandr Shvorin", None, "Mark Aleksandrovich Borozdin", None),
    (5, "Svetlana Kharitonova", None, "Irina Fyodorovna Borozdina", "S. Kharitonova"),
    (6, "Konstantin Kadochnikov", None, "Volodya", "K. Nikitin"),
    (7, "Valentin Zubkov", None, "Stepan", "V. Zubkov"),
    (8, "Antonina Bogdanova", None, "Varvara Kapitanova - babushka Borisa i Irina",
     "A. Bogdanova"),
    (9, "Boris Kokovkin", None, "Nikolay Chernov", "B. Kokovkin"),
    (10, "Ekaterina Kupriyanova", None, "Anna Mikhaylovna Lebedeva", "Ye. Kupriyanova"),
    (11, "Valentina Ananina", None, "Lyuba", "V. Ananina"),
    (12, "Valentina Vladimirova", None, "Soldatka", "V. Vladimirova"),
    (13, "Olga Dzisko", None, "Dasha", "O. Dzisko"),
    (14, "Leonid Knyazev", None, "Sachkov", "L. Knyazev"),
    (15, "Georgiy Kulikov", None, "Anatoliy Kuzmin", "Yu. Kulikov"),
    (16, "Daniil Netrebin", None, "Ranenyy", "D. Netrebin"),
    (17, "Aleksandr Popov", None, "Borya", "Sasha Popov"),
    (18, "Irina Preys", None, "Antonina Monastyrskaya", "I. Preys"),
]

MORE_LIKE_THIS = [  # ../shared/seed/more_like_this.tsv: tconst, card title, year, card rating
    ("tt0053106", "Neotpravlennoe pismo", 1960, 7.9),
    ("tt0052600", "Ballada o soldate", 1959, 8.2),
    ("tt0075404", "Voskhozhdenie", 1977, 8.3),
    ("tt0058604", "Soy Cuba", 1964, 8.2),
    ("tt0047650", "Vernye druz'ya", 1954, 7.5),
    ("tt0056111", "Ivanovo detstvo", 1962, 8.1),
    ("tt0053317", "Sudba cheloveka", 1959, 8.0),
    ("tt0049902", "Un condamné à mort s'est échappé ou Le vent souffle où il veut", 1956, 8.3),
    ("tt0052080", "Popiól i diament", 1958, 7.8),
    ("tt0043156", "Zagovor obrechyonnykh", 1950, 5.5),
    ("tt0058625", "Suna no onna", 1964, 8.5),
]


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict[str, Any]]]:
    record, options = load_catalogue()["tt0050634"]
    page = render_title_page(record, **options)
    result = extract_page(page.encode("utf-8"), URL, 200, "text/html; charset=utf-8")
    assert result["kind"] is PageKind.TITLE, result["reason"]
    assert result["title"] is not None
    item = title_item(result["title"], depth=0, run_id="seed",
                      crawled_at="2026-11-26T00:00:00+00:00")
    out: dict[str, list[dict[str, Any]]] = {}
    for table, row in table_rows(NormalizeTitlePipeline().process_item(item)):
        out.setdefault(table, []).append(row)
    return out


def test_title_facts(rows: dict[str, list[dict[str, Any]]]) -> None:
    (t,) = rows["titles"]
    assert t["tconst"] == "tt0050634"
    assert t["primary_title"] == "Letyat zhuravli"
    assert t["title_type"] == "movie"
    assert t["start_year"] == 1957 and t["end_year"] is None
    assert t["runtime_minutes"] == 95
    assert t["genres"] == ["Drama", "Romance", "War"]
    assert t["certificate"] == "Not Rated"
    assert t["release_date"] == date(1957, 10, 12)
    assert t["release_country"] == "Soviet Union"
    assert t["countries_of_origin"] == ["Soviet Union"]
    assert t["spoken_languages"] == ["Russian"]
    assert t["also_known_as"] == ["The Cranes Are Flying"]
    assert t["production_companies"] == ["Mosfilm"]
    assert t["filming_locations"] == ["Mosfilm Studios, Moscow, Russia"]
    assert (t["gross_us_canada_amount"], t["gross_us_canada_currency"]) == (17923, "USD")
    assert (t["gross_worldwide_amount"], t["gross_worldwide_currency"]) == (17923, "USD")
    assert t["budget_amount"] is None
    assert t["color"] == ["Black and White"]
    assert t["sound_mix"] == ["Mono"]
    assert t["aspect_ratio"] == ["1.37 : 1"]
    assert (t["awards_wins"], t["awards_nominations"]) == (6, 4)
    assert (t["user_review_count"], t["critic_review_count"]) == (83, 73)
    assert t["keywords"][:5] == ["crane the bird", "moscow russia", "loveless marriage",
                                 "missing in action", "air raid shelter"]
    assert t["keywords_total"] == 92  # five shown + "87 more"
    assert t["poster_url"] is None  # not known: nothing invented


def test_rating_is_read_from_the_html_only_figure(
    rows: dict[str, list[dict[str, Any]]]
) -> None:
    (r,) = rows["ratings"]
    assert r["average_rating"] == 8.3
    # The seed page shows only "16K": read from the HTML, flagged as rounded.
    assert (r["num_votes"], r["num_votes_abbreviated"]) == (16000, True)


def test_director_and_writer_with_both_notes(rows: dict[str, list[dict[str, Any]]]) -> None:
    crew = [c for c in rows["credits"] if c["category"] in ("director", "writer")]
    assert [(c["category"], c["primary_name"], c["nconst"]) for c in crew] == [
        ("director", "Mikhail Kalatozov", "nm0435563"),
        ("writer", "Viktor Rozov", None),
    ]
    assert crew[1]["attributes"] == ['play "Vecno zivye"', "screenplay"]


def test_all_eighteen_cast_in_billing_order(rows: dict[str, list[dict[str, Any]]]) -> None:
    cast = [c for c in rows["credits"] if c["category"] not in ("director", "writer")]
    got = [(c["ordering"], c["primary_name"], c["nconst"], c["characters"], c["credited_as"])
           for c in cast]
    assert got == [(o, n, i, [ch], a) for o, n, i, ch, a in CAST]
    # The page does not say actor or actress for these: the documented neutral category.
    assert {c["category"] for c in cast} == {"cast"}
    assert not any(c["uncredited"] for c in cast)


def test_eleven_more_like_this_in_page_order(rows: dict[str, list[dict[str, Any]]]) -> None:
    edges = rows["more_like_this"]
    assert [(e["rank"], e["similar_tconst"], e["similar_primary_title"],
             e["similar_start_year"], e["similar_average_rating"]) for e in edges] == [
        (i, t, title, year, rating) for i, (t, title, year, rating) in
        enumerate(MORE_LIKE_THIS, start=1)
    ]
    assert {e["tconst"] for e in edges} == {"tt0050634"}
