"""The ``__NEXT_DATA__`` layer: one merged view of the title over IMDb's three eras.

Eras seen on real pages:
- 2021-22 "urql": ``props.pageProps.urqlState`` (or ``props.urqlState``), a cache of GraphQL
  answers; the ones about the page carry ``data.title`` with the page's id.
- early 2022: ``pageProps.aboveTheFoldData`` plus the urql cache for the rest.
- late 2022+: ``pageProps.aboveTheFoldData`` + ``pageProps.mainColumnData``.
All title objects about the page are deep-merged into one dict, read by the tables below.
"""

from __future__ import annotations

import html
import re
from typing import Any

import orjson

from crawler.extraction.body import utf8_or_raise
from crawler.ids import NCONST_PATTERN, is_tconst
from crawler.records import CreditRecord, SimilarTitleRecord

NEXT_OPEN = '<script id="__NEXT_DATA__"'
_NEXT_OPEN_BYTES = NEXT_OPEN.encode()
_TAG_RE = re.compile(r"<[^>]+>")
_NCONST_RE = re.compile(NCONST_PATTERN)


def locate(page: str | bytes) -> tuple[int, str | memoryview | None]:
    """(offset of the ``__NEXT_DATA__`` tag in ``page``, -1 if absent; its JSON source, None if
    absent or unclosed).  ``page`` is a ``Body.page``: text, or UTF-8 bytes that orjson then
    parses with no decoding.

    The tag is searched from the end: it follows the markup, and Next.js escapes "<" inside
    its JSON, so the last copy is the real one (an earlier one can only be page text, e.g.
    inside JSON-LD).
    """
    if isinstance(page, bytes):
        return _locate(page, _NEXT_OPEN_BYTES, b">", b"<", b"</script>")
    return _locate(page, NEXT_OPEN, ">", "<", "</script>")


def _locate(page: Any, tag: Any, gt: Any, lt: Any, close: Any) -> tuple[int, Any]:
    start = page.rfind(tag)
    if start < 0:
        return -1, None
    body = page.find(gt, start)
    end = -1
    if body >= 0:
        # With "<" escaped in the JSON, the first "<" after it is normally the closing tag:
        # one memchr instead of a substring search over ~200 KB.
        end = page.find(lt, body)
        if end >= 0 and not page.startswith(close, end):
            end = page.find(close, end)
    if end < 0:
        return start, None
    source = memoryview(page) if isinstance(page, bytes) else page
    return start, source[body + 1 : end]


def load(source: str | memoryview | None) -> dict | None:
    """The parsed JSON, or None when it is cut off or broken."""
    if source is None:
        return None
    try:
        data = orjson.loads(source)
    except ValueError:  # orjson.JSONDecodeError, also for nesting deeper than it allows
        utf8_or_raise(source)
        return None
    return data if isinstance(data, dict) else None


def _merge(into: dict, new: dict) -> None:
    """Deep-merge ``new`` into ``into``: fill what is missing, keep what is already there."""
    for key, value in new.items():
        old = into.get(key)
        if old is None or old == [] or old == {}:
            into[key] = value
        elif isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            if len(value) > len(old):
                into[key] = value
            elif len(value) == len(old) and all(
                isinstance(a, dict) and isinstance(b, dict)
                for a, b in zip(old, value, strict=False)
            ):
                for a, b in zip(old, value, strict=False):
                    _merge(a, b)


def title_view(data: dict, url_tconst: str | None) -> tuple[dict, str | None, list[str]]:
    """(merged title dict, tconst the page is about, eras used) from parsed ``__NEXT_DATA__``."""
    props = data.get("props")
    props = props if isinstance(props, dict) else {}
    pp = props.get("pageProps")
    pp = pp if isinstance(pp, dict) else {}
    # Ids are read only when they are tconsts ("tt" + ASCII digits), as everywhere else.
    pp_tconst = pp.get("tconst") if is_tconst(pp.get("tconst")) else None
    page_id = pp_tconst
    merged: dict = {}
    used: list[str] = []
    for key, short in (("aboveTheFoldData", "above"), ("mainColumnData", "main")):
        obj = pp.get(key)
        if isinstance(obj, dict):
            page_id = page_id or obj.get("id")
            if obj.get("id") in (None, page_id):
                _merge(merged, obj)
                used.append(short)
    page_id = page_id or url_tconst
    urql = pp.get("urqlState") or props.get("urqlState")
    if isinstance(urql, dict):
        found = False
        for entry in urql.values():
            payload = entry.get("data") if isinstance(entry, dict) else None
            if isinstance(payload, str):
                try:
                    payload = orjson.loads(payload)
                except ValueError:
                    continue
            title = payload.get("title") if isinstance(payload, dict) else None
            # Some cached answers omit the id (e.g. countriesOfOrigin); they are the page's own.
            if isinstance(title, dict) and title.get("id", page_id) == page_id:
                _merge(merged, title)
                found = True
        if found:
            used.append("urql")
    found_id = merged.get("id") if is_tconst(merged.get("id")) else None
    return merged, found_id or (pp_tconst if used else None), used


