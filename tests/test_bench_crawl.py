"""bench/crawl.py's fetch-only baseline requests exactly the titles the crawl schedules."""

from __future__ import annotations

import pytest

from bench.crawl import bfs_tconsts
from mirror.synthetic import SyntheticGraph, bfs_order


@pytest.mark.parametrize(("graph", "max_titles"), [(50, 40), (300, 200), (1100, 1000)])
def test_bfs_tconsts_is_the_crawls_order(graph: int, max_titles: int) -> None:
    expected = bfs_order(SyntheticGraph(graph), ["tt9000001"], 50, max_titles).order
    assert bfs_tconsts(graph, max_titles) == expected
