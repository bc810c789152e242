"""One explicit Arrow schema per output table; the single source of column types.

Column names follow IMDb's datasets (tconst, nconst, primary_title,
average_rating, num_votes, ordering, category, characters, primary_name, ...).
Every field carries its description in the field metadata (``b"description"``),
and ``python -m pipelines.schemas`` renders them as the data dictionary
(``docs/data-dictionary.md``).

Rule: schemas only ever gain columns.  A removed column or a changed type breaks
readers of older files; ``tests/test_schemas.py`` pins the current ones.
"""

from __future__ import annotations

import pyarrow as pa

DESCRIPTION = b"description"
TIMESTAMP = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())


def _f(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={DESCRIPTION: description})


def _stamp() -> list[pa.Field]:
    return [
        _f("run_id", pa.string(), "Id of the crawl run that wrote the row.", nullable=False),
        _f(
            "crawled_at",
            TIMESTAMP,
            "When the page the row comes from was fetched (UTC).",
            nullable=False,
        ),
    ]


def _captured() -> pa.Field:
    return _f(
        "captured_at",
        TIMESTAMP,
        "-a as_of runs: when the archive captured the page the row comes from (UTC; the "
        "capture's Memento-Datetime); null for pages fetched from the live site.",
    )


SOURCE_TEXT = (
    "Where the page came from: live (the site, IMDB_BASE_URL), wayback (a Wayback Machine "
    "archive, -a as_of) or warc (WARC files, ARCHIVE_WARC)."
)


def _observed(what: str, otherwise: str = "") -> list[pa.Field]:
    """When IMDb showed what the row records, and where it was read: one timeline over
    live and archived pages (docs/timeline.md)."""
    return [
        _f(
            "observed_at",
            TIMESTAMP,
            f"When IMDb showed {what} (UTC): an archived page's capture time (captured_at), "
            f"a live page's fetch time (crawled_at){otherwise}. The views order a title's "
            "rows by it. Null in files written before it existed; the views fill it in "
            "(docs/timeline.md).",
        ),
        _f("source", pa.string(), SOURCE_TEXT + " Null in files written before it "
           "existed; the views fill it in (docs/timeline.md)."),
    ]


def _money(name: str, what: str) -> list[pa.Field]:
    return [
        _f(f"{name}_amount", pa.int64(), f"{what}, whole units of `{name}_currency`."),
        _f(f"{name}_currency", pa.string(), f"ISO 4217 code of `{name}_amount` (USD, EUR, ...)."),
    ]


TCONST = "IMDb title id, e.g. tt0050634."

