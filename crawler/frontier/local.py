"""Breadth-first frontier over the "More like this" graph, level by level.

Pure bookkeeping, no Scrapy: which titles to fetch at which depth, in which
order, within ``max_depth`` and ``max_titles``.  The spider fetches one level
at a time and only starts level d+1 once every title of level d has an
outcome.  Links are turned into the next level at that barrier, in the order
of the current level (not in the order responses happened to arrive), so the
crawl is strictly breadth-first whatever the concurrency and the cut made by
``max_titles`` is the same in every run.  That determinism is what lets a
resumed run rebuild its frontier from the rows already committed (``replay``).

The spider talks to a frontier through a few calls (``take``, ``resolve``,
``record_links``, ``record_alias``, ``level_fetched``, ``level_complete``,
``advance``); ``crawler.frontier.shared.SharedFrontier`` answers the same calls
from Redis for a crawl shared by many workers, so the spider does not know which
one it has.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias, cast

from crawler.frontier.titles import TitleStates
from crawler.ids import is_tconst, tconst_code, tconst_of_code
from crawler.records import Outcome


def merge_problem(
    tconst: str, canonical: str, max_chain: int,
    alias_of: Callable[[str], str | None], origin_of: Callable[[str], str | None],
) -> str | None:
    """Why ``tconst`` redirecting to ``canonical`` is not a merge to follow, or None.

    ``redirect_loop`` when following aliases from ``canonical`` (``alias_of``: merged
    tconst -> canonical) comes back to ``tconst``; ``redirect_chain`` when ``tconst`` was
    itself reached through ``max_chain`` redirects already (``origin_of``: canonical ->
    the tconst merged into it).  Both frontiers call it over their own records.
    """
    seen = {tconst}
    target: str | None = canonical
    while target is not None:
        if target in seen:
            return "redirect_loop"
        seen.add(target)
        target = alias_of(target)
    length = 0
    origin = origin_of(tconst)
    while origin is not None and length < max_chain:
        length += 1
        origin = origin_of(origin)
    return "redirect_chain" if length >= max_chain else None


class FrontierUnavailable(RuntimeError):
    """A shared frontier's store cannot be reached (the worker must stop)."""


class TitleFrontier(Protocol):
    """What the spider asks of a frontier: ``Frontier`` here, in-process, or
    ``crawler.frontier.shared.SharedFrontier``, for a crawl shared through Redis."""

    shared: bool
    max_depth: int
    max_titles: int

    @property
    def depth(self) -> int: ...
    @property
    def stop_reason(self) -> str | None: ...
    @property
    def pending(self) -> list[str]: ...
    @property
    def seeds_over_limit(self) -> list[str]: ...
    @property
    def titles_over_limit(self) -> int: ...
    def level_size(self) -> int: ...
    def take(self) -> list[str]: ...
    def record_links(self, tconst: str, similar: Iterable[str]) -> None: ...
    def resolve(self, tconst: str, outcome: str) -> None: ...
    def record_alias(self, tconst: str, canonical: str) -> bool: ...
    def merge_problem(self, tconst: str, canonical: str, max_chain: int) -> str | None: ...
    def level_fetched(self) -> bool: ...
    def level_complete(self) -> bool: ...
    def advance(self) -> Sequence[str] | bool: ...
    def per_depth(self) -> dict[int, tuple[int, int]]: ...
    def chunk_committed(self, tconsts: Sequence[str], chunk: int) -> None: ...
    def heartbeat(self) -> None: ...
    def reap(self) -> int: ...
    def release(self) -> None: ...


# A fetched title's links while the level is open: tconst codes (``crawler.ids``) packed
# in bytes (8 each, 33 bytes a title: an ``array`` costs 64), the strings themselves if
# one is not a tconst, or, once the frontier is full, a count.
LevelLinks: TypeAlias = "bytes | list[str] | int"


def pack_links(similar: Sequence[str]) -> bytes | list[str]:
    """Links as packed tconst codes; the strings as given if one has no code."""
    codes = [tconst_code(t) for t in similar]
    if None in codes:
        return list(similar)
    return array("q", cast(list[int], codes)).tobytes()


def unpack_links(links: bytes | list[str] | tuple[()]) -> Iterable[str]:
    if isinstance(links, bytes):
        return [tconst_of_code(code) for code in array("q", links)]
    return links


