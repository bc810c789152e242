"""One timeline of what IMDb showed: runs as_of 2018 (the archive over HTTP), as_of 2022,
as_of 2018 again (from a WARC file), then a live run, into one OUTPUT_DIR.

Every page row says when IMDb showed it (``observed_at``) and where it was read
(``source``); the views order each title's observations by ``observed_at`` whenever the
run was made; files written before those columns existed read the same.  Every
expected value is worked out by hand from the eras below."""

from __future__ import annotations

import copy
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from analytics import views
from analytics.report import write_report
from crawler.records import TitleRecord
from crawler.state.dataset import committed_paths
from mirror.archive import Capture
from mirror.render import render_title_page_bytes
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from pipelines.schemas import SCHEMAS
from tests.crawling import VIEWS, read_table, run_crawl
from tests.warcs import write_warc

A, B, C, D = (tconst_of(i) for i in range(1, 5))
BASE = synthetic_graph(4, out_degree=2, seed=5)
NOWHERE = "http://127.0.0.1:9"  # a closed port: nothing may go there


def era(cards: dict[str, list[str]], rating_a: float) -> dict[str, TitleRecord]:
    graph = copy.deepcopy(BASE)
    for tconst, targets in cards.items():
        graph[tconst]["more_like_this"] = [
            {"rank": rank, "tconst": t, "primary_title": BASE[t]["primary_title"],
             "title_type": BASE[t]["title_type"], "start_year": BASE[t]["start_year"]}
            for rank, t in enumerate(targets, 1)]
    graph[A]["average_rating"] = rating_a
    return graph


# 2018 -> 2022: A's two cards swap ranks, B gains C at rank 2; C is unchanged.
# 2022 -> live: A gains D at rank 3.  D has no capture: every archive run fails it.
Y2018 = era({A: [B, C], B: [A], C: [A, B], D: [A]}, 7.1)
Y2022 = era({A: [C, B], B: [A, C], C: [A, B], D: [A]}, 7.4)
LIVE = era({A: [C, B, D], B: [A, C], C: [A, B], D: [A]}, 7.6)
T2018, T2022 = datetime(2018, 3, 1, tzinfo=UTC), datetime(2022, 3, 1, tzinfo=UTC)
AS_OF_2018, AS_OF_2022 = datetime(2018, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)
CAPTURES = {t: [Capture("20180301000000", body=render_title_page_bytes(Y2018[t])),
                Capture("20220301000000", body=render_title_page_bytes(Y2022[t]))]
            for t in (A, B, C)}
R1, R2, R3, R4 = "r1-wayback-2018", "r2-wayback-2022", "r3-warc-2018", "r4-live"
SEEDS = ",".join((A, B, C, D))
PAGE_TABLES = ("titles", "ratings", "credits", "more_like_this")
NEW_COLUMNS = ("observed_at", "source")


def crawl(base_url: str, out: Path, run_id: str, as_of: str | None = None,
          **settings: str) -> None:
    extra = {"run_id": run_id, **({"as_of": as_of} if as_of else {})}
    proc = run_crawl(base_url, out, seed=SEEDS, depth=0, extra_args=extra,
                     settings={**VIEWS, **settings})
    assert proc.returncode == 0, proc.stderr[-3000:]


def snapshot(out: Path, to: Path) -> Path:
    """A copy of OUTPUT_DIR with its views pointed at the copy."""
    shutil.copytree(out, to)
    views.build(to)
    return to


@pytest.fixture(scope="module")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("timeline")
    out = tmp / "out"
    warc = write_warc(tmp / "captures.warc.gz", CAPTURES, gzip=True)
    with MirrorServer(archive=CAPTURES) as wayback:
        crawl(NOWHERE, out, R1, "2018", WAYBACK_BASE_URL=wayback.base_url)
        crawl(NOWHERE, out, R2, "2022", WAYBACK_BASE_URL=wayback.base_url)
    crawl(NOWHERE, out, R3, "2018", WAYBACK_BASE_URL=NOWHERE, ARCHIVE_WARC=str(warc))
    archived = snapshot(out, tmp / "archived")
    with MirrorServer(records=LIVE) as live:
        crawl(live.base_url, out, R4)
    return {"archived": archived, "all": out}


