"""``scrapy compact``: merge each closed partition's committed chunks into one file per
table (``pipelines.compaction``), then rebuild the views.

    scrapy compact [--before YYYY-MM-DD] [--dry-run] [-s OUTPUT_DIR=...]

It prints one line per partition compacted, and one per partition of those days left
open and why.  Running it again does nothing.  Every failure is one line on stderr:

- 2: refused, nothing done (an argument, an OUTPUT_DIR that is no directory, an object
  store, ``--before`` after today);
- 1: failed on the way (a file could not be read or written, another ``scrapy compact``
  is running there, the views could not be rebuilt): what was committed stays right.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from crawler.masking import scrub

if TYPE_CHECKING:
    import argparse

NAME = "scrapy compact"


def fail(message: str, code: int) -> int:
    print(f"{NAME}: error: {message}", file=sys.stderr)
    return code


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return "[--before YYYY-MM-DD] [--dry-run] [-s OUTPUT_DIR=...]"

    def short_desc(self) -> str:
        return "Merge each closed partition's committed chunks into one file per table"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        # A string, checked in compact(): a bad value is one line, not argparse's usage.
        parser.add_argument("--before", metavar="YYYY-MM-DD", default=None,
                            help="compact only days before this one (default: today, UTC)")
        parser.add_argument("--dry-run", action="store_true",
                            help="say what would be compacted, change nothing")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if args:
            self.exitcode = fail(f"unexpected argument {args[0]!r} (OUTPUT_DIR is set "
                                 "with -s OUTPUT_DIR=...)", 2)
            return
        self.exitcode = compact(str(self.settings["OUTPUT_DIR"] or "output"), opts.before,
                                opts.dry_run, self.settings.getbool("VIEWS_REBUILD", True))


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--before {text!r} is not a date (YYYY-MM-DD)") from None


def compact(output_dir: str, before: str | None, dry_run: bool, rebuild: bool) -> int:
    """Compact ``output_dir``, print what was done; the exit code."""
    import pyarrow as pa

    from pipelines.compaction import CompactionBusy, CompactionRefused
    from pipelines.compaction import compact as run_compaction

    try:
        until = _day(before)
    except ValueError as exc:
        return fail(str(exc), 2)
    try:
        outcome = run_compaction(output_dir, until, dry_run)
    except CompactionRefused as exc:
        return fail(scrub(str(exc), output_dir), 2)
    except CompactionBusy as exc:
        return fail(str(exc), 1)
    except (OSError, ValueError, pa.ArrowException) as exc:
        why = " ".join(scrub(str(exc), output_dir).split()) or type(exc).__name__
        return fail(f"compaction failed: {why}; what was committed stays readable", 1)
    verb = "would compact" if dry_run else "compacted"
    for day, files, after in outcome.compacted:
        print(f"crawl_date={day}: {verb} {files} files into {after}")
    for day, why in outcome.left_open:
        print(f"crawl_date={day}: left open: {scrub(why, output_dir)}")
    if not outcome.compacted:
        print("nothing to compact")
    if not (outcome.changed and rebuild and not dry_run):
        return 0
    from analytics.views import ViewsNotBuilt, build_counted

    try:
        built = build_counted(output_dir)
    except ViewsNotBuilt as exc:
        return fail(str(exc), 1)
    print(f"views rebuilt: {built.path}")
    return 0