@dataclass
class Frontier:
    seeds: Sequence[str]
    max_depth: int
    max_titles: int
    depth: int = 0  # the level being fetched
    level: list[str] = field(default_factory=list)  # titles of the current level, in order
    # Every scheduled title's depth and outcome (``scheduled``, ``done``), in BFS order.
    titles: TitleStates = field(default_factory=TitleStates)
    # The current level's links per fetched title, kept small (see ``record_links``).
    links: dict[str, LevelLinks] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # merged tconst -> canonical
    joined: set[str] = field(default_factory=set)  # merge targets that joined this level
    seeds_over_limit: list[str] = field(default_factory=list)  # seeds beyond max_titles
    titles_over_limit: int = 0  # linked or merged-into titles not scheduled: max_titles
    # Titles of the current level not handed out by ``take`` yet, in level order.
    unrequested: deque[str] = field(default_factory=deque)
    # False: ``links`` keeps every link as given (a shared crawl's rebuild stages them in
    # Redis, ``crawler.frontier.recovery``).
    compact_links: bool = True

    # An in-process crawl has one worker: no one else to wait for, nothing to commit
    # anywhere but here, no state that outlives the process.
    shared = False
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.level and not self.scheduled:
            for tconst in self.seeds:
                if not self._schedule(tconst, 0) and tconst not in self.scheduled:
                    self.seeds_over_limit.append(tconst)
            self.titles_over_limit = 0
            self.unrequested.extend(self.level)

    @property
    def scheduled(self) -> Mapping[str, int]:
        """tconst -> the depth it was scheduled at, in BFS order."""
        return self.titles.scheduled

    @property
    def done(self) -> Mapping[str, str]:
        """tconst -> its Outcome, for the titles that have one."""
        return self.titles.done

    def take(self) -> list[str]:
        """The current level's titles not handed out yet (all of them: one worker)."""
        titles = [t for t in self.unrequested if t not in self.done]
        self.unrequested.clear()
        return titles

    def level_size(self) -> int:
        return len(self.level)

    def level_fetched(self) -> bool:
        """Every title of the level has an outcome here or with another worker."""
        return True

    def level_complete(self) -> bool:
        """Every title of the level has its outcome committed."""
        return True

    def chunk_committed(self, tconsts: Sequence[str], chunk: int) -> None:
        """The exporter committed a chunk with these titles' outcomes."""

    def heartbeat(self) -> None:
        """Keep this worker's claims (a shared frontier's leases)."""

    def reap(self) -> int:
        """Give back what dead workers held (how many titles)."""
        return 0

    def release(self) -> None:
        """This worker is done: give back what it holds."""

    def _schedule(self, tconst: str, depth: int) -> bool:
        if tconst in self.scheduled:
            return False
        if len(self.scheduled) >= self.max_titles:
            self.titles_over_limit += 1
            return False
        self.titles.schedule(tconst, depth)
        self.level.append(tconst)
        return True

    def record_links(self, tconst: str, similar: Iterable[str]) -> None:
        """The "More like this" tconsts of a fetched title of the current level.

        A level may hold tens of thousands of titles with a dozen links each: kept as
        strings, they grew a crawl's memory with the crawl (~60 MB at 100,000 titles).
        ``scheduled`` only grows, so a link already in it will not change ``advance``:
        only the others are kept, as tconst codes (8 bytes each).  Once ``max_titles`` is
        reached, ``scheduled`` no longer changes and none of them can be scheduled: only
        how many ``advance`` will count over the limit is kept.
        """
        if not self.compact_links:
            self.links[tconst] = list(similar)
            return
        scheduled = self.scheduled
        new = [t for t in similar if t not in scheduled]
        if not new:
            self.links.pop(tconst, None)
        elif len(scheduled) >= self.max_titles:
            self.links[tconst] = len(new)
        else:
            self.links[tconst] = pack_links(new)

    def merge_problem(self, tconst: str, canonical: str, max_chain: int) -> str | None:
        origins = {c: t for t, c in self.aliases.items()}
        return merge_problem(tconst, canonical, max_chain, self.aliases.get, origins.get)

    def record_alias(self, tconst: str, canonical: str) -> bool:
        """``tconst`` redirected to ``canonical``; True when ``canonical`` should be fetched.

        The canonical title joins the current level (it stands for the merged one)
        unless it is already known.  It counts against ``max_titles`` like any title,
        so a site of endless merges cannot grow the crawl past its budget.
        """
        self.aliases[tconst] = canonical
        self.titles.resolve(tconst, Outcome.ALIAS)
        if not self._schedule(canonical, self.depth):
            return False
        self.joined.add(canonical)
        return True

    def resolve(self, tconst: str, outcome: str) -> None:
        self.titles.resolve(tconst, outcome)

    @property
    def pending(self) -> list[str]:
        """Titles of the current level without an outcome yet."""
        return [t for t in self.level if t not in self.done]

    def _level_order(self) -> list[str]:
        """The current level, each merge target right after the tconst it replaced."""
        out: list[str] = []
        for tconst in self.level:
            if tconst in self.joined:
                continue
            out.append(tconst)
            canonical = self.aliases.get(tconst)
            if canonical in self.joined and canonical not in out:
                out.append(canonical)
        return out

    def advance(self) -> list[str]:
        """Close the current level; returns the next one (empty when the crawl is over)."""
        order = self._level_order()
        depth = self.depth
        self.depth += 1
        self.level = []
        if depth + 1 <= self.max_depth:
            for tconst in order:
                links = self.links.get(tconst, ())
                if isinstance(links, int):  # recorded once the frontier was full
                    self.titles_over_limit += links
                    continue
                for similar in unpack_links(links):
                    self._schedule(similar, depth + 1)
        self.links = {}
        self.joined = set()
        self.unrequested = deque(self.level)
        return list(self.level)

    def per_depth(self) -> dict[int, tuple[int, int]]:
        """depth -> (titles with an outcome, titles scheduled)."""
        return self.titles.per_depth()

    @classmethod
    def replay(
        cls,
        seeds: Sequence[str],
        max_depth: int,
        max_titles: int,
        outcomes: Mapping[str, str],
        edges: Mapping[str, Sequence[str]],
        aliases: Mapping[str, str] | None = None,
        compact_links: bool = True,
    ) -> Frontier:
        """Rebuild the frontier of a run from what it committed.

        ``outcomes`` maps each committed tconst to its outcome, ``edges`` maps a
        fetched title to its "More like this" tconsts in page order, ``aliases``
        maps merged tconsts to the one they redirected to.  Each level ends with a
        commit (a long one may be committed in parts, ``PARQUET_COMMIT_ROWS``), so
        replay walks full levels until it meets one with titles lacking an outcome
        (or an empty one), and stops there: those titles are fetched again.
        """
        aliases = aliases or {}
        f = cls(seeds, max_depth, max_titles, compact_links=compact_links)
        while f.level:
            i = 0
            while i < len(f.level):  # the level grows as merge targets join it
                tconst = f.level[i]
                if tconst in aliases:
                    f.record_alias(tconst, aliases[tconst])
                elif tconst in outcomes:
                    f.resolve(tconst, outcomes[tconst])
                    if tconst in edges:
                        f.record_links(tconst, edges[tconst])
                i += 1
            if f.pending:
                f.unrequested = deque(f.pending)
                return f
            f.advance()
        return f


@dataclass
class Links:
    """A title page's "More like this" cards, cleaned (see ``clean_links``)."""

    kept: list[int]  # indexes of the cards kept, in page order
    invalid: int = 0  # card ids that are not tconsts
    self_links: int = 0  # cards linking the title to itself
    duplicates: int = 0  # cards repeating a title already linked


def clean_links(tconst: str, similar: Sequence[str | None]) -> Links:
    """Which cards become edges: each linked title once, at its first card's rank.

    A card id that is not a tconst is dropped (never scheduled); so is a card
    linking a title to itself, and a second card of the same title.
    """
    links = Links(kept=[])
    seen: set[str] = set()
    for i, similar_tconst in enumerate(similar):
        if similar_tconst is None or not is_tconst(similar_tconst):
            links.invalid += 1
        elif similar_tconst == tconst:
            links.self_links += 1
        elif similar_tconst in seen:
            links.duplicates += 1
        else:
            seen.add(similar_tconst)
            links.kept.append(i)
    return links
