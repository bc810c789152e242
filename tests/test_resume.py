"""Kill-and-resume: the real spider against the mirror, stopped at chosen points.

With JOBDIR, a crawl killed with SIGKILL (or stopped with Ctrl-C) and started
again with the same command must end with the dataset of an uninterrupted run.
Without JOBDIR, whatever is left after a kill must still be readable.

Kills are deterministic: the mirror sends the signal when the N-th title request
arrives (its hit counter is wrapped), or, for points inside the commit protocol,
a small extension loaded into the crawl process SIGKILLs itself there.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import signal
import subprocess
import threading
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import IO, Any

import pyarrow.parquet as pq
import pytest

from crawler import settings as project_settings
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from pipelines.schemas import SCHEMAS
from pipelines.stores import read_commits, read_committed
from tests import forkserver
from tests.crawling import ROOT, crawl_command, read_table

GRAPH = synthetic_graph(60, out_degree=4, seed=3)
SEED = tconst_of(1)
DEPTH = 3
EXPECTED = bfs_order(GRAPH, [SEED], DEPTH, 1000)
# Title requests made by the end of each level: 1, 5, 20, 49 (levels of 1, 4, 15, 29).
LEVEL_ENDS = list(accumulate(Counter(EXPECTED.depth.values())[d] for d in range(DEPTH + 1)))
TOTAL = LEVEL_ENDS[-1]
# Per-session records (like crawl_runs) are not data: a resumed run adds its own.
DATA_TABLES = [t for t in SCHEMAS if t not in ("crawl_runs", "field_coverage")]
STAMPS = {"run_id", "crawled_at"}
TIMEOUT = 60.0
LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")


# --- killing from the mirror ------------------------------------------------------------


class Trigger:
    """Wraps the mirror's hit counter: sends ``sig`` to the crawl when its ``at``-th title
    request arrives, before the mirror answers it.

    With ``hold_until``, that request and every later title request wait in the mirror
    until the crawl logs that text (or ends), so nothing new completes in between.  With
    ``again_on``, ``sig`` is sent once more when the crawl logs that text.
    """

    def __init__(self, mirror: MirrorServer) -> None:
        self._mirror = mirror
        self._count = mirror._count
        mirror._count = self._counting  # type: ignore[method-assign]
        self._lock = threading.Lock()
        self._pid_known = threading.Event()
        self._released = threading.Event()
        self.pid = 0
        self.at: int | None = None
        self.sig = signal.SIGKILL
        self.hold_until: str | None = None
        self.again_on: str | None = None
        self.titles = 0  # title requests of the current session
        self.prefix = "/title/"  # paths that are title requests ("/web/" for an archive)
        self.fired = False
        # Each session's crawl sends its own User-Agent: a request a killed session sent
        # just before its end can reach the mirror after the next session started.
        self.sessions = 0

    def _agent(self) -> str:
        return f"resume-test-session/{self.sessions}"

    def _counting(self, path: str) -> int:
        attempt = self._count(path)
        if not path.startswith(self.prefix):
            return attempt
        if getattr(self._mirror.serving, "user_agent", "") != self._agent():
            return attempt
        with self._lock:
            self.titles += 1
            fire = self.titles == self.at
        if fire:
            self._pid_known.wait(TIMEOUT)
            os.kill(self.pid, self.sig)
            self.fired = True
        if self.fired and self.hold_until is not None:
            self._released.wait(TIMEOUT)
        return attempt

    def _read_log(self, stream: IO[str], lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if self.again_on is not None and self.again_on in line:
                os.kill(self.pid, self.sig)
            if self.hold_until is not None and self.hold_until in line:
                self._released.set()
        self._released.set()  # the crawl ended

    def run(self, cmd: list[str], *, at: int | None = None,
            sig: signal.Signals = signal.SIGKILL,
            hold_until: str | None = None,
            again_on: str | None = None) -> subprocess.CompletedProcess[str]:
        with self._lock:
            self.sessions += 1
            self.titles, self.at, self.sig, self.fired = 0, at, sig, False
            self.hold_until, self.again_on = hold_until, again_on
            self._pid_known.clear()
            self._released.clear()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [*cmd, "-s", f"USER_AGENT={self._agent()}"]
        proc = forkserver.popen(cmd, cwd=ROOT, env=env, text=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = proc.pid
        self._pid_known.set()
        lines: list[str] = []
        assert proc.stderr is not None
        reader = threading.Thread(target=self._read_log, args=(proc.stderr, lines), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            log = "".join(lines)[-3000:]
            raise AssertionError(f"crawl did not end in {TIMEOUT}s:\n{log}") from None
        finally:
            reader.join(TIMEOUT)
            proc.stderr.close()
        if at is not None:
            assert self.fired, f"the crawl ended before its title request #{at}"
        return subprocess.CompletedProcess(cmd, proc.returncode, "", "".join(lines))


# --- killing from inside the crawl --------------------------------------------------------


class KillInside:
    """Extension for the crawl process: SIGKILLs it at ``KILL_AT`` (a setting).

    ``commit:N``: inside the N-th chunk commit of the session, after its files were
    sealed (under hidden names) and before the commit log records it.  ``publish:N``:
    after the commit log recorded it, before its files get their final names.
    ``crawl_run``: at close, when the
    session's crawl_runs row is about to be written (all data committed).  ``job_state``:
    when the spider's job file (or a tmp file beside it) is opened for writing at close,
    before any byte is written: where a kill lands between those two system calls.
    """

    def __init__(self, point: str, jobdir: str | None) -> None:
        from pipelines.parquet import ParquetExporter

        kill = lambda: os.kill(os.getpid(), signal.SIGKILL)  # noqa: E731
        if point.startswith("commit:"):
            target = int(point.split(":")[1])
            log_commit = ParquetExporter._log_commit
            calls = Counter[str]()

            def _log_commit(exporter: ParquetExporter, chunk: int) -> None:
                calls["commit"] += 1
                if calls["commit"] == target:
                    kill()
                log_commit(exporter, chunk)

            ParquetExporter._log_commit = _log_commit  # type: ignore[method-assign]
        elif point.startswith("publish:"):
            from pipelines.stores.base import ParquetChunkStore

            target = int(point.split(":")[1])
            publish = ParquetChunkStore.publish
            published = Counter[str]()

            def publish_(store: ParquetChunkStore, chunk: Any) -> None:
                published["publish"] += 1
                if published["publish"] == target:
                    kill()
                publish(store, chunk)

            ParquetChunkStore.publish = publish_  # type: ignore[method-assign]
        elif point == "crawl_run":
            from pipelines.run_recorder import RunRecorder

            RunRecorder.write_crawl_run = lambda *a, **k: kill()  # type: ignore[method-assign]
        elif point == "job_state":
            # The spider wrote its state before extensions exist: what follows is at close.
            assert jobdir
            job = Path(jobdir).resolve()
            real_open = io.open

            def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
                f = real_open(file, mode, *args, **kwargs)
                if (isinstance(file, str | os.PathLike) and "r" not in mode
                        and Path(file).name.lstrip(".").startswith("more_like_this")
                        and Path(file).resolve().parent == job):
                    kill()  # opened for writing, so truncated; nothing written yet
                return f

            io.open = builtins.open = open_  # type: ignore[assignment]
        else:
            raise ValueError(point)

    @classmethod
    def from_crawler(cls, crawler: Any) -> KillInside:
        return cls(crawler.settings.get("KILL_AT"), crawler.settings.get("JOBDIR"))


class FailInside:
    """Loaded into the crawl process: from the N-th call of one kind of write on (or from
    the N-th to the M-th, ``kind:N-M``), the disk is full (OSError ENOSPC).  Kinds:
    ``write`` (a row group), ``close`` (a file's footer), ``rename`` (tmp to final name),
    ``log`` (the commit log)."""

    def __init__(self, point: str) -> None:
        import errno

        import pyarrow.parquet as pq_

        from pipelines import parquet
        from pipelines.stores import local

        kind, nth = point.split(":")
        first, _, last = nth.partition("-")
        failing_calls = range(int(first), int(last) + 1 if last else 1 << 30)
        calls = Counter[str]()

        def failing(real: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                calls[kind] += 1
                if calls[kind] in failing_calls:
                    raise OSError(errno.ENOSPC, "No space left on device", "(injected)")
                return real(*args, **kwargs)
            return call

        if kind == "write":
            pq_.ParquetWriter.write_table = failing(pq_.ParquetWriter.write_table)
        elif kind == "close":
            pq_.ParquetWriter.close = failing(pq_.ParquetWriter.close)
        elif kind == "rename":
            local.os.replace = failing(os.replace)
        elif kind == "log":
            parquet.ParquetExporter._log_commit = failing(  # type: ignore[method-assign]
                parquet.ParquetExporter._log_commit)
        else:
            raise ValueError(point)

    @classmethod
    def from_crawler(cls, crawler: Any) -> FailInside:
        return cls(crawler.settings.get("FAIL_AT"))


def fail_inside(point: str) -> dict[str, str]:
    extensions = {**project_settings.EXTENSIONS, f"{__name__}.FailInside": 0}
    return {"EXTENSIONS": json.dumps(extensions), "FAIL_AT": point}


def kill_inside(point: str) -> dict[str, str]:
    extensions = {**project_settings.EXTENSIONS, f"{__name__}.KillInside": 0}
    return {"EXTENSIONS": json.dumps(extensions), "KILL_AT": point}


# --- reading and checking the output ------------------------------------------------------


def command(base_url: str, out: Path, jobdir: Path | None,
            settings: dict[str, str] | None = None) -> list[str]:
    extra = {"JOBDIR": str(jobdir)} if jobdir is not None else {}
    # Small row groups: a level is written to hidden tmp files while it is fetched.
    merged = {"PARQUET_ROW_GROUP_SIZE": "7", **extra, **(settings or {})}
    return crawl_command(base_url, out, seed=SEED, depth=DEPTH, settings=merged)


def _hashable(value: Any) -> str:
    # Each test has its own mirror, on its own port.
    return LOCAL_URL.sub("http://mirror", json.dumps(value, sort_keys=True, default=str))


def data_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row without run id and fetch time; a live page's observed_at, its fetch time,
    stands as that, and so does an archive run's row with no capture, whose observed_at
    is the run's as_of (the run's start with as_of=latest); an archived page's, its
    capture time, is kept."""
    out = {k: v for k, v in row.items() if k not in STAMPS}
    if "observed_at" in out and out["observed_at"] == row.get("crawled_at"):
        out["observed_at"] = "crawled_at"
    elif "observed_at" in out and row.get("captured_at") is None:
        out["observed_at"] = "the run's as_of"
    return out


def content(out: Path) -> dict[str, Counter[str]]:
    """Every data table as a multiset of rows (``data_row``)."""
    return {
        table: Counter(_hashable(data_row(row)) for row in read_table(out, table))
        for table in DATA_TABLES
    }


def assert_readable(out: Path) -> None:
    """What a reader's ``**/*.parquet`` glob finds opens; leftovers are hidden names only."""
    for path in out.rglob("*"):
        if path == out / "dataset.duckdb":  # the views (analytics.views), no rows
            continue
        if path.is_file() and not path.name.startswith(".") and "_state" not in path.parts:
            assert path.suffix == ".parquet", path
            pq.read_table(path)  # raises on a torn or unfinished file
    for path in out.glob("**/*.parquet"):
        assert not any(p.startswith(".") for p in path.relative_to(out).parts), path


def assert_same_dataset(out: Path, baseline: dict[str, Counter[str]]) -> None:
    assert_readable(out)
    assert not [p for p in out.rglob(".*.tmp")], "tmp files left after a finished job"
    got = content(out)
    for table in DATA_TABLES:
        dups = [row for row, n in got[table].items() if n > 1]
        assert not dups, f"duplicate rows in {table}: {dups[:3]}"
        assert got[table] == baseline[table], table
    titles = read_table(out, "titles")
    fetched = set(EXPECTED.order) - set(EXPECTED.missing)
    assert sorted(r["tconst"] for r in titles) == sorted(fetched)
    edges = Counter((r["tconst"], r["similar_tconst"], r["rank"])
                    for r in read_table(out, "more_like_this"))
    assert edges == Counter(EXPECTED.ranked_edges)
    failures = read_table(out, "failures")
    assert sorted((r["tconst"], r["reason"]) for r in failures) == sorted(
        (t, "not_found") for t in EXPECTED.missing
    )
    run_ids = {r["run_id"] for t in (*DATA_TABLES, "crawl_runs") for r in read_table(out, t)}
    assert len(run_ids) == 1, run_ids
    (run_id,) = run_ids
    # A reader sees committed chunks only: no final-named file outside the commit log.
    commits = set(read_commits(out, run_id))
    for path in out.glob("*/crawl_date=*/*.parquet"):
        assert int(path.stem.rsplit("-", 1)[1]) in commits, path
    runs = read_table(out, "crawl_runs")
    assert runs and all(r["finish_reason"] in ("finished", "shutdown", "output_failed")
                        for r in runs)
    assert max(runs, key=lambda r: r["finished_at"])["finish_reason"] == "finished"


def committed_outcomes(out: Path, job: Path) -> set[str]:
    """Titles whose outcome the job has committed: what a resume must not fetch again."""
    run_id = job_run_id(job)
    hidden = {r["tconst"] for path in committed_hidden(out, run_id)
              if path.parent.parent.name in ("titles", "failures", "aliases")
              for r in pq.read_table(path, columns=["tconst"]).to_pylist()}
    return hidden | {
        r["tconst"]
        for table in ("titles", "failures", "aliases")
        for r in read_committed(out, run_id, table, ["tconst"]).to_pylist()
    }


def resume(trigger: Trigger, cmd: list[str], out: Path, job: Path) -> None:
    """Runs the same command once more; it must finish, fetching only what is missing."""
    done = committed_outcomes(out, job)
    proc = trigger.run(cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert trigger.titles == TOTAL - len(done)


def hidden_tmp_files(out: Path) -> list[Path]:
    return list(out.rglob(".*.parquet.tmp"))


def uncommitted_final_files(out: Path, run_id: str) -> list[Path]:
    commits = set(read_commits(out, run_id))
    return [p for p in out.glob("*/crawl_date=*/*.parquet")
            if int(p.stem.rsplit("-", 1)[1]) not in commits]


def committed_hidden(out: Path, run_id: str) -> list[Path]:
    """Files of committed chunks still under hidden names (a kill before their renames)."""
    commits = set(read_commits(out, run_id))
    return [p for p in hidden_tmp_files(out)
            if int(p.name.removesuffix(".parquet.tmp").rsplit("-", 1)[1]) in commits]


def job_run_id(job: Path) -> str:
    return json.loads((job / "more_like_this.json").read_text(encoding="utf-8"))["run_id"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    return uninterrupted(tmp_path_factory)


def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Counter[str]]:
    """The dataset of an uninterrupted run of the same command."""
    tmp = tmp_path_factory.mktemp("baseline")
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        proc = trigger.run(command(mirror.base_url, tmp / "out", tmp / "job"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert trigger.titles == TOTAL
    # One commit per level, one for the crawl_runs row.
    assert read_commits(tmp / "out", job_run_id(tmp / "job")) == list(range(DEPTH + 2))
    data = content(tmp / "out")
    assert sum(data["titles"].values()) == TOTAL - len(EXPECTED.missing)
    return data


# --- SIGKILL with JOBDIR -------------------------------------------------------------------


KILL_POINTS = {
    "first request": 1,
    "mid level 1": 3,
    "last request of level 1": LEVEL_ENDS[1],
    "first request of level 2": LEVEL_ENDS[1] + 1,  # level 1 is committed by then
    "mid level 2": 12,
    "first request of level 3": LEVEL_ENDS[2] + 1,
    "late level 3": 45,
    "last request": TOTAL,
}


@pytest.mark.parametrize("at", KILL_POINTS.values(), ids=KILL_POINTS.keys())
def test_sigkill_at_a_title_request_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]], at: int
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=at).returncode == -signal.SIGKILL
        assert_readable(out)
        # Whole levels are committed: exactly those before the one being fetched.
        done = len(committed_outcomes(out, job))
        assert done == max(end for end in [0, *LEVEL_ENDS] if end < at)
        if at == 45:
            assert hidden_tmp_files(out)  # level 3 was being written
        resume(trigger, cmd, out, job)
    assert_same_dataset(out, baseline)


def test_killed_twice_then_resumed(tmp_path: Path, baseline: dict[str, Counter[str]]) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        cmd = command(mirror.base_url, out, job)
        assert trigger.run(cmd, at=12).returncode == -signal.SIGKILL  # in level 2
        # The second session starts again at level 2 (15 requests) and dies in level 3.
        assert trigger.run(cmd, at=25).returncode == -signal.SIGKILL
        assert_readable(out)
        assert len(committed_outcomes(out, job)) == LEVEL_ENDS[2]
        resume(trigger, cmd, out, job)
    assert_same_dataset(out, baseline)


COMMIT_POINTS = {
    "commit of level 1": "commit:2",
    "between the commit of level 1 and its renames": "publish:2",
    "commit of the last level": f"commit:{DEPTH + 1}",
    "before the crawl_runs row": "crawl_run",
    "commit of the crawl_runs row": f"commit:{DEPTH + 2}",
}


@pytest.mark.parametrize("point", COMMIT_POINTS.values(), ids=COMMIT_POINTS.keys())
def test_sigkill_inside_the_commit_protocol_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]], point: str
) -> None:
    out, job = tmp_path / "out", tmp_path / "job"
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        killed = trigger.run(command(mirror.base_url, out, job, kill_inside(point)))
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert_readable(out)
        assert not uncommitted_final_files(out, job_run_id(job))  # glob readers see none
        if point.startswith("commit:"):
            # Sealed but not in the commit log: hidden files a resume must drop.
            assert hidden_tmp_files(out)
        if point.startswith("publish:"):
            # Committed under hidden names: a resume publishes it, and fetches none of it.
            assert committed_hidden(out, job_run_id(job))
        resume(trigger, command(mirror.base_url, out, job), out, job)
    assert_same_dataset(out, baseline)


