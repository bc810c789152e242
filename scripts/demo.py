"""`make demo`: crawl the bundled offline catalogue from tt0050634 and show what was written.

Starts the local mirror (mirror) on 127.0.0.1 over the catalogue (the seed
title with every fact of its page, and its 11 "More like this" titles with what is
known of them), runs `scrapy crawl more_like_this` against it, then reads `output/`
back as hive-partitioned Parquet with DuckDB, Polars and pandas, and writes the HTML
report (output/report.html).  A crawl with -a credits=full then shows one title's
departments from its full credits page, each with how many people it lists of its total
(a real older page of ../shared lists everyone; the synthetic title's current-layout page
lists only a crew category's first 10).  It ends with two crawls of the past over the mirror's
archive mode (the real pages of ../shared at their capture dates when they are there,
else the catalogue captured at one date): -a as_of=<date>, then -a as_of=latest where
every title's newest capture recorded imdb.com's 2026 challenge.

    python scripts/demo.py [--output DIR]    (default: output/ of the repository)

Each part shows what the dataset holds; where it holds nothing (no failures, no page
read from the archive), it says so in one line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.report import write_report  # noqa: E402
from mirror.archive import Capture, captures_from_sources, with_recorded_challenges  # noqa: E402
from mirror.loader import load_catalogue  # noqa: E402
from mirror.render import render_title_page_bytes  # noqa: E402
from mirror.server import MirrorServer  # noqa: E402
from mirror.synthetic import SyntheticGraph  # noqa: E402

SHARED = Path(os.environ.get("IMDB_SHARED", ROOT.parent / "shared"))
REAL_PAGES = SHARED / "pages" / "real"
# When the demo's archive recorded imdb.com's challenge for every title (after 2026-03-20).
CHALLENGED_AT = "20261101000000"
TABLES = ("titles", "ratings", "credits", "more_like_this", "failures", "aliases", "crawl_runs")


def banner(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


def files_of(out: Path, table: str) -> list[Path]:
    """The table's committed Parquet files (none before a crawl wrote a row of it)."""
    return [p for p in (out / table).rglob("*.parquet") if not p.name.startswith(".")]


def scan(out: Path, table: str) -> str:
    return f"read_parquet('{out}/{table}/**/*.parquet', hive_partitioning=true)"


def one(con: duckdb.DuckDBPyConnection, query: str, *params: object) -> Any:
    return con.execute(query, list(params)).fetchall()[0][0]


