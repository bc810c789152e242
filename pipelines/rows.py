"""From an outcome item to typed table rows: pure functions, no Scrapy, no I/O.

A ``TitleItem`` fans out into rows of ``titles``, ``ratings``, ``credits`` and
``more_like_this`` (with ``-a credits=full``, ``credit_categories`` and
``subpage_failures`` too: rows of its full credits page carry that page's capture);
a ``FailureItem``, an ``AliasItem`` and a ``ReusedItem`` are one row of ``failures``,
``aliases`` and ``reused``.  Each row is then coerced to its table's
schema (``pipelines.schemas``) so types never drift: ``to_row`` keeps the schema's
columns and types timestamps and dates, ``to_arrow`` builds the Arrow table, rejecting
only the rows that cannot be converted.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from crawler.items import AliasItem, FailureItem, ReusedItem, TitleItem, observation
from crawler.records import FULL_CREDITS_READ
from crawler.state.run import Run
from pipelines.schemas import SCHEMAS
from pipelines.values import parse_timestamp

# The columns a title's child rows (credits, more_like_this) copy from the title.
STAMP = ("run_id", "crawled_at", "captured_at", "observed_at", "source")

# Per table: column names, timestamp columns, date columns, non-nullable columns.
COLUMNS = {
    table: (
        schema.names,
        [f.name for f in schema if pa.types.is_timestamp(f.type)],
        [f.name for f in schema if pa.types.is_date(f.type)],
        [f.name for f in schema if not f.nullable],
    )
    for table, schema in SCHEMAS.items()
}

_CONVERSION_ERRORS = (pa.ArrowException, TypeError, ValueError, OverflowError)
# The tables whose rows ``table_rows`` makes one new dict each (a title's and an outcome's
# own rows share the item's values).
OWN_ROWS = frozenset({"credits", "credit_categories", "subpage_failures", "more_like_this"})
_STAMP_TIMES = [name for name in STAMP
                if pa.types.is_timestamp(SCHEMAS["credits"].field(name).type)]


class RowRejected(ValueError):
    """A row that cannot be written: ``why``, and the row as far as it was typed."""

    def __init__(self, why: str, row: dict[str, Any]) -> None:
        super().__init__(why)
        self.why = why
        self.row = row


def table_rows(item: Any, run: Run | None = None) -> Iterable[tuple[str, dict[str, Any]]]:
    """(table, row) for each row an item becomes, each saying when IMDb showed it and
    where it was read (``crawler.items.observation``; ``run``: the run writing it)."""
    values = dict(item)
    values.update(observation(values, run))
    stamp = _typed_stamp(values)
    if isinstance(item, TitleItem):
        yield "titles", values
        if values.get("average_rating") is not None or values.get("num_votes") is not None:
            yield "ratings", values
        tconst = values.get("tconst")
        full = stamp
        if values.get("full_credits") == FULL_CREDITS_READ:
            full = _sub_stamp(values, values.get("full_credits_captured_at"), run)
        for credit in values.get("credits") or ():
            yield "credits", {**credit, "tconst": tconst, **full}
        for category in values.get("credit_categories") or ():
            yield "credit_categories", {**category, "tconst": tconst, **full}
        for failure in values.get("subpage_failures") or ():
            yield "subpage_failures", {**failure, "tconst": tconst,
                                       **_sub_stamp(values, failure.get("captured_at"), run)}
        for edge in values.get("more_like_this") or ():
            yield "more_like_this", {**edge, "tconst": tconst, **stamp}
    elif isinstance(item, FailureItem):
        yield "failures", values
    elif isinstance(item, AliasItem):
        yield "aliases", values
    elif isinstance(item, ReusedItem):
        yield "reused", values


def _sub_stamp(values: dict[str, Any], captured_at: Any, run: Run | None) -> dict[str, Any]:
    """The stamp of a sub-page's rows: the title's run and fetch (``crawled_at``), the
    sub-page's own capture and observation."""
    own = {"run_id": values.get("run_id"), "crawled_at": values.get("crawled_at"),
           "captured_at": captured_at, "source": values.get("source")}
    return _typed_stamp({**own, **observation(own, run)})


def _typed_stamp(values: dict[str, Any]) -> dict[str, Any]:
    """The stamp columns of ``values``, timestamps typed once for all of a title's rows."""
    stamp = {k: values.get(k) for k in STAMP}
    for name in _STAMP_TIMES:
        if stamp[name] is not None:
            stamp[name] = timestamp(stamp[name])
    return stamp


@functools.lru_cache(maxsize=16)
def _parse_text(value: str) -> datetime | None:
    # A title's ~30 rows share one crawled_at string: parse it once.
    return parse_timestamp(value)


def timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime of an ISO-8601 text or a datetime; None if it is neither."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # typed already (a title's stamp, shared by its rows)
    return _parse_text(value) if isinstance(value, str) else parse_timestamp(value)


def to_row(table: str, values: dict[str, Any], *, owned: bool = False) -> dict[str, Any]:
    """The table's columns of ``values``, timestamps and dates typed (an unreadable date
    is None).  ``RowRejected`` when a non-nullable column has no value.  ``owned``: the
    dict was made for this row alone (``OWN_ROWS``), so it is typed in place, not copied
    (a column it lacks is null; a key that is no column is not written)."""
    names, timestamps, dates, required = COLUMNS[table]
    row = values if owned else {name: values.get(name) for name in names}
    get = row.get
    for name in timestamps:
        value = get(name)
        if value is not None:
            row[name] = timestamp(value)
    for name in dates:
        value = get(name)
        if isinstance(value, str):
            try:
                row[name] = date.fromisoformat(value)
            except ValueError:
                row[name] = None
    for name in required:
        if get(name) is None:
            raise RowRejected(f"{name} is missing", row)
    return row


def to_arrow(table: str, rows: list[dict[str, Any]]) -> tuple[pa.Table, list[RowRejected]]:
    """The rows as an Arrow table of the table's schema, and the rows it could not take
    (one bad row must not cost the others)."""
    schema = SCHEMAS[table]
    try:
        return pa.Table.from_pylist(rows, schema=schema), []
    except _CONVERSION_ERRORS:
        pass
    good, rejected = [], []
    for row in rows:
        try:
            good.append(pa.Table.from_pylist([row], schema=schema))
        except _CONVERSION_ERRORS as exc:
            rejected.append(RowRejected(str(exc), row))
    return (pa.concat_tables(good) if good else schema.empty_table()), rejected
