"""analytics: the views over three runs of the mirror with the same seed, where between
runs ratings change, edges are added, removed and re-ranked, a title fails, recovers,
becomes a merge, and a refresh run reuses most titles.  Every expected value is worked
out from the graph changes below, by hand."""

from __future__ import annotations

import copy
import os
import resource
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics import views
from crawler.records import TitleRecord
from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import ROOT, VIEWS, crawl_command, read_table, run_crawl
from tests.test_refresh import age

# 20 titles, 4 cards each; rank 1 of title i is i+1 (20 -> 1).  Cards (by index):
#  2: [3, 18, 11, 9]   3: [4, 8, 1, 13]   4: [5, 2, 19, 8]   6: [7, 5, 15, 1]
#  7: [8, 2, 3, tt8000007]   8: [9, 7, 5, 11]   9: [10, 20, 5, 6]
#  10: [11, 12, 13, 4]  14: [15, 6, 18, tt8000014]  (tt8... have no page: 404)
GRAPH = synthetic_graph(20, out_degree=4, seed=3)
T = {i: tconst_of(i) for i in range(1, 21)}
OUT7, OUT14 = "tt8000007", "tt8000014"
SEED = T[1]


def cards(graph: dict[str, TitleRecord], i: int, targets: list[int]) -> None:
    """Give title i these cards (graph titles, in rank order)."""
    graph[T[i]]["more_like_this"] = [
        {"rank": rank, "tconst": T[j], "primary_title": GRAPH[T[j]]["primary_title"],
         "title_type": GRAPH[T[j]]["title_type"], "start_year": GRAPH[T[j]]["start_year"]}
        for rank, j in enumerate(targets, 1)]


def rate(graph: dict[str, TitleRecord], i: int, rating: float, votes: int | None = None
         ) -> None:
    graph[T[i]]["average_rating"] = rating
    if votes is not None:
        graph[T[i]]["num_votes"] = votes


# Run 2: T3 and T4 re-rated; T2 swaps ranks 2 and 3; T6 loses rank 4 (T1); T8 gains T1
# at rank 5.  (Run 1 has T20 answer 500, so it fails; run 2 fetches it.)
GRAPH2 = copy.deepcopy(GRAPH)
rate(GRAPH2, 3, 9.1, 123456)
rate(GRAPH2, 4, 2.2)
cards(GRAPH2, 2, [3, 11, 18, 9])
cards(GRAPH2, 6, [7, 5, 15])
cards(GRAPH2, 8, [9, 7, 5, 11, 1])

# Run 3 refreshes with refresh=7d after ageing STALE by 8 days: only STALE (and the
# titles that failed in run 2, tt8...) are fetched again, the 16 others are reused from
# run 2.  T3 re-rated again; T9's rank 2 (T20) becomes T13; T11 is gone (404; T12
# stays reachable from T10); T20 is merged into T5.  T4's changes are not seen: reused.
STALE = {T[3], T[9], T[11], T[20]}
GRAPH3 = copy.deepcopy(GRAPH2)
rate(GRAPH3, 3, 9.3)
rate(GRAPH3, 4, 5.5)
cards(GRAPH3, 4, [5, 2, 19])
cards(GRAPH3, 9, [10, 13, 5, 6])

REUSED3 = set(T.values()) - STALE


def crawl(graph: dict[str, TitleRecord], out: Path, faults: dict[str, Fault],
          **extra: str) -> None:
    with MirrorServer(records=graph, faults=faults) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=SEED, depth=25, max_titles=100,
                         extra_args=extra or None, settings=VIEWS)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # The hook ran once the crawl_runs row was in, and said so.
    assert "[analytics.extension] INFO: views rebuilt:" in proc.stderr, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("views") / "out"
    crawl(GRAPH, out, {T[20]: Fault.status(500)})
    crawl(GRAPH2, out, {})
    age(out, STALE, timedelta(days=8))
    crawl(GRAPH3, out, {T[11]: Fault.status(404), T[20]: Fault.redirect(T[5])},
          refresh="7d")
    return out


