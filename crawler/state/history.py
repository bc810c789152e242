"""What earlier runs committed to ``OUTPUT_DIR``: the input of the refresh policy.

For each title, its latest outcome in any run (a fetched page, a merge, a
failure; for a page, whether its credits are its full credits page's), and on
request the "More like this" edges of a given fetch.  Only committed chunks are
read, so a run writing beside us is seen only once its rows are final.  Loading
keeps one small tuple per title that may be reused; edges are read a level at a
time, for the titles actually reused, with the filter pushed down into the Parquet
scan (``bench/refresh.py`` measures both).

A live run reads only live pages (an archived page is the past).  An ``as_of=latest``
run reads only archived pages and failures are left out: a title's entry is its
page or merge with the newest capture (``captured_at``), by any run, so a run of
an older date made since does not displace it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.records import FULL_CREDITS_READ, Outcome
from crawler.state.dataset import committed_paths, filesystem

TIMESTAMP = pa.timestamp("us", tz="UTC")
_OUTCOMES = (("titles", Outcome.TITLE.value), ("aliases", Outcome.ALIAS.value),
             ("failures", Outcome.FAILURE.value))
_KEY = ["tconst", "run_id", "crawled_at"]
_KEY_SCHEMA = pa.schema([("tconst", pa.string()), ("run_id", pa.string()),
                         ("crawled_at", TIMESTAMP)])
_EDGE_SCHEMA = pa.schema([("tconst", pa.string()), ("similar_tconst", pa.string()),
                          ("rank", pa.int32()), ("run_id", pa.string()),
                          ("crawled_at", TIMESTAMP)])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CAPTURED = pa.field("captured_at", TIMESTAMP)


@dataclass(frozen=True)
class Fetch:
    """A title's latest outcome: a page (``title``), a merge (``alias``) or a failure."""

    tconst: str
    outcome: str
    run_id: str
    crawled_at: datetime
    canonical_tconst: str | None  # the title it merged into, for an alias
    captured_at: datetime | None = None  # the capture it was read from (archived pages)
    full_credits: bool = False  # a page read with its full credits page (-a credits=full)


def _dataset(output_dir: str | os.PathLike[str], table: str, schema: pa.Schema,
             exclude_run: str | None) -> ds.Dataset | None:
    paths = committed_paths(output_dir, table, exclude_run)
    return ds.dataset(paths, schema=schema, format="parquet",
                      filesystem=filesystem(output_dir)) if paths else None


def _outcomes(output_dir: str | os.PathLike[str], exclude_run: str | None,
              archived: bool) -> pa.Table:
    parts = []
    for table, outcome in _OUTCOMES:
        if archived and table == "failures":
            continue
        schema = _KEY_SCHEMA.append(_CAPTURED)
        if table == "aliases":
            schema = schema.append(pa.field("canonical_tconst", pa.string()))
        if table == "titles":
            schema = schema.append(pa.field("full_credits", pa.string()))
        data = _dataset(output_dir, table, schema, exclude_run)
        # A live run never reuses a page read from an archive (the past), nor the reverse.
        captured = pc.field("captured_at")
        t = data.to_table(filter=captured.is_valid() if archived else captured.is_null()) \
            if data is not None else schema.empty_table()
        for name in ("canonical_tconst", "full_credits"):
            if name not in t.column_names:
                t = t.append_column(name, pa.nulls(t.num_rows, pa.string()))
        t = t.select([*_KEY, "captured_at", "canonical_tconst", "full_credits"])
        parts.append(t.append_column("outcome", pa.array([outcome] * t.num_rows,
                                                          pa.string())))
    return pa.concat_tables(parts)


def _last_per_title(t: pa.Table, archived: bool) -> pa.Table:
    """The row with the latest crawled_at of each tconst (archived: the newest capture,
    then the latest crawled_at)."""
    if t.num_rows == 0:
        return t
    order = [("captured_at", "ascending")] if archived else []
    t = t.take(pc.sort_indices(t, [("tconst", "ascending"), *order,
                                   ("crawled_at", "ascending")]))
    tconst = t.column("tconst")
    last = pc.not_equal(tconst.slice(0, t.num_rows - 1), tconst.slice(1))
    return t.filter(pa.concat_arrays([*last.chunks, pa.array([True])]))


