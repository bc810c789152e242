"""The record of a compacted partition (``scrapy compact``, ``pipelines.compaction``).

Compacting a closed partition ``crawl_date=D`` merges, table by table, the committed
chunks' files there into one file, ``compacted@<token>-00000.parquet`` (written as
``.compacted@<token>-00000.parquet.compacting`` until the switch): the rows of each
chunk file, in order, as row groups of their own.  The record
``_state/compacted/crawl_date=D.json`` is the commit point of the compaction: once it is
written, a reader takes the compacted file of each table it names and none of the chunk
files it lists (still in their runs' commit logs), nor the compacted file of an earlier
compaction of D.  Where each chunk's rows are in the compacted file (its row groups) is
recorded too, so a run's own rows are read back exactly (``read_committed``: resume,
the reaper).

A file key of a compacted file (``compacted@<token>``) is no run id (``@`` is not allowed
in one), so it never meets a run's files or commit log.  Pure data: no I/O here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

FOLDER = "compacted"  # under OUTPUT_DIR/_state
KEY_PREFIX = "compacted@"  # the file key of a compacted file
HIDDEN_SUFFIX = ".compacting"


def record_name(day: str) -> str:
    """The record of partition ``crawl_date=<day>``, under ``_state``."""
    return f"{FOLDER}/crawl_date={day}.json"


def is_compacted_key(file_key: str) -> bool:
    return file_key.startswith(KEY_PREFIX)


def hidden_name(name: str) -> str:
    """The name a compacted file is written under, until the switch.  Hidden (no glob
    reader takes it), and named like no chunk's temporary file
    (``.<file_key>-<n>.parquet.tmp``), which the cleanup after dead sessions deletes."""
    return f".{name}{HIDDEN_SUFFIX}"


def final_of(hidden: str) -> str | None:
    """The compacted file a hidden name stands for; None for any other name."""
    if hidden.startswith(f".{KEY_PREFIX}") and hidden.endswith(HIDDEN_SUFFIX):
        return hidden[1:].removesuffix(HIDDEN_SUFFIX)
    return None


@dataclass(frozen=True)
class Part:
    """A chunk's rows in the compacted file: row groups ``first`` .. ``first + count - 1``."""

    file_key: str
    chunk: int
    first: int
    count: int


@dataclass(frozen=True)
class TableFile:
    """A table's compacted file in the partition, and the chunks it holds, in order."""

    name: str  # <file_key>-00000.parquet
    rows: int
    parts: tuple[Part, ...]

    def covers(self, file_key: str, chunk: int) -> bool:
        return any(p.file_key == file_key and p.chunk == chunk for p in self.parts)


@dataclass(frozen=True)
class Record:
    crawl_date: str
    compacted_at: str
    tables: dict[str, TableFile] = field(default_factory=dict)

    def covers(self, table: str, file_key: str, chunk: int) -> bool:
        """The chunk's file of ``table`` was merged: its rows are in the compacted file."""
        t = self.tables.get(table)
        return t is not None and t.covers(file_key, chunk)

    def names(self, table: str, file_name: str) -> bool:
        """``file_name`` is the table's compacted file now."""
        t = self.tables.get(table)
        return t is not None and t.name == file_name

    def dumps(self) -> str:
        return json.dumps({
            "crawl_date": self.crawl_date, "compacted_at": self.compacted_at,
            "tables": {name: {"name": t.name, "rows": t.rows,
                              "parts": [[p.file_key, p.chunk, p.first, p.count]
                                        for p in t.parts]}
                       for name, t in sorted(self.tables.items())}}) + "\n"


def parse(text: str) -> Record:
    """A record from its text; ValueError when it is not one."""
    try:
        raw = json.loads(text)
        tables = {name: TableFile(str(t["name"]), int(t["rows"]),
                                  tuple(Part(str(k), int(c), int(f), int(n))
                                        for k, c, f, n in t["parts"]))
                  for name, t in raw["tables"].items()}
        return Record(str(raw["crawl_date"]), str(raw["compacted_at"]), tables)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a compaction record ({type(exc).__name__})") from None
