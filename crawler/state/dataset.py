"""The layout of ``OUTPUT_DIR``, shared by the exporter that writes it and every reader
(resume, refresh history, coverage, the report, the views).

``OUTPUT_DIR`` is a local (or shared) directory, or an object store prefix
``s3://bucket/prefix`` reached through pyarrow's filesystem layer.  A local directory::

    OUTPUT_DIR/<table>/crawl_date=YYYY-MM-DD/<run_id>-<chunk:05d>.parquet
    OUTPUT_DIR/<table>/crawl_date=YYYY-MM-DD/.<run_id>-<chunk:05d>.parquet.tmp  # being written
    OUTPUT_DIR/_state/<run_id>.commits    # commit log: one committed chunk number a line
    OUTPUT_DIR/_state/shared/…            # a shared crawl's records (crawler.frontier.recovery)

An object store has no rename and no append, so the same data files are written
straight to their final names and the commit point is an object of its own::

    s3://bucket/prefix/<table>/crawl_date=YYYY-MM-DD/<run_id>-<chunk:05d>.parquet
    s3://bucket/prefix/_state/<run_id>.commits/<chunk:05d>   # commit marker (empty)

(``<run_id>`` is ``Run.file_key``: a worker of a shared crawl adds ``.<worker>``.)

A chunk is part of the dataset only once it is committed: its number in the commit
log, or its marker object present.  Why that is safe on an object store: a PUT (or a
multipart upload, completed at close) makes an object visible only whole, so

- while a chunk's files are uploaded, a reader sees none or some of them, complete,
  under final names, with no marker: it ignores them all;
- the marker is written only after every file of the chunk was closed (uploaded), so
  once a reader lists the marker, every file of the chunk is there, complete;
- a crash before the marker leaves complete or never-completed uploads of an
  uncommitted chunk: ignored by readers, and deleted when the run resumes (the
  exporter's recovery, as locally); an unfinished multipart upload is invisible and
  is left to the bucket's AbortIncompleteMultipartUpload lifecycle rule;
- a crash after the marker leaves a committed chunk, exactly as locally.

Dropping committed chunks (a damaged chunk on resume) deletes their markers first,
newest first, then their files, so a reader never meets a marker without its files.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from crawler.state import compacted
from crawler.state.atomic import write_atomic

STATE_DIR = "_state"
PARTITION = "crawl_date"
OBJECT_STORE_SCHEMES = ("s3://",)


def final_name(run_id: str, chunk: int) -> str:
    return f"{run_id}-{chunk:05d}.parquet"


def tmp_name(run_id: str, chunk: int) -> str:
    return f".{run_id}-{chunk:05d}.parquet.tmp"


def marker_name(chunk: int) -> str:
    return f"{chunk:05d}"


# --- where OUTPUT_DIR is ------------------------------------------------------------------


@dataclass(frozen=True)
class Remote:
    """An ``s3://`` OUTPUT_DIR: its filesystem, and its root there (``bucket/prefix``)."""

    uri: str
    fs: pafs.FileSystem
    root: str

    def path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))


def is_remote(output_dir: str | os.PathLike[str]) -> bool:
    return os.fspath(output_dir).startswith(OBJECT_STORE_SCHEMES)


@functools.lru_cache(maxsize=8)
def _open_remote(uri: str, endpoint: str | None, key_id: str | None) -> Remote:
    # endpoint and key_id only key the cache: pyarrow reads them from the environment.
    fs, root = pafs.FileSystem.from_uri(uri)
    return Remote(uri, fs, root.rstrip("/"))


def remote(output_dir: str | os.PathLike[str]) -> Remote | None:
    """The object store of an ``s3://bucket/prefix`` OUTPUT_DIR; None for a local path.

    Endpoint and credentials: pyarrow's URI options (``?endpoint_override=...``) or the
    standard AWS environment variables (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...).
    ``pyarrow.ArrowInvalid`` for a malformed URI."""
    uri = os.fspath(output_dir)
    if not uri.startswith(OBJECT_STORE_SCHEMES):
        return None
    return _open_remote(uri, os.environ.get("AWS_ENDPOINT_URL"),
                        os.environ.get("AWS_ACCESS_KEY_ID"))


