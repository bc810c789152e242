"""The pipelines inside a real Scrapy crawl (no network: the spider yields items from start()).

Each crawl runs in a subprocess, since a Twisted reactor starts once per process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import scrapy
from scrapy.exceptions import CloseSpider

from crawler.items import TitleItem
from crawler.state.run import Run
from tests.conftest import ROOT

STAMP = {"crawled_at": "2024-05-01T12:00:00Z"}


class ItemsSpider(scrapy.Spider):
    """Yields the seed title's page as its HTML shows it, then stops (or is closed)."""

    name = "items"

    def __init__(self, run_id: str = "r1", close: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from datetime import UTC, datetime

        self.run = Run(run_id=run_id, seeds=["tt0050634"], depth=0, max_titles=1,
                       arguments={"seed": "tt0050634", "depth": "0", "max_titles": "1"},
                       started_at=datetime(2024, 5, 1, 12, tzinfo=UTC))
        self.close_reason = close

    async def start(self) -> Any:
        yield TitleItem(
            tconst="tt0050634",
            primary_title="Letyat zhuravli",
            runtime_minutes="1h 35m",
            gross_worldwide="$17,923",
            average_rating="8.3/10",
            num_votes="16K",
            credits=[{"category": "writer", "ordering": 1, "name": "Viktor Rozov",
                      "notes": ['play "Vecno zivye"', "screenplay"]}],
            more_like_this=[{"rank": 1, "tconst": "tt0053106", "average_rating": "7.9"}],
            depth=0,
            run_id=self.run.run_id,
            **STAMP,
        )
        if self.close_reason:
            raise CloseSpider(self.close_reason)


def crawl(out: Path, **spider_args: str) -> subprocess.CompletedProcess[str]:
    script = f"""
from scrapy.crawler import CrawlerProcess
from tests.test_parquet_scrapy import ItemsSpider
process = CrawlerProcess({{
    "OUTPUT_DIR": {str(out)!r},
    "ITEM_PIPELINES": {{
        "pipelines.normalize.NormalizeTitlePipeline": 100,
        "pipelines.parquet.ParquetExporter": 900,
    }},
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
}})
process.crawl(ItemsSpider, **{spider_args!r})
process.start()
"""
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_crawl_writes_tables_and_a_crawl_runs_row(tmp_path: Path) -> None:
    result = crawl(tmp_path, run_id="r1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "] ERROR:" not in result.stderr, result.stderr[-3000:]
    titles = pl.read_parquet(str(tmp_path / "titles" / "**" / "*.parquet"))
    assert titles.select("tconst", "runtime_minutes", "gross_worldwide_amount").rows() == [
        ("tt0050634", 95, 17923)
    ]
    ratings = pl.read_parquet(str(tmp_path / "ratings" / "**" / "*.parquet"))
    assert ratings.select("average_rating", "num_votes", "num_votes_abbreviated").rows() == [
        (8.3, 16000, True)
    ]
    credits = pl.read_parquet(str(tmp_path / "credits" / "**" / "*.parquet"))
    assert credits["attributes"].to_list() == [['play "Vecno zivye"', "screenplay"]]
    runs = pl.read_parquet(str(tmp_path / "crawl_runs" / "**" / "*.parquet")).to_dicts()
    assert len(runs) == 1
    assert runs[0]["finish_reason"] == "finished"
    assert runs[0]["items"] == 1 and runs[0]["titles_rows"] == 1
    assert runs[0]["more_like_this_rows"] == 1 and runs[0]["seeds"] == ["tt0050634"]


def test_closed_crawl_records_its_reason(tmp_path: Path) -> None:
    result = crawl(tmp_path, run_id="r2", close="closespider_itemcount")
    assert result.returncode == 0, result.stderr[-3000:]
    runs = pl.read_parquet(str(tmp_path / "crawl_runs" / "**" / "*.parquet")).to_dicts()
    assert [r["finish_reason"] for r in runs] == ["closespider_itemcount"]
    assert pl.read_parquet(str(tmp_path / "titles" / "**" / "*.parquet")).height == 1


def test_unwritable_output_dir_stops_the_crawl_with_a_clear_message(tmp_path: Path) -> None:
    blocker = tmp_path / "output"
    blocker.write_text("not a directory")
    result = crawl(blocker, run_id="r3")
    assert "OutputDirError" in result.stderr and "is not a writable directory" in result.stderr
    assert "Error while sending spider_close" not in result.stderr
    assert blocker.read_text() == "not a directory"
