"""Chunk stores: where the exporter's chunks are written and committed.

``ChunkStore`` is the protocol (``base``); ``LocalChunkStore`` writes a directory,
``ObjectChunkStore`` an ``s3://bucket/prefix``.  ``open_store`` picks one by the
OUTPUT_DIR's URI scheme, as Scrapy's ``FEED_STORAGES`` does for feeds.  Readers of what
was committed: ``read_commits`` and ``read_committed`` (columns by name, typed as the
table's schema).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pyarrow as pa

from crawler.state import dataset
from pipelines.schemas import SCHEMAS
from pipelines.stores.base import ChunkKey, ChunkStore, OutputDirError, output_error_line
from pipelines.stores.local import LocalChunkStore
from pipelines.stores.object_store import ObjectChunkStore

__all__ = ["STORES", "ChunkKey", "ChunkStore", "LocalChunkStore", "ObjectChunkStore",
           "OutputDirError", "open_store", "output_error_line", "read_commits",
           "read_committed"]

# By URI scheme (crawler.state.dataset.OBJECT_STORE_SCHEMES); anything else is a path.
STORES: dict[str, Callable[[str], ChunkStore]] = {"s3": ObjectChunkStore}


def open_store(output_dir: str | os.PathLike[str]) -> ChunkStore:
    """The store of an OUTPUT_DIR (``pyarrow.ArrowInvalid`` for a malformed s3:// URI)."""
    uri = os.fspath(output_dir)
    scheme, sep, _ = uri.partition("://")
    store = STORES.get(scheme) if sep else None
    return store(uri) if store is not None else LocalChunkStore(uri)


read_commits = dataset.read_commits


def read_committed(
    output_dir: str | os.PathLike[str], run_id: str, table: str, columns: list[str]
) -> pa.Table:
    """The committed rows of one run in one table, only ``columns``, typed as the table's
    schema, in commit order.  No files: an empty table."""
    schema = SCHEMAS[table]
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise KeyError(f"{table} has no column(s) {unknown}")
    wanted = pa.schema([schema.field(c) for c in columns])
    return dataset.read_committed(output_dir, run_id, table, wanted)
