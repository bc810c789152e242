"""Job state in JOBDIR: what lets a killed or stopped crawl resume as the same run.

``JOBDIR/more_like_this.json`` records the run id, the arguments and the start
time (and, once the run finished, when).  It is replaced atomically, so a kill
never leaves it torn.  ``JOBDIR/lock`` is held with ``flock`` for the life of the
crawl: a second crawl on the same JOBDIR is refused, and a lock left by a killed
run dies with it.  On resume the frontier is rebuilt from the rows the run
committed to ``OUTPUT_DIR`` (see ``crawler.frontier.local.Frontier.replay``); a
committed chunk that cannot be read is dropped, with every chunk after it, so
that exactly its titles are fetched again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from crawler.frontier.local import Frontier
from crawler.records import Outcome
from crawler.state import dataset
from crawler.state.atomic import TMP_SUFFIX, write_atomic
from crawler.state.commits import publish_committed
from crawler.state.run import RUN_ID_RE, Run

if TYPE_CHECKING:
    from crawler.state.history import History

logger = logging.getLogger(__name__)

JOB_FILE = "more_like_this.json"
LOCK_FILE = "lock"
_STRING = pa.string()
_REPLAY_SCHEMAS = {
    "titles": pa.schema([("tconst", _STRING)]),
    "failures": pa.schema([("tconst", _STRING)]),
    "aliases": pa.schema([("tconst", _STRING), ("canonical_tconst", _STRING)]),
    "more_like_this": pa.schema(
        [("tconst", _STRING), ("similar_tconst", _STRING), ("rank", pa.int32())]),
    "reused": pa.schema([("tconst", _STRING)]),
}
_REUSED_SCHEMA = pa.schema([("tconst", _STRING), ("fetched_run_id", _STRING),
                            ("fetched_at", pa.timestamp("us", tz="UTC"))])
# Every table a chunk may hold a file in (checked for damage on resume).
DATA_TABLES = ("titles", "ratings", "credits", "more_like_this", "failures", "aliases",
               "reused", "credit_categories", "subpage_failures")

_held_locks: dict[str, int] = {}  # realpath of a JOBDIR -> fd holding its lock


class JobError(ValueError):
    """The JOBDIR cannot be used as asked (one line, for the user)."""


@dataclass(frozen=True)
class JobState:
    run_id: str
    arguments: dict[str, str]
    started_at: datetime
    finished_at: datetime | None


def job_file(jobdir: str | os.PathLike[str]) -> Path:
    return Path(jobdir) / JOB_FILE


def read_job(jobdir: str | os.PathLike[str]) -> JobState | None:
    """The job recorded in ``jobdir``, None when there is none; JobError when unreadable."""
    path = job_file(jobdir)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise JobError(f"JOBDIR={str(jobdir)!r}: its job file {path} cannot be read ({exc}); "
                       "remove it to start a new job") from None
    try:
        return _job_state(state)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise JobError(f"JOBDIR={str(jobdir)!r}: its job file {path} is not a job of this "
                       "crawler (expected run_id, arguments, started_at); remove it to start "
                       "a new job") from None


def _job_state(state: Any) -> JobState:
    run_id, arguments = state["run_id"], state["arguments"]
    if not isinstance(run_id, str) or not RUN_ID_RE.match(run_id):
        raise ValueError(run_id)
    if not isinstance(arguments, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in arguments.items()
    ):
        raise ValueError(arguments)
    finished = state.get("finished_at")
    return JobState(
        run_id=run_id,
        arguments=arguments,
        started_at=datetime.fromisoformat(state["started_at"]),
        finished_at=datetime.fromisoformat(finished) if finished else None,
    )


def check_job(jobdir: str | os.PathLike[str], arguments: dict[str, str]) -> JobState | None:
    """The job a crawl with ``arguments`` would resume; JobError if it must not run."""
    state = read_job(jobdir)
    if state is not None and state.arguments != arguments:
        raise JobError(f"JOBDIR={str(jobdir)!r} holds a job with other arguments "
                       f"({state.arguments}); use another JOBDIR or the same arguments")
    return state


def lock_job(jobdir: str | os.PathLike[str]) -> None:
    """Hold JOBDIR's lock until the process exits; JobError naming the holder if taken."""
    path = Path(jobdir)
    key = os.path.realpath(path)
    if key in _held_locks:
        return
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise JobError(f"JOBDIR={str(jobdir)!r} cannot be used: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise JobError(f"JOBDIR={str(jobdir)!r} is in use by another crawl (pid {holder}); "
                       "wait for it to end or use another JOBDIR") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    _held_locks[key] = fd


