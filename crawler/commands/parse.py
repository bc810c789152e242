"""``scrapy parse``: Scrapy's check of what the spider makes of one title page.

    scrapy parse --spider more_like_this https://www.imdb.com/title/tt0050634/

Scrapy's own command requests the URL with a callback of its own (the spider's
``start`` is replaced, so no seed is requested) and prints the items and requests
the spider's callback returns: here the title's item, or its failure or alias row.
The spider reads the tconst from the URL (depth 0), as the request carries none of
the meta of its own requests.  With ``--spider more_like_this`` and no ``-c``, the
callback is ``parse``, which is ``parse_title``.

This command sets ``CHECK_ONE_PAGE``, so the spider requests nothing of its own
(no seed, no next level), and it writes nothing: no Parquet exporter, no views, no
progress lines; ``OUTPUT_DIR`` is left as it was (``--pipelines`` only types the
item).  It never joins a shared crawl (``FRONTIER_URL``) or a ``JOBDIR`` job, and a
block is shown at once rather than retried minutes later.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from scrapy.commands.parse import Command as ScrapyParse
from scrapy.exceptions import ScrapyDeprecationWarning

if TYPE_CHECKING:
    import argparse

# What a one-page check turns off, whatever the project settings say.
ONE_PAGE_SETTINGS = {
    "CHECK_ONE_PAGE": True,
    "FRONTIER_URL": "",
    "JOBDIR": "",
    "CRAWL_BLOCK_RETRY_TIMES": 0,
}
NOT_WRITING = {
    "ITEM_PIPELINES": ("pipelines.parquet.ParquetExporter",),
    "EXTENSIONS": ("analytics.extension.BuildViews", "crawler.progress.Progress"),
}


class Command(ScrapyParse):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        settings = self.settings
        assert settings is not None
        for name, value in ONE_PAGE_SETTINGS.items():
            settings.set(name, value, priority="cmdline")
        for name, components in NOT_WRITING.items():
            enabled = dict(settings.getdict(name))
            for component in components:
                enabled[component] = None
            settings.set(name, enabled, priority="cmdline")
        # Scrapy's parse command wraps the callback in one returning a Deferred, then
        # warns that "the spider's callback" returned one: a warning about Scrapy itself.
        warnings.filterwarnings("ignore", message=r".*returned a Deferred",
                                category=ScrapyDeprecationWarning)
