"""Settings of the crawler.  Each project setting is documented where it is defined.

Defaults are polite to the real site (one request at a time, AutoThrottle,
robots.txt obeyed); tests and the demo point ``IMDB_BASE_URL`` at the local
mirror and turn the delays down.
"""

from __future__ import annotations

from crawler import defaults

BOT_NAME = "imdb_more_like_this"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"  # `scrapy crawl` with argument checks up front

# --- Where to crawl -----------------------------------------------------------------------
# Scheme and host of the site; a mirror (e.g. http://127.0.0.1:8000) takes the same crawl.
# Only this host is ever fetched: links and redirects elsewhere are dropped and counted.
IMDB_BASE_URL = defaults.BASE_URL

# --- Politeness ---------------------------------------------------------------------------
USER_AGENT = "imdb-more-like-this/0.1 (+https://github.com/; research crawler)"
# The page language follows Accept-Language: a fixed one keeps titles and genres stable.
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
}
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
COOKIES_ENABLED = False
# robots.txt per RFC 9309 2.3.1.3-4 (crawler.download.robots): a 4xx means no rules; a 5xx,
# a 429, a block or no answer at all (timeout, refused) means complete disallow, after
# crawler.download.retry's retries, and the host's titles fail with reason
# "robots_unavailable".  Scrapy's own middleware would crawl everything then, and print a
# traceback.
ROBOTSTXT_OBEY = True

# --- Size limits --------------------------------------------------------------------------
# Real title pages are 0.2-1.1 MB.  A body over DOWNLOAD_MAXSIZE is dropped, and the
# title fails "too_large" (never retried): at once when Content-Length says so, else as
# soon as that many bytes arrived or, for a gzip bomb, were inflated.  Scrapy's default
# (1 GiB) let a 2 MB bomb take 1.19 GB of memory.  8 MiB leaves pages room to grow 7x;
# past 2 MiB a page is logged as unusually large.
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

# --- Retries and blocks (crawler.download.retry) ------------------------------------------
# Scrapy's own retry is replaced by crawler.download.retry.BackoffRetryMiddleware.
RETRY_ENABLED = False
# Transient failures (429, 5xx, timeouts, dropped connections); the spider also asks again,
# up to as many times, for a body that came back cut short or empty:
CRAWL_RETRY_TIMES = 4  # retries after the first attempt
CRAWL_RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 408, 522, 524]
CRAWL_BACKOFF_BASE = 2.0  # seconds; the n-th retry waits base * 2**(n-1), capped ...
CRAWL_BACKOFF_MAX = 120.0  # ... at this many seconds
CRAWL_RETRY_AFTER_MAX = 600.0  # longest Retry-After honoured; longer ones give up the title
# Blocks (HTTP 202 + AWS WAF challenge): retried later with growing delays, then recorded
# as failures with reason "blocked".  We never try to solve or evade a challenge.
CRAWL_BLOCK_RETRY_TIMES = 3
CRAWL_BLOCK_BACKOFF_BASE = 60.0
# When at least this share of the last CRAWL_BLOCK_WINDOW responses were challenges,
# the site is refusing us: the crawl stops itself (finish reason "blocked").
CRAWL_BLOCK_STOP_RATIO = 0.5
CRAWL_BLOCK_WINDOW = 20
# The live site's refusal, told at once: when the crawl's first this many answers from
# the site (title pages, or its robots.txt; a title's retries count) are all blocks and
# no title page was read, the crawl stops (finish reason "blocked", exit 1) with one
# line naming the sources that work (the archive, WARC files).  Until a title answer
# that is not a block, blocks are retried after CRAWL_BLOCK_FIRST_BACKOFF_BASE seconds,
# doubling, so the default crawl of imdb.com in 2026 ends in about 20 s.  0: off (the
# window above decides alone, as it does after the first page and in a shared crawl).
CRAWL_BLOCK_FIRST_ANSWERS = 3
CRAWL_BLOCK_FIRST_BACKOFF_BASE = 5.0

# A title redirecting to another is a merge (an alias row; the canonical title is fetched).
# A merge reached through more than this many redirects is a failure (redirect_chain), and
# one that leads back to where it started is a redirect_loop.
CRAWL_MAX_MERGE_CHAIN = 5