def _write_job_file(jobdir: Path, state: dict[str, Any]) -> None:
    """Replace the job file atomically: a kill mid-write must not leave it torn."""
    write_atomic(job_file(jobdir), json.dumps(state))


def _remove_dead_writes(jobdir: Path) -> None:
    """Temporary job files a killed crawl left: with the lock held, their writers are gone."""
    for tmp in jobdir.glob(f".{JOB_FILE}.*{TMP_SUFFIX}"):  # see atomic.temporary_name
        tmp.unlink(missing_ok=True)


def open_job(jobdir: str | os.PathLike[str], run: Run) -> Run:
    """The run to crawl: the job's own when JOBDIR holds one (a resume), else ``run``,
    recorded in a new job file."""
    path = Path(jobdir)
    lock_job(path)
    _remove_dead_writes(path)
    state = check_job(path, run.arguments)
    if state is not None:
        run.run_id, run.started_at, run.resumed = state.run_id, state.started_at, True
        return run
    _write_job_file(path, {"run_id": run.run_id, "arguments": run.arguments,
                           "started_at": run.started_at.isoformat()})
    return run


def mark_finished(jobdir: str | os.PathLike[str], run: Run, at: datetime) -> None:
    _write_job_file(Path(jobdir), {
        "run_id": run.run_id, "arguments": run.arguments,
        "started_at": run.started_at.isoformat(), "finished_at": at.isoformat(),
    })


# --- resume ---------------------------------------------------------------------------


def _chunk_readable(output_dir: str | os.PathLike[str], run_id: str, chunk: int
                    ) -> str | None:
    """None when every file of the chunk reads; else what went wrong."""
    for table in DATA_TABLES:
        for path, number, is_tmp in dataset.run_files(output_dir, table, run_id):
            if number != chunk or is_tmp:
                continue
            try:
                dataset.open_parquet(output_dir, path).read()
            except (OSError, pa.ArrowException) as exc:
                return f"{path}: {exc}"
    return None


def repair_commits(output_dir: str | os.PathLike[str], run_id: str) -> list[int]:
    """Drop the first committed chunk that cannot be read, and every chunk after it.

    Returns the dropped chunk numbers.  Their files are deleted and the commit log
    rewritten without them, so a resume fetches exactly their titles again.
    """
    # A local path, or an object store's URI as given (a Path would drop its '//').
    out = output_dir if dataset.is_remote(output_dir) else Path(output_dir)
    publish_committed(out, run_id)  # a kill between a commit and its renames
    commits = dataset.read_commits(out, run_id)
    for i, chunk in enumerate(commits):
        problem = _chunk_readable(out, run_id, chunk)
        if problem is None:
            continue
        dropped = commits[i:]
        logger.warning("run %s: committed chunk %d cannot be read (%s); dropping chunks %s "
                       "and fetching their titles again", run_id, chunk, problem, dropped)
        rem = dataset.remote(out)
        if rem is not None:  # markers first: a reader never meets a marker without files
            dataset.drop_markers(rem, run_id, dropped)
        else:
            _rewrite_commit_log(Path(out), run_id, commits[:i])
        for table in (*DATA_TABLES, "crawl_runs", "field_coverage"):
            for path, number, _ in list(dataset.run_files(out, table, run_id)):
                if number in dropped:
                    dataset.remove(out, path)
        return dropped
    return []


