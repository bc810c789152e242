"""Write a :class:`~crawler.records.TitleRecord` as an IMDb title page of the current
(Next.js, ``aboveTheFoldData`` + ``mainColumnData``) layout.

The page carries each fact three ways, like the real pages: the ``__NEXT_DATA__``
JSON (key names and nesting of the real pages), a JSON-LD block, and ``data-testid``
HTML sections.  The markup is written here after the structure of the real pages;
no text, script or style of theirs is copied.

The record is *normalised* (numbers as numbers, :class:`~crawler.records.Money`
dicts, ISO dates).  A fact the record does not have is left out of all three layers,
except that ``votes_display`` lets the HTML show a vote count ("16K") that the JSON
does not know, as on the seed page.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any
from urllib.parse import quote

from crawler.records import CreditRecord, Money, SimilarTitleRecord, TitleRecord

MLT_JSON_PATH = "/_mirror/mlt/{tconst}.json"  # where the js-only cards are fetched from

_TYPE_TEXT = {
    "movie": "Movie",
    "short": "Short",
    "tvSeries": "TV Series",
    "tvMiniSeries": "TV Mini Series",
    "tvEpisode": "TV Episode",
    "tvMovie": "TV Movie",
    "tvSpecial": "TV Special",
    "tvShort": "TV Short",
    "video": "Video",
    "videoGame": "Video Game",
}
_SERIES = {"tvSeries", "tvMiniSeries"}
_LD_TYPE = {
    "tvSeries": "TVSeries",
    "tvMiniSeries": "TVSeries",
    "tvEpisode": "TVEpisode",
    "videoGame": "VideoGame",
}
_CATEGORY_TEXT = {
    "director": ("Director", "Directors"),
    "writer": ("Writer", "Writers"),
    "creator": ("Creator", "Creators"),
    "cast": ("Star", "Stars"),
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_CURRENCY_SIGN = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
_CAST = ("actor", "actress", "cast")


# --- display helpers (public: tests and the synthetic graph use them) ------------------


def compact_votes(n: int) -> str:
    """IMDb's short vote count: 987 -> "987", 16123 -> "16K", 1234 -> "1.2K", 2.4M -> "2.4M"."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}" if value < 10 else f"{math.floor(value)}"
            return text.removesuffix(".0") + suffix
    return str(n)


def money_display(money: Money) -> str:
    """``{"amount": 17923, "currency": "USD"}`` -> ``"$17,923"`` (others: ``"RUR 1,000"``)."""
    sign = _CURRENCY_SIGN.get(money["currency"])
    return f"{sign}{money['amount']:,}" if sign else f"{money['currency']} {money['amount']:,}"


def runtime_short(minutes: int) -> str:
    """95 -> "1h 35m" (the hero line)."""
    h, m = divmod(minutes, 60)
    return " ".join(p for p in (f"{h}h" if h else "", f"{m}m" if m else "") if p) or "0m"


def runtime_long(minutes: int) -> str:
    """95 -> "1 hour 35 minutes" (technical specs)."""
    h, m = divmod(minutes, 60)
    parts = []
    if h:
        parts.append(f"{h} hour" + ("s" if h != 1 else ""))
    if m or not h:
        parts.append(f"{m} minute" + ("s" if m != 1 else ""))
    return " ".join(parts)


def date_display(iso: str) -> str:
    """ "1957-10-12" -> "October 12, 1957"; "1957-10" -> "October 1957"; "1957" -> "1957"."""
    parts = [int(p) for p in iso.split("-")]
    if len(parts) == 3:
        return f"{_MONTHS[parts[1] - 1]} {parts[2]}, {parts[0]}"
    if len(parts) == 2:
        return f"{_MONTHS[parts[1] - 1]} {parts[0]}"
    return str(parts[0])


def rating_display(rating: float) -> str:
    return f"{rating:.1f}"


def _slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def _iso_duration(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m or not h else "")


# --- __NEXT_DATA__ ------------------------------------------------------------------


def _text(value: str | None) -> dict | None:
    return None if value is None else {"text": value, "__typename": "TitleText"}


def _money(value: Money | str | None) -> dict | None:
    if not isinstance(value, dict):
        return None
    return {"amount": value["amount"], "currency": value["currency"], "__typename": "Money"}


def _title_type(kind: str | None) -> dict | None:
    if kind is None:
        return None
    return {
        "id": kind,
        "text": _TYPE_TEXT.get(kind, kind),
        "isSeries": kind in _SERIES,
        "isEpisode": kind == "tvEpisode",
        "canHaveEpisodes": kind in _SERIES,
        "__typename": "TitleType",
    }


def _year_range(start: int | None, end: int | None) -> dict | None:
    if start is None:
        return None
    return {"year": start, "endYear": end, "__typename": "YearRange"}


def _ratings(rating: Any, votes: Any) -> dict:
    return {
        "aggregateRating": rating if isinstance(rating, int | float) else None,
        "voteCount": votes if isinstance(votes, int) else None,
        "__typename": "RatingsSummary",
    }


def _name(credit: CreditRecord) -> dict:
    return {
        "id": credit.get("nconst"),
        "nameText": {"text": credit.get("name", ""), "__typename": "NameText"},
        "__typename": "Name",
    }


def _attributes(notes: list[str]) -> list[dict] | None:
    if not notes:
        return None
    return [
        {
            "text": n,
            "__typename": "CreditedAsCreditAttribute"
            if n.startswith("as ")
            else "MiscellaneousCreditAttribute",
        }
        for n in notes
    ]


def _by_category(credits: list[CreditRecord]) -> dict[str, list[CreditRecord]]:
    groups: dict[str, list[CreditRecord]] = {}
    for c in credits:
        key = "cast" if c.get("category") in _CAST else c.get("category", "cast")
        groups.setdefault(key, []).append(c)
    for group in groups.values():
        group.sort(key=lambda c: c.get("ordering", 0))
    return groups