@pytest.fixture(scope="module")
def run_ids(out: Path) -> list[str]:
    runs = sorted(read_table(out, "crawl_runs"), key=lambda r: r["started_at"])
    assert len(runs) == 3
    return [r["run_id"] for r in runs]


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def q(out: Path, run_ids: list[str]) -> Any:
    db = out / views.DATABASE

    def run(sql: str) -> list[tuple[Any, ...]]:
        return query(db, sql)

    return run


def test_the_database_built_after_the_last_run_lists_every_committed_file(
        out: Path, q: Any, run_ids: list[str]) -> None:
    listed = q("SELECT table_name, path FROM committed_files")
    assert sorted(listed) == sorted(
        (t, p) for t, paths in views.committed_files(out).items() for p in paths)
    runs_files = [p for t, p in listed if t == "crawl_runs"]
    assert len(runs_files) == 3 and all(os.path.isabs(p) for p in runs_files)
    assert not list(out.glob(".dataset.duckdb*"))  # no temporary left behind


def test_runs(q: Any, run_ids: list[str]) -> None:
    rows = q("SELECT run_id, sessions, finish_reason, seed_key, refresh_seconds, "
             "titles_fetched, titles_reused, titles_failed, titles_merged, titles_scheduled, "
             "share_fetched, ratings_rows, more_like_this_rows FROM runs ORDER BY started_at")
    r1, r2, r3 = run_ids
    assert rows == [
        # T1..T19 fetched; T20 (500), tt8000007, tt8000014 failed; 19 x 4 cards
        (r1, 1, "finished", SEED, 0, 19, 0, 3, 0, 22, 19 / 22, 19, 76),
        # all 20 fetched; 80 cards - T6's rank 4 + T8's rank 5
        (r2, 1, "finished", SEED, 0, 20, 0, 2, 0, 22, 20 / 22, 20, 80),
        # T3, T9 fetched; 16 reused; T11 + tt8... failed; T20 merged
        (r3, 1, "finished", SEED, 7 * 86400, 2, 16, 3, 1, 22, 2 / 22, 2, 8),
    ]


def test_latest_fetch_per_title_resolves_reused_titles_to_the_run_that_fetched_them(
        q: Any, run_ids: list[str]) -> None:
    _, r2, r3 = run_ids
    expected = {t: r2 for t in T.values()} | {T[3]: r3, T[9]: r3}
    # T20 (now a merge) and T11 (now 404) keep their last page, from run 2.
    assert dict(q("SELECT tconst, run_id FROM titles_latest")) == expected
    assert q("SELECT COUNT(*) FROM titles_latest")[0][0] == 20
    ratings = {t: (r, v, run) for t, r, v, run in q(
        "SELECT tconst, average_rating, num_votes, run_id FROM ratings_latest")}
    assert len(ratings) == 20
    assert ratings[T[3]] == (9.3, 123456, r3)
    assert ratings[T[4]] == (2.2, GRAPH[T[4]]["num_votes"], r2)  # 5.5 unseen: reused
    assert ratings[T[1]] == (GRAPH[T[1]]["average_rating"], GRAPH[T[1]]["num_votes"], r2)
    credits = dict(q("SELECT tconst, COUNT(*) FROM credits_latest GROUP BY tconst"))
    assert credits == {t: len(GRAPH[t]["credits"]) for t in T.values()}
    assert q("SELECT COUNT(*) FROM credits_latest c JOIN titles_latest t "
             "USING (tconst) WHERE c.run_id <> t.run_id")[0][0] == 0
    edges = q("SELECT tconst, similar_tconst, rank, run_id FROM more_like_this_latest")
    assert len(edges) == 80
    by_title: dict[str, list[tuple[int, str, str]]] = {}
    for tconst, similar, rank, run in edges:
        by_title.setdefault(tconst, []).append((rank, similar, run))
    assert sorted(by_title[T[9]]) == [(1, T[10], r3), (2, T[13], r3), (3, T[5], r3),
                                      (4, T[6], r3)]
    assert sorted(by_title[T[4]]) == [(1, T[5], r2), (2, T[2], r2), (3, T[19], r2),
                                      (4, T[8], r2)]  # run 3's change unseen
    assert [s for _, s, _ in sorted(by_title[T[8]])] == [T[9], T[7], T[5], T[11], T[1]]
    assert [s for _, s, _ in sorted(by_title[T[6]])] == [T[7], T[5], T[15]]


