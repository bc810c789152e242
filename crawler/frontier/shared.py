"""The frontier of a crawl shared by many workers, held in Redis (``FRONTIER_URL``).

Every worker started with the same arguments and the same ``FRONTIER_URL`` (and
``FRONTIER_KEY``) joins one crawl: one run id, one seen-set, one breadth-first
level barrier, one ``max_titles`` budget cut in the same order as a single
process (``Frontier.advance``'s rule, run inside Redis), one refresh decision per
title.  It answers the calls ``crawler.frontier.local.Frontier`` answers, so the spider
does not know which one it has.

How nothing is lost:

- A worker *claims* titles of the current level (``take``), under a lease it
  renews by heartbeat (``FRONTIER_LEASE_SECONDS``).
- An outcome it reaches is held as *its* until the exporter commits the chunk
  holding the title's rows (``crawler.signals.chunk_committed``); only then is the
  title *done*, and a done title is never handed out again.
- A worker whose lease expired (killed, or cut off) is *reaped* by any other: the
  titles it held go back to the queue, except those its commit log shows committed
  in chunks Redis had not heard of (it died, or lost Redis, right after a commit),
  which are done.  So the commit log on disk decides, never a guess.
- A level is *fetched* when no title of it waits in the queue or is held without
  an outcome; each worker then commits its part; it is *complete* once nothing is
  held, and exactly one worker then turns it into the next level.

Every change that spans several keys is one Lua script (Redis runs each
atomically), with the time taken from Redis itself, so workers' clocks do not
matter.  One Redis server (not Redis Cluster): the scripts reach keys by name.

Keys, under ``<FRONTIER_KEY>:`` (default ``mlt``):

- ``meta`` (hash): run_id, arguments, started_at, depth, max_depth, max_titles,
  state (running|finished), stop_reason, inflight, titles_over_limit,
  seeds_over_limit;
- ``scheduled`` (hash tconst -> depth): the seen-set, whose size is the budget used;
- ``level`` (list): the current level in order; ``joined`` (set): merge targets
  that joined it; ``queue`` (list): its titles not claimed yet; ``next``,
  ``next_queue``, ``emitted`` and ``meta.advance_pos`` while a level is being
  turned into the next;
- ``claims`` (hash tconst -> worker) and ``claims:<worker>`` (set); ``out:<worker>``
  (hash tconst -> outcome, not committed yet); ``commits:<worker>`` (hash: the last
  chunk Redis heard it commit);
- ``done`` (hash tconst -> outcome, committed); ``links`` (hash tconst -> JSON list,
  the current level's edges); ``aliases`` / ``alias_of`` (merges, both ways);
- ``workers`` (sorted set worker -> lease expiry, ms);
- ``count:scheduled`` / ``count:done`` (hash depth -> titles), for progress.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, cast

import redis

from crawler import defaults
from crawler.frontier.local import FrontierUnavailable, merge_problem
from crawler.lua import lua_script
from crawler.masking import shown_url
from crawler.records import Outcome
from crawler.state.run import Run

logger = logging.getLogger(__name__)

DEFAULT_KEY = defaults.FRONTIER_KEY
# Titles of a level turned into the next one per script call (~40 ms of Redis time).
ADVANCE_STEP = 1000
_WORKER_CHARS = re.compile(r"[^A-Za-z0-9_-]+")

# Scripts (lua/*.lua) take the key prefix as ARGV[1]; the rest as named in each.

_INIT = lua_script(__file__, "init")
_HEARTBEAT = lua_script(__file__, "heartbeat")
_CLAIM = lua_script(__file__, "claim")
_RESOLVE = lua_script(__file__, "resolve")
_ALIAS = lua_script(__file__, "alias")
_MARK_DONE = lua_script(__file__, "mark_done")
_REQUEUE = lua_script(__file__, "requeue")
_COMMIT = lua_script(__file__, "mark_done", "commit")
_REQUEUE_MINE = lua_script(__file__, "requeue", "requeue_mine")
_EXPIRED = lua_script(__file__, "expired")
_REAP = lua_script(__file__, "mark_done", "requeue", "reap")
_ADVANCE = lua_script(__file__, "advance")


class FrontierError(ValueError):
    """The shared frontier cannot be used as asked (one line, for the user)."""


@dataclass(frozen=True)
class SharedCrawl:
    """What Redis holds about the crawl a worker joins (or just created)."""

    run_id: str
    arguments: dict[str, str]
    state: str  # running | finished
    started_at: str
    created: bool


def default_worker_id() -> str:
    """``<host>-<pid>-<4 hex>``: unique per process, readable in logs and file names."""
    host = _WORKER_CHARS.sub("-", socket.gethostname())[:32].strip("-") or "worker"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def connect(url: str) -> redis.Redis:
    """A client for ``url``; FrontierError in one line when it cannot be reached."""
    shown = shown_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except ValueError as exc:
        raise FrontierError(f"FRONTIER_URL={shown!r} is not a Redis URL: "
                            f"{str(exc).replace(url, shown)}") from None
    except redis.RedisError as exc:
        raise FrontierError(f"FRONTIER_URL={shown!r}: Redis cannot be reached "
                            f"({str(exc).replace(url, shown)})") from None
    return client


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _check_arguments(key: str, recorded: dict[str, str], arguments: dict[str, str]) -> None:
    if recorded != arguments:
        raise FrontierError(
            f"the shared crawl {key!r} at FRONTIER_URL runs with other arguments "
            f"({recorded}); start this worker with the same ones, or use another "
            "FRONTIER_KEY")


def open_crawl(client: redis.Redis, key: str, run_id: str, arguments: dict[str, str],
               started_at: str, seeds: Sequence[str], max_depth: int,
               max_titles: int) -> SharedCrawl:
    """Join the crawl under ``key``, or start it.  FrontierError when the crawl there was
    started with other arguments."""
    reply = client.eval(_INIT, 0, key, run_id, json.dumps(arguments, sort_keys=True),
                        started_at, max_depth, max_titles, json.dumps(list(seeds)))
    created, got_run, got_args, state, got_started = (_text(v) for v in reply)
    recorded = json.loads(got_args)
    _check_arguments(key, recorded, arguments)
    return SharedCrawl(got_run, recorded, state, got_started, created == "created")


_F = TypeVar("_F", bound=Callable[..., Any])


def _or_lost(default: Any) -> Callable[[_F], _F]:
    """A call that, when Redis cannot be reached, returns ``default`` and marks the
    frontier lost (the worker then stops, see ``heartbeat``) instead of raising into a
    Scrapy callback: what this worker did not commit goes to others by lease."""
    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def guarded(self: SharedFrontier, *args: Any, **kwargs: Any) -> Any:
            if self.lost is None:
                try:
                    return method(self, *args, **kwargs)
                except redis.ConnectionError as exc:
                    self.lost = str(exc)
                    logger.error("shared frontier: Redis cannot be reached (%s); this worker "
                                 "stops", exc)
            return default
        return cast(_F, guarded)
    return wrap


class SharedFrontier:
    """One worker's view of the shared crawl (see the module doc)."""

    shared = True

    def __init__(self, client: redis.Redis, key: str, worker: str, *, lease_seconds: float,
                 claim_batch: int,
                 committed_since: Callable[[str, int], list[str]]) -> None:
        self.client = client
        self.key = key
        self.worker = worker
        self.lease_ms = int(lease_seconds * 1000)
        self.claim_batch = claim_batch
        # (worker, chunk) -> titles in that worker's chunks committed after that one
        self.committed_since = committed_since
        self.lost: str | None = None  # why Redis could not be reached, once it could not
        self._mine: dict[str, str | None] = {}  # titles held here -> outcome (None: none yet)
        self._links: dict[str, list[str]] = {}
        self._meta: dict[str, str] = {}
        self.refresh_meta()
        self.max_depth = int(self._meta["max_depth"])
        self.max_titles = int(self._meta["max_titles"])

    # --- the crawl's state ---------------------------------------------------------------

    def _k(self, name: str) -> str:
        return f"{self.key}:{name}"

    def refresh_meta(self) -> dict[str, str]:
        raw = self.client.hgetall(self._k("meta"))
        self._meta = {_text(k): _text(v) for k, v in raw.items()}
        return self._meta

    @property
    def depth(self) -> int:
        return int(self._meta.get("depth", 0))

    @property
    def stop_reason(self) -> str | None:
        if self.lost is not None:
            return "frontier_lost"
        return self._meta.get("stop_reason") or None

    @property
    def finished(self) -> bool:
        return self._meta.get("state") == "finished"

    @property
    def seeds_over_limit(self) -> list[str]:
        over = json.loads(self._meta.get("seeds_over_limit") or "[]")
        return list(over) if isinstance(over, list) else []  # cjson writes {} for []

    @property
    def titles_over_limit(self) -> int:
        return int(self._meta.get("titles_over_limit", 0))

    @property
    def pending(self) -> list[str]:
        """Titles this worker holds without an outcome yet."""
        return [t for t, outcome in self._mine.items() if outcome is None]

    @_or_lost({})
    def per_depth(self) -> dict[int, tuple[int, int]]:
        done = self.client.hgetall(self._k("count:done"))
        scheduled = self.client.hgetall(self._k("count:scheduled"))
        return {int(d): (int(done.get(d, 0)), int(n)) for d, n in sorted(
            scheduled.items(), key=lambda kv: int(kv[0]))}

    # --- the frontier's calls --------------------------------------------------------------

    @_or_lost([])
    def take(self) -> list[str]:
        depth, *titles = self.client.eval(
            _CLAIM, 0, self.key, self.worker, self.lease_ms, self.claim_batch)
        self._meta["depth"] = _text(depth)  # another worker may have moved the level on
        claimed = [_text(t) for t in titles]
        for tconst in claimed:
            self._mine[tconst] = None
        return claimed

    @_or_lost(None)
    def record_links(self, tconst: str, similar: Iterable[str]) -> None:
        self.client.hset(self._k("links"), tconst, json.dumps(list(similar)))

    @_or_lost(None)
    def resolve(self, tconst: str, outcome: str) -> None:
        if self.client.eval(_RESOLVE, 0, self.key, self.worker, tconst, outcome):
            self._mine[tconst] = outcome
        else:
            self._mine.pop(tconst, None)

    @_or_lost(False)
    def record_alias(self, tconst: str, canonical: str) -> bool:
        is_new = bool(self.client.eval(_ALIAS, 0, self.key, self.worker, tconst, canonical))
        self._mine[tconst] = Outcome.ALIAS
        if is_new:
            self._mine[canonical] = None
        return is_new

    @_or_lost(None)
    def merge_problem(self, tconst: str, canonical: str, max_chain: int) -> str | None:
        """As ``Frontier.merge_problem``, over the merges every worker recorded."""
        def lookup(key: str) -> Callable[[str], str | None]:
            def get(tconst: str) -> str | None:
                found = self.client.hget(self._k(key), tconst)
                return _text(found) if found is not None else None
            return get

        return merge_problem(tconst, canonical, max_chain, lookup("aliases"),
                             lookup("alias_of"))

    # --- the level barrier ---------------------------------------------------------------

    def _counts(self) -> tuple[int, int, int]:
        pipe = self.client.pipeline(transaction=True)
        pipe.llen(self._k("queue"))
        pipe.hget(self._k("meta"), "inflight")
        pipe.hlen(self._k("claims"))
        queued, inflight, held = pipe.execute()
        return int(queued), int(inflight or 0), int(held)

    @_or_lost(False)
    def level_fetched(self) -> bool:
        queued, inflight, _ = self._counts()
        return queued == 0 and inflight <= 0

    @_or_lost(False)
    def level_complete(self) -> bool:
        if self._mine:  # committed nothing for these: fetch them again
            n = self.client.eval(_REQUEUE_MINE, 0, self.key, self.worker)
            logger.warning("%d title(s) held by this worker had no committed rows at the end "
                           "of the level; they go back to the queue", n)
            self._mine.clear()
            return False
        queued, _, held = self._counts()
        return queued == 0 and held == 0

    @_or_lost(False)
    def advance(self) -> bool:
        """Start the next level once this one is complete (whichever worker turns it);
        False when the crawl is over."""
        while _text(self.client.eval(_ADVANCE, 0, self.key, self.depth,
                                     ADVANCE_STEP)[0]) == "advancing":
            pass
        self.refresh_meta()
        return not self.finished

    @_or_lost(0)
    def level_size(self) -> int:
        return int(self.client.llen(self._k("level")))

    # --- commits, leases, reaping --------------------------------------------------------

    def chunk_committed(self, tconsts: Sequence[str], chunk: int) -> None:
        try:
            self.client.eval(_COMMIT, 0, self.key, self.worker, json.dumps(list(tconsts)),
                             chunk)
        except redis.RedisError as exc:  # the reaper will read the commit log instead
            logger.error("shared frontier: chunk %d committed, but Redis was not told (%s)",
                         chunk, exc)
        for tconst in tconsts:
            self._mine.pop(tconst, None)

    def heartbeat(self) -> None:
        """Renew this worker's lease; FrontierUnavailable when Redis cannot be reached."""
        if self.lost is not None:
            raise FrontierUnavailable(f"Redis cannot be reached: {self.lost}")
        try:
            self.client.eval(_HEARTBEAT, 0, self.key, self.worker, self.lease_ms)
            self.refresh_meta()
        except redis.ConnectionError as exc:
            self.lost = str(exc)
            raise FrontierUnavailable(f"Redis cannot be reached: {exc}") from None

    @_or_lost(0)
    def reap(self) -> int:
        """Give back the titles of workers whose lease expired; how many went back."""
        requeued = 0
        for worker, last in self.client.eval(_EXPIRED, 0, self.key):
            worker = _text(worker)
            if worker == self.worker:
                continue
            committed = self.committed_since(worker, int(_text(last)))
            n = int(self.client.eval(_REAP, 0, self.key, worker, json.dumps(committed)))
            if n >= 0:
                from crawler.download.politeness import free_slots_of

                free_slots_of(self.client, worker)
                logger.warning("worker %s stopped renewing its lease: %d title(s) it held go "
                               "back to the queue, %d committed by it kept", worker, n,
                               len(committed))
                requeued += n
        return requeued

    def stop(self, reason: str) -> None:
        """Stop every worker of the crawl (they see it at their next heartbeat)."""
        self.client.hsetnx(self._k("meta"), "stop_reason", reason)
        self.refresh_meta()

    def release(self) -> None:
        """This worker is done: what it still holds goes back to the queue now, rather
        than when its lease expires."""
        try:
            self.client.eval(_REAP_SELF, 0, self.key, self.worker)
        except redis.RedisError as exc:  # its lease will expire instead
            logger.error("shared frontier: could not give back this worker's titles (%s)",
                         exc)
        self._mine.clear()


