"""IMDb's daily dataset files: their names, the ``imdb_datasets`` arguments, and what a run
reads from ``OUTPUT_DIR`` before it asks (the graph's titles, the last validators).

IMDb publishes them at ``https://datasets.imdbws.com/<file>.tsv.gz`` for personal and
non-commercial use (https://developer.imdb.com/non-commercial-datasets/).  No Scrapy here:
the spider (``crawler.spiders.imdb_datasets``) decides what to fetch from these answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pyarrow as pa

from crawler.masking import shown_url
from crawler.state import dataset

# -a files=<short name>,...: IMDb's file, and the table its rows go to.
FILES: dict[str, tuple[str, str]] = {
    "basics": ("title.basics", "imdb_title_basics"),
    "ratings": ("title.ratings", "imdb_title_ratings"),
    "principals": ("title.principals", "imdb_title_principals"),
    "crew": ("title.crew", "imdb_title_crew"),
    "akas": ("title.akas", "imdb_title_akas"),
    "episode": ("title.episode", "imdb_title_episode"),
    "names": ("name.basics", "imdb_name_basics"),
}
DEFAULT_FILES = "ratings,basics"
TITLES_MODES = ("graph", "all")
RUNS_TABLE = "imdb_dataset_runs"
# -a arguments the spider takes; ``_job`` is the job id Scrapyd passes to every spider.
ACCEPTED_ARGUMENTS = ("files", "titles", "_job")


def parse_files(value: object) -> list[str]:
    """``ratings,basics`` -> the short names, in the order given, each once."""
    names = [n.strip().lower() for n in str(value).split(",") if n.strip()]
    unknown = [n for n in names if n not in FILES]
    if unknown or not names:
        what = f"unknown file(s) {', '.join(unknown)}" if unknown else "no file named"
        raise ValueError(f"files={value!r}: {what}; accepted: {', '.join(FILES)} "
                         "(comma-separated, e.g. files=ratings,basics)")
    return list(dict.fromkeys(names))


def parse_titles(value: object) -> str:
    mode = str(value).strip().lower()
    if mode not in TITLES_MODES:
        raise ValueError(f"titles={value!r} is not accepted; expected titles=graph (the "
                         "crawl's titles only) or titles=all (every title in the files)")
    return mode


def check_argument_names(names: list[str]) -> None:
    unknown = sorted(n for n in names if n not in ACCEPTED_ARGUMENTS)
    if unknown:
        accepted = ", ".join(a for a in ACCEPTED_ARGUMENTS if not a.startswith("_"))
        raise ValueError(f"unknown argument(s) {', '.join(f'-a {n}' for n in unknown)}; "
                         f"accepted: {accepted}")


def file_url(base_url: str, short: str) -> str:
    return f"{base_url.rstrip('/')}/{FILES[short][0]}.tsv.gz"


def http_date(moment: datetime) -> str:
    """An HTTP date (``Wed, 21 Oct 2015 07:28:00 GMT``) for If-Modified-Since."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class DatasetFileItem:
    """One file the run asked for: what came back, for the pipeline to record (and, when a
    new file arrived, parse and commit from ``path``)."""

    file: str  # the short name: ratings, basics, ...
    url: str
    outcome: str  # downloaded | unchanged | failed
    crawled_at: datetime
    http_status: int | None = None
    path: str | None = None  # the downloaded .tsv.gz (outcome downloaded)
    etag: str | None = None
    last_modified: datetime | None = None
    bytes: int | None = None
    detail: str | None = None

    @property
    def snapshot_at(self) -> datetime:
        """Last-Modified, or the download time when the server sent none."""
        return self.last_modified or self.crawled_at

    @property
    def snapshot_date(self) -> date:
        return self.snapshot_at.astimezone(UTC).date()


# --- what OUTPUT_DIR holds ------------------------------------------------------------------


