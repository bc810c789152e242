"""ParquetExporter driven directly with a minimal crawler: layout, commits, resume, readers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
import scrapy
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.items import AliasItem, FailureItem, TitleItem
from crawler.state import sessions
from crawler.state.run import Run
from pipelines import parquet as parquet_module
from pipelines.normalize import NormalizeTitlePipeline
from pipelines.parquet import ParquetExporter
from pipelines.schemas import SCHEMAS
from pipelines.stores import OutputDirError, read_commits, read_committed

NORMALIZE = NormalizeTitlePipeline()
DAY = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# tconsts of the seed and of its "More like this" cards
TCONSTS = ["tt0050634", "tt0053106", "tt0052600", "tt0075404", "tt0058604", "tt0048799"]


class FakeSpider(scrapy.Spider):
    name = "fake"


def make_exporter(out: Path, run_id: str = "run1", **settings: Any) -> ParquetExporter:
    crawler = get_crawler(FakeSpider, {"OUTPUT_DIR": str(out), **settings})
    spider = FakeSpider()
    spider.run = Run(run_id=run_id, seeds=["tt0050634"], depth=2, max_titles=50,
                     arguments={"seed": "tt0050634", "depth": "2", "max_titles": "50"},
                     started_at=DAY)
    crawler.spider = spider
    exporter = ParquetExporter.from_crawler(crawler)
    exporter.now = lambda: DAY  # type: ignore[method-assign]
    exporter.open_spider()
    return exporter


def stamp(run_id: str = "run1") -> dict[str, str]:
    return {"run_id": run_id, "crawled_at": "2024-05-01T12:00:01.250000Z"}


def title(tconst: str, run_id: str = "run1", **fields: Any) -> Any:
    item = TitleItem(
        tconst=tconst,
        title_type="movie",
        primary_title=f" Title {tconst} ",
        start_year="1957",
        runtime_minutes="1h 35m",
        genres=["Drama", "War"],
        gross_worldwide="$17,923",
        release_date="1957-10-12",
        average_rating="8.3/10",
        num_votes="16K",
        depth=0,
        **stamp(run_id),
    )
    for k, v in fields.items():
        item[k] = v
    return NORMALIZE.process_item(item)


def feed(exporter: ParquetExporter, tconsts: list[str], run_id: str = "run1") -> None:
    """Each title page with its rating (one item, two tables)."""
    for t in tconsts:
        exporter.process_item(title(t, run_id))


def finals(out: Path, table: str = "titles") -> list[Path]:
    return sorted((out / table).glob("crawl_date=*/*.parquet"))


def hidden(out: Path) -> list[Path]:
    return sorted(out.glob("*/crawl_date=*/.*.tmp"))


def test_files_appear_only_on_commit(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path, PARQUET_ROW_GROUP_SIZE=2, PARQUET_COMMIT_ROWS=1000)
    feed(exporter, TCONSTS[:5])
    # row groups were flushed to hidden files, nothing under a final name yet
    assert finals(tmp_path) == [] and finals(tmp_path, "ratings") == []
    tmp = hidden(tmp_path)
    assert {p.parent.parent.name for p in tmp} == {"titles", "ratings"}
    assert all(p.name == ".run1-00000.parquet.tmp" for p in tmp)
    assert read_committed(tmp_path, "run1", "titles", ["tconst"]).num_rows == 0
    exporter.close_spider(reason="finished")
    assert hidden(tmp_path) == []
    [titles] = finals(tmp_path)
    assert (
        titles.relative_to(tmp_path).as_posix() == "titles/crawl_date=2024-05-01/run1-00000.parquet"
    )
    meta = pq.ParquetFile(titles).metadata
    assert meta.num_rows == 5 and meta.num_row_groups == 3  # 2 + 2 + 1
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert "crawl_date" not in pq.read_schema(titles).names
    assert read_commits(tmp_path, "run1") == [0, 1]  # chunk 1 is the crawl_runs row


def test_commit_every_n_title_rows(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2)
    feed(exporter, TCONSTS[:5])
    # committed before titles 3 and 5, each title with its rating; title 5 still open
    assert [p.name for p in finals(tmp_path)] == ["run1-00000.parquet", "run1-00001.parquet"]
    assert [p.name for p in finals(tmp_path, "ratings")] == [p.name for p in finals(tmp_path)]
    assert read_committed(tmp_path, "run1", "ratings", ["tconst"]).num_rows == 4
    exporter.close_spider(reason="finished")
    got = read_committed(tmp_path, "run1", "titles", ["tconst"]).column("tconst").to_pylist()
    assert got == TCONSTS[:5]


def test_the_projects_settings_commit_a_wide_level_in_parts(tmp_path: Path) -> None:
    """An open chunk's writers keep every row group's metadata until it is committed
    (~12 KB a group: a level of 73,000 titles held ~33 MB), so the project commits a
    wide level every PARQUET_COMMIT_ROWS titles, without waiting for its checkpoint."""
    project = Settings()
    project.setmodule("crawler.settings", priority="project")
    limit = project.getint("PARQUET_COMMIT_ROWS")
    assert 0 < limit <= 5000
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=limit,
                             PARQUET_ROW_GROUP_SIZE=project.getint("PARQUET_ROW_GROUP_SIZE"))
    feed(exporter, [f"tt{1_000_000 + i}" for i in range(limit + 1)])
    assert read_commits(tmp_path, "run1") == [0]  # no checkpoint: the level goes on
    assert read_committed(tmp_path, "run1", "titles", ["tconst"]).num_rows == limit


def test_commit_after_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(parquet_module.time, "monotonic", lambda: clock[0])
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_SECONDS=60, PARQUET_COMMIT_ROWS=1000)
    feed(exporter, TCONSTS[:1])
    clock[0] += 59
    exporter.spider_idle()
    assert finals(tmp_path) == []
    clock[0] += 1
    exporter.spider_idle()  # an idle crawl still commits on time
    assert len(finals(tmp_path)) == 1


def test_readers_agree_on_rows_and_types(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2)
    feed(exporter, TCONSTS)
    credit = {"category": "cast", "ordering": 5, "name": "Svetlana Kharitonova",
              "characters": ["Irina Fyodorovna Borozdina"], "notes": ["(as S. Kharitonova)"]}
    exporter.process_item(title("tt0050635", credits=[credit]))
    exporter.close_spider(reason="finished")
    glob = str(tmp_path / "titles" / "**" / "*.parquet")

    con = duckdb.connect()
    duck = con.sql(
        f"SELECT * FROM read_parquet('{glob}', hive_partitioning=true) ORDER BY tconst"
    ).to_arrow_table()
    polars = pl.scan_parquet(glob, hive_partitioning=True).sort("tconst").collect()
    dataset = ds.dataset(tmp_path / "titles", format="parquet", partitioning="hive")
    arrow = dataset.to_table().sort_by("tconst")
    pandas = dataset.to_table().to_pandas().sort_values("tconst")

    expected_ids = sorted([*TCONSTS, "tt0050635"])
    assert duck.num_rows == polars.height == arrow.num_rows == len(pandas) == len(expected_ids)
    assert duck.column("tconst").to_pylist() == expected_ids
    assert polars["tconst"].to_list() == expected_ids
    assert arrow.column("tconst").to_pylist() == expected_ids
    assert pandas["tconst"].tolist() == expected_ids
    # crawl_date comes from the path
    assert {str(v) for v in duck.column("crawl_date").to_pylist()} == {"2024-05-01"}
    assert {str(v) for v in polars["crawl_date"].to_list()} == {"2024-05-01"}
    assert {str(v) for v in arrow.column("crawl_date").to_pylist()} == {"2024-05-01"}
    # every data column comes back with the schema's type, from every reader
    schema = SCHEMAS["titles"]
    for field in schema:
        assert arrow.schema.field(field.name).type == field.type, field.name
        duck_type = duck.schema.field(field.name).type
        if pa.types.is_large_list(duck_type) or pa.types.is_list(duck_type):
            assert duck_type.value_type in (pa.string(), pa.large_string()), field.name
        elif pa.types.is_large_string(duck_type):
            assert field.type == pa.string(), field.name
        elif pa.types.is_timestamp(duck_type):  # DuckDB names UTC after its TimeZone setting
            assert (duck_type.unit, duck_type.tz) in (("us", "UTC"), ("us", "Etc/UTC"))
        else:
            assert duck_type == field.type, field.name
    assert polars.schema["runtime_minutes"] == pl.Int32
    assert polars.schema["genres"] == pl.List(pl.String)
    assert polars.schema["crawled_at"] == pl.Datetime("us", "UTC")
    assert polars.schema["release_date"] == pl.Date
    row = arrow.filter(pa.compute.equal(arrow.column("tconst"), "tt0050634")).to_pylist()[0]
    assert row["primary_title"] == "Title tt0050634"
    assert row["runtime_minutes"] == 95 and row["start_year"] == 1957
    assert row["gross_worldwide_amount"] == 17923 and row["gross_worldwide_currency"] == "USD"
    assert row["release_date"] == date(1957, 10, 12) and row["genres"] == ["Drama", "War"]
    assert row["crawled_at"] == datetime(2024, 5, 1, 12, 0, 1, 250000, tzinfo=UTC)
    assert str(pandas["crawled_at"].dtype) == "datetime64[us, UTC]"
    credits = pl.read_parquet(str(tmp_path / "credits" / "**" / "*.parquet"))
    assert credits.height == 1
    row = credits.row(0, named=True)
    assert (row["tconst"], row["credited_as"], row["primary_name"]) == (
        "tt0050635", "S. Kharitonova", "Svetlana Kharitonova")
    assert row["run_id"] == "run1" and row["ordering"] == 5


def test_all_none_column_keeps_its_type(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path)
    for t in TCONSTS[:3]:
        exporter.process_item(FailureItem(tconst=t, reason="blocked", **stamp()))
    exporter.close_spider(reason="finished")
    [path] = finals(tmp_path, "failures")
    schema = pq.read_schema(path)
    assert schema.field("http_status").type == pa.int32()
    assert schema.field("url").type == pa.string()
    con = duckdb.connect()
    types = dict(
        con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()[i][:2]
        for i in range(len(schema))
    )
    assert types["http_status"] == "INTEGER" and types["depth"] == "INTEGER"
    titles_exporter = make_exporter(tmp_path / "t")
    titles_exporter.process_item(title("tt0050634", genres=[], budget=None))
    titles_exporter.close_spider(reason="finished")
    schema = pq.read_schema(finals(tmp_path / "t")[0])
    assert schema.field("budget_amount").type == pa.int64()
    assert schema.field("taglines").type == pa.list_(pa.string())


def test_two_runs_the_same_day_add_files(tmp_path: Path) -> None:
    for run_id in ("run1", "run2"):
        exporter = make_exporter(tmp_path, run_id=run_id)
        feed(exporter, TCONSTS[:2], run_id=run_id)
        exporter.close_spider(reason="finished")
    assert [p.name for p in finals(tmp_path)] == ["run1-00000.parquet", "run2-00000.parquet"]
    both = pl.read_parquet(str(tmp_path / "titles" / "**" / "*.parquet"))
    assert both.height == 4
    assert sorted(set(both["run_id"].to_list())) == ["run1", "run2"]
    assert read_committed(tmp_path, "run1", "titles", ["tconst"]).num_rows == 2
    runs = pl.read_parquet(str(tmp_path / "crawl_runs" / "**" / "*.parquet"))
    assert sorted(runs["run_id"].to_list()) == ["run1", "run2"]


def test_resumed_run_drops_uncommitted_and_does_not_duplicate(tmp_path: Path) -> None:
    first = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2, PARQUET_ROW_GROUP_SIZE=1)
    feed(first, TCONSTS[:3])  # chunk 0 committed (2 titles), chunk 1 open with 1 title
    assert hidden(tmp_path)
    # a final name no commit log lists (as crawlers before commit-then-rename left them)
    orphan = tmp_path / "titles" / "crawl_date=2024-05-01" / "run1-00001.parquet"
    pq.write_table(pa.Table.from_pylist([{"tconst": "tt0000001"}]), orphan)
    other_run = tmp_path / "titles" / "crawl_date=2024-05-01" / ".run11-00001.parquet.tmp"
    other_run.write_bytes(b"another run's work in progress")
    sessions.acquire(tmp_path, "run11")  # ... by a live session
    del first  # killed: close_spider never runs

    second = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2)
    assert not orphan.exists()
    assert other_run.exists()  # only this run's files are touched
    assert [p.name for p in hidden(tmp_path)] == [other_run.name]
    assert second.chunk == 1
    committed = read_committed(tmp_path, "run1", "titles", ["tconst"])
    assert committed.column("tconst").to_pylist() == TCONSTS[:2]
    # the spider replays committed titles and schedules only the rest
    done = set(committed.column("tconst").to_pylist())
    feed(second, [t for t in TCONSTS if t not in done])
    second.close_spider(reason="finished")
    rows = pl.read_parquet(str(tmp_path / "titles" / "**" / "*.parquet"))
    assert sorted(rows["tconst"].to_list()) == sorted(TCONSTS)  # each exactly once
    assert read_commits(tmp_path, "run1") == [0, 1, 2, 3]
    runs = read_committed(tmp_path, "run1", "crawl_runs", ["titles_rows", "finish_reason"])
    assert runs.to_pylist() == [{"titles_rows": 4, "finish_reason": "finished"}]


def test_crash_mid_chunk_leaves_no_unreadable_final_file(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=3, PARQUET_ROW_GROUP_SIZE=1)
    feed(exporter, TCONSTS[:5])  # chunk 0 committed, chunk 1 half written
    tmp = hidden(tmp_path)
    assert tmp  # the open writer has bytes on disk but no footer
    with pytest.raises(pa.ArrowInvalid):
        pq.read_metadata(tmp[0])
    for path in tmp_path.glob("*/crawl_date=*/*.parquet"):
        pq.read_table(path)  # every final name is a complete file
    glob = str(tmp_path / "titles" / "**" / "*.parquet")
    assert duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone() == (
        3,
    )
    assert pl.scan_parquet(glob, hive_partitioning=True).collect().height == 3
    assert ds.dataset(tmp_path / "titles", partitioning="hive").count_rows() == 3


def test_crawl_runs_row(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path)
    stats = exporter.crawler.stats
    stats.set_value("response_received_count", 7)
    stats.set_value("item_scraped_count", 12)
    stats.set_value("log_count/ERROR", 1)
    feed(exporter, TCONSTS[:2])
    exporter.process_item(AliasItem(tconst="tt0000001", canonical_tconst="tt0050634", **stamp()))
    exporter.close_spider()  # as Scrapy calls it: the reason is not known yet
    assert finals(tmp_path, "crawl_runs") == []
    exporter.spider_closed(spider=exporter.crawler.spider, reason="shutdown")
    exporter.spider_closed(spider=exporter.crawler.spider, reason="shutdown")  # once only
    [path] = finals(tmp_path, "crawl_runs")
    [row] = pq.read_table(path).to_pylist()
    assert row["run_id"] == "run1" and row["finish_reason"] == "shutdown"
    assert row["started_at"] == DAY and row["finished_at"] == DAY
    assert json.loads(row["arguments"]) == {"depth": "2", "max_titles": "50", "seed": "tt0050634"}
    assert row["seeds"] == ["tt0050634"] and row["depth"] == 2 and row["max_titles"] == 50
    assert (row["pages"], row["items"], row["errors"]) == (7, 12, 1)
    assert (row["titles_rows"], row["ratings_rows"], row["aliases_rows"]) == (2, 2, 1)
    assert (row["credits_rows"], row["failures_rows"]) == (0, 0)
    assert stats.get_value("parquet/rows/titles") == 2


def test_bad_rows_are_rejected_alone(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path)
    exporter.process_item(title("tt0050634"))
    raw = TitleItem(tconst="tt0053106", start_year="nineteen", **stamp())  # not normalised
    exporter.process_item(raw)
    exporter.process_item(FailureItem(reason="blocked", url="x", run_id="run1"))  # no crawled_at
    exporter.process_item({"not": "an item"})  # passes through
    exporter.close_spider(reason="finished")
    got = read_committed(tmp_path, "run1", "titles", ["tconst", "start_year"]).to_pylist()
    assert got == [{"tconst": "tt0050634", "start_year": 1957}]
    assert exporter.crawler.stats.get_value("parquet/rejected/titles") == 1
    assert exporter.crawler.stats.get_value("parquet/rejected/failures") == 1
    assert finals(tmp_path, "failures") == []  # a table with no rows writes no file


def test_read_committed_columns(tmp_path: Path) -> None:
    assert read_committed(tmp_path, "nope", "titles", ["tconst"]).schema == pa.schema(
        [SCHEMAS["titles"].field("tconst")]
    )
    with pytest.raises(KeyError):
        read_committed(tmp_path, "nope", "titles", ["no_such_column"])


def test_unwritable_output_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("a file where the directory should be")
    with pytest.raises(OutputDirError, match=r"OUTPUT_DIR .* is not a writable directory"):
        make_exporter(blocker)


def test_run_id_must_name_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run_id"):
        make_exporter(tmp_path, run_id="../escape")


def test_a_torn_commit_log_line_is_cut_before_the_next_append(tmp_path: Path) -> None:
    first = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2)
    feed(first, TCONSTS[:3])  # chunk 0 committed (2 titles), chunk 1 open
    log = tmp_path / "_state" / "run1.commits"
    assert log.read_text() == "0\n"
    with open(log, "a") as f:  # a power loss mid-append: "1" without its newline
        f.write("1")
    del first

    second = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=2)
    assert log.read_text() == "0\n"
    assert second.chunk == 1
    feed(second, TCONSTS[2:5])  # chunk 1 committed before the 5th title
    # Appended on a line of its own, not as "11".
    assert read_commits(tmp_path, "run1") == [0, 1]


def test_a_title_page_fans_out_into_four_tables_in_one_chunk(tmp_path: Path) -> None:
    exporter = make_exporter(tmp_path, PARQUET_COMMIT_ROWS=1)
    credits = [{"category": "director", "ordering": 1, "nconst": "nm0456615",
                "name": "Mikhail Kalatozov"},
               {"category": "writer", "ordering": 1, "name": "Viktor Rozov",
                "notes": ['play "Vecno zivye"', "screenplay"]}]
    edges = [{"rank": 1, "tconst": "tt0053106", "primary_title": "Neotpravlennoe pismo",
              "start_year": 1960, "average_rating": 7.9},
             {"rank": 2, "tconst": "tt0052600", "average_rating": "8.0"}]
    exporter.process_item(title("tt0050634", credits=credits, more_like_this=edges))
    exporter.process_item(title("tt0053106"))  # commits the first title before it is added
    got = {t: read_committed(tmp_path, "run1", t, ["tconst"]).column("tconst").to_pylist()
           for t in ("titles", "ratings", "credits", "more_like_this")}
    assert got == {"titles": ["tt0050634"], "ratings": ["tt0050634"],
                   "credits": ["tt0050634"] * 2, "more_like_this": ["tt0050634"] * 2}
    exporter.close_spider(reason="finished")
    mlt = read_committed(tmp_path, "run1", "more_like_this",
                         ["similar_tconst", "rank", "similar_average_rating", "run_id"])
    assert mlt.to_pylist() == [
        {"similar_tconst": "tt0053106", "rank": 1, "similar_average_rating": 7.9,
         "run_id": "run1"},
        {"similar_tconst": "tt0052600", "rank": 2, "similar_average_rating": 8.0,
         "run_id": "run1"},
    ]
    rating = read_committed(tmp_path, "run1", "ratings",
                            ["average_rating", "num_votes", "num_votes_abbreviated"])
    assert rating.to_pylist()[0] == {"average_rating": 8.3, "num_votes": 16000,
                                     "num_votes_abbreviated": True}
    writer = read_committed(tmp_path, "run1", "credits", ["primary_name", "attributes"])
    assert writer.to_pylist()[1] == {"primary_name": "Viktor Rozov",
                                     "attributes": ['play "Vecno zivye"', "screenplay"]}


def test_outcomes_handed_over_at_close_are_committed(tmp_path: Path) -> None:
    from crawler import signals as our_signals

    exporter = make_exporter(tmp_path)
    left = [FailureItem(tconst="tt0053106", reason="blocked", detail="x-amzn-waf-action: "
                        "challenge", **stamp())]
    exporter.crawler.signals.connect(lambda closing: left if closing else [],
                                     signal=our_signals.outcomes_due, weak=False)
    exporter.close_spider(reason="blocked")
    got = read_committed(tmp_path, "run1", "failures", ["tconst", "reason", "detail"])
    assert got.to_pylist() == [{"tconst": "tt0053106", "reason": "blocked",
                                "detail": "x-amzn-waf-action: challenge"}]