def _rewrite_commit_log(output_dir: Path, run_id: str, commits: list[int]) -> None:
    write_atomic(dataset.commit_log(output_dir, run_id), "".join(f"{c}\n" for c in commits),
                 encoding="ascii")


def load_history(output_dir: str | os.PathLike[str], run: Run,
                 file_keys: Sequence[str] | None = None) -> History:
    """What other runs committed, for ``-a refresh``.  A resumed run keeps the exact fetches
    it already decided to reuse (their edges and merges), whatever was committed since.
    ``file_keys``: whose commit logs are the run's (a shared run's workers); the run id's
    own by default."""
    from crawler.sources.archive import is_latest
    from crawler.state.history import History  # pyarrow.dataset: only for refresh runs

    pinned: dict[str, tuple[str, datetime]] = {}
    if run.resumed:
        for key in file_keys if file_keys is not None else [run.run_id]:
            repair_commits(output_dir, key)
            reused = dataset.read_committed(output_dir, key, "reused", _REUSED_SCHEMA)
            pinned.update((r["tconst"], (r["fetched_run_id"], r["fetched_at"]))
                          for r in reused.to_pylist())
    return History.load(output_dir, exclude_run=run.run_id, pinned=pinned,
                        archived=is_latest(run.arguments.get("as_of", "")))


def resume(output_dir: str | os.PathLike[str], run: Run, history: History | None) -> Frontier:
    """A resumed run's frontier (``replay``), said in the log."""
    frontier = replay(output_dir, run, history)
    logger.info("resuming run %s at depth %d: %d titles already done, %d to fetch at this "
                "depth", run.run_id, frontier.depth, len(frontier.done), len(frontier.pending))
    return frontier


def replay(output_dir: str | os.PathLike[str], run: Run, history: History | None,
           file_keys: Sequence[str] | None = None, compact_links: bool = True) -> Frontier:
    """The frontier of ``run`` rebuilt from what it committed (after repair), in the commit
    logs of ``file_keys`` (a shared run's workers; the run id's own by default).
    ``compact_links``: see ``Frontier.compact_links``."""
    keys = list(file_keys) if file_keys is not None else [run.run_id]
    for key in keys:
        repair_commits(output_dir, key)

    def rows(table: str) -> list[dict[str, Any]]:
        return [r for key in keys for r in dataset.read_committed(
            output_dir, key, table, _REPLAY_SCHEMAS[table]).to_pylist()]

    outcomes: dict[str, str] = {}
    for table, outcome in (("titles", Outcome.TITLE), ("failures", Outcome.FAILURE)):
        for r in rows(table):
            outcomes.setdefault(r["tconst"], outcome)
    aliases = {r["tconst"]: r["canonical_tconst"] for r in rows("aliases")}
    ranked: dict[str, list[tuple[int, str]]] = {}
    for r in rows("more_like_this"):
        ranked.setdefault(r["tconst"], []).append((r["rank"], r["similar_tconst"]))
    edges = {t: [s for _, s in sorted(v)] for t, v in ranked.items()}
    reused = [r["tconst"] for r in rows("reused")]
    for tconst in reused:
        fetch = history.latest(tconst) if history is not None else None
        if fetch is not None and fetch.outcome == Outcome.ALIAS and fetch.canonical_tconst:
            aliases[tconst] = fetch.canonical_tconst
        else:
            outcomes[tconst] = Outcome.REUSED
            edges[tconst] = []
    if history is not None:
        edges.update(history.edges(t for t in reused if outcomes.get(t) == Outcome.REUSED))
    return Frontier.replay(run.seeds, run.depth, run.max_titles, outcomes, edges, aliases,
                           compact_links)
