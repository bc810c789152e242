"""``scrapy crawl imdb_datasets``: IMDb's daily files from a local stand-in of their host
(tests/datasets_server.py), written by these tests in IMDb's documented format.

Rows and types exact; a second run answered 304 writes no snapshot; a changed file makes
a new one; titles=graph keeps exactly a real crawl's titles; every bad input ends with its
line, a non-zero exit and nothing of the file committed.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from crawler.state import dataset
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from pipelines.imdb_tsv import SPECS, DatasetFileError, TsvReader
from pipelines.schemas import SCHEMAS
from tests import forkserver
from tests.crawling import ROOT, VIEWS, read_table, run_crawl
from tests.datasets_server import DatasetsServer, tsv_gz

N = "\\N"
STAMP = {"snapshot_date", "snapshot_at", "run_id", "crawled_at"}
MARCH = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 2, 5, 0, tzinfo=UTC)

# Small hand-written facts in IMDb's format: \N, raw quotes (one leading a field), comma
# lists, JSON characters (one with escaped quotes), an adult title, a title with no rating.
FILES: dict[str, list[list[str]]] = {
    "title.ratings": [["tt0050634", "8.3", "60531"], ["tt0000001", "5.7", "2154"],
                      ["tt0200000", "4.1", "12"]],
    "title.basics": [
        ["tt0050634", "movie", "The Cranes Are Flying", "Letyat zhuravli", "0", "1957", N,
         "97", "Drama,Romance,War"],
        ["tt0000001", "short", "Carmencita", "Carmencita", "0", "1894", N, "1",
         "Documentary,Short"],
        ["tt0200000", "movie", 'Say "Cheese"', '"Cheese" Original', "1", "2001", N, "80",
         "Adult"],
        ["tt0300000", "tvSeries", "A Series", "A Series", "0", "1990", "1995", "30", "Comedy"],
        ["tt0400000", "tvEpisode", "Episode #1.1", "Episode #1.1", "0", N, N, N, N],
    ],
    "title.principals": [
        ["tt0050634", "1", "nm0051345", "actress", N, '["Veronika"]'],
        ["tt0050634", "2", "nm0543383", "director", N, N],
        ["tt0300000", "1", "nm0000002", "self", 'host "live"', '["Self","Host"]'],
        ["tt0300000", "2", "nm0000003", "actor", N, '["Jack \\"The\\" Ripper"]'],
    ],
    "title.crew": [["tt0050634", "nm0543383", "nm0543383,nm0691314"],
                   ["tt0000001", "nm0005690", N]],
    "title.akas": [
        ["tt0050634", "1", "Letyat zhuravli", "SUHH", "ru", "original", N, "1"],
        ["tt0050634", "2", "Quand passent les cigognes", "FR", N, "imdbDisplay\x02festival",
         "literal title", "0"],
    ],
    "title.episode": [["tt0400000", "tt0300000", "1", "1"], ["tt0400001", "tt0300000", N, N]],
    "name.basics": [
        ["nm0051345", "Tatyana Samoylova", "1934", "2014", "actress", "tt0050634"],
        ["nm0543383", "Mikhail Kalatozov", "1903", N, "director,writer",
         "tt0050634,tt0055911"],
    ],
}
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "imdb_title_ratings": [
        {"tconst": "tt0050634", "average_rating": 8.3, "num_votes": 60531},
        {"tconst": "tt0000001", "average_rating": 5.7, "num_votes": 2154},
        {"tconst": "tt0200000", "average_rating": 4.1, "num_votes": 12},
    ],
    "imdb_title_basics": [
        {"tconst": "tt0050634", "title_type": "movie", "primary_title": "The Cranes Are Flying",
         "original_title": "Letyat zhuravli", "is_adult": False, "start_year": 1957,
         "end_year": None, "runtime_minutes": 97, "genres": ["Drama", "Romance", "War"]},
        {"tconst": "tt0000001", "title_type": "short", "primary_title": "Carmencita",
         "original_title": "Carmencita", "is_adult": False, "start_year": 1894,
         "end_year": None, "runtime_minutes": 1, "genres": ["Documentary", "Short"]},
        {"tconst": "tt0200000", "title_type": "movie", "primary_title": 'Say "Cheese"',
         "original_title": '"Cheese" Original', "is_adult": True, "start_year": 2001,
         "end_year": None, "runtime_minutes": 80, "genres": ["Adult"]},
        {"tconst": "tt0300000", "title_type": "tvSeries", "primary_title": "A Series",
         "original_title": "A Series", "is_adult": False, "start_year": 1990,
         "end_year": 1995, "runtime_minutes": 30, "genres": ["Comedy"]},
        {"tconst": "tt0400000", "title_type": "tvEpisode", "primary_title": "Episode #1.1",
         "original_title": "Episode #1.1", "is_adult": False, "start_year": None,
         "end_year": None, "runtime_minutes": None, "genres": None},
    ],
    "imdb_title_principals": [
        {"tconst": "tt0050634", "ordering": 1, "nconst": "nm0051345", "category": "actress",
         "job": None, "characters": ["Veronika"]},
        {"tconst": "tt0050634", "ordering": 2, "nconst": "nm0543383", "category": "director",
         "job": None, "characters": None},
        {"tconst": "tt0300000", "ordering": 1, "nconst": "nm0000002", "category": "self",
         "job": 'host "live"', "characters": ["Self", "Host"]},
        {"tconst": "tt0300000", "ordering": 2, "nconst": "nm0000003", "category": "actor",
         "job": None, "characters": ['Jack "The" Ripper']},
    ],
    "imdb_title_crew": [
        {"tconst": "tt0050634", "directors": ["nm0543383"],
         "writers": ["nm0543383", "nm0691314"]},
        {"tconst": "tt0000001", "directors": ["nm0005690"], "writers": None},
    ],
    "imdb_title_akas": [
        {"tconst": "tt0050634", "ordering": 1, "title": "Letyat zhuravli", "region": "SUHH",
         "language": "ru", "types": ["original"], "attributes": None,
         "is_original_title": True},
        {"tconst": "tt0050634", "ordering": 2, "title": "Quand passent les cigognes",
         "region": "FR", "language": None, "types": ["imdbDisplay", "festival"],
         "attributes": ["literal title"], "is_original_title": False},
    ],
    "imdb_title_episode": [
        {"tconst": "tt0400000", "parent_tconst": "tt0300000", "season_number": 1,
         "episode_number": 1},
        {"tconst": "tt0400001", "parent_tconst": "tt0300000", "season_number": None,
         "episode_number": None},
    ],
    "imdb_name_basics": [
        {"nconst": "nm0051345", "primary_name": "Tatyana Samoylova", "birth_year": 1934,
         "death_year": 2014, "primary_profession": ["actress"],
         "known_for_titles": ["tt0050634"]},
        {"nconst": "nm0543383", "primary_name": "Mikhail Kalatozov", "birth_year": 1903,
         "death_year": None, "primary_profession": ["director", "writer"],
         "known_for_titles": ["tt0050634", "tt0055911"]},
    ],
}
TABLES = {"title.ratings": "imdb_title_ratings", "title.basics": "imdb_title_basics",
          "title.principals": "imdb_title_principals", "title.crew": "imdb_title_crew",
          "title.akas": "imdb_title_akas", "title.episode": "imdb_title_episode",
          "name.basics": "imdb_name_basics"}
ALL = "ratings,basics,principals,crew,akas,episode,names"
FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "CRAWL_RETRY_TIMES": "1",
        "CRAWL_BACKOFF_BASE": "0.05", "CRAWL_BACKOFF_MAX": "0.1", "DOWNLOAD_TIMEOUT": "10"}


def body(file: str, rows: list[list[str]] | None = None) -> bytes:
    return tsv_gz([c.source for c in SPECS[file]], FILES[file] if rows is None else rows)


def serve_all(server: DatasetsServer, modified: datetime = MARCH) -> None:
    """Every file served whole, no fault, and the request log emptied."""
    server.log.clear()
    for file in FILES:
        server.put(file, body(file), last_modified=modified)


def run(server: DatasetsServer, out: Path | str, *args: str,
        **settings: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "imdb_datasets"]
    for arg in args:
        cmd += ["-a", arg]
    for k, v in {**FAST, "IMDB_DATASETS_URL": server.base_url, "OUTPUT_DIR": str(out),
                 **settings}.items():
        cmd += ["-s", f"{k}={v}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return forkserver.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def committed(out: Path | str, table: str) -> list[dict[str, Any]]:
    """Rows of the committed files only (what every reader sees), in file order."""
    rows: list[dict[str, Any]] = []
    for path in sorted(dataset.committed_paths(out, table)):
        file = pq.ParquetFile(path)
        assert file.schema_arrow == SCHEMAS[table], table  # explicit, exact types
        rows += file.read().to_pylist()
    return rows


def data(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in STAMP} for r in rows]


def files_under(out: Path, table: str) -> list[Path]:
    return [p for p in (out / table).rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def server() -> Iterator[DatasetsServer]:
    with DatasetsServer() as s:
        yield s


# --- reading a file ---------------------------------------------------------------------


def test_reader_types_every_file_exactly(tmp_path: Path) -> None:
    for file, table in TABLES.items():
        path = tmp_path / f"{file}.tsv.gz"
        path.write_bytes(body(file))
        reader = TsvReader(str(path), file)
        rows = [r for batch in reader.batches() for r in batch.to_pylist()]
        assert rows == EXPECTED[table], file
        assert reader.rows == len(FILES[file])
        assert reader.decompressed_bytes == len(gzip.decompress(body(file)))


def test_reader_small_blocks_give_the_same_rows(tmp_path: Path) -> None:
    """Rows across many blocks (a JSON character list split in Arrow or by json)."""
    rows = [[f"tt{i:07d}", str(i % 9 + 1), f"nm{i:07d}", "actor", N,
             '["A \\"B\\""]' if i % 50 == 0 else f'["C{i}","D"]'] for i in range(3000)]
    path = tmp_path / "p.tsv.gz"
    path.write_bytes(body("title.principals", rows))
    got = [r for b in TsvReader(str(path), "title.principals", block_size=4096).batches()
           for r in b.to_pylist()]
    assert len(got) == 3000
    assert got[50]["characters"] == ['A "B"']
    assert got[51]["characters"] == ["C51", "D"]
    assert [r["tconst"] for r in got] == [r[0] for r in rows]


@pytest.mark.parametrize(("content", "said"), [
    (b"tconst\taverageRating\tnumVotes\n", "not a valid gzip file"),
    (tsv_gz(["tconst", "averageRating", "numVotes"], [["tt0000001", "high", "3"]]),
     "a value does not fit its column: In CSV column #1: Row #1: CSV conversion error to "
     "double: invalid value 'high'"),
    (tsv_gz(["tconst", "averageRating", "numVotes"], [[N, "5.0", "3"]]),
     "a row has no tconst"),
], ids=["not gzip", "not a number", "no key"])
def test_reader_refuses_bad_content(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "r.tsv.gz"
    path.write_bytes(content)
    with pytest.raises(DatasetFileError) as raised:
        list(TsvReader(str(path), "title.ratings").batches())
    assert said in str(raised.value)


# --- end to end --------------------------------------------------------------------------


def test_every_file_then_304_then_a_changed_file(server: DatasetsServer, tmp_path: Path) -> None:
    serve_all(server)
    out = tmp_path / "out"
    first = run(server, out, f"files={ALL}", "titles=all")
    assert first.returncode == 0, first.stderr[-3000:]
    for table, expected in EXPECTED.items():
        rows = committed(out, table)
        assert data(rows) == expected, table
        assert {r["snapshot_date"] for r in rows} == {date(2026, 3, 1)}
        assert {r["snapshot_at"] for r in rows} == {MARCH}
    runs = committed(out, "imdb_dataset_runs")
    assert sorted(r["file"] for r in runs) == sorted(FILES)
    assert {r["outcome"] for r in runs} == {"downloaded"}
    ratings_run = next(r for r in runs if r["file"] == "title.ratings")
    assert (ratings_run["rows"], ratings_run["rows_read"]) == (3, 3)
    assert ratings_run["last_modified"] == MARCH and ratings_run["etag"]
    assert (out / "dataset.duckdb").is_file()  # the views are rebuilt without any crawl
    user_agent = server.requests("title.ratings")[-1]["User-Agent"]
    assert user_agent.startswith("imdb-more-like-this/")
    before = {t: sorted(map(str, files_under(out, t))) for t in EXPECTED}

    second = run(server, out, f"files={ALL}", "titles=all")
    assert second.returncode == 0, second.stderr[-3000:]
    asked = server.requests("title.ratings")[-1]
    assert asked["If-None-Match"] == ratings_run["etag"]
    assert asked["If-Modified-Since"] == "Sun, 01 Mar 2026 06:30:00 GMT"
    assert "title.ratings: unchanged since 2026-03-01" in second.stderr
    assert {t: sorted(map(str, files_under(out, t))) for t in EXPECTED} == before
    runs = committed(out, "imdb_dataset_runs")
    assert sorted(r["outcome"] for r in runs) == ["downloaded"] * 7 + ["unchanged"] * 7
    assert not list((out / "_state" / "downloads").iterdir())

    changed = [["tt0050634", "8.4", "60600"], *FILES["title.ratings"][1:]]
    server.put("title.ratings", body("title.ratings", changed), last_modified=APRIL)
    third = run(server, out, "files=ratings,basics", "titles=all")
    assert third.returncode == 0, third.stderr[-3000:]
    ratings = committed(out, "imdb_title_ratings")
    cranes = [(r["snapshot_date"], r["average_rating"], r["num_votes"]) for r in ratings
              if r["tconst"] == "tt0050634"]
    assert sorted(cranes) == [(date(2026, 3, 1), 8.3, 60531), (date(2026, 4, 2), 8.4, 60600)]
    assert data(committed(out, "imdb_title_basics")) == EXPECTED["imdb_title_basics"]


def test_no_validators_snapshot_is_the_download_day(server: DatasetsServer,
                                                    tmp_path: Path) -> None:
    serve_all(server)
    server.put("title.ratings", body("title.ratings"), validators=False)
    proc = run(server, tmp_path / "out", "files=ratings", "titles=all")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_row,) = committed(tmp_path / "out", "imdb_dataset_runs")
    rows = committed(tmp_path / "out", "imdb_title_ratings")
    assert {r["snapshot_date"] for r in rows} == {run_row["crawled_at"].date()}
    assert run_row["etag"] is None and run_row["last_modified"] is None
    assert "If-None-Match" not in server.requests("title.ratings")[-1]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real crawl of a small synthetic graph: one title page and its links."""
    out = tmp_path_factory.mktemp("graph") / "out"
    with MirrorServer(records=synthetic_graph(12, out_degree=4, seed=2)) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=tconst_of(1), depth=0, settings=VIEWS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_titles_graph_keeps_exactly_the_crawled_titles(server: DatasetsServer,
                                                       crawl: Path) -> None:
    serve_all(server)
    titles = {r["tconst"] for r in read_table(crawl, "titles")}
    similar = {r["similar_tconst"] for r in read_table(crawl, "more_like_this")}
    people = {r["nconst"] for r in read_table(crawl, "credits")} - {None}
    graph = titles | similar
    assert titles == {tconst_of(1)} and len(similar) == 4 and people
    candidates = [tconst_of(i) for i in range(1, 13)] + ["tt8000007", "tt0050634"]
    server.put("title.ratings", body("title.ratings",
                                     [[t, "7.1", str(i)] for i, t in enumerate(candidates)]))
    server.put("title.episode", body("title.episode", [
        ["tt0400000", tconst_of(1), "1", "1"], ["tt0400001", "tt0300000", "1", "2"]]))
    server.put("name.basics", body("name.basics", [
        [p, "Someone", N, N, "actor", N] for p in [*sorted(people), "nm0000001"]]))
    proc = run(server, crawl, "files=ratings,episode,names")
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = {r["tconst"] for r in committed(crawl, "imdb_title_ratings")}
    assert kept == graph & set(candidates) == graph  # the crawled title and its 4 links
    assert [r["tconst"] for r in committed(crawl, "imdb_title_episode")] == ["tt0400000"]
    assert {r["nconst"] for r in committed(crawl, "imdb_name_basics")} == people
    (ratings_run,) = [r for r in committed(crawl, "imdb_dataset_runs")
                      if r["file"] == "title.ratings"]
    assert (ratings_run["titles"], ratings_run["rows"], ratings_run["rows_read"]) == (
        "graph", 5, len(candidates))