_CLEAR_STALE_STOP = lua_script(__file__, "clear_stale_stop")
_REAP_SELF = lua_script(__file__, "requeue", "reap_self")


def join(settings: Any, run: Run, output_dir: str) -> tuple[SharedFrontier, Run]:
    """This process's frontier in the shared crawl ``settings`` name, and the run it
    joins (the crawl's run id and start; this worker's id)."""
    from crawler.state import dataset

    url = settings.get("FRONTIER_URL")
    key = settings.get("FRONTIER_KEY") or DEFAULT_KEY
    client = connect(url)
    crawl = open_crawl(client, key, run.run_id, run.arguments,
                       run.started_at.isoformat(), run.seeds, run.depth, run.max_titles)
    worker = settings.get("FRONTIER_WORKER") or default_worker_id()
    joined = replace(run, run_id=crawl.run_id, worker=worker, resumed=not crawl.created,
                     started_at=datetime.fromisoformat(crawl.started_at))

    def committed_since(other: str, last: int) -> list[str]:
        """The titles in ``other``'s chunks committed after chunk ``last``."""
        return dataset.committed_titles(output_dir, f"{crawl.run_id}.{other}", after=last)

    if not crawl.created and client.eval(_CLEAR_STALE_STOP, 0, key):
        logger.info("shared crawl %r: the stop of its last session is cleared", key)
    frontier = SharedFrontier(
        client, key, worker, lease_seconds=settings.getfloat("FRONTIER_LEASE_SECONDS"),
        claim_batch=settings.getint("FRONTIER_CLAIM_BATCH"),
        committed_since=committed_since)
    frontier.heartbeat()
    return frontier, joined


def check_crawl(url: str, key: str, arguments: dict[str, str]) -> SharedCrawl | None:
    """The shared crawl a worker with ``arguments`` would join (None: it would start
    one); FrontierError when Redis cannot be reached or the crawl runs with other
    arguments.  Reads only: ``scrapy crawl`` calls it before anything starts."""
    client = connect(url)
    try:
        raw = client.hgetall(f"{key or DEFAULT_KEY}:meta")
    finally:
        client.close()
    if not raw:
        return None
    meta = {_text(k): _text(v) for k, v in raw.items()}
    recorded = json.loads(meta.get("arguments") or "{}")
    _check_arguments(key, recorded, arguments)
    return SharedCrawl(meta.get("run_id", ""), recorded, meta.get("state", ""),
                       meta.get("started_at", ""), created=False)
