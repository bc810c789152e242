"""The layout of ``OUTPUT_DIR``, shared by the exporter that writes it and the job
state that reads it back on resume::

    OUTPUT_DIR/<table>/crawl_date=YYYY-MM-DD/<run_id>-<chunk:05d>.parquet
    OUTPUT_DIR/<table>/crawl_date=YYYY-MM-DD/.<run_id>-<chunk:05d>.parquet.tmp  # being written
    OUTPUT_DIR/_state/<run_id>.commits    # commit log: one committed chunk number a line

A chunk is part of the dataset only once its number is in the commit log.  A worker
of a shared crawl (``crawler.shared_frontier``) names its files and its commit log by
``<run_id>.<worker>`` instead (``crawler.run.Run.file_key``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

STATE_DIR = "_state"
PARTITION = "crawl_date"


def final_name(run_id: str, chunk: int) -> str:
    return f"{run_id}-{chunk:05d}.parquet"


def tmp_name(run_id: str, chunk: int) -> str:
    return f".{run_id}-{chunk:05d}.parquet.tmp"


def commit_log(output_dir: str | os.PathLike[str], run_id: str) -> Path:
    return Path(output_dir) / STATE_DIR / f"{run_id}.commits"


def read_commits(output_dir: str | os.PathLike[str], run_id: str) -> list[int]:
    """Committed chunk numbers of a run, in commit order.  A torn last line is ignored."""
    try:
        text = commit_log(output_dir, run_id).read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # only newline-terminated lines were fully written
    return [int(line) for line in lines if line.strip().isdigit()]


def run_files(
    output_dir: str | os.PathLike[str], table: str, run_id: str
) -> Iterator[tuple[Path, int, bool]]:
    """(path, chunk, is_tmp) of every file of the run under one table.

    Anything else in the table directory (a stray file named like a partition,
    another run's files) is left alone.
    """
    final = re.compile(rf"^{re.escape(run_id)}-(\d+)\.parquet$", re.ASCII)
    tmp = re.compile(rf"^\.{re.escape(run_id)}-(\d+)\.parquet\.tmp$", re.ASCII)
    table_dir = Path(output_dir) / table
    if not table_dir.is_dir():
        return
    for part in sorted(table_dir.glob(f"{PARTITION}=*")):
        if not part.is_dir():
            continue
        for path in sorted(part.iterdir()):
            if m := final.match(path.name):
                yield path, int(m.group(1)), False
            elif m := tmp.match(path.name):
                yield path, int(m.group(1)), True


def committed_files(
    output_dir: str | os.PathLike[str], run_id: str, table: str
) -> list[tuple[int, Path]]:
    """(chunk, path) of the run's committed files of one table, in chunk order."""
    committed = set(read_commits(output_dir, run_id))
    return sorted(
        (chunk, path)
        for path, chunk, is_tmp in run_files(output_dir, table, run_id)
        if not is_tmp and chunk in committed
    )


def read_committed(
    output_dir: str | os.PathLike[str], run_id: str, table: str, schema: pa.Schema
) -> pa.Table:
    """The committed rows of one run in one table, as ``schema`` (a subset of the
    table's columns), in commit order.  Files written before a column existed give
    nulls for it.  A damaged file raises ``pyarrow.ArrowInvalid`` or ``OSError``."""
    columns = schema.names
    parts = []
    for _, path in committed_files(output_dir, run_id, table):
        pf = pq.ParquetFile(path)
        present = [c for c in columns if c in pf.schema_arrow.names]
        t = pf.read(columns=present)
        arrays = [
            t.column(c).cast(schema.field(c).type) if c in present
            else pa.nulls(t.num_rows, schema.field(c).type)
            for c in columns
        ]
        parts.append(pa.Table.from_arrays(arrays, schema=schema))
    return pa.concat_tables(parts) if parts else schema.empty_table()


# The tables a title's outcome is a row of.
OUTCOME_TABLES = ("titles", "failures", "aliases", "reused")


def committed_titles(output_dir: str | os.PathLike[str], file_key: str, after: int) -> list[str]:
    """The tconsts with an outcome row in the committed chunks of ``file_key`` numbered
    above ``after``."""
    out: list[str] = []
    for table in OUTCOME_TABLES:
        for chunk, path in committed_files(output_dir, file_key, table):
            if chunk > after:
                out.extend(str(t) for t in
                           pq.read_table(path, columns=["tconst"]).column("tconst").to_pylist())
    return out


_FILE_RE = re.compile(r"^(.+)-(\d+)\.parquet$", re.ASCII)


def committed_paths(
    output_dir: str | os.PathLike[str], table: str, exclude_run: str | None = None
) -> list[str]:
    """Every committed file of one table, whichever run wrote it (another run may be
    writing right now: only chunks its commit log lists are read)."""
    table_dir = Path(output_dir) / table
    if not table_dir.is_dir():
        return []
    commits: dict[str, set[int]] = {}
    paths = []
    for part in sorted(table_dir.glob(f"{PARTITION}=*")):
        if not part.is_dir():
            continue
        for path in sorted(part.iterdir()):
            m = _FILE_RE.match(path.name)
            if m is None or m.group(1).split(".", 1)[0] == exclude_run:
                continue
            run_id, chunk = m.group(1), int(m.group(2))
            if run_id not in commits:
                commits[run_id] = set(read_commits(output_dir, run_id))
            if chunk in commits[run_id]:
                paths.append(str(path))
    return paths
