"""The fetch-only baseline of ``bench/crawl.py``: a Scrapy spider that requests a given
list of URLs and does nothing with the bodies.

Its settings are the crawl's (``crawler.settings``) where they bear on fetching:
user agent, headers, robots.txt, cookies, timeout, reactor; the benchmark sets the
same delay, AutoThrottle and concurrency on both.  No pipelines, no extraction,
Scrapy's default scheduler and middlewares.

    python -m bench.fetch_only URLS_FILE --stats-file F [-s NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess

from crawler import settings as project

# The crawl's settings that shape how pages are fetched.
SHARED = (
    "USER_AGENT", "DEFAULT_REQUEST_HEADERS", "ROBOTSTXT_OBEY", "COOKIES_ENABLED",
    "DOWNLOAD_TIMEOUT", "RETRY_ENABLED", "TWISTED_REACTOR", "TELNETCONSOLE_ENABLED",
)


class FetchOnlySpider(scrapy.Spider):
    name = "fetch_only"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            # As the crawl asks: no redirects followed, every status handed to the callback.
            yield scrapy.Request(url, callback=self.parse, dont_filter=True,
                                 meta={"dont_redirect": True, "handle_httpstatus_all": True})

    def parse(self, response: Any, **kwargs: Any) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls_file", help="one URL a line")
    parser.add_argument("--stats-file", required=True)
    parser.add_argument("-s", dest="settings", action="append", default=[],
                        metavar="NAME=VALUE")
    args = parser.parse_args()
    settings: dict[str, Any] = {name: getattr(project, name) for name in SHARED}
    settings.update({
        "LOG_LEVEL": "WARNING",
        "EXTENSIONS": {"scrapy.extensions.logstats.LogStats": None},
        "STATS_CLASS": "bench.runstats.JsonFileStats",
        "BENCH_STATS_FILE": args.stats_file,
    })
    for item in args.settings:
        name, _, value = item.partition("=")
        settings[name] = value
    urls = Path(args.urls_file).read_text(encoding="ascii").split()
    process = CrawlerProcess(settings, install_root_handler=True)
    process.crawl(FetchOnlySpider, urls=urls)
    process.start()


if __name__ == "__main__":
    main()