def _crew_group(category: str, credits: list[CreditRecord], *, with_id: bool) -> dict:
    one, many = _CATEGORY_TEXT.get(category, (category.title(), category.title() + "s"))
    cat: dict[str, Any] = {
        "text": one if len(credits) == 1 else many,
        "__typename": "CreditCategory",
    }
    if with_id:
        cat["id"] = category
    return {
        "totalCredits": len(credits),
        "category": cat,
        "credits": [
            {"name": _name(c), "attributes": _attributes(c.get("notes", [])), "__typename": "Crew"}
            for c in credits
        ],
        "__typename": "PrincipalCreditsForCategory",
    }


def _cast_node(c: CreditRecord) -> dict:
    return {
        "node": {
            "name": _name(c),
            "attributes": _attributes(c.get("notes", [])),
            "category": {"id": c.get("category", "cast"), "__typename": "CreditCategory"},
            "characters": [
                {"name": ch, "__typename": "Character"} for ch in c.get("characters", [])
            ]
            or None,
            "__typename": "Cast",
        },
        "__typename": "CreditEdge",
    }


def _similar_node(s: SimilarTitleRecord) -> dict:
    return {
        "node": {
            "id": s["tconst"],
            "titleText": _text(s.get("primary_title")),
            "originalTitleText": _text(s.get("original_title")),
            "titleType": _title_type(s.get("title_type")),
            "releaseYear": _year_range(s.get("start_year"), s.get("end_year")),
            "ratingsSummary": _ratings(s.get("average_rating"), s.get("num_votes")),
            "titleGenres": {
                "genres": [
                    {"genre": {"text": g, "__typename": "GenreItem"}, "__typename": "TitleGenre"}
                    for g in s.get("genres", [])
                ],
                "__typename": "TitleGenres",
            },
            "__typename": "Title",
        },
        "__typename": "MoreLikeThisEdge",
    }


def _edges(values: list[str], typename: str, total: int | None = None) -> dict:
    out: dict[str, Any] = {
        "edges": [
            {"node": {"text": v, "__typename": typename}, "__typename": typename + "Edge"}
            for v in values
        ]
    }
    if total is not None:
        out["total"] = total
    return out


def _release_date(r: TitleRecord) -> dict | None:
    iso = r.get("release_date")
    if not iso:
        return None
    parts = [int(p) for p in iso.split("-")] + [None, None]
    country = None
    if r.get("release_country") or r.get("release_country_code"):
        country = {
            "id": r.get("release_country_code"),
            "text": r.get("release_country"),
            "__typename": "LocalizedDisplayableCountry",
        }
    return {
        "day": parts[2],
        "month": parts[1],
        "year": parts[0],
        "country": country,
        "__typename": "ReleaseDate",
    }


def _countries(r: TitleRecord) -> dict | None:
    names, codes = r.get("countries_of_origin", []), r.get("countries_of_origin_codes", [])
    if not names and not codes:
        return None
    n = max(len(names), len(codes))
    return {
        "countries": [
            {
                "id": codes[i] if i < len(codes) else None,
                "text": names[i] if i < len(names) else None,
                "__typename": "CountryOfOrigin",
            }
            for i in range(n)
        ],
        "__typename": "CountriesOfOrigin",
    }


def _languages(r: TitleRecord) -> dict | None:
    names, codes = r.get("spoken_languages", []), r.get("spoken_language_codes", [])
    if not names and not codes:
        return None
    n = max(len(names), len(codes))
    return {
        "spokenLanguages": [
            {
                "id": codes[i] if i < len(codes) else None,
                "text": names[i] if i < len(names) else None,
                "__typename": "SpokenLanguage",
            }
            for i in range(n)
        ],
        "__typename": "SpokenLanguages",
    }


def _production(r: TitleRecord) -> dict:
    names, ids = r.get("production_companies", []), r.get("production_company_ids", [])
    return {
        "edges": [
            {
                "node": {
                    "company": {
                        "id": ids[i] if i < len(ids) else None,
                        "companyText": {"text": name, "__typename": "CompanyText"},
                        "__typename": "Company",
                    },
                    "__typename": "CompanyCredit",
                },
                "__typename": "CompanyCreditEdge",
            }
            for i, name in enumerate(names)
        ],
        "__typename": "CompanyCreditConnection",
    }


def _total(value: Any, typename: str) -> dict | None:
    return {"total": value, "__typename": typename} if isinstance(value, int) else None


def _tech_specs(r: TitleRecord) -> dict:
    return {
        "soundMixes": {
            "items": [
                {"id": _slug(s), "text": s, "attributes": [], "__typename": "SoundMix"}
                for s in r.get("sound_mix", [])
            ]
        },
        "aspectRatios": {
            "items": [
                {"aspectRatio": a, "attributes": [], "__typename": "AspectRatio"}
                for a in r.get("aspect_ratio", [])
            ]
        },
        "colorations": {
            "items": [
                {"conceptId": _slug(c), "text": c, "attributes": [], "__typename": "Coloration"}
                for c in r.get("color", [])
            ]
        },
        "__typename": "TechnicalSpecifications",
    }


