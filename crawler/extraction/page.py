"""Orchestration: classify the page, then fill each field from the best layer that has it.

Layers, best first: ``__NEXT_DATA__`` JSON, JSON-LD, ``data-testid`` HTML slices (and the
microdata of pre-2021 pages).  HTML is only searched for fields the JSON layers lack.
"""

from __future__ import annotations

from typing import Any

from crawler.extraction import classify, html, json_ld, legacy, next_data
from crawler.ids import tconst_from_url
from crawler.records import TITLE_LIST_FIELDS, PageKind, PageResult, TitleRecord

_LIST_FIELDS = {*TITLE_LIST_FIELDS, "credits", "more_like_this"}
_SCALAR_FIELDS = [
    k
    for k in TitleRecord.__annotations__
    if k not in _LIST_FIELDS and k not in {"tconst", "url", "layout"}
]
_HERO_FIELDS = ("primary_title", "average_rating", "num_votes", "plot")
_HERO_RATING_FIELDS = ("average_rating", "num_votes")
# What a legacy page shows above the JSON-LD's view of it: the JSON-LD "name" is the original
# title and "datePublished" a release date, where the page heads with the title and year it
# shows; its "description" keeps IMDb's [link=nm...] markup.
_LEGACY_FIRST = (
    "primary_title",
    "original_title",
    "start_year",
    "end_year",
    "plot",
    "release_date",
    "release_country",
    "credits",
)
_DETAIL_FIELDS = (
    *html.LIST_SECTIONS.values(),
    *html.FIRST_ITEM_SECTIONS.values(),
    "runtime_minutes",
)


def _result(
    kind: PageKind,
    reason: str | None,
    tconst: str | None,
    found: str | None,
    title: TitleRecord | None = None,
) -> PageResult:
    return PageResult(kind=kind, reason=reason, tconst=tconst, found_tconst=found, title=title)


def _missing(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name)
    return value is None or value == [] or value == ""


def _fill(fields: dict[str, Any], layer: dict[str, Any]) -> bool:
    """Copy into ``fields`` what ``layer`` has and ``fields`` lacks; True if anything was used."""
    used = False
    for name, value in layer.items():
        if value is None or value == [] or value == "":
            continue
        if _missing(fields, name):
            fields[name] = value
            used = True
    return used


def _has_cast(credits: list) -> bool:
    return any(c.get("category") in ("actor", "actress", "cast") for c in credits)


def extract(body: bytes | str, url: str, status: int, content_type: str | None) -> PageResult:
    url_tconst = tconst_from_url(url) if isinstance(url, str) else None
    text, raw = classify.decode(body)
    verdict = classify.classify_envelope(text, status, content_type, raw)
    if verdict:
        return _result(verdict[0], verdict[1], url_tconst, None)

    tag_at, source = next_data.locate(text, raw)
    data = None
    if tag_at >= 0:
        data = next_data.load(source)
        if data is None:
            return _result(PageKind.TRUNCATED, "__NEXT_DATA__ cut off or broken", url_tconst, None)
    found, subpage = classify.page_tconst(text, tag_at)
    if subpage:
        return _result(PageKind.OTHER, f"not a title page: /{subpage}", url_tconst, found)

    view: dict = {}
    eras: list[str] = []
    if data is not None:
        view, view_id, eras = next_data.title_view(data, url_tconst)
        found = view_id or found
    ld = json_ld.load(text)
    if ld is not None and found is None:
        found = json_ld.found_tconst(ld)
    if found is None:
        return _result(PageKind.OTHER, "no title page markers", url_tconst, None)
    if url_tconst is not None and found != url_tconst:
        return _result(
            PageKind.WRONG_TITLE, f"page is about {found}, not {url_tconst}", url_tconst, found
        )

    fields: dict[str, Any] = {}
    layers: list[str] = []
    old: dict[str, Any] = legacy.read(text) if data is None else {}
    used_html = _fill(fields, {name: old.get(name) for name in _LEGACY_FIRST})
    if view and _fill(fields, next_data.read_fields(view)):
        layers.append("next:" + "+".join(eras))
    ld_fields = json_ld.read_fields(ld) if ld is not None else {}
    ld_credits = ld_fields.pop("credits", None)
    if _fill(fields, ld_fields):
        layers.append("json-ld")

    if data is None:
        used_html |= _fill(fields, html.read_legacy(text))
        used_html |= _fill(fields, old)
    # Only fields the JSON layers lack are looked for in the markup (before __NEXT_DATA__).
    ids = html.TestIds(text, tag_at)
    # The hero block is read only without JSON: with JSON, a null there means the page shows
    # no such value (the hero then holds placeholders such as an "in development" note).
    if data is None and any(_missing(fields, name) for name in _HERO_FIELDS):
        used_html |= _fill(fields, html.read_hero(ids))
    elif any(_missing(fields, name) for name in _HERO_RATING_FIELDS):
        # The rating bar is never a placeholder: a figure it shows that the JSON lacks (a
        # page whose vote count exists only as the rounded "16K") is the page's value.
        hero = html.read_hero(ids)
        used_html |= _fill(fields, {name: hero.get(name) for name in _HERO_RATING_FIELDS})
    if _missing(fields, "storyline"):
        used_html |= _fill(fields, html.read_storyline(ids))
    wanted = {name for name in _DETAIL_FIELDS if _missing(fields, name)}
    if wanted:
        used_html |= _fill(fields, html.read_details(ids, wanted))
    credits = fields.get("credits") or []
    if not _has_cast(credits):
        cast = html.read_cast(ids)
        if cast:
            credits = [*credits, *cast]
            used_html = True
    if not credits and ld_credits:
        credits = ld_credits
        if "json-ld" not in layers:
            layers.append("json-ld")
    fields["credits"] = credits
    if _missing(fields, "more_like_this"):
        cards = html.read_more_like_this(ids)
        if cards:
            fields["more_like_this"] = cards
            used_html = True
    if used_html:
        layers.append("html" if data is not None else "legacy-html")

    record = TitleRecord(tconst=found, url=url, layout=",".join(layers) or "none")
    for name in _SCALAR_FIELDS:
        record[name] = fields.get(name)  # type: ignore[literal-required]
    for name in _LIST_FIELDS:
        record[name] = fields.get(name) or []  # type: ignore[literal-required]
    return _result(PageKind.TITLE, None, url_tconst, found, record)
