"""extract_page never raises: cut pages, garbage bytes, other encodings, huge bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extraction import extract_page
from crawler.records import PageKind
from tests.conftest import needs_shared, real_pages

URL = "https://www.imdb.com/title/tt0050634/"
KINDS = set(PageKind)


def _check(result: dict) -> None:
    assert result["kind"] in KINDS
    assert (result["title"] is not None) == (result["kind"] == PageKind.TITLE)
    if result["kind"] != PageKind.TITLE:
        assert result["reason"]


# A minimal page in the current layout's shape (facts of the seed title, markup our own).
FIXTURE = (
    '<!DOCTYPE html><html lang="en-US"><head>'
    '<link rel="canonical" href="https://www.imdb.com/title/tt0050634/"/>'
    '<script type="application/ld+json">{"@type":"Movie","url":"/title/tt0050634/",'
    '"name":"Letyat zhuravli","genre":["Drama","Romance","War"],'
    '"aggregateRating":{"ratingCount":16123,"ratingValue":8.3}}</script></head><body>'
    '<h1 data-testid="hero-title-block__title">Letyat zhuravli</h1>'
    '<script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":'
    '{"tconst":"tt0050634","aboveTheFoldData":{"id":"tt0050634",'
    '"titleText":{"text":"Letyat zhuravli"},"releaseYear":{"year":1957,"endYear":null},'
    '"ratingsSummary":{"aggregateRating":8.3,"voteCount":16123},'
    '"genres":{"genres":[{"id":"Drama","text":"Drama"}]}}}}}</script></body></html>'
)


def test_fixture_is_a_title_page() -> None:
    result = extract_page(FIXTURE.encode(), URL)
    assert result["kind"] == PageKind.TITLE
    title = result["title"]
    assert (title["primary_title"], title["start_year"], title["num_votes"]) == (
        "Letyat zhuravli",
        1957,
        16123,
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", PageKind.EMPTY),
        (b"   \n\t ", PageKind.EMPTY),
        ("<html><body>Page not found</body></html>", PageKind.OTHER),
        (FIXTURE[: FIXTURE.index("</script></body>") - 20], PageKind.TRUNCATED),
        (FIXTURE.replace('"props":{', '"props":{,'), PageKind.TRUNCATED),
    ],
    ids=["empty", "whitespace", "unknown-html", "cut-before-end", "broken-json"],
)
def test_small_bodies_are_classified(body: bytes | str, kind: PageKind) -> None:
    result = extract_page(body, URL)
    assert result["kind"] == kind
    _check(result)


def test_non_html_content_type_is_other() -> None:
    result = extract_page(b'{"a": 1}', URL, content_type="application/json")
    assert result["kind"] == PageKind.OTHER
    assert "application/json" in result["reason"]


def test_http_error_status_is_other() -> None:
    assert extract_page(FIXTURE, URL, status=404)["kind"] == PageKind.OTHER


def test_missing_json_ld_still_reads_next_data() -> None:
    start = FIXTURE.index('<script type="application/ld+json">')
    end = FIXTURE.index("</script>", start) + len("</script>")
    title = extract_page(FIXTURE[:start] + FIXTURE[end:], URL)["title"]
    assert title["average_rating"] == 8.3
    assert title["genres"] == ["Drama"]


def test_latin1_page_is_decoded_by_its_charset() -> None:
    page = FIXTURE.replace("<head>", '<head><meta charset="iso-8859-1">').replace(
        "Letyat zhuravli", "Quand passent les cigognes \u00e9t\u00e9"
    )
    result = extract_page(page.encode("latin-1"), URL)
    assert result["title"]["primary_title"] == "Quand passent les cigognes \u00e9t\u00e9"


def test_page_of_another_tconst_is_wrong_title() -> None:
    result = extract_page(FIXTURE, "https://www.imdb.com/title/tt0053106/")
    assert result["kind"] == PageKind.WRONG_TITLE
    assert result["found_tconst"] == "tt0050634"


def test_twenty_megabyte_page() -> None:
    padding = "<div>" + "x" * 1000 + "</div>"
    body = FIXTURE.replace("<body>", "<body>" + padding * 20_000)
    assert len(body) > 20_000_000
    result = extract_page(body.encode(), URL)
    assert result["kind"] == PageKind.TITLE
    assert result["title"]["primary_title"] == "Letyat zhuravli"


def test_deeply_nested_json_does_not_raise() -> None:
    body = FIXTURE.replace('"props":{', '"props":' + "[" * 100_000 + "]" * 100_000 + ',"x":{')
    _check(extract_page(body, URL))


def test_bad_arguments_do_not_raise() -> None:
    _check(extract_page(None, URL))  # type: ignore[arg-type]
    _check(extract_page(FIXTURE, None))  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=5000))
def test_random_bytes(body: bytes) -> None:
    _check(extract_page(body, URL))


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(FIXTURE)), st.binary(max_size=40))
def test_fixture_cut_or_spliced(cut: int, junk: bytes) -> None:
    data = FIXTURE.encode()
    _check(extract_page(data[:cut], URL))
    _check(extract_page(data[:cut] + junk + data[cut:], URL))


@needs_shared
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_real_pages_cut_anywhere(data: st.DataObject) -> None:
    pages = real_pages("next2021plus") + real_pages("legacy")
    path: Path = data.draw(st.sampled_from(pages))
    body = path.read_bytes()
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    result = extract_page(body[:cut], f"https://www.imdb.com/title/{path.name.split('__')[0]}/")
    _check(result)
    assert result["kind"] != PageKind.TITLE or cut > len(body) - 4096


@needs_shared
@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.8, 0.95, 0.999])
def test_real_page_cut_inside_next_data_is_truncated(fraction: float) -> None:
    path = next(p for p in real_pages("next2021plus") if p.name.startswith("tt0133093"))
    text = path.read_text(encoding="utf-8")
    start = text.index('<script id="__NEXT_DATA__"')
    end = text.index("</script>", start)
    cut = start + int((end - start) * fraction)
    # Cut inside the JSON, then close the document so only the JSON betrays the cut.
    body = text[:cut] + "</script></body></html>"
    result = extract_page(body, "https://www.imdb.com/title/tt0133093/")
    assert result["kind"] == PageKind.TRUNCATED
    assert extract_page(text[:cut], "https://www.imdb.com/title/tt0133093/")["kind"] == (
        PageKind.TRUNCATED
    )


@needs_shared
def test_latin1_reencoded_real_page() -> None:
    path = next(p for p in real_pages("legacy") if p.name.startswith("tt0087544__imdbphp"))
    text = path.read_text(encoding="utf-8")
    result = extract_page(text.encode("latin-1", errors="replace"), path.name[:9])
    _check(result)


def test_challenge_markers_in_a_title_pages_text_do_not_make_it_a_block() -> None:
    """Found by hypothesis: a credited name "token.awswaf.com" made a title page a challenge."""
    from mirror.loader import load_catalogue
    from mirror.render import render_title_page

    record, options = load_catalogue()["tt0050634"]
    odd = {**record, "credits": [{"category": "cast", "ordering": 1, "nconst": None,
                                  "name": "token.awswaf.com", "characters": [], "notes": []}]}
    page = render_title_page(odd, **options).encode("utf-8")
    result = extract_page(page, "https://www.imdb.com/title/tt0050634/", 200, "text/html")
    assert result["kind"] is PageKind.TITLE
    assert [c["name"] for c in result["title"]["credits"]] == ["token.awswaf.com"]
    # The same page with HTTP 202 is still a block: the status decides there.
    assert extract_page(page, "https://www.imdb.com/title/tt0050634/", 202)["kind"] is (
        PageKind.CHALLENGE)
