"""``scrapy report``: write OUTPUT_DIR/report.html and print its path.

Thin on purpose: what the page shows is built by :mod:`analytics.report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False  # nothing is crawled

    def syntax(self) -> str:
        return "[-s OUTPUT_DIR=...]"

    def short_desc(self) -> str:
        return "Write OUTPUT_DIR/report.html about the crawled dataset and print its path"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from analytics.report import write_report

        assert self.settings is not None
        print(write_report(self.settings["OUTPUT_DIR"]))
