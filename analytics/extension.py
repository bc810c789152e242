"""``BuildViews``: rebuilds ``OUTPUT_DIR/dataset.duckdb`` after every crawl run.

Connected to ``crawler.signals.run_recorded``, which the run recorder sends once the
session's crawl_runs row is committed, so the views see the whole run.  The views are
derived from committed data, so a failed build loses no data; but it is no success:
the database, older than the data, is removed (no reader takes it for the current
state), the reason is logged and kept in the stat ``views/error``, and ``scrapy crawl``
exits 1 with that line (``python -m analytics.views OUTPUT_DIR`` builds them again).
Committed files found missing (``analytics.missing_files``) are logged as a warning.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

import analytics
from analytics.database import remove_stale
from crawler import signals as our_signals
from crawler.masking import scrub, shown_url

logger = logging.getLogger(__name__)
# How ``python -m analytics.views`` starts its lines on stderr.
ERROR = "analytics.views: error: "
WARNING = "analytics.views: warning: "


class BuildViews:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.output_dir = crawler.settings.get("OUTPUT_DIR") or "output"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BuildViews:
        if not crawler.settings.getbool("VIEWS_REBUILD"):
            raise NotConfigured  # with no message: Scrapy logs it at DEBUG, not WARNING
        ext = cls(crawler)
        crawler.signals.connect(ext.run_recorded, signal=our_signals.run_recorded)
        return ext

    def run_recorded(self, **_: Any) -> None:
        started = time.perf_counter()
        # In a process of its own: DuckDB would add tens of MB to the crawl's peak memory.
        root = str(Path(analytics.__file__).resolve().parent.parent)  # a checkout or an egg
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run([sys.executable, "-m", "analytics.views", str(self.output_dir)],
                              capture_output=True, text=True, env=env, check=False)
        assert self.crawler.stats is not None
        lines = scrub(proc.stderr, self.output_dir).strip().splitlines()
        for line in lines:
            if line.startswith(WARNING):
                logger.warning("%s", line.removeprefix(WARNING))
        if proc.returncode != 0:
            self.failed(lines, proc.returncode)
            return
        seconds = time.perf_counter() - started
        self.crawler.stats.set_value("views/build_seconds", round(seconds, 3))
        logger.info("views rebuilt: %s", scrub(proc.stdout, self.output_dir).strip())

    def failed(self, lines: list[str], code: int) -> None:
        """One error line, also the stat ``views/error`` the crawl command exits 1 on."""
        shown = shown_url(self.output_dir)  # an s3:// URI may carry keys
        errors = [line.removeprefix(ERROR) for line in lines if line.startswith(ERROR)]
        if errors:  # the builder said why, and what became of the older database
            why = errors[-1]
        else:  # it died first (killed): the older database is removed here
            last = lines[-1] if lines else "no output"
            why = (f"views of {shown!r} not built: the build ended with code {code} "
                   f"({last}); {remove_stale(self.output_dir)}")
        line = f"{why} (run `python -m analytics.views {shown}` to build them again)"
        logger.error("%s", line)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("views/error", line)
