"""What every chunk store shares: the ``ChunkStore`` protocol, and the Parquet files of the
open chunk (one per table) that both stores write row group by row group.

The store only stores; the exporter decides what goes in a chunk and when it is
committed (as Scrapy's ``FeedExporter`` batches and decides while a
``FeedStorageProtocol`` stores).  Committing is three steps so that the commit point is
one place: ``seal`` makes every file of the chunk whole (locally still under a hidden
name), ``commit`` records the chunk (a commit log line, or a marker object), ``publish``
gives its files their final names (locally; see ``crawler.state.commits``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.masking import shown_url
from crawler.state import commits as commits_module
from crawler.state import dataset
from pipelines.schemas import SCHEMAS

logger = logging.getLogger(__name__)

COMPRESSION = "zstd"


class OutputDirError(RuntimeError):
    """OUTPUT_DIR cannot be used (not writable, or not a directory)."""


def output_error_line(output_dir: str | os.PathLike[str], exc: OSError) -> str:
    """One line naming why OUTPUT_DIR could not be written ("disk full in OUTPUT_DIR ...")."""
    what = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.EIO: "I/O error"}.get(exc.errno or 0, "cannot write")
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"{what} in OUTPUT_DIR {shown_url(output_dir)!r}{where}: {exc.strerror or exc}; "
            "the rows not yet committed were not written")


@dataclass(frozen=True)
class ChunkKey:
    """One chunk of a run: ``<file_key>-<number:05d>.parquet`` in each of its tables
    (``file_key`` is ``Run.file_key``: the run id, ``.<worker>`` added in a shared crawl)."""

    file_key: str
    number: int


class ChunkStore(Protocol):
    """Where a run's chunks are written and committed (see ``crawler.state.dataset``)."""

    @property
    def output_dir(self) -> str | Path:
        """OUTPUT_DIR as readers take it: a Path, or the s3:// URI (a Path would drop
        its '//')."""

    def check_writable(self) -> None:
        """``OutputDirError`` when nothing can be written there."""

    def recover(self, file_key: str) -> int:
        """Delete what an interrupted session of the run left uncommitted; the next chunk."""

    def tidy(self, file_key: str) -> tuple[int, int]:
        """``recover`` without a word: the next chunk, and how many files were deleted."""

    def committed(self, file_key: str) -> list[int]:
        """The run's committed chunk numbers, in commit order."""

    def write(self, chunk: ChunkKey, table: str, day: date, data: pa.Table) -> None:
        """Add one row group to the chunk's file of ``table`` (partition ``day``)."""

    def seal(self, chunk: ChunkKey) -> list[str]:
        """Make every file of the chunk whole (durable, or uploaded); the tables written.
        On an error every file is given up (and the error raised)."""

    def commit(self, chunk: ChunkKey) -> None:
        """The commit point: from now on the chunk is part of the dataset."""

    def publish(self, chunk: ChunkKey) -> None:
        """Give the committed chunk's files their final names (where they were not
        written under them)."""

    def abandon(self, chunk: ChunkKey) -> None:
        """Give up the chunk: its open files, and its files unless it is committed."""


@dataclass
class OpenFile:
    """A table's file of the open chunk: its Parquet writer, where it is written and the
    name it ends under (the same on an object store), and the upload stream under the
    writer (object store only)."""

    chunk: ChunkKey
    writer: pq.ParquetWriter
    path: Path | str
    final: Path | str
    stream: pa.NativeFile | None = None


def abandon_writer(writer: pq.ParquetWriter) -> None:
    """Close a writer whose file is given up; it must not try again when collected."""
    try:
        writer.close()
    except (OSError, pa.ArrowException):
        writer.is_open = False


class ParquetChunkStore(ABC):
    """The open chunk's files, one per table, for both stores; each store says how a file
    is opened, closed and published, and how a commit is recorded."""

    output_dir: str | Path

    def __init__(self) -> None:
        self._files: dict[str, OpenFile] = {}
        self._sealed: list[OpenFile] = []  # the sealed chunk's files, until published

    # --- what each store does its own way -------------------------------------------------

    @abstractmethod
    def check_writable(self) -> None: ...

    @abstractmethod
    def commit(self, chunk: ChunkKey) -> None: ...

    @abstractmethod
    def _open(self, chunk: ChunkKey, table: str, day: date) -> OpenFile: ...

    @abstractmethod
    def _close(self, file: OpenFile) -> None:
        """Finish writing a file (its footer, and its bytes durable or uploaded)."""

    @abstractmethod
    def _publish(self, file: OpenFile) -> None:
        """Give a closed file its final name (where it was not written under it)."""

    @abstractmethod
    def _repair_log(self, file_key: str) -> None:
        """Make the run's commit record safe to extend (where it may be torn)."""

    def _give_up(self, file: OpenFile) -> None:
        abandon_writer(file.writer)

    # --- the same everywhere --------------------------------------------------------------

    def write(self, chunk: ChunkKey, table: str, day: date, data: pa.Table) -> None:
        file = self._files.get(table)
        if file is None:
            file = self._files[table] = self._open(chunk, table, day)
        file.writer.write_table(data, row_group_size=data.num_rows)

    def seal(self, chunk: ChunkKey) -> list[str]:
        files, self._files = self._files, {}
        try:
            for file in files.values():
                self._close(file)
        except BaseException:
            for file in files.values():
                self._give_up(file)
            raise
        self._sealed = list(files.values())
        return list(files)

    def publish(self, chunk: ChunkKey) -> None:
        sealed, self._sealed = self._sealed, []
        for file in sealed:
            self._publish(file)

    def abandon(self, chunk: ChunkKey) -> None:
        files, self._files = self._files, {}
        sealed, self._sealed = self._sealed, []
        for file in files.values():
            self._give_up(file)
        with contextlib.suppress(OSError):
            if chunk.number in self.committed(chunk.file_key):
                return
            for file in sealed:
                with contextlib.suppress(FileNotFoundError):
                    dataset.remove(self.output_dir, file.path)
            self._delete_uncommitted(chunk)

    def committed(self, file_key: str) -> list[int]:
        return dataset.read_commits(self.output_dir, file_key)

    def _delete_uncommitted(self, chunk: ChunkKey) -> None:
        """A reader must not meet rows the commit record does not vouch for."""
        if chunk.number in self.committed(chunk.file_key):
            return
        for table in SCHEMAS:
            for path, number, _ in list(dataset.run_files(self.output_dir, table,
                                                          chunk.file_key)):
                if number == chunk.number:
                    dataset.remove(self.output_dir, path)

    def recover(self, file_key: str) -> int:
        chunk, removed = self.tidy(file_key)
        if removed or chunk:
            logger.info(
                "ParquetExporter: resuming run %s after chunk %s (%d uncommitted files removed)",
                file_key, chunk - 1 if chunk else None, removed,
            )
        return chunk

    def tidy(self, file_key: str) -> tuple[int, int]:
        self._repair_log(file_key)
        commits = set(self.committed(file_key))
        commits_module.publish_committed(self.output_dir, file_key)
        removed = 0
        for table in SCHEMAS:
            for path, chunk, is_tmp in list(dataset.run_files(self.output_dir, table,
                                                              file_key)):
                if is_tmp or chunk not in commits:
                    with contextlib.suppress(FileNotFoundError):
                        dataset.remove(self.output_dir, path)
                    removed += 1
        return (max(commits) + 1 if commits else 0), removed
