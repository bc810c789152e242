"""The crawl's policy, apart from the spider: feeding the levels (``feeding``), refresh
decisions (``refresh``), outcomes and their accounting (``outcomes``), each title's full
credits page with ``-a credits=full`` (``credits``) and a shared crawl's worker loop
(``shared_loop``).  The spider wires them to Scrapy."""

# They log as the spider did, so a crawl's log reads (and filters) as before.
LOGGER_NAME = "crawler.spiders.more_like_this"
