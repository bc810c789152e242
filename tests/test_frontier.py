"""The breadth-first frontier: order, limits, merges and replay after a kill."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.crawl import bfs_tconsts
from crawler.frontier.local import Frontier
from crawler.frontier.titles import TitleStates
from mirror.synthetic import _links, outside_tconst, tconst_of


def crawl(graph: dict[str, list[str]], seeds: list[str], depth: int, max_titles: int,
          aliases: dict[str, str] | None = None, stop_after: int | None = None,
          frontier: Frontier | None = None) -> tuple[list[tuple[int, str]], Frontier]:
    """Drive a frontier like the spider does, level by level, optionally stopping early."""
    aliases = aliases or {}
    f = frontier or Frontier(seeds, depth, max_titles)
    order: list[tuple[int, str]] = []
    while f.level:
        i = 0
        while i < len(f.level):
            t = f.level[i]
            i += 1
            if t in f.done:
                continue
            if stop_after is not None and len(order) >= stop_after:
                return order, f
            order.append((f.depth, t))
            if t in aliases:
                f.record_alias(t, aliases[t])
                continue
            f.resolve(t, "title")
            f.record_links(t, graph.get(t, []))
        f.advance()
    return order, f


GRAPH = {
    "tt0000001": ["tt0000002", "tt0000003"],
    "tt0000002": ["tt0000003", "tt0000004", "tt0000001"],
    "tt0000003": ["tt0000005"],
    "tt0000004": ["tt0000006"],
    "tt0000005": ["tt0000001"],
}


def test_breadth_first_order_and_depth_limit() -> None:
    order, f = crawl(GRAPH, ["tt0000001"], depth=2, max_titles=100)
    assert order == [
        (0, "tt0000001"),
        (1, "tt0000002"), (1, "tt0000003"),
        (2, "tt0000004"), (2, "tt0000005"),
    ]
    # tt0000006 is linked from depth 2: beyond the limit, never scheduled.
    assert "tt0000006" not in f.scheduled


def test_max_titles_cuts_in_breadth_first_order() -> None:
    order, f = crawl(GRAPH, ["tt0000001"], depth=5, max_titles=3)
    assert [t for _, t in order] == ["tt0000001", "tt0000002", "tt0000003"]
    assert f.titles_over_limit > 0


def test_depth_zero_fetches_only_the_seeds() -> None:
    order, _ = crawl(GRAPH, ["tt0000002", "tt0000001"], depth=0, max_titles=100)
    assert order == [(0, "tt0000002"), (0, "tt0000001")]


def test_merged_title_is_followed_once_in_its_level() -> None:
    graph = {"tt0000001": ["tt0000002", "tt0000003"], "tt0000009": ["tt0000004"]}
    order, f = crawl(graph, ["tt0000001"], depth=2, max_titles=100,
                     aliases={"tt0000002": "tt0000009", "tt0000003": "tt0000009"})
    assert order == [(0, "tt0000001"), (1, "tt0000002"), (1, "tt0000003"), (1, "tt0000009"),
                     (2, "tt0000004")]
    assert f.aliases == {"tt0000002": "tt0000009", "tt0000003": "tt0000009"}


graphs = st.dictionaries(
    st.sampled_from([f"tt{i:07d}" for i in range(1, 30)]),
    st.lists(st.sampled_from([f"tt{i:07d}" for i in range(1, 40)]), max_size=6),
    min_size=1,
)


@settings(max_examples=200, deadline=None)
@given(graph=graphs, depth=st.integers(0, 4), max_titles=st.integers(1, 40),
       data=st.data())
def test_replay_after_any_stop_continues_exactly(graph: dict[str, list[str]], depth: int,
                                                 max_titles: int, data: st.DataObject) -> None:
    seeds = [next(iter(graph))]
    full, _ = crawl(graph, seeds, depth, max_titles)
    assert len({t for _, t in full}) == len(full)  # nothing fetched twice
    stop = data.draw(st.integers(0, len(full)))
    partial, f = crawl(graph, seeds, depth, max_titles, stop_after=stop)
    # What a killed run committed: whole levels only (the spider commits at level ends).
    committed_depth = f.depth
    outcomes = {t: "title" for d, t in partial if d < committed_depth}
    edges = {t: graph.get(t, []) for t in outcomes}
    resumed = Frontier.replay(seeds, depth, max_titles, outcomes, edges)
    rest, _ = crawl(graph, seeds, depth, max_titles, frontier=resumed)
    done_before = [(d, t) for d, t in partial if d < committed_depth]
    assert done_before + rest == full


def test_seeds_beyond_max_titles_are_reported() -> None:
    f = Frontier(["tt0000001", "tt0000002", "tt0000003"], max_depth=1, max_titles=2)
    assert f.level == ["tt0000001", "tt0000002"]
    assert f.seeds_over_limit == ["tt0000003"] and f.titles_over_limit == 0


def test_merges_count_against_max_titles() -> None:
    f = Frontier(["tt0000001"], max_depth=2, max_titles=1)
    assert f.record_alias("tt0000001", "tt0000002") is False  # the budget is spent
    assert f.pending == [] and f.titles_over_limit == 1
    g = Frontier(["tt0000001"], max_depth=2, max_titles=2)
    assert g.record_alias("tt0000001", "tt0000002") is True
    assert g.pending == ["tt0000002"]


def test_merge_loops_and_long_chains_are_named() -> None:
    f = Frontier(["tt0000001"], max_depth=0, max_titles=100)
    assert f.merge_problem("tt0000001", "tt0000002", max_chain=3) is None
    f.record_alias("tt0000001", "tt0000002")
    assert f.merge_problem("tt0000002", "tt0000001", max_chain=3) == "redirect_loop"
    assert f.merge_problem("tt0000002", "tt0000002", max_chain=3) == "redirect_loop"
    f.record_alias("tt0000002", "tt0000003")
    f.record_alias("tt0000003", "tt0000004")
    # tt0000004 was reached through 3 redirects: a 4th is past max_chain=3, not past 4.
    assert f.merge_problem("tt0000004", "tt0000005", max_chain=3) == "redirect_chain"
    assert f.merge_problem("tt0000004", "tt0000005", max_chain=4) is None
    assert f.merge_problem("tt0000003", "tt0000005", max_chain=3) is None


class ListFrontier(Frontier):
    """The frontier as it was: every link of the level kept, as the strings given."""

    def record_links(self, tconst: str, similar: Iterable[str]) -> None:
        self.links[tconst] = list(similar)


ids = st.sampled_from([f"tt{i:07d}" for i in range(1, 40)] + ["tt10000001", "nm0000001", ""])


@settings(max_examples=200, deadline=None)
@given(graph=st.dictionaries(ids, st.lists(ids, max_size=8), min_size=1),
       depth=st.integers(0, 4), max_titles=st.integers(1, 40),
       merges=st.dictionaries(ids, ids, max_size=3))
def test_compact_links_change_nothing(graph: dict[str, list[str]], depth: int,
                                      max_titles: int, merges: dict[str, str]) -> None:
    """Links kept as codes, dropped once scheduled, counted once the frontier is full:
    the same order, the same count over the limit as every link kept as given."""
    seeds = [next(iter(graph))]
    aliases = {t: c for t, c in merges.items() if t != c}
    expected, plain = crawl(graph, seeds, depth, max_titles, aliases,
                            frontier=ListFrontier(seeds, depth, max_titles))
    order, compact = crawl(graph, seeds, depth, max_titles, aliases)
    assert order == expected
    assert compact.titles_over_limit == plain.titles_over_limit
    assert compact.scheduled == plain.scheduled


def links_bytes(links: dict[str, object]) -> int:
    """What a level's links hold: the dict, each value, and the strings of a list."""
    return sys.getsizeof(links) + sum(
        sys.getsizeof(v) + (sum(map(sys.getsizeof, v)) if isinstance(v, list) else 0)
        for v in links.values())