def test_ratings_history(q: Any, run_ids: list[str]) -> None:
    r1, r2, r3 = run_ids
    rows = q("SELECT tconst, run_id, average_rating, num_votes, num_votes_abbreviated "
             "FROM ratings_history ORDER BY tconst, crawled_at")
    assert len(rows) == 19 + 20 + 2
    hist: dict[str, list[tuple[Any, ...]]] = {}
    for tconst, *rest in rows:
        hist.setdefault(tconst, []).append(tuple(rest))
    g3, g4 = GRAPH[T[3]], GRAPH[T[4]]
    assert hist[T[3]] == [(r1, g3["average_rating"], g3["num_votes"], False),
                          (r2, 9.1, 123456, False), (r3, 9.3, 123456, False)]
    assert hist[T[4]] == [(r1, g4["average_rating"], g4["num_votes"], False),
                          (r2, 2.2, g4["num_votes"], False)]
    assert [h[0] for h in hist[T[20]]] == [r2]  # failed in run 1, a merge in run 3
    assert [h[0] for h in hist[T[11]]] == [r1, r2]


def test_similarity_changes(q: Any, run_ids: list[str]) -> None:
    r1, r2, r3 = run_ids
    rows = q("SELECT tconst, similar_tconst, change, old_rank, new_rank, old_run_id, "
             "new_run_id FROM similarity_changes")
    assert sorted(rows) == sorted([
        (T[2], T[18], "rank_changed", 2, 3, r1, r2),
        (T[2], T[11], "rank_changed", 3, 2, r1, r2),
        (T[6], T[1], "removed", 4, None, r1, r2),
        (T[8], T[1], "added", None, 5, r1, r2),
        # T20 failed in run 1: its edges are not compared.  Run 3: only T9 changed among
        # the titles with a page in both (T4's change was not fetched: reused).
        (T[9], T[20], "removed", 2, None, r2, r3),
        (T[9], T[13], "added", None, 2, r2, r3),
    ])


def test_failures_latest(q: Any, run_ids: list[str]) -> None:
    r3 = run_ids[2]
    rows = q("SELECT tconst, reason, http_status, run_id FROM failures_latest")
    # T20 failed in run 1 but its latest outcome is a merge (run 3): not listed.
    assert sorted(rows) == [(OUT7, "not_found", 404, r3), (OUT14, "not_found", 404, r3),
                            (T[11], "not_found", 404, r3)]


def test_uncommitted_files_are_not_read(out: Path, tmp_path: Path, run_ids: list[str]
                                        ) -> None:
    copy_dir = tmp_path / "copy"
    shutil.copytree(out, copy_dir)
    r3 = run_ids[2]
    (src,) = [p for p in (copy_dir / "titles").rglob(f"{r3}-*.parquet")][:1]
    # A final-named chunk not in the commit log (a crash between rename and log).
    shutil.copyfile(src, src.with_name(f"{r3}-00099.parquet"))
    # What a build killed midway left (its process is gone: pids stop at 2**22).
    dead = copy_dir / f".{views.DATABASE}.{2**22 + 1}.tmp"
    dead.write_bytes(b"")
    db = views.build(copy_dir)
    assert not dead.exists()
    assert query(db, "SELECT COUNT(*) FROM titles_raw WHERE run_id = "
                 f"'{r3}'") == [(2,)]
    assert query(db, "SELECT COUNT(*) FROM committed_files WHERE path LIKE '%-00099%'"
                 ) == [(0,)]


READ = ("import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(c.execute('SELECT COUNT(*) FROM titles_latest').fetchone()[0], "
        "c.execute('SELECT COUNT(*) FROM similarity_changes').fetchone()[0])")


def read_elsewhere(db: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", READ, str(db)], cwd=cwd,
                          capture_output=True, text=True, check=False)