# --- refusals and faults --------------------------------------------------------------------


def test_titles_graph_without_a_crawl_is_refused(server: DatasetsServer,
                                                 tmp_path: Path) -> None:
    serve_all(server)
    proc = run(server, tmp_path / "empty", "files=ratings")
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("scrapy crawl imdb_datasets: error: titles=graph")
    assert "titles=all" in line
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["files=ratings,trivia", "titles=all"], "unknown file(s) trivia; accepted: basics, "
     "ratings, principals, crew, akas, episode, names"),
    (["titles=some"], "titles='some' is not accepted"),
    (["files=ratings", "titles=all", "seed=tt0050634"], "unknown argument(s) -a seed"),
])
def test_bad_arguments_exit_2(server: DatasetsServer, tmp_path: Path, args: list[str],
                              said: str) -> None:
    serve_all(server)
    proc = run(server, tmp_path / "out", *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert said in line
    assert not (tmp_path / "out").exists()


def test_each_bad_file_its_line_nothing_committed(server: DatasetsServer,
                                                   tmp_path: Path) -> None:
    """Seven files, seven faults, one run: each named in one line, none committed."""
    serve_all(server)
    good = body("title.ratings")
    server.put("title.ratings", good[: len(good) - 12])  # the gzip ends early
    server.put("title.basics", tsv_gz(["tt0000001", "short"], [["tt0000002", "movie"]]))
    server.put("title.principals", tsv_gz(
        ["tconst", "ordering", "nconst", "category", "job", "characters", "extra"], []))
    server.put("title.crew", tsv_gz(["tconst", "directors", "writers"],
                                    [["tt0000001", N, N], ["tt0000002", N, N, N]]))
    server.fault("title.akas", status=404)
    server.fault("title.episode", status=503)
    server.put("name.basics", body("name.basics", [["nm0000001", "X" * 200, N, N, N, N]]))
    out = tmp_path / "out"
    proc = run(server, out, f"files={ALL}", "titles=all", IMDB_DATASETS_MAX_BYTES="150")
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines()
             if line.startswith("scrapy crawl imdb_datasets: error: ")]
    said = {line.split(": ")[2]: line for line in lines}
    assert sorted(said) == sorted(FILES)
    assert "truncated: the gzip stream ends" in said["title.ratings"]
    assert "has no header row" in said["title.basics"]
    assert "columns changed" in said["title.principals"] and "new extra" in said[
        "title.principals"]
    assert "wrong number of fields" in said["title.crew"] and "got 4" in said["title.crew"]
    assert f"HTTP 404 for {server.base_url}/title.akas.tsv.gz" in said["title.akas"]
    assert "HTTP 503 after 2 attempts" in said["title.episode"]
    assert "larger than IMDB_DATASETS_MAX_BYTES=150" in said["name.basics"]
    assert all(line.endswith("nothing committed") for line in lines)
    for table in TABLES.values():
        assert files_under(out, table) == [], table  # not even a hidden temporary file
    runs = committed(out, "imdb_dataset_runs")
    assert sorted(r["file"] for r in runs if r["outcome"] == "failed") == sorted(FILES)
    assert not list((out / "_state" / "downloads").iterdir())


