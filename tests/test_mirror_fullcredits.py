"""The mirror's full credits pages: rendered from a record, read back by the extractor as
the same credits; real pages' ``__NEXT_DATA__`` wrapped into pages that read as the JSON does."""

from __future__ import annotations

import json
import re
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest
from lxml import html as lxml_html

from crawler.extraction import extract_page
from crawler.extraction.fullcredits import extract_full_credits, read_next
from crawler.records import PageKind
from mirror.loader import load_catalogue
from mirror.render.fullcredits import (
    LISTED_PER_CATEGORY,
    full_credits_of,
    fullcredits_page_from_next_json,
    render_fullcredits_page_bytes,
)
from mirror.server import MirrorServer
from mirror.synthetic import SyntheticGraph
from tests.conftest import SHARED, needs_shared

GRAPH = SyntheticGraph(20)
MOVIE, SERIES = GRAPH["tt9000001"], GRAPH["tt9000005"]  # every 5th title is a series
NEXT_JSON = SHARED / "pages" / "next-json"


def _url(tconst: str) -> str:
    return f"https://www.imdb.com/title/{tconst}/fullcredits"


def _read(body: bytes, tconst: str) -> dict:
    result = extract_full_credits(body, _url(tconst))
    assert (result["kind"], result["layout"]) == (PageKind.CREDITS, "fullcredits-next")
    assert result["found_tconst"] == tconst
    return dict(result)


@pytest.mark.parametrize("record", [MOVIE, SERIES], ids=["movie", "series"])
def test_synthetic_round_trip(record: dict) -> None:
    body = render_fullcredits_page_bytes(record, made_up_crew=True)
    full = full_credits_of(record, made_up_crew=True)
    result = _read(body, record["tconst"])
    assert result["credits"] == full.credits
    assert result["categories"] == full.categories
    # The title's own credits are all there, in billing order, with their ids or none.
    own = [(c["name"], c["nconst"], c["characters"]) for c in record["credits"]]
    got = [(c["name"], c["nconst"], c["characters"]) for c in result["credits"][: len(own)]]
    assert got == own
    assert [c["category"] for c in result["credits"] if c["characters"]] == [
        c["category"] for c in record["credits"] if c["category"] in ("actor", "actress")
    ]


def test_a_category_lists_fewer_than_its_total() -> None:
    result = _read(render_fullcredits_page_bytes(MOVIE, made_up_crew=True), MOVIE["tconst"])
    cats = {c["category"]: c for c in result["categories"]}
    vfx = cats["visual_effects"]
    assert vfx["listed"] == LISTED_PER_CATEGORY < vfx["total"]
    assert all(c["listed"] == c["total"] for k, c in cats.items() if k != "visual_effects")
    assert sum(1 for c in result["credits"] if c["category"] == "visual_effects") == 10
    sound = [c for c in result["credits"] if c["category"] == "sound_department"]
    assert [c["nconst"] is None for c in sound] == [False, False, True]  # never invented
    assert [c["uncredited"] for c in sound] == [False, True, False]
    editor = next(c for c in result["credits"] if c["category"] == "editor")
    assert editor["job"] == "editor" and editor["credited_as"].endswith(editor["name"].split()[1])


def test_series_cast_has_episodes_and_years() -> None:
    result = _read(render_fullcredits_page_bytes(SERIES, made_up_crew=True), SERIES["tconst"])
    cast = [c for c in result["credits"] if c["characters"]]
    assert cast and all(c["episode_count"] for c in cast)
    assert {c["episode_start_year"] for c in cast} == {SERIES["start_year"]}
    assert cast[0]["episode_end_year"] == SERIES["end_year"]
    movie = _read(render_fullcredits_page_bytes(MOVIE, made_up_crew=True), MOVIE["tconst"])
    assert all(c["episode_count"] is None for c in movie["credits"])


