"""``scrapy crawl`` that checks the arguments first and reports problems in one line.

Scrapy would otherwise start the engine and print a traceback from deep inside
it.  Here a bad seed, depth, max_titles, an unknown ``-a`` argument, a bad
RENDER, IMDB_BASE_URL, OUTPUT_DIR or numeric setting, or a JOBDIR that is in use
or holds another job, ends the command before anything is logged, fetched or
written, with exit code 2.  The checks run in ``process_options``, which Scrapy
calls before it sets up logging and the crawler process.

Exit codes (also in docs/reliability.md):

- 0: the run completed (a rerun of a finished JOBDIR job does nothing and exits 0);
- 1: it did not: stopped by blocks, by a browser that failed, by SIGTERM/Ctrl-C,
  by an OUTPUT_DIR that could not be written, by a shared crawl's Redis that could not
  be reached or forgot the crawl, by a lease this worker lost while it held titles, or
  it fetched no title at all, or its views could not be rebuilt (its data is committed;
  ``dataset.duckdb``, older, is removed);
- 2: refused before it started;
- 3: it completed, but field coverage fell sharply against the previous completed run
  (IMDb's page may have changed; see ``pipelines.coverage``).

``scrapy crawl imdb_datasets`` (IMDb's daily files) is checked here too
(``crawler.sources.imdb_files.check_options``): 0 every file committed or unchanged, 1 a file
failed (one line each) or the run was interrupted, 2 refused before it started.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl

from crawler import defaults
from crawler.arguments import (
    check_argument_names,
    check_numeric_settings,
    check_output_dir,
    check_render,
    job_arguments,
    parse_arguments,
)
from crawler.checks import check_base_url
from crawler.sources.archive import archive_from_settings
from crawler.state import job

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

SPIDER = "more_like_this"
DATASETS_SPIDER = "imdb_datasets"  # IMDb's daily files (crawler.spiders.imdb_datasets)
DRIFT_EXIT_CODE = 3
# Finish reasons of a crawl that stopped for something the user must act on, and why.
FAILED_REASONS = {
    "blocked": "the site refused this client (AWS WAF); see the failures table",
    "browser_failed": "the browser failed; see the log",
    "output_failed": "OUTPUT_DIR could not be written",
    "frontier_lost": "the shared frontier (FRONTIER_URL) could not be reached; start the "
                     "worker again once Redis is back: the crawl goes on where it was",
    "frontier_forgot": "Redis lost the shared crawl's state (restarted without its data, "
                       "flushed, or an older snapshot); run the same command again: the run "
                       "resumes from what its workers committed to OUTPUT_DIR",
    "shutdown": "interrupted before the crawl was done; run the same command again "
                "(with JOBDIR it resumes)",
    "lease_lost": "this worker stalled past FRONTIER_LEASE_SECONDS and was taken for dead: "
                  "the titles it held went to other workers, which write them (nothing is "
                  "lost or written twice); keep the lease above any pause a worker may take",
}


def fail(message: str, code: int, spider: str = SPIDER) -> None:
    print(f"scrapy crawl {spider}: error: {message}", file=sys.stderr)
    sys.exit(code)


class Command(ScrapyCrawl):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        if args == [DATASETS_SPIDER]:
            check_datasets(self.settings, opts.spargs)
            return
        if args != [SPIDER]:
            return
        spargs = opts.spargs
        settings = self.settings
        assert settings is not None
        try:
            check_argument_names(list(spargs))
            crawl_args = parse_arguments(
                spargs.get("seed", defaults.SEED),
                spargs.get("depth", defaults.DEPTH),
                spargs.get("max_titles", defaults.MAX_TITLES),
                spargs.get("refresh", defaults.REFRESH),
                spargs.get("as_of"),
                spargs.get("credits", defaults.CREDITS),
            )
            render = check_render(settings.get("RENDER", "never"))
            check_base_url(settings.get("IMDB_BASE_URL"))
            archive_from_settings(crawl_args.as_of, settings.get)
            check_output_dir(settings.get("OUTPUT_DIR"))
            check_numeric_settings(settings.get)
            jobdir = settings.get("JOBDIR")
            if settings.get("FRONTIER_URL"):
                check_shared(settings, job_arguments(crawl_args), jobdir)
            elif jobdir:
                job.lock_job(jobdir)
                state = job.check_job(jobdir, job_arguments(crawl_args))
                if state is not None and state.finished_at is not None:
                    print(f"scrapy crawl {SPIDER}: JOBDIR {jobdir} holds run {state.run_id}, "
                          f"already finished at {state.finished_at.isoformat()}; nothing to "
                          "do (use another JOBDIR for a new run)", file=sys.stderr)
                    sys.exit(0)
        except ValueError as e:
            fail(str(e), 2)
        if render != "never":
            from crawler.download.rendering import BrowserUnavailableError, check_browser

            try:
                check_browser(settings)
            except BrowserUnavailableError as e:
                fail(str(e), 1)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args == [DATASETS_SPIDER]:
            self.exitcode = run_datasets(self, opts)
            return
        if args != [SPIDER]:
            super().run(args, opts)
            return
        assert self.crawler_process
        crawler = self._create_crawler(SPIDER)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        # `or` short-circuits: a crawler that failed to start has no stats to read.
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
            return
        problem = run_problem(crawler)
        if problem is not None:
            print(f"scrapy crawl {SPIDER}: error: {problem}", file=sys.stderr)
            self.exitcode = 1
            return
        drift = crawler.stats.get_value("drift/fields") if crawler.stats else None
        if drift:
            print(f"scrapy crawl {SPIDER}: error: IMDb's page may have changed: {drift}",
                  file=sys.stderr)
            self.exitcode = DRIFT_EXIT_CODE

def check_shared(settings: BaseSettings, arguments: dict[str, str], jobdir: str | None) -> None:
    """A worker of a shared crawl (FRONTIER_URL): Redis reachable, same arguments."""
    from crawler.frontier.recovery import check_crawl
    from crawler.frontier.shared import DEFAULT_KEY

    if jobdir:
        raise ValueError("FRONTIER_URL and JOBDIR: a shared crawl keeps its state in Redis; "
                         "drop JOBDIR")
    key = settings.get("FRONTIER_KEY") or DEFAULT_KEY
    output_dir = settings.get("OUTPUT_DIR")
    crawl = check_crawl(settings.get("FRONTIER_URL"), key, arguments, output_dir)
    worker = settings.get("FRONTIER_WORKER")
    if crawl is not None and worker:
        from crawler.state import dataset, sessions

        # Waited for: a worker started beside it may hold a dead session's lock a moment.
        if not dataset.is_remote(output_dir) and sessions.is_live(
                output_dir, f"{crawl.run_id}.{worker}", wait=sessions.BUSY_WAIT):
            raise ValueError(f"FRONTIER_WORKER={worker!r}: a worker of that name is running "
                             f"run {crawl.run_id} already (it holds its session lock in "
                             "OUTPUT_DIR); give each worker its own name")
    if crawl is not None and crawl.state == "finished":
        print(f"scrapy crawl {SPIDER}: the shared crawl {key!r} at FRONTIER_URL (run "
              f"{crawl.run_id}) is finished; nothing to do (use another FRONTIER_KEY for a "
              "new run)", file=sys.stderr)
        sys.exit(0)


def run_problem(crawler: Crawler) -> str | None:
    """One line saying why a finished crawl must not count as a success, or None."""
    assert crawler.stats is not None
    stats = crawler.stats
    reason = stats.get_value("finish_reason")
    output_error = stats.get_value("output/error")
    if output_error:
        return str(output_error)
    refused = stats.get_value("blocks/refused")
    if reason == "blocked" and refused:
        return str(refused)  # the site refused the first answers: what works instead
    if reason == "lease_lost" and not stats.get_value("frontier/lease_lost_titles"):
        return None  # taken for dead while it held nothing: no work of it was lost
    if reason in FAILED_REASONS:
        return f"finish reason {reason}: {FAILED_REASONS[reason]}"
    if stats.get_value("titles/failed") and not (
        stats.get_value("titles/done") or stats.get_value("titles/reused")
    ):
        # A scheduled run that got no title at all must not look like a success.
        return "no title could be fetched; see the failures table for why"
    views_error = stats.get_value("views/error")
    if views_error:  # the data is committed, but dataset.duckdb does not show it
        return str(views_error)
    return None


# --- imdb_datasets ----------------------------------------------------------------------


def check_datasets(settings: BaseSettings | None, spargs: dict[str, str]) -> None:
    """A bad -a (an unknown file names the accepted ones), setting or OUTPUT_DIR, and
    titles=graph with no crawl to take the titles from: exit 2, before anything runs."""
    from crawler.sources.imdb_files import check_options

    assert settings is not None
    try:
        check_options(spargs, settings.get)
    except ValueError as e:
        fail(str(e), 2, DATASETS_SPIDER)


def run_datasets(command: Command, opts: argparse.Namespace) -> int:
    """Exit 0 when every file was committed or unchanged; 1 with one line per file that
    failed (nothing of it committed), or when the run did not complete."""
    assert command.crawler_process
    crawler = command._create_crawler(DATASETS_SPIDER)
    command.crawler_process.crawl(crawler, **opts.spargs)
    command.crawler_process.start()
    if command.crawler_process.bootstrap_failed:
        return 1
    assert crawler.stats is not None
    errors = crawler.stats.get_value("imdb_datasets/errors") or []
    for line in errors:
        print(f"scrapy crawl {DATASETS_SPIDER}: error: {line}", file=sys.stderr)
    reason = crawler.stats.get_value("finish_reason")
    if reason != "finished" and not errors:
        why = FAILED_REASONS.get(reason, "see the log")
        print(f"scrapy crawl {DATASETS_SPIDER}: error: finish reason {reason}: {why}",
              file=sys.stderr)
        return 1
    return 1 if errors else 0
