"""The mirror's renderer: the seed page carries the seed's facts in __NEXT_DATA__, JSON-LD
and data-testid HTML alike, read back here with json and lxml."""

from __future__ import annotations

import csv
import json
import re

import pytest
from lxml import html as lxml_html

from mirror import load_catalogue, render_title_page
from mirror.render import compact_votes, date_display, money_display, runtime_long
from tests.conftest import SEED_DIR, needs_shared

SEED = "tt0050634"
MLT = ["tt0053106", "tt0052600", "tt0075404", "tt0058604", "tt0047650", "tt0056111",
       "tt0053317", "tt0049902", "tt0052080", "tt0043156", "tt0058625"]


def _next_data(page: str) -> dict:
    m = re.search(r'<script id="__NEXT_DATA__" type="application/json">(.*?)</script>', page,
                  re.S)
    assert m, "no __NEXT_DATA__"
    return json.loads(m.group(1))


def _json_ld(page: str) -> dict:
    m = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert m, "no JSON-LD"
    return json.loads(m.group(1))


def _testid(doc, testid: str) -> list:
    return doc.xpath(f'.//*[@data-testid="{testid}"]')


def _text(el) -> str:
    return " ".join(" ".join(el.itertext()).split())


@pytest.fixture(scope="module")
def seed_page() -> str:
    record, options = load_catalogue()[SEED]
    return render_title_page(record, **options)


@pytest.fixture(scope="module")
def seed_doc(seed_page: str):
    return lxml_html.fromstring(seed_page)


def test_next_data_carries_the_seed_facts(seed_page: str) -> None:
    props = _next_data(seed_page)["props"]["pageProps"]
    assert props["tconst"] == SEED
    above, main = props["aboveTheFoldData"], props["mainColumnData"]
    assert above["titleText"]["text"] == "Letyat zhuravli"
    assert above["originalTitleText"]["text"] == "Letyat zhuravli"
    assert above["titleType"]["id"] == "movie"
    assert above["releaseYear"] == {"year": 1957, "endYear": None, "__typename": "YearRange"}
    assert above["runtime"]["seconds"] == 95 * 60
    assert above["ratingsSummary"]["aggregateRating"] == 8.3
    assert above["ratingsSummary"]["voteCount"] is None  # the seed shows only "16K"
    assert [g["id"] for g in above["genres"]["genres"]] == ["Drama", "Romance", "War"]
    assert above["certificate"]["rating"] == "Not Rated"
    # Plot and storyline are prose, not facts: the catalogue leaves them out.
    assert above.get("plot") is None
    assert above["reviews"]["total"] == 83
    assert above["criticReviewsTotal"]["total"] == 73
    assert above["keywords"]["total"] == 92
    assert [e["node"]["text"] for e in above["keywords"]["edges"]] == [
        "crane the bird", "moscow russia", "loveless marriage", "missing in action",
        "air raid shelter"]
    assert above["primaryImage"] is None  # no poster known
    date = main["releaseDate"]
    assert (date["year"], date["month"], date["day"]) == (1957, 10, 12)
    assert date["country"]["id"] == "SUHH" and date["country"]["text"] == "Soviet Union"
    assert main["isAdult"] is False
    assert main["countriesOfOrigin"]["countries"][0]["id"] == "SUHH"
    assert main["spokenLanguages"]["spokenLanguages"][0]["id"] == "ru"
    assert main["akas"]["edges"][0]["node"]["text"] == "The Cranes Are Flying"
    assert main["filmingLocations"]["edges"][0]["node"]["text"] == (
        "Mosfilm Studios, Moscow, Russia")
    assert main["production"]["edges"][0]["node"]["company"]["companyText"]["text"] == "Mosfilm"
    assert main["lifetimeGross"]["total"]["amount"] == 17923
    assert main["worldwideGross"]["total"]["currency"] == "USD"
    assert main["productionBudget"] is None and main["openingWeekendGross"] is None
    specs = main["technicalSpecifications"]
    assert specs["colorations"]["items"][0]["text"] == "Black and White"
    assert specs["soundMixes"]["items"][0]["text"] == "Mono"
    assert specs["aspectRatios"]["items"][0]["aspectRatio"] == "1.37 : 1"
    assert (main["wins"]["total"], main["nominations"]["total"]) == (6, 4)
    assert main["taglines"]["edges"][0]["node"]["text"] == "So Much to Love - So Little Time"
    assert main["summaries"]["edges"] == []
    writer = main["writers"][0]["credits"][0]
    assert writer["name"]["id"] is None and writer["name"]["nameText"]["text"] == "Viktor Rozov"
    assert [a["text"] for a in writer["attributes"]] == ['play "Vecno zivye"', "screenplay"]
    assert main["directors"][0]["credits"][0]["name"]["id"] == "nm0435563"
    edges = main["moreLikeThisTitles"]["edges"]
    assert [e["node"]["id"] for e in edges] == MLT
    assert edges[9]["node"]["ratingsSummary"]["aggregateRating"] == 5.5
    assert edges[9]["node"]["originalTitleText"] is None  # not known: not invented


