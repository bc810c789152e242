"""The schema.org JSON-LD block of a title page, with the keys the real pages use."""

from __future__ import annotations

from typing import Any

from crawler.records import CreditRecord, TitleRecord
from mirror.render.common import by_category, iso_duration

_LD_TYPE = {
    "tvSeries": "TVSeries",
    "tvMiniSeries": "TVSeries",
    "tvEpisode": "TVEpisode",
    "videoGame": "VideoGame",
}


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


def _add_people(ld: dict[str, Any], groups: dict[str, list[CreditRecord]]) -> None:
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


def json_ld(record: TitleRecord) -> dict:
    """The schema.org block of the page, with the keys the real pages use."""
    r = record
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
    _add_people(ld, by_category(r.get("credits", [])))
    runtime = r.get("runtime_minutes")
    if isinstance(runtime, int):
        ld["duration"] = iso_duration(runtime)
    return ld
