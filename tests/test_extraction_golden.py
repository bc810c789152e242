"""Golden tests: every current-layout real page, each field against the page's own JSON.

The expected values are read here with plain, explicit paths into ``__NEXT_DATA__`` (the
first title object that has the field), not with the extractor's merge code, and are
cross-checked against the page's JSON-LD where both carry a fact.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from crawler.extraction import extract_page
from crawler.records import PageKind
from tests.conftest import needs_shared, real_pages

PAGES = real_pages("next2021plus")
pytestmark = needs_shared


def _script(text: str, opener: str) -> Any:
    start = text.index(">", text.index(opener)) + 1
    return json.loads(text[start : text.index("</script>", start)])


def title_objects(next_data: dict, tconst: str) -> list[dict]:
    """The page's title objects in all eras: above-the-fold, main column, urql answers."""
    props = next_data["props"]
    page_props = props["pageProps"]
    objects = [
        page_props[key]
        for key in ("aboveTheFoldData", "mainColumnData")
        if isinstance(page_props.get(key), dict)
    ]
    urql = page_props.get("urqlState") or props.get("urqlState") or {}
    for entry in urql.values():
        title = (entry.get("data") or {}).get("title")
        if isinstance(title, dict) and title.get("id", tconst) == tconst:
            objects.append(title)
    return objects


def get(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(key)] if len(obj) > int(key) else None
        elif isinstance(obj, dict):
            obj = obj.get(key)
        else:
            return None
    return obj


def first(objects: list[dict], path: str) -> Any:
    for obj in objects:
        value = get(obj, path)
        if value is not None:
            return value
    return None


def longest(objects: list[dict], path: str) -> list:
    lists = [get(o, path) for o in objects]
    return max((x for x in lists if isinstance(x, list)), key=len, default=[])


@pytest.fixture(scope="module", params=PAGES, ids=[p.name for p in PAGES])
def page(request: pytest.FixtureRequest) -> dict:
    path: Path = request.param
    tconst = path.name.split("__")[0]
    text = path.read_text(encoding="utf-8")
    next_data = _script(text, '<script id="__NEXT_DATA__"')
    ld = _script(text, '<script type="application/ld+json">')
    result = extract_page(path.read_bytes(), f"https://www.imdb.com/title/{tconst}/")
    return {
        "tconst": tconst,
        "objects": title_objects(next_data, tconst),
        "ld": ld,
        "text": text,
        "result": result,
        "title": result["title"],
    }


SCALARS = {
    "primary_title": "titleText.text",
    "original_title": "originalTitleText.text",
    "title_type": "titleType.id",
    "start_year": "releaseYear.year",
    "end_year": "releaseYear.endYear",
    "average_rating": "ratingsSummary.aggregateRating",
    "num_votes": "ratingsSummary.voteCount",
    "certificate": "certificate.rating",
    "metascore": "metacritic.metascore.score",
    "is_adult": "isAdult",
    "awards_wins": "wins.total",
    "awards_nominations": "nominations.total",
    "user_review_count": "reviews.total",
    "critic_review_count": "criticReviewsTotal.total",
    "poster_url": "primaryImage.url",
    "release_country_code": "releaseDate.country.id",
}


def test_classified_as_title(page: dict) -> None:
    result = page["result"]
    assert result["kind"] == PageKind.TITLE, result["reason"]
    assert result["tconst"] == result["found_tconst"] == page["tconst"]
    assert page["title"]["layout"].startswith("next:")


@pytest.mark.parametrize("field", sorted(SCALARS))
def test_scalar_field(page: dict, field: str) -> None:
    expected = first(page["objects"], SCALARS[field])
    assert page["title"][field] == expected


def test_runtime_and_release_date(page: dict) -> None:
    seconds = first(page["objects"], "runtime.seconds")
    runtime = page["title"]["runtime_minutes"]
    if seconds is not None:
        assert runtime == seconds // 60
    else:  # only the tech-specs text may supply it, never a number out of nowhere
        assert runtime is None or isinstance(runtime, str)
    year = first(page["objects"], "releaseDate.year")
    month = first(page["objects"], "releaseDate.month")
    day = first(page["objects"], "releaseDate.day")
    date = page["title"]["release_date"]
    if year is None:
        assert date is None
    else:
        assert date.startswith(f"{year:04d}")
        if month and day:
            assert date == f"{year:04d}-{month:02d}-{day:02d}"