def next_data(record: TitleRecord, *, with_more_like_this: bool = True) -> dict:
    """The ``__NEXT_DATA__`` object of the page (props.pageProps.{tconst, aboveTheFoldData,
    mainColumnData}) with the real key names and nesting."""
    r = record
    tconst = r["tconst"]
    groups = _by_category(r.get("credits", []))
    cast = groups.get("cast", [])
    runtime = r.get("runtime_minutes")
    runtime_json = (
        {"seconds": runtime * 60, "__typename": "Runtime"} if isinstance(runtime, int) else None
    )
    genres = {
        "genres": [{"text": g, "id": g, "__typename": "Genre"} for g in r.get("genres", [])],
        "__typename": "Genres",
    }
    certificate = (
        {"rating": r["certificate"], "__typename": "Certificate"} if r.get("certificate") else None
    )
    keywords = r.get("keywords", [])
    kw_total = r.get("keywords_total")  # None when unknown: never counted from the list
    poster = r.get("poster_url")
    image = (
        {"id": None, "url": poster, "width": None, "height": None, "__typename": "Image"}
        if poster
        else None
    )
    plot = (
        {
            "plotText": {"plainText": r["plot"], "__typename": "Markdown"},
            "language": {"id": "en-US", "__typename": "DisplayableLanguage"},
            "__typename": "Plot",
        }
        if r.get("plot")
        else None
    )
    metascore = r.get("metascore")
    prestigious = None
    if r.get("prestigious_award"):
        prestigious = {
            "wins": r.get("prestigious_award_wins") or 0,
            "nominations": r.get("prestigious_award_nominations") or 0,
            "award": {"text": r["prestigious_award"], "id": None, "__typename": "AwardDetails"},
            "__typename": "PrestigiousAwardSummary",
        }
    principal = [
        _crew_group(cat, groups[cat][: 3 if cat == "cast" else None], with_id=True)
        for cat in ("director", "creator", "writer", "cast")
        if groups.get(cat)
    ]

    def pagetitle(cat: str) -> list[dict]:
        return [_crew_group(cat, groups[cat], with_id=False)] if groups.get(cat) else []

    above = {
        "id": tconst,
        "titleText": _text(r.get("primary_title")),
        "titleType": _title_type(r.get("title_type")),
        "originalTitleText": _text(r.get("original_title")),
        "certificate": certificate,
        "releaseYear": _year_range(r.get("start_year"), r.get("end_year")),
        "releaseDate": _release_date(r),
        "runtime": runtime_json,
        "ratingsSummary": _ratings(r.get("average_rating"), r.get("num_votes")),
        "primaryImage": image,
        "metacritic": (
            {
                "metascore": {"score": metascore, "__typename": "Metascore"},
                "__typename": "Metacritic",
            }
            if isinstance(metascore, int)
            else None
        ),
        "keywords": {
            **_edges(keywords, "TitleKeyword", kw_total),
            "__typename": "TitleKeywordConnection",
        },
        "genres": genres,
        "plot": plot,
        "principalCredits": principal,
        "reviews": _total(r.get("user_review_count"), "ReviewsConnection"),
        "criticReviewsTotal": _total(r.get("critic_review_count"), "ExternalLinkConnection"),
        "meta": {
            "canonicalId": tconst,
            "publicationStatus": "PUBLISHED",
            "__typename": "TitleMeta",
        },
        "castPageTitle": {
            "edges": [{"node": {"name": {"nameText": _name(c)["nameText"]}}} for c in cast[:4]]
        },
        "creatorsPageTitle": pagetitle("creator"),
        "directorsPageTitle": pagetitle("director"),
        "countriesOfOrigin": _countries(r),
        "production": _production(r),
        "__typename": "Title",
    }
    main: dict[str, Any] = {
        "id": tconst,
        "wins": _total(r.get("awards_wins"), "AwardNominationConnection"),
        "nominations": _total(r.get("awards_nominations"), "AwardNominationConnection"),
        "prestigiousAwardSummary": prestigious,
        "ratingsSummary": {"topRanking": None, "__typename": "RatingsSummary"},
        "primaryImage": image,
        "titleType": _title_type(r.get("title_type")),
        "cast": {"edges": [_cast_node(c) for c in cast], "__typename": "CreditConnection"},
        "creators": pagetitle("creator"),
        "directors": pagetitle("director"),
        "writers": pagetitle("writer"),
        "isAdult": r.get("is_adult"),
        "titleText": _text(r.get("primary_title")),
        "originalTitleText": _text(r.get("original_title")),
        "releaseYear": _year_range(r.get("start_year"), r.get("end_year")),
        "reviews": _total(r.get("user_review_count"), "ReviewsConnection"),
        "releaseDate": _release_date(r),
        "countriesOfOrigin": _countries(r),
        "spokenLanguages": _languages(r),
        "akas": {**_edges(r.get("also_known_as", []), "Aka"), "__typename": "AkaConnection"},
        "filmingLocations": {
            **_edges(
                r.get("filming_locations", []),
                "FilmingLocation",
                len(r.get("filming_locations", [])),
            ),
            "__typename": "FilmingLocationConnection",
        },
        "production": _production(r),
        "companies": {
            "total": len(r.get("production_companies", [])),
            "__typename": "CompanyCreditConnection",
        },
        "productionBudget": (
            {"budget": _money(r.get("budget")), "__typename": "ProductionBudget"}
            if _money(r.get("budget"))
            else None
        ),
        "lifetimeGross": (
            {"total": _money(r.get("gross_us_canada")), "__typename": "BoxOfficeGross"}
            if _money(r.get("gross_us_canada"))
            else None
        ),
        "openingWeekendGross": (
            {
                "gross": {
                    "total": _money(r.get("opening_weekend_us_canada")),
                    "__typename": "BoxOfficeGross",
                },
                "weekendEndDate": None,
                "__typename": "OpeningWeekendGross",
            }
            if _money(r.get("opening_weekend_us_canada"))
            else None
        ),
        "worldwideGross": (
            {"total": _money(r.get("gross_worldwide")), "__typename": "BoxOfficeGross"}
            if _money(r.get("gross_worldwide"))
            else None
        ),
        "technicalSpecifications": _tech_specs(r),
        "runtime": runtime_json,
        "certificate": certificate,
        "genres": genres,
        "taglines": {
            **_edges(r.get("taglines", []), "Tagline", len(r.get("taglines", []))),
            "__typename": "TaglineConnection",
        },
        "outlines": {
            "edges": [
                {
                    "node": {
                        "plotText": {"plaidHtml": escape(r["plot"]), "__typename": "Markdown"},
                        "__typename": "Plot",
                    },
                    "__typename": "PlotEdge",
                }
            ]
            if r.get("plot")
            else [],
            "__typename": "PlotConnection",
        },
        "summaries": {
            "edges": [
                {
                    "node": {
                        "plotText": {"plaidHtml": escape(r["storyline"]), "__typename": "Markdown"},
                        "author": r.get("storyline_author"),
                        "__typename": "Plot",
                    },
                    "__typename": "PlotEdge",
                }
            ]
            if r.get("storyline")
            else [],
            "__typename": "PlotConnection",
        },
        "storylineKeywords": {
            "edges": [
                {
                    "node": {"legacyId": _slug(k), "text": k, "__typename": "TitleKeyword"},
                    "__typename": "TitleKeywordEdge",
                }
                for k in keywords
            ],
            "total": kw_total,
            "__typename": "TitleKeywordConnection",
        },
        "__typename": "Title",
    }
    # An absent list is unknown (neighbour pages of the seed): the key is left out.
    if with_more_like_this and "more_like_this" in r:
        main["moreLikeThisTitles"] = {
            "edges": [_similar_node(s) for s in r.get("more_like_this", [])],
            "__typename": "MoreLikeThisConnection",
        }
    return {
        "props": {
            "pageProps": {"tconst": tconst, "aboveTheFoldData": above, "mainColumnData": main},
            "__N_SSP": True,
        },
        "page": "/title/[tconst]",
        "query": {"tconst": tconst},
        "isFallback": False,
        "gssp": True,
        "scriptLoader": [],
    }


