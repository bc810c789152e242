"""The ``__NEXT_DATA__`` object of a current-layout title page: ``props.pageProps`` with
``tconst``, ``aboveTheFoldData`` and ``mainColumnData``, with the real key names,
nesting and ``__typename``s.  Key order matters: the JSON is written in it."""

from __future__ import annotations

from html import escape
from typing import Any

from crawler.records import CreditRecord, Money, SimilarTitleRecord, TitleRecord
from mirror.render.common import SERIES, TYPE_TEXT, by_category, category_text, slug

# --- small nodes ------------------------------------------------------------------------


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
        "text": TYPE_TEXT.get(kind, kind),
        "isSeries": kind in SERIES,
        "isEpisode": kind == "tvEpisode",
        "canHaveEpisodes": kind in SERIES,
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


def _total(value: Any, typename: str) -> dict | None:
    return {"total": value, "__typename": typename} if isinstance(value, int) else None


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


def _runtime(r: TitleRecord) -> dict | None:
    runtime = r.get("runtime_minutes")
    return {"seconds": runtime * 60, "__typename": "Runtime"} if isinstance(runtime, int) else None


def _genres(r: TitleRecord) -> dict:
    return {
        "genres": [{"text": g, "id": g, "__typename": "Genre"} for g in r.get("genres", [])],
        "__typename": "Genres",
    }


def _certificate(r: TitleRecord) -> dict | None:
    if not r.get("certificate"):
        return None
    return {"rating": r["certificate"], "__typename": "Certificate"}


def _image(r: TitleRecord) -> dict | None:
    poster = r.get("poster_url")
    if not poster:
        return None
    return {"id": None, "url": poster, "width": None, "height": None, "__typename": "Image"}


# --- credits ----------------------------------------------------------------------------


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


