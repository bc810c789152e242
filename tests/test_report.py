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
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from analytics import report_data, views
from analytics.report import write_report
from bench.synthetic import Shape, run_id_of, write
from crawler import defaults
from crawler.state.dataset import commit_log
from mirror.server import MirrorServer
from mirror.synthetic import bfs_order, synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, VIEWS, read_table, run_crawl
from tests.s3_server import S3Server

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
            proc = run_crawl(mirror.base_url, out, seed=",".join(SEEDS), depth=DEPTH,
                             settings=VIEWS)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def report(two_runs: Path) -> Path:
    proc = forkserver.run(
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


PAIR_CHANGES = ("SELECT tconst, similar_tconst, old_rank, new_rank FROM similarity_changes "
                "WHERE old_run_id = ? AND new_run_id = ? AND change = ?")
PAIR_MOVES = ("SELECT tconst, old_average_rating, new_average_rating, old_num_votes, "
              "new_num_votes FROM rating_changes WHERE old_run_id = ? AND new_run_id = ?")


def shown_changes(report: report_data.Report) -> dict[str, set[tuple[Any, ...]]]:
    assert report.changes is not None
    c = report.changes
    links = {kind: {(x.title.tconst, x.target.tconst, x.old_rank, x.new_rank) for x in rows}
             for kind, rows in (("added", c.added), ("removed", c.removed),
                                ("rank_changed", c.reranked))}
    moves = {(m.title.tconst, m.before, m.now, m.votes_before, m.votes_now) for m in c.moves}
    return {**links, "ratings": moves}


def view_changes(con: duckdb.DuckDBPyConnection, old: str,
                 new: str) -> dict[str, set[tuple[Any, ...]]]:
    links = {kind: set(con.execute(PAIR_CHANGES, [old, new, kind]).fetchall())
             for kind in ("added", "removed", "rank_changed")}
    return {**links, "ratings": set(con.execute(PAIR_MOVES, [old, new]).fetchall())}


def test_the_reports_changes_are_similarity_changes_of_the_run_pair(two_runs: Path) -> None:
    """What the report calls changes since the previous run is what the views say changed
    between the two runs (dataset.duckdb, built by the second crawl): the same rows."""
    first, last = sorted({r["run_id"] for r in read_table(two_runs, "crawl_runs")})
    report = report_data.load(two_runs, max_rows=10_000)
    assert report.last is not None and report.last.run_id == last
    assert report.changes is not None and report.changes.previous_run_id == first
    con = views.connect(two_runs)
    try:
        expected = view_changes(con, first, last)
        (pairs,) = con.execute("SELECT COUNT(*) FROM observation_pairs WHERE old_run_id = ? "
                               "AND new_run_id = ?", [first, last]).fetchone()
    finally:
        con.close()
    assert shown_changes(report) == expected
    assert report.changes.counts == {k: len(v) for k, v in expected.items()}
    # ... and those are the changes made to the mirror between the runs.
    seed = FIRST[SEED]
    assert expected == {
        "added": {(SEED, NEW_TARGET, None, 2)}, "removed": {(SEED, OLD_TARGET, 2, None)},
        "rank_changed": set(),
        "ratings": {(SEED, seed["average_rating"], NEW_RATING, seed["num_votes"],
                     seed["num_votes"])}}
    both = [set(o.order) - set(o.missing) for o in (bfs_order(FIRST, SEEDS, DEPTH, 1000),
                                                    bfs_order(SECOND, SEEDS, DEPTH, 1000))]
    assert report.changes.compared == pairs == len(both[0] & both[1])


def set_seeds(out: Path, run_id: str, seeds: list[str]) -> None:
    """Rewrite a run's crawl_runs row with other seeds."""
    (path,) = [p for p in (out / "crawl_runs").rglob(f"{run_id}-*.parquet")]
    t = pq.read_table(path)
    i = t.schema.get_field_index("seeds")
    pq.write_table(t.set_column(i, t.schema.field(i),
                                pa.array([seeds] * t.num_rows, t.schema.field(i).type)), path)


def test_the_previous_run_is_the_previous_one_over_the_same_seeds(tmp_path: Path) -> None:
    """Runs 1 and 3 have the same seeds, run 2 others: run 3 is compared with run 1, as
    run_pairs pairs them (the report used to take run 2, the run before it in time)."""
    out = tmp_path / "out"
    r1, r2, r3 = write(out, Shape(titles=300, runs=3, refetch=0.5, rewire=0.2, rerank=0.1,
                                  rating_moves=0.3, seeds=2))
    set_seeds(out, r2, [tconst_of(5)])
    report = report_data.load(out, max_rows=10_000)
    assert report.last is not None and report.last.run_id == r3
    assert report.changes is not None and report.changes.previous_run_id == r1
    page = write_report(out).read_text(encoding="utf-8")
    assert f"Run {r3} against {r1}" in page
    con = views.connect_current(out)
    try:
        expected = view_changes(con, r1, r3)
        other_rule = view_changes(con, r2, r3)
    finally:
        con.close()
    assert shown_changes(report) == expected
    assert all(expected[k] for k in ("added", "removed", "rank_changed", "ratings"))
    assert expected != other_rule
    counts = report.changes.counts
    assert (f"{counts['added']} links added" in page
            and f"{counts['rank_changed']} links re-ranked" in page)


def test_hostile_names_are_escaped_and_the_page_loads_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (_, last) = write(out, Shape(titles=40, runs=2, rewire=0.5, seeds=1))
    hostile = "<script>alert('x')</script> & \"Q\" <img src=x onerror=y>"
    for path in (out / "titles").rglob(f"{last}-*.parquet"):
        t = pq.read_table(path)
        i = t.schema.get_field_index("primary_title")
        name = pc.if_else(pc.equal(t.column("tconst"), tconst_of(1)), hostile,
                          t.column("primary_title"))
        pq.write_table(t.set_column(i, t.schema.field(i), name), path)
    page = write_report(out).read_text(encoding="utf-8")
    escaped = ("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;Q&#34; "
               "&lt;img src=x onerror=y&gt;")
    assert f"<td>seeds</td><td>{escaped} ({tconst_of(1)})</td>" in page
    assert "<script" not in page and "<img" not in page
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            'style-src \'unsafe-inline\'; img-src data:">') in page
    assert run_id_of(1) == last