def synthetic_crawl(f: Frontier, titles: int) -> tuple[list[str], int]:
    """Drive ``f`` over bench/crawl.py's synthetic graph: its order, and the most bytes a
    level's links took."""
    order: list[str] = []
    most = 0
    while f.level:
        for tconst in f.take():
            order.append(tconst)
            f.resolve(tconst, "title")
            if tconst.startswith("tt9"):  # else outside the graph: a 404, no links
                i = int(tconst[2:]) - 9_000_000
                targets, leaves = _links(i, titles + 100, 12, 0)
                f.record_links(tconst, [tconst_of(t) for t in targets]
                               + ([outside_tconst(i)] if leaves else []))
        most = max(most, links_bytes(f.links))
        f.advance()
    return order, most


def test_a_level_of_a_large_crawl_keeps_its_links_small() -> None:
    """At 10,000 titles the widest level's links take under 100 bytes per title of the
    crawl (a fifth of what a dozen tconsts as strings took), and the crawl is the same."""
    titles = 10_000
    order, most = synthetic_crawl(Frontier([tconst_of(1)], 50, titles), titles)
    plain_order, plain_most = synthetic_crawl(ListFrontier([tconst_of(1)], 50, titles), titles)
    assert order == plain_order == bfs_tconsts(titles + 100, titles)
    assert 0 < most < 100 * titles and most * 5 < plain_most, (most, plain_most)


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(st.tuples(st.booleans(), ids, st.integers(0, 60),
                              st.sampled_from(["title", "failure", "alias", "reused"])),
                    max_size=40))
def test_title_states_read_as_the_two_dicts_they_replace(
        ops: list[tuple[bool, str, int, str]]) -> None:
    """One packed dict of depths and outcomes reads as a dict of depths and a dict of
    outcomes would: values, order, lengths, counts per depth (outcomes of titles never
    scheduled and titles resolved twice included)."""
    titles, depths, outcomes = TitleStates(), {}, {}
    for schedule, tconst, depth, outcome in ops:
        if schedule and tconst not in depths:  # the frontier schedules a title once
            titles.schedule(tconst, depth)
            depths[tconst] = depth
        elif not schedule:
            titles.resolve(tconst, outcome)
            outcomes[tconst] = outcome
    assert dict(titles.scheduled) == depths and list(titles.scheduled) == list(depths)
    assert dict(titles.done) == outcomes and len(titles.done) == len(outcomes)
    assert all(t in titles.done for t in outcomes)
    assert not any(t in titles.done for t in depths if t not in outcomes)
    expected: dict[int, list[int]] = {}
    for tconst, depth in depths.items():
        counts = expected.setdefault(depth, [0, 0])
        counts[0] += tconst in outcomes
        counts[1] += 1
    assert titles.per_depth() == {d: (c[0], c[1]) for d, c in sorted(expected.items())}
