"""A page's UTF-8 bytes give the same answers as its text: extraction searches the bytes
when the body is UTF-8 and decodes only what it reads (``crawler.extraction.body``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extraction import (
    classify,
    extract_full_credits,
    extract_page,
    html,
    json_ld,
    next_data,
)
from crawler.extraction.body import Body
from tests.conftest import needs_shared, real_pages

PIECES = ["<script>", "<script ", "<SCRIPT>", "<Script>", "</script>", "</SCRIPT>", "</script",
          "</html>", "</HTML>", "é", "—", "𝄞", "x", " ", "\n", "<script\t", "<scriptx",
          '<script id="__NEXT_DATA__" type="application/json">', '{"a":1}', "<", ">"]
pages = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)

# Pieces of a title page's markup, with characters of 1-4 bytes where lengths are counted.
MARKUP = [
    '<html><head><link rel="canonical" href="https://www.imdb.com/title/tt0050634/">',
    '<script type="application/ld+json">{"@type":"Movie","name":"Летят журавли",'
    '"url":"/title/tt0050634/"}</script>',
    '<script data-é="' + "é" * 30 + '" type="application/ld+json">{"name":"x"}</script>',
    '<h1 data-testid="hero__pageTitle"><span>Летят журавли</span></h1>',
    '<div data-testid="plot"><span data-testid="plot-xl">Вероника 𝄞</span></div>',
    '<div\u3000data-testid="storyline-plot-summary"><div>Moscow — Anna</div></div>',
    "<div\xa0class=x>", "<div>", "</div>", "<li>", "</li>", "<span>", "</span>",
    '<li data-testid="storyline-genres"><a class="ipc-metadata-list-item__list-content-item"'
    ' href="/x">Drama</a></li>',
    "é", "—", "𝄞", " ", "\n", "<!--", "-->", "</body></html>",
]
title_pages = st.lists(st.sampled_from(MARKUP), max_size=30).map("".join)


@settings(max_examples=2000)
@given(pages)
def test_ends_html_same_on_bytes(text: str) -> None:
    assert classify._ends_html(Body(text.encode())) == classify._ends_html(Body(text))


@settings(max_examples=2000)
@given(pages)
def test_locate_same_on_bytes(text: str) -> None:
    raw = text.encode()
    start, source = next_data.locate(Body(raw).page)
    text_start, text_source = next_data.locate(text)
    assert (len(raw[:start].decode()) if start >= 0 else -1) == text_start
    assert (None if source is None else bytes(source).decode()) == text_source


@settings(max_examples=1000)
@given(title_pages)
def test_json_ld_same_on_bytes(text: str) -> None:
    assert json_ld.load(text.encode()) == json_ld.load(text)


@settings(max_examples=1000)
@given(title_pages, st.sampled_from([200, 202, 404]))
def test_extraction_same_on_bytes(text: str, status: int) -> None:
    url = "https://www.imdb.com/title/tt0050634/"
    assert extract_page(text.encode(), url, status) == extract_page(text, url, status)


@settings(max_examples=1000)
@given(st.text(), st.integers(0, 50), st.integers(0, 50))
def test_body_slices_are_the_texts(text: str, start: int, count: int) -> None:
    body = Body(text.encode())
    at = len(text[:start].encode())  # the byte offset of character ``start``
    assert body.chars(at, count) == text[start : start + count]
    # A head is kept: a shorter one is cut from it, a longer one decoded again.
    for n in (count, start, count):
        assert body.head(n) == text[:n]
    assert body.in_tail(at, count) == Body(text).in_tail(min(start, len(text)), count)
    assert Body(text).in_tail(min(start, len(text)), count) == (len(text[start:]) <= count)
    assert body.is_blank() == (not text.strip())


def test_a_tag_far_back_in_characters_is_as_far_in_bytes() -> None:
    """An element's "<" is looked for up to 3,000 characters back: 2,000 two-byte characters
    (4,000 bytes) are within that, 3,100 (6,200 bytes) are not."""
    for n, found in ((2000, True), (3100, False)):
        text = f'<div title="{"é" * n}" data-testid="plot">Plot</div>'
        ids = [html.TestIds(text), html.TestIds(text.encode())]
        assert [bool(i.section("plot")) for i in ids] == [found, found]


def test_a_long_element_is_bounded_in_characters_not_bytes() -> None:
    """300,000 three-byte characters (900 KB) are within the 400,000-character bound."""
    text = '<div data-testid="plot">' + "—" * 300_000 + "</div>"
    found = html.TestIds(text.encode()).section("plot")
    assert found is not None and found[0] == text
    text = '<div data-testid="plot">' + "—" * 400_000 + "</div>"
    assert html.TestIds(text.encode()).section("plot") is None
    assert html.TestIds(text).section("plot") is None


def _utf8_pages() -> list[Path]:
    """The real pages that are UTF-8 (the others are decoded whole, bytes or text alike)."""
    out = []
    for path in real_pages():
        try:
            path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(path)
    return out


@needs_shared
@pytest.mark.parametrize("path", _utf8_pages(), ids=lambda p: p.name)
def test_real_pages_same_on_bytes_and_text(path: Path) -> None:
    raw = path.read_bytes()
    url = f"https://www.imdb.com/title/{path.name.split('__')[0]}/"
    assert extract_page(raw, url) == extract_page(raw.decode(), url)
    assert extract_full_credits(raw, url) == extract_full_credits(raw.decode(), url)


@needs_shared
def test_a_current_page_is_read_without_decoding_it_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = next(p for p in real_pages() if p.name.endswith("__next2021plus.html"))
    url = f"https://www.imdb.com/title/{path.name.split('__')[0]}/"
    expected = extract_page(path.read_bytes(), url)

    def whole_text(self: Body) -> str:
        raise AssertionError("the whole page was decoded")

    monkeypatch.setattr(Body, "text", property(whole_text))
    assert extract_page(path.read_bytes(), url) == expected
    assert expected["kind"] == "title" and expected["title"]["primary_title"]


@pytest.mark.parametrize("filler", ["x", "é", "𝄞"])
@pytest.mark.parametrize("cut", [1, 30, 300])
def test_canonical_url_cut_by_the_first_head_is_read_whole(filler: str, cut: int) -> None:
    """A link whose second href ends past the first 20,000 characters: read there alone,
    its first href would be the answer; the first 60,000 characters give the second."""
    tag = ('<link href="https://www.imdb.com/title/tt0000001/" rel="canonical" '
           'href="https://www.imdb.com/title/tt0050634/' + "a" * 400 + '">')
    at = classify._HEAD_FIRST - (len(tag) - 400 - 2) - cut  # the cut falls in the "a"s
    text = filler * at + tag + "</html>"
    want = "https://www.imdb.com/title/tt0050634/" + "a" * 400
    assert classify.canonical_url(Body(text)) == want
    assert classify.canonical_url(Body(text.encode())) == want


@pytest.mark.parametrize(("at", "found"), [(100, True), (30_000, True), (59_000, True),
                                           (60_100, False)])
def test_canonical_url_within_the_first_60000_characters(at: int, found: bool) -> None:
    for filler in ("x", "é"):
        link = '<meta property="og:url" content="https://www.imdb.com/title/tt0050634/">'
        text = filler * at + link
        want = "https://www.imdb.com/title/tt0050634/" if found else None
        assert classify.canonical_url(Body(text)) == want
        assert classify.canonical_url(Body(text.encode())) == want