def test_lists(page: dict) -> None:
    objs, title = page["objects"], page["title"]
    assert title["genres"] == [g["id"] for g in longest(objs, "genres.genres")]
    countries = longest(objs, "countriesOfOrigin.countries")
    assert title["countries_of_origin_codes"] == [c["id"] for c in countries]
    languages = longest(objs, "spokenLanguages.spokenLanguages")
    assert title["spoken_language_codes"] == [x["id"] for x in languages]
    assert title["spoken_languages"] == [x["text"] for x in languages]
    assert title["also_known_as"] == [e["node"]["text"] for e in longest(objs, "akas.edges")]
    production = longest(objs, "production.edges")
    assert title["production_company_ids"] == [e["node"]["company"]["id"] for e in production]
    keywords = longest(objs, "keywords.edges") or longest(objs, "storylineKeywords.edges")
    assert title["keywords"] == [e["node"]["text"] for e in keywords]
    taglines = longest(objs, "taglines.edges")
    if taglines:
        assert title["taglines"] == [e["node"]["text"] for e in taglines]
    budget = first(objs, "productionBudget.budget")
    assert title["budget"] == (
        {"amount": budget["amount"], "currency": budget["currency"]} if budget else None
    )


def test_plot_and_storyline(page: dict) -> None:
    objs, title = page["objects"], page["title"]
    plot = first(objs, "plot.plotText.plainText")
    if plot is not None:
        assert title["plot"] == plot.strip()
    summary = first(objs, "summaries.edges.0.node")
    if summary:
        text = html.unescape(re.sub(r"<[^>]+>", "", summary["plotText"]["plaidHtml"])).strip()
        assert title["storyline"] == text
        assert title["storyline_author"] == (summary.get("author") or None)
    elif title["storyline"] is not None:  # from the Storyline HTML section: a real sentence
        assert len(title["storyline"]) > 40
        assert "<" not in title["storyline"]


def _crew(objs: list[dict], key: str, category: str) -> list[tuple[str, str]]:
    groups = longest(objs, key)
    if not groups:
        groups = [g for g in longest(objs, "principalCredits") if get(g, "category.id") == category]
    return [(c["name"]["id"], c["name"]["nameText"]["text"]) for g in groups for c in g["credits"]]


@pytest.mark.parametrize(
    ("key", "category"),
    [("directors", "director"), ("writers", "writer"), ("creators", "creator")],
)
def test_crew_credits(page: dict, key: str, category: str) -> None:
    got = [c for c in page["title"]["credits"] if c["category"] == category]
    assert [(c["nconst"], c["name"]) for c in got] == _crew(page["objects"], key, category)
    assert [c["ordering"] for c in got] == list(range(1, len(got) + 1))


_HTML_ACTOR_RE = re.compile(
    r'data-testid="title-cast-item__actor" href="/name/(nm\d+)[^>]*>([^<]+)</a>'
)


def test_cast_credits(page: dict) -> None:
    edges = longest(page["objects"], "cast.edges")
    got = [c for c in page["title"]["credits"] if c["category"] in ("actor", "actress", "cast")]
    if not edges:  # the JSON has no cast: the "Top cast" HTML is the only source
        actors = _HTML_ACTOR_RE.findall(page["text"])
        assert [(c["nconst"], c["name"]) for c in got] == [
            (n, html.unescape(name)) for n, name in actors
        ]
        return
    expected = [
        (
            e["node"]["name"]["id"],
            e["node"]["name"]["nameText"]["text"],
            [ch["name"] for ch in e["node"].get("characters") or []],
            get(e, "node.category.id") or "cast",
            [a["text"] for a in e["node"].get("attributes") or []],
        )
        for e in edges
    ]
    assert [(c["nconst"], c["name"], c["characters"], c["category"], c["notes"]) for c in got] == (
        expected
    )
    assert [c["ordering"] for c in got] == list(range(1, len(got) + 1))


def test_more_like_this(page: dict) -> None:
    edges = longest(page["objects"], "moreLikeThisTitles.edges")
    cards = page["title"]["more_like_this"]
    assert [c["tconst"] for c in cards] == [e["node"]["id"] for e in edges]
    assert [c["rank"] for c in cards] == list(range(1, len(cards) + 1))
    for card, edge in zip(cards, edges, strict=True):
        node = edge["node"]
        assert card["primary_title"] == node["titleText"]["text"]
        assert card["average_rating"] == get(node, "ratingsSummary.aggregateRating")
        assert card["num_votes"] == get(node, "ratingsSummary.voteCount")
        assert card["start_year"] == get(node, "releaseYear.year")
        assert card["title_type"] == get(node, "titleType.id")


def test_cross_check_with_json_ld(page: dict) -> None:
    ld, title = page["ld"], page["title"]
    assert html.unescape(ld["name"]) in (title["primary_title"], title["original_title"])
    rating = ld.get("aggregateRating")
    if rating:
        assert float(rating["ratingValue"]) == title["average_rating"]
        assert rating["ratingCount"] == title["num_votes"]
    if "genre" in ld:  # JSON-LD lists the first few genres, in English even on German pages
        assert set(ld["genre"]) <= set(title["genres"])
    directors = ld.get("director") or []
    directors = directors if isinstance(directors, list) else [directors]
    names = {c["name"] for c in title["credits"] if c["category"] == "director"}
    assert {html.unescape(d["name"]) for d in directors if d.get("name")} <= names