TITLES = pa.schema(
    [
        _f("tconst", pa.string(), TCONST, nullable=False),
        _f("title_type", pa.string(), "IMDb titleType: movie, tvSeries, tvEpisode, ..."),
        _f("primary_title", pa.string(), "The title the page shows."),
        _f("original_title", pa.string(), "Title in the original language, when shown."),
        _f("is_adult", pa.bool_(), "Adult title, when the page tells."),
        _f("start_year", pa.int32(), "Release year, or first year of a series."),
        _f("end_year", pa.int32(), "Last year of a series; null otherwise."),
        _f("runtime_minutes", pa.int32(), "Runtime in minutes."),
        _f("genres", STRINGS, "Genres as English ids (Drama, Romance, ...), page order."),
        _f("certificate", pa.string(), "Certificate shown: Not Rated, R, 16, ..."),
        _f(
            "release_date",
            pa.date32(),
            "Release date shown; first day of the month or year when only those are known "
            "(see release_date_precision).",
        ),
        _f(
            "release_date_precision",
            pa.string(),
            "day, month or year: how much of release_date the page gave.",
        ),
        _f("release_country", pa.string(), "Country of that release date, as shown."),
        _f("release_country_code", pa.string(), "IMDb country code of release_country (SUHH)."),
        _f("countries_of_origin", STRINGS, "Countries of origin, names as shown."),
        _f("countries_of_origin_codes", STRINGS, "IMDb codes of countries_of_origin."),
        _f("spoken_languages", STRINGS, "Spoken languages, names as shown."),
        _f("spoken_language_codes", STRINGS, "Codes of spoken_languages (ru, en, ...)."),
        _f("also_known_as", STRINGS, "The alternative title(s) the page shows."),
        _f("plot", pa.string(), "Short plot outline under the title."),
        _f("storyline", pa.string(), "Longer summary from the Storyline section."),
        _f("storyline_author", pa.string(), "Author credited for the storyline."),
        _f("taglines", STRINGS, "Taglines shown."),
        _f("keywords", STRINGS, "Plot keywords the page lists (not all IMDb has)."),
        _f("keywords_total", pa.int32(), "How many keywords IMDb has for the title."),
        _f("filming_locations", STRINGS, "Filming locations shown."),
        _f("production_companies", STRINGS, "Production companies, names as shown."),
        _f("production_company_ids", STRINGS, "IMDb company ids (co0002663)."),
        *_money("budget", "Estimated production budget"),
        *_money("opening_weekend_us_canada", "Opening weekend gross in US & Canada"),
        *_money("gross_us_canada", "Gross in US & Canada"),
        *_money("gross_worldwide", "Gross worldwide"),
        _f("color", STRINGS, "Color info: Black and White, Color, ..."),
        _f("sound_mix", STRINGS, "Sound mix: Mono, Dolby Digital, ..."),
        _f("aspect_ratio", STRINGS, "Aspect ratios as shown: 1.37 : 1."),
        _f("awards_wins", pa.int32(), "Award wins in total (6 of '6 wins & 4 nominations')."),
        _f("awards_nominations", pa.int32(), "Award nominations in total, wins excluded."),
        _f("prestigious_award", pa.string(), "The award the page highlights: Oscar, Emmy, ..."),
        _f("prestigious_award_wins", pa.int32(), "Wins of prestigious_award."),
        _f("prestigious_award_nominations", pa.int32(), "Nominations of prestigious_award."),
        _f("user_review_count", pa.int64(), "Number of user reviews (rounded if shown as 1.2K)."),
        _f("critic_review_count", pa.int64(), "Number of critic reviews."),
        _f("metascore", pa.int32(), "Metacritic score, 0-100."),
        _f("poster_url", pa.string(), "URL of the poster image."),
        _f("url", pa.string(), "Canonical URL of the title page that was read."),
        _f(
            "layout",
            pa.string(),
            "Which page layer(s) the row was read from, e.g. next:above+main.",
        ),
        _f("depth", pa.int32(), "Breadth-first depth from the seeds (0 = a seed)."),
        *_stamp(),
        _captured(),
        *_observed("the page the row comes from"),
        _f(
            "full_credits",
            pa.string(),
            "-a credits=full: 'read' when the title's credits rows are those of its full "
            "credits page (/title/<tconst>/fullcredits/), else why that page failed "
            "(not_found, blocked, not_archived, ...: details in subpage_failures), the "
            "credits rows then being the title page's; null when the run did not ask for it "
            "(-a credits=page, the default).",
        ),
        _f(
            "full_credits_captured_at",
            TIMESTAMP,
            "-a credits=full in -a as_of runs: when the archive captured the full credits "
            "page (its own capture, found as the title page's is); null otherwise.",
        ),
    ]
)

RATINGS = pa.schema(
    [
        _f("tconst", pa.string(), TCONST, nullable=False),
        _f("average_rating", pa.float64(), "IMDb user rating, 1-10, as shown (one decimal)."),
        _f("num_votes", pa.int64(), "Number of votes; rounded when num_votes_abbreviated."),
        _f(
            "num_votes_abbreviated",
            pa.bool_(),
            "True when the page showed a rounded count (16K): num_votes is then approximate.",
        ),
        *_stamp(),
        _captured(),
        *_observed("the page the row comes from"),
    ]
)

