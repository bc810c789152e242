-- Views over the committed Parquet files of OUTPUT_DIR (DuckDB dialect).
--
-- The only parameters are the sources ${titles}, ${ratings}, ... : each is replaced by a
-- relation over that table's committed files (analytics.views.sql_text), e.g.
--   read_parquet(['/data/out/titles/crawl_date=2026-01-01/RUN-00000.parquet', ...])
-- Chunks not yet in a run's commit log are never listed, so a run writing beside a
-- reader, or a crash, never shows half a chunk.  Everything below the *_raw views is
-- plain SQL (window functions, joins): Polars or Spark users can register their own
-- frames under the *_raw names (observed_at and source filled in as below) and run the
-- rest.

-- Every page row says when IMDb showed it (observed_at: an archived page's capture time, a
-- live page's fetch time) and where it was read (source: live, wayback, warc).  Files
-- written before those columns existed have them null; the *_raw views fill them in the
-- way the crawler now writes them (docs/timeline.md): observed_at = captured_at, else
-- crawled_at; source = wayback when captured_at is set, else live.  A failure or a merge
-- of an archive run without a capture is observed at the run's as_of.
CREATE OR REPLACE VIEW crawl_runs_raw AS
SELECT * REPLACE (
    COALESCE(source, CASE WHEN as_of IS NOT NULL THEN 'wayback' ELSE 'live' END) AS source)
FROM ${crawl_runs};

-- Each run's as_of and source (the same in every session of a run).
CREATE OR REPLACE VIEW run_sources AS
SELECT run_id, MAX(as_of) AS as_of, MAX(source) AS source
FROM crawl_runs_raw
GROUP BY run_id;

CREATE OR REPLACE VIEW titles_raw AS
SELECT * REPLACE (
    COALESCE(observed_at, captured_at, crawled_at) AS observed_at,
    COALESCE(source, CASE WHEN captured_at IS NOT NULL THEN 'wayback' ELSE 'live' END)
        AS source)
FROM ${titles};
CREATE OR REPLACE VIEW ratings_raw AS
SELECT * REPLACE (
    COALESCE(observed_at, captured_at, crawled_at) AS observed_at,
    COALESCE(source, CASE WHEN captured_at IS NOT NULL THEN 'wayback' ELSE 'live' END)
        AS source)
FROM ${ratings};
-- A credits row says which page it was read from (credit_page: title, or fullcredits with
-- -a credits=full); files written before that column existed hold title pages' rows.
CREATE OR REPLACE VIEW credits_raw AS
SELECT * REPLACE (
    COALESCE(observed_at, captured_at, crawled_at) AS observed_at,
    COALESCE(source, CASE WHEN captured_at IS NOT NULL THEN 'wayback' ELSE 'live' END)
        AS source,
    COALESCE(credit_page, 'title') AS credit_page)
FROM ${credits};
CREATE OR REPLACE VIEW credit_categories_raw AS
SELECT * REPLACE (
    COALESCE(observed_at, captured_at, crawled_at) AS observed_at,
    COALESCE(source, CASE WHEN captured_at IS NOT NULL THEN 'wayback' ELSE 'live' END)
        AS source)
FROM ${credit_categories};
CREATE OR REPLACE VIEW subpage_failures_raw AS SELECT * FROM ${subpage_failures};
CREATE OR REPLACE VIEW more_like_this_raw AS
SELECT * REPLACE (
    COALESCE(observed_at, captured_at, crawled_at) AS observed_at,
    COALESCE(source, CASE WHEN captured_at IS NOT NULL THEN 'wayback' ELSE 'live' END)
        AS source)
FROM ${more_like_this};
CREATE OR REPLACE VIEW failures_raw AS
SELECT f.* REPLACE (
    COALESCE(f.observed_at, f.captured_at, r.as_of, f.crawled_at) AS observed_at,
    COALESCE(f.source, CASE WHEN f.captured_at IS NOT NULL THEN 'wayback' END, r.source,
             'live') AS source)
FROM ${failures} AS f
LEFT JOIN run_sources AS r ON r.run_id = f.run_id;
CREATE OR REPLACE VIEW aliases_raw AS
SELECT a.* REPLACE (
    COALESCE(a.observed_at, a.captured_at, r.as_of, a.crawled_at) AS observed_at,
    COALESCE(a.source, CASE WHEN a.captured_at IS NOT NULL THEN 'wayback' END, r.source,
             'live') AS source)
FROM ${aliases} AS a
LEFT JOIN run_sources AS r ON r.run_id = a.run_id;
CREATE OR REPLACE VIEW reused_raw AS SELECT * FROM ${reused};
CREATE OR REPLACE VIEW field_coverage_raw AS SELECT * FROM ${field_coverage};

-- One timeline per title: its observations, one per page IMDb showed (observed_at), from
-- the live site and archives alike, whenever the run that read it was made.  A capture
-- read by several runs is one observation: the latest read stands for it.  A refresh run
-- writes no titles row for a title it reuses: no new observation.
CREATE OR REPLACE VIEW observations AS
SELECT tconst, observed_at, source, run_id, crawled_at, captured_at
FROM (
    SELECT tconst, observed_at, source, run_id, crawled_at, captured_at,
           ROW_NUMBER() OVER (PARTITION BY tconst, observed_at
                              ORDER BY crawled_at DESC, run_id DESC) AS rn
    FROM titles_raw
) AS t
WHERE rn = 1;

-- Each title's newest observation: the run_id + crawled_at of the read standing for it.
-- An as_of=2018 run made after a live run does not make 2018 the latest.
CREATE OR REPLACE VIEW latest_fetch AS
SELECT tconst, run_id, crawled_at, observed_at, source
FROM (
    SELECT tconst, run_id, crawled_at, observed_at, source,
           ROW_NUMBER() OVER (PARTITION BY tconst
                              ORDER BY observed_at DESC, crawled_at DESC, run_id DESC) AS rn
    FROM observations
) AS t
WHERE rn = 1;

-- titles_latest is the titles row of latest_fetch, picked by one window over titles_raw
-- (the same order: observed_at, then crawled_at, then run_id), so that a filter on tconst
-- reaches the files.
CREATE OR REPLACE VIEW titles_latest AS
SELECT * EXCLUDE (rn)
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY tconst
                                 ORDER BY observed_at DESC, crawled_at DESC, run_id DESC) AS rn
    FROM titles_raw
) AS t
WHERE rn = 1;

