"""``scrapy crawl`` that checks the arguments first and reports bad ones in one line.

Scrapy would otherwise start the engine and print a traceback from deep
inside it.  Here a bad seed, depth, max_titles, RENDER, IMDB_BASE_URL or
OUTPUT_DIR ends the command before anything is logged, fetched or written,
with exit code 2.  The checks run in ``process_options``, which Scrapy calls
before it sets up logging and the crawler process.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl

from crawler import defaults, job
from crawler.arguments import (
    check_base_url,
    check_output_dir,
    check_render,
    job_arguments,
    parse_arguments,
)

if TYPE_CHECKING:
    import argparse

SPIDER = "more_like_this"
# Finish reasons of a crawl that stopped itself for something the user must act on.
FAILED_REASONS = ("blocked", "browser_failed", "output_failed")


class Command(ScrapyCrawl):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if args != [SPIDER]:
            return
        spargs = opts.spargs
        assert self.settings is not None
        try:
            crawl_args = parse_arguments(
                spargs.get("seed", defaults.SEED),
                spargs.get("depth", defaults.DEPTH),
                spargs.get("max_titles", defaults.MAX_TITLES),
            )
            render = check_render(self.settings.get("RENDER", "never"))
            check_base_url(self.settings.get("IMDB_BASE_URL"))
            check_output_dir(self.settings.get("OUTPUT_DIR"))
            jobdir = self.settings.get("JOBDIR")
            if jobdir:
                job.lock_job(jobdir)
                job.check_job(jobdir, job_arguments(crawl_args))
        except ValueError as e:
            print(f"scrapy crawl {SPIDER}: error: {e}", file=sys.stderr)
            sys.exit(2)
        if render != "never":
            from crawler.rendering import BrowserUnavailableError, check_browser

            try:
                check_browser(self.settings)
            except BrowserUnavailableError as e:
                print(f"scrapy crawl {SPIDER}: error: {e}", file=sys.stderr)
                sys.exit(1)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args != [SPIDER]:
            super().run(args, opts)
            return
        assert self.crawler_process
        crawler = self._create_crawler(SPIDER)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        # `or` short-circuits: a crawler that failed to start has no stats to read.
        if self.crawler_process.bootstrap_failed or (
            crawler.stats.get_value("finish_reason") in FAILED_REASONS
        ):
            self.exitcode = 1
        elif crawler.stats.get_value("titles/failed") and not crawler.stats.get_value(
            "titles/done"
        ):
            # A scheduled run that got no title at all must not look like a success.
            print(f"scrapy crawl {SPIDER}: error: no title could be fetched; see the failures "
                  "table for why", file=sys.stderr)
            self.exitcode = 1