def test_votes_display_only_in_html(seed_page: str, seed_doc) -> None:
    assert "16K" not in json.dumps(_next_data(seed_page)) + json.dumps(_json_ld(seed_page))
    bar = _testid(seed_doc, "hero-rating-bar__aggregate-rating")[0]
    score = _testid(bar, "hero-rating-bar__aggregate-rating__score")[0]
    assert _text(score).replace(" ", "") == "8.3/10"
    assert "16K" in _text(bar)


def test_json_ld(seed_page: str) -> None:
    ld = _json_ld(seed_page)
    assert ld["@type"] == "Movie" and ld["name"] == "Letyat zhuravli"
    assert ld["url"] == f"/title/{SEED}/"
    assert ld["aggregateRating"]["ratingValue"] == 8.3
    assert "ratingCount" not in ld["aggregateRating"]
    assert ld["genre"] == ["Drama", "Romance", "War"]
    assert ld["datePublished"] == "1957-10-12" and ld["duration"] == "PT1H35M"
    assert ld["contentRating"] == "Not Rated"
    assert ld["director"] == [{"@type": "Person", "url": "/name/nm0435563/",
                               "name": "Mikhail Kalatozov"}]
    assert ld["creator"] == [{"@type": "Person", "name": "Viktor Rozov"}]  # no id, no url
    assert ld["actor"][0]["url"] == "/name/nm0759967/"
    assert ld["keywords"].split(",")[-1] == "air raid shelter"
    assert "image" not in ld


def test_html_sections(seed_doc) -> None:
    assert _text(_testid(seed_doc, "hero__pageTitle")[0]) == "Letyat zhuravli"
    meta = _text(_testid(seed_doc, "hero-title-block__metadata")[0])
    assert meta == "1957 Not Rated 1h 35m"
    assert _testid(seed_doc, "storyline-plot-summary") == []
    assert _text(_testid(seed_doc, "storyline-taglines")[0]).endswith(
        "So Much to Love - So Little Time")
    assert "87 more" in _text(_testid(seed_doc, "storyline-plot-keywords")[0])
    assert _text(_testid(seed_doc, "title-details-releasedate")[0]) == (
        "Release date October 12, 1957 (Soviet Union)")
    assert _text(_testid(seed_doc, "title-details-akas")[0]).endswith("The Cranes Are Flying")
    assert _text(_testid(seed_doc, "title-boxoffice-grossdomestic")[0]) == (
        "Gross US & Canada $17,923")
    assert _text(_testid(seed_doc, "title-boxoffice-cumulativeworldwidegross")[0]).endswith(
        "$17,923")
    assert not _testid(seed_doc, "title-boxoffice-budget")
    assert _text(_testid(seed_doc, "title-techspec_runtime")[0]) == "Runtime 1 hour 35 minutes"
    assert _text(_testid(seed_doc, "title-techspec_color")[0]).endswith("Black and White")
    assert _text(_testid(seed_doc, "title-techspec_aspectratio")[0]).endswith("1.37 : 1")
    assert "6 wins & 4 nominations total" in _text(_testid(seed_doc, "awards")[0])
    reviews = _text(_testid(seed_doc, "reviewContent-all-reviews")[0])
    assert reviews == "83 User reviews 73 Critic reviews"


def test_cast_html(seed_doc) -> None:
    items = _testid(seed_doc, "title-cast-item")
    assert len(items) == 18
    first = items[0]
    actor = _testid(first, "title-cast-item__actor")[0]
    assert actor.tag == "a" and actor.get("href").startswith("/name/nm0759967/")
    assert _text(actor) == "Tatyana Samoylova"
    # No id known: the name is shown without any /name/ link.
    second = items[1]
    assert _text(_testid(second, "title-cast-item__actor")[0]) == "Aleksey Batalov"
    assert not second.xpath(".//a[contains(@href, '/name/')]")
    fifth = _text(_testid(items[4], "cast-item-characters-list")[0])
    assert fifth == "Irina Fyodorovna Borozdina (as S. Kharitonova)"
    writer = [li for li in _testid(seed_doc, "title-pc-principal-credit")
              if li.get("data-category") == "writer"]
    assert _text(writer[0]) == 'Writer Viktor Rozov (play "Vecno zivye") (screenplay)'
    assert not writer[0].xpath(".//a")


def test_more_like_this_cards(seed_doc) -> None:
    section = _testid(seed_doc, "MoreLikeThis")[0]
    links = section.xpath('.//a[contains(@href, "ref_=tt_sims_tt_t")]')
    assert [a.get("href").split("/")[2] for a in links] == MLT
    assert links[0].get("href") == "/title/tt0053106/?ref_=tt_sims_tt_t_1"
    assert _text(links[0]) == "Neotpravlennoe pismo"
    stars = [_text(s) for s in section.xpath('.//span[contains(@class, "ipc-rating-star")]')]
    assert stars == ["7.9", "8.2", "8.3", "8.2", "7.5", "8.1", "8.0", "8.3", "7.8", "5.5", "8.5"]


