"""A chunk store in a local (or shared) directory, as Scrapy's ``FileFeedStorage``.

Each table file of a chunk is written as row groups to a hidden temporary file in its
partition directory (DuckDB, Polars, pyarrow and Spark skip it, and no ``*.parquet``
glob matches it).  Sealing closes and fsyncs every file of the chunk; committing
appends the chunk number to the run's commit log (fsync); publishing then renames each
file to its final name (never over an existing file).  So a final name is always a
complete, committed file: a glob reader never sees a row the commit log does not vouch
for, whenever a kill lands.  A kill after the commit and before the renames leaves the
chunk committed under hidden names; the next session of the run, or the next run in
this OUTPUT_DIR, publishes it (``crawler.state.commits``).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from crawler.state import commits, dataset
from crawler.state.atomic import fsync_file
from pipelines.schemas import SCHEMAS
from pipelines.stores.base import COMPRESSION, ChunkKey, OpenFile, OutputDirError, ParquetChunkStore


class LocalChunkStore(ParquetChunkStore):
    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        super().__init__()
        self.output_dir: Path = Path(output_dir)

    def check_writable(self) -> None:
        state = self.output_dir / dataset.STATE_DIR
        probe = state / f".probe-{os.getpid()}"
        try:
            state.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OutputDirError(
                f"OUTPUT_DIR {str(self.output_dir)!r} is not a writable directory: "
                f"{exc.strerror or exc}"
            ) from exc

    def _open(self, chunk: ChunkKey, table: str, day: date) -> OpenFile:
        part = self.output_dir / table / f"{dataset.PARTITION}={day.isoformat()}"
        part.mkdir(parents=True, exist_ok=True)
        tmp = part / dataset.tmp_name(chunk.file_key, chunk.number)
        final = part / dataset.final_name(chunk.file_key, chunk.number)
        writer = pq.ParquetWriter(tmp, SCHEMAS[table], compression=COMPRESSION)
        return OpenFile(chunk, writer, tmp, final)

    def _close(self, file: OpenFile) -> None:
        file.writer.close()
        fsync_file(file.path)

    def _publish(self, file: OpenFile) -> None:
        commits.publish(Path(file.path), Path(file.final))

    def commit(self, chunk: ChunkKey) -> None:
        commits.append_commit(self.output_dir, chunk.file_key, chunk.number)

    def _repair_log(self, file_key: str) -> None:
        # A torn last line (power loss) is cut off, or the next append would extend it.
        log = dataset.commit_log(self.output_dir, file_key)
        if not log.exists():
            return
        text = log.read_bytes()
        if text and not text.endswith(b"\n"):
            with open(log, "r+b") as f:
                f.truncate(text.rfind(b"\n") + 1)