-- IMDb's daily files (scrapy crawl imdb_datasets): each snapshot of a title's rating is an
-- observation, made when IMDb wrote the file (observed_at = its Last-Modified).  A snapshot
-- downloaded by several runs counts once: the newest download stands for it.
CREATE OR REPLACE VIEW dataset_ratings AS
SELECT tconst, average_rating, num_votes, snapshot_date, snapshot_at AS observed_at,
       'imdb_datasets' AS source, run_id, crawled_at
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY tconst, snapshot_at
                                 ORDER BY crawled_at DESC, run_id DESC) AS rn
    FROM ${imdb_title_ratings}
) AS d
WHERE rn = 1;

-- Each title's newest rating from any source: its newest page, or a newer daily file.
CREATE OR REPLACE VIEW ratings_latest AS
SELECT * EXCLUDE (rn)
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY tconst
                                 ORDER BY observed_at DESC, crawled_at DESC) AS rn
    FROM (
        SELECT r.* FROM ratings_raw AS r
        JOIN latest_fetch AS l USING (tconst, run_id, crawled_at)
        UNION ALL BY NAME
        SELECT * FROM dataset_ratings
    ) AS all_sources
) AS ranked
WHERE rn = 1;

-- A title's credits rows belong to its fetch (run_id, crawled_at): with -a credits=full
-- they are its full credits page's (credit_page = 'fullcredits'), unless that page failed
-- (titles.full_credits says why; the title page's rows stand).
CREATE OR REPLACE VIEW credits_latest AS
SELECT c.* FROM credits_raw AS c
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

-- The categories (departments) of that same fetch's full credits page, with how many
-- people each lists of its total: listed < total is a partial list (a current-layout
-- crew category lists its first 10).  No rows for a title read without its full credits.
CREATE OR REPLACE VIEW credit_categories_latest AS
SELECT c.* FROM credit_categories_raw AS c
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

CREATE OR REPLACE VIEW more_like_this_latest AS
SELECT m.* FROM more_like_this_raw AS m
JOIN latest_fetch AS l USING (tconst, run_id, crawled_at);

-- One row per title and observation, live, archived and daily file (source
-- imdb_datasets); a page without rating or votes has nulls (no ratings row).  Order by
-- observed_at for the title's history.
CREATE OR REPLACE VIEW ratings_history AS
SELECT o.tconst, o.crawled_at, o.run_id,
       r.average_rating, r.num_votes, r.num_votes_abbreviated,
       o.observed_at, o.source
FROM observations AS o
LEFT JOIN ratings_raw AS r USING (tconst, run_id, crawled_at)
UNION ALL BY NAME
SELECT tconst, crawled_at, run_id, average_rating, num_votes, observed_at, source
FROM dataset_ratings;

-- The graph's titles: every title a crawl scheduled (read, failed, merged or reused) and
-- every title a "More like this" card named.
CREATE OR REPLACE VIEW graph_titles AS
SELECT tconst FROM titles_raw
UNION SELECT tconst FROM failures_raw
UNION SELECT tconst FROM aliases_raw
UNION SELECT tconst FROM reused_raw
UNION SELECT similar_tconst AS tconst FROM more_like_this_raw;

-- IMDb's daily title.basics for every graph title, from the newest snapshot holding it,
-- including the titles whose pages could not be read.
CREATE OR REPLACE VIEW title_basics_latest AS
SELECT b.* EXCLUDE (rn)
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY tconst
                                 ORDER BY snapshot_at DESC, crawled_at DESC) AS rn
    FROM ${imdb_title_basics}
) AS b
JOIN graph_titles AS g USING (tconst)
WHERE rn = 1;