# --- Rendering through a browser (scrapy-playwright) --------------------------------------
# "never": plain HTTP only; "auto": a title page whose HTTP response lacks what the page
# fills in with JavaScript is fetched again through headless Chromium; "always".
RENDER = "never"
# Debian's chromium-headless-shell (apt-get install chromium-headless-shell).
BROWSER_EXECUTABLE = defaults.BROWSER_EXECUTABLE
# Hosts besides the site's from which the browser may load scripts and XHR/fetch (never a
# page).  imdb.com serves its scripts from a CDN host: list it here to render real pages
# fully; empty, the browser sees the server-rendered HTML and the site's own requests only.
BROWSER_EXTRA_HOSTS: list[str] = []

# --- Checking one page (`scrapy parse`, crawler.commands.parse) -----------------------
# True while `scrapy parse` checks one title page: the spider requests nothing of its own
# (no seed, no next level) and nothing is written.  That command sets it; crawls leave it.
CHECK_ONE_PAGE = False

# --- A crawl shared by many workers (crawler.frontier.shared, crawler.download.politeness) ---
# redis://host:port/db: every `scrapy crawl more_like_this` started with the same arguments
# and this URL joins one crawl (one run id, seen-set, level barrier, max_titles budget).
# Empty: the crawl is held in this process, as always.  With it, DOWNLOAD_DELAY and
# CONCURRENT_REQUESTS_PER_DOMAIN hold for all workers together, not per worker, and the
# block stop rule (CRAWL_BLOCK_WINDOW) counts every worker's answers; a stop stops them all.
FRONTIER_URL = ""
# The crawl's keys in that Redis start with "<FRONTIER_KEY>:"; a new key is a new crawl
# (e.g. one per ISO week for scheduled runs), as a new JOBDIR is.  OUTPUT_DIR records the
# run of each key (_state/shared/<key>.json): once it finished, the same key starts a new
# run when Redis no longer holds it; until then, the same run is resumed.
FRONTIER_KEY = defaults.FRONTIER_KEY
# A worker renews its lease on the titles it holds every second; one that stops for this
# long (killed, cut off) is taken for dead, and its titles go back to the queue.  It is
# also how long a worker waits before it rebuilds a run Redis forgot from OUTPUT_DIR, so
# that workers of the lost session have stopped (crawler.frontier.recovery).
FRONTIER_LEASE_SECONDS = 30.0
# Titles claimed at a time: small, so that workers share a level's last titles evenly.
FRONTIER_CLAIM_BATCH = 16
# How often an idle worker looks again whether the level moved on (seconds).
FRONTIER_POLL_SECONDS = 0.2
# This worker's name in Redis and in its file names; empty: <host>-<pid>-<4 hex>.
FRONTIER_WORKER = ""

# --- Output (pipelines.parquet) -----------------------------------------------------------
OUTPUT_DIR = "output"
# Chunks are committed (renamed to their final names, then logged) at the end of every
# breadth-first level, when the crawl ends, and within a level once a chunk holds
# PARQUET_COMMIT_ROWS titles or is PARQUET_COMMIT_SECONDS old (0: never).  A resumed job
# replays the committed part of its last level and fetches the rest.  A title page is one
# item, so its rows always share a chunk.  An open chunk's Parquet writers keep every row
# group's metadata until it is committed (~12 KB each): a level of 73,000 titles held
# ~33 MB of it.  A chunk stays under 2,000 titles: at 5,000 a 20,000-title crawl peaked
# 2 MB higher (bench/crawl.py, docs/speed.md).
PARQUET_COMMIT_ROWS = 2000
PARQUET_COMMIT_SECONDS = 0
# Rows buffered per table before they go out as one row group (memory stays flat).
PARQUET_ROW_GROUP_SIZE = 1000
ITEM_PIPELINES = {
    "pipelines.normalize.NormalizeTitlePipeline": 100,  # types a title page's values
    "pipelines.parquet.ParquetExporter": 900,  # fans titles out into tables, commits
}

