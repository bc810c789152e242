"""``OUTPUT_DIR/dataset.duckdb``: the views of ``views.sql`` over the committed files.

    python -m analytics.views OUTPUT_DIR          # (re)build; also the re-point after a move
    python -m analytics.views OUTPUT_DIR --sql    # print the SQL, paths filled in

The database holds no data, only views over an explicit list of committed files
(absolute paths) and the table ``committed_files`` listing them: it opens read-only
from any working directory, and after OUTPUT_DIR is moved or copied, the command
above points it at the new place.  Each crawl run rebuilds it
(``analytics.extension.BuildViews``), so new chunks appear once their run ends.  A
committed file gone since the last build is left out, named and kept in the table
``missing_files`` (``analytics.missing_files``).  A build that fails removes the database
(``analytics.database``): no reader takes an older state for the current one.

On an object store (``OUTPUT_DIR=s3://bucket/prefix``) the database is built in a local
temporary file, over the committed objects named by ``s3://`` URIs, and uploaded as
``s3://bucket/prefix/dataset.duckdb`` in one PUT (seen whole or not at all).  DuckDB
reads ``s3://`` itself only with its httpfs extension, which must match the DuckDB
version exactly; PyPI has none for DuckDB 2.0 (``duckdb-extension-httpfs`` stops at
1.5.5, and DuckDB refuses to load it), so the build and ``connect`` give DuckDB the
bucket through pyarrow's S3 filesystem wrapped for fsspec
(``DuckDBPyConnection.register_filesystem``).  A DuckDB that has httpfs and an S3
secret reads the same views as they are.
"""

from __future__ import annotations

import argparse
import os
import re
import string
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from analytics import file_schemas, missing_files
from analytics.database import DATABASE as DATABASE
from analytics.database import remove_stale
from analytics.missing_files import MissingFile
from crawler.masking import scrub, shown_url
from crawler.state.atomic import replacing, temporary_name
from crawler.state.dataset import Remote, committed_paths, is_remote, remote
from pipelines.schemas import SCHEMAS

VIEWS = ("titles_latest", "ratings_latest", "credits_latest", "credit_categories_latest",
         "more_like_this_latest",
         "ratings_history", "similarity_changes", "runs", "failures_latest", "observations",
         "run_timeline", "run_pairs", "run_more_like_this", "observation_pairs",
         "rating_changes")


def sql_template() -> str:
    """views.sql as shipped: ``${table}`` where each table's source goes."""
    return resources.files("analytics").joinpath("views.sql").read_text(encoding="utf-8")


def _duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return _duckdb_type(t.value_type) + "[]"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    names = {pa.string(): "VARCHAR", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
             pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.date32(): "DATE"}
    return names[t]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty(table: str) -> str:
    """A relation with the table's columns and types, and no rows."""
    cols = ", ".join(f'CAST(NULL AS {_duckdb_type(f.type)}) AS "{f.name}"'
                     for f in SCHEMAS[table])
    return f"SELECT {cols} WHERE 1 = 0"


def source(table: str, groups: list[list[str]]) -> str:
    """The relation of a table's committed files, given in groups of one schema each
    (``analytics.file_schemas``): each group read plainly, the groups and an empty typed
    relation unioned by name, so files written before a column existed give nulls, the
    columns come in the schema's order, and no files give no rows."""
    parts = [_empty(table)] + [
        "SELECT * FROM read_parquet([" + ", ".join(_quote(p) for p in paths)
        + "], hive_partitioning = false)" for paths in groups if paths]
    if len(parts) == 1:
        return f"({parts[0]})"
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


