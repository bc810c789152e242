"""The drift alarm: a crawl whose pages lost fields against the previous completed run
ends with exit code 3 and names the fields; the first run only reports coverage."""

from __future__ import annotations

from pathlib import Path

from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import read_table, run_crawl

GRAPH = synthetic_graph(40, out_degree=3, seed=5)
SEED = tconst_of(1)


def crawl(out: Path, **mirror_options: object) -> tuple[int, str]:
    with MirrorServer(records=GRAPH, render_options=mirror_options) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=SEED, depth=2, max_titles=30)
    return proc.returncode, proc.stderr


def coverage(out: Path, run_id: str) -> dict[str, float]:
    return {f"{r['table_name']}.{r['column_name']}": r["coverage"]
            for r in read_table(out, "field_coverage") if r["run_id"] == run_id}


def test_first_run_reports_coverage_and_does_not_fail(tmp_path: Path) -> None:
    code, stderr = crawl(tmp_path / "out")
    assert code == 0, stderr[-2000:]
    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert run["drifted"] is False and run["drift"] is None
    got = coverage(tmp_path / "out", run["run_id"])
    # Every synthetic title has these (the mirror renders all of a record).
    assert got["titles.primary_title"] == 1.0 and got["titles.budget_amount"] == 1.0
    assert got["ratings.average_rating"] == 1.0
    assert got["more_like_this.similar_tconst"] == 1.0
    assert 0 < got["credits.nconst"] <= 1.0
    rows = [r for r in read_table(tmp_path / "out", "field_coverage")]
    assert {r["titles"] for r in rows} == {run["titles_rows"]}
    assert not any(r["drifted"] for r in rows)


def test_pages_without_next_data_trip_the_alarm(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stderr = crawl(out)
    assert code == 0, stderr[-2000:]
    code, stderr = crawl(out, with_next_data=False)  # the fallbacks still read part of it
    assert code == 3, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl more_like_this: error: IMDb's page may have changed: ")
    for lost in ("budget_amount 100% -> 0%", "filming_locations 100% -> 0%"):
        assert lost in last, last
    assert "primary_title" not in last  # still read from the HTML and JSON-LD
    runs = sorted(read_table(out, "crawl_runs"), key=lambda r: r["started_at"])
    assert [r["drifted"] for r in runs] == [False, True]
    assert runs[1]["drift"] == last.split("may have changed: ", 1)[1]
    flagged = {f"{r['table_name']}.{r['column_name']}" for r in read_table(out, "field_coverage")
               if r["run_id"] == runs[1]["run_id"] and r["drifted"]}
    assert {"titles.budget_amount", "titles.filming_locations"} <= flagged
    # The titles themselves are still in the dataset: the alarm loses nothing.
    assert runs[1]["titles_rows"] == runs[0]["titles_rows"]


def test_a_run_too_small_to_judge_does_not_trip_the_alarm(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert crawl(out)[0] == 0
    with MirrorServer(records=GRAPH, render_options={"with_next_data": False}) as mirror:
        proc = run_crawl(mirror.base_url, out, seed=SEED, depth=0)  # one title
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_coverage_counts_a_value_by_what_a_reader_sees() -> None:
    """None, an empty text and an empty list are no value; 0, False, 0.0, NaN are values."""
    from pipelines.coverage import CoverageCounter

    counter = CoverageCounter()
    blank = {"primary_title": "", "genres": [], "runtime_minutes": None, "is_adult": False,
             "start_year": 0}
    counter.add_title({"titles": [blank],
                       "ratings": [{"average_rating": float("nan"), "num_votes": 0}]})
    counter.add_title({"titles": [{"primary_title": "Letyat zhuravli", "genres": ["Drama"]}]})
    got = {(c.table_name, c.column_name): c.with_value for c in counter.measured()}
    assert got[("titles", "primary_title")] == got[("titles", "genres")] == 1
    assert got[("titles", "runtime_minutes")] == 0
    assert got[("titles", "is_adult")] == got[("titles", "start_year")] == 1
    assert got[("ratings", "average_rating")] == got[("ratings", "num_votes")] == 1