def test_the_report_modules_hold_no_html() -> None:
    """The page is the template's: the Python modules build no markup."""
    for module in ("report.py", "report_data.py", "report_figures.py"):
        text = (ROOT / "analytics" / module).read_text(encoding="utf-8")
        assert not re.search(r"<(html|head|body|section|table|tr|td|th|p|div|span|h\d)\b",
                             text), module


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


# --- failures in one line (issue 19, point 7) ---------------------------------------------


def scrapy_report(output_dir: str | Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "scrapy", "report", "-s",
                             f"OUTPUT_DIR={output_dir}"], cwd=ROOT, text=True,
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def one_line(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """(exit code, the one line on stderr, stdout); fails on more lines or a traceback."""
    stdout, stderr = proc.communicate(timeout=120)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-3000:]
    assert lines[0].startswith("scrapy report: error: "), lines[0]
    return proc.returncode, lines[0].removeprefix("scrapy report: error: "), stdout


def test_a_missing_bucket_or_a_dead_endpoint_fails_in_one_line(s3_server: S3Server) -> None:
    from tests.redis_server import free_port

    dead = f"s3://bucket/p?endpoint_override=http://127.0.0.1:{free_port()}"
    missing = f"s3://no-such-bucket/p?endpoint_override={s3_server.endpoint}"
    # Both at once: each is a Python start-up, and neither waits on the other.
    procs = [scrapy_report(dead, AWS_EC2_METADATA_DISABLED="true"),
             scrapy_report(missing)]
    (dead_code, dead_line, dead_out), (missing_code, missing_line, missing_out) = map(
        one_line, procs)
    assert dead_code == 2 and dead_out == ""
    assert dead_line.startswith(f"OUTPUT_DIR={dead!r} cannot be reached: "), dead_line
    assert missing_code == 2 and missing_out == ""
    assert missing_line == (f"OUTPUT_DIR={missing!r}: bucket 'no-such-bucket' does not "
                            "exist; create it or name another")


def test_a_deleted_committed_file_is_named_and_the_views_are_rebuilt_around_it(
    tmp_path: Path
) -> None:
    """A committed file deleted by hand after the views were built: the old database
    fails on it; ``scrapy report`` writes the page without its rows, says so and names
    it, exit 1; a rebuild leaves it out and counts it in missing_files, every time, until
    the file is back."""
    out = tmp_path / "out"
    (_, last) = write(out, Shape(titles=40, runs=2, rewire=0.3, seeds=1))
    views.build(out)
    all_titles = query_one(out, "SELECT COUNT(*) FROM titles_latest")
    raw = query_one(out, "SELECT COUNT(*) FROM titles_raw")
    victim = sorted((out / "titles").rglob(f"{last}-*.parquet"))[0]
    name = victim.relative_to(out).as_posix()
    lost = pq.read_metadata(victim).num_rows
    kept = tmp_path / "kept.parquet"
    shutil.move(victim, kept)
    with pytest.raises(duckdb.IOException, match="No files found"):
        query_one(out, "SELECT COUNT(*) FROM titles_latest")  # the reported failure

    code, line, stdout = one_line(scrapy_report(out))
    assert code == 1
    assert line == (f"committed file {name} missing from OUTPUT_DIR (1 missing file; deleted "
                    "or lost since the views listed it): its rows are left out; restore it "
                    "to bring them back; the report was written without them")
    assert stdout.strip() == str(out / "report.html")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"<td>titles</td><td>{name}</td>" in page and "Missing files" in page

    for _ in range(2):  # the second build still counts it: listed in missing_files
        built = views.build_counted(out)
        assert [(m.table, m.name) for m in built.missing] == [("titles", name)]
        assert query_one(out, "SELECT COUNT(*) FROM missing_files") == 1
        assert lost and query_one(out, "SELECT COUNT(*) FROM titles_raw") == raw - lost
    proc = subprocess.run([sys.executable, "-m", "analytics.views", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0
    assert proc.stderr.strip() == f"analytics.views: warning: committed file {name} " \
        "missing from OUTPUT_DIR (1 missing file; deleted or lost since the views listed " \
        "it): its rows are left out; restore it to bring them back"

    shutil.move(kept, victim)  # restored: nothing missing, every row back
    assert views.build_counted(out).missing == []
    assert query_one(out, "SELECT COUNT(*) FROM titles_latest") == all_titles
    assert report_data.load(out).missing == []


def query_one(out: Path, sql: str) -> Any:
    con = duckdb.connect(str(out / views.DATABASE), read_only=True)
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0]
