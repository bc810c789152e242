"""Full credits extraction against every real full credits and reference page in ../shared.

Expected values are worked out here independently of the extractor: the JSON pages by a
plain traversal of their items (and regexes for the credit texts), the legacy pages through
an lxml DOM and XPath (the extractor scans strings and never builds a tree), plus facts
checked by hand in the files (people, characters, Visual Effects 10 of 791 for Titanic).
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from crawler.extraction import extract_page
from crawler.extraction.fullcredits import (
    CONCEPT_IDS,
    LEGACY_HEADINGS,
    classify_full_credits,
    extract_full_credits,
    parse_credit_text,
    read_next,
)
from crawler.records import FullCreditRecord, PageKind
from pipelines.normalize import normalize_credit
from tests.conftest import SHARED, needs_shared, real_pages

NEXT_JSON = SHARED / "pages" / "next-json"


def _json_pages() -> list[Path]:
    if not (NEXT_JSON / "SOURCES.tsv").is_file():
        return []
    with open(NEXT_JSON / "SOURCES.tsv", encoding="utf-8") as f:
        return [NEXT_JSON / row["file"] for row in csv.DictReader(f, delimiter="\t")]


JSON_PAGES = _json_pages()
LEGACY_PAGES = real_pages("fullcredits")


def _url(path: Path) -> str:
    return f"https://www.imdb.com/title/{path.name.split('__')[0]}/fullcredits"


def _wrap(json_text: str, tconst: str, subpage: str = "fullcredits") -> str:
    """The JSON in a page, as IMDb serves it: "<" escaped inside the script."""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"/>'
        f'<link rel="canonical" href="https://www.imdb.com/title/{tconst}/{subpage}/"/>'
        '</head><body><main></main><script id="__NEXT_DATA__" type="application/json">'
        + json_text.replace("<", "\\u003c")
        + "</script></body></html>"
    )


def _by_category(credits: list[FullCreditRecord]) -> dict[str, list[FullCreditRecord]]:
    out: dict[str, list[FullCreditRecord]] = {}
    for c in credits:
        key = "cast" if c["category"] in ("actor", "actress", "cast") else c["category"]
        out.setdefault(key, []).append(c)
    return out


# --- credit texts, read with regexes (the extractor scans brackets) -------------------------


def _expected_text(text: str, *, cast: bool, legacy_writer: bool = False) -> dict[str, Any]:
    groups = [" ".join(g.split()) for g in re.findall(r"\(([^()]*)\)", text)]
    outside = " ".join(re.sub(r"\([^()]*\)", " ", text).split())
    outside = re.sub(r"(?:^|\s+)(?:&|and)$", "", outside).strip("() ")
    credited = [g[3:] for g in groups if g.startswith("as ")]
    # A note said twice ("(IMAX version)" after each of two jobs) is one attribute.
    others = list(dict.fromkeys(g for g in groups if not g.startswith("as ") and g != "uncredited"))
    job = outside or None
    if cast and job:
        others, job = [job, *others], None
    if legacy_writer and job is None and others:
        job, others = others[0], others[1:]
    return {
        "job": job,
        "credited_as": credited[0] if credited else None,
        "attributes": others,
        "uncredited": "uncredited" in groups,
    }


def _text_fields(c: FullCreditRecord) -> dict[str, Any]:
    return {k: c[k] for k in ("job", "credited_as", "attributes", "uncredited")}  # type: ignore[literal-required]


# --- the JSON pages: a plain traversal ------------------------------------------------------


def _categories_of(data: dict) -> list[dict]:
    page_props = data["props"]["pageProps"]
    if "contentData" in page_props:
        return page_props["contentData"]["categories"]
    return page_props["mainColumnData"]["categories"]


def _cast_roles(data: dict) -> dict[str, str]:
    """nconst -> actor/actress from the GraphQL answers each page embeds (by hand: three
    places, one per page)."""
    page_props = data["props"]["pageProps"]
    roles: dict[str, str] = {}
    old = page_props.get("contentData", {}).get("data", {}).get("title", {})
    groups = old.get("creditCategories") or page_props.get("mainColumnData", {}).get(
        "creditCategories"
    )
    for group in groups or []:
        if group["category"]["id"] == "cast":
            for edge in group["credits"]["edges"]:
                roles[edge["node"]["name"]["id"]] = edge["node"]["category"]["id"]
    for edge in page_props.get("mainColumnData", {}).get("creditGroupings", {}).get("edges", []):
        if edge["node"]["grouping"]["text"] == "Cast":
            for credit in edge["node"]["credits"]["edges"]:
                role = credit["node"]["creditedRoles"]["edges"][0]["node"]["category"]["text"]
                roles[credit["node"]["name"]["id"]] = role.lower()
    return roles


def _read_json(path: Path) -> tuple[dict, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data, read_next(data)


@needs_shared
def test_every_json_page_is_read() -> None:
    assert len(JSON_PAGES) == 3
    for path in JSON_PAGES:
        _, read = _read_json(path)
        assert read is not None, path.name
        assert read.found_tconst == path.name.split("__")[0]
        layout = "fullcredits-next" if "fullcredits" in path.name else "reference-next"
        assert read.layout == layout


@needs_shared
@pytest.mark.parametrize("path", JSON_PAGES, ids=lambda p: p.name.split("__")[0])
def test_json_page_every_category_with_its_people_and_total(path: Path) -> None:
    data, read = _read_json(path)
    cats = _categories_of(data)
    assert [c["category_id"] for c in read.categories] == [c["id"] for c in cats]
    assert [c["name"] for c in read.categories] == [c["name"] for c in cats]
    got = _by_category(read.credits)
    for cat, record in zip(cats, read.categories, strict=True):
        items = cat["section"]["items"]
        assert record["total"] == cat["section"]["total"]
        assert record["listed"] == len(items)
        people = [(c["nconst"], c["name"], c["ordering"]) for c in got[record["category"]]]
        assert people == [(it["id"], it["rowTitle"], n) for n, it in enumerate(items, 1)]


@needs_shared
@pytest.mark.parametrize("path", JSON_PAGES, ids=lambda p: p.name.split("__")[0])
def test_json_page_every_cast_member_with_characters_and_notes(path: Path) -> None:
    data, read = _read_json(path)
    cast = next(c for c in _categories_of(data) if c["name"] == "Cast")
    roles = _cast_roles(data)
    assert len(roles) >= 10  # the first people of the cast, as the page embeds them
    got = _by_category(read.credits)["cast"]
    assert len(got) == len(cast["section"]["items"]) == cast["section"]["total"]
    for item, credit in zip(cast["section"]["items"], got, strict=True):
        assert credit["characters"] == (item.get("characters") or [])
        assert credit["category"] == roles.get(item["id"], "cast")
        expected = _expected_text(item.get("attributes") or "", cast=True)
        assert _text_fields(credit) == expected, item["rowTitle"]


@needs_shared
@pytest.mark.parametrize("path", JSON_PAGES, ids=lambda p: p.name.split("__")[0])
def test_json_page_crew_jobs_and_notes(path: Path) -> None:
    data, read = _read_json(path)
    got = iter(c for c in read.credits if c["category"] not in ("actor", "actress", "cast"))
    for cat in _categories_of(data):
        if cat["name"] == "Cast":
            continue
        for item in cat["section"]["items"]:
            credit = next(got)
            assert credit["name"] == item["rowTitle"]
            expected = _expected_text(item.get("attributes") or "", cast=False)
            assert _text_fields(credit) == expected, item
            assert credit["characters"] == []
            assert credit["episode_count"] is None  # films: no episodes


@needs_shared
def test_titanic_hand_checked_facts() -> None:
    path = next(p for p in JSON_PAGES if p.name.startswith("tt0120338"))
    _, read = _read_json(path)
    cats = {c["category"]: c for c in read.categories}
    assert len(cats) == 31
    assert (cats["visual_effects"]["listed"], cats["visual_effects"]["total"]) == (10, 791)
    assert (cats["art_department"]["listed"], cats["art_department"]["total"]) == (10, 179)
    assert (cats["cast"]["listed"], cats["cast"]["total"]) == (177, 177)
    assert (cats["producer"]["listed"], cats["producer"]["total"]) == (7, 7)
    assert cats["cast"]["alphabetical_from"] == 110  # "Rest of cast listed alphabetically"
    by_name = {(c["category"], c["name"]): c for c in read.credits}
    leo = by_name[("actor", "Leonardo DiCaprio")]
    assert (leo["nconst"], leo["ordering"], leo["characters"]) == ("nm0000138", 1, ["Jack Dawson"])
    kate = by_name[("actress", "Kate Winslet")]
    assert (kate["ordering"], kate["characters"]) == (2, ["Rose Dewitt Bukater"])
    baines = by_name[("cast", "Brian Baines")]  # first of the alphabetical rest
    assert (baines["ordering"], baines["uncredited"]) == (110, True)
    white = by_name[("cast", "Peter John White")]
    assert (white["ordering"], white["characters"]) == (177, ["Third Officer Groves (Californian)"])
    narrator = by_name[("cast", "Chuck Riley")]
    assert (narrator["attributes"], narrator["uncredited"]) == (["voice"], True)
    buff = by_name[("editor", "Conrad Buff IV")]
    assert (buff["job"], buff["credited_as"]) == ("editor", "Conrad Buff")
    cameron = by_name[("producer", "James Cameron")]
    assert (cameron["job"], cameron["attributes"]) == ("producer", ["produced by"])
    assert by_name[("cinematographer", "Russell Carpenter")]["job"] == "director of photography"


@needs_shared
def test_reference_pages_hand_checked_facts() -> None:
    matrix = next(p for p in JSON_PAGES if p.name.startswith("tt0133093"))
    _, read = _read_json(matrix)
    cats = {c["category"]: c for c in read.categories}
    assert all(c["category_id"].startswith("amzn1.imdb.concept.") for c in read.categories)
    assert (cats["visual_effects"]["listed"], cats["visual_effects"]["total"]) == (10, 140)
    assert (cats["cast"]["listed"], cats["cast"]["alphabetical_from"]) == (41, 37)
    first = read.credits[0]
    assert (first["category"], first["name"], first["credited_as"]) == (
        "director", "Lana Wachowski", "The Wachowski Brothers")
    keanu = next(c for c in read.credits if c["name"] == "Keanu Reeves")
    assert (keanu["category"], keanu["characters"], keanu["ordering"]) == ("actor", ["Neo"], 1)
    moss = next(c for c in read.credits if c["name"] == "Carrie-Anne Moss")
    assert moss["category"] == "actress"
    writers = [(c["name"], c["job"]) for c in read.credits if c["category"] == "writer"]
    assert writers == [("Lilly Wachowski", "written by"), ("Lana Wachowski", "written by")]

    shawshank = next(p for p in JSON_PAGES if p.name.startswith("tt0111161"))
    _, read = _read_json(shawshank)
    cats = {c["category"]: c for c in read.categories}
    assert (cats["miscellaneous"]["listed"], cats["miscellaneous"]["total"]) == (10, 34)
    assert (cats["cast"]["listed"], cats["cast"]["alphabetical_from"]) == (74, 55)
    rita = next(c for c in read.credits if c["name"] == "Rita Hayworth")
    assert (rita["characters"], rita["attributes"], rita["uncredited"]) == (
        ["Gilda Mundson Farrell"], ["archive footage"], True)
    assert next(c for c in read.credits if c["name"] == "Frank Darabont" and c[
        "category"] == "writer")["job"] == "screenplay by"


@needs_shared
def test_concept_ids_line_up_with_the_named_categories() -> None:
    """The 2025 reference page's concept ids come in the order of Titanic's named ids:
    what the mapping says (ids hand-written from the pages) is what the pages show."""
    titanic = next(p for p in JSON_PAGES if p.name.startswith("tt0120338"))
    named = [c["id"] for c in _categories_of(json.loads(titanic.read_text(encoding="utf-8")))]
    matrix = next(p for p in JSON_PAGES if p.name.startswith("tt0133093"))
    concept = [c["id"] for c in _categories_of(json.loads(matrix.read_text(encoding="utf-8")))]
    mapped = [CONCEPT_IDS[c] for c in concept]
    assert mapped == [c for c in named if c in mapped]  # same order, a subsequence
    assert "thanks" not in mapped and len(mapped) == 30


@needs_shared
@pytest.mark.parametrize("path", JSON_PAGES, ids=lambda p: p.name.split("__")[0])
def test_json_page_in_html_reads_the_same_and_is_no_title_page(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tconst = path.name.split("__")[0]
    subpage = "fullcredits" if "fullcredits" in path.name else "reference"
    page = _wrap(text, tconst, subpage).encode("utf-8")
    result = extract_full_credits(page, _url(path))
    _, read = _read_json(path)
    assert result["kind"] == PageKind.CREDITS and result["reason"] is None
    assert (result["credits"], result["categories"]) == (read.credits, read.categories)
    assert classify_full_credits(page, _url(path))[:2] == (PageKind.CREDITS, read.layout)
    assert extract_page(page, f"https://www.imdb.com/title/{tconst}/")["kind"] != PageKind.TITLE
    other = extract_full_credits(page, "https://www.imdb.com/title/tt0050634/fullcredits")
    assert (other["kind"], other["found_tconst"]) == (PageKind.WRONG_TITLE, tconst)


# --- the legacy pages: an lxml DOM ------------------------------------------------------------

# Headings of the legacy pages -> ids, by hand; the 2021 page carries its ids itself and
# test_legacy_heading_table_is_the_pages_own checks this table against them.
HEADINGS = {
    "Directed by": "director", "Writing Credits": "writer", "Cast": "cast",
    "Produced by": "producer", "Music by": "composer", "Cinematography by": "cinematographer",
    "Film Editing by": "editor", "Casting By": "casting_director",
    "Production Design by": "production_designer", "Art Direction by": "art_director",
    "Set Decoration by": "set_decorator", "Costume Design by": "costume_designer",
    "Makeup Department": "make_up_department", "Production Management": "production_manager",
    "Second Unit Director or Assistant Director": "assistant_director",
    "Art Department": "art_department", "Sound Department": "sound_department",
    "Special Effects by": "special_effects", "Visual Effects by": "visual_effects",
    "Stunts": "stunts", "Camera and Electrical Department": "camera_department",
    "Animation Department": "animation_department", "Casting Department": "casting_department",
    "Costume and Wardrobe Department": "costume_department",
    "Editorial Department": "editorial_department", "Location Management": "location_management",
    "Music Department": "music_department",
    "Script and Continuity Department": "script_department",
    "Transportation Department": "transportation_department",
    "Additional Crew": "miscellaneous", "Other crew": "miscellaneous", "Thanks": "thanks",
}
_NOTE_AT_END = re.compile(r"\s*\((as [^()]+|uncredited|voice|archive footage|archive sound)\)$")


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _dom_departments(path: Path) -> Iterator[tuple[str, str | None, Any]]:
    """(heading without its notes, the h4's id, the table after it) of each department."""
    doc = lxml_html.fromstring(path.read_bytes())
    for h4 in doc.xpath('//h4[contains(@class, "dataHeaderWithBorder")]'):
        heading = _norm(h4.text_content()).split("(")[0].strip()
        yield heading, h4.get("id"), h4.xpath("following-sibling::table[1]")[0]


def _dom_person(cells: list[Any]) -> tuple[str | None, str]:
    """The first person link with a name in these cells, else their text (no id)."""
    for cell in cells:
        for a in cell.xpath('.//a[contains(@href, "/name/")]'):
            m = re.search(r"/name/(nm[0-9]+)", a.get("href"))
            if m and _norm(a.text_content()):
                return m.group(1), _norm(a.text_content())
    return None, _norm(" ".join(c.text_content() for c in cells))


def _dom_cast(table: Any) -> list[dict[str, Any]]:
    out = []
    for row in table.xpath('.//tr[td[@class="character"]]'):
        cells = row.xpath('./td[not(@class="character" or @class="ellipsis")]')
        nconst, name = _dom_person(cells)
        shown = _norm(row.xpath('./td[@class="character"]')[0].text_content())
        notes: list[str] = []
        while m := _NOTE_AT_END.search(shown):
            notes.insert(0, f"({m.group(1)})")
            shown = shown[: m.start()]
        characters = [c.strip() for c in shown.split(" / ") if c.strip() not in ("", "...")]
        out.append({"nconst": nconst, "name": name, "characters": characters,
                    **_expected_text(" ".join(notes), cast=True)})
    return out


def _dom_crew(table: Any, category: str) -> list[dict[str, Any]]:
    out = []
    for row in table.xpath('.//tr[td[@class="name"]]'):
        nconst, name = _dom_person(row.xpath('./td[@class="name"]'))
        credit = row.xpath('./td[@class="credit"]')
        text = _norm(credit[0].text_content()) if credit else ""
        out.append({"nconst": nconst, "name": name, "characters": [],
                    **_expected_text(text, cast=False, legacy_writer=category == "writer")})
    return out


def _fields(c: FullCreditRecord) -> dict[str, Any]:
    keys = ("nconst", "name", "characters", "job", "credited_as", "attributes", "uncredited")
    return {k: c[k] for k in keys}  # type: ignore[literal-required]


@needs_shared
def test_legacy_pages_are_all_here() -> None:
    assert sorted(p.name.split("__")[0] for p in LEGACY_PAGES) == [
        "tt0087544", "tt0133093", "tt0468569"]


@needs_shared
@pytest.mark.parametrize("path", LEGACY_PAGES, ids=lambda p: p.name.split("__")[0])
def test_legacy_page_every_department_with_its_people(path: Path) -> None:
    result = extract_full_credits(path.read_bytes(), _url(path))
    assert (result["kind"], result["layout"]) == (PageKind.CREDITS, "fullcredits-legacy")
    departments = list(_dom_departments(path))
    assert [c["category"] for c in result["categories"]] == [HEADINGS[h] for h, _, _ in departments]
    assert [c["name"] for c in result["categories"]] == [h for h, _, _ in departments]
    got = _by_category(result["credits"])
    for (heading, _, table), record in zip(departments, result["categories"], strict=True):
        category = HEADINGS[heading]
        expected = _dom_cast(table) if category == "cast" else _dom_crew(table, category)
        assert record["listed"] == record["total"] == len(expected) > 0
        assert [_fields(c) for c in got[category]] == expected, heading
        assert [c["ordering"] for c in got[category]] == list(range(1, len(expected) + 1))


@needs_shared
def test_legacy_heading_table_is_the_pages_own() -> None:
    path = next(p for p in LEGACY_PAGES if p.name.startswith("tt0468569"))
    own = {heading: page_id for heading, page_id, _ in _dom_departments(path)}
    assert len(own) == 31 and all(own.values())
    assert {h: HEADINGS[h] for h in own} == own
    assert HEADINGS["Other crew"] == own["Additional Crew"]
    assert {h.lower(): i for h, i in HEADINGS.items()} == LEGACY_HEADINGS


@needs_shared
def test_legacy_pages_hand_checked_facts() -> None:
    pages = {p.name.split("__")[0]: p for p in LEGACY_PAGES}
    dark = extract_full_credits(pages["tt0468569"].read_bytes(), _url(pages["tt0468569"]))
    cats = {c["category"]: c for c in dark["categories"]}
    assert len(cats) == 31
    assert (cats["cast"]["listed"], cats["visual_effects"]["listed"]) == (241, 460)
    assert cats["visual_effects"]["category_id"] == "visual_effects"
    joker = next(c for c in dark["credits"] if c["name"] == "Heath Ledger")
    assert (joker["category"], joker["nconst"], joker["characters"]) == (
        "cast", "nm0005132", ["Joker"])
    writers = [(c["name"], c["job"]) for c in dark["credits"] if c["category"] == "writer"]
    assert writers == [("Jonathan Nolan", "screenplay"), ("Christopher Nolan", "screenplay"),
                       ("Christopher Nolan", "story"), ("David S. Goyer", "story"),
                       ("Bob Kane", "characters")]
    matrix = extract_full_credits(pages["tt0133093"].read_bytes(), _url(pages["tt0133093"]))
    cats = {c["category"]: c for c in matrix["categories"]}
    assert (len(cats), cats["cast"]["listed"], cats["cast"]["alphabetical_from"]) == (28, 37, 37)
    assert cats["miscellaneous"]["name"] == "Other crew"
    dujour = next(c for c in matrix["credits"] if c["name"] == "Ada Nicodemou")
    assert dujour["characters"] == ["Dujour (White Rabbit Girl)"]
    nausicaa = extract_full_credits(pages["tt0087544"].read_bytes(), _url(pages["tt0087544"]))
    milo = next(c for c in nausicaa["credits"] if c["name"] == "Cam Clarke")
    assert (milo["characters"], milo["attributes"]) == (
        ["Prince Milo ('Warriors of the Wind' dub)"], ["voice"])
    steve = next(c for c in nausicaa["credits"] if c["name"] == "Stephen Apostolina")
    assert (steve["characters"], steve["credited_as"]) == ([], "Steve Apostolina")


@needs_shared
def test_matrix_writers_read_alike_in_2013_and_2025() -> None:
    legacy = next(p for p in LEGACY_PAGES if p.name.startswith("tt0133093"))
    old = extract_full_credits(legacy.read_bytes(), _url(legacy))["credits"]
    _, new = _read_json(next(p for p in JSON_PAGES if p.name.startswith("tt0133093")))
    for credits in (old, new.credits):
        assert {(c["job"], c["credited_as"]) for c in credits if c["category"] == "writer"} == {
            ("written by", "The Wachowski Brothers")}


# --- not credits pages ------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("layout", ["next2021plus", "legacy"])
def test_title_pages_are_not_credits_pages(layout: str) -> None:
    for path in real_pages(layout):
        result = extract_full_credits(path.read_bytes(), _url(path))
        assert (result["kind"], result["reason"]) == (PageKind.OTHER, "not a full credits page")
        assert result["credits"] == [] and result["categories"] == []


@needs_shared
def test_a_block_is_a_block() -> None:
    path = real_pages("other")[0]
    result = extract_full_credits(path.read_bytes(), _url(path), status=202)
    assert result["kind"] == PageKind.CHALLENGE


@needs_shared
def test_legacy_credits_are_no_title_page() -> None:
    for path in LEGACY_PAGES:
        title = extract_page(path.read_bytes(), _url(path).removesuffix("fullcredits"))
        assert title["kind"] == PageKind.OTHER and "/fullcredits" in title["reason"]


# --- series: hand-written fixtures (no real series page at hand) ------------------------------

# A series' full credits data in the current item shape (facts made up): one cast member among
# the GraphQL answers the page embeds (role and episodes there), one only in the list.
SERIES_NEXT = {
    "props": {"pageProps": {"contentData": {
        "entityMetadata": {"id": "tt9100001"},
        "data": {"title": {"id": "tt9100001", "creditCategories": [
            {"category": {"id": "cast"}, "credits": {"total": 2, "edges": [{"node": {
                "category": {"id": "actress", "text": "Actress"},
                "name": {"id": "nm9100001", "nameText": {"text": "Ada Quill"}},
                "episodeCredits": {"total": 62, "yearRange": {"year": 2008, "endYear": 2013}},
                "characters": [{"name": "Nora Vale"}]}}]}},
            {"category": {"id": "director"}, "credits": {"total": 1, "edges": [{"node": {
                "category": {"id": "director"},
                "name": {"id": "nm9100003", "nameText": {"text": "Ivo Lind"}},
                "episodeCredits": {"total": 5, "yearRange": {"year": 2009, "endYear": None}}}}]}},
        ]}},
        "categories": [
            {"id": "director", "name": "Director", "section": {"total": 1, "items": [
                {"id": "nm9100003", "rowTitle": "Ivo Lind", "isSeries": True, "isCast": False}]}},
            {"id": "cast", "name": "Cast", "section": {"total": 2, "items": [
                {"id": "nm9100001", "rowTitle": "Ada Quill", "isSeries": True, "isCast": True,
                 "characters": ["Nora Vale"]},
                {"id": "nm9100002", "rowTitle": "Bo Reyes", "isSeries": True, "isCast": True,
                 "characters": ["Officer Dunn"], "attributes": "(uncredited)",
                 "episodeCredits": {"total": 1, "yearRange": {"year": 2011, "endYear": None}}},
            ]}},
            {"id": "writer", "name": "Writers", "section": {"total": 4, "items": [
                {"id": "nm9100004", "rowTitle": "Cy Moss", "isSeries": True, "isCast": False,
                 "attributes": "creator (12 episodes, 2008-2013)"}]}},
        ],
    }}},
    "page": "/title/[tconst]/fullcredits",
    "query": {"tconst": "tt9100001"},
}


def test_series_next_episodes_and_years() -> None:
    read = read_next(SERIES_NEXT)
    assert read is not None and read.found_tconst == "tt9100001"
    got = {c["name"]: c for c in read.credits}
    episodes = {n: (c["episode_count"], c["episode_start_year"], c["episode_end_year"])
                for n, c in got.items()}
    assert episodes == {"Ivo Lind": (5, 2009, None), "Ada Quill": (62, 2008, 2013),
                        "Bo Reyes": (1, 2011, None), "Cy Moss": (12, 2008, 2013)}
    assert (got["Ada Quill"]["category"], got["Bo Reyes"]["category"]) == ("actress", "cast")
    assert (got["Bo Reyes"]["uncredited"], got["Cy Moss"]["job"]) == (True, "creator")
    writers = next(c for c in read.categories if c["category"] == "writer")
    assert (writers["listed"], writers["total"]) == (1, 4)


SERIES_LEGACY = """<!DOCTYPE html><html><head>
<link rel="canonical" href="https://www.imdb.com/title/tt9100001/fullcredits"/></head><body>
<div id="fullcredits_content" class="header">
<h4 class="dataHeaderWithBorder">Series Directed by&nbsp;</h4>
<table class="simpleTable simpleCreditsTable"><tbody>
<tr><td class="name"><a href="/name/nm9100003/"> Ivo Lind
</a></td><td>...</td><td class="credit">
 (5 episodes, 2009-2011)
</td></tr></tbody></table>
<h4 name="cast" id="cast" class="dataHeaderWithBorder">Series Cast complete</h4>
<table class="cast_list">
<tr class="odd"><td class="primary_photo"></td><td><a href="/name/nm9100001/"> Ada Quill
</a></td><td class="ellipsis">...</td><td class="character">
 <a href="/title/tt9100001/characters/nm9100001">Nora Vale</a>
  <a href="#" class="toggle-episodes" data-n="62"
   onclick="toggleSeeMoreEpisodes(this,'nm9100001','tt9100001','actress'); return false;"
  >62 episodes, 2008-2013</a>
</td></tr>
<tr class="even"><td class="primary_photo"></td><td> Bo Reyes </td>
<td class="ellipsis">...</td><td class="character">
 Officer Dunn
  \n  (uncredited)
</td></tr>
</table></div></body></html>"""


def test_series_legacy_episodes_and_years() -> None:
    result = extract_full_credits(SERIES_LEGACY, "https://www.imdb.com/title/tt9100001/")
    assert result["kind"] == PageKind.CREDITS
    assert [(c["category"], c["name"], c["listed"]) for c in result["categories"]] == [
        ("director", "Series Directed by", 1), ("cast", "Series Cast complete", 2)]
    lind, quill, reyes = result["credits"]
    assert (lind["episode_count"], lind["episode_start_year"], lind["episode_end_year"]) == (
        5, 2009, 2011)
    assert (quill["category"], quill["characters"], quill["episode_count"]) == (
        "actress", ["Nora Vale"], 62)
    assert (quill["episode_start_year"], quill["episode_end_year"]) == (2008, 2013)
    # No link to a person: the name as shown, and no id (never invented).
    assert (reyes["nconst"], reyes["name"], reyes["characters"], reyes["uncredited"]) == (
        None, "Bo Reyes", ["Officer Dunn"], True)


# --- the credit text, and the pipelines' view of a record ---------------------------------------


@pytest.mark.parametrize(
    ("text", "job", "credited_as", "attributes", "uncredited"),
    [
        ("producer (as Alan K.W. Tang)", "producer", "Alan K.W. Tang", [], False),
        ("(uncredited)", None, None, [], True),
        ("(voice) (uncredited)", None, None, ["voice"], True),
        ("written by (as The Wachowski Brothers) &", "written by", "The Wachowski Brothers", [],
         False),
        ("(screenplay) and", None, None, ["screenplay"], False),
        ("studio doctor (as Nora Alvarez (M.D.))", "studio doctor", "Nora Alvarez (M.D.)", [],
         False),
        ("stereoscopic compositor (3D version 2012)", "stereoscopic compositor", None,
         ["3D version 2012"], False),
        ("grip (unclosed", "grip (unclosed", None, [], False),
        ("((stunt performer)", None, None, ["stunt performer"], False),
        ("(a) b) (c", "b) (c", None, ["a"], False),
        ("", None, None, [], False),
    ],
)
def test_credit_text(
    text: str, job: str | None, credited_as: str | None, attributes: list[str], uncredited: bool
) -> None:
    parsed = parse_credit_text(text)
    assert (parsed.job, parsed.credited_as, parsed.attributes, parsed.uncredited) == (
        job, credited_as, attributes, uncredited)


def test_records_go_through_the_credit_normalizer_unchanged() -> None:
    read = read_next(SERIES_NEXT)
    assert read is not None
    ada, bo = (c for c in read.credits if c["name"] in ("Ada Quill", "Bo Reyes"))
    out = normalize_credit(bo)
    assert (out["category"], out["nconst"], out["primary_name"], out["characters"]) == (
        "cast", "nm9100002", "Bo Reyes", ["Officer Dunn"])
    assert (out["credited_as"], out["attributes"], out["uncredited"]) == (None, [], True)
    assert normalize_credit(ada)["category"] == "actress"


# --- robustness: never raises, linear on hostile markup -----------------------------------------

KINDS = set(PageKind)


def _check(result: dict) -> None:
    assert result["kind"] in KINDS
    if result["kind"] != PageKind.CREDITS:
        assert result["reason"] and result["credits"] == [] and result["categories"] == []


def _timed(body: str | bytes, url: str = "https://www.imdb.com/title/tt9100001/fullcredits"
           ) -> tuple[dict, float]:
    start = time.perf_counter()
    result = extract_full_credits(body, url)
    return dict(result), time.perf_counter() - start


def _legacy_page(inner: str) -> str:
    return SERIES_LEGACY.replace('<div id="fullcredits_content" class="header">',
                                 '<div id="fullcredits_content" class="header">' + inner, 1)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=5000))
