"""``scrapy report`` (analytics.report) over two real crawls of the local mirror.

Between the two runs one title's rating moves, one of its links is replaced and one
title disappears (404); the report must show exactly those.  The ``browser`` test opens
the page in Debian's chromium-headless-shell and checks that it requests nothing but
itself, logs no error and draws something.
"""

from __future__ import annotations

import copy
import html
import io
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.report import write_report
from crawler import defaults
from crawler.state.dataset import commit_log
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests.crawling import ROOT, read_table, run_crawl

SEEDS = [tconst_of(1), tconst_of(7)]
DEPTH = 2
FIRST = synthetic_graph(60, out_degree=4, seed=3)
SEED = SEEDS[0]
OLD_TARGET = FIRST[SEED]["more_like_this"][1]["tconst"]  # rank 2, replaced in run 2
NEW_TARGET = tconst_of(44)
GONE = tconst_of(8)  # linked from seed 2 at rank 1: a 404 in run 2
NEW_RATING = 8.4


def second_graph() -> dict[str, Any]:
    graph = copy.deepcopy(FIRST)
    seed = graph[SEED]
    assert NEW_TARGET not in [c["tconst"] for c in seed["more_like_this"]]
    old_rating = seed["average_rating"]
    seed["average_rating"] = NEW_RATING
    target = graph[NEW_TARGET]
    seed["more_like_this"][1] = {
        **seed["more_like_this"][1], "tconst": NEW_TARGET,
        "primary_title": target["primary_title"], "start_year": target["start_year"],
        "average_rating": target["average_rating"], "num_votes": target["num_votes"]}
    assert old_rating != NEW_RATING
    del graph[GONE]
    return graph


SECOND = second_graph()


def name(tconst: str) -> str:
    return f"{FIRST[tconst]['primary_title']} ({tconst})"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "out"
    for graph in (FIRST, SECOND):
        with MirrorServer(records=graph) as mirror:
            proc = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=DEPTH)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def report(two_runs: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "report", "-s", f"OUTPUT_DIR={two_runs}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = two_runs / "report.html"
    assert proc.stdout.strip() == str(path)
    return path


def test_the_report_shows_the_last_run_its_failures_and_what_changed(report: Path,
                                                                     two_runs: Path) -> None:
    page = report.read_text(encoding="utf-8")
    runs = sorted({r["run_id"] for r in read_table(two_runs, "crawl_runs")})
    assert len(runs) == 2
    first, last = runs  # run ids start with the UTC start time
    expected = bfs_order(SECOND, SEEDS, DEPTH, 1000)
    assert sorted(expected.missing) == sorted([GONE, "tt8000007"])
    fetched = len(expected.order) - len(expected.missing)

    assert f"<td>run</td><td>{last}</td>" in page
    assert f"<td>seeds</td><td>{html.escape(name(SEEDS[0]))}, " \
           f"{html.escape(name(SEEDS[1]))}</td>" in page
    assert f"<td>titles fetched</td><td>{fetched}</td>" in page
    assert f'<td>not_found</td><td class="n">{len(expected.missing)}</td>' in page
    # The crawl measured its coverage: every synthetic title has a primary title.
    assert '<td>titles</td><td>primary_title</td><td class="n">100.0%</td><td></td>' in page

    assert f"Run {last} against {first}" in page
    seed, old, new = (html.escape(name(t)) for t in (SEED, OLD_TARGET, NEW_TARGET))
    assert f'<td>{seed}</td><td>{new}</td><td class="n">2</td>' in page  # added
    assert f'<td>{seed}</td><td>{old}</td><td class="n">2</td>' in page  # removed
    assert "1 links added" in page and "1 links removed" in page
    before = FIRST[SEED]["average_rating"]
    assert f'<td>{seed}</td><td class="n">{before}</td><td class="n">{NEW_RATING}</td>' in page
    assert "1 ratings moved" in page

    # The most linked title of the last run heads its table, with its real count.
    edges = {(r["tconst"], r["similar_tconst"]) for r in read_table(two_runs, "more_like_this")
             if r["run_id"] == last}
    links = Counter(b for _, b in edges)
    top, count = min(links.items(), key=lambda kv: (-kv[1], kv[0]))
    assert f'<td>{html.escape(name(top))}</td><td class="n">{count}</td>' in page

    # Three inline figures and nothing that could be fetched.
    assert page.count("<svg") == 3
    for needle in ("<script", "<img", "<link", "src=", "@import", "url(http", "@font-face"):
        assert needle not in page


def test_the_report_shows_the_last_runs_coverage_and_drift(two_runs: Path,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(two_runs, out)
    last = max(r["run_id"] for r in read_table(out, "crawl_runs"))
    shutil.rmtree(out / "field_coverage")  # what the crawls measured: replaced below
    rows = {"run_id": [last, last, "older"], "table_name": ["titles", "ratings", "titles"],
            "column_name": ["metascore", "num_votes", "plot"],
            "coverage": [0.25, 1.0, 0.5], "drifted": [True, False, True]}
    part = out / "field_coverage" / "crawl_date=2026-01-01"
    part.mkdir(parents=True)
    pq.write_table(pa.table(rows), part / f"{last}-99999.parquet")
    with commit_log(out, last).open("a", encoding="ascii") as log:
        log.write("99999\n")
    page = write_report(out).read_text(encoding="utf-8")
    assert "No coverage recorded." not in page
    assert "Drifted: titles.metascore</p>" in page
    assert '<td>titles</td><td>metascore</td><td class="n">25.0%</td><td>yes</td>' in page
    assert '<td>ratings</td><td>num_votes</td><td class="n">100.0%</td><td></td>' in page
    assert "plot" not in page.split("<h2>Coverage</h2>")[1].split("</section>")[0]


def test_an_empty_output_dir_gives_a_page_saying_so(tmp_path: Path) -> None:
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "holds no committed crawl_runs row" in page


def _browser_or_skip() -> None:
    if os.access(defaults.BROWSER_EXECUTABLE, os.X_OK):
        return
    message = (f"{defaults.BROWSER_EXECUTABLE} not found: install Debian's package "
               "chromium-headless-shell (scripts/install-browser.sh)")
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message)  # CI must run it
    pytest.skip(message)


@pytest.mark.browser
def test_the_report_opens_in_chromium_loading_nothing_else(report: Path) -> None:
    _browser_or_skip()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    console: list[tuple[str, str]] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=defaults.BROWSER_EXECUTABLE, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri(), wait_until="load")
            text = page.inner_text("body")
            figures = page.locator("svg").count()
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    assert requests == [report.as_uri()]
    assert [m for m in console if m[0] == "error"] == [] and errors == []
    assert FIRST[SEED]["primary_title"] in text
    assert figures == 3
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.height > 1500  # every section laid out, not an empty page
    colours = image.getcolors(maxcolors=1 << 24)
    assert colours is not None and len(colours) > 200
    background = sum(n for n, c in colours if c in ((255, 255, 255), (250, 250, 250)))
    assert 1 - background / (image.width * image.height) > 0.05