def test_opens_read_only_elsewhere_and_after_a_move_and_the_repoint(
        out: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = read_elsewhere(out / views.DATABASE, elsewhere)
    assert (proc.returncode, proc.stdout) == (0, "20 6\n"), proc.stderr
    before, after = tmp_path / "before", tmp_path / "after"
    shutil.copytree(out, before)
    views.build(before)
    before.rename(after)
    # Moved: the views still name the old place, and say so.
    proc = read_elsewhere(after / views.DATABASE, elsewhere)
    assert proc.returncode == 1 and str(before / "titles") in proc.stderr, proc.stderr
    # The documented re-point: rebuild where it now is.
    proc = subprocess.run([sys.executable, "-m", "analytics.views", str(after)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{after / views.DATABASE} (")
    paths = query(after / views.DATABASE, "SELECT path FROM committed_files")
    assert len(paths) > 20 and all(p.startswith(str(after) + os.sep) for (p,) in paths)
    proc = read_elsewhere(after / views.DATABASE, elsewhere)
    assert (proc.returncode, proc.stdout) == (0, "20 6\n"), proc.stderr


def small_graph() -> dict[str, TitleRecord]:
    small = {T[i]: copy.deepcopy(GRAPH[T[i]]) for i in (1, 2, 3)}
    cards(small, 1, [2])
    cards(small, 2, [1, 3])
    cards(small, 3, [1])
    return small


def full_disk_on_big_files() -> None:
    """In the crawl process: a file may not grow past 256 KB (EFBIG, what a full disk
    gives a writer).  The crawl's Parquet files fit; a DuckDB database (>= 512 KB)
    does not, so the disk fills only while the views are rebuilt."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))


def test_a_failed_views_rebuild_exits_1_and_leaves_no_older_database(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with MirrorServer(records=small_graph()) as mirror:
        first = run_crawl(mirror.base_url, out, seed=SEED, depth=0, settings=VIEWS)
        assert first.returncode == 0, first.stderr[-3000:]
        assert query(out / views.DATABASE, "SELECT COUNT(*) FROM titles_latest") == [(1,)]
        second = subprocess.run(crawl_command(mirror.base_url, out, seed=SEED, depth=2,
                                              settings=VIEWS),
                                cwd=ROOT, capture_output=True, text=True, timeout=300,
                                check=False, preexec_fn=full_disk_on_big_files)
    assert second.returncode == 1, second.stderr[-3000:]
    errors = [line for line in second.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "[analytics.extension] ERROR: views of" in errors[0], errors
    last = second.stderr.strip().splitlines()[-1]
    assert last.startswith(f"scrapy crawl more_like_this: error: views of '{out}' not built: ")
    assert "File too large" in last and last.endswith(
        "; the older dataset.duckdb was removed, so no reader takes it for the current state "
        f"(run `python -m analytics.views {out}` to build them again)"), last
    # No database answers for the first run only; nothing temporary is left.
    assert sorted(p.name for p in out.iterdir() if "duckdb" in p.name) == []
    # The data is committed all the same, and a build by hand shows both runs.
    assert sorted(r["tconst"] for r in read_table(out, "titles")) == sorted([T[1], T[1], T[2],
                                                                              T[3]])
    assert [r["finish_reason"] for r in read_table(out, "crawl_runs")] == ["finished"] * 2
    again = subprocess.run([sys.executable, "-m", "analytics.views", str(out)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert query(out / views.DATABASE, "SELECT (SELECT COUNT(*) FROM titles_latest), "
                 "(SELECT COUNT(*) FROM runs)") == [(3, 2)]


def test_a_failed_build_by_hand_says_so_in_one_line(tmp_path: Path) -> None:
    """``python -m analytics.views`` where the database cannot be replaced (a directory
    in its place, not ours to remove): exit 1, one line, the directory left alone."""
    out = tmp_path / "out"
    (out / views.DATABASE).mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "analytics.views", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"analytics.views: error: views of '{out}' not built: ")
    assert line.endswith("; dataset.duckdb is not a file and was left alone"), line
    assert (out / views.DATABASE).is_dir()


def test_docs_views_md_is_current() -> None:
    assert (ROOT / "docs" / "views.md").read_text(encoding="utf-8") == views.render_markdown()


def test_sql_text_names_the_committed_files(out: Path) -> None:
    text = views.sql_text(out)
    assert "${" not in text
    titles = views.committed_files(out)["titles"]
    assert titles and all(f"'{p}'" in text for p in titles)
