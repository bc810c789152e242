"""Scheduled re-crawls with ``-a refresh``: fetch only what is stale, the same
neighbourhood as a full run, every scheduled title in exactly one outcome table,
kill-and-resume exact, and runs side by side in one OUTPUT_DIR."""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from crawler.state.dataset import committed_paths
from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, crawl_command, read_table, run_crawl
from tests.test_resume import Trigger

GRAPH = synthetic_graph(300, out_degree=4, seed=7)
SEED = tconst_of(1)
DEPTH, MAX_TITLES = 3, 120
EXPECTED = bfs_order(GRAPH, [SEED], DEPTH, MAX_TITLES)
SCHEDULED = set(EXPECTED.order)
OUTCOME_TABLES = ("titles", "failures", "aliases", "reused")


def crawl(mirror: MirrorServer, out: Path, depth: int = DEPTH, **kwargs: Any
          ) -> subprocess.CompletedProcess[str]:
    return run_crawl(mirror.base_url, out, seed=SEED, depth=depth, max_titles=MAX_TITLES,
                     **kwargs)


def title_requests(mirror: MirrorServer) -> Counter[str]:
    return Counter(p.split("/")[2] for p, _ in mirror.log if p.startswith("/title/"))


def run_ids(out: Path) -> list[str]:
    runs = sorted(read_table(out, "crawl_runs"), key=lambda r: r["started_at"])
    return list(dict.fromkeys(r["run_id"] for r in runs))


def outcomes_of(out: Path, run_id: str) -> dict[str, str]:
    """tconst -> its one outcome table in a run; fails on a title with two."""
    seen: dict[str, str] = {}
    for table in OUTCOME_TABLES:
        for row in read_table(out, table):
            if row["run_id"] != run_id:
                continue
            assert row["tconst"] not in seen, (row["tconst"], seen.get(row["tconst"]), table)
            seen[row["tconst"]] = table
    return seen