def test_a_cut_download_and_robots_fail_alone(server: DatasetsServer, tmp_path: Path) -> None:
    serve_all(server)
    server.fault("title.basics", cut=True)
    server.robots = "User-agent: *\nDisallow: /title.akas\n"
    out = tmp_path / "out"
    try:
        proc = run(server, out, "files=ratings,basics,akas", "titles=all")
    finally:
        server.robots = "User-agent: *\nAllow: /\n"
    assert proc.returncode == 1
    assert "error: title.basics: connection_lost" in proc.stderr
    assert "error: title.akas: robots_disallowed" in proc.stderr
    assert server.requests("title.akas") == []  # never asked
    assert files_under(out, "imdb_title_basics") == files_under(out, "imdb_title_akas") == []
    assert data(committed(out, "imdb_title_ratings")) == EXPECTED["imdb_title_ratings"]
    # Only a committed snapshot is remembered: the next run asks for the whole file.
    server.fault("title.basics")
    again = run(server, out, "files=basics", "titles=all")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "If-None-Match" not in server.requests("title.basics")[-1]
    assert data(committed(out, "imdb_title_basics")) == EXPECTED["imdb_title_basics"]


def test_object_store_output(server: DatasetsServer, s3_server: Any, s3_bucket: str) -> None:
    serve_all(server)
    out = s3_server.uri(s3_bucket, "data")
    first = run(server, out, "files=ratings", "titles=all")
    assert first.returncode == 0, first.stderr[-3000:]
    table = dataset.committed_dataset(out, "imdb_title_ratings").to_table()
    assert data(table.drop_columns(["crawl_date"]).to_pylist()) == EXPECTED[
        "imdb_title_ratings"]
    second = run(server, out, "files=ratings", "titles=all")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "title.ratings: unchanged since 2026-03-01" in second.stderr
    assert len(dataset.committed_paths(out, "imdb_title_ratings")) == 1


