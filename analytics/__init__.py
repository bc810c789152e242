"""Read side of the dataset: DuckDB views over the committed Parquet files
(``analytics.views``), rebuilt after every crawl run (``analytics.extension``), and the
HTML report (``analytics.report``, ``scrapy report``)."""
