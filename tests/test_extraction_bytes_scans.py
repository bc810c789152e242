"""The envelope and ``__NEXT_DATA__`` scans give the same answers on a page's UTF-8 bytes as
on its text (they search the bytes when they have them, for speed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.extraction import classify, next_data

PIECES = ["<script>", "<script ", "<SCRIPT>", "<Script>", "</script>", "</SCRIPT>", "</script",
          "</html>", "</HTML>", "é", "—", "𝄞", "x", " ", "\n", "<script\t", "<scriptx",
          '<script id="__NEXT_DATA__" type="application/json">', '{"a":1}', "<", ">"]
pages = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=2000)
@given(pages)
def test_ends_html_same_on_bytes(text: str) -> None:
    assert classify._ends_html(text, text.encode()) == classify._ends_html(text)


@settings(max_examples=2000)
@given(pages)
def test_locate_same_on_bytes(text: str) -> None:
    start, source = next_data.locate(text, text.encode())
    text_start, text_source = next_data.locate(text)
    assert start == text_start
    assert (None if source is None else bytes(source).decode()) == text_source
