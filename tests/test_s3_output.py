"""OUTPUT_DIR on an object store (``s3://bucket/prefix``), against a real S3-compatible
server (moto_server on 127.0.0.1, tests/s3_server.py): the real spider against the
mirror writes the rows it writes to a local directory; readers see committed chunks
only; kill-and-resume with a local JOBDIR is exact; refresh, coverage, the report and
the views read the bucket; a bad URI or an unreachable endpoint is refused in one line.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest

from analytics import views
from crawler.state import dataset
from crawler.state.history import History
from mirror.server import MirrorServer
from pipelines import coverage
from pipelines.stores import read_commits, read_committed
from tests import forkserver
from tests.crawling import ROOT, crawl_command, run_crawl
from tests.redis_server import free_port
from tests.s3_server import S3Server, environment
from tests.test_resume import (
    DATA_TABLES,
    DEPTH,
    EXPECTED,
    GRAPH,
    LEVEL_ENDS,
    SEED,
    TOTAL,
    Trigger,
    _hashable,
    command,
    content,
    data_row,
    fail_inside,
    job_run_id,
    kill_inside,
)


def s3_rows(uri: str, table: str) -> list[dict[str, Any]]:
    """What a reader of the bucket sees: committed files, hive-partitioned."""
    return list(dataset.committed_dataset(uri, table).to_table().to_pylist())


def s3_content(uri: str) -> dict[str, Counter[str]]:
    return {table: Counter(_hashable(data_row(row)) for row in s3_rows(uri, table))
            for table in DATA_TABLES}


def objects(uri: str) -> list[str]:
    """Every object under the prefix, relative to it."""
    rem = dataset.remote(uri)
    assert rem is not None
    infos = rem.fs.get_file_info(pafs.FileSelector(rem.root, recursive=True,
                                                   allow_not_found=True))
    return sorted(i.path[len(rem.root) + 1:] for i in infos if i.type == pafs.FileType.File)


def uncommitted_objects(uri: str, run_id: str) -> list[str]:
    commits = set(read_commits(uri, run_id))
    return [o for o in objects(uri) if o.endswith(".parquet")
            and int(o.rsplit("-", 1)[1].removesuffix(".parquet")) not in commits]


def assert_same_dataset(uri: str, baseline: dict[str, Counter[str]]) -> None:
    got = s3_content(uri)
    for table in DATA_TABLES:
        dups = [row for row, n in got[table].items() if n > 1]
        assert not dups, f"duplicate rows in {table}: {dups[:3]}"
        assert got[table] == baseline[table], table
    run_ids = {r["run_id"] for r in s3_rows(uri, "crawl_runs")}
    assert len(run_ids) == 1, run_ids
    (run_id,) = run_ids
    assert uncommitted_objects(uri, run_id) == []  # recovery removed what was left over


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    """The same crawl, uninterrupted, to a local directory."""
    tmp = tmp_path_factory.mktemp("local")
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        proc = trigger.run(command(mirror.base_url, tmp / "out", tmp / "job"))
        assert proc.returncode == 0, proc.stderr[-3000:]
    data = content(tmp / "out")
    assert sum(data["titles"].values()) == TOTAL - len(EXPECTED.missing)
    return data


@pytest.fixture
def uri(s3_server: S3Server, s3_bucket: str) -> str:
    return s3_server.uri(s3_bucket, "imdb/dataset")


def test_objects_appear_only_whole_and_count_only_once_their_marker_exists(uri: str) -> None:
    from tests.test_parquet_exporter import TCONSTS, feed, make_exporter

    exporter = make_exporter(uri, PARQUET_ROW_GROUP_SIZE=2)
    feed(exporter, TCONSTS[:5])
    # Row groups went out (an upload in progress); nothing is visible before the commit.
    assert objects(uri) == []
    exporter.commit()
    assert objects(uri) == ["_state/run1.commits/00000",
                            "ratings/crawl_date=2024-05-01/run1-00000.parquet",
                            "titles/crawl_date=2024-05-01/run1-00000.parquet"]
    assert [r["tconst"] for r in s3_rows(uri, "titles")] == TCONSTS[:5]
    # A second session of the run (a resume) finds an uncommitted chunk left by a crash:
    # complete objects without a marker.  Readers ignore them; its recovery deletes them.
    feed(exporter, TCONSTS[5:])
    for table in list(exporter._open.buffers):
        exporter._flush(table)
    exporter.store.seal(exporter._key())  # every upload completed, then a crash: no marker
    assert "titles/crawl_date=2024-05-01/run1-00001.parquet" in objects(uri)
    assert [r["tconst"] for r in s3_rows(uri, "titles")] == TCONSTS[:5]
    again = make_exporter(uri)
    assert again.chunk == 1
    assert [o for o in objects(uri) if "-00001" in o] == []
    assert read_commits(uri, "run1") == [0]


def test_a_crawl_to_s3_writes_the_rows_of_the_same_crawl_to_a_local_directory(
    uri: str, tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = [*command(mirror.base_url, uri, tmp_path / "job"), "-s", "VIEWS_REBUILD=True"]
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_dataset(uri, baseline)
    run_id = job_run_id(tmp_path / "job")
    # One marker per committed chunk (a level each, then the crawl_runs row), no log file.
    assert read_commits(uri, run_id) == list(range(DEPTH + 2))
    state = [o for o in objects(uri) if o.startswith("_state/")]
    assert state == [f"_state/{run_id}.commits/{c:05d}" for c in range(DEPTH + 2)]
    # The layout of a local directory, under the prefix; nothing hidden, nothing else.
    data = [o for o in objects(uri) if not o.startswith("_state/")]
    assert "dataset.duckdb" in data
    assert all(o.split("/")[1].startswith("crawl_date=") and o.endswith(".parquet")
               for o in data if o != "dataset.duckdb")
    # The views were rebuilt by the crawl, and read the bucket.
    assert "views rebuilt: s3://" in proc.stderr
    con = views.connect(uri)
    try:
        titles = con.execute("SELECT COUNT(*) FROM titles_latest").fetchone()
        runs = con.execute("SELECT run_id, titles_fetched FROM runs").fetchall()
    finally:
        con.close()
    assert titles == (TOTAL - len(EXPECTED.missing),)
    assert runs == [(run_id, TOTAL - len(EXPECTED.missing))]
    # `scrapy report` reads the bucket and writes the page into it, whole.
    report = forkserver.run([sys.executable, "-m", "scrapy", "report", "-s",
                             f"OUTPUT_DIR={uri}"], cwd=ROOT, env=environment(),
                            capture_output=True, text=True, timeout=120, check=False)
    assert report.returncode == 0, report.stderr[-3000:]
    assert report.stdout.strip() == f"{uri.split('?')[0]}/report.html"
    rem = dataset.remote(uri)
    assert rem is not None
    with rem.fs.open_input_stream(rem.path("report.html")) as f:
        page = f.read().decode("utf-8")
    assert "Crawl report" in page and run_id in page
    assert "endpoint_override" in page and "secret" not in page


def test_readers_see_only_committed_chunks(uri: str, tmp_path: Path,
                                           baseline: dict[str, Counter[str]]) -> None:
    """Killed after level 1's objects were uploaded, before its marker: the objects are
    complete, under final names, and every reader ignores them; the resume removes them."""
    job = tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        killed = trigger.run(command(mirror.base_url, uri, job,
                                     kill_inside("commit:2")))
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        run_id = job_run_id(job)
        assert read_commits(uri, run_id) == [0]
        left = uncommitted_objects(uri, run_id)
        assert left and all("-00001.parquet" in o for o in left)
        # A naive reader of the prefix would see level 1; the committed dataset does not.
        rem = dataset.remote(uri)
        assert rem is not None
        naive = ds.dataset(rem.path("titles"), filesystem=rem.fs, format="parquet",
                           partitioning="hive").count_rows()
        assert naive == LEVEL_ENDS[1]
        assert [r["tconst"] for r in s3_rows(uri, "titles")] == [SEED]
        assert read_committed(uri, run_id, "titles", ["tconst"]).num_rows == 1
        assert len(History.load(uri)) == 1
        assert coverage.run_so_far(uri, run_id) == []
        assert views.committed_files(uri)["titles"] == [
            f"s3://{p}" for p in dataset.committed_paths(uri, "titles")]
        assert len(views.committed_files(uri)["titles"]) == 1
        # The resume deletes the uncommitted objects and fetches exactly the rest.
        proc = trigger.run(command(mirror.base_url, uri, job))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == TOTAL - LEVEL_ENDS[0]
    assert_same_dataset(uri, baseline)


KILL_POINTS = {"mid level 2": 12, "late level 3": 45}


@pytest.mark.parametrize("at", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_sigkill_then_resume_with_a_local_jobdir_is_exact(
    uri: str, tmp_path: Path, baseline: dict[str, Counter[str]], at: int
) -> None:
    job = tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, uri, job)
        assert trigger.run(cmd, at=at).returncode == -signal.SIGKILL
        run_id = job_run_id(job)
        done = {r["tconst"] for t in ("titles", "failures")
                for r in read_committed(uri, run_id, t, ["tconst"]).to_pylist()}
        # Whole levels are committed: exactly those before the one being fetched.
        assert len(done) == max(end for end in [0, *LEVEL_ENDS] if end < at)
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == TOTAL - len(done)
    assert_same_dataset(uri, baseline)


def test_a_damaged_committed_chunk_is_dropped_and_fetched_again(
    uri: str, tmp_path: Path, baseline: dict[str, Counter[str]]
) -> None:
    job = tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, uri, job)
        assert trigger.run(cmd, at=LEVEL_ENDS[2] + 1).returncode == -signal.SIGKILL
        run_id = job_run_id(job)
        assert read_commits(uri, run_id) == [0, 1, 2]
        rem = dataset.remote(uri)
        assert rem is not None
        (level_1,) = [p for p, chunk, _ in dataset.run_files(uri, "titles", run_id)
                      if chunk == 1]
        with rem.fs.open_input_stream(str(level_1)) as f:
            data = f.read()
        with rem.fs.open_output_stream(str(level_1)) as f:
            f.write(data[: len(data) // 2])
        proc = trigger.run(cmd)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "committed chunk 1 cannot be read" in proc.stderr
        assert trigger.titles == TOTAL - LEVEL_ENDS[0]
    assert_same_dataset(uri, baseline)


@pytest.mark.parametrize("point", ["write:9", "close:3", "log:3"])
def test_a_failing_store_exits_non_zero_and_a_rerun_completes_the_job(
    uri: str, tmp_path: Path, baseline: dict[str, Counter[str]], point: str
) -> None:
    """A write, an upload's completion or a marker that fails (injected in the crawl
    process): the open chunk is dropped, its objects deleted, exit 1; a rerun completes."""
    job = tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        failed = trigger.run(command(mirror.base_url, uri, job, fail_inside(point)))
        assert failed.returncode == 1, failed.stderr[-3000:]
        last = failed.stderr.strip().splitlines()[-1]
        assert "in OUTPUT_DIR 's3://" in last and "Traceback" not in failed.stderr, last
        run_id = job_run_id(job)
        assert uncommitted_objects(uri, run_id) == []
        done = {r["tconst"] for t in ("titles", "failures")
                for r in read_committed(uri, run_id, t, ["tconst"]).to_pylist()}
        assert len(done) < TOTAL
        proc = trigger.run(command(mirror.base_url, uri, job))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == TOTAL - len(done)
    assert_same_dataset(uri, baseline)


def test_a_refresh_over_s3_reuses_what_was_committed(uri: str) -> None:
    with MirrorServer(records=GRAPH) as mirror:
        first = run_crawl(mirror.base_url, uri, seed=SEED, depth=DEPTH)
        assert first.returncode == 0, first.stderr[-3000:]
        before = Counter(p for p, _ in mirror.log if p.startswith("/title/"))
        second = run_crawl(mirror.base_url, uri, seed=SEED, depth=DEPTH,
                           extra_args={"refresh": "7d"})
        assert second.returncode == 0, second.stderr[-3000:]
        asked = Counter(p for p, _ in mirror.log if p.startswith("/title/")) - before
    # Only the titles that failed last time (not found) are asked for again.
    assert sorted(p.split("/")[2] for p in asked) == sorted(EXPECTED.missing)
    fetched_ok = TOTAL - len(EXPECTED.missing)
    runs = sorted(s3_rows(uri, "crawl_runs"), key=lambda r: r["started_at"])
    assert [(r["titles_rows"], r["reused_rows"]) for r in runs] == [(fetched_ok, 0),
                                                                    (0, fetched_ok)]
    reused = s3_rows(uri, "reused")
    assert {r["fetched_run_id"] for r in reused} == {runs[0]["run_id"]}
    # The drift alarm compared against the first run's coverage, read from the bucket.
    assert coverage.previous_coverage(uri, runs[1]["run_id"])


def refused(output_dir: str) -> subprocess.CompletedProcess[str]:
    cmd = crawl_command("http://127.0.0.1:9", output_dir, seed=SEED)
    return forkserver.run(cmd, cwd=ROOT, env=environment(), capture_output=True, text=True,
                          timeout=120, check=False)


def test_an_unreachable_endpoint_is_refused_in_one_line(s3_server: S3Server) -> None:
    # A port nothing listens on (the mirror URL above is never asked either).
    proc = refused(f"s3://bucket/prefix?endpoint_override=http://127.0.0.1:{free_port()}")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot be reached" in lines[0] and "OUTPUT_DIR='s3://bucket/prefix" in lines[0]


@pytest.mark.parametrize(("output_dir", "says"), [
    ("s3:///prefix?endpoint_override={endpoint}", "not a valid object store URI"),
    ("s3://{bucket}/prefix?no_such_option=1", "not a valid object store URI"),
    ("s3://no-such-bucket/prefix?endpoint_override={endpoint}", "does not exist"),
    ("gs://{bucket}/prefix", "not a supported object store"),
    ("s3://AKID:SECRET@{bucket}/p?endpoint_override={endpoint}", "cannot be reached"),
])
def test_a_bad_object_store_is_refused_in_one_line(s3_server: S3Server, s3_bucket: str,
                                                   output_dir: str, says: str) -> None:
    value = output_dir.format(endpoint=s3_server.endpoint, bucket=s3_bucket)
    if "SECRET" in value:  # moto accepts any credentials: make it fail another way
        value = value.replace(s3_server.endpoint, f"http://127.0.0.1:{free_port()}")
    proc = refused(value)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert "SECRET" not in proc.stderr  # credentials in the URI are never printed
