"""Records that the extraction layer returns: the contract between the page
parsers (``crawler.extraction``), the spider and the pipelines.  The test
mirror (the top-level ``mirror`` package, not part of the crawler) renders them
back into pages.

No Scrapy import here: records are plain dicts described by ``TypedDict`` so
that extraction can be tested and benchmarked on its own.

Values are *as found on the page*.  A field read from ``__NEXT_DATA__`` JSON is
already a number (``num_votes=16123``); the same field read from the HTML is
the string the page shows (``num_votes="16K"``).  The pipelines in
``pipelines/`` turn both into the typed, uniform values of the dataset.
Missing facts are ``None`` (or an empty list), never a guess.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class Outcome(StrEnum):
    """Which outcome table a scheduled title ends in: its ``outcome`` value in items,
    frontiers (in process and in Redis) and the history of earlier runs."""

    TITLE = "title"  # a title page: a row of ``titles``
    FAILURE = "failure"  # a row of ``failures``
    ALIAS = "alias"  # a merge into another title: a row of ``aliases``
    REUSED = "reused"  # not fetched again (-a refresh): a row of ``reused``


# ``titles.full_credits`` of a title whose credits rows are its full credits page's
# (-a credits=full); else it holds why that page failed, or null (not asked for).
FULL_CREDITS_READ = "read"


class PageKind(StrEnum):
    """What a fetched page turned out to be (decided before anything is read)."""

    TITLE = "title"  # a title page of the title the URL asked for
    CHALLENGE = "challenge"  # AWS WAF challenge (HTTP 202): a block, not a page
    WRONG_TITLE = "wrong_title"  # a title page, but of another tconst
    EMPTY = "empty"  # no body, or only whitespace
    TRUNCATED = "truncated"  # body cut off (no closing </html>, broken JSON)
    OTHER = "other"  # anything else (error page, non-HTML, unknown layout)
    CREDITS = "credits"  # a full credits (or /reference) page of the title the URL asked for


class Money(TypedDict):
    """An amount of money as the JSON carries it; HTML gives ``"$17,923"``."""

    amount: int
    currency: str  # ISO 4217, e.g. "USD"


class CreditRecord(TypedDict, total=False):
    """One person credited on the title page, in page order."""

    category: str  # "director" | "writer" | "creator" | "actor" | "actress" | "cast"
    ordering: int  # 1-based billing order within its category, as on the page
    nconst: str | None  # "nm0759967"; None when the page links no person id
    name: str  # the person's name as shown (untrimmed when from HTML)
    characters: list[str]  # character names (cast only)
    notes: list[str]  # raw notes: "as S. Kharitonova", "uncredited", 'play "Vecno zivye"'


class FullCreditRecord(TypedDict, total=False):
    """One line of a full credits page (or a /reference page's credits), in page order.

    Field names follow :class:`CreditRecord` and the ``credits`` table; the notes are
    already split (``credited_as``, ``uncredited``, ``attributes``) as the pipelines would.
    """

    category: str  # IMDb's category id: "director", "visual_effects"; cast: actor/actress/cast
    ordering: int  # 1-based position within its category on the page (billing order)
    nconst: str | None  # None when the page links no person id; never invented
    name: str  # the person's name as shown
    characters: list[str]  # cast only
    job: str | None  # crew job as shown: "associate producer", "written by"; None if none
    credited_as: str | None  # "Alan K.W. Tang" from "(as Alan K.W. Tang)"
    attributes: list[str]  # the other notes in page order: "voice", "produced by"
    uncredited: bool
    episode_count: int | None  # series: episodes credited, where the page shows it
    episode_start_year: int | None
    episode_end_year: int | None


class CreditCategoryRecord(TypedDict, total=False):
    """One category (department) of a full credits page and how much of it is listed."""

    category: str  # IMDb's id ("visual_effects"); the page's own id when it is unknown
    category_id: str | None  # the id exactly as the page gives it; None if none (old headings)
    name: str | None  # its heading as shown: "Visual Effects", "Visual Effects by"
    listed: int  # people (lines) the page lists in it
    total: int | None  # how many IMDb says it has (section.total); legacy pages: = listed
    alphabetical_from: int | None  # ordering from which the cast is listed alphabetically


class SimilarTitleRecord(TypedDict, total=False):
    """One card of the "More like this" strip, in page order."""

    rank: int  # 1-based position on the page
    tconst: str
    primary_title: str | None  # the title the card shows
    original_title: str | None
    title_type: str | None  # IMDb titleType id: "movie", "tvSeries", ...
    start_year: int | None
    end_year: int | None
    average_rating: float | str | None  # 7.9 (JSON) or "7.9" (HTML)
    num_votes: int | str | None
    genres: list[str]


class TitleRecord(TypedDict, total=False):
    """Everything a title page shows, in IMDb dataset vocabulary where it has one."""

    tconst: str
    url: str
    layout: str  # which layer(s) it came from, e.g. "next:above+main", "legacy"
    title_type: str | None  # "movie", "tvSeries", "tvEpisode", "tvMiniSeries", ...
    primary_title: str | None
    original_title: str | None
    is_adult: bool | None
    start_year: int | None
    end_year: int | None
    runtime_minutes: int | str | None  # 95 (JSON seconds // 60) or "1h 35m" (HTML)
    genres: list[str]  # English genre ids ("Drama"), whatever the page language
    certificate: str | None  # "Not Rated", "R", "16"
    release_date: str | None  # ISO "1957-10-12"; "1957-10" / "1957" when partial
    release_country: str | None  # "Soviet Union"
    release_country_code: str | None  # "SUHH"
    countries_of_origin: list[str]  # names as shown: ["Soviet Union"]
    countries_of_origin_codes: list[str]  # ["SUHH"]
    spoken_languages: list[str]  # ["Russian"]
    spoken_language_codes: list[str]  # ["ru"]
    also_known_as: list[str]  # the AKA(s) the page shows
    plot: str | None  # the short outline under the title
    storyline: str | None  # the longer summary in "Storyline"
    storyline_author: str | None  # "Nick Riganas"
    taglines: list[str]
    keywords: list[str]  # the keywords the page lists
    keywords_total: int | None  # "87 more" + listed -> total the page knows of
    filming_locations: list[str]
    production_companies: list[str]
    production_company_ids: list[str]  # "co0002663"
    budget: Money | str | None
    opening_weekend_us_canada: Money | str | None
    gross_us_canada: Money | str | None
    gross_worldwide: Money | str | None
    color: list[str]  # ["Black and White"]
    sound_mix: list[str]  # ["Mono"]
    aspect_ratio: list[str]  # ["1.37 : 1"]
    awards_wins: int | None  # 6
    awards_nominations: int | None  # 4
    prestigious_award: str | None  # "Oscar"
    prestigious_award_wins: int | None
    prestigious_award_nominations: int | None
    user_review_count: int | str | None  # 83
    critic_review_count: int | str | None  # 73
    metascore: int | None
    poster_url: str | None
    average_rating: float | str | None  # 8.3 (JSON) or "8.3/10" (HTML)
    num_votes: int | str | None  # 16123 (JSON) or "16K" (HTML)
    credits: list[CreditRecord]
    more_like_this: list[SimilarTitleRecord]


class PageResult(TypedDict):
    """The outcome of reading one fetched page."""

    kind: PageKind
    reason: str | None  # why it is not a title page (None for TITLE)
    tconst: str | None  # the tconst the URL asked for
    found_tconst: str | None  # the tconst the page is about, when it tells
    title: TitleRecord | None  # only for PageKind.TITLE


class FullCreditsResult(TypedDict):
    """The outcome of reading one fetched full credits (or /reference) page."""

    kind: PageKind  # CREDITS when read; else why not (challenge, truncated, other, ...)
    layout: str | None  # "fullcredits-next" | "reference-next" | "fullcredits-legacy"
    reason: str | None  # why it is not a credits page (None for CREDITS)
    tconst: str | None  # the tconst the URL asked for
    found_tconst: str | None  # the tconst the page is about, when it tells
    credits: list[FullCreditRecord]  # empty unless CREDITS
    categories: list[CreditCategoryRecord]  # in page order; empty unless CREDITS


# TitleRecord fields that hold lists of strings (never None: empty when the page has none).
TITLE_LIST_FIELDS: tuple[str, ...] = (
    "genres",
    "countries_of_origin",
    "countries_of_origin_codes",
    "spoken_languages",
    "spoken_language_codes",
    "also_known_as",
    "taglines",
    "keywords",
    "filming_locations",
    "production_companies",
    "production_company_ids",
    "color",
    "sound_mix",
    "aspect_ratio",
)
