"""The ``imdb_datasets`` spider: IMDb's daily dataset files, one polite request per file.

    scrapy crawl imdb_datasets -a files=ratings,basics -a titles=graph

It only decides what to ask for: each named file from ``IMDB_DATASETS_URL``, with the
validators of the last snapshot committed (``If-None-Match`` / ``If-Modified-Since``),
one file at a time with DOWNLOAD_DELAY between them, robots.txt obeyed.  The body is
streamed to a file by ``crawler.download.streaming``; the spider hands the pipeline
(``pipelines.imdb_datasets``) one ``DatasetFileItem`` per file: ``downloaded``,
``unchanged`` (HTTP 304) or ``failed`` (with the reason).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scrapy

from crawler import defaults
from crawler.checks import check_base_url
from crawler.download.streaming import STREAM_TO, STREAMED_BYTES, STREAMED_FILE
from crawler.failures import exception_detail, exception_reason, header_text
from crawler.sources.imdb_files import (
    DEFAULT_FILES,
    FILES,
    DatasetFileItem,
    file_url,
    http_date,
    last_validators,
    parse_files,
    parse_http_date,
    parse_titles,
)
from crawler.state import dataset
from crawler.state.run import new_run_id, utc_now

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

# Answers the callback sees instead of Scrapy dropping them: 304 and every error status
# (redirects are still followed).
HANDLED_STATUSES = [304, *range(400, 600)]


class ImdbDatasetsSpider(scrapy.Spider):
    name = "imdb_datasets"
    custom_settings = {  # noqa: RUF012 - Scrapy's own attribute, read once
        "ITEM_PIPELINES": {"pipelines.imdb_datasets.DatasetSnapshotPipeline": 900},
        "DOWNLOAD_HANDLERS": {"http": "crawler.download.streaming.StreamingDownloadHandler",
                              "https": "crawler.download.streaming.StreamingDownloadHandler"},
    }

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # Progress counts titles; this run logs one line per file instead.  (A dict in
        # custom_settings would replace the project's EXTENSIONS, views rebuild included.)
        extensions = settings.getdict("EXTENSIONS")
        extensions["crawler.progress.Progress"] = None
        settings.set("EXTENSIONS", extensions, priority="spider")

    def __init__(self, files: str = DEFAULT_FILES, titles: str = "graph",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.files = parse_files(files)
        self.titles = parse_titles(titles)
        self.started_at = utc_now()
        self.run_id = new_run_id(self.started_at)
        self.base_url = defaults.DATASETS_URL
        self.output_dir = "output"
        self.download_dir = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ImdbDatasetsSpider:
        spider: ImdbDatasetsSpider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.base_url = check_base_url(settings.get("IMDB_DATASETS_URL"),
                                         name="IMDB_DATASETS_URL",
                                         example=defaults.DATASETS_URL)
        spider.output_dir = str(settings.get("OUTPUT_DIR") or "output")
        spider.download_dir = download_dir(spider.output_dir,
                                           settings.get("IMDB_DATASETS_DOWNLOAD_DIR"))
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        remove_leftovers(self.download_dir)
        self.logger.info("run %s: %s from %s (titles=%s)", self.run_id,
                         ", ".join(FILES[f][0] for f in self.files), self.base_url, self.titles)
        for position, short in enumerate(self.files):
            etag, modified = last_validators(self.output_dir, FILES[short][0], self.titles)
            headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = http_date(modified)
            yield scrapy.Request(
                file_url(self.base_url, short), headers=headers, priority=-position,
                callback=self.parse_file, errback=self.file_failed, dont_filter=True,
                meta={"imdb_file": short, "validators": (etag, modified),
                      STREAM_TO: self.download_dir,
                      "handle_httpstatus_list": HANDLED_STATUSES})

    def parse_file(self, response: Response) -> Iterator[DatasetFileItem]:
        meta = response.meta
        sent_etag, sent_modified = meta["validators"]
        etag = header_text(response.headers, b"ETag") or None
        modified = parse_http_date(header_text(response.headers, b"Last-Modified"))
        item = DatasetFileItem(
            file=meta["imdb_file"], url=response.url, outcome="downloaded",
            crawled_at=utc_now(), http_status=response.status, path=meta.get(STREAMED_FILE),
            etag=etag, last_modified=modified, bytes=meta.get(STREAMED_BYTES))
        if response.status == 304:
            item.outcome, item.detail = "unchanged", "HTTP 304 Not Modified"
            item.etag, item.last_modified = etag or sent_etag, modified or sent_modified
        elif item.path is None:
            item.outcome, item.detail = "failed", _status_line(response)
        elif sent_etag and etag == sent_etag:
            # A server that ignores If-None-Match: the same file is no new snapshot.
            item.outcome, item.detail = "unchanged", f"HTTP 200 with the same ETag {etag}"
        yield item

    def file_failed(self, failure: Failure) -> Iterator[DatasetFileItem]:
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value if failure.value is not None else RuntimeError("unknown failure")
        yield DatasetFileItem(
            file=request.meta["imdb_file"], url=request.url, outcome="failed",
            crawled_at=utc_now(), detail=f"{exception_reason(exc)}: {exception_detail(exc)} "
            f"({request.url})")

    def closed(self, reason: str) -> None:
        """Downloads no item took over (a crawl stopped midway) are deleted."""
        for leftover in Path(self.download_dir).glob(f".{os.getpid()}-*.part"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def remove_leftovers(directory: str) -> None:
    """Downloads of runs whose process is gone (killed mid-file); a live run's are kept."""
    for path in Path(directory).glob(".*-*.part"):
        pid = path.name[1:].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # alive (maybe another run beside this one)
        except ProcessLookupError:
            pass
        except PermissionError:  # alive, someone else's
            continue
        with contextlib.suppress(OSError):
            path.unlink()


def download_dir(output_dir: str, setting: str | None) -> str:
    """Where bodies are written while they arrive: IMDB_DATASETS_DOWNLOAD_DIR, else
    OUTPUT_DIR/_state/downloads (the system's temporary directory for an object store)."""
    if setting:
        return str(setting)
    if dataset.is_remote(output_dir):
        return tempfile.gettempdir()
    return str(Path(output_dir) / dataset.STATE_DIR / "downloads")


def _status_line(response: Response) -> str:
    attempts = response.meta.get("attempts", 1)
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    preview = " ".join(response.body[:200].decode("utf-8", "replace").split())
    said = f": {preview!r}" if preview else ""
    return f"HTTP {response.status}{tried} for {response.url}{said}"