def dig(obj: Any, *path: str | int) -> Any:
    """``obj[path[0]][path[1]]...``, or None where a step is missing or of the wrong type."""
    # type() rather than isinstance(): parsed JSON holds exact dicts and lists, and this
    # runs about 230 times a page.
    for step in path:
        kind = type(obj)
        if kind is dict:
            obj = obj.get(step)  # JSON keys are strings: an index step finds nothing here
        elif kind is list and type(step) is int and 0 <= step < len(obj):
            obj = obj[step]
        else:
            return None
    return obj


def plain(value: Any) -> str | None:
    """Text of a ``plaidHtml``/``plainText`` value as the page shows it."""
    if not isinstance(value, str):
        return None
    # Tags are stripped only up to the last ">": past it a "<" has no ">" to end a tag, and
    # the regex, retried at each such "<", would be quadratic on "<<<<...".
    cut = value.rfind(">") + 1
    return html.unescape(_TAG_RE.sub("", value[:cut]) + value[cut:]).strip() or None


# Scalar fields: TitleRecord field -> path in the merged title.
SCALARS: dict[str, tuple[str, ...]] = {
    "primary_title": ("titleText", "text"),
    "original_title": ("originalTitleText", "text"),
    "title_type": ("titleType", "id"),
    "is_adult": ("isAdult",),
    "start_year": ("releaseYear", "year"),
    "end_year": ("releaseYear", "endYear"),
    "certificate": ("certificate", "rating"),
    "release_country": ("releaseDate", "country", "text"),
    "release_country_code": ("releaseDate", "country", "id"),
    "keywords_total": ("keywords", "total"),
    "budget": ("productionBudget", "budget"),
    "opening_weekend_us_canada": ("openingWeekendGross", "gross", "total"),
    "gross_us_canada": ("lifetimeGross", "total"),
    "gross_worldwide": ("worldwideGross", "total"),
    "awards_wins": ("wins", "total"),
    "awards_nominations": ("nominations", "total"),
    "prestigious_award": ("prestigiousAwardSummary", "award", "text"),
    "prestigious_award_wins": ("prestigiousAwardSummary", "wins"),
    "prestigious_award_nominations": ("prestigiousAwardSummary", "nominations"),
    "user_review_count": ("reviews", "total"),
    "critic_review_count": ("criticReviewsTotal", "total"),
    "metascore": ("metacritic", "metascore", "score"),
    "poster_url": ("primaryImage", "url"),
    "average_rating": ("ratingsSummary", "aggregateRating"),
    "num_votes": ("ratingsSummary", "voteCount"),
}

# List fields: TitleRecord field -> (path to the list, path inside each item).
LISTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "genres": (("genres", "genres"), ("id",)),
    "countries_of_origin": (("countriesOfOrigin", "countries"), ("text",)),
    "countries_of_origin_codes": (("countriesOfOrigin", "countries"), ("id",)),
    "spoken_languages": (("spokenLanguages", "spokenLanguages"), ("text",)),
    "spoken_language_codes": (("spokenLanguages", "spokenLanguages"), ("id",)),
    "also_known_as": (("akas", "edges"), ("node", "text")),
    "keywords": (("keywords", "edges"), ("node", "text")),
    "taglines": (("taglines", "edges"), ("node", "text")),
    "filming_locations": (("filmingLocations", "edges"), ("node", "text")),
    "production_companies": (("production", "edges"), ("node", "company", "companyText", "text")),
    "production_company_ids": (("production", "edges"), ("node", "company", "id")),
    "color": (("technicalSpecifications", "colorations", "items"), ("text",)),
    "sound_mix": (("technicalSpecifications", "soundMixes", "items"), ("text",)),
    "aspect_ratio": (("technicalSpecifications", "aspectRatios", "items"), ("aspectRatio",)),
}


def _list(title: dict, outer: tuple[str, ...], inner: tuple[str, ...]) -> list | None:
    items = dig(title, *outer)
    if not isinstance(items, list):
        return None
    values = [dig(item, *inner) for item in items]
    return [v for v in values if v is not None and v != ""]


