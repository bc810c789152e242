"""``scrapy report``: write OUTPUT_DIR/report.html and print its path.

Thin on purpose: what the page shows is built by :mod:`analytics.report`.  Every failure
is one line on stderr, no traceback, no credential:

- 2: OUTPUT_DIR refused before anything is read (an object store URI that is malformed
  or ambiguous, a bucket that does not exist, an endpoint that does not answer);
- 1: reading or writing failed on the way (the store went away, a damaged file), or
  a committed file is missing (``analytics.missing_files``): the page is written
  without its rows and says so, and the line names the file.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from crawler.masking import scrub

if TYPE_CHECKING:
    import argparse

NAME = "scrapy report"


def fail(message: str, code: int) -> int:
    print(f"{NAME}: error: {message}", file=sys.stderr)
    return code


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return "[-s OUTPUT_DIR=...]"

    def short_desc(self) -> str:
        return "Write OUTPUT_DIR/report.html about the crawled dataset and print its path"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        self.exitcode = report(str(self.settings["OUTPUT_DIR"] or "output"))


def report(output_dir: str) -> int:
    """Write the report of ``output_dir``, print its path; the exit code."""
    import duckdb
    import pyarrow as pa

    from analytics.missing_files import one_line
    from analytics.report import write
    from analytics.report_data import load
    from crawler.arguments import check_object_store
    from crawler.state.dataset import is_remote

    try:
        if "://" in output_dir or is_remote(output_dir):
            check_object_store(output_dir)
    except ValueError as exc:
        return fail(str(exc), 2)
    try:
        data = load(output_dir)
        path = write(output_dir, data)
    except (OSError, pa.ArrowException, duckdb.Error) as exc:
        why = " ".join(scrub(str(exc), output_dir).split()) or type(exc).__name__
        return fail(f"the report could not be written: {why}", 1)
    print(path)
    if data.missing:
        return fail(f"{one_line(data.missing)}; the report was written without them", 1)
    return 0
