"""Item pipelines: normalise what the spider found, then write Parquet.

Order for ``ITEM_PIPELINES`` (normalisers first, the exporter last)::

    ITEM_PIPELINES = {
        "pipelines.normalize.NormalizeTitlePipeline": 100,
        "pipelines.normalize.NormalizeRatingPipeline": 110,
        "pipelines.normalize.NormalizeCreditPipeline": 120,
        "pipelines.normalize.NormalizeMoreLikeThisPipeline": 130,
        "pipelines.parquet.ParquetExporter": 900,
    }

Modules:

- ``values``: pure parsers (rating, counts, money, runtime, awards, dates).
- ``credits``: pure rules for credit notes and principals categories.
- ``normalize``: the normalising pipelines; they only transform.
- ``schemas``: one Arrow schema per table; ``python -m pipelines.schemas`` prints
  the data dictionary (``docs/data-dictionary.md``).
- ``parquet``: ``ParquetExporter`` (settings ``OUTPUT_DIR``,
  ``PARQUET_ROW_GROUP_SIZE``, ``PARQUET_COMMIT_ROWS``, ``PARQUET_COMMIT_SECONDS``)
  and ``read_committed`` for resuming a run.
"""
