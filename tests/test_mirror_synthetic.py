"""The synthetic graph is deterministic and follows its documented rules; bfs_order gives
the breadth-first crawl worked out by hand on small graphs; the catalogue loads."""

from __future__ import annotations

import json

import pytest

from mirror import bfs_order, load_catalogue, synthetic_graph
from mirror.synthetic import SyntheticGraph, outside_tconst


def _graph(links: dict[str, list[str]]) -> dict:
    return {t: {"tconst": t, "more_like_this": [{"rank": i, "tconst": s}
                                                for i, s in enumerate(out, 1)]}
            for t, out in links.items()}


def test_same_arguments_same_graph() -> None:
    a = synthetic_graph(40, seed=3)
    assert json.dumps(a, sort_keys=True) == json.dumps(synthetic_graph(40, seed=3), sort_keys=True)
    assert json.dumps(a, sort_keys=True) != json.dumps(synthetic_graph(40, seed=4), sort_keys=True)


def test_links_follow_the_documented_rules() -> None:
    graph = synthetic_graph(100, out_degree=12)
    assert list(graph)[:2] == ["tt9000001", "tt9000002"] and len(graph) == 100
    for i, (tconst, record) in enumerate(graph.items(), 1):
        links = [c["tconst"] for c in record["more_like_this"]]
        assert len(links) == 12 and len(set(links)) == 12 and tconst not in links
        assert [c["rank"] for c in record["more_like_this"]] == list(range(1, 13))
        assert links[0] == f"tt{9000000 + i % 100 + 1}"
        outside = [t for t in links if t not in graph]
        assert outside == ([outside_tconst(i)] if i % 7 == 0 else [])
    card = graph["tt9000001"]["more_like_this"][0]
    target = graph["tt9000002"]
    assert card["primary_title"] == target["primary_title"]
    assert card["average_rating"] == target["average_rating"]
    assert card["num_votes"] == target["num_votes"]


def test_small_graphs_have_fewer_links() -> None:
    graph = synthetic_graph(3, out_degree=12)
    assert [len(r["more_like_this"]) for r in graph.values()] == [2, 2, 2]
    assert synthetic_graph(1)["tt9000001"]["more_like_this"] == []


def test_records_are_plausible() -> None:
    record = synthetic_graph(10)["tt9000005"]
    assert record["title_type"] == "tvSeries" and record["end_year"] > record["start_year"]
    assert 1 <= len(record["genres"]) <= 3
    assert isinstance(record["num_votes"], int) and 2.0 <= record["average_rating"] <= 9.6
    categories = [c["category"] for c in record["credits"]]
    assert categories[0] == "director" and "writer" in categories
    assert any(c["nconst"] is None for c in record["credits"])  # second writer: no id


def test_bfs_order_on_a_hand_made_graph() -> None:
    graph = _graph({"tt0000001": ["tt0000002", "tt0000003"],
                    "tt0000002": ["tt0000004", "tt0000001"],
                    "tt0000003": ["tt0000005", "tt0000004"],
                    "tt0000004": ["tt0000006"],
                    "tt0000005": []})
    exp = bfs_order(graph, ["tt0000001"], depth=2, max_titles=100)
    assert exp.order == ["tt0000001", "tt0000002", "tt0000003", "tt0000004", "tt0000005"]
    assert exp.depth["tt0000004"] == 2 and "tt0000006" not in exp.depth  # beyond depth
    assert ("tt0000004", "tt0000006") in exp.edges  # but its link is still an edge
    assert len(exp.edges) == 7 and exp.missing == []

    cut = bfs_order(graph, ["tt0000001"], depth=5, max_titles=4)
    assert cut.order == ["tt0000001", "tt0000002", "tt0000003", "tt0000004"]

    deep = bfs_order(graph, ["tt0000001"], depth=5, max_titles=100)
    assert deep.order[-1] == "tt0000006" and deep.missing == ["tt0000006"]


def test_bfs_reaches_every_synthetic_title() -> None:
    graph = synthetic_graph(30)
    exp = bfs_order(graph, ["tt9000001"], depth=30, max_titles=1000)
    inside = [t for t in exp.order if t in graph]
    assert sorted(inside) == sorted(graph)
    assert sorted(exp.missing) == sorted(outside_tconst(i) for i in (7, 14, 21, 28))


@pytest.mark.parametrize("tconst", ["tt0050634", "tt0053106"])
def test_catalogue_loads(tconst: str) -> None:
    catalogue = load_catalogue()
    assert len(catalogue) == 12
    record, options = catalogue[tconst]
    assert record["tconst"] == tconst
    if tconst == "tt0050634":
        assert options == {"votes_display": "16K"} and record["num_votes"] is None
        assert len(record["more_like_this"]) == 11
        assert {tc for tc in catalogue if tc != tconst} == {
            s["tconst"] for s in record["more_like_this"]}
    else:
        assert "more_like_this" not in record and record["also_known_as"] == ["Letter Never Sent"]


def test_the_lazy_graph_makes_the_same_records_on_demand() -> None:
    eager = synthetic_graph(60, seed=2)
    lazy = SyntheticGraph(60, seed=2)
    assert len(lazy) == 60 and list(lazy) == list(eager)
    assert json.dumps(dict(lazy)) == json.dumps(eager)  # same records, same key order
    assert "tt9000060" in lazy and "tt9000061" not in lazy and "tt8000007" not in lazy
    assert lazy.get("tt0050634") is None
    # A huge graph costs nothing until a title is asked for; its links are its own.
    huge = SyntheticGraph(10_000_000)
    record = huge["tt9999998"]
    links = [c["tconst"] for c in record["more_like_this"]]
    assert links[0] == "tt9999999" and len(set(links)) == 12  # rank 1: the next title
    assert all(t in huge for t in links)  # 999,998 is not a multiple of 7: no outside link
    assert huge["tt9999998"] == record