def test_catalogue_title_round_trip_without_made_up_people() -> None:
    record = load_catalogue()["tt0050634"][0]
    result = _read(render_fullcredits_page_bytes(record), "tt0050634")
    full = full_credits_of(record)
    assert (result["credits"], result["categories"]) == (full.credits, full.categories)
    assert [(c["category"], c["listed"], c["total"]) for c in result["categories"]] == [
        ("director", 1, 1), ("writer", 1, 1), ("cast", 18, 18)]
    assert sum(c["nconst"] is None for c in result["credits"]) == 18
    kharitonova = next(c for c in result["credits"] if c["name"] == "Svetlana Kharitonova")
    assert kharitonova["credited_as"] == "S. Kharitonova"
    writer = next(c for c in result["credits"] if c["category"] == "writer")
    assert writer["attributes"] == ['play "Vecno zivye"', "screenplay"]


def test_page_is_no_title_page_and_its_json_is_escaped() -> None:
    body = render_fullcredits_page_bytes(MOVIE, made_up_crew=True)
    assert body == render_fullcredits_page_bytes(MOVIE, made_up_crew=True)  # deterministic
    title = extract_page(body, f"https://www.imdb.com/title/{MOVIE['tconst']}/")
    assert title["kind"] == PageKind.OTHER and "/fullcredits" in title["reason"]
    text = body.decode("utf-8")
    script = text[text.index('type="application/json">') + 24 : text.rindex("</script>")]
    assert "<" not in script
    assert json.loads(script)["props"]["pageProps"]["contentData"]["categories"]


def test_visible_departments_say_listed_and_total() -> None:
    full = full_credits_of(MOVIE, made_up_crew=True)
    doc = lxml_html.fromstring(render_fullcredits_page_bytes(MOVIE, made_up_crew=True))
    sections = doc.xpath('//section[starts-with(@data-testid, "sub-section-")]')
    assert [s.get("data-testid")[12:] for s in sections] == [c["category"] for c in full.categories]
    for section, cat in zip(sections, full.categories, strict=True):
        assert len(section.xpath(".//li")) == cat["listed"]
        more = section.xpath(".//button/text()")
        assert more == ([f"{cat['total'] - cat['listed']} more"] if cat["total"] > cat["listed"]
                        else [])


@needs_shared
def test_real_next_json_served_as_a_page_reads_as_the_json() -> None:
    files = sorted(NEXT_JSON.glob("*fullcredits-next.json"))
    assert files
    for path in files:
        tconst = path.name.split("__")[0]
        raw = path.read_bytes()
        body = fullcredits_page_from_next_json(raw, tconst)
        assert re.search(rb"<script[^>]*>(.*)</script>", body, re.S).group(1).count(b"<") == 0
        result = _read(body, tconst)
        read = read_next(json.loads(raw))
        assert (result["credits"], result["categories"]) == (read.credits, read.categories)
        vfx = next(c for c in result["categories"] if c["category"] == "visual_effects")
        assert (vfx["listed"], vfx["total"]) == (10, 791)


def test_the_server_serves_full_credits_made_up_crew_for_synthetic_titles_only() -> None:
    catalogue = load_catalogue()
    records = {"tt0050634": catalogue["tt0050634"], MOVIE["tconst"]: MOVIE}
    with MirrorServer(records=records) as mirror:
        def get(path: str) -> tuple[int, bytes, str | None]:
            try:
                with urlopen(f"{mirror.base_url}{path}") as answer:  # follows the 301
                    return answer.status, answer.read(), answer.url
            except HTTPError as error:
                return error.code, b"", None

        status, body, url = get("/title/tt0050634/fullcredits")
        assert (status, url) == (200, f"{mirror.base_url}/title/tt0050634/fullcredits/")
        real = _read(body, "tt0050634")
        assert [c["category"] for c in real["categories"]] == ["director", "writer", "cast"]
        status, body, _ = get(f"/title/{MOVIE['tconst']}/fullcredits/")
        made_up = _read(body, MOVIE["tconst"])
        assert made_up["categories"] == full_credits_of(MOVIE, made_up_crew=True).categories
        assert get("/title/tt0000001/fullcredits/")[0] == 404
        assert get("/title/tt0050634/")[0] == 200  # the title page as before
        assert mirror.hits["/title/tt0050634/fullcredits"] == 1  # the 301
