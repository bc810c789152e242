"""Committed files gone from OUTPUT_DIR (deleted by hand, lost with a disk): named and
counted, never dropped in silence.

A commit log records chunks, not files, so which files a committed chunk holds is known
from the views' database: its ``committed_files`` lists every file it was built over.  A
file listed there (or already in its ``missing_files``) that is still committed
(``crawler.state.dataset.Committed``: its chunk in its commit log and merged by no
compaction, or the compacted file its partition's record names), and that is gone now,
is missing.  The views are rebuilt around it and list it in
``missing_files`` (so every later build counts it again), and ``scrapy report`` names it
and exits non-zero; restoring the file ends it.  A chunk uncommitted since (a damaged
chunk dropped on resume) is no loss, nor a chunk a compaction merged (``scrapy compact``:
its rows are in the compacted file): their files are not missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import duckdb

from crawler.state.dataset import Committed


@dataclass(frozen=True, order=True)
class MissingFile:
    table: str
    name: str  # <table>/crawl_date=YYYY-MM-DD/<file_key>-<chunk>.parquet, under OUTPUT_DIR


def relative_name(path: str) -> str:
    """A committed file's name under OUTPUT_DIR, whatever the root (an absolute local
    path, an ``s3://`` URI, a directory moved since)."""
    return "/".join(path.replace(os.sep, "/").rsplit("/", 3)[-3:])


def listed(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """name -> table of every file a views database was built over or found missing."""
    found = {relative_name(p): t for t, p in
             con.execute("SELECT table_name, path FROM committed_files").fetchall()}
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "missing_files" in tables:
        found.update((p, t) for t, p in
                     con.execute("SELECT table_name, path FROM missing_files").fetchall())
    return found


def find(output_dir: str | os.PathLike[str], before: dict[str, str],
         files: dict[str, list[str]]) -> list[MissingFile]:
    """The files of ``before`` (see :func:`listed`) missing from ``files`` (the committed
    files now, per table) whose chunk is still committed, sorted."""
    now = {relative_name(p) for paths in files.values() for p in paths}
    index = Committed(output_dir)
    missing = []
    for name, table in before.items():
        if name in now:
            continue
        folder, _, file_name = name.rpartition("/")
        day = folder.rsplit("/", 1)[-1].split("=", 1)[-1]
        if index.file(table, day, file_name):
            missing.append(MissingFile(table, name))
    return sorted(missing)


def one_line(missing: list[MissingFile]) -> str:
    """What is missing, in one line: the first file named, the rest counted."""
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return (f"committed file {missing[0].name}{more} missing from OUTPUT_DIR "
            f"({len(missing)} missing file{'s' if len(missing) > 1 else ''}; deleted or lost "
            "since the views listed it): its rows are left out; restore it to bring them back")
