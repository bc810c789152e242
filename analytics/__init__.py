"""Reading the crawled dataset back: the HTML report (``analytics.report``)."""