CREDITS = pa.schema(
    [
        _f("tconst", pa.string(), TCONST, nullable=False),
        _f(
            "ordering",
            pa.int32(),
            "1-based billing order within its category on the page (IMDb's "
            "title.principals numbers across categories instead).",
        ),
        _f("nconst", pa.string(), "IMDb person id (nm0759967); null when the page links none."),
        _f(
            "category",
            pa.string(),
            "title.principals category: director, writer, actor, actress, self, ...; "
            "'cast' = a cast member the page does not mark actor or actress; "
            "'creator' = series creator.",
        ),
        _f("primary_name", pa.string(), "The person's name as shown, trimmed."),
        _f("characters", STRINGS, "Characters played (cast only)."),
        _f("credited_as", pa.string(), "Name in the credits when different: 'as S. Kharitonova'."),
        _f(
            "attributes",
            STRINGS,
            "Other notes of the credit: 'play \"Vecno zivye\"', screenplay, voice, ...",
        ),
        _f("uncredited", pa.bool_(), "True when the credit is marked uncredited."),
        *_stamp(),
        _captured(),
        *_observed("the page the row comes from"),
        _f(
            "credit_page",
            pa.string(),
            "The page the row was read from: title (the title page's top credits) or "
            "fullcredits (its full credits page, -a credits=full: every person it lists). A "
            "title's rows of one fetch all come from one page. Null in files written before "
            "it existed: title.",
        ),
        _f(
            "page_category",
            pa.string(),
            "fullcredits rows: the category (department) the page lists the person under, "
            "as credit_categories.category (cast for actor, actress, self, ... rows); null "
            "for title rows.",
        ),
        _f(
            "job",
            pa.string(),
            "fullcredits rows: the crew job as shown (associate producer, written by, "
            "digital compositor); null when the page shows none, and for the cast.",
        ),
        _f("episode_count", pa.int32(), "Series: episodes credited, where the page shows it."),
        _f("episode_start_year", pa.int32(), "Series: first year of those episodes."),
        _f("episode_end_year", pa.int32(), "Series: last year of those episodes, when "
           "they span several."),
    ]
)

CREDIT_CATEGORIES = pa.schema(
    [
        _f("tconst", pa.string(), TCONST, nullable=False),
        _f("position", pa.int32(), "1-based position of the category on the page."),
        _f(
            "category",
            pa.string(),
            "IMDb's id of the category (director, cast, visual_effects, ...); credits rows "
            "listed under it have it as page_category. A heading of an old page that maps "
            "to no id keeps its text.",
        ),
        _f("category_id", pa.string(), "The category's id exactly as the page gives it; "
           "null when it gives none (old pages' headings)."),
        _f("name", pa.string(), "The category's heading as shown: Visual Effects, Directed by."),
        _f(
            "listed",
            pa.int32(),
            "People (lines) the page lists in the category: credits rows of it.",
        ),
        _f(
            "total",
            pa.int32(),
            "How many people IMDb says the category has. The current page lists the whole "
            "cast but only a crew category's first 10 (it loads the rest with a script): "
            "listed < total says the list is partial (Visual Effects: 10 of 791). Old pages "
            "list everyone: total = listed.",
        ),
        _f("alphabetical_from", pa.int32(), "Cast: the ordering from which the rest of the "
           "cast is listed alphabetically, when the page says so."),
        _f("layout", pa.string(), "The page's layout: fullcredits-next (current), "
           "reference-next, fullcredits-legacy (before 2021)."),
        *_stamp(),
        _captured(),
        *_observed("the full credits page"),
    ]
)

MORE_LIKE_THIS = pa.schema(
    [
        _f("tconst", pa.string(), "The title whose page shows the link.", nullable=False),
        _f(
            "similar_tconst",
            pa.string(),
            "The title linked under 'More like this'.",
            nullable=False,
        ),
        _f("rank", pa.int32(), "1-based position of the card on the page."),
        _f("similar_primary_title", pa.string(), "Title shown on the card."),
        _f("similar_original_title", pa.string(), "Original title of the linked title."),
        _f("similar_title_type", pa.string(), "titleType of the linked title."),
        _f("similar_start_year", pa.int32(), "Year shown on the card."),
        _f("similar_average_rating", pa.float64(), "Rating shown on the card."),
        _f("similar_num_votes", pa.int64(), "Votes of the linked title, when known."),
        _f(
            "similar_num_votes_abbreviated",
            pa.bool_(),
            "True when similar_num_votes was shown rounded (16K).",
        ),
        *_stamp(),
        _captured(),
        *_observed("the page the row comes from"),
    ]
)