def committed_files(output_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Absolute paths of every committed file, per table (only chunks in a commit log);
    ``s3://bucket/key`` URIs on an object store."""
    if is_remote(output_dir):
        return {table: [f"s3://{p}" for p in committed_paths(output_dir, table)]
                for table in SCHEMAS}
    root = Path(output_dir).resolve()
    return {table: committed_paths(root, table) for table in SCHEMAS}


def _s3_for_duckdb(rem: Remote) -> Any:
    """The bucket's pyarrow filesystem as an fsspec one DuckDB can read ``s3://`` with."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    class S3(ArrowFSWrapper):
        protocol = "s3"

    return S3(rem.fs)


def connect(output_dir: str | os.PathLike[str]) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the views of ``output_dir``.  On an object store, a copy
    of its dataset.duckdb, with the bucket readable as ``s3://`` (see the module doc)."""
    rem = remote(output_dir)
    if rem is None:
        return duckdb.connect(str(Path(output_dir) / DATABASE), read_only=True)
    with tempfile.TemporaryDirectory(prefix="views-") as tmp:
        local = Path(tmp) / DATABASE
        with rem.fs.open_input_stream(rem.path(DATABASE)) as src:
            local.write_bytes(src.read())
        con = duckdb.connect(str(local), read_only=True)  # the open file outlives the unlink
    con.register_filesystem(_s3_for_duckdb(rem))
    return con


class Previous(NamedTuple):
    """What OUTPUT_DIR's views database says of the files it was built over."""

    listed: dict[str, str]  # name under OUTPUT_DIR -> table, built over or found missing
    schemas: file_schemas.Known  # their schema keys (analytics.file_schemas)


def previous_build(output_dir: str | os.PathLike[str]) -> Previous:
    """What the last build recorded; nothing without a database (or with one of another
    shape)."""
    try:
        con = connect(output_dir)
    except (OSError, duckdb.Error):
        return Previous({}, {})
    try:
        return Previous(missing_files.listed(con), file_schemas.known(con))
    except duckdb.Error:  # a database of another shape: nothing to compare with
        return Previous({}, {})
    finally:
        con.close()


def listed_before(output_dir: str | os.PathLike[str]) -> dict[str, str]:
    """The files OUTPUT_DIR's views database was built over or found missing (name under
    OUTPUT_DIR -> table; see ``analytics.missing_files``); none without a database."""
    return previous_build(output_dir).listed


class Current(NamedTuple):
    """The committed files now, as the views read them."""

    files: dict[str, list[str]]  # per table
    described: dict[str, tuple[int, str]]  # path -> (size, schema key)
    missing: list[MissingFile]  # committed files gone since the last build listed them


def current(output_dir: str | os.PathLike[str]) -> Current:
    """The committed files of ``output_dir``, each file's schema (footers read only for
    files the last build did not list) and the committed files gone."""
    files = committed_files(output_dir)
    before = previous_build(output_dir)
    paths = [p for ps in files.values() for p in ps]
    return Current(files, file_schemas.describe(output_dir, paths, before.schemas),
                   missing_files.find(output_dir, before.listed, files))


def connect_current(output_dir: str | os.PathLike[str],
                    now: Current | None = None) -> duckdb.DuckDBPyConnection:
    """The views over the files committed now (or over ``now``), in an in-memory
    database: what ``build`` would write, without writing anything.  For a reader that
    must see a run still writing as far as it has committed, or may not write OUTPUT_DIR
    (``scrapy report``).  Timestamps come back in UTC."""
    now = current(output_dir) if now is None else now
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")  # the caller's stdout is its own
        rem = remote(output_dir)
        if rem is not None:
            con.register_filesystem(_s3_for_duckdb(rem))
        for statement in statements(sql_text(output_dir, now.files, now.described)):
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def sql_text(output_dir: str | os.PathLike[str],
             files: dict[str, list[str]] | None = None,
             described: dict[str, tuple[int, str]] | None = None) -> str:
    """views.sql with each table's committed files of ``output_dir`` filled in (or
    ``files``, whose schemas ``described`` gives; read when not given)."""
    files = committed_files(output_dir) if files is None else files
    if described is None:
        paths = [p for ps in files.values() for p in ps]
        known = previous_build(output_dir).schemas if paths else {}
        described = file_schemas.describe(output_dir, paths, known)
    return string.Template(sql_template()).substitute(
        {table: source(table, file_schemas.groups(paths, described))
         for table, paths in files.items()})


def statements(sql: str) -> list[str]:
    """The statements of a views.sql text (no ';' inside strings or comments there)."""
    body = re.sub(r"--[^\n]*", "", sql)
    return [s.strip() for s in body.split(";") if s.strip()]


def _remove_leftovers(root: Path) -> None:
    """Temporary databases of builds whose process is gone (killed mid-build); a live
    build's, beside us (two runs in one OUTPUT_DIR), is left alone."""
    for path in root.glob(f".{DATABASE}.*.tmp*"):
        pid = path.name.split(".")[3]
        if not pid.isdigit():
            continue
        if int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                continue
            except ProcessLookupError:
                pass
            except PermissionError:  # alive, someone else's
                continue
        path.unlink(missing_ok=True)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """All rows in one statement (``executemany`` runs one per row: 5 s for 9,000)."""
    con.register("rows_to_insert", rows)
    try:
        con.execute(f"INSERT INTO {table} SELECT * FROM rows_to_insert")
    finally:
        con.unregister("rows_to_insert")


def _fill(con: duckdb.DuckDBPyConnection, sql: str, now: Current) -> None:
    con.execute("CREATE TABLE committed_files (table_name VARCHAR, path VARCHAR, "
                "size BIGINT, schema_key VARCHAR)")
    listed = [(t, p) for t, paths in now.files.items() for p in paths]
    _insert(con, "committed_files", pa.table({
        "table_name": pa.array([t for t, _ in listed], pa.string()),
        "path": pa.array([p for _, p in listed], pa.string()),
        "size": pa.array([now.described[p][0] for _, p in listed], pa.int64()),
        "schema_key": pa.array([now.described[p][1] for _, p in listed], pa.string())}))
    con.execute("CREATE TABLE missing_files (table_name VARCHAR, path VARCHAR)")
    _insert(con, "missing_files", pa.table(
        {"table_name": pa.array([m.table for m in now.missing], pa.string()),
         "path": pa.array([m.name for m in now.missing], pa.string())}))
    for statement in statements(sql):
        con.execute(statement)
    con.execute("CHECKPOINT")


def _build_remote(output_dir: str | os.PathLike[str], rem: Remote) -> Built:
    now = current(output_dir)
    with tempfile.TemporaryDirectory(prefix="views-") as tmp:
        local = Path(tmp) / DATABASE
        con = duckdb.connect(str(local))
        try:
            con.register_filesystem(_s3_for_duckdb(rem))
            _fill(con, sql_text(output_dir, now.files, now.described), now)
        finally:
            con.close()
        with rem.fs.open_output_stream(rem.path(DATABASE)) as out:  # one PUT: whole or none
            out.write(local.read_bytes())
    return Built(f"s3://{rem.path(DATABASE)}", now.missing)


class ViewsNotBuilt(RuntimeError):
    """The views could not be built; the message is one line, with no credential."""


class Built(NamedTuple):
    path: Path | str  # the database (its URI on an object store)
    missing: list[MissingFile]  # committed files gone, built around (analytics.missing_files)


def build(output_dir: str | os.PathLike[str]) -> Path | str:
    """Write ``OUTPUT_DIR/dataset.duckdb`` (see :func:`build_counted`); its path."""
    return build_counted(output_dir).path


def build_counted(output_dir: str | os.PathLike[str]) -> Built:
    """Write ``OUTPUT_DIR/dataset.duckdb`` atomically (a temporary file renamed over it:
    a reader never meets half a database), around committed files that are gone (listed
    in its ``missing_files``).  Returns its path (its URI on an object store, where it is
    uploaded whole).  A build that fails removes the database it would have replaced
    (``analytics.database.remove_stale``), which would answer for an older state, and
    raises ViewsNotBuilt saying why and what became of it."""
    try:
        rem = remote(output_dir)
        if rem is not None:
            return _build_remote(output_dir, rem)
        return _build_local(Path(output_dir).resolve())
    except Exception as exc:
        why = " ".join(scrub(str(exc), output_dir).split()) or type(exc).__name__
        raise ViewsNotBuilt(f"views of {shown_url(output_dir)!r} not built: {why}; "
                            f"{remove_stale(output_dir)}") from None


def _build_local(root: Path) -> Built:
    if not root.is_dir():
        raise FileNotFoundError(f"OUTPUT_DIR {str(root)!r} is not a directory")
    now = current(root)
    target = root / DATABASE
    _remove_leftovers(root)
    try:
        with replacing(target) as tmp:
            con = duckdb.connect(str(tmp))
            try:
                _fill(con, sql_text(root, now.files, now.described), now)
            finally:
                con.close()
    finally:  # the temporary database's write-ahead log, left when a build failed
        Path(f"{temporary_name(target)}.wal").unlink(missing_ok=True)
    return Built(target, now.missing)


ABOUT = {
    "titles_latest": "titles rows of each title's newest observation (by observed_at: live and "
                     "archived pages alike, whenever the run was made; a reused title "
                     "resolves to the run that fetched it).",
    "ratings_latest": "ratings rows of that same observation.",
    "credits_latest": "credits rows of that same observation: with -a credits=full its "
                      "full credits page's (credit_page = fullcredits), unless that page "
                      "failed (titles.full_credits says why).",
    "credit_categories_latest": "credit_categories rows of that same observation: each "
                                "category of its full credits page with listed of total "
                                "(a current-layout crew category lists its first 10).",
    "more_like_this_latest": "more_like_this rows (edges) of that same observation.",
    "ratings_history": "One row per title and observation, live and archived (nulls when the "
                       "page showed no rating); order by observed_at.",
    "similarity_changes": "Edges added, removed or re-ranked between a title's consecutive "
                          "observations (by observed_at; a reused title has no new "
                          "observation).",
    "runs": "crawl_runs per run (sessions summed; the last session's finish reason and "
            "arguments), with coverage: titles_fetched + titles_reused + titles_failed + "
            "titles_merged = titles_scheduled.",
    "failures_latest": "Titles whose latest outcome (page, reuse, merge or failure, by "
                       "observed_at) is a failure.",
    "observations": "Each title's timeline: one row per page IMDb showed (observed_at), live "
                    "or archived; a capture read by several runs is one observation (the "
                    "latest read stands for it).",
    "run_timeline": "Each run's place in the timeline (timeline_at: an archive run's as_of, "
                    "a live run's start); the highest position is the run that saw IMDb "
                    "latest.",
    "run_pairs": "Consecutive runs over the same seeds (seed_key), in timeline order.",
    "run_more_like_this": "The edges standing in each run: its own pages' and, for a title "
                          "it reused, those of the page it reuses.",
    "observation_pairs": "A title's consecutive observations (by observed_at): what "
                         "similarity_changes and rating_changes compare.",
    "rating_changes": "Ratings that changed between a title's consecutive observations "
                      "(average_rating; one that appears or disappears counts).  The changes "
                      "between two runs of run_pairs, with similarity_changes: WHERE "
                      "old_run_id = ... AND new_run_id = ... (what `scrapy report` shows).",
}


def view_columns() -> dict[str, list[tuple[str, str]]]:
    """(column, DuckDB type) of each view, from a build over no files."""
    con = duckdb.connect()
    try:
        for statement in statements(sql_text("", {t: [] for t in SCHEMAS})):
            con.execute(statement)
        return {v: [(r[0], r[1]) for r in con.execute(f"DESCRIBE {v}").fetchall()]
                for v in VIEWS}
    finally:
        con.close()


def render_markdown() -> str:
    """docs/views.md."""
    lines = [
        "# Views",
        "",
        "Generated by `python -m analytics.views --markdown` from `analytics/views.sql`; "
        "do not edit.",
        "",
        "`OUTPUT_DIR/dataset.duckdb` holds views over the committed Parquet files (chunks "
        "listed in `_state/<run_id>.commits`, and the files `scrapy compact` merged them "
        "into; the table `committed_files` lists them, by absolute path, with each file's "
        "size and schema key, and `missing_files` the committed files gone since a build "
        "listed them, which the views leave out).  Each crawl run rebuilds it; a build "
        "that fails "
        "removes it, as it would answer for an older state.  Open it read-only from "
        "anywhere:",
        "",
        "    duckdb -readonly OUTPUT_DIR/dataset.duckdb",
        "",
        "After moving or copying OUTPUT_DIR, point the views at the new place:",
        "",
        "    python -m analytics.views OUTPUT_DIR",
        "",
        "`python -m analytics.views OUTPUT_DIR --sql` prints the SQL with the paths filled in "
        "(`analytics.views.sql_text(output_dir)` in Python); below `*_raw`, it is plain SQL, "
        "so Polars (`pl.SQLContext`) or Spark can register their own frames as `titles_raw`, "
        "`ratings_raw`, ... and run the rest.",
        "",
    ]
    for view, columns in view_columns().items():
        lines += [f"## {view}", "", ABOUT[view], "", "| column | type |", "|---|---|"]
        lines += [f"| `{name}` | `{type_}` |" for name, type_ in columns]
        lines.append("")
    lines += ["## views.sql", "", "```sql", sql_template().rstrip("\n"), "```", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.views",
        description="(Re)build OUTPUT_DIR/dataset.duckdb, the views over the committed "
                    "Parquet files; run it again after moving or copying OUTPUT_DIR.")
    # str, not Path: an s3:// URI would lose its '//'.
    parser.add_argument("output_dir", help="the crawl's OUTPUT_DIR (a path or s3://...)")
    parser.add_argument("--sql", action="store_true",
                        help="print the SQL with the paths filled in instead of building")
    parser.add_argument("--markdown", action="store_true",
                        help="print docs/views.md (OUTPUT_DIR is not read)")
    args = parser.parse_args(argv)
    if args.markdown:
        print(render_markdown(), end="")
        return 0
    if args.sql:
        print(sql_text(args.output_dir), end="")
        return 0
    started = time.perf_counter()
    try:
        built = build_counted(args.output_dir)
    except ViewsNotBuilt as exc:
        print(f"analytics.views: error: {exc}", file=sys.stderr)
        return 1
    print(f"{built.path} ({time.perf_counter() - started:.2f} s)")
    if built.missing:
        print(f"analytics.views: warning: {missing_files.one_line(built.missing)}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
