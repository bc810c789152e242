"""A page is read as UTF-8 without checking it whole (``body.read_utf8_first``): a slice
read that is not UTF-8 sends the page back to be read checked, decoded by its charset.

The pages here are longer than the head that classification decodes (60,000 characters),
so the bytes that are not UTF-8 are met where the fields are read, not before."""

from __future__ import annotations

from crawler.extraction import extract_page, page
from crawler.extraction.body import Body
from crawler.records import PageKind
from tests.test_extraction_robustness import FIXTURE, HTML_ONLY, URL

PADDING = "<div>" + "x" * 995 + "</div>"  # 1,000 ASCII characters of markup


def _long(text: str, latin1: bool = False) -> str:
    """The page with 70,000 characters of markup first in its body (and Latin-1 declared)."""
    if latin1:
        text = text.replace("<head>", '<head><meta charset="iso-8859-1">')
    return text.replace("<body>", "<body>" + PADDING * 70, 1)


def _checked(raw: bytes) -> dict:
    """What the page gives read the old way: checked whole before anything is read."""
    return page._extract(Body(raw), URL, 200, None)


def test_next_data_not_utf8_is_read_as_the_pages_charset() -> None:
    text = _long(FIXTURE, latin1=True).replace(
        '"titleText":{"text":"Letyat zhuravli"}', '"titleText":{"text":"L\u00e9tyat"}')
    raw = text.encode("latin-1")
    result = extract_page(raw, URL)
    assert result["kind"] == PageKind.TITLE
    assert result["title"]["primary_title"] == "L\u00e9tyat"
    assert result == _checked(raw)


def test_markup_not_utf8_is_read_as_the_pages_charset() -> None:
    plot = ('<div data-testid="plot"><span data-testid="plot-xl">Moscou, \u00e9t\u00e9 1941'
            "</span></div>")
    text = _long(HTML_ONLY, latin1=True).replace("</body>", plot + "</body>")
    raw = text.encode("latin-1")
    result = extract_page(raw, URL)
    assert result["title"]["plot"] == "Moscou, \u00e9t\u00e9 1941"
    assert result == _checked(raw)


def test_a_byte_never_read_leaves_the_page_read_as_utf8() -> None:
    """One stray byte in a comment: the fields read are UTF-8 and read as such.  Checked
    whole, the page was not UTF-8 and, without a charset, was read as cp1252."""
    text = _long(FIXTURE).replace(
        '"titleText":{"text":"Letyat zhuravli"}', '"titleText":{"text":"Летят журавли"}')
    at = text.index(PADDING) + 65 * len(PADDING)  # past the head classification reads
    raw = text[:at].encode() + b"<!-- \xff -->" + text[at:].encode()
    result = extract_page(raw, URL)
    assert result["title"]["primary_title"] == "Летят журавли"
    assert _checked(raw)["title"]["primary_title"] == "Летят журавли".encode().decode("cp1252",
                                                                                     "replace")


def test_json_ld_not_utf8_is_read_as_the_pages_charset() -> None:
    """JSON-LD 25,000 characters in, past the head read first for the canonical link."""
    text = FIXTURE.replace("<head>", '<head><meta charset="iso-8859-1">').replace(
        '<script type="application/ld+json">', PADDING * 25 + '<script type="application/ld+json">'
    ).replace('"name":"Letyat zhuravli"', '"name":"L\u00e9tyat"')
    raw = _long(text).encode("latin-1")
    result = extract_page(raw, URL)
    assert result["kind"] == PageKind.TITLE
    assert result == _checked(raw)