FAILURES = pa.schema(
    [
        _f("tconst", pa.string(), "Title that was scheduled but is not in titles."),
        _f("url", pa.string(), "URL that was requested."),
        _f("depth", pa.int32(), "Breadth-first depth from the seeds."),
        _f(
            "reason",
            pa.string(),
            "Why: blocked, not_found, http_503, timeout, wrong_title, ...",
        ),
        _f("http_status", pa.int32(), "HTTP status of the last attempt, if any."),
        _f("attempts", pa.int32(), "How many times it was tried."),
        *_stamp(),
        _f(
            "detail",
            pa.string(),
            "What was seen: the error text, 'page is about ttX', the block header, ...",
        ),
        _captured(),
        *_observed("the answer that failed", "; an archive run's failure without a "
                   "capture: the run's as_of"),
    ]
)

ALIASES = pa.schema(
    [
        _f("tconst", pa.string(), "Title id that was requested.", nullable=False),
        _f(
            "canonical_tconst",
            pa.string(),
            "Title id it redirected to (merged titles).",
            nullable=False,
        ),
        *_stamp(),
        _captured(),
        *_observed("the redirect", "; an archive run's redirect without a capture: the "
                   "run's as_of"),
    ]
)

SUBPAGE_FAILURES = pa.schema(
    [
        _f("tconst", pa.string(), "The title (a row of titles) whose sub-page failed.",
           nullable=False),
        _f("page", pa.string(), "The sub-page: fullcredits (-a credits=full)."),
        _f("url", pa.string(), "URL that was requested."),
        _f("reason", pa.string(), "Why, as in failures: not_found, blocked, not_archived, "
           "http_503, wrong_title, ... (not_fetched: the crawl stopped first)."),
        _f("detail", pa.string(), "What was seen, as in failures."),
        _f("http_status", pa.int32(), "HTTP status of the last attempt, if any."),
        _f("attempts", pa.int32(), "How many times it was tried."),
        _f("run_id", pa.string(), "Id of the crawl run that wrote the row.", nullable=False),
        _f("crawled_at", TIMESTAMP, "The title's crawled_at: the row belongs to that fetch.",
           nullable=False),
        _captured(),
        *_observed("the answer that failed", "; an archive run's failure without a "
                   "capture: the run's as_of"),
    ]
)

REUSED = pa.schema(
    [
        _f("tconst", pa.string(), "Title not fetched again: its last fetch was fresh enough.",
           nullable=False),
        _f("depth", pa.int32(), "Breadth-first depth from the seeds in this run."),
        _f("fetched_run_id", pa.string(), "Run whose fetch is reused (its rows hold the data)."),
        _f("fetched_at", TIMESTAMP, "When that run fetched the title (UTC)."),
        *_stamp(),
    ]
)

FIELD_COVERAGE = pa.schema(
    [
        _f("run_id", pa.string(), "The run whose fetched titles were measured.", nullable=False),
        _f("table_name", pa.string(), "titles, ratings, credits or more_like_this."),
        _f("column_name", pa.string(), "The column measured."),
        _f("titles", pa.int64(), "Titles the run fetched (the denominator)."),
        _f("with_value", pa.int64(), "Of those, titles with a value in the column."),
        _f("coverage", pa.float64(), "with_value / titles, 0-1."),
        _f("previous_coverage", pa.float64(),
           "The same share in the previous completed run, when there is one."),
        _f("drifted", pa.bool_(), "True when this column tripped the drift alarm."),
        _f("crawled_at", TIMESTAMP, "When this row was written (UTC).", nullable=False),
    ]
)

