"""Which columns each committed file has, so that the views read it cheaply.

DuckDB binds ``read_parquet([...], union_by_name = true)`` by reading the footer of every
file listed, and binds it again for every view built on it: over a year of daily runs
(~9,000 files) a rebuild took 30 s and 1.3 GB.  A plain ``read_parquet([...])`` binds
from its first file's footer alone, and is exact when every file it lists has the same
columns.  A table's schema only ever gains columns (``pipelines.schemas``), so its files
fall into a few groups, one per schema they were written with: the views read each
group plainly and union the groups by name (``analytics.views.source``).

A file's schema is known by a key (a hash of its column names and types), kept in
``dataset.duckdb`` with the file's size (``committed_files.size``, ``schema_key``): a
rebuild reads the footers of the files new since the last build only.  A file under a
known name whose size changed is read again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from analytics.missing_files import relative_name
from crawler.state.dataset import open_parquet, remote

# (name under OUTPUT_DIR, size) -> schema key
Known = dict[tuple[str, int], str]


def schema_key(schema: pa.Schema) -> str:
    """The same key for two files exactly when they have the same columns and types."""
    text = ";".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def known(con: duckdb.DuckDBPyConnection) -> Known:
    """The keys a views database recorded; none from a database of another shape."""
    try:
        rows = con.execute("SELECT path, size, schema_key FROM committed_files").fetchall()
    except duckdb.Error:
        return {}
    return {(relative_name(p), size): key for p, size, key in rows
            if size is not None and key is not None}


def _sizes(output_dir: str | os.PathLike[str], paths: list[str]) -> dict[str, int]:
    rem = remote(output_dir)
    if rem is None:
        return {p: os.stat(p).st_size for p in paths}
    # One listing per table folder, not one request per file.
    wanted = {p.removeprefix("s3://") for p in paths}
    tops = {p.split("/")[-3] for p in wanted}
    sizes: dict[str, int] = {}
    for top in sorted(tops):
        selector = pafs.FileSelector(rem.path(top), recursive=True, allow_not_found=True)
        sizes.update((f"s3://{i.path}", i.size) for i in rem.fs.get_file_info(selector)
                     if i.path in wanted and i.size is not None)
    return sizes


def describe(output_dir: str | os.PathLike[str], paths: list[str],
             cached: Known) -> dict[str, tuple[int, str]]:
    """path -> (size, schema key) of each file, its footer read only when ``cached``
    does not know the file (its name and size)."""
    sizes = _sizes(output_dir, paths)
    rem = remote(output_dir)
    out: dict[str, tuple[int, str]] = {}
    for path in paths:
        size = sizes[path]
        key = cached.get((relative_name(path), size))
        if key is None:
            where: str | Path = path.removeprefix("s3://") if rem is not None else path
            key = schema_key(open_parquet(output_dir, where).schema_arrow)
        out[path] = (size, key)
    return out


def groups(paths: Iterable[str], keys: dict[str, tuple[int, str]]) -> list[list[str]]:
    """The paths grouped by schema key, each group in the paths' order, the groups in the
    order of their first path."""
    found: dict[str, list[str]] = {}
    for path in paths:
        found.setdefault(keys[path][1], []).append(path)
    return list(found.values())