# --- JSON-LD --------------------------------------------------------------------------


def _ld_type(kind: str | None) -> str:
    if kind is None:
        return "CreativeWork"  # type unknown: say nothing more specific than the page knows
    return _LD_TYPE.get(kind, "Movie")


def _ld_person(c: CreditRecord) -> dict:
    person: dict[str, Any] = {"@type": "Person"}
    if c.get("nconst"):
        person["url"] = f"/name/{c['nconst']}/"
    person["name"] = c.get("name", "")
    return person


def json_ld(record: TitleRecord) -> dict:
    """The schema.org block of the page, with the keys the real pages use."""
    r = record
    groups = _by_category(r.get("credits", []))
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": _ld_type(r.get("title_type")),
        "url": f"/title/{r['tconst']}/",
    }
    # As on the real pages: "name" is the original title, "alternateName" the display one.
    name = r.get("original_title") or r.get("primary_title")
    if name is not None:
        ld["name"] = name
    if r.get("primary_title") and r.get("primary_title") != name:
        ld["alternateName"] = r["primary_title"]
    if r.get("poster_url"):
        ld["image"] = r["poster_url"]
    if r.get("plot"):
        ld["description"] = r["plot"]
    rating = r.get("average_rating")
    if isinstance(rating, int | float):
        agg: dict[str, Any] = {"@type": "AggregateRating"}
        if isinstance(r.get("num_votes"), int):
            agg["ratingCount"] = r["num_votes"]
        agg.update(bestRating=10, worstRating=1, ratingValue=rating)
        ld["aggregateRating"] = agg
    if r.get("certificate"):
        ld["contentRating"] = r["certificate"]
    if r.get("genres"):
        ld["genre"] = list(r["genres"])
    if r.get("release_date"):
        ld["datePublished"] = r["release_date"]
    if r.get("keywords"):
        ld["keywords"] = ",".join(r["keywords"])
    for key, cats in (
        ("actor", ("cast",)),
        ("director", ("director",)),
        ("creator", ("creator", "writer")),
    ):
        people = [_ld_person(c) for cat in cats for c in groups.get(cat, [])]
        if key == "actor":
            people = people[:3]  # the real block lists only the stars
        if people:
            ld[key] = people
    if isinstance(r.get("runtime_minutes"), int):
        ld["duration"] = _iso_duration(r["runtime_minutes"])
    return ld


# --- HTML -----------------------------------------------------------------------------


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _script_json(obj: Any) -> str:
    # "</" inside a script would end it early; JSON allows the escaped slash.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _person_link(c: CreditRecord, ref: str, testid: str = "") -> str:
    attr = f' data-testid="{testid}"' if testid else ""
    if c.get("nconst"):
        return (
            f'<a class="ipc-link"{attr} href="/name/{c["nconst"]}/?ref_={ref}">{_e(c["name"])}</a>'
        )
    return f'<span class="ipc-link"{attr}>{_e(c.get("name", ""))}</span>'


def _list_items(values: list[str], link: str | None = None) -> str:
    items = []
    for v in values:
        inner = (
            f'<a class="ipc-link" href="{link.format(_e(quote(v)))}">{_e(v)}</a>'
            if link
            else f'<span class="ipc-list-item__text">{_e(v)}</span>'
        )
        items.append(f'<li role="presentation" class="ipc-inline-list__item">{inner}</li>')
    return f'<ul role="presentation" class="ipc-inline-list">{"".join(items)}</ul>'


def _detail(testid: str, label: str, content: str) -> str:
    return (
        f'<li role="presentation" class="ipc-metadata-list__item" data-testid="{testid}">'
        f'<span class="ipc-metadata-list-item__label">{_e(label)}</span>'
        f'<div class="ipc-metadata-list-item__content-container">{content}</div></li>'
    )