-- One row per run: its sessions (a resumed JOBDIR job) summed, and its coverage.
-- seed_key (sorted seeds) groups the runs over the same seeds.  The run's finish reason
-- is its last session's; a session that died (killed, recorded by the next run) or a
-- worker taken for dead (lease_lost) stands only when no other session does.
CREATE OR REPLACE VIEW runs AS
WITH sessions AS (
    SELECT *,
           ROW_NUMBER() OVER (
               PARTITION BY run_id
               ORDER BY finish_reason IN ('killed', 'lease_lost'), finished_at DESC NULLS LAST
           ) AS last_first
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
       s.depth, s.max_titles, s.refresh_seconds, s.as_of, s.source,
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

-- Every run's place in the timeline: an archive run at its as_of, a live run at its
-- start (archive and live runs make one history); position 1 is the oldest, the highest
-- is the run that saw IMDb latest.
CREATE OR REPLACE VIEW run_timeline AS
SELECT run_id, seed_key, COALESCE(as_of, started_at) AS timeline_at,
       ROW_NUMBER() OVER (ORDER BY COALESCE(as_of, started_at), started_at, run_id)
           AS position
FROM runs;

-- Consecutive runs over the same seeds, in timeline order.
CREATE OR REPLACE VIEW run_pairs AS
SELECT old_run_id, new_run_id
FROM (
    SELECT LAG(run_id) OVER (PARTITION BY seed_key ORDER BY position) AS old_run_id,
           run_id AS new_run_id
    FROM run_timeline
) AS p
WHERE old_run_id IS NOT NULL;

-- The edges standing in each run: its own pages' and, for a title it reused, those of the
-- page it reuses (run_fetches).
CREATE OR REPLACE VIEW run_more_like_this AS
SELECT f.run_id, m.tconst, m.similar_tconst, m.similar_primary_title, m.rank,
       m.run_id AS fetch_run_id, m.crawled_at, m.observed_at, m.source
FROM run_fetches AS f
JOIN more_like_this_raw AS m
  ON m.tconst = f.tconst AND m.run_id = f.fetch_run_id AND m.crawled_at = f.fetch_at;

-- A title's consecutive observations (by observed_at): what similarity_changes and
-- rating_changes compare.  The pairs of two runs are WHERE old_run_id = ... AND
-- new_run_id = ... (a title neither reused nor failed in between).
CREATE OR REPLACE VIEW observation_pairs AS
SELECT tconst, old_run_id, old_crawled_at, old_observed_at,
       new_run_id, new_crawled_at, new_observed_at
FROM (
    SELECT tconst,
           LAG(run_id) OVER w AS old_run_id,
           LAG(crawled_at) OVER w AS old_crawled_at,
           LAG(observed_at) OVER w AS old_observed_at,
           run_id AS new_run_id, crawled_at AS new_crawled_at, observed_at AS new_observed_at
    FROM observations
    WINDOW w AS (PARTITION BY tconst ORDER BY observed_at)
) AS p
WHERE old_run_id IS NOT NULL;

-- Edges added, removed or re-ranked between a title's consecutive observations (by
-- observed_at, live and archived alike; a reused title has no new observation).  The
-- two pages' edges are grouped per link (not a full outer join), so a filter on the pair
-- (old_run_id, new_run_id) is applied to observation_pairs, before the edges are read.
CREATE OR REPLACE VIEW similarity_changes AS
WITH pairs AS MATERIALIZED (SELECT * FROM observation_pairs),
edges AS (
    SELECT p.tconst, p.old_run_id, p.new_run_id, p.old_observed_at, p.new_observed_at,
           m.similar_tconst, m.rank, TRUE AS in_old
    FROM pairs AS p
    JOIN more_like_this_raw AS m
      ON m.tconst = p.tconst AND m.run_id = p.old_run_id AND m.crawled_at = p.old_crawled_at
    UNION ALL
    SELECT p.tconst, p.old_run_id, p.new_run_id, p.old_observed_at, p.new_observed_at,
           m.similar_tconst, m.rank, FALSE AS in_old
    FROM pairs AS p
    JOIN more_like_this_raw AS m
      ON m.tconst = p.tconst AND m.run_id = p.new_run_id AND m.crawled_at = p.new_crawled_at
),
links AS (
    SELECT tconst, similar_tconst, old_run_id, new_run_id, new_observed_at,
           ANY_VALUE(old_observed_at) AS old_observed_at,  -- one per new observation
           BOOL_OR(in_old) AS in_old, BOOL_OR(NOT in_old) AS in_new,
           MIN(CASE WHEN in_old THEN rank END) AS old_rank,
           MIN(CASE WHEN NOT in_old THEN rank END) AS new_rank
    FROM edges
    GROUP BY tconst, similar_tconst, old_run_id, new_run_id, new_observed_at
)
SELECT tconst, similar_tconst,
       CASE WHEN NOT in_old THEN 'added'
            WHEN NOT in_new THEN 'removed'
            ELSE 'rank_changed' END AS change,
       old_rank, new_rank, old_run_id, new_run_id, old_observed_at, new_observed_at