@pytest.mark.parametrize("point", ["commit:4", "commit:8"], ids=["level 2", "level 3"])
def test_sigkill_with_commits_inside_levels_then_resume(
    tmp_path: Path, baseline: dict[str, Counter[str]], point: str
) -> None:
    """PARQUET_COMMIT_ROWS commits part of a level; the resume replays that part."""
    out, job = tmp_path / "out", tmp_path / "job"
    settings = {"PARQUET_COMMIT_ROWS": "4"}
    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        killed = trigger.run(command(mirror.base_url, out, job, {**settings,
                                                                 **kill_inside(point)}))
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
        assert len(committed_outcomes(out, job)) not in LEVEL_ENDS  # a level cut in two
        resume(trigger, command(mirror.base_url, out, job, settings), out, job)
    assert_same_dataset(out, baseline)


def test_the_trigger_counts_only_its_current_sessions_title_requests() -> None:
    """A request a killed session sent just before its end can be served after the next
    session started (seen: 49 title requests counted for a resume that made 48)."""
    import urllib.request

    def get(url: str, agent: str) -> None:
        request = urllib.request.Request(url, headers={"User-Agent": agent})
        with urllib.request.urlopen(request, timeout=30) as answer:
            answer.read()

    with MirrorServer(records=GRAPH) as mirror:
        trigger = Trigger(mirror)
        trigger.sessions = 2  # the second session runs
        get(mirror.url(SEED), "resume-test-session/1")  # the killed one's, served late
        assert trigger.titles == 0
        get(mirror.url(SEED), "resume-test-session/2")
        get(f"{mirror.base_url}/robots.txt", "resume-test-session/2")
        assert trigger.titles == 1
        assert mirror.hits[f"/title/{SEED}/"] == 2  # the mirror itself counts both