def _column(output_dir: str | os.PathLike[str], table: str, columns: list[str]) -> pa.Table:
    """Some columns of a table's committed files (file by file: pyarrow.dataset would cost
    the run ~40 MB of memory); a column a file lacks is null there."""
    parts = []
    for path in dataset.committed_paths(output_dir, table):
        pf = dataset.open_parquet(output_dir, path)
        present = [c for c in columns if c in pf.schema_arrow.names]
        read = pf.read(columns=present)
        parts.append(pa.table({c: read.column(c) if c in present
                               else pa.nulls(read.num_rows) for c in columns}))
    if not parts:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return pa.concat_tables(parts, promote_options="permissive")


def has_crawl(output_dir: str | os.PathLike[str]) -> bool:
    """A committed ``titles`` file: the graph has nodes."""
    return bool(dataset.committed_paths(output_dir, "titles"))


def graph_tconsts(output_dir: str | os.PathLike[str]) -> pa.Array:
    """Every tconst of the graph: committed ``titles`` and every ``similar_tconst`` of
    ``more_like_this``, unique."""
    import pyarrow.compute as pc

    titles = _column(output_dir, "titles", ["tconst"]).column("tconst")
    similar = _column(output_dir, "more_like_this", ["similar_tconst"]).column("similar_tconst")
    both = pa.chunked_array(titles.chunks + similar.chunks, pa.string())
    return pc.unique(both.combine_chunks()).drop_null()


def credited_nconsts(output_dir: str | os.PathLike[str]) -> pa.Array:
    """Every nconst of the committed ``credits``: the people of the graph's titles."""
    import pyarrow.compute as pc

    column = _column(output_dir, "credits", ["nconst"]).column("nconst")
    return pc.unique(column.combine_chunks()).drop_null()


def last_validators(output_dir: str | os.PathLike[str], file: str,
                    titles: str) -> tuple[str | None, datetime | None]:
    """(ETag, Last-Modified) of the newest snapshot of ``file`` (IMDb's name) committed
    with the same ``-a titles``; (None, None) when there is none.  Kept in the runs table,
    committed with the snapshot: a snapshot that was not committed is asked for again."""
    rows = _column(output_dir, RUNS_TABLE,
                   ["file", "titles", "outcome", "etag", "last_modified", "crawled_at"]
                   ).to_pylist()
    mine = [r for r in rows if r["file"] == file and r["titles"] == titles
            and r["outcome"] == "downloaded"]
    if not mine:
        return None, None
    newest = max(mine, key=lambda r: r["crawled_at"])
    return newest["etag"], newest["last_modified"]


def check_options(spargs: dict[str, str], get: Callable[[str], Any]) -> None:
    """Everything ``scrapy crawl imdb_datasets`` refuses before it starts (ValueError, one
    line): an unknown -a name or file, a bad titles, IMDB_DATASETS_URL or OUTPUT_DIR, and
    titles=graph into an OUTPUT_DIR that holds no crawl."""
    from crawler.arguments import check_numeric_settings, check_output_dir
    from crawler.checks import check_base_url
    from crawler.defaults import DATASETS_URL

    check_argument_names(list(spargs))
    parse_files(spargs.get("files", DEFAULT_FILES))
    titles = parse_titles(spargs.get("titles", "graph"))
    check_base_url(get("IMDB_DATASETS_URL"), name="IMDB_DATASETS_URL", example=DATASETS_URL)
    output_dir = str(get("OUTPUT_DIR") or "output")
    check_output_dir(output_dir)
    check_numeric_settings(get)
    limit = str(get("IMDB_DATASETS_MAX_BYTES")).strip()
    if not limit.isdigit():
        raise ValueError(f"IMDB_DATASETS_MAX_BYTES={limit!r} is out of range; expected a "
                         "whole number of bytes >= 0 (0: no limit)")
    if titles == "graph" and not has_crawl(output_dir):
        raise ValueError(f"titles=graph keeps the crawled graph's titles, but OUTPUT_DIR "
                         f"{shown_url(output_dir)!r} holds no committed crawl; run "
                         "`scrapy crawl more_like_this` into it first, or use -a titles=all "
                         "to keep every title")