# --- Output on an object store (crawler.state.dataset) ------------------------------------
# OUTPUT_DIR may also be s3://bucket/prefix, written and read through pyarrow's S3
# filesystem.  Endpoint and credentials: the standard AWS environment variables
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL for
# an S3-compatible server), or pyarrow's URI form, e.g.
#   s3://bucket/prefix?endpoint_override=http://127.0.0.1:9000&region=us-east-1
# (keys as s3://KEY:SECRET@bucket/..., never printed).  A malformed URI, or a bucket that
# does not exist or does not answer, stops `scrapy crawl` at once with one line, exit 2.
# There is no rename on an object store: each chunk's files go straight to their final
# names and a marker object _state/<run_id>.commits/<chunk> commits the chunk; readers
# take only files whose chunk has a marker (crawler.state.dataset.committed_dataset).  No
# setting of its own: every reader (python -m analytics.views, scrapy report) then finds
# the store from OUTPUT_DIR and the environment alone.

# --- The drift alarm (pipelines.coverage) -------------------------------------------------
# Each session measures, per column, the share of the run's fetched titles that have a
# value.  A column covered at least DRIFT_MIN_COVERAGE in the previous completed run that
# fell by at least DRIFT_MIN_DROP ends the run with exit code 3 and names the column;
# runs that fetched fewer than DRIFT_MIN_TITLES titles are too small to judge.
DRIFT_MIN_COVERAGE = 0.9
DRIFT_MIN_DROP = 0.3
DRIFT_MIN_TITLES = 10

# --- Speed and memory (figures in docs/speed.md; bench/crawl.py) --------------------------
# A callback yields one item per page (two for a merge): Scrapy starts CONCURRENT_ITEMS
# worker tasks for every callback's output whatever its length, and the pipelines never
# wait, so 100 workers per page were ~100 tasks of pure overhead.
CONCURRENT_ITEMS = 4
# Scrapy checks each callback for "return value in a generator" by re-reading and parsing
# its source; the bound method it caches on dies at once, so that cost ~1 ms every page.
# The spider's callbacks are tested; the check is off.
WARN_ON_GENERATOR_RETURN_VALUE = False
# Bytes of responses waiting to be parsed above which Scrapy stops sending requests (its
# default is 5 MB).  Title pages are ~900 KB, so 5 MB held ~5 pages: while the crawl parsed
# them, only two or three requests were in flight and it then sat waiting on the network
# (half its wall time idle at CONCURRENT_REQUESTS 8).  12 MB keeps every slot busy for
# ~7 MB more peak memory (bench/crawl.py: 8.0 s -> 6.0 s for 1,000 titles).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 12_000_000
# glibc's malloc, set by crawler.memory.SteadyMemory when the crawler is built (both 0:
# glibc's own, dynamic thresholds; setting either one fixes both).  Blocks of at least
# MALLOC_MMAP_THRESHOLD bytes get a mapping of their own instead of heap space: a page read
# as text (up to 1.8 MB) no longer leaves holes the next page cannot use, which grew
# the peak with the crawl's length.  The heap keeps MALLOC_TRIM_THRESHOLD bytes free at its
# top before giving memory back (glibc's 128 KiB, fixed once the mmap threshold is, gave it
# back and took it again on every page).
MALLOC_MMAP_THRESHOLD = 1_048_576
MALLOC_TRIM_THRESHOLD = 8_388_608
# Whether the objects that exist when the spider opens (~120,000: the imported modules) are
# left out of Python's full collections until it closes: each one walked them all (~100 ms
# every ~2 s of crawl) and found nothing to free.
GC_FREEZE = True

