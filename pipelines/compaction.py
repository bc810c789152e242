"""``scrapy compact``: each closed partition's committed chunks merged into one file per
table (a local OUTPUT_DIR only).

A year of daily runs leaves thousands of small files; every reader lists and opens them
all.  For each closed partition (``crawler.state.partitions``: a past day, every file
committed, every run with a chunk there finished) that holds more than one committed
file in some table, each table's committed files there are merged, table by table:

1. the compacted file is written under a hidden name,
   ``.compacted@<token>-00000.parquet.compacting`` (no glob matches it), each chunk file's row
   groups copied in order as row groups of their own, in the table's current schema
   (columns a file predates are nulls, as the views read them), then synced;
2. the record ``_state/compacted/crawl_date=D.json`` is written (renamed into place):
   the commit point (``crawler.state.compacted``).  From then on the views, refresh,
   coverage and ``read_committed`` (resume, the reaper) read the compacted file, its
   hidden name until step 3 ends, and none of the files it merged;
3. for each table, the merged files are deleted, then the compacted file is renamed to
   ``compacted@<token>-00000.parquet``.

So a glob reader (``titles/**/*.parquet``) never sees a row twice.  During step 3, for
a few milliseconds per table, it sees part of the partition's rows of that table (the
merged files not yet deleted), then all of them in the compacted file; a reader that
listed the files before step 3 and opens one after fails with "file not found".  A kill
during step 3 leaves the views right (they read the hidden file) and glob readers short
of that partition's rows until the next ``scrapy compact`` finishes the switch
(``roll_forward``); a kill before step 2 leaves a hidden file it deletes.  Two
compactions never run at once in one OUTPUT_DIR (``_state/compact.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.state import compacted, dataset
from crawler.state.atomic import fsync_dir, fsync_file
from crawler.state.partitions import Partition, Runs, partitions, why_open
from pipelines.schemas import SCHEMAS
from pipelines.stores.base import COMPRESSION

LOCK = "compact.lock"  # under OUTPUT_DIR/_state


class CompactionRefused(ValueError):
    """Nothing was done: the OUTPUT_DIR or the arguments cannot be compacted (one line)."""


class CompactionBusy(RuntimeError):
    """Another ``scrapy compact`` holds the OUTPUT_DIR's lock."""


@dataclass
class Outcome:
    compacted: list[tuple[str, int, int]] = field(default_factory=list)  # day, files before, after
    left_open: list[tuple[str, str]] = field(default_factory=list)  # day, why
    finished: list[str] = field(default_factory=list)  # switches finished (a killed compact)

    @property
    def changed(self) -> bool:
        return bool(self.compacted or self.finished)


def compact(output_dir: str | os.PathLike[str], before: date, dry_run: bool = False
            ) -> Outcome:
    """Compact every closed partition of a day before ``before`` (today, UTC, or earlier);
    with ``dry_run``, only say which."""
    root = _check(output_dir, before)
    outcome = Outcome()
    with _locked(root):
        found = partitions(root)
        if not dry_run:
            outcome.finished = roll_forward(root, found)
            found = partitions(root)
        index, runs = dataset.Committed(root), Runs(root)
        for p in found:
            if p.day >= before.isoformat():
                continue
            why = why_open(root, p, index, runs)
            if why is not None:
                outcome.left_open.append((p.day, why))
                continue
            merged = _committed(root, p, index)
            if max((len(names) for names in merged.values()), default=0) <= 1:
                continue  # one file per table already
            before_count = sum(len(names) for names in merged.values())
            if not dry_run:
                compact_partition(root, p, merged, index.record(p.day))
            outcome.compacted.append((p.day, before_count, len(merged)))
    return outcome


