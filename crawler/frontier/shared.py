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
- Before a worker commits a chunk it *claims the commit* (``lua/begin_commit.lua``):
  atomically, every title of the chunk must still be its own, and the chunk is recorded
  as being committed.  Otherwise its lease lapsed and the titles went to another
  worker: the chunk is abandoned (never committed), the worker says so in one line and
  stops (``lease_lost``).  So a stalled worker never writes a title twice.
- A worker whose lease expired (killed, stalled, or cut off) is *reaped* by any other:
  the titles it held go back to the queue, except those its commit log shows committed
  in chunks Redis had not heard of (it died, or lost Redis, right after a commit),
  which are done; and it is marked reaped, so it can neither claim nor commit again.  A
  chunk it was committing is settled by its commit log once the worker is known dead
  (its session lock is free: ``crawler.state.commits.settle``), and waits for it while
  it lives (a stalled worker finishes its commit when it goes on).  So the commit log on
  disk decides, never a guess.
- A level is *fetched* when no title of it waits in the queue or is held without
  an outcome; each worker then commits its part; it is *complete* once nothing is
  held, and exactly one worker then turns it into the next level.

Every change that spans several keys is one Lua script (Redis runs each
atomically), with the time taken from Redis itself, so workers' clocks do not
matter.  One Redis server (not Redis Cluster): the scripts reach keys by name.

A Redis that forgot is noticed (``lua/guard.lua``, run first by every script a worker
runs): the state carries an epoch, in ``meta`` and in a sentinel key, and a generation
bumped by every change; a worker remembers the epoch it joined and the highest
generation it saw.  A flush, a restart without persistence, a state rebuilt by a new
session or an older snapshot fails the next call with ``FrontierForgot``: the worker
stops (finish reason ``frontier_forgot``, exit 1), and running the same command again
resumes the run from what was committed (``crawler.frontier.recovery``).

Keys, under ``<FRONTIER_KEY>:`` (default ``mlt``):

- ``meta`` (hash): run_id, arguments, started_at, depth, max_depth, max_titles,
  state (running|finished), stop_reason, inflight, titles_over_limit,
  seeds_over_limit, epoch, gen; ``epoch`` (string): the sentinel, meta's epoch again;
  ``gens`` (hash worker -> the generation of its last change); ``rebuild`` (string):
  the lock of the worker creating or rebuilding the state;
- ``scheduled`` (hash tconst -> depth): the seen-set, whose size is the budget used;
- ``level`` (list): the current level in order; ``joined`` (set): merge targets
  that joined it; ``queue`` (list): its titles not claimed yet; ``next``,
  ``next_queue``, ``emitted`` and ``meta.advance_pos`` while a level is being
  turned into the next;
- ``claims`` (hash tconst -> worker) and ``claims:<worker>`` (set); ``out:<worker>``
  (hash tconst -> outcome, not committed yet); ``commits:<worker>`` (hash: the last
  chunk Redis heard it commit); ``committing:<worker>`` (hash: the chunk it is
  committing and its titles); ``reaped`` (hash: workers taken for dead);
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
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar, cast

import redis

from crawler import defaults
from crawler.frontier.local import FrontierUnavailable, merge_problem
from crawler.frontier.redis_client import connect
from crawler.lua import lua_script
from crawler.records import Outcome
from crawler.state.run import Run

logger = logging.getLogger(__name__)

DEFAULT_KEY = defaults.FRONTIER_KEY
# Titles of a level turned into the next one per script call (~40 ms of Redis time).
ADVANCE_STEP = 1000
_WORKER_CHARS = re.compile(r"[^A-Za-z0-9_-]+")

# Scripts (lua/*.lua) take the key prefix as ARGV[1]; the rest as named in each.


@dataclass(frozen=True)
class _Script:
    text: str
    writes: bool  # bumps the generation (a change of the state)


_GUARD = lua_script(__package__, "guard")
_BUMP = lua_script(__package__, "bump")


def _guarded(*names: str, writes: bool = True) -> _Script:
    """The script of these files, run after the guard (see lua/guard.lua); it answers
    ``{generation, what the script returns}``."""
    body = lua_script(__package__, *names)
    return _Script(f"{_GUARD}{_BUMP if writes else ''}local function main()\n{body}\nend\n"
                   "return {GEN, main()}\n", writes)


