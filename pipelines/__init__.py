"""Item pipelines: type a title page's values, then write Parquet.

Order for ``ITEM_PIPELINES`` (the normaliser first, the exporter last)::

    ITEM_PIPELINES = {
        "pipelines.normalize.NormalizeTitlePipeline": 100,
        "pipelines.parquet.ParquetExporter": 900,
    }

Modules:

- ``values``: pure parsers (rating, counts, money, runtime, dates).
- ``credits``: pure rules for credit notes and principals categories.
- ``normalize``: the normalising pipeline and its pure functions; it only transforms.
- ``schemas``: one Arrow schema per table; ``python -m pipelines.schemas`` prints
  the data dictionary (``docs/data-dictionary.md``).
- ``rows``: pure functions from an item to typed table rows (fan-out, coercion).
- ``parquet``: ``ParquetExporter``, which buffers rows and commits chunks (settings
  ``OUTPUT_DIR``, ``PARQUET_ROW_GROUP_SIZE``, ``PARQUET_COMMIT_ROWS``,
  ``PARQUET_COMMIT_SECONDS``).
- ``stores``: the ``ChunkStore`` protocol and its two stores (a directory, an
  ``s3://`` object store), and ``read_committed``.
- ``run_recorder``: the session's ``crawl_runs`` row, field coverage and the drift alarm.
- ``coverage``: field coverage of a run and the drift alarm's rule.
- ``arrow``: pyarrow without its pandas integration in the crawl process.
"""