# --- one timeline: the daily files in the views ----------------------------------------------


def test_daily_snapshots_are_observations_in_the_views(server: DatasetsServer, crawl: Path,
                                                       tmp_path: Path) -> None:
    import shutil

    import duckdb

    out = tmp_path / "out"
    shutil.copytree(crawl, out)
    read = tconst_of(1)
    similar = sorted({r["similar_tconst"] for r in read_table(out, "more_like_this")})
    page = {r["tconst"]: r for r in read_table(out, "ratings")}[read]
    graph = [read, *similar]
    for modified, rating in ((MARCH, "6.0"), (APRIL, "6.5")):
        serve_all(server, modified)
        server.put("title.ratings", body("title.ratings", [[t, rating, "100"] for t in graph]),
                   last_modified=modified)
        server.put("title.basics", body("title.basics", [
            [t, "movie", f"Title {t} {rating}", f"Title {t}", "0", "2001", N, "90", "Drama"]
            for t in graph]), last_modified=modified)
        proc = run(server, out, "files=ratings,basics")
        assert proc.returncode == 0, proc.stderr[-3000:]
    con = duckdb.connect(str(out / "dataset.duckdb"), read_only=True)
    history = con.execute("select source, observed_at, average_rating from ratings_history "
                          "where tconst = ? order by observed_at", [read]).fetchall()
    assert [(s, r) for s, _, r in history] == [
        ("imdb_datasets", 6.0), ("imdb_datasets", 6.5), ("live", page["average_rating"])]
    assert [o for _, o, _ in history[:2]] == [MARCH, APRIL]
    # The newest observation wins: the page read today for the crawled title, April's
    # file for its links, whose pages were never read.
    latest = dict(con.execute("select tconst, source from ratings_latest").fetchall())
    assert latest == {read: "live", **{t: "imdb_datasets" for t in similar}}
    assert con.execute("select min(average_rating), max(average_rating) from ratings_latest "
                       "where source = 'imdb_datasets'").fetchall() == [(6.5, 6.5)]
    basics = con.execute("select tconst, primary_title from title_basics_latest "
                         "order by tconst").fetchall()
    assert basics == [(t, f"Title {t} 6.5") for t in sorted(graph)]
    con.close()
    # The report's ratings chart shows the daily points beside the page's.
    from analytics.report_data import rating_series
    from analytics.views import connect_current

    series = rating_series(connect_current(out), [read])[read]
    assert [r for _, r in series] == [6.0, 6.5, page["average_rating"]]
    assert [at for at, _ in series[:2]] == [MARCH, APRIL]