_HEARTBEAT = _guarded("heartbeat")
_CLAIM = _guarded("claim")
_RESOLVE = _guarded("resolve")
_ALIAS = _guarded("alias")
_LINKS = _guarded("links")
_COMMIT = _guarded("mark_done", "commit")
_BEGIN_COMMIT = _guarded("begin_commit")
_REQUEUE_MINE = _guarded("requeue", "requeue_mine")
_EXPIRED = _guarded("expired", writes=False)
_COUNTS = _guarded("counts", writes=False)
_REAP = _guarded("mark_done", "requeue", "reap")
_ADVANCE = _guarded("advance")
_STOP = _guarded("stop")
_CLEAR_STALE_STOP = _guarded("clear_stale_stop")
_REAP_SELF = _guarded("requeue", "reap_self")
_REJOIN = _guarded("mark_done", "requeue", "rejoin")
_POISON = lua_script(__package__, "poison")
FORGOT = "FRONTIER_FORGOT"


class FrontierForgot(FrontierUnavailable):
    """Redis no longer holds the state this worker joined: flushed, restarted without its
    data, rebuilt by a new session, or restored from an older snapshot."""


def default_worker_id() -> str:
    """``<host>-<pid>-<4 hex>``: unique per process, readable in logs and file names."""
    host = _WORKER_CHARS.sub("-", socket.gethostname())[:32].strip("-") or "worker"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:4]}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_F = TypeVar("_F", bound=Callable[..., Any])


def _or_lost(default: Any) -> Callable[[_F], _F]:
    """A call that, when Redis cannot be reached or forgot the crawl, returns ``default``
    and marks the frontier lost or forgotten (the worker then stops, see ``stop_reason``)
    instead of raising into a Scrapy callback: what this worker did not commit goes to
    others by lease, or is fetched again once the run is resumed."""
    def wrap(method: _F) -> _F:
        @functools.wraps(method)
        def guarded(self: SharedFrontier, *args: Any, **kwargs: Any) -> Any:
            if self.lost is None and self.forgot is None:
                try:
                    return method(self, *args, **kwargs)
                except redis.ConnectionError as exc:
                    self.lost = str(exc)
                    logger.error("shared frontier: Redis cannot be reached (%s); this worker "
                                 "stops", exc)
                except FrontierForgot as exc:
                    self._forget(exc)
            return default
        return cast(_F, guarded)
    return wrap


