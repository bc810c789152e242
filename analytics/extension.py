"""``BuildViews``: rebuilds ``OUTPUT_DIR/dataset.duckdb`` after every crawl run.

Connected to ``crawler.signals.run_recorded``, which the run recorder sends once the
session's crawl_runs row is committed, so the views see the whole run.  The views are
derived from committed data: a failed build loses nothing and does not change the
crawl's outcome, it logs one error line (``python -m analytics.views OUTPUT_DIR``
builds them again).
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
from crawler import signals as our_signals
from crawler.state.dataset import display

logger = logging.getLogger(__name__)


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
        if proc.returncode != 0:
            why = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            shown = display(self.output_dir)  # an s3:// URI may carry keys
            logger.error("views not rebuilt in %s: %s (run `python -m analytics.views %s` to "
                         "retry)", shown, why, shown)
            return
        seconds = time.perf_counter() - started
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("views/build_seconds", round(seconds, 3))
        logger.info("views rebuilt: %s", proc.stdout.strip())