def filesystem(output_dir: str | os.PathLike[str]) -> pafs.FileSystem | None:
    """What to pass as ``filesystem=`` with the paths of this module (None: local)."""
    rem = remote(output_dir)
    return rem.fs if rem is not None else None


def open_parquet(output_dir: str | os.PathLike[str], path: str | Path) -> pq.ParquetFile:
    rem = remote(output_dir)
    if rem is None:
        return pq.ParquetFile(path)
    return pq.ParquetFile(rem.fs.open_input_file(str(path)))


def remove(output_dir: str | os.PathLike[str], path: str | Path) -> None:
    rem = remote(output_dir)
    if rem is None:
        Path(path).unlink()
    else:
        rem.fs.delete_file(str(path))


def _listing(rem: Remote, prefix: str, recursive: bool) -> list[pafs.FileInfo]:
    selector = pafs.FileSelector(prefix, recursive=recursive, allow_not_found=True)
    return [i for i in rem.fs.get_file_info(selector) if i.type == pafs.FileType.File]


# --- commits ------------------------------------------------------------------------------


def commit_log(output_dir: str | os.PathLike[str], run_id: str) -> Path:
    return Path(output_dir) / STATE_DIR / f"{run_id}.commits"


def commit_markers(rem: Remote, run_id: str) -> str:
    """The prefix holding a run's commit markers on an object store."""
    return rem.path(STATE_DIR, f"{run_id}.commits")


def read_commits(output_dir: str | os.PathLike[str], run_id: str) -> list[int]:
    """Committed chunk numbers of a run, in commit order.  A torn last line is ignored."""
    rem = remote(output_dir)
    if rem is not None:
        return sorted(int(i.base_name) for i in _listing(rem, commit_markers(rem, run_id), False)
                      if i.base_name.isdigit())
    try:
        text = commit_log(output_dir, run_id).read_text(encoding="ascii")
    except FileNotFoundError:
        return []
    lines = text.split("\n")[:-1]  # only newline-terminated lines were fully written
    return [int(line) for line in lines if line.strip().isdigit()]


def _all_remote_commits(rem: Remote) -> dict[str, set[int]]:
    """Every run's committed chunks, from one listing of ``_state``."""
    commits: dict[str, set[int]] = {}
    for info in _listing(rem, rem.path(STATE_DIR), True):
        parent = info.path.rsplit("/", 2)[-2]
        if parent.endswith(".commits") and info.base_name.isdigit():
            commits.setdefault(parent.removesuffix(".commits"), set()).add(int(info.base_name))
    return commits


def write_marker(rem: Remote, run_id: str, chunk: int) -> None:
    """Commit a chunk on an object store: one empty object, written whole or not at all."""
    rem.fs.open_output_stream(f"{commit_markers(rem, run_id)}/{marker_name(chunk)}").close()


def drop_markers(rem: Remote, run_id: str, chunks: list[int]) -> None:
    """Uncommit chunks, newest first (what remains committed stays a prefix of the run)."""
    for chunk in sorted(chunks, reverse=True):
        rem.fs.delete_file(f"{commit_markers(rem, run_id)}/{marker_name(chunk)}")


def worker_keys(output_dir: str | os.PathLike[str], run_id: str) -> list[str]:
    """The file keys (``<run_id>.<worker>``) of every worker of a shared run that has a
    commit log (or commit markers), sorted."""
    prefix = f"{run_id}."
    rem = remote(output_dir)
    if rem is not None:
        names = list(_all_remote_commits(rem))
    else:
        # A run id is letters, digits, '-' and '_' (RUN_ID_RE): nothing a glob reads.
        names = [p.name.removesuffix(".commits")
                 for p in (Path(output_dir) / STATE_DIR).glob(f"{prefix}*.commits")]
    return sorted(n for n in names if n.startswith(prefix))


# --- small state files (a shared crawl's records) -----------------------------------------


