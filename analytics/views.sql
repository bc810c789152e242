-- Views over the committed Parquet files of OUTPUT_DIR (DuckDB dialect).
--
-- The only parameters are the sources ${titles}, ${ratings}, ... : each is replaced by a
-- relation over that table's committed files (analytics.views.sql_text), e.g.
--   read_parquet(['/data/out/titles/crawl_date=2026-01-01/RUN-00000.parquet', ...])
-- Chunks not yet in a run's commit log are never listed, so a run writing beside a
-- reader, or a crash, never shows half a chunk.  Everything below the *_raw views is
-- plain SQL (window functions, joins): Polars or Spark users can register their own
-- frames under the *_raw names and run the rest.

CREATE OR REPLACE VIEW titles_raw AS SELECT * FROM ${titles};
CREATE OR REPLACE VIEW ratings_raw AS SELECT * FROM ${ratings};
CREATE OR REPLACE VIEW credits_raw AS SELECT * FROM ${credits};
CREATE OR REPLACE VIEW more_like_this_raw AS SELECT * FROM ${more_like_this};
CREATE OR REPLACE VIEW failures_raw AS SELECT * FROM ${failures};
CREATE OR REPLACE VIEW aliases_raw AS SELECT * FROM ${aliases};
CREATE OR REPLACE VIEW reused_raw AS SELECT * FROM ${reused};
CREATE OR REPLACE VIEW crawl_runs_raw AS SELECT * FROM ${crawl_runs};

-- The latest successful fetch of each title: the run_id + crawled_at of its latest
-- titles row.  A refresh run writes no titles row for a title it reuses, so a reused
-- title resolves to the run that fetched it.  Pages read from an archive (-a as_of, with
-- a captured_at) show the past, not the latest state: they are left out.
CREATE OR REPLACE VIEW latest_fetch AS
SELECT tconst, run_id, crawled_at
FROM (
    SELECT tconst, run_id, crawled_at,
           ROW_NUMBER() OVER (PARTITION BY tconst ORDER BY crawled_at DESC, run_id DESC) AS rn
    FROM titles_raw
    WHERE captured_at IS NULL
) AS t
WHERE rn = 1;

CREATE OR REPLACE VIEW titles_latest AS
SELECT t.* FROM titles_raw AS t
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

CREATE OR REPLACE VIEW ratings_latest AS
SELECT r.* FROM ratings_raw AS r
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

CREATE OR REPLACE VIEW credits_latest AS
SELECT c.* FROM credits_raw AS c
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

CREATE OR REPLACE VIEW more_like_this_latest AS
SELECT m.* FROM more_like_this_raw AS m
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

-- One row per title and fetch; a page without rating or votes has nulls (no ratings row).
-- Fetches of the live site only: an archived page's rating is of its captured_at.
CREATE OR REPLACE VIEW ratings_history AS
SELECT t.tconst, t.crawled_at, t.run_id,
       r.average_rating, r.num_votes, r.num_votes_abbreviated
FROM titles_raw AS t
LEFT JOIN ratings_raw AS r USING (tconst, run_id, crawled_at)
WHERE t.captured_at IS NULL;

-- One row per run: its sessions (a resumed JOBDIR job) summed, and its coverage.
-- seed_key (sorted seeds) groups the runs over the same seeds.
CREATE OR REPLACE VIEW runs AS
WITH sessions AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY finished_at DESC) AS last_first
    FROM crawl_runs_raw
),
totals AS (
    SELECT run_id,
           COUNT(*) AS sessions,
           MIN(started_at) AS started_at,
           MAX(finished_at) AS finished_at,
           CAST(SUM(pages) AS BIGINT) AS pages,
           CAST(SUM(items) AS BIGINT) AS items,
           CAST(SUM(errors) AS BIGINT) AS errors,
           CAST(COALESCE(SUM(titles_rows), 0) AS BIGINT) AS titles_rows,
           CAST(COALESCE(SUM(ratings_rows), 0) AS BIGINT) AS ratings_rows,
           CAST(COALESCE(SUM(credits_rows), 0) AS BIGINT) AS credits_rows,
           CAST(COALESCE(SUM(more_like_this_rows), 0) AS BIGINT) AS more_like_this_rows,
           CAST(COALESCE(SUM(failures_rows), 0) AS BIGINT) AS failures_rows,
           CAST(COALESCE(SUM(aliases_rows), 0) AS BIGINT) AS aliases_rows,
           CAST(COALESCE(SUM(reused_rows), 0) AS BIGINT) AS reused_rows,
           CAST(SUM(invalid_links) AS BIGINT) AS invalid_links,
           -- the same in every session of a run (resumed, or one per worker)
           CAST(MAX(seeds_over_limit) AS BIGINT) AS seeds_over_limit
    FROM crawl_runs_raw
    GROUP BY run_id
)
SELECT t.run_id, t.sessions, t.started_at, t.finished_at,
       s.finish_reason, s.error, s.arguments, s.seeds,
       array_to_string(list_sort(s.seeds), ',') AS seed_key,
       s.depth, s.max_titles, s.refresh_seconds, s.as_of,
       t.pages, t.items, t.errors,
       t.titles_rows, t.ratings_rows, t.credits_rows, t.more_like_this_rows,
       t.failures_rows, t.aliases_rows, t.reused_rows,
       t.invalid_links, t.seeds_over_limit, s.titles_over_limit,
       -- every scheduled title lands in exactly one of these four tables
       t.titles_rows AS titles_fetched,
       t.reused_rows AS titles_reused,
       t.failures_rows AS titles_failed,
       t.aliases_rows AS titles_merged,
       t.titles_rows + t.reused_rows + t.failures_rows + t.aliases_rows AS titles_scheduled,
       CAST(t.titles_rows AS DOUBLE)
           / NULLIF(t.titles_rows + t.reused_rows + t.failures_rows + t.aliases_rows, 0)
           AS share_fetched,
       CAST(t.titles_rows + t.reused_rows AS DOUBLE)
           / NULLIF(t.titles_rows + t.reused_rows + t.failures_rows + t.aliases_rows, 0)
           AS share_covered
