"""A chunk store on an object store (``OUTPUT_DIR=s3://bucket/prefix``), as Scrapy's
``S3FeedStorage``, through pyarrow's filesystem layer.

There is no rename and no append: each table file of a chunk is streamed straight to its
final name (the upload completes, atomically, when the file is closed at sealing), and
the commit is one marker object written after every file of the chunk is closed.
Recovery is the same as locally: the run's files without a marker are deleted.  Why
this is safe for readers that go through the markers (the views, ``scrapy report``,
``crawler.state.dataset.committed_dataset``): ``crawler.state.dataset``.  A glob over the
bucket is not such a reader: it may meet a chunk's objects before their marker, or
those of a chunk never committed (docs/object-store.md).
"""

from __future__ import annotations

import contextlib
import os
from datetime import date

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from crawler.masking import shown_url
from crawler.state import dataset
from pipelines.schemas import SCHEMAS
from pipelines.stores.base import COMPRESSION, ChunkKey, OpenFile, OutputDirError, ParquetChunkStore


class ObjectChunkStore(ParquetChunkStore):
    def __init__(self, output_dir: str | os.PathLike[str]) -> None:
        super().__init__()
        self.output_dir: str = os.fspath(output_dir)
        rem = dataset.remote(self.output_dir)  # pyarrow.ArrowInvalid for a malformed URI
        if rem is None:
            raise ValueError(f"{shown_url(self.output_dir)!r} is not an object store URI")
        self.remote: dataset.Remote = rem

    def check_writable(self) -> None:
        rem = self.remote
        probe = rem.path(dataset.STATE_DIR, f".probe-{os.getpid()}")
        try:
            rem.fs.open_output_stream(probe).close()
            rem.fs.delete_file(probe)
        except OSError as exc:
            raise OutputDirError(f"OUTPUT_DIR {shown_url(rem.uri)!r} cannot be written: "
                                 f"{' '.join(str(exc).split())}") from exc

    def _open(self, chunk: ChunkKey, table: str, day: date) -> OpenFile:
        """The object becomes visible only when the stream is closed, whole."""
        rem = self.remote
        key = rem.path(table, f"{dataset.PARTITION}={day.isoformat()}",
                       dataset.final_name(chunk.file_key, chunk.number))
        if rem.fs.get_file_info(key).type != pafs.FileType.NotFound:
            raise FileExistsError(f"{shown_url(rem.uri)}: {key} exists; chunk "
                                  f"{chunk.number} not written")  # never overwrite
        stream = rem.fs.open_output_stream(key)
        writer = pq.ParquetWriter(stream, SCHEMAS[table], compression=COMPRESSION)
        return OpenFile(chunk, writer, key, key, stream)

    def _close(self, file: OpenFile) -> None:
        file.writer.close()
        assert file.stream is not None
        file.stream.close()  # completes the upload: the object is now whole

    def _publish(self, file: OpenFile) -> None:
        pass  # streamed to its final name: closing it published it

    def _repair_log(self, file_key: str) -> None:
        pass  # markers are whole objects: nothing to cut

    def _give_up(self, file: OpenFile) -> None:
        """Closing may still complete an upload: the object has no marker, so readers
        ignore it and it is deleted as uncommitted."""
        super()._give_up(file)
        if file.stream is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                file.stream.close()

    def commit(self, chunk: ChunkKey) -> None:
        dataset.write_marker(self.remote, chunk.file_key, chunk.number)