def _principal_credit_html(cat: str, credits: list[CreditRecord], ref: str) -> str:
    one, many = _CATEGORY_TEXT.get(cat, (cat.title(), cat.title() + "s"))
    items = "".join(
        f'<li role="presentation" class="ipc-inline-list__item">{_person_link(c, ref)}'
        + "".join(
            f'<span class="ipc-metadata-list-item__list-content-item--subText">({_e(n)})</span>'
            for n in c.get("notes", [])
        )
        + "</li>"
        for c in credits
    )
    return (
        f'<li role="presentation" class="ipc-metadata-list__item" '
        f'data-testid="title-pc-principal-credit" data-category="{cat}">'
        f'<span class="ipc-metadata-list-item__label">{one if len(credits) == 1 else many}'
        f'</span><div><ul role="presentation" class="ipc-inline-list">{items}</ul></div></li>'
    )


def _principal_credits_html(groups: dict[str, list[CreditRecord]], *, stars: bool) -> str:
    refs = {"director": "tt_ov_dr", "creator": "tt_ov_wr", "writer": "tt_ov_wr", "cast": "tt_ov_st"}
    cats = ("director", "creator", "writer", "cast") if stars else ("director", "creator", "writer")
    parts = [
        _principal_credit_html(cat, groups[cat][:3] if cat == "cast" else groups[cat], refs[cat])
        for cat in cats
        if groups.get(cat)
    ]
    return f'<ul role="presentation" class="ipc-metadata-list title-pc-list">{"".join(parts)}</ul>'


def _cast_item_html(tconst: str, c: CreditRecord, n: int) -> str:
    nconst = c.get("nconst")
    name = _e(c.get("name", ""))
    avatar = (
        f'<a href="/name/{nconst}/?ref_=tt_cl_i_{n}" aria-label="{name}"></a>' if nconst else ""
    )
    actor = (
        f'<a data-testid="title-cast-item__actor" href="/name/{nconst}/?ref_=tt_cl_t_{n}">'
        f"{name}</a>"
        if nconst
        else f'<span data-testid="title-cast-item__actor">{name}</span>'
    )
    chars = []
    for ch in c.get("characters", []):
        if nconst:
            chars.append(
                f'<li role="presentation"><a href="/title/{tconst}/characters/{nconst}'
                f'?ref_=tt_cl_c_{n}" data-testid="cast-item-characters-link">'
                f"<span>{_e(ch)}</span></a></li>"
            )
        else:
            chars.append(
                f'<li role="presentation"><span data-testid="cast-item-characters-link">'
                f"{_e(ch)}</span></li>"
            )
    notes = "".join(
        f'<li role="presentation"><span>({_e(note)})</span></li>' for note in c.get("notes", [])
    )
    return (
        f'<div data-testid="title-cast-item" class="title-cast-item" '
        f'data-category="{_e(c.get("category", "cast"))}">'
        f'<div data-testid="title-cast-item__avatar"><div role="group">{avatar}</div></div>'
        f"<div>{actor}<div>"
        f'<ul role="presentation" data-testid="cast-item-characters-list">'
        f"{''.join(chars)}{notes}</ul></div></div></div>"
    )


def _card_html(s: SimilarTitleRecord, n: int) -> str:
    tconst = s["tconst"]
    title = _e(s.get("primary_title") or "")
    rating = s.get("average_rating")
    star = ""
    if rating is not None:
        shown = rating_display(rating) if isinstance(rating, int | float) else str(rating)
        star = (
            f'<span class="ipc-rating-star ipc-rating-star--imdb" '
            f'aria-label="IMDb rating: {_e(shown)}">{_e(shown)}</span>'
        )
    return (
        f'<div role="group" class="ipc-poster-card" data-tconst="{tconst}">'
        f'<div role="group" class="ipc-poster"><img alt="{title}" loading="lazy"/>'
        f'<a href="/title/{tconst}/?ref_=tt_sims_tt_i_{n}" '
        f'aria-label="View title page for {title}"></a></div>'
        f'<div class="ipc-rating-star-group">{star}'
        f'<button data-testid="rate-button" aria-label="Rate {title}"></button></div>'
        f'<a class="ipc-poster-card__title" aria-label="View title page for {title}" '
        f'href="/title/{tconst}/?ref_=tt_sims_tt_t_{n}"><span data-testid="title">{title}'
        f"</span></a></div>"
    )


def more_like_this_html(similar: list[SimilarTitleRecord]) -> str:
    """The "More like this" section (also what the js-only script builds in the browser)."""
    cards = "".join(_card_html(s, i) for i, s in enumerate(similar, 1))
    return (
        '<section class="ipc-page-section" data-testid="MoreLikeThis">'
        "<div><hgroup><h3>More like this</h3></hgroup></div>"
        '<div role="group" data-testid="shoveler">'
        f'<div data-testid="shoveler-items-container">{cards}</div></div></section>'
    )


# The cards arrive only after load: a browser runs this, an HTML-only fetcher never does.
_MLT_SCRIPT = """<script>
(function(){function go(){fetch(%s).then(function(r){return r.json()}).then(
function(d){var h=document.getElementById("mirror-mlt");if(h){h.outerHTML=d.html;}})}
if(document.readyState==="loading"){document.addEventListener("DOMContentLoaded",go)}
else{go()}})();
</script>"""


def _money_item(testid: str, label: str, value: Any, suffix: str = "") -> str:
    if isinstance(value, dict):
        shown = money_display(value) + suffix
    elif isinstance(value, str):
        shown = value
    else:
        return ""
    return _detail(testid, label, _list_items([shown]))


