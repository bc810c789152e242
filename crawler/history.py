"""What earlier runs committed to ``OUTPUT_DIR``: the input of the refresh policy.

For each title, its latest outcome in any run (a fetched page, a merge, a
failure) and the "More like this" edges of its latest fetched page.  Only
committed chunks are read, so a run writing beside us is seen only once its
rows are final.  Reading stays in Arrow until the end: 100,000 titles load in
about a second (``bench/refresh.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.dataset import committed_paths

TIMESTAMP = pa.timestamp("us", tz="UTC")
_OUTCOMES = (("titles", "title"), ("aliases", "alias"), ("failures", "failure"))
_KEY = ("tconst", "run_id", "crawled_at")


@dataclass(frozen=True)
class Fetch:
    """A title's latest outcome: a page (``title``), a merge (``alias``) or a failure."""

    tconst: str
    outcome: str
    run_id: str
    crawled_at: datetime
    canonical_tconst: str | None  # the title it merged into, for an alias


def _read(output_dir: str | os.PathLike[str], table: str, columns: pa.Schema,
          exclude_run: str | None) -> pa.Table:
    paths = committed_paths(output_dir, table, exclude_run)
    if not paths:
        return columns.empty_table()
    return ds.dataset(paths, schema=columns, format="parquet").to_table()


def _outcomes(output_dir: str | os.PathLike[str], exclude_run: str | None) -> pa.Table:
    key = pa.schema([("tconst", pa.string()), ("run_id", pa.string()),
                     ("crawled_at", TIMESTAMP)])
    parts = []
    for table, outcome in _OUTCOMES:
        columns = key.append(pa.field("canonical_tconst", pa.string())) \
            if table == "aliases" else key
        t = _read(output_dir, table, columns, exclude_run)
        if "canonical_tconst" not in t.column_names:
            t = t.append_column("canonical_tconst", pa.nulls(t.num_rows, pa.string()))
        parts.append(t.append_column("outcome", pa.array([outcome] * t.num_rows,
                                                          pa.string())))
    return pa.concat_tables(parts)


def _last_per_title(t: pa.Table) -> pa.Table:
    """The row with the latest crawled_at of each tconst."""
    if t.num_rows == 0:
        return t
    t = t.take(pc.sort_indices(t, [("tconst", "ascending"), ("crawled_at", "ascending")]))
    tconst = t.column("tconst")
    last = pc.not_equal(tconst.slice(0, t.num_rows - 1), tconst.slice(1))
    return t.filter(pa.concat_arrays([*last.chunks, pa.array([True])]))


class History:
    """Latest outcomes and edges of the titles earlier runs committed."""

    def __init__(self, latest: dict[str, Fetch], edges: pa.Table) -> None:
        self.latest = latest
        self._similar = edges.column("similar_tconst").combine_chunks() \
            if edges.num_rows else pa.array([], pa.string())
        self._spans: dict[str, tuple[int, int]] = {}
        n = edges.num_rows
        if n:
            # Edges are sorted by tconst: each title's edges are one span, found in Arrow.
            tconst = edges.column("tconst").combine_chunks()
            changes = pc.indices_nonzero(pc.not_equal(tconst.slice(0, n - 1), tconst.slice(1)))
            starts = [0, *(i + 1 for i in changes.to_pylist())]
            ends = [*starts[1:], n]
            names = tconst.take(pa.array(starts)).to_pylist()
            self._spans = dict(zip(names, zip(starts, ends, strict=True), strict=True))

    @classmethod
    def load(
        cls,
        output_dir: str | os.PathLike[str],
        *,
        exclude_run: str | None = None,
        pinned: Mapping[str, tuple[str, datetime]] | None = None,
    ) -> History:
        """Read ``output_dir``; ``pinned`` maps a tconst to the fetch (run id, time) whose
        edges to keep instead of its latest (a resumed run replays its own decisions)."""
        pinned = pinned or {}
        outcomes = _outcomes(output_dir, exclude_run)
        latest = _fetches(_last_per_title(outcomes))
        if pinned:
            latest.update(_fetches(outcomes.join(_keys(pinned), keys=list(_KEY),
                                                 join_type="inner")))
        return cls(latest, _edges(output_dir, latest, pinned, exclude_run))

    def reusable(self, tconst: str, now: datetime, max_age: timedelta) -> Fetch | None:
        """The fetch to reuse for ``tconst``: its latest outcome, when that is a page or a
        merge younger than ``max_age``; None when it must be fetched."""
        fetch = self.latest.get(tconst)
        if fetch is None or fetch.outcome == "failure" or now - fetch.crawled_at >= max_age:
            return None
        return fetch

    def edges(self, tconst: str) -> list[str]:
        """The "More like this" tconsts of the title's latest fetched page, in rank order."""
        span = self._spans.get(tconst)
        return self._similar[span[0]:span[1]].to_pylist() if span else []


def _fetches(rows: pa.Table) -> dict[str, Fetch]:
    return {
        r["tconst"]: Fetch(r["tconst"], r["outcome"], r["run_id"], r["crawled_at"],
                           r["canonical_tconst"])
        for r in rows.to_pylist()
    }


def _keys(keys: Mapping[str, tuple[str, datetime]]) -> pa.Table:
    return pa.table({
        "tconst": pa.array(list(keys), pa.string()),
        "run_id": pa.array([k[0] for k in keys.values()], pa.string()),
        "crawled_at": pa.array([k[1] for k in keys.values()], TIMESTAMP),
    })


def _edges(
    output_dir: str | os.PathLike[str],
    latest: Mapping[str, Fetch],
    pinned: Mapping[str, tuple[str, datetime]],
    exclude_run: str | None,
) -> pa.Table:
    keys = {t: (f.run_id, f.crawled_at) for t, f in latest.items() if f.outcome == "title"}
    keys.update(pinned)
    wanted = _keys(keys)
    columns = pa.schema([("tconst", pa.string()), ("similar_tconst", pa.string()),
                         ("rank", pa.int32()), ("run_id", pa.string()),
                         ("crawled_at", TIMESTAMP)])
    edges = _read(output_dir, "more_like_this", columns, exclude_run)
    if edges.num_rows == 0 or wanted.num_rows == 0:
        return columns.empty_table()
    joined = edges.join(wanted, keys=list(_KEY), join_type="inner")
    return joined.sort_by([("tconst", "ascending"), ("rank", "ascending")])