def _check(output_dir: str | os.PathLike[str], before: date) -> Path:
    if dataset.is_remote(output_dir):
        raise CompactionRefused("OUTPUT_DIR is an object store: scrapy compact needs a local "
                                "OUTPUT_DIR (an object store has no rename to switch files "
                                "with; see docs/object-store.md)")
    root = Path(output_dir)
    if not root.is_dir():
        raise CompactionRefused(f"OUTPUT_DIR {str(root)!r} is not a directory")
    today = datetime.now(UTC).date()
    if before > today:
        raise CompactionRefused(f"--before {before.isoformat()} is after today "
                                f"({today.isoformat()}, UTC): today's partition is open")
    return root


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    state = root / dataset.STATE_DIR
    state.mkdir(exist_ok=True)
    fd = os.open(state / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CompactionBusy("another scrapy compact is running in this OUTPUT_DIR "
                                 f"(it holds {dataset.STATE_DIR}/{LOCK})") from None
        yield
    finally:
        os.close(fd)


def _committed(root: Path, p: Partition, index: dataset.Committed) -> dict[str, list[str]]:
    """The committed files of each table of the partition this project writes, the
    compacted file of an earlier compaction first."""
    merged = {}
    for table, names in p.tables.items():
        if table not in SCHEMAS:
            continue
        files = sorted((n for n in names if index.file(table, p.day, n)),
                       key=lambda n: (not n.startswith(compacted.KEY_PREFIX), n))
        if files:
            merged[table] = files
    return merged


def compact_partition(root: Path, p: Partition, merged: dict[str, list[str]],
                      previous: compacted.Record | None) -> compacted.Record:
    """Merge, commit and switch one partition (steps 1-3 of the module doc)."""
    key = compacted.KEY_PREFIX + f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    written: list[Path] = []
    try:
        tables = {}
        for table, names in merged.items():
            folder = p.folder(root, table)
            written.append(folder / compacted.hidden_name(dataset.final_name(key, 0)))
            tables[table] = _merge(folder, table, names, key, previous)
            fsync_dir(folder)
        record = compacted.Record(p.day, datetime.now(UTC).isoformat(), tables)
        dataset.write_state_file(root, compacted.record_name(p.day), record.dumps())
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    for table, names in merged.items():
        _switch(p.folder(root, table), names, record.tables[table].name)
    return record


def _conform(t: pa.Table, schema: pa.Schema, where: str) -> pa.Table:
    extra = [c for c in t.column_names if c not in schema.names]
    if extra:  # a column this version does not know: merging would drop it
        raise ValueError(f"{where} has columns the table's schema has not: {extra}")
    return pa.Table.from_arrays(
        [t.column(f.name).cast(f.type) if f.name in t.column_names
         else pa.nulls(t.num_rows, f.type) for f in schema], schema=schema)


def _merge(folder: Path, table: str, names: list[str], key: str,
           previous: compacted.Record | None) -> compacted.TableFile:
    """Write the table's compacted file under its hidden name (step 1); what it holds,
    where."""
    schema = SCHEMAS[table]
    tmp = folder / compacted.hidden_name(dataset.final_name(key, 0))
    parts: list[compacted.Part] = []
    groups_written = rows = 0
    with pq.ParquetWriter(tmp, schema, compression=COMPRESSION) as writer:
        for name in names:
            pf = pq.ParquetFile(folder / name)
            for file_key, chunk, groups in _sources(table, name, pf.num_row_groups, previous):
                first = groups_written
                for i in groups:
                    t = _conform(pf.read_row_group(i), schema, f"{folder.name}/{name}")
                    if t.num_rows:  # one row group each: a chunk's rows stay addressable
                        writer.write_table(t, row_group_size=t.num_rows)
                        groups_written += 1
                        rows += t.num_rows
                parts.append(compacted.Part(file_key, chunk, first, groups_written - first))
    fsync_file(tmp)
    meta = pq.read_metadata(tmp)
    expected = sum(pq.read_metadata(folder / n).num_rows for n in names)
    if (meta.num_rows, meta.num_row_groups) != (expected, groups_written) or rows != expected:
        raise ValueError(f"{folder.name}/{tmp.name}: {meta.num_rows} rows written, "
                         f"{expected} expected")
    return compacted.TableFile(dataset.final_name(key, 0), rows, tuple(parts))


def _sources(table: str, name: str, row_groups: int, previous: compacted.Record | None
             ) -> list[tuple[str, int, list[int]]]:
    """(file key, chunk, row groups) of each chunk a file holds: a chunk file one, an
    earlier compacted file those its record lists."""
    file_key, chunk = dataset.chunk_of(name) or (name, 0)
    if not compacted.is_compacted_key(file_key):
        return [(file_key, chunk, list(range(row_groups)))]
    assert previous is not None and previous.names(table, name)
    return [(p.file_key, p.chunk, list(range(p.first, p.first + p.count)))
            for p in previous.tables[table].parts]


def _switch(folder: Path, merged: list[str], final: str) -> None:
    """Step 3: the merged files go, then the compacted file takes its name."""
    for name in merged:
        (folder / name).unlink(missing_ok=True)
    fsync_dir(folder)
    tmp, target = folder / compacted.hidden_name(final), folder / final
    if tmp.exists() and not target.exists():
        os.replace(tmp, target)  # lost with the power: roll_forward renames it again


def roll_forward(root: Path, found: list[Partition]) -> list[str]:
    """Finish what a killed compaction left: a hidden compacted file its partition's
    record names is switched in (step 3); one no record names is deleted.  The
    partitions whose switch was finished."""
    finished = []
    for p in found:
        record = dataset.read_compaction(root, p.day)
        for table, names in p.tables.items():
            for name in names:
                final = compacted.final_of(name)
                if final is None:
                    continue
                folder = p.folder(root, table)
                if record is None or not record.names(table, final):
                    (folder / name).unlink(missing_ok=True)
                    continue
                t = record.tables[table]
                _switch(folder, [n for n in names if _merged_by(t, n)], final)
                finished.append(p.where(table, final))
    return finished


def _merged_by(t: compacted.TableFile, name: str) -> bool:
    parsed = dataset.chunk_of(name)
    if parsed is None or name == t.name:
        return False
    return compacted.is_compacted_key(parsed[0]) or t.covers(*parsed)
