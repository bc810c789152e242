"""``scrapy crawl`` that checks the arguments first and reports bad ones in one line.

Scrapy would otherwise start the engine and print a traceback from deep
inside it (exit code 0 or 1 depending on where it fails).  Here a bad seed,
depth, max_titles, RENDER or OUTPUT_DIR ends the command before anything is
fetched or written, with exit code 2.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl

from crawler.arguments import check_base_url, check_output_dir, check_render, parse_arguments

if TYPE_CHECKING:
    import argparse


FAILED_REASONS = ("blocked", "browser_failed", "output_failed")


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) == 1 and args[0] == "more_like_this":
            spargs = opts.spargs
            try:
                parse_arguments(
                    spargs.get("seed", "tt0050634"),
                    spargs.get("depth", 2),
                    spargs.get("max_titles", 1000),
                )
                assert self.settings is not None
                check_render(self.settings.get("RENDER", "never"))
                check_base_url(self.settings.get("IMDB_BASE_URL"))
                check_output_dir(self.settings.get("OUTPUT_DIR"))
            except ValueError as e:
                print(f"scrapy crawl more_like_this: error: {e}", file=sys.stderr)
                self.exitcode = 2
                return
        if len(args) != 1:
            super().run(args, opts)
            return
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        # A crawl that stopped itself for a reason the user must act on is not a success.
        failed = crawler.stats.get_value("finish_reason") in FAILED_REASONS
        if self.crawler_process.bootstrap_failed or failed:
            self.exitcode = 1
