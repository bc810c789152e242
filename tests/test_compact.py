"""``scrapy compact``: a closed partition's committed chunks merged into one file per
table.  The views give the same rows before and after, a glob reader counts the same
rows (and never a row twice, even when the compaction is killed), a run's own rows read
back the same (resume, the reaper), compacted chunks are not "missing", open partitions
are left alone, a second compaction does nothing, and bad input is one line, exit 2.
One real crawl pair: a refresh run after compaction reuses what the compacted files
hold."""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics import views
from bench.synthetic import Shape, write
from crawler.commands.compact import compact as compact_command
from crawler.state import dataset
from crawler.state.partitions import partitions
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from pipelines import compaction
from pipelines.schemas import SCHEMAS
from pipelines.stores import leftovers
from pipelines.stores.local import LocalChunkStore
from tests import forkserver
from tests.crawling import ROOT, read_table, run_crawl

TODAY = datetime.now(UTC).date()
RUNS = 4
TABLES = ("titles", "ratings", "credits", "more_like_this", "failures", "reused",
          "crawl_runs")


def view_rows(db: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for view in views.VIEWS:
            cur = con.execute(f"SELECT * FROM {view}")
            names = [d[0] for d in cur.description]
            out[view] = sorted(repr(sorted(zip(names, r, strict=True)))
                               for r in cur.fetchall())
        return out
    finally:
        con.close()


def glob_counts(out: Path) -> dict[str, int]:
    """What a plain glob reader counts (the README's way to read the files)."""
    con = duckdb.connect()
    try:
        return {table: con.execute(f"SELECT COUNT(*) FROM read_parquet('{out}/{table}/**/"
                                   "*.parquet')").fetchall()[0][0]
                for table in TABLES if (out / table).is_dir()}
    finally:
        con.close()


def own_rows(out: Path, run_ids: list[str]) -> dict[tuple[str, str], list[Any]]:
    """Each run's rows read back by run (what resume and the reaper read)."""
    return {(r, t): dataset.read_committed(out, r, t, SCHEMAS[t]).to_pylist()
            for r in run_ids for t in ("titles", "failures", "reused", "crawl_runs")}


def files(out: Path) -> dict[str, float]:
    return {str(p.relative_to(out)): p.stat().st_mtime for p in out.glob("*/*/*")}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Four daily runs, each in four chunks (a titles file per chunk), views built."""
    out = tmp_path_factory.mktemp("compact") / "out"
    run_ids = write(out, Shape(titles=40, runs=RUNS, edges=3, credits=2, refetch=0.5,
                               fail=0.05, rerank=0.2, chunk_titles=10))
    views.build(out)
    return out, run_ids


def copy_of(src: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(src, out)
    views.build(out)  # its own paths in committed_files
    return out


def test_compaction_keeps_every_row_for_views_globs_and_runs(
        synthetic: tuple[Path, list[str]], tmp_path: Path) -> None:
    out, run_ids = copy_of(synthetic[0], tmp_path), synthetic[1]
    before_views, before_globs = view_rows(out / views.DATABASE), glob_counts(out)
    before_own = own_rows(out, run_ids)
    before_titles = [dataset.committed_titles(out, r, after=0) for r in run_ids]
    assert all(before_titles[1:])
    assert sum(before_globs.values()) > 300 and len(list(out.glob("titles/*/*"))) > RUNS
    result = compaction.compact(out, TODAY)
    assert [d for d, _, _ in result.compacted] == [f"2026-11-0{i}" for i in range(1, 5)]
    for p in partitions(out):  # one file per table, named as compacted
        for table, names in p.tables.items():
            assert len(names) == 1 and names[0].startswith("compacted@"), (table, names)
    built = views.build_counted(out)
    assert built.missing == []  # chunks compacted away are not missing files
    assert view_rows(out / views.DATABASE) == before_views
    assert glob_counts(out) == before_globs
    assert own_rows(out, run_ids) == before_own
    # A chunk's rows are found in the compacted file by its row groups (the reaper).
    assert [dataset.committed_titles(out, r, after=0) for r in run_ids] == before_titles
    parts = dataset.committed_parts(out, run_ids[1], "titles")
    assert len(parts) > 1 and all(
        Path(path).name.startswith("compacted@") and groups for _, path, groups in parts)


def test_compaction_twice_is_a_no_op(synthetic: tuple[Path, list[str]],
                                     tmp_path: Path) -> None:
    out = copy_of(synthetic[0], tmp_path)
    compaction.compact(out, TODAY)
    seen = files(out)
    again = compaction.compact(out, TODAY)
    assert (again.compacted, again.finished, again.left_open) == ([], [], [])
    assert files(out) == seen


def test_open_partitions_are_left_alone(synthetic: tuple[Path, list[str]],
                                        tmp_path: Path) -> None:
    out, run_ids = copy_of(synthetic[0], tmp_path), synthetic[1]
    # Run 0 ended "shutdown" (a JOBDIR job may resume it), run 1's day holds a file being
    # written, run 2's a file under its final name not committed, and run 3 is today's.
    runs_file = next((out / "crawl_runs").glob(f"*/{run_ids[0]}-*.parquet"))
    t = pq.read_table(runs_file)
    t = t.set_column(t.schema.get_field_index("finish_reason"), "finish_reason",
                     pa.array(["shutdown"]))
    pq.write_table(t, runs_file)
    day = {i: f"crawl_date={date(2026, 11, 1) + timedelta(days=i)}" for i in range(RUNS)}
    (out / "titles" / day[1] / ".another-00000.parquet.tmp").write_bytes(b"PAR1")
    shutil.copy(next((out / "titles" / day[2]).glob("*.parquet")),
                out / "titles" / day[2] / f"{run_ids[2]}-00099.parquet")
    for table in TABLES:
        if (out / table / day[3]).is_dir():
            (out / table / day[3]).rename(out / table / f"crawl_date={TODAY}")
    seen = files(out)
    result = compaction.compact(out, TODAY)
    assert result.compacted == []
    assert [d for d, _ in result.left_open] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    whys = [w for _, w in result.left_open]
    assert "ended 'shutdown' and may be resumed" in whys[0]
    assert "is being written" in whys[1] and "is not committed" in whys[2]
    assert files(out) == seen  # today's partition is not even looked at for compaction
    # --before an earlier day leaves the later days alone, whatever their state.
    (out / "titles" / day[1] / ".another-00000.parquet.tmp").unlink()
    result = compaction.compact(out, date(2026, 11, 2))
    assert (result.compacted, [d for d, _ in result.left_open]) == ([], ["2026-11-01"])
    result = compaction.compact(out, date(2026, 11, 3))
    assert [d for d, _, _ in result.compacted] == ["2026-11-02"]


class Killed(Exception):
    pass


def test_a_killed_compaction_never_doubles_a_row(synthetic: tuple[Path, list[str]],
                                                 tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = copy_of(synthetic[0], tmp_path)
    before_views, before_globs = view_rows(out / views.DATABASE), glob_counts(out)
    # Killed before its record: nothing changed for any reader; the hidden files go.
    real_write = dataset.write_state_file

    def no_record(*args: Any) -> None:
        raise Killed

    monkeypatch.setattr(dataset, "write_state_file", no_record)
    with pytest.raises(Killed):
        compaction.compact(out, TODAY)
    monkeypatch.setattr(dataset, "write_state_file", real_write)
    assert glob_counts(out) == before_globs
    # Killed during the switch, after one table: the views read the hidden compacted
    # files; a glob reader sees fewer rows of the others, never one twice.
    real_switch, switched = compaction._switch, []

    def one_switch(folder: Path, merged: list[str], final: str) -> None:
        if switched:
            for name in merged[: len(merged) // 2]:
                (folder / name).unlink()
            raise Killed
        switched.append(folder)
        real_switch(folder, merged, final)

    monkeypatch.setattr(compaction, "_switch", one_switch)
    with pytest.raises(Killed):
        compaction.compact(out, TODAY)
    monkeypatch.setattr(compaction, "_switch", real_switch)
    # A run starting meanwhile cleans up after dead sessions: the hidden compacted files
    # are none of theirs.
    hidden = sorted(out.glob("*/*/.compacted@*"))
    assert hidden
    leftovers.clean(LocalChunkStore(out), found_by="a-later-run", at=datetime.now(UTC))
    assert sorted(out.glob("*/*/.compacted@*")) == hidden
    views.build(out)
    assert view_rows(out / views.DATABASE) == before_views
    during = glob_counts(out)
    assert all(during[t] <= before_globs[t] for t in TABLES) and during != before_globs
    # The next compaction finishes the switch.
    result = compaction.compact(out, TODAY)
    assert result.finished and not list(out.glob("*/*/.*"))
    views.build(out)
    assert glob_counts(out) == before_globs
    assert view_rows(out / views.DATABASE) == before_views


def test_a_late_chunk_is_merged_with_the_compacted_file(synthetic: tuple[Path, list[str]],
                                                        tmp_path: Path) -> None:
    out, run_ids = copy_of(synthetic[0], tmp_path), synthetic[1]
    compaction.compact(out, TODAY)
    before_own, before_globs = own_rows(out, run_ids), glob_counts(out)
    # A finished run lands a chunk in an already compacted day: its titles again.
    late = "20261101T235959Z-late"
    folder = out / "titles" / "crawl_date=2026-11-01"
    titles = pq.read_table(next(folder.glob("*.parquet")))
    pq.write_table(titles.slice(0, 3).set_column(
        titles.schema.get_field_index("run_id"), "run_id", pa.array([late] * 3)),
        folder / dataset.final_name(late, 0))
    runs = pq.read_table(next((out / "crawl_runs" / "crawl_date=2026-11-01").glob("*")))
    pq.write_table(runs.slice(0, 1).set_column(0, "run_id", pa.array([late])),
                   out / "crawl_runs" / "crawl_date=2026-11-01" / dataset.final_name(late, 1))
    dataset.commit_log(out, late).write_text("0\n1\n", encoding="ascii")
    result = compaction.compact(out, TODAY)
    # Run 0's day: one compacted file in each of 5 tables, and the 2 late files.
    assert result.compacted == [("2026-11-01", 7, 5)]
    assert own_rows(out, run_ids) == before_own
    assert dataset.read_committed(out, late, "titles", SCHEMAS["titles"]).num_rows == 3
    assert glob_counts(out)["titles"] == before_globs["titles"] + 3


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    proc = forkserver.run([sys.executable, "-m", "scrapy", "compact", "--before", "2026-13-01",
                           "-s", f"OUTPUT_DIR={tmp_path}"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.splitlines() == [
        "scrapy compact: error: --before '2026-13-01' is not a date (YYYY-MM-DD)"]
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    cases = [
        ((str(tmp_path), tomorrow), f"--before {tomorrow} is after today"),
        ((str(a_file), None), "is not a directory"),
        (("s3://KEY:SECRET@bucket/out", None), "OUTPUT_DIR is an object store"),
    ]
    for (output_dir, before), said in cases:
        assert compact_command(output_dir, before, False, True) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and said in err and "SECRET" not in err, err
    assert compact_command(str(tmp_path), None, False, True) == 0
    assert capsys.readouterr().out == "nothing to compact\n"


GRAPH = synthetic_graph(60, out_degree=3, seed=11)
SEED = tconst_of(1)


def test_a_refresh_run_after_compaction_reuses_the_compacted_rows(tmp_path: Path) -> None:
    expected = bfs_order(GRAPH, [SEED], 2, 40)
    out = tmp_path / "out"
    settings = {"PARQUET_COMMIT_ROWS": "4"}
    with MirrorServer(records=GRAPH) as mirror:
        first = run_crawl(mirror.base_url, out, seed=SEED, depth=2, max_titles=40,
                          settings=settings)
        assert first.returncode == 0, first.stderr[-3000:]
        # The run was yesterday's: its partition is closed.
        yesterday = f"crawl_date={TODAY - timedelta(days=1)}"
        for folder in out.glob(f"*/crawl_date={TODAY}"):
            folder.rename(folder.parent / yesterday)
        chunks = len(list(out.glob(f"titles/{yesterday}/*.parquet")))
        assert chunks >= 3
        before = glob_counts(out)
        result = compaction.compact(out, TODAY)
        assert [d for d, _, _ in result.compacted] == [yesterday.split("=")[1]]
        assert len(list(out.glob(f"titles/{yesterday}/*.parquet"))) == 1
        assert glob_counts(out) == before
        mirror.log.clear()
        second = run_crawl(mirror.base_url, out, seed=SEED, depth=2, max_titles=40,
                           settings={**settings, "VIEWS_REBUILD": "True"},
                           extra_args={"refresh": "7d"})
        assert second.returncode == 0, second.stderr[-3000:]
        fetched = Counter(p.split("/")[2] for p, _ in mirror.log if p.startswith("/title/"))
    assert fetched == Counter(expected.missing)  # only what failed before is asked again
    fetched_ok = set(expected.order) - set(expected.missing)
    reused = read_table(out, "reused")  # the second run's: the first reused nothing
    assert sorted(r["tconst"] for r in reused) == sorted(fetched_ok)
    con = duckdb.connect(str(out / views.DATABASE), read_only=True)
    assert con.execute("SELECT COUNT(*) FROM titles_latest").fetchone() == (len(fetched_ok),)
    assert con.execute("SELECT titles_reused FROM runs ORDER BY started_at DESC LIMIT 1"
                       ).fetchone() == (len(fetched_ok),)


def test_a_deleted_compacted_file_is_missing_and_its_day_stays_open(
        synthetic: tuple[Path, list[str]], tmp_path: Path) -> None:
    out = copy_of(synthetic[0], tmp_path)
    compaction.compact(out, TODAY)
    views.build(out)
    gone = next((out / "ratings" / "crawl_date=2026-11-02").glob("compacted@*.parquet"))
    gone.unlink()
    built = views.build_counted(out)
    assert [m.name for m in built.missing] == [str(gone.relative_to(out))]
    result = compaction.compact(out, TODAY)
    assert result.compacted == [] and result.left_open == [
        ("2026-11-02", f"{gone.relative_to(out)}, compacted, is missing: restore it")]