# One compact entry per title: (outcome, run id (interned), microseconds, canonical,
# capture's microseconds or None, read with its full credits).
_Entry = tuple[str, str, int, str | None, int | None, bool]


def _entries(rows: pa.Table) -> dict[str, _Entry]:
    columns = rows.select(["tconst", "outcome", "run_id", "canonical_tconst"]).to_pydict()
    micros = pc.cast(rows.column("crawled_at"), pa.int64()).to_pylist()
    captured = pc.cast(rows.column("captured_at"), pa.int64()).to_pylist()
    full = pc.fill_null(pc.equal(rows.column("full_credits"), FULL_CREDITS_READ),
                        False).to_pylist()
    intern = sys.intern
    return {
        t: (intern(o), intern(r), us, c, cap, f)
        for t, o, r, us, c, cap, f in zip(columns["tconst"], columns["outcome"],
                                          columns["run_id"], micros,
                                          columns["canonical_tconst"], captured, full,
                                          strict=True)
    }


class History:
    """Latest outcomes of the titles earlier runs committed, and their edges on demand."""

    def __init__(self, latest: dict[str, _Entry], edges: ds.Dataset | None) -> None:
        self._latest = latest
        self._edges = edges

    @classmethod
    def load(
        cls,
        output_dir: str | os.PathLike[str],
        *,
        exclude_run: str | None = None,
        pinned: Mapping[str, tuple[str, datetime]] | None = None,
        archived: bool = False,
    ) -> History:
        """Read ``output_dir``.  ``pinned`` maps a tconst to the fetch (run id, time) to
        stand for it instead of its latest (a resumed run replays its own decisions).
        ``archived``: the pages of archive runs, for an ``as_of=latest`` run."""
        outcomes = _outcomes(output_dir, exclude_run, archived)
        latest = _entries(_last_per_title(outcomes, archived))
        if pinned:
            latest.update(_entries(outcomes.join(_keys(pinned), keys=_KEY,
                                                 join_type="inner")))
        del outcomes
        return cls(latest, _dataset(output_dir, "more_like_this", _EDGE_SCHEMA, exclude_run))

    def __len__(self) -> int:
        return len(self._latest)

    def latest(self, tconst: str) -> Fetch | None:
        entry = self._latest.get(tconst)
        if entry is None:
            return None
        outcome, run_id, micros, canonical, captured, full = entry
        return Fetch(tconst, outcome, run_id, _EPOCH + timedelta(microseconds=micros),
                     canonical,
                     _EPOCH + timedelta(microseconds=captured) if captured is not None else None,
                     full)

    def reusable(self, tconst: str, now: datetime, max_age: timedelta) -> Fetch | None:
        """The fetch to reuse for ``tconst``: its latest outcome, when that is a page or a
        merge younger than ``max_age``; None when it must be fetched."""
        fetch = self.latest(tconst)
        if fetch is None or fetch.outcome == Outcome.FAILURE or now - fetch.crawled_at >= max_age:
            return None
        return fetch

    def edges(self, tconsts: Iterable[str]) -> dict[str, list[str]]:
        """The "More like this" tconsts, in rank order, of each title's latest fetch (or
        pinned one), read in one filtered scan."""
        keys = {}
        for tconst in tconsts:
            fetch = self.latest(tconst)
            if fetch is not None and fetch.outcome == Outcome.TITLE:
                keys[tconst] = (fetch.run_id, fetch.crawled_at)
        out: dict[str, list[str]] = {t: [] for t in keys}
        if not keys or self._edges is None:
            return out
        wanted = _keys(keys)
        rows = self._edges.to_table(filter=pc.field("tconst").isin(wanted.column("tconst")))
        rows = rows.join(wanted, keys=_KEY, join_type="inner").sort_by(
            [("tconst", "ascending"), ("rank", "ascending")])
        for tconst, similar in zip(rows.column("tconst").to_pylist(),
                                   rows.column("similar_tconst").to_pylist(), strict=True):
            out[tconst].append(similar)
        return out


def _keys(keys: Mapping[str, tuple[str, datetime]]) -> pa.Table:
    return pa.table({
        "tconst": pa.array(list(keys), pa.string()),
        "run_id": pa.array([k[0] for k in keys.values()], pa.string()),
        "crawled_at": pa.array([k[1] for k in keys.values()], TIMESTAMP),
    })