def read_state_file(output_dir: str | os.PathLike[str], name: str) -> str | None:
    """The text of ``_state/<name>``; None when there is none."""
    rem = remote(output_dir)
    try:
        if rem is None:
            return (Path(output_dir) / STATE_DIR / name).read_text(encoding="utf-8")
        with rem.fs.open_input_stream(rem.path(STATE_DIR, name)) as f:
            return bytes(f.read()).decode("utf-8")
    except FileNotFoundError:
        return None


def write_state_file(output_dir: str | os.PathLike[str], name: str, text: str) -> None:
    """Replace ``_state/<name>`` whole (a rename locally; one PUT on an object store)."""
    rem = remote(output_dir)
    if rem is None:
        path = Path(output_dir) / STATE_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
        return
    with rem.fs.open_output_stream(rem.path(STATE_DIR, name)) as f:
        f.write(text.encode("utf-8"))


def list_state_files(output_dir: str | os.PathLike[str], folder: str) -> list[str]:
    """Names of the files in ``_state/<folder>`` (hidden temporary ones left out)."""
    rem = remote(output_dir)
    if rem is not None:
        return sorted(i.base_name for i in _listing(rem, rem.path(STATE_DIR, folder), False))
    path = Path(output_dir) / STATE_DIR / folder
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))


# --- files --------------------------------------------------------------------------------


def _table_files(rem: Remote, table: str) -> Iterator[tuple[str, str]]:
    """(path, file name) of every object directly in a partition of a table, sorted."""
    base = rem.path(table)
    for info in sorted(_listing(rem, base, True), key=lambda i: i.path):
        parts = info.path[len(base) + 1:].split("/")
        if len(parts) == 2 and parts[0].startswith(f"{PARTITION}="):
            yield info.path, parts[1]