def _body(r: TitleRecord, votes_shown: str | None, rating_shown: str | None, js_only: bool) -> str:
    tconst = r["tconst"]
    title = r.get("primary_title") or ""
    groups = _by_category(r.get("credits", []))
    out: list[str] = []
    add = out.append

    # Hero: title, original title, year / certificate / runtime, rating bar, genres, plot.
    add('<section class="ipc-page-section" data-testid="hero-parent"><div>')
    add(
        f'<h1 data-testid="hero__pageTitle"><span class="hero__primary-text">{_e(title)}'
        "</span></h1>"
    )
    original = r.get("original_title")
    if original and original != title:
        add(f'<div class="hero__original-title">Original title: {_e(original)}</div>')
    meta = []
    if r.get("title_type") not in (None, "movie"):
        meta.append(
            f'<li role="presentation">{_e(_TYPE_TEXT.get(r["title_type"], r["title_type"]))}</li>'
        )
    if r.get("start_year") is not None:
        years = str(r["start_year"])
        if r.get("end_year"):
            years += f"–{r['end_year']}"
        elif r.get("title_type") in _SERIES:
            years += "–"
        meta.append(
            f'<li role="presentation"><a href="/title/{tconst}/releaseinfo?ref_=tt_ov_rdat">'
            f"{years}</a></li>"
        )
    if r.get("certificate"):
        meta.append(
            f'<li role="presentation"><a href="/title/{tconst}/parentalguide/certificates'
            f'?ref_=tt_ov_pg">{_e(r["certificate"])}</a></li>'
        )
    runtime = r.get("runtime_minutes")
    if isinstance(runtime, int):
        meta.append(f'<li role="presentation">{runtime_short(runtime)}</li>')
    add(
        f'<ul role="presentation" data-testid="hero-title-block__metadata" '
        f'class="ipc-inline-list">{"".join(meta)}</ul></div>'
    )
    if rating_shown is not None:
        score = rating_shown.split("/")[0]
        add(
            '<div data-testid="hero-rating-bar__aggregate-rating"><div>IMDb RATING</div>'
            f'<a role="button" aria-label="View User Ratings" href="/title/{tconst}/ratings/'
            '?ref_=tt_ov_rt"><span><div>'
            '<div data-testid="hero-rating-bar__aggregate-rating__score">'
            f"<span>{_e(score)}</span><span>/<!-- -->10</span></div><div></div>"
            f"<div>{_e(votes_shown) if votes_shown else ''}</div></div></span></a></div>"
        )
    if r.get("genres"):
        chips = "".join(
            f'<a class="ipc-chip" href="/search/title/?genres={_e(g)}&amp;ref_=tt_ov_inf">'
            f'<span class="ipc-chip__text">{_e(g)}</span></a>'
            for g in r["genres"]
        )
        add(f'<div data-testid="genres" class="ipc-chip-list">{chips}</div>')
    if r.get("plot"):
        p = _e(r["plot"])
        add(
            f'<p data-testid="plot"><span data-testid="plot-xs_to_m">{p}</span>'
            f'<span data-testid="plot-l">{p}</span><span data-testid="plot-xl">{p}</span></p>'
        )
    add(_principal_credits_html(groups, stars=True))
    counts = []
    if r.get("user_review_count") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/reviews?ref_=tt_ov_rt">'
            f'<span><span class="score">{_e(r["user_review_count"])}</span>'
            '<span class="label">User reviews</span></span></a></li>'
        )
    if r.get("critic_review_count") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/externalreviews?ref_=tt_ov_rt">'
            f'<span><span class="score">{_e(r["critic_review_count"])}</span>'
            '<span class="label">Critic reviews</span></span></a></li>'
        )
    if r.get("metascore") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/criticreviews?ref_=tt_ov_rt">'
            f'<span><span class="score"><span class="metacritic-score-box">'
            f'{_e(r["metascore"])}</span></span><span class="label">Metascore</span>'
            "</span></a></li>"
        )
    if counts:
        add(
            '<ul role="presentation" data-testid="reviewContent-all-reviews">'
            f"{''.join(counts)}</ul>"
        )
    add("</section>")

    # Awards.
    wins, noms = r.get("awards_wins"), r.get("awards_nominations")
    if wins is not None or noms is not None or r.get("prestigious_award"):
        head = ""
        if r.get("prestigious_award"):
            pw, pn = (
                r.get("prestigious_award_wins") or 0,
                r.get("prestigious_award_nominations") or 0,
            )
            award = _e(r["prestigious_award"])
            head = (
                f"Won {pw} {award}{'s' if pw != 1 else ''}"
                if pw
                else f"Nominated for {pn} {award}{'s' if pn != 1 else ''}"
            )
        parts = []
        if wins:
            parts.append(f"{wins} win{'s' if wins != 1 else ''}")
        if noms:
            parts.append(f"{noms} nomination{'s' if noms != 1 else ''}")
        summary = " &amp; ".join(parts) + " total" if parts else ""
        add(
            '<section class="ipc-page-section" data-testid="Awards"><div data-testid="awards">'
            '<ul role="presentation"><li role="presentation" data-testid="award_information">'
            f'<a href="/title/{tconst}/awards/?ref_=tt_awd">{head or "Awards"}</a>'
            f'<div><ul role="presentation"><li role="presentation"><span>{summary}</span></li>'
            "</ul></div></li></ul></div></section>"
        )

    # Top cast, then the crew again as the real page lists it below the cast.
    cast = groups.get("cast", [])
    if cast or any(groups.get(c) for c in ("director", "writer", "creator")):
        items = "".join(_cast_item_html(tconst, c, i) for i, c in enumerate(cast, 1))
        add(
            '<section class="ipc-page-section" data-testid="title-cast">'
            '<div data-testid="title-cast-header"><hgroup><h3>Top cast</h3></hgroup></div>'
            f'<div class="title-cast__grid">{items}</div>'
            f"{_principal_credits_html(groups, stars=False)}</section>"
        )

    # More like this (or a placeholder the script fills in a browser).
    if js_only:
        add('<div id="mirror-mlt"></div>')
        add(_MLT_SCRIPT % json.dumps(MLT_JSON_PATH.format(tconst=tconst)))
    elif r.get("more_like_this"):
        add(more_like_this_html(r["more_like_this"]))

    # Storyline.
    story = []
    if r.get("storyline"):
        author = ""
        if r.get("storyline_author"):
            a = _e(r["storyline_author"])
            author = (
                f'<span>—<a href="/search/title/?plot_author={a}&amp;view=simple'
                f'&amp;ref_=tt_stry_pl">{a}</a></span>'
            )
        story.append(
            f'<div role="presentation" data-testid="storyline-plot-summary"><div>'
            f'<div class="ipc-html-content-inner-div">{_e(r["storyline"])}{author}'
            "</div></div></div>"
        )
    keywords = r.get("keywords", [])
    if keywords:
        links = "".join(
            f'<a class="ipc-chip" href="/search/keyword/?keywords={_e(_slug(k))}'
            f'&amp;ref_=tt_stry_kw"><span role="presentation">{_e(k)}</span></a>'
            for k in keywords
        )
        total = r.get("keywords_total")
        if total and total > len(keywords):
            links += (
                f'<a class="ipc-chip" href="/title/{tconst}/keywords?ref_=tt_stry_kw">'
                f'<span role="presentation">{total - len(keywords)} more</span></a>'
            )
        story.append(f'<div data-testid="storyline-plot-keywords">{links}</div>')
    rows = []
    if r.get("taglines"):
        rows.append(
            f'<li role="presentation" data-testid="storyline-taglines">'
            f'<a href="/title/{tconst}/taglines?ref_=tt_stry_tg">Taglines</a>'
            f"<div>{_list_items(r['taglines'])}</div></li>"
        )
    if r.get("genres"):
        rows.append(
            f'<li role="presentation" data-testid="storyline-genres"><span>Genres</span>'
            f"<div>{_list_items(r['genres'], '/search/title/?genres={}')}</div></li>"
        )
    if r.get("certificate"):
        rows.append(
            f'<li role="presentation" data-testid="storyline-certificate">'
            f"<span>Certificate</span><div>{_list_items([r['certificate']])}</div></li>"
        )
    if rows:
        story.append(f'<ul role="presentation" class="ipc-metadata-list">{"".join(rows)}</ul>')
    if story:
        add(
            '<section class="ipc-page-section" data-testid="Storyline">'
            '<div data-testid="storyline-header"><hgroup><h3>Storyline</h3></hgroup></div>'
            f"<div>{''.join(story)}</div></section>"
        )

    # Details.
    details = []
    if r.get("release_date"):
        shown = date_display(r["release_date"])
        if r.get("release_country"):
            shown += f" ({r['release_country']})"
        details.append(
            _detail(
                "title-details-releasedate",
                "Release date",
                _list_items([shown], f"/title/{tconst}/releaseinfo?ref_=tt_dt_rdat"),
            )
        )
    countries = r.get("countries_of_origin", [])
    if countries:
        codes = r.get("countries_of_origin_codes", [])
        items = "".join(
            f'<li role="presentation" class="ipc-inline-list__item"><a class="ipc-link" '
            f'href="/search/title/?country_of_origin={_e(codes[i] if i < len(codes) else "")}'
            f'&amp;ref_=tt_dt_cn">{_e(c)}</a></li>'
            for i, c in enumerate(countries)
        )
        label = "Country of origin" if len(countries) == 1 else "Countries of origin"
        details.append(
            _detail(
                "title-details-origin",
                label,
                f'<ul role="presentation" class="ipc-inline-list">{items}</ul>',
            )
        )
    languages = r.get("spoken_languages", [])
    if languages:
        codes = r.get("spoken_language_codes", [])
        items = "".join(
            f'<li role="presentation" class="ipc-inline-list__item"><a class="ipc-link" '
            f'href="/search/title?title_type=feature&amp;primary_language='
            f'{_e(codes[i] if i < len(codes) else "")}&amp;ref_=tt_dt_ln">{_e(lang)}</a></li>'
            for i, lang in enumerate(languages)
        )
        label = "Language" if len(languages) == 1 else "Languages"
        details.append(
            _detail(
                "title-details-languages",
                label,
                f'<ul role="presentation" class="ipc-inline-list">{items}</ul>',
            )
        )
    if r.get("also_known_as"):
        details.append(
            _detail("title-details-akas", "Also known as", _list_items(r["also_known_as"]))
        )
    if r.get("filming_locations"):
        details.append(
            _detail(
                "title-details-filminglocations",
                "Filming locations",
                _list_items(
                    r["filming_locations"], "/search/title/?locations={}&amp;ref_=tt_dt_loc"
                ),
            )
        )
    companies = r.get("production_companies", [])
    if companies:
        ids = r.get("production_company_ids", [])
        items = "".join(
            '<li role="presentation" class="ipc-inline-list__item">'
            + (
                f'<a class="ipc-link" href="/company/{ids[i]}/?ref_=tt_dt_co_{i + 1}">{_e(c)}</a>'
                if i < len(ids) and ids[i]
                else f'<span class="ipc-link">{_e(c)}</span>'
            )
            + "</li>"
            for i, c in enumerate(companies)
        )
        label = "Production company" if len(companies) == 1 else "Production companies"
        details.append(
            _detail(
                "title-details-companies",
                label,
                f'<ul role="presentation" class="ipc-inline-list">{items}</ul>',
            )
        )
    if details:
        add(
            '<section class="ipc-page-section" data-testid="Details">'
            '<div data-testid="title-details-header"><hgroup><h3>Details</h3></hgroup></div>'
            f'<div data-testid="title-details-section"><ul role="presentation">{"".join(details)}'
            "</ul></div></section>"
        )

    # Box office.
    box = "".join(
        [
            _money_item("title-boxoffice-budget", "Budget", r.get("budget"), " (estimated)"),
            _money_item(
                "title-boxoffice-grossdomestic", "Gross US & Canada", r.get("gross_us_canada")
            ),
            _money_item(
                "title-boxoffice-openingweekenddomestic",
                "Opening weekend US & Canada",
                r.get("opening_weekend_us_canada"),
            ),
            _money_item(
                "title-boxoffice-cumulativeworldwidegross",
                "Gross worldwide",
                r.get("gross_worldwide"),
            ),
        ]
    )
    if box:
        add(
            '<section class="ipc-page-section" data-testid="BoxOffice">'
            '<div data-testid="title-boxoffice-header"><hgroup><h3>Box office</h3></hgroup></div>'
            f'<div data-testid="title-boxoffice-section"><ul role="presentation">{box}</ul></div>'
            "</section>"
        )

    # Technical specs.
    specs = []
    if isinstance(runtime, int):
        specs.append(
            f'<li role="presentation" class="ipc-metadata-list__item" '
            f'data-testid="title-techspec_runtime"><span>Runtime</span>'
            f"<div>{runtime_long(runtime)}</div></li>"
        )
    for testid, label, key in (
        ("title-techspec_color", "Color", "color"),
        ("title-techspec_soundmix", "Sound mix", "sound_mix"),
        ("title-techspec_aspectratio", "Aspect ratio", "aspect_ratio"),
    ):
        if r.get(key):
            specs.append(_detail(testid, label, _list_items(r[key])))
    if specs:
        add(
            '<section class="ipc-page-section" data-testid="TechSpecs">'
            '<div data-testid="title-techspecs-header"><hgroup><h3>Technical specs</h3></hgroup>'
            f'</div><div data-testid="title-techspecs-section"><ul role="presentation">'
            f"{''.join(specs)}</ul></div></section>"
        )
    return "".join(out)