class SharedFrontier:
    """One worker's view of the shared crawl (see the module doc)."""

    shared = True

    def __init__(self, client: redis.Redis, key: str, worker: str, *, epoch: str,
                 lease_seconds: float, claim_batch: int,
                 committed_since: Callable[[str, int], list[str]],
                 settle: Callable[[str, int, bool], bool | None] | None = None,
                 on_commit: Callable[[int], None] | None = None,
                 on_finished: Callable[[], None] | None = None) -> None:
        self.client = client
        self.key = key
        self.worker = worker
        self.epoch = epoch  # of the state this worker joined
        self.seen = 0  # the highest generation of that state seen
        self.mine = 0  # the generation of this worker's own last change
        self.lease_ms = int(lease_seconds * 1000)
        self.claim_batch = claim_batch
        # (worker, chunk) -> titles in that worker's chunks committed after that one
        self.committed_since = committed_since
        # (worker, chunk, own) -> whether the chunk it was committing is committed (None:
        # not known yet, the worker lives); ``own``: this worker's earlier process
        self.settle = settle or (lambda worker, chunk, own: False)
        self.on_lease_lost: Callable[[str, int], None] | None = None  # (line, titles lost)
        self.lease_lost: str | None = None  # why this worker lost its lease, once it did
        self.lost_titles = 0  # titles it held then, whose rows it did not commit
        self.renewed = time.monotonic()  # when Redis last renewed its lease
        self._held_logged: set[str] = set()  # stalled workers whose commit waits for them
        self.on_commit = on_commit  # (generation) once Redis heard of a commit
        self.on_finished = on_finished  # once the crawl is seen finished
        self.lost: str | None = None  # why Redis could not be reached, once it could not
        self.forgot: str | None = None  # how Redis forgot the crawl, once it did
        self._mine: dict[str, str | None] = {}  # titles held here -> outcome (None: none yet)
        self._meta: dict[str, str] = {}
        self.refresh_meta()
        self.run_id = self._meta["run_id"]
        self.max_depth = int(self._meta["max_depth"])
        self.max_titles = int(self._meta["max_titles"])

    # --- the crawl's state ---------------------------------------------------------------

    def _k(self, name: str) -> str:
        return f"{self.key}:{name}"

    def _call(self, script: _Script, *args: Any) -> Any:
        """Run a guarded script; what it returns.  FrontierForgot when the guard refused."""
        try:
            reply = self.client.eval(script.text, 0, self.key, self.epoch, self.worker,
                                     self.seen, self.mine, *args)
        except redis.ResponseError as exc:
            if str(exc).startswith(FORGOT):
                raise FrontierForgot(str(exc)[len(FORGOT):].strip()) from None
            raise
        gen = int(reply[0])
        self.seen = max(self.seen, gen)
        if script.writes:
            self.mine = gen
        return reply[1] if len(reply) > 1 else None

    def _forget(self, exc: FrontierForgot) -> None:
        if self.forgot is None:
            self.forgot = str(exc)
            logger.error("shared frontier: %s; this worker stops. Run the same command again "
                         "to resume run %s from what its workers committed", exc,
                         self._meta.get("run_id", "?"))

    def refresh_meta(self) -> dict[str, str]:
        """Read the crawl's meta; FrontierForgot when it is not the state this worker
        joined, or an older one."""
        raw = self.client.hgetall(self._k("meta"))
        meta = {_text(k): _text(v) for k, v in raw.items()}
        if meta.get("epoch") != self.epoch:
            raise FrontierForgot("Redis no longer holds the crawl this worker joined")
        gen = int(meta.get("gen") or 0)
        if gen < self.seen:
            self.client.eval(_POISON, 0, self.key, self.epoch)
            raise FrontierForgot("Redis holds an older state of the crawl (an older "
                                 "snapshot was restored)")
        self.seen = gen
        self._meta = meta
        return meta

    @property
    def depth(self) -> int:
        return int(self._meta.get("depth", 0))

    @property
    def stop_reason(self) -> str | None:
        if self.lost is not None:
            return "frontier_lost"
        if self.forgot is not None:
            return "frontier_forgot"
        if self.lease_lost is not None:
            return "lease_lost"
        return self._meta.get("stop_reason") or None

    @property
    def finished(self) -> bool:
        return (self.lost is None and self.forgot is None and self.lease_lost is None
                and self._meta.get("state") == "finished")

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
        depth, *titles = self._call(_CLAIM, self.worker, self.lease_ms, self.claim_batch)
        self._meta["depth"] = _text(depth)  # another worker may have moved the level on
        claimed = [_text(t) for t in titles]
        for tconst in claimed:
            self._mine[tconst] = None
        return claimed

    @_or_lost(None)
    def record_links(self, tconst: str, similar: Iterable[str]) -> None:
        self._call(_LINKS, tconst, json.dumps(list(similar)))

    @_or_lost(None)
    def resolve(self, tconst: str, outcome: str) -> None:
        if self._call(_RESOLVE, self.worker, tconst, outcome):
            self._mine[tconst] = outcome
        else:
            self._mine.pop(tconst, None)

    @_or_lost(False)
    def record_alias(self, tconst: str, canonical: str) -> bool:
        is_new = bool(self._call(_ALIAS, self.worker, tconst, canonical))
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
        queued, inflight, held = self._call(_COUNTS)
        return int(queued), int(inflight), int(held)

    @_or_lost(False)
    def level_fetched(self) -> bool:
        queued, inflight, _ = self._counts()
        return queued == 0 and inflight <= 0

    @_or_lost(False)
    def level_complete(self) -> bool:
        if self._mine:  # committed nothing for these: fetch them again
            n = self._call(_REQUEUE_MINE, self.worker)
            logger.warning("%d title(s) held by this worker had no committed rows at the end "
                           "of the level; they go back to the queue", n)
            self._mine.clear()
            return False
        queued, _, held = self._counts()
        return queued == 0 and held == 0

    # True when Redis fails: the spider reads False as "the crawl is over", and the
    # stop reason (frontier_lost, frontier_forgot) then closes the worker instead.
    @_or_lost(True)
    def advance(self) -> bool:
        """Start the next level once this one is complete (whichever worker turns it);
        False when the crawl is over."""
        while _text(self._call(_ADVANCE, self.depth, ADVANCE_STEP)[0]) == "advancing":
            pass
        self.refresh_meta()
        if self.finished and self.on_finished is not None:
            self.on_finished()
        return not self.finished

    @_or_lost(0)
    def level_size(self) -> int:
        return int(self.client.llen(self._k("level")))

    # --- commits, leases, reaping --------------------------------------------------------

    def chunk_committing(self, tconsts: Sequence[str], chunk: int) -> bool:
        """The commit-time claim (see the module doc): whether the exporter may commit a
        chunk holding these titles.  Without Redis (lost, or forgot the crawl) it may only
        while its lease, renewed last at ``renewed``, cannot have lapsed yet."""
        if not tconsts:
            return True  # a session's own rows (crawl_runs): no title to fence
        if self.lease_lost is not None:
            return False
        if self.lost is None and self.forgot is None:
            try:
                answer = _text(self._call(_BEGIN_COMMIT, self.worker, self.lease_ms, chunk,
                                          json.dumps(list(tconsts))))
            except FrontierForgot as exc:
                self._forget(exc)
            except redis.RedisError as exc:
                self.lost = str(exc)
                logger.error("shared frontier: Redis cannot be reached (%s); this worker "
                             "stops", exc)
            else:
                if answer == "ok":
                    self.renewed = time.monotonic()
                    return True
                self._lose_lease(f"{len(tconsts)} title(s) of chunk {chunk} are no longer "
                                 "its own")
                return False
        return time.monotonic() - self.renewed < self.lease_ms / 2000

    def _lose_lease(self, what: str) -> None:
        """This worker was taken for dead (its lease lapsed: stalled, or cut off): say so
        in one line, once; it stops, and what it did not commit is others' now."""
        if self.lease_lost is not None:
            return
        self.lost_titles = len(self._mine)
        self.lease_lost = (
            f"worker {self.worker} lost its lease: it renewed none for over "
            f"FRONTIER_LEASE_SECONDS={self.lease_ms / 1000:g} s (stalled, or cut off) and "
            f"was taken for dead ({what}); the {self.lost_titles} title(s) it held are "
            "fetched by other workers, its rows for them are not committed; it stops")
        logger.error("%s", self.lease_lost)
        self._mine.clear()
        if self.on_lease_lost is not None:
            self.on_lease_lost(self.lease_lost, self.lost_titles)

    def chunk_committed(self, tconsts: Sequence[str], chunk: int) -> None:
        for tconst in tconsts:
            self._mine.pop(tconst, None)
        if self.lost is not None or self.forgot is not None:
            return  # the commit log is what a resumed run reads
        try:
            self._call(_COMMIT, self.worker, json.dumps(list(tconsts)), chunk)
        except FrontierForgot as exc:
            self._forget(exc)
            return
        except redis.RedisError as exc:  # the reaper will read the commit log instead
            logger.error("shared frontier: chunk %d committed, but Redis was not told (%s)",
                         chunk, exc)
            return
        if self.on_commit is not None:
            self.on_commit(self.mine)

    def heartbeat(self) -> None:
        """Renew this worker's lease; FrontierUnavailable when Redis cannot be reached.
        When Redis forgot the crawl, ``stop_reason`` says so instead."""
        if self.lost is not None:
            raise FrontierUnavailable(f"Redis cannot be reached: {self.lost}")
        if self.forgot is not None:
            return
        try:
            if int(self._call(_HEARTBEAT, self.worker, self.lease_ms)) < 0:
                self._lose_lease("found at its heartbeat")
            else:
                self.renewed = time.monotonic()
            self.refresh_meta()
        except redis.ConnectionError as exc:
            self.lost = str(exc)
            raise FrontierUnavailable(f"Redis cannot be reached: {exc}") from None
        except FrontierForgot as exc:
            self._forget(exc)

    @_or_lost(0)
    def reap(self) -> int:
        """Give back the titles of workers whose lease expired; how many went back."""
        requeued = 0
        for worker, last, committing in self._call(_EXPIRED):
            worker, chunk = _text(worker), _text(committing)
            if worker == self.worker:
                continue
            decision = _decision(self.settle(worker, int(chunk), False)) if chunk else "none"
            committed = self.committed_since(worker, int(_text(last)))
            n = int(self._call(_REAP, worker, json.dumps(committed), decision, chunk))
            if n < 0 or (decision == "held" and not n and worker in self._held_logged):
                continue
            from crawler.download.politeness import free_slots_of

            free_slots_of(self.client, worker)
            held = (f"; chunk {chunk} it was committing waits for it (it still lives)"
                    if decision == "held" else "")
            logger.warning("worker %s stopped renewing its lease: %d title(s) it held go "
                           "back to the queue, %d committed by it kept%s", worker, n,
                           len(committed), held)
            if decision == "held":
                self._held_logged.add(worker)
            requeued += n
        return requeued

    @_or_lost(None)
    def stop(self, reason: str) -> None:
        """Stop every worker of the crawl (they see it at their next heartbeat)."""
        self._call(_STOP, reason)
        self.refresh_meta()

    @_or_lost(None)
    def clear_stale_stop(self) -> None:
        """A stop (blocks) holds while any worker lives; the first worker started after all
        of them ended clears it, as a new session of a stopped one-process run goes on."""
        if self._call(_CLEAR_STALE_STOP):
            logger.info("shared crawl %r: the stop of its last session is cleared", self.key)
        self.refresh_meta()

    @_or_lost(0)
    def rejoin(self) -> int:
        """Give back what an earlier process under this worker's name held (see
        lua/rejoin.lua); how many titles went back."""
        w = self.worker
        if not self.client.scard(self._k(f"claims:{w}")) and not self.client.hexists(
                self._k("reaped"), w):
            return 0
        committing = self.client.hget(self._k(f"committing:{w}"), "chunk")
        chunk = _text(committing) if committing is not None else ""
        decision = _decision(self.settle(w, int(chunk), True)) if chunk else "none"
        last = self.client.hget(self._k(f"commits:{w}"), "last")
        committed = self.committed_since(w, int(last) if last is not None else -1)
        n = int(self._call(_REJOIN, w, json.dumps(committed), decision, chunk))
        logger.warning("worker %s ended without giving back what it held: %d title(s) go back "
                       "to the queue, %d committed by it kept", self.worker, n, len(committed))
        return n

    def release(self) -> None:
        """This worker is done: what it still holds goes back to the queue now, rather
        than when its lease expires."""
        if self.lost is None and self.forgot is None:
            try:
                self._call(_REAP_SELF, self.worker)
            except (redis.RedisError, FrontierForgot) as exc:  # its lease will expire instead
                logger.error("shared frontier: could not give back this worker's titles (%s)",
                             exc)
        self._mine.clear()


