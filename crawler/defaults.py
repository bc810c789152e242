"""Defaults that several modules need, each defined once.

``crawler.settings`` exposes the site and browser ones as settings; the spider,
the ``crawl`` command and the argument checks use the argument ones.
"""

from __future__ import annotations

# The site crawled; IMDB_BASE_URL points the same crawl at a mirror.
BASE_URL = "https://www.imdb.com"
# IMDb's daily dataset files (the imdb_datasets spider); IMDB_DATASETS_URL overrides it.
DATASETS_URL = "https://datasets.imdbws.com"
# Debian's chromium-headless-shell (apt-get install chromium-headless-shell).
BROWSER_EXECUTABLE = "/usr/lib/chromium/chromium-headless-shell"
# The prefix of a shared crawl's keys in Redis (FRONTIER_KEY).
FRONTIER_KEY = "mlt"

# Spider arguments (-a name=value).
SEED = "tt0050634"  # Letyat zhuravli (The Cranes Are Flying, 1957)
DEPTH = 2
MAX_TITLES = 1000
REFRESH = "0"  # fetch every title; "7d" reuses titles fetched in the last 7 days
CREDITS = "page"  # the title page's credits; "full" adds each title's full credits page