# crawl_runs: one row per session of a run (a resumed run adds one per session).
TABLE_COUNTS = ("titles", "ratings", "credits", "more_like_this", "failures", "aliases")
CRAWL_RUNS = pa.schema(
    [
        _f("run_id", pa.string(), "Id of the crawl run.", nullable=False),
        _f("started_at", TIMESTAMP, "When the run started (UTC)."),
        _f("finished_at", TIMESTAMP,
           "When this session of the run closed (UTC); null for a session killed."),
        _f("arguments", pa.string(), "Crawl arguments (-a name=value) as a JSON object."),
        _f("seeds", STRINGS, "Seed tconsts."),
        _f("depth", pa.int32(), "Maximum breadth-first depth asked for."),
        _f("max_titles", pa.int64(), "Maximum number of titles asked for."),
        _f("pages", pa.int64(), "Responses received in this session."),
        _f("items", pa.int64(), "Items scraped in this session."),
        _f("errors", pa.int64(), "Errors logged in this session."),
        _f(
            "finish_reason",
            pa.string(),
            "Why the session closed: finished, shutdown (Ctrl-C), closespider_*, ...; "
            "killed: it died without closing (recorded by the next run in OUTPUT_DIR); "
            "lease_lost: a worker of a shared crawl taken for dead while stalled.",
        ),
        *[
            _f(f"{t}_rows", pa.int64(), f"Rows committed to {t} in this session.")
            for t in TABLE_COUNTS
        ],
        _f("crawled_at", TIMESTAMP, "When this row was written (UTC).", nullable=False),
        _f("error", pa.string(), "Why the session failed, in one line; null when it did not."),
        _f(
            "invalid_links",
            pa.int64(),
            "'More like this' cards whose id is not a tconst: dropped, never scheduled.",
        ),
        _f("seeds_over_limit", pa.int64(), "Seeds not scheduled because of max_titles."),
        _f(
            "titles_over_limit",
            pa.int64(),
            "Linked or merged-into titles not scheduled because of max_titles (whole run).",
        ),
        _f("reused_rows", pa.int64(), "Rows committed to reused in this session."),
        _f("refresh_seconds", pa.int64(), "The refresh age asked for (-a refresh), seconds."),
        _f("drifted", pa.bool_(),
           "True when field coverage fell sharply against the previous completed run."),
        _f("drift", pa.string(), "The fields that drifted with both figures, in one line."),
        _f("worker", pa.string(), "The worker that wrote this session's rows, in a crawl "
           "shared by many (FRONTIER_URL); null for a crawl in one process."),
        _f("as_of", TIMESTAMP,
           "-a as_of: the instant whose nearest captures were read (UTC; the start of the "
           "year, month or day given); null for a crawl of the live site."),
        _f("source", pa.string(), SOURCE_TEXT.replace("the page came", "the run's pages came")
           + " Null in rows written before it existed: wayback when as_of is set, else live."),
        _f("warc_damaged_records", pa.int64(),
           "ARCHIVE_WARC records skipped as damaged in this session (a header past "
           "ARCHIVE_WARC_MAX_HEADER, a record cut short, bytes that are no record), each "
           "named in the log with its file and offset; null when no WARC file was read."),
        _f("nul_removed", pa.int64(),
           "NUL characters removed from the text of this session's title pages (never "
           "text, and a cut in many readers); null in rows written before it existed."),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {
    "titles": TITLES,
    "ratings": RATINGS,
    "credits": CREDITS,
    "credit_categories": CREDIT_CATEGORIES,
    "more_like_this": MORE_LIKE_THIS,
    "failures": FAILURES,
    "subpage_failures": SUBPAGE_FAILURES,
    "aliases": ALIASES,
    "reused": REUSED,
    "field_coverage": FIELD_COVERAGE,
    "crawl_runs": CRAWL_RUNS,
}

# --- IMDb's daily dataset files (crawler.spiders.imdb_datasets, pipelines.imdb_datasets) ---
# One table per file, IMDb's columns in snake_case, then the snapshot's stamp.  Kept in a
# block of their own; SCHEMAS takes them at the end, so every reader (views, recovery, the
# data dictionary) knows them.


def _snapshot() -> list[pa.Field]:
    return [
        _f("snapshot_date", pa.date32(), "The file's Last-Modified day (UTC); the download "
           "day when the server sent none.", nullable=False),
        _f("snapshot_at", TIMESTAMP, "The file's Last-Modified instant (UTC); the download "
           "time when the server sent none.", nullable=False),
        _f("run_id", pa.string(), "Id of the imdb_datasets run that wrote the row.",
           nullable=False),
        _f("crawled_at", TIMESTAMP, "When the file was downloaded (UTC).", nullable=False),
    ]


NCONST = "IMDb person id, e.g. nm0759967."
IMDB_TITLE_RATINGS = pa.schema([
    _f("tconst", pa.string(), TCONST, nullable=False),
    _f("average_rating", pa.float64(), "averageRating: weighted average of the user ratings."),
    _f("num_votes", pa.int64(), "numVotes: votes the title received."),
    *_snapshot(),
])
IMDB_TITLE_BASICS = pa.schema([
    _f("tconst", pa.string(), TCONST, nullable=False),
    _f("title_type", pa.string(), "titleType: movie, short, tvSeries, tvEpisode, video, ..."),
    _f("primary_title", pa.string(), "primaryTitle: the title used on the site."),
    _f("original_title", pa.string(), "originalTitle: the title in the original language."),
    _f("is_adult", pa.bool_(), "isAdult: true for an adult title."),
    _f("start_year", pa.int32(), "startYear: release year, or first year of a series."),
    _f("end_year", pa.int32(), "endYear: last year of a series; null otherwise."),
    _f("runtime_minutes", pa.int32(), "runtimeMinutes: primary runtime in minutes."),
    _f("genres", STRINGS, "genres: up to three genres, file order."),
    *_snapshot(),
])
IMDB_TITLE_PRINCIPALS = pa.schema([
    _f("tconst", pa.string(), TCONST, nullable=False),
    _f("ordering", pa.int32(), "ordering: the row's number among the title's principals."),
    _f("nconst", pa.string(), NCONST),
    _f("category", pa.string(), "category: the job category (actor, actress, director, ...)."),
    _f("job", pa.string(), "job: the specific job title, when known."),
    _f("characters", STRINGS, "characters: the characters played (the file's JSON array)."),
    *_snapshot(),
])
IMDB_TITLE_CREW = pa.schema([
    _f("tconst", pa.string(), TCONST, nullable=False),
    _f("directors", STRINGS, "directors: nconsts of the title's directors."),
    _f("writers", STRINGS, "writers: nconsts of the title's writers."),
    *_snapshot(),
])
IMDB_TITLE_AKAS = pa.schema([
    _f("tconst", pa.string(), "titleId: the title this aka belongs to (a tconst).",
       nullable=False),
    _f("ordering", pa.int32(), "ordering: the row's number among the title's akas."),
    _f("title", pa.string(), "title: the localized title."),
    _f("region", pa.string(), "region: the region of this version (US, DE, ...)."),
    _f("language", pa.string(), "language: the language of the title."),
    _f("types", STRINGS, "types: alternative, dvd, festival, tv, video, working, original, "
       "imdbDisplay, ..."),
    _f("attributes", STRINGS, "attributes: other terms describing this title."),
    _f("is_original_title", pa.bool_(), "isOriginalTitle: true for the original title."),
    *_snapshot(),
])
IMDB_TITLE_EPISODE = pa.schema([
    _f("tconst", pa.string(), "The episode's tconst.", nullable=False),
    _f("parent_tconst", pa.string(), "parentTconst: the series the episode belongs to."),
    _f("season_number", pa.int32(), "seasonNumber: the season of the episode."),
    _f("episode_number", pa.int32(), "episodeNumber: the episode's number in its season."),
    *_snapshot(),
])
IMDB_NAME_BASICS = pa.schema([
    _f("nconst", pa.string(), NCONST, nullable=False),
    _f("primary_name", pa.string(), "primaryName: the name the person is most often credited "
       "as."),
    _f("birth_year", pa.int32(), "birthYear."),
    _f("death_year", pa.int32(), "deathYear; null when alive or unknown."),
    _f("primary_profession", STRINGS, "primaryProfession: the person's top-3 professions."),
    _f("known_for_titles", STRINGS, "knownForTitles: tconsts the person is known for."),
    *_snapshot(),
])
# One row per file a run asked for, committed with that file's snapshot (or alone).
IMDB_DATASET_RUNS = pa.schema([
    _f("run_id", pa.string(), "Id of the imdb_datasets run.", nullable=False),
    _f("file", pa.string(), "IMDb's file name: title.ratings, title.basics, ..."),
    _f("table_name", pa.string(), "The table the file's rows go to."),
    _f("url", pa.string(), "URL that was requested."),
    _f("titles", pa.string(), "-a titles: graph (the crawl's titles only) or all."),
    _f("outcome", pa.string(), "downloaded (a new snapshot), unchanged (HTTP 304: nothing "
       "written) or failed."),
    _f("detail", pa.string(), "Why it failed, in one line; null otherwise."),
    _f("http_status", pa.int32(), "HTTP status of the answer, if any."),
    _f("etag", pa.string(), "The file's ETag (validator for the next run's If-None-Match)."),
    _f("last_modified", TIMESTAMP, "The file's Last-Modified (the next run's "
       "If-Modified-Since)."),
    _f("snapshot_date", pa.date32(), "snapshot_date of the rows written."),
    _f("snapshot_at", TIMESTAMP, "snapshot_at of the rows written."),
    _f("rows_read", pa.int64(), "Data rows in the file."),
    _f("rows", pa.int64(), "Rows written (with -a titles=graph: the graph's only)."),
    _f("bytes", pa.int64(), "Bytes downloaded (compressed)."),
    _f("decompressed_bytes", pa.int64(), "Bytes of the file once decompressed."),
    _f("started_at", TIMESTAMP, "When the run started (UTC)."),
    _f("crawled_at", TIMESTAMP, "When this row was written (UTC).", nullable=False),
])
DATASET_SCHEMAS: dict[str, pa.Schema] = {
    "imdb_title_ratings": IMDB_TITLE_RATINGS,
    "imdb_title_basics": IMDB_TITLE_BASICS,
    "imdb_title_principals": IMDB_TITLE_PRINCIPALS,
    "imdb_title_crew": IMDB_TITLE_CREW,
    "imdb_title_akas": IMDB_TITLE_AKAS,
    "imdb_title_episode": IMDB_TITLE_EPISODE,
    "imdb_name_basics": IMDB_NAME_BASICS,
    "imdb_dataset_runs": IMDB_DATASET_RUNS,
}
SCHEMAS.update(DATASET_SCHEMAS)
# --- end of IMDb's daily dataset files ------------------------------------------------------

PARTITION_NOTE = (
    "Files are laid out as `<table>/crawl_date=YYYY-MM-DD/<run_id>-<chunk>.parquet` "
    "(`<run_id>.<worker>-<chunk>.parquet` for a worker of a shared crawl); `crawl_date` "
    "(UTC date a chunk was started) is a hive partition column, read from the "
    "path, not stored in the files."
)


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t):
        return f"list<{_type_name(t.value_type)}>"
    return str(t)


def render_markdown() -> str:
    """The data dictionary: one table of columns per schema."""
    lines = [
        "# Data dictionary",
        "",
        "Generated by `python -m pipelines.schemas` from `pipelines/schemas.py`; do not edit.",
        "",
        PARTITION_NOTE,
        "",
    ]
    for name, schema in SCHEMAS.items():
        lines += [f"## {name}", "", "| column | type | null | description |", "|---|---|---|---|"]
        for field in schema:
            desc = (field.metadata or {}).get(DESCRIPTION, b"").decode().replace("|", "\\|")
            null = "yes" if field.nullable else "no"
            lines.append(f"| `{field.name}` | `{_type_name(field.type)}` | {null} | {desc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