def _padding(missing: int) -> str:
    """Inert markup (hidden, no test ids) then a comment, ``missing`` UTF-8 bytes in all."""
    if missing <= 0:
        return ""
    block = (
        '<div class="mirror-pad"><span class="mirror-pad__cell">'
        "padding to a real page size</span></div>"
    )
    head, tail = '<div hidden aria-hidden="true">', "</div>"
    markup = ""
    budget = missing // 2 - len(head) - len(tail)
    if budget > len(block):
        markup = head + block * (budget // len(block)) + tail
    rest = missing - len(markup)
    if rest < 7:  # "<!---->" is the shortest comment
        return markup + " " * rest
    return markup + "<!--" + "p" * (rest - 7) + "-->"


def render_title_page(
    record: TitleRecord,
    *,
    votes_display: str | None = None,
    rating_display: str | None = None,
    js_only_more_like_this: bool = False,
    pad_to_bytes: int = 0,
) -> str:
    """The HTML of the title page of ``record``.

    ``votes_display``/``rating_display`` override what the HTML shows ("16K", "8.3/10");
    by default they are derived from ``num_votes``/``average_rating``.  With
    ``js_only_more_like_this`` the "More like this" cards are neither in the HTML nor in
    the JSON: an inline script fetches them from ``/_mirror/mlt/<tconst>.json`` after
    load.  ``pad_to_bytes`` pads (hidden markup + a comment) to at least that many bytes.
    """
    r = record
    tconst = r["tconst"]
    if rating_display is None and isinstance(r.get("average_rating"), int | float):
        rating_display = f"{r['average_rating']:.1f}/10"
    if votes_display is None and isinstance(r.get("num_votes"), int):
        votes_display = compact_votes(r["num_votes"])
    title = r.get("primary_title") or tconst
    year = f" ({r['start_year']})" if r.get("start_year") else ""
    head = (
        '<!DOCTYPE html><html lang="en-US" xmlns:og="http://opengraphprotocol.org/schema/">'
        '<head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width"/>'
        f"<title>{_e(title)}{_e(year)} - IMDb</title>"
        f'<meta name="description" content="{_e(r.get("plot") or "")}"/>'
        f'<meta property="og:url" content="https://www.imdb.com/title/{tconst}/"/>'
        '<meta property="og:site_name" content="IMDb"/>'
        f'<meta property="og:title" content="{_e(title)}{_e(year)} - IMDb"/>'
        f'<meta property="imdb:pageConst" content="{tconst}"/>'
        f'<link rel="canonical" href="https://www.imdb.com/title/{tconst}/"/>'
        f'<script type="application/ld+json">{_script_json(json_ld(r))}</script>'
        '</head><body><div id="__next"><main role="main">'
    )
    body = _body(r, votes_display, rating_display, js_only_more_like_this)
    data = next_data(r, with_more_like_this=not js_only_more_like_this)
    tail = (
        "</main></div>"
        f'<script id="__NEXT_DATA__" type="application/json">{_script_json(data)}</script>'
    )
    page = head + body + tail
    if pad_to_bytes:
        size = len((page + "</body></html>").encode("utf-8"))
        page += _padding(pad_to_bytes - size)
    return page + "</body></html>"


def more_like_this_payload(record: TitleRecord) -> dict:
    """What ``/_mirror/mlt/<tconst>.json`` serves: the cards' markup and their data."""
    similar = record.get("more_like_this", [])
    return {"tconst": record["tconst"], "html": more_like_this_html(similar), "titles": similar}
