"""A shared crawl's state in Redis: created, checked against OUTPUT_DIR, and rebuilt from
OUTPUT_DIR when Redis forgot it.

Redis holds the shared crawl's frontier, but OUTPUT_DIR holds the truth: the seeds (the
arguments) and what each worker committed (its commit log).  Two small records there
let a worker tell a Redis that holds the crawl from one that forgot it:

- ``_state/shared/<FRONTIER_KEY>.json``, the *run record*: the run id, arguments and
  start of the crawl under that key, the epoch of its state in Redis, and once the crawl
  finished, when.  It is written before the state it names is put in Redis.
- ``_state/shared/<run_id>.<worker>.gen``: the epoch and generation Redis answered the
  worker's last commit with (``record_generation``).

A worker that starts (``open_crawl``) joins the state in Redis when that state's epoch
is the record's and its generation is not below any a commit was answered with.
Otherwise (nothing there; a state lost in part, flushed, or older than the record: a
restored snapshot) it takes the rebuild lock (``<FRONTIER_KEY>:rebuild``, one worker at a
time; the others wait for it) and:

- if the record names a run that did not finish, resumes *that run*: it waits
  FRONTIER_LEASE_SECONDS (workers of the lost session notice within a second and stop,
  so their last commits land first), replays every worker's commit log as a JOBDIR
  resume does (``crawler.state.job.replay``), and puts the frontier it gives in Redis
  under a new epoch, so the crawl fetches only what was not committed;
- else (no record, or the run finished) starts a new run, as a new key does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis

from crawler.frontier.local import Frontier
from crawler.frontier.redis_client import FrontierError
from crawler.lua import lua_script
from crawler.masking import shown_url
from crawler.state import dataset
from crawler.state.run import Run

logger = logging.getLogger(__name__)

FOLDER = "shared"  # under OUTPUT_DIR/_state
_KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$", re.ASCII)
_PROBE = lua_script(__package__, "probe")
_POISON = lua_script(__package__, "poison")
_LOCK = lua_script(__package__, "lock")
_INSTALL = lua_script(__package__, "install")
STAGE_BATCH = 1000  # values per command when staging a rebuilt state
WAIT_STEP = 0.2  # seconds between looks while another worker builds the state
LOCK_MARGIN = 120.0  # seconds a rebuild may take beyond its wait before its lock lapses


@dataclass(frozen=True)
class SharedCrawl:
    """What Redis holds about the crawl a worker joins (or just created)."""

    run_id: str
    arguments: dict[str, str]
    state: str  # running | finished
    started_at: str
    created: bool
    epoch: str = ""
    rebuilt: bool = False  # created from what an earlier session of the run committed


@dataclass(frozen=True)
class Record:
    """The run record of a FRONTIER_KEY in OUTPUT_DIR (see the module doc)."""

    key: str
    run_id: str
    arguments: dict[str, str]
    started_at: str
    epoch: str
    finished_at: str | None = None


def incarnation(epoch: str) -> int:
    """An epoch is ``<incarnation>.<random>``; each rebuild of a run counts one up."""
    head = epoch.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


# --- the records in OUTPUT_DIR --------------------------------------------------------------


def record_name(key: str) -> str:
    name = key if _KEY_NAME.match(key) else "key-" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{FOLDER}/{name}.json"


def read_record(output_dir: str | os.PathLike[str], key: str) -> Record | None:
    """The run record of ``key``; None when there is none; FrontierError when unreadable."""
    name = record_name(key)
    try:
        text = dataset.read_state_file(output_dir, name)
        if text is None:
            return None
        raw = json.loads(text)
        record = Record(**raw)
        if record.key != key or not isinstance(record.arguments, dict):
            raise ValueError(record.key)
    except (OSError, ValueError, TypeError) as exc:
        raise FrontierError(
            f"OUTPUT_DIR {shown_url(output_dir)!r}: the record of the shared crawl "
            f"{key!r} (_state/{name}) cannot be read ({type(exc).__name__}); remove it to "
            "start a new run under that key") from None
    return record


def write_record(output_dir: str | os.PathLike[str], record: Record) -> None:
    dataset.write_state_file(output_dir, record_name(record.key),
                             json.dumps(record.__dict__, sort_keys=True))


def mark_finished(output_dir: str | os.PathLike[str], key: str, run_id: str) -> None:
    """The crawl under ``key`` finished: the next run with that key is a new run."""
    try:
        record = read_record(output_dir, key)
        if record is not None and record.run_id == run_id and record.finished_at is None:
            write_record(output_dir, replace(record, finished_at=datetime.now(UTC).isoformat()))
    except (OSError, FrontierError) as exc:  # a rerun then finds the run complete instead
        logger.error("shared crawl %r: could not record in OUTPUT_DIR that run %s finished "
                     "(%s)", key, run_id, exc)


def record_generation(output_dir: str | os.PathLike[str], file_key: str, epoch: str,
                      gen: int) -> None:
    """The generation Redis answered this worker's last commit with: a Redis restored to
    an older state is told by it even when no worker of the crawl is alive."""
    try:
        dataset.write_state_file(output_dir, f"{FOLDER}/{file_key}.gen", f"{epoch} {gen}\n")
    except OSError as exc:
        logger.error("shared crawl: could not record the generation of commit in OUTPUT_DIR "
                     "(%s)", exc)


def highest_generation(output_dir: str | os.PathLike[str], run_id: str, epoch: str) -> int:
    """The highest generation a commit of ``run_id`` under ``epoch`` was answered with."""
    high = 0
    for name in dataset.list_state_files(output_dir, FOLDER):
        if not (name.startswith(f"{run_id}.") and name.endswith(".gen")):
            continue
        text = dataset.read_state_file(output_dir, f"{FOLDER}/{name}") or ""
        parts = text.split()
        if len(parts) == 2 and parts[0] == epoch and parts[1].isdigit():
            high = max(high, int(parts[1]))
    return high


# --- what Redis holds -----------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class Probe:
    holder: str  # the rebuild lock's holder, '' when none
    crawl: SharedCrawl | None  # the state there, when a worker may trust it
    gen: int = 0
    epochs: tuple[str, ...] = ()  # of a state no worker may trust


def probe(client: redis.Redis, key: str) -> Probe:
    reply = [_text(v) for v in client.eval(_PROBE, 0, key)]
    if reply[1] != "valid":
        return Probe(reply[0], None, epochs=tuple(e for e in reply[2:] if e))
    run_id, arguments, state, started_at, epoch, gen = reply[2:]
    return Probe(reply[0], SharedCrawl(run_id, json.loads(arguments), state, started_at,
                                       created=False, epoch=epoch), int(gen))


def _check_arguments(key: str, recorded: dict[str, str], arguments: dict[str, str],
                     where: str = "at FRONTIER_URL runs") -> None:
    if recorded != arguments:
        raise FrontierError(
            f"the shared crawl {key!r} {where} with other arguments ({recorded}); start this "
            "worker with the same ones, or use another FRONTIER_KEY")


def check_crawl(url: str, key: str, arguments: dict[str, str],
                output_dir: str | os.PathLike[str]) -> SharedCrawl | None:
    """The shared crawl a worker with ``arguments`` would join (None: it would start one,
    or resume the run OUTPUT_DIR records); FrontierError when Redis cannot be reached or
    the crawl runs with other arguments.  ``scrapy crawl`` calls it before anything
    starts."""
    from crawler.frontier.redis_client import connect

    client = connect(url)
    try:
        found = probe(client, key)
    finally:
        client.close()
    if found.crawl is not None:
        _check_arguments(key, found.crawl.arguments, arguments)
        if found.crawl.state == "finished":
            mark_finished(output_dir, key, found.crawl.run_id)
        return found.crawl
    record = read_record(output_dir, key)
    if record is not None and record.finished_at is None:
        _check_arguments(key, record.arguments, arguments,
                         f"(run {record.run_id}, not finished, recorded in OUTPUT_DIR) ran")
    return None


def _poison(client: redis.Redis, key: str, epoch: str) -> None:
    client.eval(_POISON, 0, key, epoch)


def _trusted(client: redis.Redis, key: str, found: Probe, record: Record | None, high: int,
             run: Run, output_dir: str | os.PathLike[str]) -> SharedCrawl | None:
    """The state in Redis, checked against the record; None when it is older (it is then
    marked so, and rebuilt)."""
    crawl = found.crawl
    assert crawl is not None
    _check_arguments(key, crawl.arguments, run.arguments)
    if record is None:
        logger.warning("OUTPUT_DIR has no record of the shared crawl %r (run %s): recorded "
                       "now; every worker of a crawl must write to the same OUTPUT_DIR",
                       key, crawl.run_id)
        write_record(output_dir, Record(key, crawl.run_id, crawl.arguments, crawl.started_at,
                                        crawl.epoch))
        return crawl
    if record.run_id != crawl.run_id or incarnation(record.epoch) < incarnation(crawl.epoch):
        raise FrontierError(
            f"the shared crawl {key!r}: Redis holds run {crawl.run_id} (epoch {crawl.epoch}), "
            f"but OUTPUT_DIR records run {record.run_id} (epoch {record.epoch}); every "
            "worker of a crawl must write to the same OUTPUT_DIR")
    if record.epoch != crawl.epoch or found.gen < high:
        logger.warning("shared crawl %r: Redis holds an older state of run %s (epoch %s, "
                       "generation %d; OUTPUT_DIR records epoch %s, commits up to generation "
                       "%d): an older snapshot; the run is rebuilt from OUTPUT_DIR", key,
                       crawl.run_id, crawl.epoch, found.gen, record.epoch, high)
        _poison(client, key, crawl.epoch)
        return None
    if crawl.state == "finished":
        mark_finished(output_dir, key, crawl.run_id)
    return crawl


def open_crawl(client: redis.Redis, key: str, run: Run, output_dir: str | os.PathLike[str],
               *, lease_seconds: float, patience: float = 600.0) -> SharedCrawl:
    """Join the crawl under ``key``; or start it: a new run, or the unfinished run the
    record names, rebuilt from what its workers committed.  FrontierError when it runs
    with other arguments, or another worker kept building it past ``patience`` seconds."""
    deadline = time.monotonic() + patience
    waiting = False
    while True:
        record = read_record(output_dir, key)
        # OUTPUT_DIR before Redis: Redis had each generation before it was written there.
        high = highest_generation(output_dir, record.run_id, record.epoch) if record else 0
        found = probe(client, key)
        if found.crawl is not None:
            crawl = _trusted(client, key, found, record, high, run, output_dir)
            if crawl is not None:
                return crawl
            continue
        if not found.holder:
            token = uuid.uuid4().hex
            if client.set(f"{key}:rebuild", token, nx=True, px=_lock_ms(lease_seconds)):
                started = _start(client, key, run, output_dir, record, token, lease_seconds,
                                 found.epochs)
                if started is not None:
                    return started
                continue
        if time.monotonic() > deadline:
            raise FrontierError(f"the shared crawl {key!r}: another worker has been building "
                                f"its state in Redis for over {patience:.0f} s")
        if not waiting:
            logger.info("shared crawl %r: waiting for worker lock %s to build its state",
                        key, found.holder[:8])
            waiting = True
        time.sleep(WAIT_STEP)


# --- creating or rebuilding the state -------------------------------------------------------


def _lock_ms(lease_seconds: float) -> int:
    return int((lease_seconds + LOCK_MARGIN) * 1000)


def _hold(client: redis.Redis, key: str, token: str, lease_seconds: float) -> bool:
    """Still the rebuild lock's holder (its lease renewed)?"""
    return bool(client.eval(_LOCK, 0, key, token, _lock_ms(lease_seconds)))


