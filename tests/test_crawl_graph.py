"""The real spider over a synthetic graph with known structure (mirror on 127.0.0.1)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests.crawling import read_table, run_crawl

GRAPH = synthetic_graph(60, out_degree=5, seed=3)
SEED = tconst_of(1)


def title_requests(mirror: MirrorServer) -> list[str]:
    return [path.split("/")[2] for path, _ in mirror.log if path.startswith("/title/")]


@pytest.mark.parametrize(("depth", "max_titles"), [(0, 1000), (2, 1000), (3, 25), (10, 60)])
def test_breadth_first_within_limits_each_title_once_every_edge_once(
    tmp_path: Path, depth: int, max_titles: int
) -> None:
    expected = bfs_order(GRAPH, [SEED], depth, max_titles)
    with MirrorServer(records=GRAPH) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=SEED, depth=depth,
                         max_titles=max_titles)
        fetched = title_requests(mirror)
    assert proc.returncode == 0, proc.stderr[-2000:]

    # Each scheduled title fetched exactly once, and nothing else.
    assert Counter(fetched) == Counter(expected.order)
    # Breadth-first: the depth of the titles, in the order they were requested, never drops.
    depths = [expected.depth[t] for t in fetched]
    assert depths == sorted(depths)

    titles = read_table(tmp_path / "out", "titles")
    failures = read_table(tmp_path / "out", "failures")
    fetched_ok = set(expected.order) - set(expected.missing)
    assert sorted(r["tconst"] for r in titles) == sorted(fetched_ok)
    assert sorted(r["tconst"] for r in failures) == sorted(expected.missing)
    assert {r["reason"] for r in failures} <= {"not_found"}
    assert all(r["depth"] == expected.depth[r["tconst"]] for r in titles + failures)

    edges = read_table(tmp_path / "out", "more_like_this")
    got = Counter((r["tconst"], r["similar_tconst"], r["rank"]) for r in edges)
    assert got == Counter(expected.ranked_edges)  # every edge, exactly once, with its rank

    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert run["finish_reason"] == "finished"
    assert run["titles_rows"] == len(titles)


def test_several_seeds_and_title_urls(tmp_path: Path) -> None:
    seeds = [tconst_of(10), tconst_of(20)]
    expected = bfs_order(GRAPH, seeds, 1, 1000)
    with MirrorServer(records=GRAPH) as mirror:
        seed_arg = f"{seeds[0]},https://www.imdb.com/title/{seeds[1]}/?ref_=x"
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=seed_arg, depth=1)
        fetched = title_requests(mirror)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Both seeds before any title of depth 1 (the two are requested at once: either may
    # reach the mirror first).
    assert sorted(fetched[:2]) == sorted(seeds)
    assert Counter(fetched) == Counter(expected.order)


def test_two_runs_the_same_day_append(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with MirrorServer(records=GRAPH) as mirror:
        for _ in range(2):
            proc = run_crawl(mirror.base_url, out, seed=SEED, depth=1)
            assert proc.returncode == 0, proc.stderr[-2000:]
    titles = read_table(out, "titles")
    runs = read_table(out, "crawl_runs")
    assert len(runs) == 2 and len({r["run_id"] for r in runs}) == 2
    per_run = Counter(r["run_id"] for r in titles)
    assert sorted(per_run.values()) == [6, 6]  # the seed and its 5 neighbours, twice
    files = list((out / "titles").rglob("*.parquet"))
    assert len(files) >= 2 and all(not f.name.startswith(".") for f in files)


SCALARS = ("title_type", "primary_title", "original_title", "is_adult", "start_year",
           "end_year", "runtime_minutes", "certificate", "release_country", "plot", "storyline",
           "awards_wins", "awards_nominations", "user_review_count", "critic_review_count",
           "metascore")
LISTS = ("genres", "countries_of_origin", "spoken_languages", "also_known_as", "taglines",
         "keywords", "filming_locations", "production_companies", "color", "sound_mix",
         "aspect_ratio")


def test_round_trip_record_page_crawl_dataset(tmp_path: Path) -> None:
    """record -> rendered page -> crawl -> rows: the dataset gives back the records."""
    with MirrorServer(records=GRAPH) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=SEED, depth=2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles = read_table(tmp_path / "out", "titles")
    ratings = {r["tconst"]: r for r in read_table(tmp_path / "out", "ratings")}
    credits = read_table(tmp_path / "out", "credits")
    assert len(titles) > 10
    for row in titles:
        record = GRAPH[row["tconst"]]
        for name in SCALARS:
            assert row[name] == record.get(name), (row["tconst"], name)
        for name in LISTS:
            assert row[name] == record.get(name, []), (row["tconst"], name)
        assert str(row["release_date"]) == record["release_date"]
        for money in ("budget", "gross_us_canada"):
            value = record.get(money)
            got = (row[f"{money}_amount"], row[f"{money}_currency"])
            assert got == ((value["amount"], value["currency"]) if value else (None, None))
        rating = ratings[row["tconst"]]
        assert rating["average_rating"] == record["average_rating"]
        assert (rating["num_votes"], rating["num_votes_abbreviated"]) == (record["num_votes"],
                                                                          False)
        mine = sorted((c for c in credits if c["tconst"] == row["tconst"]),
                      key=lambda c: (c["category"], c["ordering"]))
        expected = sorted(record["credits"], key=lambda c: (c["category"], c["ordering"]))
        assert [(c["category"], c["ordering"], c["nconst"], c["primary_name"], c["characters"])
                for c in mine] == [(c["category"], c["ordering"], c["nconst"], c["name"],
                                    c["characters"]) for c in expected]


def test_a_feed_gives_one_line_per_title_page(tmp_path: Path) -> None:
    """`-o titles.jsonl` next to the Parquet output: one line per outcome, nested rows."""
    import json

    expected = bfs_order(GRAPH, [SEED], 1, 1000)
    feed = tmp_path / "titles.jsonl"
    with MirrorServer(records=GRAPH) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=SEED, depth=1,
                         settings={"FEEDS": json.dumps({str(feed): {"format": "jsonlines"}})})
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in feed.read_text(encoding="utf-8").splitlines()]
    by_outcome = Counter(line["outcome"] for line in lines)
    fetched_ok = set(expected.order) - set(expected.missing)
    assert by_outcome == {"title": len(fetched_ok), **(
        {"failure": len(expected.missing)} if expected.missing else {})}
    seed = next(line for line in lines if line.get("tconst") == SEED)
    assert [e["similar_tconst"] for e in seed["more_like_this"]] == [
        t for t, _ in sorted(((s, r) for (f, s, r) in expected.ranked_edges if f == SEED),
                             key=lambda x: x[1])]
    assert seed["depth"] == 0 and seed["run_id"]
    assert len(seed["credits"]) == len(GRAPH[SEED]["credits"])