def print_rows(con: duckdb.DuckDBPyConnection, query: str, *params: object,
               none: str) -> None:
    """Print a query's rows as plain aligned text (no truncated columns), or ``none``
    in one line when there is no row."""
    cur = con.execute(query, list(params))
    names = [d[0] for d in cur.description]
    rows = [["" if v is None else str(v) for v in row] for row in cur.fetchall()]
    if not rows:
        print(f"  {none}")
        return
    widths = [max(len(n), *(len(r[i]) for r in rows)) for i, n in enumerate(names)]
    print("  " + "  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)))
    for row in rows:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def crawl(out: Path, base_setting: str, *args: str,
          log_level: str) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl more_like_this`` with ``args`` into ``out``, quickly (a local site)."""
    cmd = [
        sys.executable, "-m", "scrapy", "crawl", "more_like_this", *args,
        "-s", base_setting, "-s", f"OUTPUT_DIR={out}",
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "PROGRESS_INTERVAL=1", "-s", f"LOG_LEVEL={log_level}",
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "output",
                        help="the OUTPUT_DIR the demo crawls into (default: %(default)s)")
    out = parser.parse_args(argv).output.resolve()
    with MirrorServer(records=load_catalogue()) as mirror:
        banner(f"crawling the offline mirror at {mirror.base_url} from tt0050634")
        proc = crawl(out, f"IMDB_BASE_URL={mirror.base_url}", "-a", "seed=tt0050634",
                     "-a", "depth=2", log_level="INFO")
    for line in proc.stderr.splitlines():
        if "[crawler." in line or "ERROR" in line:
            print(line.split("] ", 1)[-1] if "] " in line else line)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode

    con = duckdb.connect()
    run_id = one(con, f"select run_id from {scan(out, 'crawl_runs')} "
                      "order by finished_at desc limit 1")
    show_written(con, out, run_id)
    show_seed(con, out, run_id)
    show_readers(con, out)
    banner("the report (scrapy report)")
    print(f"  {write_report(out)}")
    return show_full_credits(con, out) or crawl_the_past(con, out)


def show_written(con: duckdb.DuckDBPyConnection, out: Path, run_id: str) -> None:
    banner(f"what run {run_id} wrote to {out}")
    print(f"{'table':<16}{'rows (this run)':>16}{'rows (all runs)':>17}{'files':>7}")
    for table in TABLES:
        files = files_of(out, table)
        if not files:
            print(f"{table:<16}{'none written':>40}")
            continue
        total = one(con, f"select count(*) from {scan(out, table)}")
        mine = one(con, f"select count(*) from {scan(out, table)} where run_id = ?", run_id)
        print(f"{table:<16}{mine:>16}{total:>17}{len(files):>7}")


def show_seed(con: duckdb.DuckDBPyConnection, out: Path, run_id: str) -> None:
    banner("the seed title")
    cur = con.execute(f"""
        select t.tconst, t.primary_title, t.original_title, t.title_type, t.start_year,
               t.runtime_minutes, r.average_rating, r.num_votes, r.num_votes_abbreviated,
               array_to_string(t.genres, '/') as genres, t.certificate, t.release_date,
               t.release_country, array_to_string(t.countries_of_origin, ', ') as countries,
               array_to_string(t.spoken_languages, ', ') as languages,
               array_to_string(t.also_known_as, ', ') as also_known_as,
               array_to_string(t.production_companies, ', ') as companies,
               t.gross_us_canada_amount || ' ' || t.gross_us_canada_currency as gross_us_canada,
               t.gross_worldwide_amount || ' ' || t.gross_worldwide_currency as gross_worldwide,
               array_to_string(t.color, ', ') as color,
               array_to_string(t.sound_mix, ', ') as sound_mix,
               array_to_string(t.aspect_ratio, ', ') as aspect_ratio,
               t.awards_wins, t.awards_nominations, t.user_review_count, t.critic_review_count
        from {scan(out, 'titles')} t left join {scan(out, 'ratings')} r using (tconst, run_id)
        where t.tconst = 'tt0050634' and t.run_id = ?
    """, [run_id])
    names = [d[0] for d in cur.description]
    for name, value in zip(names, cur.fetchall()[0], strict=True):
        print(f"  {name:<22} {value}")

    banner("its 'More like this' edges, in page order")
    if files_of(out, "more_like_this"):
        print_rows(con, f"""
            select m.rank, m.similar_tconst, m.similar_primary_title as title,
                   m.similar_start_year as year, m.similar_average_rating as card_rating,
                   t.tconst is not null as crawled
            from {scan(out, 'more_like_this')} m
            left join {scan(out, 'titles')} t
                   on t.tconst = m.similar_tconst and t.run_id = m.run_id
            where m.tconst = 'tt0050634' and m.run_id = ? order by m.rank
        """, run_id, none="no 'More like this' card on the seed's page")
    else:
        print("  no 'More like this' card on any page")

    banner("credits (credited-as names and notes parsed from the page)")
    if files_of(out, "credits"):
        print_rows(con, f"""
            select category, ordering, primary_name, coalesce(nconst, '') as nconst,
                   coalesce(characters[1], '') as character, coalesce(credited_as, '') as
                   credited_as, array_to_string(attributes, '; ') as attributes
            from {scan(out, 'credits')} where tconst = 'tt0050634' and run_id = ?
            order by category = 'director' desc, category = 'writer' desc, ordering
        """, run_id, none="no credit on the seed's page")
    else:
        print("  no credit on any page")


def show_readers(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    banner("the same dataset through DuckDB, Polars and pandas")
    for table in ("titles", "credits", "more_like_this"):
        if not files_of(out, table):
            print(f"{table:<16} no rows to read")
            continue
        n_duck = one(con, f"select count(*) from {scan(out, table)}")
        n_polars = pl.scan_parquet(f"{out}/{table}/**/*.parquet",
                                   hive_partitioning=True).select(pl.len()).collect().item()
        n_pandas = len(pd.read_parquet(out / table))
        same = "same" if n_duck == n_polars == n_pandas else "DIFFERENT"
        print(f"{table:<16} duckdb {n_duck:>5}  polars {n_polars:>5}  pandas {n_pandas:>5}  "
              f"({same})")


def show_full_credits(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """A crawl with -a credits=full: each title's full credits page too; one title's
    departments with listed of total (credit_categories)."""
    synthetic = "tt9000001"  # a made-up title: its page lists a crew category's first 10
    if (REAL_PAGES / "SOURCES.tsv").is_file():  # The Dark Knight's older page: all listed
        real, pages, records = "tt0468569", REAL_PAGES, dict(SyntheticGraph(1))
    else:
        real, pages, records = "tt0050634", None, {**load_catalogue(), **SyntheticGraph(1)}
    with MirrorServer(pages_dir=pages, records=records) as mirror:
        banner(f"full credits: -a credits=full, {real} and {synthetic} at {mirror.base_url}")
        proc = crawl(out, f"IMDB_BASE_URL={mirror.base_url}", "-a", f"seed={real},{synthetic}",
                     "-a", "depth=0", "-a", "credits=full", log_level="WARNING")
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    run_id = one(con, f"select run_id from {scan(out, 'crawl_runs')} "
                      "order by finished_at desc limit 1")
    print(f"  {synthetic}'s departments: the people its full credits page lists of the total "
          "it states")
    print_rows(con, f"""
        select position, category, name, listed, total,
               case when listed < total then 'partial' else 'complete' end as list
        from {scan(out, 'credit_categories')} where tconst = ? and run_id = ? order by position
    """, synthetic, run_id, none="none: its full credits page was not read")
    print("  each title's credits rows are its full credits page's, one per person and job:")
    print_rows(con, f"""
        select t.tconst, t.primary_title, t.full_credits,
               (select count(*) from {scan(out, 'credit_categories')} c
                where c.tconst = t.tconst and c.run_id = t.run_id) as departments,
               (select count(*) from {scan(out, 'credits')} c
                where c.tconst = t.tconst and c.run_id = t.run_id) as credits
        from {scan(out, 'titles')} t where t.run_id = ? order by t.tconst
    """, run_id, none="none: no title was read")
    return 0


def crawl_the_past(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """One as_of crawl over the mirror's archive mode (a local Wayback Machine)."""
    if (REAL_PAGES / "SOURCES.tsv").is_file():
        archive = captures_from_sources(REAL_PAGES)
        seed, as_of, depth = "tt0133093,tt0119698,tt0468569,tt0078788", "2019", "1"
    else:  # a fresh clone without ../shared: the catalogue, captured on one day
        archive = {t: [Capture("20210601000000", body=render_title_page_bytes(r, **o))]
                   for t, (r, o) in load_catalogue().items()}
        seed, as_of, depth = "tt0050634", "2021-06", "2"
    with MirrorServer(archive=archive) as wayback:
        banner(f"crawling the past: as_of={as_of} from the local archive at {wayback.base_url}")
        proc = crawl(out, f"WAYBACK_BASE_URL={wayback.base_url}", "-a", f"seed={seed}",
                     "-a", f"depth={depth}", "-a", f"as_of={as_of}", log_level="WARNING")
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    run_id = one(con, f"select run_id from {scan(out, 'crawl_runs')} where as_of is not null "
                      "order by finished_at desc limit 1")
    print("  titles read, each from the capture nearest as_of, in that capture's layout:")
    print_rows(con, f"""
        select tconst, primary_title, start_year, captured_at, layout
        from {scan(out, 'titles')} where run_id = ? order by depth, tconst limit 12
    """, run_id, none="none: no title was read from the archive")
    print("  the others:")
    if not files_of(out, "failures"):
        print("  none: no title failed")
    else:
        print_rows(con, f"""
            select reason, count(*) as titles, min(detail) as for_example
            from {scan(out, 'failures')} where run_id = ? group by reason order by titles desc
        """, run_id, none="none: no title failed")
    return crawl_the_newest(con, out, archive, seed, depth)


def crawl_the_newest(con: duckdb.DuckDBPyConnection, out: Path,
                     archive: dict[str, list[Capture]], seed: str, depth: str) -> int:
    """as_of=latest over the same archive, where every title's newest capture recorded
    imdb.com's 2026 challenge: each title is read from its newest usable capture."""
    challenged = with_recorded_challenges(archive, CHALLENGED_AT)
    with MirrorServer(archive=challenged) as wayback:
        banner(f"the newest pages: as_of=latest from the local archive at {wayback.base_url}")
        proc = crawl(out, f"WAYBACK_BASE_URL={wayback.base_url}", "-a", f"seed={seed}",
                     "-a", f"depth={depth}", "-a", "as_of=latest",
                     "-s", "ARCHIVE_CDX_DELAY=0", log_level="WARNING")
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    print(f"  every title's newest capture ({CHALLENGED_AT[:8]}) recorded the WAF challenge;")
    print("  each was read from its newest usable capture instead (one CDX query a title):")
    run_id = one(con, f"select run_id from {scan(out, 'crawl_runs')} "
                      "order by finished_at desc limit 1")
    print_rows(con, f"""
        select tconst, primary_title, captured_at, source
        from {scan(out, 'titles')} where run_id = ? order by depth, tconst limit 12
    """, run_id, none="none: no title was read from the archive")
    print("  titles_latest (dataset.duckdb): each title once, from its newest observation")
    print("  by any run, live or archived (docs/timeline.md):")
    views = duckdb.connect(str(out / "dataset.duckdb"), read_only=True)
    print_rows(views, """
        select tconst, primary_title, observed_at, source from titles_latest
        where run_id = ? or tconst in (select tconst from titles_raw where run_id = ?)
        order by tconst limit 12
    """, run_id, run_id, none="none: no title in the views")
    views.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