FROM totals AS t
JOIN sessions AS s ON s.run_id = t.run_id AND s.last_first = 1;

-- The fetch standing for each title in each run: its own page, or for a title the run
-- reused, the page of the run it reuses (reused merges have no page, so no edges).
CREATE OR REPLACE VIEW run_fetches AS
SELECT run_id, tconst, run_id AS fetch_run_id, crawled_at AS fetch_at
FROM titles_raw
UNION ALL
SELECT u.run_id, u.tconst, t.run_id AS fetch_run_id, t.crawled_at AS fetch_at
FROM reused_raw AS u
JOIN titles_raw AS t
  ON t.tconst = u.tconst AND t.run_id = u.fetched_run_id AND t.crawled_at = u.fetched_at;

-- Consecutive runs of the live site over the same seeds, by start time.
CREATE OR REPLACE VIEW run_pairs AS
SELECT old_run_id, new_run_id
FROM (
    SELECT LAG(run_id) OVER (PARTITION BY seed_key ORDER BY started_at, run_id) AS old_run_id,
           run_id AS new_run_id
    FROM runs
    WHERE as_of IS NULL
) AS p
WHERE old_run_id IS NOT NULL;

-- Edges added, removed or re-ranked between two consecutive runs over the same seeds,
-- for the titles with a page in both runs (fetched or reused).
CREATE OR REPLACE VIEW similarity_changes AS
WITH both_runs AS (
    SELECT p.old_run_id, p.new_run_id, o.tconst,
           o.fetch_run_id AS old_fetch_run_id, o.fetch_at AS old_fetch_at,
           n.fetch_run_id AS new_fetch_run_id, n.fetch_at AS new_fetch_at
    FROM run_pairs AS p
    JOIN run_fetches AS o ON o.run_id = p.old_run_id
    JOIN run_fetches AS n ON n.run_id = p.new_run_id AND n.tconst = o.tconst
    -- the same fetch standing in both runs (reused): the same edges, nothing to compare
    WHERE o.fetch_run_id <> n.fetch_run_id OR o.fetch_at <> n.fetch_at
),
old_edges AS (
    SELECT b.old_run_id, b.new_run_id, m.tconst, m.similar_tconst, m.rank
    FROM both_runs AS b
    JOIN more_like_this_raw AS m
      ON m.tconst = b.tconst AND m.run_id = b.old_fetch_run_id
     AND m.crawled_at = b.old_fetch_at
),
new_edges AS (
    SELECT b.old_run_id, b.new_run_id, m.tconst, m.similar_tconst, m.rank
    FROM both_runs AS b
    JOIN more_like_this_raw AS m
      ON m.tconst = b.tconst AND m.run_id = b.new_fetch_run_id
     AND m.crawled_at = b.new_fetch_at
)
SELECT COALESCE(o.tconst, n.tconst) AS tconst,
       COALESCE(o.similar_tconst, n.similar_tconst) AS similar_tconst,
       CASE WHEN o.similar_tconst IS NULL THEN 'added'
            WHEN n.similar_tconst IS NULL THEN 'removed'
            ELSE 'rank_changed' END AS change,
       o.rank AS old_rank,
       n.rank AS new_rank,
       COALESCE(o.old_run_id, n.old_run_id) AS old_run_id,
       COALESCE(o.new_run_id, n.new_run_id) AS new_run_id
FROM old_edges AS o
FULL OUTER JOIN new_edges AS n
  ON n.old_run_id = o.old_run_id AND n.new_run_id = o.new_run_id
 AND n.tconst = o.tconst AND n.similar_tconst = o.similar_tconst
WHERE o.similar_tconst IS NULL OR n.similar_tconst IS NULL
   OR o.rank IS DISTINCT FROM n.rank;

-- Titles whose latest outcome (a page, a reuse, a merge or a failure) is a failure, on
-- the live site: the outcomes of -a as_of runs (crawling the past) are left out.
CREATE OR REPLACE VIEW failures_latest AS
WITH archive_runs AS (
    SELECT DISTINCT run_id FROM crawl_runs_raw WHERE as_of IS NOT NULL
),
outcomes AS (
    SELECT tconst, run_id, crawled_at, 'title' AS outcome,
           CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS detail,
           CAST(NULL AS INTEGER) AS http_status, CAST(NULL AS INTEGER) AS depth,
           CAST(NULL AS INTEGER) AS attempts, CAST(NULL AS VARCHAR) AS url
    FROM titles_raw
    UNION ALL
    SELECT tconst, run_id, crawled_at, 'reused', NULL, NULL, NULL, NULL, NULL, NULL
    FROM reused_raw
    UNION ALL
    SELECT tconst, run_id, crawled_at, 'alias', NULL, NULL, NULL, NULL, NULL, NULL
    FROM aliases_raw
    UNION ALL
    SELECT tconst, run_id, crawled_at, 'failure', reason, detail, http_status, depth,
           attempts, url
    FROM failures_raw
    WHERE tconst IS NOT NULL
),
ranked AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY tconst ORDER BY crawled_at DESC, run_id DESC)
               AS rn
    FROM outcomes
    WHERE run_id NOT IN (SELECT run_id FROM archive_runs)
)
SELECT tconst, reason, detail, http_status, attempts, depth, url, run_id, crawled_at
FROM ranked
WHERE rn = 1 AND outcome = 'failure';