def _decision(settled: bool | None) -> str:
    """What reap.lua and rejoin.lua do with a chunk being committed, once settled."""
    return "held" if settled is None else "done" if settled else "void"


def join(settings: Any, run: Run, output_dir: str) -> tuple[SharedFrontier, Run]:
    """This process's frontier in the shared crawl ``settings`` name, and the run it
    joins (the crawl's run id and start; this worker's id).  A crawl Redis forgot is
    rebuilt first, from what its workers committed (``crawler.frontier.recovery``)."""
    from crawler.frontier import recovery
    from crawler.state import commits, dataset, sessions

    key = settings.get("FRONTIER_KEY") or DEFAULT_KEY
    client = connect(settings.get("FRONTIER_URL"))
    crawl = recovery.open_crawl(client, key, run, output_dir,
                                lease_seconds=settings.getfloat("FRONTIER_LEASE_SECONDS"))
    worker = settings.get("FRONTIER_WORKER") or default_worker_id()
    joined = replace(run, run_id=crawl.run_id, worker=worker,
                     resumed=not crawl.created or crawl.rebuilt,
                     started_at=datetime.fromisoformat(crawl.started_at))

    def committed_since(other: str, last: int) -> list[str]:
        """The titles in ``other``'s chunks committed after chunk ``last`` (a chunk killed
        between its commit and its renames published first)."""
        commits.publish_committed(output_dir, f"{crawl.run_id}.{other}")
        return dataset.committed_titles(output_dir, f"{crawl.run_id}.{other}", after=last)

    def settle(other: str, chunk: int, own: bool) -> bool | None:
        file_key = f"{crawl.run_id}.{other}"
        if own:  # this process holds the session lock: the earlier one is dead
            return commits.decide(output_dir, file_key, chunk)
        return commits.settle(output_dir, file_key, chunk)

    # Held from now on: a second live process under this worker's name is refused, and no
    # other run takes this worker's files for a dead session's.
    sessions.acquire(output_dir, joined.file_key)
    frontier = SharedFrontier(
        client, key, worker, epoch=crawl.epoch,
        lease_seconds=settings.getfloat("FRONTIER_LEASE_SECONDS"),
        claim_batch=settings.getint("FRONTIER_CLAIM_BATCH"),
        committed_since=committed_since, settle=settle,
        on_commit=lambda gen: recovery.record_generation(output_dir, joined.file_key,
                                                         crawl.epoch, gen),
        on_finished=lambda: recovery.mark_finished(output_dir, key, crawl.run_id))
    if not crawl.created:
        frontier.rejoin()
        frontier.clear_stale_stop()
    frontier.heartbeat()
    return frontier, joined