# --- Middlewares and extensions -----------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # robots.txt decided per RFC 9309, one warning line on errors (see ROBOTSTXT_OBEY).
    "crawler.download.robots.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.download.retry.BackoffRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    # as_of=latest: the archive's CDX queries spaced by ARCHIVE_CDX_DELAY (its own limit).
    "crawler.download.cdx_pacing.CdxPacingMiddleware": 940,
    # With FRONTIER_URL only: a shared slot and a shared turn per request, so the delay and
    # per-host concurrency hold across workers.  Last before the download, first to see the
    # response: the slot is freed before crawler.download.retry waits out a backoff.
    "crawler.download.politeness.SharedPolitenessMiddleware": 950,
}
EXTENSIONS = {
    # Both consoles accept code from the network: never on.
    "scrapy.extensions.telnet.TelnetConsole": None,
    "scrapy.extensions.remote_control.RemoteControl": None,
    "scrapy.extensions.logstats.LogStats": None,  # replaced by crawler.progress
    # The spider keeps its own job state in JOBDIR, written atomically; Scrapy's rewrites
    # spider.state in place, which a kill can leave torn.
    "scrapy.extensions.spiderstate.SpiderState": None,
    "crawler.progress.Progress": 500,
    # glibc's thresholds and gc.freeze(): a long crawl's memory stays flat (above).
    "crawler.memory.SteadyMemory": 510,
    # Rebuilds OUTPUT_DIR/dataset.duckdb once the run's crawl_runs row is committed.
    "analytics.extension.BuildViews": 900,
}
# False: the run leaves dataset.duckdb as it was (for many runs in a row, such as a
# backfill of the past: `python -m analytics.views OUTPUT_DIR` builds it once at the end).
VIEWS_REBUILD = True
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Seconds between progress lines (titles done/queued per depth, rate, failures).
PROGRESS_INTERVAL = 10.0

# The spider keeps its own breadth-first frontier, and JOBDIR holds its resume state;
# Scrapy's on-disk request queue would replay requests the frontier already re-creates.
SCHEDULER = "crawler.scheduler.MemoryOnlyScheduler"
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"

LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# For -o feeds (one line per title page): titles in any script stay readable, not \u-escaped.
FEED_EXPORT_ENCODING = "utf-8"

# --- IMDb's daily dataset files (scrapy crawl imdb_datasets; docs/imdb-datasets.md) ---------
# Where `<file>.tsv.gz` is fetched from: scheme and host only (a local copy takes the same
# run).  IMDb publishes the files there for personal and non-commercial use.  robots.txt,
# USER_AGENT, DOWNLOAD_DELAY (between files), DOWNLOAD_TIMEOUT (per read) and the retries
# above apply; DOWNLOAD_MAXSIZE does not (a file's body is streamed to disk, never held).
IMDB_DATASETS_URL = defaults.DATASETS_URL
# A file that decompresses to more than this many bytes is refused (nothing committed);
# 0: no limit.  IMDb's largest file, title.principals, decompresses to a few GB.
IMDB_DATASETS_MAX_BYTES = 16 * 1024**3
# Where bodies are written while they download (deleted once read); empty:
# OUTPUT_DIR/_state/downloads, or the system's temporary directory for an s3:// OUTPUT_DIR.
IMDB_DATASETS_DOWNLOAD_DIR = ""

# --- Crawling the past (crawler.sources.archive, crawler.sources.warc; docs/the-past.md) ---
# With -a as_of=<YYYY[-MM[-DD]]> every title is read from the Wayback Machine capture nearest
# that date, through the raw replay URL {WAYBACK_BASE_URL}/web/<timestamp>id_/<imdb URL>;
# only this host is fetched then (a local archive takes the same crawl).  robots.txt, the
# delays, one request at a time and the 429/Retry-After handling above apply to it as well.
WAYBACK_BASE_URL = "https://web.archive.org"
# A capture farther from as_of than this (days, or an age such as 365d, 52w) counts as
# missing, as does no capture at all: the title fails with reason "not_archived".  Empty:
# 365 days around a date; with as_of=latest no limit (set, it counts back from now).
ARCHIVE_MAX_DISTANCE = ""
# With as_of=latest each title costs one query of the archive's CDX API (its captures and
# their recorded status).  The CDX API is limited per IP (24 a minute since 2026-06; a
# client that ignores its 429s is blocked at the firewall): its queries are spaced at
# least this many seconds apart, within the host's one budget above (shared by the
# workers of a shared crawl).
ARCHIVE_CDX_DELAY = 2.5
# Local WARC files (comma-separated paths or globs, gzipped or not) to read the captures
# from instead of the archive: no network at all, not even robots.txt.  Needs as_of.
ARCHIVE_WARC = ""
# Bytes a WARC record's header may take (and, apart, the HTTP header of a response record).
# A record past it, cut short, or not a record at all is damaged: named in one log line
# (file and offset), counted in crawl_runs.warc_damaged_records and skipped; the rest of
# the file is still read (from the next record found).
ARCHIVE_WARC_MAX_HEADER = 65536