def read_fields(title: dict) -> dict[str, Any]:
    """Every TitleRecord field the merged title carries (absent ones are left out)."""
    out: dict[str, Any] = {}
    for field, path in SCALARS.items():
        value = dig(title, *path)
        if isinstance(value, dict):  # Money: keep the contract's keys, drop __typename
            value = {k: value.get(k) for k in ("amount", "currency")}
        if value is not None:
            out[field] = value
    for field, (outer, inner) in LISTS.items():
        values = _list(title, outer, inner)
        if values is not None:
            out[field] = values
    if "keywords" not in out or not out["keywords"]:
        values = _list(title, ("storylineKeywords", "edges"), ("node", "text"))
        if values:
            out["keywords"] = values
            out.setdefault("keywords_total", dig(title, "storylineKeywords", "total"))
    seconds = dig(title, "runtime", "seconds")
    if isinstance(seconds, int):
        out["runtime_minutes"] = seconds // 60
    date = dig(title, "releaseDate")
    if isinstance(date, dict) and isinstance(date.get("year"), int):
        parts = [f"{date['year']:04d}"]
        for key in ("month", "day"):
            if not isinstance(date.get(key), int):
                break
            parts.append(f"{date[key]:02d}")
        out["release_date"] = "-".join(parts)
    plot = plain(dig(title, "plot", "plotText", "plainText"))
    if plot is None:
        plot = plain(dig(title, "outlines", "edges", 0, "node", "plotText", "plaidHtml"))
    if plot is not None:
        out["plot"] = plot
    summary = dig(title, "summaries", "edges", 0, "node")
    if isinstance(summary, dict):
        out["storyline"] = plain(dig(summary, "plotText", "plaidHtml"))
        out["storyline_author"] = summary.get("author") or None
    credits = read_credits(title)
    if credits is not None:
        out["credits"] = credits
    similar = read_more_like_this(title)
    if similar is not None:
        out["more_like_this"] = similar
    return out


def _notes(credit: dict) -> list[str]:
    attrs = credit.get("attributes")
    if not isinstance(attrs, list):
        return []
    return [a["text"] for a in attrs if isinstance(a, dict) and isinstance(a.get("text"), str)]


def _person(credit: dict) -> tuple[str | None, str | None]:
    nconst = dig(credit, "name", "id")
    name = dig(credit, "name", "nameText", "text")
    return (nconst if isinstance(nconst, str) and _NCONST_RE.fullmatch(nconst) else None), name


# Crew groups in the merged title -> category; principalCredits category ids map the same way.
_CREW = (("directors", "director"), ("writers", "writer"), ("creators", "creator"))


def read_credits(title: dict) -> list[CreditRecord] | None:
    """Directors, writers, creators, then top cast, each numbered in billing order."""
    credits: list[CreditRecord] = []
    seen_any = False
    principal = title.get("principalCredits")
    for key, category in _CREW:
        groups = title.get(key)
        if not groups and isinstance(principal, list):
            groups = [g for g in principal if dig(g, "category", "id") == category]
        if isinstance(groups, list):
            seen_any = True
            credits += _crew_credits(category, groups)
    edges = dig(title, "cast", "edges")
    if isinstance(edges, list):
        seen_any = True
        credits += _cast_credits(edges)
    return credits if seen_any else None


def _crew_credits(category: str, groups: list) -> list[CreditRecord]:
    """The people of one crew category's groups, numbered across them."""
    credits: list[CreditRecord] = []
    for group in groups:
        for credit in dig(group, "credits") or []:
            if not isinstance(credit, dict):
                continue
            nconst, name = _person(credit)
            if name is None:
                continue
            credits.append(
                CreditRecord(
                    category=category,
                    ordering=len(credits) + 1,
                    nconst=nconst,
                    name=name,
                    characters=[],
                    notes=_notes(credit),
                )
            )
    return credits


def _cast_credits(edges: list) -> list[CreditRecord]:
    # The cast is one billing list whatever the category (actor/actress), as the page shows.
    credits: list[CreditRecord] = []
    for edge in edges:
        node = dig(edge, "node")
        if not isinstance(node, dict):
            continue
        nconst, name = _person(node)
        if name is None:
            continue
        chars = node.get("characters")
        characters = [
            c["name"] for c in chars or [] if isinstance(c, dict) and isinstance(c.get("name"), str)
        ]
        category = dig(node, "category", "id")
        credits.append(
            CreditRecord(
                category=category if isinstance(category, str) else "cast",
                ordering=len(credits) + 1,
                nconst=nconst,
                name=name,
                characters=characters,
                notes=_notes(node),
            )
        )
    return credits


def read_more_like_this(title: dict) -> list[SimilarTitleRecord] | None:
    edges = dig(title, "moreLikeThisTitles", "edges")
    if not isinstance(edges, list):
        return None
    cards: list[SimilarTitleRecord] = []
    for edge in edges:
        node = dig(edge, "node")
        tconst = dig(node, "id")
        if not isinstance(tconst, str):
            continue  # no id at all: not a card
        # An id that is not a tconst is kept as found: the crawl drops and counts it.
        genres = dig(node, "titleGenres", "genres")
        cards.append(
            SimilarTitleRecord(
                rank=len(cards) + 1,
                tconst=tconst,
                primary_title=dig(node, "titleText", "text"),
                original_title=dig(node, "originalTitleText", "text"),
                title_type=dig(node, "titleType", "id"),
                start_year=dig(node, "releaseYear", "year"),
                end_year=dig(node, "releaseYear", "endYear"),
                average_rating=dig(node, "ratingsSummary", "aggregateRating"),
                num_votes=dig(node, "ratingsSummary", "voteCount"),
                genres=[g for g in (dig(x, "genre", "text") for x in genres or []) if g]
                if isinstance(genres, list)
                else [],
            )
        )
    return cards