def _next_epoch(record: Record | None, stale: Iterable[str]) -> str:
    n = max([incarnation(e) for e in stale] + [incarnation(record.epoch) if record else 0])
    return f"{n + 1}.{uuid.uuid4().hex[:8]}"


def _start(client: redis.Redis, key: str, run: Run, output_dir: str | os.PathLike[str],
           record: Record | None, token: str, lease_seconds: float,
           stale: Iterable[str]) -> SharedCrawl | None:
    """With the rebuild lock held: put a new run, or the recorded unfinished one rebuilt,
    in Redis.  None when the lock was lost meanwhile (another worker took over)."""
    resume = record is not None and record.finished_at is None
    if record is not None and resume:
        _check_arguments(key, record.arguments, run.arguments,
                         f"(run {record.run_id}, not finished, recorded in OUTPUT_DIR) ran")
        logger.warning("shared crawl %r: Redis does not hold the state of run %s; it is "
                       "rebuilt from what its workers committed to OUTPUT_DIR, in %.0f s "
                       "(FRONTIER_LEASE_SECONDS: workers of the lost session stop first)",
                       key, record.run_id, lease_seconds)
        time.sleep(lease_seconds)
        if not _hold(client, key, token, lease_seconds):
            return None
        run = replace(run, run_id=record.run_id, resumed=True,
                      started_at=datetime.fromisoformat(record.started_at))
        frontier, lasts = rebuilt_frontier(output_dir, run)
        logger.warning("shared crawl %r: run %s rebuilt at depth %d: %d titles committed, %d "
                       "to fetch at this depth", key, run.run_id, frontier.depth,
                       len(frontier.done), len(frontier.pending))
    else:
        frontier, lasts = Frontier(run.seeds, run.depth, run.max_titles), {}
    epoch = _next_epoch(record, stale)
    names = _stage(client, f"{key}:stage:{token}:", frontier, lasts, _lock_ms(lease_seconds))
    if not _hold(client, key, token, lease_seconds):
        return None
    started_at = run.started_at.isoformat()
    write_record(output_dir, Record(key, run.run_id, run.arguments, started_at, epoch))
    if not client.eval(_INSTALL, 0, key, token, epoch, json.dumps(_meta(run, frontier)),
                       json.dumps(names)):
        return None
    state = "running" if frontier.level else "finished"
    return SharedCrawl(run.run_id, run.arguments, state, started_at, created=True,
                       epoch=epoch, rebuilt=resume)


