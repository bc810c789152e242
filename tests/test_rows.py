"""``pipelines.rows``: a title's child rows typed in place come out as the copies did."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.extraction import extract_page
from crawler.items import title_item
from mirror.loader import load_catalogue
from mirror.render import render_title_page
from pipelines.normalize import NormalizeTitlePipeline
from pipelines.rows import OWN_ROWS, RowRejected, table_rows, to_arrow, to_row

URL = "https://www.imdb.com/title/tt0050634/"


def _item(crawled_at: str, captured_at: str | None = None) -> object:
    record, options = load_catalogue()["tt0050634"]
    page = render_title_page(record, **options).encode("utf-8")
    title = extract_page(page, URL, 200, "text/html; charset=utf-8")["title"]
    assert title is not None
    return NormalizeTitlePipeline().process_item(title_item(
        title, depth=0, run_id="seed", crawled_at=crawled_at, captured_at=captured_at))


def test_child_rows_typed_in_place_equal_the_typed_copies() -> None:
    item = _item("2026-11-26T01:02:03Z", "2019-05-01T00:00:00+02:00")
    tables: dict[str, tuple[list, list]] = {}
    for table, values in table_rows(item):
        copy, owned = tables.setdefault(table, ([], []))
        copy.append(to_row(table, dict(values)))
        owned.append(to_row(table, values, owned=table in OWN_ROWS))
    assert {"credits", "more_like_this"} <= tables.keys() <= {"titles", "ratings", *OWN_ROWS}
    for table, (copy, owned) in tables.items():
        assert to_arrow(table, owned)[0].equals(to_arrow(table, copy)[0]), table
    (edge, *_) = tables["more_like_this"][1]
    assert edge["crawled_at"] == datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)
    assert edge["captured_at"] == datetime(2019, 4, 30, 22, 0, tzinfo=UTC)
    assert edge["similar_tconst"] == "tt0053106"


def test_a_copied_row_leaves_the_values_as_they_were() -> None:
    values = {"tconst": "tt0050634", "run_id": "r", "crawled_at": "2026-11-26T00:00:00Z"}
    row = to_row("titles", values)
    assert values["crawled_at"] == "2026-11-26T00:00:00Z"
    assert row["crawled_at"] == datetime(2026, 11, 26, tzinfo=UTC)


def test_an_unreadable_stamp_rejects_a_child_row_as_before() -> None:
    item = _item("not a time")
    for table, values in table_rows(item):
        with pytest.raises(RowRejected, match="crawled_at is missing"):
            to_row(table, values, owned=table in OWN_ROWS)
