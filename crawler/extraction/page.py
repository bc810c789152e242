"""Orchestration: classify the page, then fill each field from the best layer that has it.

Layers, best first: ``__NEXT_DATA__`` JSON, JSON-LD, ``data-testid`` HTML slices (and the
microdata of pre-2021 pages).  HTML is only searched for fields the JSON layers lack.
"""

from __future__ import annotations

from typing import Any

from crawler.extraction import classify, html, json_ld, legacy, next_data
from crawler.extraction.body import Body, read_utf8_first
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
    return read_utf8_first(lambda page: _extract(page, url, status, content_type), body)


def _extract(page: Body, url: str, status: int, content_type: str | None) -> PageResult:
    url_tconst = tconst_from_url(url) if isinstance(url, str) else None
    verdict = classify.classify_envelope(page, status, content_type)
    if verdict:
        return _result(verdict[0], verdict[1], url_tconst, None)

    tag_at, source = next_data.locate(page.page)
    data = None
    if tag_at >= 0:
        data = next_data.load(source)
        if data is None:
            return _result(PageKind.TRUNCATED, "__NEXT_DATA__ cut off or broken", url_tconst, None)
    found, subpage = classify.page_tconst(page, tag_at)
    if subpage:
        return _result(PageKind.OTHER, f"not a title page: /{subpage}", url_tconst, found)

    view: dict = {}
    eras: list[str] = []
    if data is not None:
        view, view_id, eras = next_data.title_view(data, url_tconst)
        found = view_id or found
    ld = json_ld.load(page.page)
    if ld is not None and found is None:
        found = json_ld.found_tconst(ld)
    if found is None:
        return _result(PageKind.OTHER, "no title page markers", url_tconst, None)
    if url_tconst is not None and found != url_tconst:
        return _result(
            PageKind.WRONG_TITLE, f"page is about {found}, not {url_tconst}", url_tconst, found
        )
    if data is None:
        fields, layers = _legacy_fields(page.text, ld)
    else:
        fields, layers = _next_fields(page.page, tag_at, view, eras, ld)
    return _result(PageKind.TITLE, None, url_tconst, found, _record(found, url, fields, layers))


def _legacy_fields(text: str, ld: dict | None) -> tuple[dict[str, Any], list[str]]:
    """The fields of a page without ``__NEXT_DATA__``, and the layers they came from: what a
    legacy page shows first, then JSON-LD, then the rest of its markup."""
    fields: dict[str, Any] = {}
    layers: list[str] = []
    old = legacy.read(text)
    used_html = _fill(fields, {name: old.get(name) for name in _LEGACY_FIRST})
    ld_credits = _fill_json_ld(fields, layers, ld)
    used_html |= _fill(fields, html.read_legacy(text))
    used_html |= _fill(fields, old)
    used_html |= _fill_markup(fields, layers, html.TestIds(text), False, ld_credits)
    if used_html:
        layers.append("legacy-html")
    return fields, layers


def _next_fields(
    page: str | bytes, tag_at: int, view: dict, eras: list[str], ld: dict | None
) -> tuple[dict[str, Any], list[str]]:
    """The fields of a page with ``__NEXT_DATA__``, and the layers they came from: its
    title view, then JSON-LD, then the markup before the script for what both lack."""
    fields: dict[str, Any] = {}
    layers: list[str] = []
    if view and _fill(fields, next_data.read_fields(view)):
        layers.append("next:" + "+".join(eras))
    ld_credits = _fill_json_ld(fields, layers, ld)
    if _fill_markup(fields, layers, html.TestIds(page, tag_at), True, ld_credits):
        layers.append("html")
    return fields, layers


def _fill_json_ld(fields: dict[str, Any], layers: list[str], ld: dict | None) -> list | None:
    """Fill from the JSON-LD what ``fields`` lacks.  Its credits are returned, not filled:
    they are used only when no other layer has any."""
    ld_fields = json_ld.read_fields(ld) if ld is not None else {}
    ld_credits = ld_fields.pop("credits", None)
    if _fill(fields, ld_fields):
        layers.append("json-ld")
    return ld_credits


def _fill_markup(
    fields: dict[str, Any],
    layers: list[str],
    ids: html.TestIds,
    has_json: bool,
    ld_credits: list | None,
) -> bool:
    """Fill from the ``data-testid`` markup only the fields the layers before lack, then the
    credits; True if the markup was used."""
    used = False
    # The hero block is read only without JSON: with JSON, a null there means the page shows
    # no such value (the hero then holds placeholders such as an "in development" note).
    if not has_json and any(_missing(fields, name) for name in _HERO_FIELDS):
        used |= _fill(fields, html.read_hero(ids))
    elif any(_missing(fields, name) for name in _HERO_RATING_FIELDS):
        # The rating bar is never a placeholder: a figure it shows that the JSON lacks (a
        # page whose vote count exists only as the rounded "16K") is the page's value.
        hero = html.read_hero(ids)
        used |= _fill(fields, {name: hero.get(name) for name in _HERO_RATING_FIELDS})
    if _missing(fields, "storyline"):
        used |= _fill(fields, html.read_storyline(ids))
    wanted = {name for name in _DETAIL_FIELDS if _missing(fields, name)}
    if wanted:
        used |= _fill(fields, html.read_details(ids, wanted))
    credits, source = _credits(fields.get("credits") or [], ids, ld_credits)
    fields["credits"] = credits
    used |= source == "html"
    if source == "json-ld" and "json-ld" not in layers:
        layers.append("json-ld")
    if _missing(fields, "more_like_this"):
        used |= _fill(fields, {"more_like_this": html.read_more_like_this(ids)})
    return used


def _credits(credits: list, ids: html.TestIds, ld_credits: list | None) -> tuple[list, str | None]:
    """The credits completed with the page's cast when they have none, else with JSON-LD's
    when they are empty; and the layer that added to them ("html", "json-ld"), if one did."""
    if not _has_cast(credits):
        cast = html.read_cast(ids)
        if cast:
            return [*credits, *cast], "html"
    if not credits and ld_credits:
        return ld_credits, "json-ld"
    return credits, None


def _record(tconst: str, url: str, fields: dict[str, Any], layers: list[str]) -> TitleRecord:
    record = TitleRecord(tconst=tconst, url=url, layout=",".join(layers) or "none")
    for name in _SCALAR_FIELDS:
        record[name] = fields.get(name)  # type: ignore[literal-required]
    for name in _LIST_FIELDS:
        record[name] = fields.get(name) or []  # type: ignore[literal-required]
    return record
