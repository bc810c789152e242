"""Reading one of IMDb's daily ``.tsv.gz`` files in bounded memory, typed.

The format (https://developer.imdb.com/non-commercial-datasets/): gzipped UTF-8, tab
separated, a header row, ``\\N`` for null, no quoting at all (titles hold raw ``"``).
pyarrow's streaming CSV reader parses it a block at a time, so memory holds a few
blocks whatever the file's size.  Values are typed as the table's schema says: years
and runtimes integers, ``0``/``1`` booleans, comma-separated fields (genres,
professions, nconst lists) ``list<string>``, ``characters`` parsed from its JSON text,
akas' ``types``/``attributes`` split on the ``\\x02`` IMDb puts between values.

Anything unexpected ends the file with a ``DatasetFileError`` of one line: a truncated
or broken gzip, a missing header, a changed column set, a row with the wrong number of
fields, a value that does not fit its column, more decompressed bytes than allowed.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

NULL = "\\N"
# Bytes of text parsed at a time (~5k rows).  pyarrow's streaming reader reads blocks
# ahead on its I/O thread, so memory grows with this: over 3M principals rows, 4 MiB
# blocks held ~100 MB more than 256 KiB ones, for no gain in speed.
BLOCK_SIZE = 256 << 10
HEADER_LIMIT = 64 << 10  # a header row longer than this is no header


class DatasetFileError(ValueError):
    """The file cannot be read as the dataset it should be; the text is one line."""


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Column:
    source: str  # IMDb's column name, in the header
    name: str  # ours
    kind: str  # string, int32, int64, float64, bool, list (comma), list_x02, json_list


def _c(source: str, name: str, kind: str = "string") -> Column:
    return Column(source, name, kind)


# IMDb's file -> its columns, in file order.
SPECS: dict[str, tuple[Column, ...]] = {
    "title.ratings": (_c("tconst", "tconst"), _c("averageRating", "average_rating", "float64"),
                      _c("numVotes", "num_votes", "int64")),
    "title.basics": (
        _c("tconst", "tconst"), _c("titleType", "title_type"),
        _c("primaryTitle", "primary_title"), _c("originalTitle", "original_title"),
        _c("isAdult", "is_adult", "bool"), _c("startYear", "start_year", "int32"),
        _c("endYear", "end_year", "int32"), _c("runtimeMinutes", "runtime_minutes", "int32"),
        _c("genres", "genres", "list")),
    "title.principals": (
        _c("tconst", "tconst"), _c("ordering", "ordering", "int32"), _c("nconst", "nconst"),
        _c("category", "category"), _c("job", "job"),
        _c("characters", "characters", "json_list")),
    "title.crew": (_c("tconst", "tconst"), _c("directors", "directors", "list"),
                   _c("writers", "writers", "list")),
    "title.akas": (
        _c("titleId", "tconst"), _c("ordering", "ordering", "int32"), _c("title", "title"),
        _c("region", "region"), _c("language", "language"), _c("types", "types", "list_x02"),
        _c("attributes", "attributes", "list_x02"),
        _c("isOriginalTitle", "is_original_title", "bool")),
    "title.episode": (
        _c("tconst", "tconst"), _c("parentTconst", "parent_tconst"),
        _c("seasonNumber", "season_number", "int32"),
        _c("episodeNumber", "episode_number", "int32")),
    "name.basics": (
        _c("nconst", "nconst"), _c("primaryName", "primary_name"),
        _c("birthYear", "birth_year", "int32"), _c("deathYear", "death_year", "int32"),
        _c("primaryProfession", "primary_profession", "list"),
        _c("knownForTitles", "known_for_titles", "list")),
}
_READ_TYPES = {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(),
               "bool": pa.bool_()}
_SEPARATORS = {"list": ",", "list_x02": "\x02"}
# A JSON array of strings without escapes: split in Arrow; anything else through json.
_SIMPLE_JSON_LIST = r'^\["[^"\\]*"(,"[^"\\]*")*\]$'


class _Limited(io.RawIOBase):
    """The decompressed stream, counted; past ``limit`` bytes, reading raises."""

    def __init__(self, stream: gzip.GzipFile, limit: int, already: int) -> None:
        self.stream = stream
        self.limit = limit
        self.count = already

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.count += len(data)
        if self.limit and self.count > self.limit:
            raise _TooLarge
        return data


def one_line(text: str, limit: int = 300) -> str:
    """Arrow's messages quote the row: tabs shown as \\t, all on one line, cut short."""
    line = " ".join(text.replace("\t", "\\t").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class TsvReader:
    """``for batch in TsvReader(path, 'title.ratings', max_bytes).batches()``: record
    batches with our column names and types.  ``rows`` and ``decompressed_bytes`` count
    what was read so far."""

    def __init__(self, path: str, file: str, max_bytes: int = 0,
                 block_size: int = BLOCK_SIZE) -> None:
        self.path = path
        self.file = file
        self.columns = SPECS[file]
        self.max_bytes = max_bytes
        self.block_size = block_size
        self.rows = 0
        self.decompressed_bytes = 0
        self._limited: _Limited | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            with gzip.open(self.path, "rb") as stream:
                yield from self._read(stream)
        except _TooLarge:
            raise DatasetFileError(
                f"larger than IMDB_DATASETS_MAX_BYTES={self.max_bytes} decompressed bytes; "
                "refused (raise the setting to accept it)") from None
        except EOFError:
            raise DatasetFileError("truncated: the gzip stream ends before its end marker "
                                   "(the download was cut short?)") from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise DatasetFileError(f"not a valid gzip file ({one_line(str(exc))})") from None
        except pa.ArrowInvalid as exc:
            raise DatasetFileError(_arrow_problem(str(exc))) from None
        finally:
            if self._limited is not None:
                self.decompressed_bytes = self._limited.count

    def _read(self, stream: gzip.GzipFile) -> Iterator[pa.RecordBatch]:
        header = stream.readline(HEADER_LIMIT)
        self._check_header(header)
        self._limited = _Limited(stream, self.max_bytes, len(header))
        if self.max_bytes and len(header) > self.max_bytes:
            raise _TooLarge
        reader = self._open(self._limited)
        if reader is None:
            return
        for batch in reader:
            self.rows += batch.num_rows
            yield self._typed(batch)

    def _check_header(self, line: bytes) -> None:
        expected = [c.source for c in self.columns]
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        got = text.split("\t")
        if got == expected:
            return
        if not text or not set(got) & set(expected):
            what = f"its first line is {one_line(text, 120)!r}" if text else "it is empty"
            raise DatasetFileError(f"has no header row ({what}); expected "
                                   f"{chr(9).join(expected)!r}")
        missing = [c for c in expected if c not in got]
        extra = [c for c in got if c not in expected]
        raise DatasetFileError(
            f"its columns changed: expected {', '.join(expected)}; got {', '.join(got)}"
            + (f" (missing {', '.join(missing)})" if missing else "")
            + (f" (new {', '.join(extra)})" if extra else ""))

    def _open(self, source: _Limited) -> pa_csv.CSVStreamingReader | None:
        types = {c.source: _READ_TYPES.get(c.kind, pa.string()) for c in self.columns}
        try:
            return pa_csv.open_csv(
                source,
                read_options=pa_csv.ReadOptions(
                    column_names=[c.source for c in self.columns],
                    block_size=self.block_size, use_threads=False),
                parse_options=pa_csv.ParseOptions(
                    delimiter="\t", quote_char=False, escape_char=False,
                    double_quote=False, newlines_in_values=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types, null_values=[NULL], strings_can_be_null=True,
                    true_values=["1"], false_values=["0"]),
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):  # a header and no rows
                return None
            raise

    def _typed(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = []
        for i, col in enumerate(self.columns):
            array = batch.column(i)
            if col.kind in _SEPARATORS:
                array = pc.split_pattern(array, _SEPARATORS[col.kind])
            elif col.kind == "json_list":
                array = json_lists(array, col.source)
            arrays.append(array)
        key = arrays[0]
        if key.null_count:
            raise DatasetFileError(f"a row has no {self.columns[0].source} (\\N)")
        return pa.RecordBatch.from_arrays(arrays, names=[c.name for c in self.columns])


def _arrow_problem(text: str) -> str:
    if "Expected" in text and "columns, got" in text:
        return f"a row has the wrong number of fields: {one_line(text)}"
    if "conversion error" in text.lower() or "invalid value" in text.lower():
        return f"a value does not fit its column: {one_line(text)}"
    return one_line(text)


def json_lists(array: pa.Array, source: str) -> pa.Array:
    """JSON arrays of strings as text (``["Self","Host"]``) -> ``list<string>``."""
    simple = pc.match_substring_regex(array, _SIMPLE_JSON_LIST)
    if pc.all(pc.or_kleene(simple, pc.is_null(array))).as_py() is not False:
        inner = pc.utf8_slice_codeunits(array, 2, -2)
        return pc.split_pattern(inner, '","')
    values: list[list[str] | None] = []
    for text in array.to_pylist():
        if text is None:
            values.append(None)
            continue
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(v, str) for v in parsed):
            raise DatasetFileError(f"{source} is not a JSON array of strings: "
                                   f"{one_line(text, 120)!r}")
        values.append(parsed)
    return pa.array(values, pa.list_(pa.string()))