def table_dirs(output_dir: str | os.PathLike[str]) -> list[str]:
    """The tables a local OUTPUT_DIR holds (its folders but ``_state`` and hidden ones)."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and not p.name.startswith(("_", ".")))


def run_files(
    output_dir: str | os.PathLike[str], table: str, run_id: str
) -> Iterator[tuple[Path | str, int, bool]]:
    """(path, chunk, is_tmp) of every file of the run under one table.

    Anything else in the table directory (a stray file named like a partition,
    another run's files) is left alone.  Paths are ``Path``s locally, and paths in
    ``filesystem(output_dir)`` (``bucket/prefix/...``) on an object store.
    """
    final = re.compile(rf"^{re.escape(run_id)}-(\d+)\.parquet$", re.ASCII)
    tmp = re.compile(rf"^\.{re.escape(run_id)}-(\d+)\.parquet\.tmp$", re.ASCII)
    rem = remote(output_dir)
    if rem is not None:
        for key, name in _table_files(rem, table):
            if m := final.match(name):
                yield key, int(m.group(1)), False
        return
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
) -> list[tuple[int, Path | str]]:
    """(chunk, path) of the run's committed files of one table, in chunk order (a chunk
    merged by a compaction has no file of its own: see ``committed_parts``)."""
    index = Committed(output_dir)
    return sorted(
        ((chunk, path)
         for path, chunk, is_tmp in run_files(output_dir, table, run_id)
         if not is_tmp and index.file(table, _day_of(path), _name_of(path))),
        key=lambda cp: cp[0],
    )


def compacted_parts(
    output_dir: str | os.PathLike[str], file_key: str, table: str
) -> list[tuple[int, Path | str, list[int]]]:
    """(chunk, compacted file, its row groups) of the run's chunks merged by compactions
    (``crawler.state.compacted``)."""
    found: list[tuple[int, Path | str, list[int]]] = []
    for name in list_state_files(output_dir, compacted.FOLDER):
        day = name.removeprefix(f"{PARTITION}=").removesuffix(".json")
        record = read_compaction(output_dir, day)
        t = record.tables.get(table) if record is not None else None
        if t is None:
            continue
        path = partition_path(output_dir, table, day, t.name)
        found.extend((part.chunk, path, list(range(part.first, part.first + part.count)))
                     for part in t.parts if part.file_key == file_key)
    return found


def committed_parts(
    output_dir: str | os.PathLike[str], file_key: str, table: str
) -> list[tuple[int, Path | str, list[int] | None]]:
    """(chunk, path, row groups) of every committed chunk of the run in one table, in
    chunk order: its own file (row groups None: all of it), or its rows in a compacted
    file."""
    parts: list[tuple[int, Path | str, list[int] | None]] = [
        (chunk, path, None) for chunk, path in committed_files(output_dir, file_key, table)]
    parts.extend(compacted_parts(output_dir, file_key, table))
    return sorted(parts, key=lambda p: p[0])


def _read_part(output_dir: str | os.PathLike[str], path: Path | str,
               row_groups: list[int] | None, columns: list[str]) -> pa.Table:
    pf = open_parquet(output_dir, path)
    present = [c for c in columns if c in pf.schema_arrow.names]
    if row_groups is None:
        return pf.read(columns=present)
    return pf.read_row_groups(row_groups, columns=present)


def read_committed(
    output_dir: str | os.PathLike[str], run_id: str, table: str, schema: pa.Schema
) -> pa.Table:
    """The committed rows of one run in one table, as ``schema`` (a subset of the
    table's columns), in commit order, compacted chunks included.  Files written before
    a column existed give nulls for it.  A damaged file raises ``pyarrow.ArrowInvalid``
    or ``OSError``."""
    columns = schema.names
    parts = []
    for _, path, row_groups in committed_parts(output_dir, run_id, table):
        t = _read_part(output_dir, path, row_groups, columns)
        arrays = [
            t.column(c).cast(schema.field(c).type) if c in t.column_names
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
        for chunk, path, row_groups in committed_parts(output_dir, file_key, table):
            if chunk > after:
                column = _read_part(output_dir, path, row_groups, ["tconst"])
                out.extend(str(t) for t in column.column("tconst").to_pylist())
    return out


_FILE_RE = re.compile(r"^(.+)-(\d+)\.parquet$", re.ASCII)


def chunk_of(name: str) -> tuple[str, int] | None:
    """(file key, chunk) of a data file's name (``<file_key>-<chunk>.parquet``); None
    for any other name."""
    m = _FILE_RE.match(name)
    return (m.group(1), int(m.group(2))) if m else None


def committed_paths(
    output_dir: str | os.PathLike[str], table: str, exclude_run: str | None = None
) -> list[str]:
    """Every committed file of one table, whichever run wrote it (another run may be
    writing right now: only chunks its commit log lists are read), with each compacted
    partition's compacted file in place of the chunks it merged.  On an object store,
    paths in ``filesystem(output_dir)``."""
    rem = remote(output_dir)
    if rem is not None:
        return _committed_remote(rem, output_dir, table, exclude_run)
    table_dir = Path(output_dir) / table
    if not table_dir.is_dir():
        return []
    index = Committed(output_dir)
    paths = []
    for part in sorted(table_dir.glob(f"{PARTITION}=*")):
        if not part.is_dir():
            continue
        # The listing first, then the records (crawler.state.compacted): a compaction
        # committed in between is seen whole, its chunk files left out.
        names = sorted(p.name for p in part.iterdir())
        day = part.name.split("=", 1)[1]
        for name in names:
            m = _FILE_RE.match(name)
            if m is None or m.group(1).split(".", 1)[0] == exclude_run:
                continue
            if index.file(table, day, name):
                paths.append(str(part / name))
        paths.extend(index.unrevealed(table, day, part, names))
    return paths


def _committed_remote(rem: Remote, output_dir: str | os.PathLike[str], table: str,
                      exclude_run: str | None) -> list[str]:
    # Markers first, files second: every file of a chunk was complete before its marker
    # was written, so a chunk whose marker was listed has all its files in the listing.
    # No compaction runs on an object store (only a copy of a compacted local directory
    # holds records): the records are listed once, not looked for in every partition.
    days = {n.removeprefix(f"{PARTITION}=").removesuffix(".json")
            for n in list_state_files(output_dir, compacted.FOLDER)}
    index = Committed(output_dir, _all_remote_commits(rem), days)
    files = list(_table_files(rem, table))
    paths = []
    for path, name in files:
        m = _FILE_RE.match(name)
        if m is None or m.group(1).split(".", 1)[0] == exclude_run:
            continue
        if index.file(table, _day_of(path), name):
            paths.append(path)
    return paths


# --- compacted partitions (crawler.state.compacted) ---------------------------------------


def partition_path(output_dir: str | os.PathLike[str], table: str, day: str,
                   name: str) -> Path | str:
    """Where a file of partition ``day`` of ``table`` is (a path in ``filesystem``)."""
    rem = remote(output_dir)
    if rem is not None:
        return rem.path(table, f"{PARTITION}={day}", name)
    return Path(output_dir) / table / f"{PARTITION}={day}" / name


def _day_of(path: Path | str) -> str:
    return str(path).replace(os.sep, "/").rsplit("/", 2)[-2].split("=", 1)[-1]


def _name_of(path: Path | str) -> str:
    return str(path).replace(os.sep, "/").rsplit("/", 1)[-1]


def read_compaction(output_dir: str | os.PathLike[str], day: str) -> compacted.Record | None:
    """The record of partition ``crawl_date=<day>``'s compaction; None when it was never
    compacted.  ValueError naming the record when it cannot be read."""
    name = compacted.record_name(day)
    text = read_state_file(output_dir, name)
    if text is None:
        return None
    try:
        return compacted.parse(text)
    except ValueError as exc:
        raise ValueError(f"{STATE_DIR}/{name}: {exc}; restore it from a backup") from None


class Committed:
    """Which files are committed now: a chunk's file while its chunk is in its commit log
    and no compaction merged it, and the compacted file a partition's record names.  Each
    commit log and record is read once, when first asked about."""

    def __init__(self, output_dir: str | os.PathLike[str],
                 commits: dict[str, set[int]] | None = None,
                 record_days: set[str] | None = None) -> None:
        self.output_dir = output_dir
        self._commits = commits  # every commit log, when already read (an object store)
        self._logs: dict[str, set[int]] = {}
        self._records: dict[str, compacted.Record | None] = {}
        self._days = record_days  # the days with a record, when already listed

    def commits(self, file_key: str) -> set[int]:
        if self._commits is not None:
            return self._commits.get(file_key, set())
        if file_key not in self._logs:
            self._logs[file_key] = set(read_commits(self.output_dir, file_key))
        return self._logs[file_key]

    def record(self, day: str) -> compacted.Record | None:
        if self._days is not None and day not in self._days:
            return None
        if day not in self._records:
            self._records[day] = read_compaction(self.output_dir, day)
        return self._records[day]

    def file(self, table: str, day: str, name: str) -> bool:
        """The file ``name`` of partition ``day`` of ``table`` is committed."""
        parsed = chunk_of(name)
        if parsed is None:
            return False
        file_key, chunk = parsed
        record = self.record(day)
        if compacted.is_compacted_key(file_key):
            return record is not None and record.names(table, name)
        return chunk in self.commits(file_key) and not (
            record is not None and record.covers(table, file_key, chunk))

    def unrevealed(self, table: str, day: str, part: Path, names: list[str]) -> list[str]:
        """The partition's compacted file when the listing missed it: committed, and
        renamed from its hidden name after the listing, or not yet (its path then)."""
        record = self.record(day)
        t = record.tables.get(table) if record is not None else None
        if t is None or t.name in names:
            return []
        final, hidden = part / t.name, part / compacted.hidden_name(t.name)
        for path in (final, hidden, final):  # the rename may land between two looks
            if path.exists():
                return [str(path)]
        return []


def committed_dataset(output_dir: str | os.PathLike[str], table: str,
                      schema: pa.Schema | None = None) -> Any:
    """A ``pyarrow.dataset.Dataset`` of a table's committed files only, hive-partitioned
    (the ``crawl_date`` column from the path): what a reader of an object store opens,
    since an uncommitted chunk's objects carry final names there."""
    import pyarrow.dataset as ds

    rem = remote(output_dir)
    base = rem.path(table) if rem is not None else str(Path(output_dir) / table)
    return ds.dataset(committed_paths(output_dir, table), schema=schema, format="parquet",
                      filesystem=filesystem(output_dir), partitioning="hive",
                      partition_base_dir=base)