def rebuilt_frontier(output_dir: str | os.PathLike[str], run: Run
                     ) -> tuple[Frontier, dict[str, int]]:
    """The frontier of a shared run replayed from every worker's commit log, and the last
    chunk each worker committed."""
    from crawler.state import job

    keys = dataset.worker_keys(output_dir, run.run_id)
    history = job.load_history(output_dir, run, keys) if run.refresh_seconds else None
    frontier = job.replay(output_dir, run, history, keys, compact_links=False)  # for _stage
    lasts = {}
    for file_key in keys:
        commits = dataset.read_commits(output_dir, file_key)
        if commits:
            lasts[file_key.split(".", 1)[1]] = max(commits)
    return frontier, lasts


def _meta(run: Run, frontier: Frontier) -> dict[str, str]:
    return {
        "run_id": run.run_id, "arguments": json.dumps(run.arguments, sort_keys=True),
        "started_at": run.started_at.isoformat(), "depth": str(frontier.depth),
        "max_depth": str(run.depth), "max_titles": str(run.max_titles),
        "state": "running" if frontier.level else "finished", "inflight": "0",
        "titles_over_limit": str(frontier.titles_over_limit),
        "seeds_over_limit": json.dumps(frontier.seeds_over_limit),
    }


def _stage(client: redis.Redis, prefix: str, f: Frontier, lasts: dict[str, int],
           ttl_ms: int) -> list[str]:
    """Write the frontier's keys under ``prefix`` (install.lua moves them into place); the
    names written."""
    per_depth = f.per_depth()
    hashes: dict[str, Mapping[str, Any]] = {
        "scheduled": f.scheduled, "done": f.done, "aliases": f.aliases,
        "alias_of": {c: t for t, c in f.aliases.items()},
        "links": {t: json.dumps(v) for t, v in f.links.items()},
        "count:scheduled": {str(d): n for d, (_, n) in per_depth.items()},
        "count:done": {str(d): n for d, (n, _) in per_depth.items()},
        **{f"commits:{w}": {"last": last} for w, last in lasts.items()},
    }
    lists = {"level": f.level, "queue": f.pending}
    pipe = client.pipeline(transaction=False)
    names = []
    for name, mapping in hashes.items():
        items = list(mapping.items())
        for i in range(0, len(items), STAGE_BATCH):
            pipe.hset(prefix + name, mapping=dict(items[i:i + STAGE_BATCH]))
        names += [name] if items else []
    for name, values in lists.items():
        for i in range(0, len(values), STAGE_BATCH):
            pipe.rpush(prefix + name, *values[i:i + STAGE_BATCH])
        names += [name] if values else []
    if f.joined:
        pipe.sadd(prefix + "joined", *f.joined)
        names.append("joined")
    for name in names:
        pipe.pexpire(prefix + name, ttl_ms)  # a builder killed midway leaves nothing for good
    pipe.execute()
    return names