def age(out: Path, tconsts: set[str], by: timedelta) -> None:
    """Make the committed rows of ``tconsts`` look fetched ``by`` earlier (files rewritten
    atomically, as the crawl writes them)."""
    stale = pa.array(sorted(tconsts), pa.string())
    for table in ("titles", "ratings", "credits", "more_like_this", "failures", "aliases"):
        for path in committed_paths(out, table):
            t = pq.read_table(path)
            mask = pc.is_in(t.column("tconst"), value_set=stale)
            # A live page is observed when fetched: observed_at moves with crawled_at.
            for name in ("crawled_at", "observed_at"):
                if name not in t.column_names:
                    continue
                shifted = pc.if_else(mask, pc.subtract(t.column(name), pa.scalar(by)),
                                     t.column(name))
                t = t.set_column(t.schema.get_field_index(name), t.schema.field(name),
                                 shifted)
            tmp = Path(path).with_name("." + Path(path).name + ".tmp")
            pq.write_table(t, tmp)
            tmp.replace(path)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTPUT_DIR after one full run (refresh=0)."""
    out = tmp_path_factory.mktemp("full") / "out"
    with MirrorServer(records=GRAPH) as mirror:
        proc = crawl(mirror, out)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert title_requests(mirror) == Counter(EXPECTED.order)
    return out


def copy_of(full_run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(full_run, out)
    return out


def test_a_refresh_right_after_a_full_run_fetches_nothing(full_run: Path, tmp_path: Path
                                                          ) -> None:
    out = copy_of(full_run, tmp_path)
    with MirrorServer(records=GRAPH) as mirror:
        proc = crawl(mirror, out, extra_args={"refresh": "7d"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        # Only the titles that failed last time (not found) are asked for again.
        assert title_requests(mirror) == Counter(EXPECTED.missing)
    first, second = run_ids(out)
    # The same neighbourhood as the full run, every page reused from the run that fetched it.
    fetched_ok = SCHEDULED - set(EXPECTED.missing)
    assert outcomes_of(out, second) == {
        **dict.fromkeys(fetched_ok, "reused"), **dict.fromkeys(EXPECTED.missing, "failures")}
    reused = [r for r in read_table(out, "reused") if r["run_id"] == second]
    assert {r["fetched_run_id"] for r in reused} == {first}
    depth = EXPECTED.depth
    assert all(r["depth"] == depth[r["tconst"]] for r in reused)
    run = next(r for r in read_table(out, "crawl_runs") if r["run_id"] == second)
    assert (run["reused_rows"], run["titles_rows"], run["refresh_seconds"]) == (
        len(fetched_ok), 0, 7 * 86400)
    assert run["finish_reason"] == "finished"
    missing = len(EXPECTED.missing)
    assert f"0 titles fetched, {len(fetched_ok)} reused, {missing} failed" in proc.stderr


def test_a_refresh_fetches_exactly_the_stale_titles_and_what_failed(full_run: Path,
                                                                    tmp_path: Path) -> None:
    out = copy_of(full_run, tmp_path)
    fetched_ok = [t for t in EXPECTED.order if t not in EXPECTED.missing]
    stale = set(fetched_ok[::2])
    age(out, stale, timedelta(days=10))
    with MirrorServer(records=GRAPH) as mirror:
        proc = crawl(mirror, out, extra_args={"refresh": "7d"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        asked = title_requests(mirror)
    # The stale half, and the titles that failed last time (not found), once each.
    assert asked == Counter(stale | set(EXPECTED.missing))
    _, second = run_ids(out)
    got = outcomes_of(out, second)
    assert set(got) == SCHEDULED
    assert {t for t, table in got.items() if table == "reused"} == set(fetched_ok) - stale
    assert {t for t, table in got.items() if table == "titles"} == stale
    # The walk went on through the reused titles' recorded edges: same edges as the full run.
    edges = [r for r in read_table(out, "more_like_this") if r["run_id"] == second]
    assert {(r["tconst"], r["similar_tconst"]) for r in edges} == {
        (a, b) for a, b, _ in EXPECTED.ranked_edges if a in stale}


def test_a_recorded_merge_is_followed_to_its_canonical_title(tmp_path: Path) -> None:
    out = tmp_path / "out"
    target = tconst_of(250)
    merged = GRAPH[SEED]["more_like_this"][0]["tconst"]
    faults = {merged: Fault.redirect(target)}
    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        first = crawl(mirror, out, depth=1)
        assert first.returncode == 0, first.stderr[-3000:]
    with MirrorServer(records=GRAPH) as mirror:  # the merge is no longer served
        proc = crawl(mirror, out, depth=1, extra_args={"refresh": "7d"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert title_requests(mirror) == Counter()
    _, second = run_ids(out)
    got = outcomes_of(out, second)
    assert got[merged] == "reused" and got[target] == "reused"
    aliases = {r["tconst"]: r["canonical_tconst"] for r in read_table(out, "aliases")}
    assert aliases == {merged: target}  # recorded once, by the run that saw it


def test_a_killed_refresh_run_resumes_exactly(full_run: Path, tmp_path: Path) -> None:
    fetched_ok = [t for t in EXPECTED.order if t not in EXPECTED.missing]
    stale = set(fetched_ok[1::2])
    results = {}
    for name in ("uninterrupted", "killed"):
        out = copy_of(full_run, tmp_path / name)
        age(out, stale, timedelta(days=10))
        job = tmp_path / name / "job"
        with MirrorServer(records=GRAPH) as mirror:
            trigger = Trigger(mirror)
            cmd = crawl_command(mirror.base_url, out, seed=SEED, depth=DEPTH,
                                max_titles=MAX_TITLES, extra_args={"refresh": "7d"},
                                settings={"JOBDIR": str(job)})
            if name == "killed":
                killed = trigger.run(cmd, at=len(stale) // 2)
                assert killed.returncode == -signal.SIGKILL
            proc = trigger.run(cmd)
            assert proc.returncode == 0, proc.stderr[-3000:]
        run_id = run_ids(out)[-1]
        results[name] = {
            table: Counter((r["tconst"], r.get("similar_tconst"), r.get("fetched_run_id"))
                           for r in read_table(out, table) if r["run_id"] == run_id)
            for table in ("titles", "failures", "aliases", "reused", "more_like_this")
        }
        assert set(outcomes_of(out, run_id)) == SCHEDULED
    assert results["killed"] == results["uninterrupted"]


def test_two_runs_side_by_side_in_one_output_dir(full_run: Path, tmp_path: Path) -> None:
    """Distinct run ids, each run's rows whole and once; a refresh decision never reads
    the other run's uncommitted rows."""
    out = copy_of(full_run, tmp_path)
    other_seed = tconst_of(2)
    other = bfs_order(GRAPH, [other_seed], 2, 60)
    with MirrorServer(records=GRAPH) as mirror:
        cmds = [
            crawl_command(mirror.base_url, out, seed=SEED, depth=DEPTH,
                          max_titles=MAX_TITLES),
            crawl_command(mirror.base_url, out, seed=other_seed, depth=2, max_titles=60,
                          extra_args={"refresh": "7d"}),
        ]
        procs = [forkserver.popen(c, cwd=ROOT, text=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for c in cmds]
        logs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [log[-2000:] for log in logs]
    ids = run_ids(out)
    assert len(ids) == len(set(ids)) == 3
    runs = {r["run_id"]: r for r in read_table(out, "crawl_runs")}
    full_again = next(i for i in ids[1:] if runs[i]["seeds"] == [SEED])
    refreshed = next(i for i in ids[1:] if runs[i]["seeds"] == [other_seed])
    assert outcomes_of(out, full_again) == {
        t: "failures" if t in EXPECTED.missing else "titles" for t in EXPECTED.order}
    got = outcomes_of(out, refreshed)
    assert set(got) == set(other.order)
    # Reused rows point only at committed fetches (the first run's, or the other's).
    fetched_by = {r["fetched_run_id"] for r in read_table(out, "reused")
                  if r["run_id"] == refreshed}
    assert fetched_by <= {ids[0], full_again}
    for table in ("titles", "more_like_this", "credits"):
        rows = [(r["run_id"], r["tconst"], r.get("similar_tconst"), r.get("category"),
                 r.get("ordering")) for r in read_table(out, table)]
        assert len(rows) == len(set(rows)), table


def test_two_refresh_runs_at_once_fetch_each_stale_title_once(full_run: Path,
                                                               tmp_path: Path) -> None:
    """Every title is stale; two refresh runs start together: each title is fetched by one
    of them (its claim), the other waits for that row and reuses it (issue 19, 9b)."""
    out = copy_of(full_run, tmp_path)
    age(out, SCHEDULED, timedelta(days=10))
    depth = 2
    scheduled = {t for t in EXPECTED.order if EXPECTED.depth[t] <= depth}
    with MirrorServer(records=GRAPH) as mirror:
        cmd = crawl_command(mirror.base_url, out, seed=SEED, depth=depth, max_titles=MAX_TITLES,
                            extra_args={"refresh": "7d"}, settings={"DOWNLOAD_DELAY": "0.1"})
        procs = [forkserver.popen(cmd, cwd=ROOT, text=True, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for _ in range(2)]
        logs = [p.communicate(timeout=300)[1] for p in procs]
        fetched = title_requests(mirror)
    assert [p.returncode for p in procs] == [0, 0], [log[-2000:] for log in logs]
    pages = scheduled - set(EXPECTED.missing)
    assert {t: fetched[t] for t in pages} == dict.fromkeys(pages, 1)
    assert any("being fetched by another refresh run" in log for log in logs)
    _, *others = run_ids(out)
    assert len(others) == 2
    fetched_by = {run: {r["tconst"] for r in read_table(out, "titles") if r["run_id"] == run}
                  for run in others}
    for run, other in (others, others[::-1]):
        assert set(outcomes_of(out, run)) == scheduled  # each run accounts for every title
        reused = {r["tconst"]: r["fetched_run_id"] for r in read_table(out, "reused")
                  if r["run_id"] == run}
        assert set(reused) == pages - fetched_by[run]
        assert set(reused.values()) <= {other}  # what it did not fetch, the other did
    # No claim is left: only tombstones of committed fetches (pruned by later runs).
    claims = list((out / "_state" / "claims").iterdir())
    assert claims and all(p.read_text().endswith("\ncommitted") for p in claims)
