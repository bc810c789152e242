"""The real spider against a mirror of the real pages in ../shared/pages/real.

Every current-layout page is a seed; the tables must hold each page's own values,
read here from the page's ``__NEXT_DATA__`` with the golden tests' plain paths.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mirror.server import MirrorServer
from tests.conftest import REAL_PAGES, needs_shared, real_pages
from tests.crawling import read_table, run_crawl
from tests.test_extraction_golden import _script, first, longest, title_objects

pytestmark = needs_shared

PAGES = {p.name.split("__")[0]: p for p in real_pages("next2021plus")}
SEEDS = sorted(PAGES)


def served_tconsts() -> set[str]:
    """Titles the mirror has a title page for (current layout, else legacy)."""
    with open(REAL_PAGES / "SOURCES.tsv", encoding="utf-8") as f:
        return {r["title_id"] for r in csv.DictReader(f, delimiter="\t")
                if r["layout"] in ("next2021plus", "legacy")}


def page_objects(tconst: str) -> list[dict[str, Any]]:
    text = PAGES[tconst].read_text(encoding="utf-8")
    return title_objects(_script(text, '<script id="__NEXT_DATA__"'), tconst)


@pytest.fixture(scope="module")
def depth0(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("depth0") / "out"
    with MirrorServer(pages_dir=REAL_PAGES) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=0)
        hits = Counter(mirror.hits)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"out": out, "log": proc.stderr, "hits": hits}


def test_every_seed_page_becomes_a_title_row_once(depth0: dict[str, Any]) -> None:
    titles = read_table(depth0["out"], "titles")
    assert sorted(r["tconst"] for r in titles) == SEEDS
    assert read_table(depth0["out"], "failures") == []
    assert all(depth0["hits"][f"/title/{t}/"] == 1 for t in SEEDS)
    # -a credits=page (the default): one request per title page, no full credits page
    # (tests/test_crawl_full_credits.py: two with credits=full).
    assert {p for p in depth0["hits"] if p.startswith("/title/")} == {
        f"/title/{t}/" for t in SEEDS}
    assert {r["full_credits"] for r in titles} == {None}


def test_titles_and_ratings_hold_the_pages_own_values(depth0: dict[str, Any]) -> None:
    titles = {r["tconst"]: r for r in read_table(depth0["out"], "titles")}
    ratings = {r["tconst"]: r for r in read_table(depth0["out"], "ratings")}
    for tconst in SEEDS:
        objs, row = page_objects(tconst), titles[tconst]
        assert row["primary_title"] == first(objs, "titleText.text"), tconst
        assert row["title_type"] == first(objs, "titleType.id"), tconst
        assert row["start_year"] == first(objs, "releaseYear.year"), tconst
        assert row["genres"] == [g["id"] for g in longest(objs, "genres.genres")], tconst
        seconds = first(objs, "runtime.seconds")
        if seconds:  # (without it the page may still show one in its HTML specs)
            assert row["runtime_minutes"] == seconds // 60, tconst
        rating = first(objs, "ratingsSummary.aggregateRating")
        votes = first(objs, "ratingsSummary.voteCount")
        if rating is None and not votes:
            assert tconst not in ratings or ratings[tconst]["average_rating"] is None
            continue
        r = ratings[tconst]
        assert math.isclose(r["average_rating"], rating), tconst
        assert (r["num_votes"], r["num_votes_abbreviated"]) == (votes, False), tconst


def test_credits_and_edges_hold_the_pages_own_values(depth0: dict[str, Any]) -> None:
    credits = read_table(depth0["out"], "credits")
    edges = read_table(depth0["out"], "more_like_this")
    for tconst in SEEDS:
        objs = page_objects(tconst)
        directors = [c["name"]["id"] for group in (first(objs, "directors") or [])
                     for c in group["credits"]]
        got = [c["nconst"] for c in sorted(credits, key=lambda c: c["ordering"])
               if c["tconst"] == tconst and c["category"] == "director"]
        assert got == directors, tconst
        similar = [e["node"]["id"] for e in longest(objs, "moreLikeThisTitles.edges")]
        mine = sorted((e for e in edges if e["tconst"] == tconst), key=lambda e: e["rank"])
        assert [e["similar_tconst"] for e in mine] == similar, tconst
        assert [e["rank"] for e in mine] == list(range(1, len(similar) + 1)), tconst


def test_code_consoles_are_not_loaded(depth0: dict[str, Any]) -> None:
    log = depth0["log"]
    assert "Enabled extensions" in log
    enabled = log.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "scrapy.extensions.corestats.CoreStats" in enabled  # the list was found
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled


def test_depth_one_follows_edges_inside_the_mirror_and_reports_the_rest(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with MirrorServer(pages_dir=REAL_PAGES) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=1)
        hits = Counter(mirror.hits)
    assert proc.returncode == 0, proc.stderr[-3000:]
    linked = {e["node"]["id"] for t in SEEDS
              for e in longest(page_objects(t), "moreLikeThisTitles.edges")}
    scheduled = set(SEEDS) | linked
    titles = {r["tconst"] for r in read_table(out, "titles")}
    failures = read_table(out, "failures")
    served = served_tconsts()
    assert titles == scheduled & served
    # The pages the mirror lacks come back as 404 and are reported, not lost.
    assert {f["tconst"] for f in failures} == scheduled - served
    assert {(f["reason"], f["http_status"]) for f in failures} == {("not_found", 404)}
    assert all(n == 1 for path, n in hits.items() if path.startswith("/title/"))
    assert sum(1 for path in hits if path.startswith("/title/")) == len(scheduled)
