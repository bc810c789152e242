"""Signals of our own, sent through ``crawler.signals``."""

# Sent by the spider when a breadth-first level is complete and every item of it
# has gone through the pipelines: the exporter commits its open chunk, so that a level
# ends with its last chunk (what a resumed run replays; PARQUET_COMMIT_ROWS may commit
# a long level in several).
checkpoint = object()

# Sent by the exporter before each commit (argument ``closing``: the crawl is ending).
# Receivers return outcome items that no callback yielded (reused titles, titles given
# up as lost and, at the end, titles a stopped crawl never reached), so they are
# committed with their level and every scheduled title is accounted for.
outcomes_due = object()

# Sent by the retry middleware each time a title's answer is a block (arguments:
# ``tconst``, ``reason``), so a title the stop rule leaves unfinished is recorded
# with the block it met rather than as never fetched.
title_blocked = object()

# Sent by the exporter for each title page it adds to the open chunk (argument ``rows``:
# the page's rows per table, as written).  The run recorder counts field coverage.
title_written = object()

# Sent by the exporter once per session, when its last chunk is committed and the finish
# reason is known (arguments ``run``, ``reason`` and ``at``, the exporter's clock): the
# run recorder (``pipelines.run_recorder``) then writes the session's crawl_runs row.
exporter_closed = object()

# Sent by the run recorder once a session's crawl_runs row is committed (argument:
# ``finish_reason``): only then is a finished JOBDIR job marked finished, so a kill
# before that row leaves a job that a rerun completes.
run_recorded = object()

# Sent by the exporter once a chunk is in the commit log (arguments: ``tconsts``, the
# titles whose outcomes it holds, and ``chunk``, its number).  A shared frontier marks
# those titles done only then, so a worker that dies holding uncommitted outcomes loses
# nothing: its titles go back to the queue.
chunk_committed = object()

# Sent by the exporter once a chunk's files are sealed, before it is committed (arguments:
# ``tconsts`` and ``chunk``, as above).  A receiver that returns False vetoes the commit:
# the chunk is abandoned.  A worker of a shared crawl says False when it no longer holds
# every one of those titles (its lease expired and they went to another worker), so a
# stalled worker never commits a title twice (crawler.frontier.shared).
chunk_committing = object()