def query(out: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(out / views.DATABASE), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_page_rows_say_when_imdb_showed_them_and_where_they_were_read(
        dirs: dict[str, Path]) -> None:
    out = dirs["all"]
    archived = {R1: (T2018, "wayback"), R2: (T2022, "wayback"), R3: (T2018, "warc")}
    for table in PAGE_TABLES:
        rows = read_table(out, table)
        assert {r["run_id"] for r in rows} == {R1, R2, R3, R4}, table
        for r in rows:
            if r["run_id"] == R4:  # a live page: observed when fetched
                assert (r["observed_at"], r["source"], r["captured_at"]) == (
                    r["crawled_at"], "live", None), table
            else:
                assert (r["observed_at"], r["source"]) == archived[r["run_id"]], table
                assert r["captured_at"] == r["observed_at"], table
    # D has no capture: each archive run fails it at the instant it asked about.
    failures = {r["run_id"]: r for r in read_table(out, "failures")}
    assert sorted(failures) == [R1, R2, R3] and {r["tconst"] for r in failures.values()} == {D}
    assert {k: (r["reason"], r["captured_at"], r["observed_at"], r["source"])
            for k, r in failures.items()} == {
        R1: ("not_archived", None, AS_OF_2018, "wayback"),
        R2: ("not_archived", None, AS_OF_2022, "wayback"),
        R3: ("not_archived", None, AS_OF_2018, "warc")}
    runs = {r["run_id"]: (r["source"], r["as_of"]) for r in read_table(out, "crawl_runs")}
    assert runs == {R1: ("wayback", AS_OF_2018), R2: ("wayback", AS_OF_2022),
                    R3: ("warc", AS_OF_2018), R4: ("live", None)}


def test_titles_latest_is_each_titles_newest_observation(dirs: dict[str, Path]) -> None:
    # R3 (2018) was made after R2 (2022): 2022 stays the latest.
    latest = query(dirs["archived"], "SELECT tconst, run_id, observed_at, source "
                                     "FROM titles_latest ORDER BY tconst")
    assert latest == [(t, R2, T2022, "wayback") for t in (A, B, C)]
    ratings = query(dirs["archived"], "SELECT tconst, average_rating FROM ratings_latest "
                                      f"WHERE tconst = '{A}'")
    assert ratings == [(A, 7.4)]
    edges = query(dirs["archived"], "SELECT similar_tconst, rank, run_id "
                                    f"FROM more_like_this_latest WHERE tconst = '{A}'")
    assert sorted(edges) == [(B, 2, R2), (C, 1, R2)]
    latest = query(dirs["all"], "SELECT tconst, run_id, source FROM titles_latest "
                                "ORDER BY tconst")
    assert latest == [(t, R4, "live") for t in (A, B, C, D)]


def test_ratings_history_has_each_observation_once(dirs: dict[str, Path]) -> None:
    sql = ("SELECT run_id, observed_at, source, average_rating FROM ratings_history "
           f"WHERE tconst = '{A}' ORDER BY observed_at")
    # The 2018 capture, read by R1 and again by R3, is one observation: R3's read.
    two = [(R3, T2018, "warc", 7.1), (R2, T2022, "wayback", 7.4)]
    assert query(dirs["archived"], sql) == two
    (live,) = query(dirs["all"], f"SELECT crawled_at FROM titles_raw WHERE run_id = '{R4}' "
                                 f"AND tconst = '{A}'")
    assert query(dirs["all"], sql) == [*two, (R4, live[0], "live", 7.6)]
    counts = query(dirs["all"], "SELECT tconst, COUNT(*) FROM ratings_history "
                                "GROUP BY tconst ORDER BY tconst")
    assert counts == [(A, 3), (B, 3), (C, 3), (D, 1)]


CHANGES = ("SELECT tconst, similar_tconst, change, old_rank, new_rank, old_run_id, "
           "new_run_id, old_observed_at, new_observed_at FROM similarity_changes")


def test_similarity_changes_between_consecutive_observations(dirs: dict[str, Path]) -> None:
    between = (R3, R2, T2018, T2022)
    assert sorted(query(dirs["archived"], CHANGES)) == sorted([
        (A, B, "rank_changed", 1, 2, *between),
        (A, C, "rank_changed", 2, 1, *between),
        (B, C, "added", None, 2, *between)])
    later = [r for r in query(dirs["all"], CHANGES) if r[6] == R4]
    assert [r[:8] for r in later] == [(A, D, "added", None, 3, R2, R4, T2022)]


def test_failures_latest_orders_outcomes_by_observed_at(dirs: dict[str, Path]) -> None:
    failing = query(dirs["archived"], "SELECT tconst, reason, run_id, observed_at, source "
                                      "FROM failures_latest")
    # D's newest outcome is R2's (as_of 2022), though R3 (as_of 2018) failed it later.
    assert failing == [(D, "not_archived", R2, AS_OF_2022, "wayback")]
    assert query(dirs["all"], "SELECT tconst FROM failures_latest") == []  # read live


def test_the_report_takes_runs_in_timeline_order(dirs: dict[str, Path]) -> None:
    page = write_report(dirs["archived"]).read_text(encoding="utf-8")
    assert f"<td>run</td><td>{R2}</td>" in page  # the run that saw IMDb latest
    assert "<td>as_of (archive)</td><td>2022-01-01 00:00:00 UTC</td>" in page
    assert f"Run {R2} against {R3}" in page
    assert "1 links added" in page and "0 links removed" in page  # B's C (ranks aside)
    page = write_report(dirs["all"]).read_text(encoding="utf-8")
    assert f"<td>run</td><td>{R4}</td>" in page and f"Run {R4} against {R2}" in page
    assert "1 links added" in page and "1 ratings moved" in page  # A's D, A's 7.4 -> 7.6


def strip_new_columns(out: Path, run_ids: set[str]) -> int:
    """Rewrite these runs' committed files as an older crawler wrote them: without
    observed_at and source.  Returns how many files lost a column."""
    stripped = 0
    for table in SCHEMAS:
        for path in committed_paths(out, table):
            if Path(path).name.rsplit("-", 1)[0] not in run_ids:
                continue
            t = pq.read_table(path)
            drop = [c for c in NEW_COLUMNS if c in t.column_names]
            if drop:
                pq.write_table(t.drop_columns(drop), path)
                stripped += 1
    return stripped


READS = {
    "titles_latest": "SELECT tconst, run_id, observed_at, source FROM titles_latest",
    "ratings_history": "SELECT * FROM ratings_history",
    "similarity_changes": CHANGES,
    "failures_latest": "SELECT * FROM failures_latest",
    "failures_raw": "SELECT tconst, run_id, observed_at, source FROM failures_raw",
    "observations": "SELECT * FROM observations",
    "runs": "SELECT run_id, as_of, source FROM runs",
}


@pytest.mark.parametrize("state", ["archived", "all"])
def test_old_files_without_the_new_columns_read_the_same(
        dirs: dict[str, Path], tmp_path: Path, state: str) -> None:
    new = dirs[state]
    old = tmp_path / "old"
    shutil.copytree(new, old)
    # R3 (WARC) keeps its new files: the views read a mix of old and new.  (An old WARC
    # run's rows would read as wayback: the files never said.)
    assert strip_new_columns(old, {R1, R2, R4}) >= 8
    titles = [p for p in committed_paths(old, "titles") if R1 in p]
    assert titles and "observed_at" not in pq.read_schema(titles[0]).names
    views.build(old)
    for name, sql in READS.items():
        got, want = sorted(query(old, sql), key=str), sorted(query(new, sql), key=str)
        assert got == want, name
        assert want or (name, state) == ("failures_latest", "all"), name
