"""Every real page (all layouts) is classified without an exception; legacy pages give
title, year, rating, votes and genres as their JSON-LD (or microdata) states them."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from crawler.extraction import extract_page
from crawler.records import PageKind
from tests.conftest import needs_shared, real_pages

pytestmark = needs_shared
ALL = real_pages()
LEGACY = real_pages("legacy")


def _url(path: Path) -> str:
    return f"https://www.imdb.com/title/{path.name.split('__')[0]}/"


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_every_page_is_classified(path: Path) -> None:
    layout = path.stem.split("__")[-1]
    result = extract_page(path.read_bytes(), _url(path))
    expected = {
        "next2021plus": PageKind.TITLE,
        "legacy": PageKind.TITLE,
        "other": PageKind.CHALLENGE,
        "fullcredits": PageKind.OTHER,
        "ratings": PageKind.OTHER,
    }[layout]
    assert result["kind"] == expected, result["reason"]
    assert (result["title"] is not None) == (expected == PageKind.TITLE)
    if expected != PageKind.TITLE:
        assert result["reason"]


def test_challenge_page_with_status_202_and_200() -> None:
    (path,) = real_pages("other")
    for status in (202, 200):
        result = extract_page(path.read_bytes(), _url(path), status=status)
        assert result["kind"] == PageKind.CHALLENGE
        assert result["title"] is None


def _json_ld(text: str) -> dict | None:
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', text, re.S)
    return json.loads(m.group(1)) if m else None


@pytest.mark.parametrize("path", LEGACY, ids=[p.name for p in LEGACY])
def test_legacy_page_core_fields(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    title = extract_page(path.read_bytes(), _url(path))["title"]
    assert title is not None
    assert title["tconst"] == path.name.split("__")[0]
    ld = _json_ld(text)
    if ld is not None:
        # The JSON-LD "name" is the original title (the h1 may show an English one) and
        # "datePublished" one release (the page's year may be an earlier one).
        assert html.unescape(ld["name"]) in (title["primary_title"], title["original_title"])
        assert title["start_year"] <= int(ld["datePublished"][:4])
        assert title["average_rating"] == ld["aggregateRating"]["ratingValue"]
        assert title["num_votes"] == ld["aggregateRating"]["ratingCount"]
        genres = ld["genre"] if isinstance(ld["genre"], list) else [ld["genre"]]
        assert title["genres"] == genres
        directors = ld.get("director") or []
        directors = directors if isinstance(directors, list) else [directors]
        got = [c["name"] for c in title["credits"] if c["category"] == "director"]
        assert got == [d["name"] for d in directors if d.get("@type") == "Person"]
    else:  # pre-2017 pages: microdata and "Name (Year)" in og:title
        og = re.search(r"property='og:title' content=\"([^\"]*)\"", text).group(1)
        name, year = re.match(r"^(.*) \((?:\D*)(\d{4})", html.unescape(og)).groups()
        assert (title["primary_title"], title["start_year"]) == (name, int(year))
        rating = re.search(r'itemprop="ratingValue">([^<]+)<', text).group(1)
        votes = re.search(r'itemprop="ratingCount">([^<]+)<', text).group(1)
        assert (title["average_rating"], title["num_votes"]) == (rating, votes)
        assert "Genres:" not in title["genres"]
        for genre in title["genres"]:
            assert f">{genre}<" in text


def test_legacy_known_values() -> None:
    """Facts read off two legacy pages by eye, so a regex change cannot drift unnoticed."""
    by_name = {p.name: p for p in LEGACY}
    old = extract_page(
        by_name["tt0078788__imdbphp__legacy.html"].read_bytes(),
        "https://www.imdb.com/title/tt0078788/",
    )["title"]
    assert (old["primary_title"], old["start_year"]) == ("Apocalypse Now", 1979)
    assert (old["average_rating"], old["num_votes"]) == ("8.6", "307,893")
    assert old["genres"] == ["Drama", "War"]
    series = extract_page(
        by_name["tt1286039__imdbphp__legacy.html"].read_bytes(),
        "https://www.imdb.com/title/tt1286039/",
    )["title"]
    assert (series["start_year"], series["end_year"]) == (2009, 2011)


def test_german_page_keeps_english_genre_ids() -> None:
    path = next(p for p in real_pages("next2021plus") if p.name.startswith("tt8848336"))
    assert 'lang="de-DE"' in path.read_text(encoding="utf-8")[:2000]
    title = extract_page(path.read_bytes(), _url(path))["title"]
    assert title["genres"] == ["Horror", "Reality-TV"]


def test_redirected_url_of_another_title_is_wrong_title() -> None:
    path = next(p for p in real_pages("next2021plus") if p.name.startswith("tt0133093"))
    result = extract_page(path.read_bytes(), "https://www.imdb.com/title/tt0234215/")
    assert result["kind"] == PageKind.WRONG_TITLE
    assert (result["tconst"], result["found_tconst"]) == ("tt0234215", "tt0133093")
    assert result["title"] is None