def test_random_bytes_never_raise(body: bytes) -> None:
    _check(extract_full_credits(body, "https://www.imdb.com/title/tt9100001/fullcredits"))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=len(SERIES_LEGACY)), st.binary(max_size=40))
def test_fixture_cut_or_spliced_never_raises(cut: int, junk: bytes) -> None:
    data = SERIES_LEGACY.encode()
    _check(extract_full_credits(data[:cut], "https://www.imdb.com/title/tt9100001/"))
    _check(extract_full_credits(data[:cut] + junk + data[cut:], "https://www.imdb.com/title/tt9100001/"))


@needs_shared
@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.7, 0.999])
def test_real_pages_cut_are_truncated(fraction: float) -> None:
    for path in LEGACY_PAGES:
        body = path.read_bytes()
        result = extract_full_credits(body[: int(len(body) * fraction)], _url(path))
        assert result["kind"] in (PageKind.TRUNCATED, PageKind.EMPTY)
    path = JSON_PAGES[0]
    page = _wrap(path.read_text(encoding="utf-8"), path.name.split("__")[0])
    start = page.index('type="application/json">') + len('type="application/json">')
    at = start + int((page.index("</script>", start) - start) * fraction)
    result = extract_full_credits(page[:at] + "</script></body></html>", _url(path))
    assert result["kind"] == PageKind.TRUNCATED


