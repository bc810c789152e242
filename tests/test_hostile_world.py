"""A hostile or broken world never loses data silently (the real spider, the mirror).

Each test reproduces one way a crawl used to lose or double rows, or exit 0 after a
loss, and checks the rows, the exit code and the one-line message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import read_table, run_crawl

GRAPH = synthetic_graph(40, out_degree=3, seed=5)
T = [tconst_of(i) for i in range(1, 41)]
ERROR = "scrapy crawl more_like_this: error: "


def outcomes(out: Path) -> dict[str, str]:
    """tconst -> its one outcome table; fails on a title with two outcomes."""
    seen: dict[str, str] = {}
    for table in ("titles", "failures", "aliases"):
        for row in read_table(out, table):
            assert row["tconst"] not in seen, f"{row['tconst']} in {seen.get(row['tconst'])} "
            seen[row["tconst"]] = table
    return seen


def crawl_run(out: Path) -> dict[str, Any]:
    (run,) = read_table(out, "crawl_runs")
    return run


# --- page content never stops a crawl -------------------------------------------------


def test_malformed_self_and_duplicate_cards_are_dropped_and_counted(tmp_path: Path) -> None:
    graph = dict(GRAPH)
    seed = dict(graph[T[0]])
    cards = seed["more_like_this"]
    seed["more_like_this"] = [
        cards[0],
        {**cards[1], "tconst": "tt12345678901"},  # 11 digits: not a tconst
        {**cards[1], "tconst": T[0]},  # the title itself
        cards[1],
        {**cards[0]},  # the first card again
        cards[2],
    ]
    graph[T[0]] = seed
    with MirrorServer(records=graph) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=T[0], depth=1)
        asked = [p for p, _ in mirror.log if p.startswith("/title/")]
    assert proc.returncode == 0, proc.stderr[-2000:]
    linked = [c["tconst"] for c in cards]
    # Each linked title once, at the rank of its first card on the page.
    edges = sorted((r["rank"], r["similar_tconst"]) for r in read_table(tmp_path / "out",
                                                                        "more_like_this")
                   if r["tconst"] == T[0])
    assert edges == [(1, linked[0]), (4, linked[1]), (6, linked[2])]
    assert sorted(asked) == sorted(f"/title/{t}/" for t in [T[0], *linked])
    assert set(outcomes(tmp_path / "out")) == {T[0], *linked}
    run = crawl_run(tmp_path / "out")
    assert run["invalid_links"] == 1 and run["finish_reason"] == "finished"
    assert "1 'More like this' card(s) with an id that is not a tconst were dropped" in (
        proc.stderr)


def test_unicode_digit_tconst_is_refused_as_a_seed(tmp_path: Path) -> None:
    proc = run_crawl("http://127.0.0.1:9", tmp_path / "out", seed="tt٠١٣٣٠٩٣")
    assert proc.returncode == 2
    assert proc.stderr.startswith(ERROR + "invalid seed") and proc.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


# --- merges ----------------------------------------------------------------------------


def test_an_endless_merge_chain_stays_within_max_titles(tmp_path: Path) -> None:
    """Every title redirects to the next: max_titles bounds the requests, and a chain
    longer than CRAWL_MAX_MERGE_CHAIN is a failure, not another alias."""
    faults = {T[i]: Fault.redirect(T[i + 1]) for i in range(39)}
    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "a", seed=T[0], depth=2, max_titles=3)
        requests_a = sum(n for p, n in mirror.hits.items() if p.startswith("/title/"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert requests_a == 3  # the budget: each merge target counts like any title
    aliases = {r["tconst"]: r["canonical_tconst"] for r in read_table(tmp_path / "a", "aliases")}
    assert aliases == {T[0]: T[1], T[1]: T[2], T[2]: T[3]}
    assert outcomes(tmp_path / "a") == dict.fromkeys(T[:3], "aliases")
    assert crawl_run(tmp_path / "a")["titles_over_limit"] == 1  # T[3], not scheduled

    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "b", seed=T[0], depth=0, max_titles=100,
                         settings={"CRAWL_MAX_MERGE_CHAIN": "3"})
        requests_b = sum(n for p, n in mirror.hits.items() if p.startswith("/title/"))
    assert requests_b == 4
    got = outcomes(tmp_path / "b")
    assert got == {T[0]: "aliases", T[1]: "aliases", T[2]: "aliases", T[3]: "failures"}
    (failure,) = read_table(tmp_path / "b", "failures")
    assert (failure["reason"], failure["detail"]) == ("redirect_chain", f"redirect to {T[4]}")


def test_a_merge_loop_is_a_failure(tmp_path: Path) -> None:
    faults = {T[0]: Fault.redirect(T[1]), T[1]: Fault.redirect(T[0])}
    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        run_crawl(mirror.base_url, tmp_path / "out", seed=T[0], depth=0)
    assert outcomes(tmp_path / "out") == {T[0]: "aliases", T[1]: "failures"}
    (failure,) = read_table(tmp_path / "out", "failures")
    assert failure["reason"] == "redirect_loop"


def test_a_redirect_to_the_same_title_is_followed_once(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH) as probe:
        same = probe.url(T[0]).rstrip("/") + "?ref_=tt_sims"  # no slash, a query
        loop = probe.url(T[1]) + "?ref_=x"
    faults = {T[0]: Fault.redirect(same, times=1), T[1]: Fault.redirect(loop)}
    with MirrorServer(records=GRAPH, faults=faults, port=int(same.split(":")[2][:5])) as m:
        proc = run_crawl(m.base_url, tmp_path / "out", seed=f"{T[0]},{T[1]}", depth=0)
        asked = [p for p, _ in m.log if p.startswith(f"/title/{T[0]}")]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert outcomes(tmp_path / "out") == {T[0]: "titles", T[1]: "failures"}
    # Its own page, through the mirror's slash redirect like IMDb's.
    assert asked == [f"/title/{T[0]}/", f"/title/{T[0]}?ref_=tt_sims", f"/title/{T[0]}/"]
    (failure,) = read_table(tmp_path / "out", "failures")
    assert failure["reason"] == "redirect_loop" and failure["http_status"] == 301


# --- limits and arguments ------------------------------------------------------------


def test_seeds_beyond_max_titles_are_reported_once(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=",".join(T[:10]), depth=0,
                         max_titles=4)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert set(outcomes(tmp_path / "out")) == set(T[:4])
    assert proc.stderr.count("seed(s) beyond max_titles") == 1
    assert f"6 seed(s) beyond max_titles=4 were not scheduled: {T[4]}, " in proc.stderr
    assert crawl_run(tmp_path / "out")["seeds_over_limit"] == 6


def test_a_file_named_like_a_partition_is_a_clear_output_error(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with MirrorServer(records=GRAPH) as mirror:
        first = run_crawl(mirror.base_url, out, seed=T[0], depth=0)
        assert first.returncode == 0, first.stderr[-2000:]
        (part,) = (out / "titles").iterdir()
        for path in list(part.iterdir()):
            path.unlink()
        part.rmdir()
        part.write_text("a stray file where a partition directory goes")
        proc = run_crawl(mirror.base_url, out, seed=T[1], depth=0)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(ERROR + "cannot write in OUTPUT_DIR"), last
    assert "Traceback" not in proc.stderr
    runs = sorted(read_table(out, "crawl_runs"), key=lambda r: r["finished_at"])
    assert runs[-1]["finish_reason"] == "output_failed" and runs[-1]["error"]


def test_an_argument_typo_is_refused_naming_the_accepted_ones(tmp_path: Path) -> None:
    """`-a max_title=5 -a dept=0` used to run with the defaults (depth 2, 1,000 titles)."""
    proc = run_crawl("http://127.0.0.1:9", tmp_path / "out", seed=T[0],
                     extra_args={"max_title": "5", "dept": "0"})
    assert proc.returncode == 2
    assert proc.stderr == (ERROR + "unknown argument(s) -a dept, -a max_title; accepted: "
                           "seed, depth, max_titles, refresh, as_of, credits, run_id\n")
    assert not (tmp_path / "out").exists()


# --- text ------------------------------------------------------------------------------


def test_nul_characters_are_stripped_from_page_text_and_counted(tmp_path: Path) -> None:
    """NULs in a title's name and plot, and in a card's name (the page's JSON carries them
    as \\u0000): gone from every row and from the report, and counted in crawl_runs."""
    from analytics.report import write_report

    graph = copy.deepcopy(GRAPH)
    seed = graph[T[0]]
    seed["primary_title"] = "Nul\x00Title"
    seed["plot"] = "A plot\x00 with\x00 NULs."
    seed["more_like_this"][0]["primary_title"] = "Card\x00Name"
    with MirrorServer(records=graph) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=T[0], depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (title,) = read_table(tmp_path / "out", "titles")
    assert (title["primary_title"], title["plot"]) == ("NulTitle", "A plot with NULs.")
    card = [r for r in read_table(tmp_path / "out", "more_like_this") if r["rank"] == 1]
    assert [r["similar_primary_title"] for r in card] == ["CardName"]
    assert crawl_run(tmp_path / "out")["nul_removed"] == 4
    assert "'text/nul_removed': 4" in proc.stderr  # the stat
    page = Path(write_report(tmp_path / "out")).read_text(encoding="utf-8")
    assert "NulTitle" in page and "\x00" not in page
