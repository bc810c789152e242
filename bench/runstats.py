"""A stats collector that also writes the run's final stats to a JSON file.

``-s STATS_CLASS=bench.runstats.JsonFileStats -s BENCH_STATS_FILE=path`` makes a
crawl leave its Scrapy stats (``elapsed_time_seconds``, response counts, ...) where
the benchmark can read them, without changing anything the crawl does.
"""

from __future__ import annotations

import json
from pathlib import Path

from scrapy.statscollectors import MemoryStatsCollector, StatsT


class JsonFileStats(MemoryStatsCollector):
    def _persist_stats(self, stats: StatsT) -> None:
        super()._persist_stats(stats)
        path = self._crawler.settings.get("BENCH_STATS_FILE")
        if path:
            Path(path).write_text(json.dumps(stats, default=str), encoding="utf-8")
