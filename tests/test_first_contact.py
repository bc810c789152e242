"""A user's first contact (issue 16): `make demo` on a fresh clone with nothing beside it,
a quiet healthy crawl, and Scrapy's own `scrapy parse` check of one title page."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds

from crawler import settings as project_settings
from mirror.loader import load_catalogue
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import VIEWS, crawl_command, read_table

ROOT = Path(__file__).resolve().parent.parent
SEED = "tt0050634"
# A log line at WARNING or above, in Scrapy's default format ("... [logger] WARNING: ...").
LOUD = re.compile(r"\] (WARNING|ERROR|CRITICAL):")


def run(cmd: list[str], *, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


# --- make demo on a fresh clone ----------------------------------------------------------

def test_the_demo_works_with_nothing_beside_the_clone(tmp_path: Path) -> None:
    empty = tmp_path / "shared"  # IMDB_SHARED pointing at an empty folder: no ../shared
    empty.mkdir()
    out = tmp_path / "out"
    proc = run([sys.executable, "scripts/demo.py", "--output", str(out)],
               env={"IMDB_SHARED": str(empty)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    # The past was read from the catalogue captured on one day; nothing failed, and the
    # demo says so in one line instead of querying a failures table that was never written.
    assert "crawling the past: as_of=2021-06" in proc.stdout
    assert "  none: no title failed" in proc.stdout
    assert not (out / "failures").exists()
    assert (out / "report.html").is_file()

    record, _ = load_catalogue()[SEED]
    titles = [r for r in read_table(out, "titles") if r["tconst"] == SEED]
    # Two rows from live crawls of the mirror (the second with -a credits=full), two from
    # its archive (as_of=2021-06, then as_of=latest past a newer recorded challenge), both
    # from the one 2021-06-01 capture.
    assert sorted((r["source"], str(r["captured_at"])) for r in titles) == [
        ("live", "None"), ("live", "None"), ("wayback", "2021-06-01 00:00:00+00:00"),
        ("wayback", "2021-06-01 00:00:00+00:00")]
    assert sorted(str(r["full_credits"]) for r in titles) == ["None", "None", "None", "read"]
    # The full credits part: the synthetic title's departments, one listed partially.
    assert "tt9000001's departments" in proc.stdout
    assert re.search(r"visual_effects +Visual Effects +10 +\d+ +partial", proc.stdout)
    assert {(r["primary_title"], r["start_year"], r["title_type"]) for r in titles} == {
        ("Letyat zhuravli", 1957, "movie")}
    assert "the newest pages: as_of=latest" in proc.stdout
    ratings = [r for r in read_table(out, "ratings") if r["tconst"] == SEED]
    assert [r["average_rating"] for r in ratings] == [record["average_rating"]] * 4 == [8.3] * 4
    edges = ds.dataset(out / "more_like_this", format="parquet", partitioning="hive")
    ranks = edges.to_table(filter=ds.field("tconst") == SEED).column("rank").to_pylist()
    assert sorted(ranks) == sorted(list(range(1, 12)) * 4)  # its 11 cards, in every run
    runs = read_table(out, "crawl_runs")
    assert sorted(r["finish_reason"] for r in runs) == ["finished"] * 4


# --- a quiet healthy crawl ---------------------------------------------------------------

def healthy_graph(n: int) -> dict[str, dict]:
    """The synthetic graph without the links it sends outside itself (404s by design)."""
    graph = synthetic_graph(n, out_degree=3, seed=5)
    return {t: {**r, "more_like_this": [c for c in r["more_like_this"] if c["tconst"] in graph]}
            for t, r in graph.items()}


def test_a_healthy_crawl_at_the_default_log_level_prints_no_warning(tmp_path: Path) -> None:
    graph = healthy_graph(20)
    with MirrorServer(records=graph) as mirror:
        cmd = crawl_command(mirror.base_url, tmp_path / "out", seed=tconst_of(1), depth=20,
                            max_titles=20, settings=VIEWS)  # the views too, as by default
        i = cmd.index("LOG_LEVEL=INFO")
        del cmd[i - 1:i + 1]  # the project's own log level
        proc = run(cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert project_settings.LOG_LEVEL == "INFO"
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in proc.stderr
    assert sorted(r["tconst"] for r in read_table(tmp_path / "out", "titles")) == sorted(graph)
    assert read_table(tmp_path / "out", "failures") == []
    assert [line for line in proc.stderr.splitlines() if LOUD.search(line)] == []
    assert "log_count/WARNING" not in proc.stderr and "log_count/ERROR" not in proc.stderr
    assert "Traceback" not in proc.stderr


# --- scrapy parse ---------------------------------------------------------------------------

def parsed_items(stdout: str) -> tuple[list[dict], list[str]]:
    """The items and requests `scrapy parse --nocolour` printed (Python literals)."""
    items_text = stdout.split("# Scraped Items ", 1)[1].split("\n", 1)[1]
    items_text, requests_text = items_text.split("# Requests ", 1)
    return ast.literal_eval(items_text.strip()), requests_text.split("\n", 1)[1].strip()


def test_scrapy_parse_prints_the_title_item_and_requests_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    title = "tt0052600"  # not the default seed, so a crawl of that seed would show
    with MirrorServer(records=load_catalogue()) as mirror:
        proc = run([sys.executable, "-m", "scrapy", "parse", "--spider", "more_like_this",
                    "--nocolour", mirror.url(title), "-s", f"IMDB_BASE_URL={mirror.base_url}",
                    "-s", f"OUTPUT_DIR={out}"])
        title_hits = {p: n for p, n in mirror.hits.items() if p.startswith("/title/")}
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    items, requests = parsed_items(proc.stdout)
    assert [(i["tconst"], i["primary_title"], i["start_year"], i["depth"]) for i in items] == [
        (title, "Ballada o soldate", 1959, 0)]
    assert items[0]["average_rating"] == load_catalogue()[title][0]["average_rating"] == 8.2
    assert requests == "[]"
    assert title_hits == {f"/title/{title}/": 1}  # no crawl of the default seed beside it
    assert not out.exists()  # scrapy parse writes nothing
    assert [line for line in proc.stderr.splitlines() if LOUD.search(line)] == []