def _crew_group(category: str, credits: list[CreditRecord], *, with_id: bool) -> dict:
    cat: dict[str, Any] = {
        "text": category_text(category, len(credits)),
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


def _page_title(groups: dict[str, list[CreditRecord]], category: str) -> list[dict]:
    """``directorsPageTitle`` and the like: the whole group, or nothing."""
    return [_crew_group(category, groups[category], with_id=False)] if groups.get(category) else []


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


# --- places, companies, specs -----------------------------------------------------------


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


def _coded(names: list[str], codes: list[str], typename: str) -> list[dict]:
    """Parallel lists of names and codes as ``{id, text}`` nodes (a missing one: null)."""
    return [
        {
            "id": codes[i] if i < len(codes) else None,
            "text": names[i] if i < len(names) else None,
            "__typename": typename,
        }
        for i in range(max(len(names), len(codes)))
    ]


def _countries(r: TitleRecord) -> dict | None:
    names, codes = r.get("countries_of_origin", []), r.get("countries_of_origin_codes", [])
    if not names and not codes:
        return None
    return {
        "countries": _coded(names, codes, "CountryOfOrigin"),
        "__typename": "CountriesOfOrigin",
    }


def _languages(r: TitleRecord) -> dict | None:
    names, codes = r.get("spoken_languages", []), r.get("spoken_language_codes", [])
    if not names and not codes:
        return None
    return {
        "spokenLanguages": _coded(names, codes, "SpokenLanguage"),
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


def _items(key: str, values: list[str], typename: str) -> list[dict]:
    if key == "aspectRatio":
        return [
            {"aspectRatio": v, "attributes": [], "__typename": typename} for v in values
        ]
    return [{key: slug(v), "text": v, "attributes": [], "__typename": typename} for v in values]


def _tech_specs(r: TitleRecord) -> dict:
    return {
        "soundMixes": {"items": _items("id", r.get("sound_mix", []), "SoundMix")},
        "aspectRatios": {"items": _items("aspectRatio", r.get("aspect_ratio", []), "AspectRatio")},
        "colorations": {"items": _items("conceptId", r.get("color", []), "Coloration")},
        "__typename": "TechnicalSpecifications",
    }


# --- aboveTheFoldData -------------------------------------------------------------------


def _plot(r: TitleRecord) -> dict | None:
    if not r.get("plot"):
        return None
    return {
        "plotText": {"plainText": r["plot"], "__typename": "Markdown"},
        "language": {"id": "en-US", "__typename": "DisplayableLanguage"},
        "__typename": "Plot",
    }


def _metacritic(r: TitleRecord) -> dict | None:
    metascore = r.get("metascore")
    if not isinstance(metascore, int):
        return None
    return {
        "metascore": {"score": metascore, "__typename": "Metascore"},
        "__typename": "Metacritic",
    }


def _principal_credits(groups: dict[str, list[CreditRecord]]) -> list[dict]:
    return [
        _crew_group(cat, groups[cat][: 3 if cat == "cast" else None], with_id=True)
        for cat in ("director", "creator", "writer", "cast")
        if groups.get(cat)
    ]


def _above_the_fold(r: TitleRecord, groups: dict[str, list[CreditRecord]]) -> dict:
    tconst = r["tconst"]
    kw_total = r.get("keywords_total")  # None when unknown: never counted from the list
    return {
        "id": tconst,
        "titleText": _text(r.get("primary_title")),
        "titleType": _title_type(r.get("title_type")),
        "originalTitleText": _text(r.get("original_title")),
        "certificate": _certificate(r),
        "releaseYear": _year_range(r.get("start_year"), r.get("end_year")),
        "releaseDate": _release_date(r),
        "runtime": _runtime(r),
        "ratingsSummary": _ratings(r.get("average_rating"), r.get("num_votes")),
        "primaryImage": _image(r),
        "metacritic": _metacritic(r),
        "keywords": {
            **_edges(r.get("keywords", []), "TitleKeyword", kw_total),
            "__typename": "TitleKeywordConnection",
        },
        "genres": _genres(r),
        "plot": _plot(r),
        "principalCredits": _principal_credits(groups),
        "reviews": _total(r.get("user_review_count"), "ReviewsConnection"),
        "criticReviewsTotal": _total(r.get("critic_review_count"), "ExternalLinkConnection"),
        "meta": {
            "canonicalId": tconst,
            "publicationStatus": "PUBLISHED",
            "__typename": "TitleMeta",
        },
        "castPageTitle": {
            "edges": [
                {"node": {"name": {"nameText": _name(c)["nameText"]}}}
                for c in groups.get("cast", [])[:4]
            ]
        },
        "creatorsPageTitle": _page_title(groups, "creator"),
        "directorsPageTitle": _page_title(groups, "director"),
        "countriesOfOrigin": _countries(r),
        "production": _production(r),
        "__typename": "Title",
    }


# --- mainColumnData ---------------------------------------------------------------------


def _awards_and_people(r: TitleRecord, groups: dict[str, list[CreditRecord]]) -> dict:
    prestigious = None
    if r.get("prestigious_award"):
        prestigious = {
            "wins": r.get("prestigious_award_wins") or 0,
            "nominations": r.get("prestigious_award_nominations") or 0,
            "award": {"text": r["prestigious_award"], "id": None, "__typename": "AwardDetails"},
            "__typename": "PrestigiousAwardSummary",
        }
    cast = groups.get("cast", [])
    return {
        "id": r["tconst"],
        "wins": _total(r.get("awards_wins"), "AwardNominationConnection"),
        "nominations": _total(r.get("awards_nominations"), "AwardNominationConnection"),
        "prestigiousAwardSummary": prestigious,
        "ratingsSummary": {"topRanking": None, "__typename": "RatingsSummary"},
        "primaryImage": _image(r),
        "titleType": _title_type(r.get("title_type")),
        "cast": {"edges": [_cast_node(c) for c in cast], "__typename": "CreditConnection"},
        "creators": _page_title(groups, "creator"),
        "directors": _page_title(groups, "director"),
        "writers": _page_title(groups, "writer"),
    }


def _facts(r: TitleRecord) -> dict:
    locations = r.get("filming_locations", [])
    return {
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
            **_edges(locations, "FilmingLocation", len(locations)),
            "__typename": "FilmingLocationConnection",
        },
        "production": _production(r),
        "companies": {
            "total": len(r.get("production_companies", [])),
            "__typename": "CompanyCreditConnection",
        },
    }


def _gross(value: Money | str | None) -> dict | None:
    money = _money(value)
    return {"total": money, "__typename": "BoxOfficeGross"} if money else None


def _box_office(r: TitleRecord) -> dict:
    budget = _money(r.get("budget"))
    opening = _gross(r.get("opening_weekend_us_canada"))
    return {
        "productionBudget": (
            {"budget": budget, "__typename": "ProductionBudget"} if budget else None
        ),
        "lifetimeGross": _gross(r.get("gross_us_canada")),
        "openingWeekendGross": (
            {"gross": opening, "weekendEndDate": None, "__typename": "OpeningWeekendGross"}
            if opening
            else None
        ),
        "worldwideGross": _gross(r.get("gross_worldwide")),
    }


def _plots(text: str | None, author: Any = None, *, with_author: bool = False) -> dict:
    node: dict[str, Any] = {"plotText": {"plaidHtml": escape(text or ""), "__typename": "Markdown"}}
    if with_author:
        node["author"] = author
    node["__typename"] = "Plot"
    return {
        "edges": [{"node": node, "__typename": "PlotEdge"}] if text else [],
        "__typename": "PlotConnection",
    }


def _specs_and_texts(r: TitleRecord) -> dict:
    taglines = r.get("taglines", [])
    return {
        "technicalSpecifications": _tech_specs(r),
        "runtime": _runtime(r),
        "certificate": _certificate(r),
        "genres": _genres(r),
        "taglines": {
            **_edges(taglines, "Tagline", len(taglines)),
            "__typename": "TaglineConnection",
        },
        "outlines": _plots(r.get("plot")),
        "summaries": _plots(r.get("storyline"), r.get("storyline_author"), with_author=True),
        "storylineKeywords": {
            "edges": [
                {
                    "node": {"legacyId": slug(k), "text": k, "__typename": "TitleKeyword"},
                    "__typename": "TitleKeywordEdge",
                }
                for k in r.get("keywords", [])
            ],
            "total": r.get("keywords_total"),
            "__typename": "TitleKeywordConnection",
        },
    }


def _main_column(
    r: TitleRecord, groups: dict[str, list[CreditRecord]], *, with_more_like_this: bool
) -> dict:
    main: dict[str, Any] = {
        **_awards_and_people(r, groups),
        **_facts(r),
        **_box_office(r),
        **_specs_and_texts(r),
        "__typename": "Title",
    }
    # An absent list is unknown (neighbour pages of the seed): the key is left out.
    if with_more_like_this and "more_like_this" in r:
        main["moreLikeThisTitles"] = {
            "edges": [_similar_node(s) for s in r.get("more_like_this", [])],
            "__typename": "MoreLikeThisConnection",
        }
    return main


def next_data(record: TitleRecord, *, with_more_like_this: bool = True) -> dict:
    """The ``__NEXT_DATA__`` object of the page (props.pageProps.{tconst, aboveTheFoldData,
    mainColumnData}) with the real key names and nesting."""
    tconst = record["tconst"]
    groups = by_category(record.get("credits", []))
    above = _above_the_fold(record, groups)
    main = _main_column(record, groups, with_more_like_this=with_more_like_this)
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