@needs_shared
def test_seed_page_matches_the_shared_seed_files(seed_page: str, seed_doc) -> None:
    with open(SEED_DIR / "people.tsv", encoding="utf-8") as f:
        people = [r for r in csv.DictReader(f, delimiter="\t") if r["role"] == "cast"]
    with open(SEED_DIR / "more_like_this.tsv", encoding="utf-8") as f:
        similar = list(csv.DictReader(f, delimiter="\t"))
    main = _next_data(seed_page)["props"]["pageProps"]["mainColumnData"]
    nodes = [e["node"] for e in main["cast"]["edges"]]
    assert [n["name"]["nameText"]["text"] for n in nodes] == [p["name"] for p in people]
    assert [n["name"]["id"] for n in nodes] == [p["nconst"] or None for p in people]
    assert [n["characters"][0]["name"] for n in nodes] == [p["character"] for p in people]
    assert [[a["text"] for a in n["attributes"] or []] for n in nodes] == [
        [f"as {p['credited_as']}"] if p["credited_as"] else [] for p in people]
    assert {n["category"]["id"] for n in nodes} == {"cast"}
    cards = [e["node"] for e in main["moreLikeThisTitles"]["edges"]]
    assert [(c["id"], c["titleText"]["text"], c["releaseYear"]["year"],
             c["ratingsSummary"]["aggregateRating"]) for c in cards] == [
        (s["tconst"], s["primary_title"], int(s["start_year"]),
         float(s["average_rating_on_card"])) for s in similar]
    html_names = [_text(_testid(i, "title-cast-item__actor")[0])
                  for i in _testid(seed_doc, "title-cast-item")]
    assert html_names == [p["name"] for p in people]


def test_neighbour_page_has_only_what_is_known() -> None:
    record, options = load_catalogue()["tt0058625"]
    page = render_title_page(record, **options)
    main = _next_data(page)["props"]["pageProps"]["mainColumnData"]
    assert "moreLikeThisTitles" not in main  # unknown, not empty
    assert main["titleText"]["text"] == "Suna no onna"
    assert main["akas"]["edges"][0]["node"]["text"] == "Woman in the Dunes"
    assert main["cast"]["edges"] == []
    ld = _json_ld(page)
    assert ld["@type"] == "CreativeWork"  # type not known
    assert ld["aggregateRating"]["ratingValue"] == 8.5
    doc = lxml_html.fromstring(page)
    assert not _testid(doc, "MoreLikeThis")
    bar = _text(_testid(doc, "hero-rating-bar__aggregate-rating")[0])
    assert bar == "IMDb RATING 8.5 / 10"  # no votes shown


def test_js_only_more_like_this() -> None:
    record, options = load_catalogue()[SEED]
    page = render_title_page(record, **options, js_only_more_like_this=True)
    assert "moreLikeThisTitles" not in _next_data(page)["props"]["pageProps"]["mainColumnData"]
    doc = lxml_html.fromstring(page)
    assert not _testid(doc, "MoreLikeThis")
    assert not doc.xpath('//a[contains(@href, "tt0053106")]')
    assert "/_mirror/mlt/tt0050634.json" in page
    assert doc.xpath('//*[@id="mirror-mlt"]')


def test_padding_reaches_the_size_and_changes_no_fact() -> None:
    record, options = load_catalogue()[SEED]
    plain = render_title_page(record, **options)
    padded = render_title_page(record, **options, pad_to_bytes=900_000)
    assert len(padded.encode("utf-8")) == 900_000
    assert _next_data(padded) == _next_data(plain)
    assert _json_ld(padded) == _json_ld(plain)
    assert padded.endswith("</body></html>")
    doc = lxml_html.fromstring(padded)
    assert len(_testid(doc, "title-cast-item")) == 18


def test_markup_in_values_is_escaped() -> None:
    title = 'A </script><b>"bold"</b> & Co'
    record = {"tconst": "tt0000001", "primary_title": title, "original_title": title,
              "title_type": "movie", "credits": [{"category": "actor", "ordering": 1,
                                                  "nconst": None, "name": "<i>x</i>",
                                                  "characters": ["</div>"], "notes": []}]}
    page = render_title_page(record)
    assert _next_data(page)["props"]["pageProps"]["aboveTheFoldData"]["titleText"]["text"] == title
    assert _json_ld(page)["name"] == title
    doc = lxml_html.fromstring(page)
    assert _text(_testid(doc, "hero__pageTitle")[0]) == " ".join(title.split())
    assert _text(_testid(doc, "cast-item-characters-list")[0]) == "</div>"


def test_display_helpers() -> None:
    assert compact_votes(16_123) == "16K"
    assert compact_votes(1_234) == "1.2K"
    assert compact_votes(987) == "987"
    assert compact_votes(2_410_826) == "2.4M"
    assert money_display({"amount": 17923, "currency": "USD"}) == "$17,923"
    assert money_display({"amount": 5000, "currency": "RUR"}) == "RUR 5,000"
    assert runtime_long(95) == "1 hour 35 minutes" and runtime_long(60) == "1 hour"
    assert date_display("1957-10") == "October 1957"
