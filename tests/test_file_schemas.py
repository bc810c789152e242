"""The views read each table's files in groups of one schema (``analytics.file_schemas``)
and give the rows ``read_parquet(..., union_by_name = true)`` over every file gave, with
files written before some columns existed among them; a rebuild reads only the footers
of files it does not know."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from analytics import file_schemas, views
from bench.synthetic import Shape, write
from pipelines.schemas import SCHEMAS

# Columns the oldest files of each table lack (as if written before they were added).
OLD_LACKS = {"titles": ["observed_at", "source", "plot"], "ratings": ["observed_at"],
             "more_like_this": ["source", "similar_primary_title"],
             "crawl_runs": ["source", "as_of"]}


def union_by_name_sql(files: dict[str, list[str]]) -> str:
    """views.sql with the sources as they were before the groups: one union_by_name
    read_parquet over every file of a table."""
    def source(table: str, paths: list[str]) -> str:
        empty = views.source(table, [])
        if not paths:
            return empty
        listed = ", ".join(f"'{p}'" for p in paths)
        return (f"(SELECT * FROM read_parquet([{listed}], union_by_name = true, "
                f"hive_partitioning = false) UNION ALL BY NAME {empty[1:-1]})")
    return string.Template(views.sql_template()).substitute(
        {t: source(t, p) for t, p in files.items()})


def rows(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    cur = con.execute(f"SELECT * FROM {view}")
    names = [d[0] for d in cur.description]
    return sorted(repr(sorted(zip(names, r, strict=True))) for r in cur.fetchall())


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    run_ids = write(out, Shape(titles=40, runs=4, edges=3, credits=2, refetch=0.5, fail=0.05,
                               rerank=0.2, chunk_titles=15))
    for table, lacks in OLD_LACKS.items():  # the first run's files: an older schema
        for path in (out / table).glob(f"*/{run_ids[0]}-*.parquet"):
            t = pq.read_table(path)
            pq.write_table(t.drop_columns(lacks), path)
    return out


def test_views_give_the_rows_union_by_name_gave(out: Path) -> None:
    files = views.committed_files(out)
    assert all(len(file_schemas.groups(files[t], views.current(out).described)) == 2
               for t in OLD_LACKS)
    views.build(out)
    before = duckdb.connect()
    for statement in views.statements(union_by_name_sql(files)):
        before.execute(statement)
    after = duckdb.connect(str(out / views.DATABASE), read_only=True)
    compared = 0
    for view in views.VIEWS:
        expected = rows(before, view)
        assert rows(after, view) == expected, view
        compared += len(expected)
    assert compared > 500
    # The columns come in the schema's order, whatever the files' order.
    names = [d[0] for d in after.execute("SELECT * FROM titles_raw LIMIT 0").description]
    assert names == SCHEMAS["titles"].names
    (nulls,) = after.execute("SELECT COUNT(*) FROM titles_raw WHERE plot IS NULL").fetchone()
    (total,) = after.execute("SELECT COUNT(*) FROM titles_raw").fetchone()
    assert 0 < nulls == total  # synthetic titles have no plot; old files lack the column


def test_a_rebuild_reads_only_the_footers_of_files_it_does_not_know(
        out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    views.build(out)
    read: list[Any] = []
    real = file_schemas.open_parquet

    def counting(output_dir: Any, path: Any) -> Any:
        read.append(Path(path).name)
        return real(output_dir, path)

    monkeypatch.setattr(file_schemas, "open_parquet", counting)
    views.build(out)
    assert read == []
    # A file rewritten under its name with other columns (same name, another size) is
    # read again, and grouped by what it holds now.
    victim = sorted((out / "titles").glob("*/*.parquet"))[-1]
    pq.write_table(pq.read_table(victim).drop_columns(["source"]), victim)
    views.build(out)
    assert read == [victim.name]
    con = duckdb.connect(str(out / views.DATABASE), read_only=True)
    (n,) = con.execute("SELECT COUNT(*) FROM titles_raw").fetchone()
    assert n == sum(pq.read_metadata(p).num_rows for p in (out / "titles").glob("*/*.parquet"))