FROM links
WHERE NOT in_old OR NOT in_new OR old_rank IS DISTINCT FROM new_rank;

-- Ratings that changed between a title's consecutive observations: the moves of
-- ratings_history (average_rating; one that appears or disappears counts, null on that
-- side).
CREATE OR REPLACE VIEW rating_changes AS
SELECT p.tconst,
       o.average_rating AS old_average_rating, n.average_rating AS new_average_rating,
       o.num_votes AS old_num_votes, n.num_votes AS new_num_votes,
       p.old_run_id, p.new_run_id, p.old_observed_at, p.new_observed_at
FROM observation_pairs AS p
LEFT JOIN ratings_raw AS o
  ON o.tconst = p.tconst AND o.run_id = p.old_run_id AND o.crawled_at = p.old_crawled_at
LEFT JOIN ratings_raw AS n
  ON n.tconst = p.tconst AND n.run_id = p.new_run_id AND n.crawled_at = p.new_crawled_at
WHERE o.average_rating IS DISTINCT FROM n.average_rating;

-- Titles whose latest outcome (a page, a reuse, a merge or a failure), by observed_at,
-- is a failure: live and archive runs alike.  A reuse stands at the observation it reuses.
CREATE OR REPLACE VIEW failures_latest AS
WITH outcomes AS (
    SELECT tconst, run_id, crawled_at, observed_at, source, 'title' AS outcome,
           CAST(NULL AS VARCHAR) AS reason, CAST(NULL AS VARCHAR) AS detail,
           CAST(NULL AS INTEGER) AS http_status, CAST(NULL AS INTEGER) AS depth,
           CAST(NULL AS INTEGER) AS attempts, CAST(NULL AS VARCHAR) AS url
    FROM titles_raw
    UNION ALL
    SELECT u.tconst, u.run_id, u.crawled_at,
           COALESCE(t.observed_at, a.observed_at, u.crawled_at), COALESCE(t.source, a.source),
           'reused', NULL, NULL, NULL, NULL, NULL, NULL
    FROM reused_raw AS u
    LEFT JOIN titles_raw AS t
      ON t.tconst = u.tconst AND t.run_id = u.fetched_run_id AND t.crawled_at = u.fetched_at
    LEFT JOIN aliases_raw AS a
      ON a.tconst = u.tconst AND a.run_id = u.fetched_run_id AND a.crawled_at = u.fetched_at
    UNION ALL
    SELECT tconst, run_id, crawled_at, observed_at, source, 'alias',
           NULL, NULL, NULL, NULL, NULL, NULL
    FROM aliases_raw
    UNION ALL
    SELECT tconst, run_id, crawled_at, observed_at, source, 'failure', reason, detail,
           http_status, depth, attempts, url
    FROM failures_raw
    WHERE tconst IS NOT NULL
),
ranked AS (
    SELECT *,
           ROW_NUMBER() OVER (PARTITION BY tconst
                              ORDER BY observed_at DESC, crawled_at DESC, run_id DESC) AS rn
    FROM outcomes
)
SELECT tconst, reason, detail, http_status, attempts, depth, url, run_id, crawled_at,
       observed_at, source
FROM ranked
WHERE rn = 1 AND outcome = 'failure';