@pytest.mark.parametrize(
    "inner",
    [
        '<h4 class="dataHeaderWithBorder">Stunts' * 20_000,
        '<h4 class="dataHeaderWithBorder">Stunts</h4><table class="simpleCreditsTable">'
        + '<tr><td class="name"><a href="/name/nm0000001/">A' * 30_000,
        '<h4 class="dataHeaderWithBorder">Cast</h4><table class="cast_list">'
        + '<tr><td><a href="/name/nm0000001/">A</a></td><td class="character">' + "(" * 100_000
        + ")" * 50_000 + "\n \n" + "(as " * 50_000,
        '<h4 class="dataHeaderWithBorder">Cast</h4><table class="cast_list">'
        + '<tr><td class="character"><a class="toggle-episodes" ' * 20_000,
        '<h4 class="dataHeaderWithBorder">Music by</h4><table class="simpleCreditsTable"><tr>'
        + '<td class="name">x</td><td class="credit">' + "((a) " * 60_000 + "</td></tr>",
        '<h4 class="dataHeaderWithBorder" id="' + "x" * 300_000,
        '<h4 class="dataHeaderWithBorder">Music by</h4><table class="simpleCreditsTable"><tr>'
        + '<td class="name">x</td><td class="credit">'
        + "".join(f"(note {n}) " for n in range(60_000))
        + "</td></tr>",
        '<h4 class="dataHeaderWithBorder">Cast</h4><table class="cast_list">'
        + '<tr><td><a href="/name/nm0000001/">A</a></td><td class="character">Spy'
        + " (as x)" * 60_000
        + "</td></tr>",
    ],
    ids=["unclosed-headings", "unclosed-rows", "brackets-in-cast", "toggles", "brackets", "attr",
         "distinct-notes", "notes-in-cast"],
)
def test_hostile_legacy_markup_is_linear(inner: str) -> None:
    result, elapsed = _timed(_legacy_page(inner))
    _check(result)
    assert elapsed < 2.0, f"{elapsed:.1f} s"
    assert not [c["name"][:40] for c in result["credits"] if "<" in c["name"]]


def test_hostile_next_data_is_linear_and_bounded() -> None:
    data = json.loads(json.dumps(SERIES_NEXT))
    cats = data["props"]["pageProps"]["contentData"]["categories"]
    items = cats[1]["section"]["items"]
    items[1]["attributes"] = "(" * 200_000 + "as x" + ")" * 100_000
    items.extend({"id": "nm0000001", "rowTitle": "A", "characters": ["B"]} for _ in range(50_000))
    cats.extend(json.loads(json.dumps(cats[0])) for _ in range(1_000))
    result, elapsed = _timed(_wrap(json.dumps(data), "tt9100001"))
    assert result["kind"] == PageKind.CREDITS
    assert elapsed < 3.0, f"{elapsed:.1f} s for 20,000 records"  # ~1 s on a loaded 2-core box
    assert len(result["credits"]) == 20_000 and len(result["categories"]) == 200
