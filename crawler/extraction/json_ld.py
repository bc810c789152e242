"""The JSON-LD layer (``<script type="application/ld+json">``): schema.org Movie/TVSeries."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson

from crawler.extraction.body import utf8_or_raise
from crawler.ids import NCONST_PATTERN, tconst_from_url
from crawler.records import CreditRecord

_LD_RE = re.compile(r"""<script[^>]{0,80}?type=["']application/ld\+json["'][^>]{0,80}>""")
_LD_WIDE_BYTES_RE = re.compile(_LD_RE.pattern.replace("{0,80}", "{0,320}").encode())
_NCONST_RE = re.compile(rf"/name/({NCONST_PATTERN})")
_DATE_RE = re.compile(r"[0-9]{4}(?:-[0-9]{2}){0,2}")
_TYPES = {
    "Movie": "movie",
    "TVSeries": "tvSeries",
    "TVEpisode": "tvEpisode",
    "VideoGame": "videoGame",
    "CreativeWork": None,
}


def load(page: str | bytes) -> dict | None:
    """The first JSON-LD object of the page (a ``Body.page``), or None (absent, cut or broken)."""
    span = _ld_tag(page) if isinstance(page, bytes) else _ld_tag_text(page)
    if span is None:
        return None
    close = "</script>" if isinstance(page, str) else b"</script>"
    end = page.find(close, span)  # type: ignore[arg-type]
    if end < 0:
        return None
    try:
        data = orjson.loads(page[span:end])
    except ValueError:
        utf8_or_raise(page[span:end])
        return None
    if isinstance(data, list):
        data = next((d for d in data if isinstance(d, dict)), None)
    return data if isinstance(data, dict) else None


def _ld_tag_text(text: str) -> int | None:
    m = _LD_RE.search(text)
    return m.end() if m else None


def _ld_tag(page: bytes) -> int | None:
    """Where the first tag ``_LD_RE`` finds in the text ends, found in the UTF-8 bytes: each
    tag the text pattern finds is one the wider bytes pattern finds (a character is 1-4
    bytes), and each bytes find is checked on its own text."""
    pos = 0
    while (m := _LD_WIDE_BYTES_RE.search(page, pos)) is not None:
        if _LD_RE.match(m.group().decode("utf-8")):  # from "<" to ">": whole characters
            return m.end()  # the same ">" ends both: none lies between
        pos = m.start() + 1
    return None


def found_tconst(data: dict) -> str | None:
    url = data.get("url")
    return tconst_from_url(url) if isinstance(url, str) else None


def _str(value: Any) -> str | None:
    return html.unescape(value).strip() or None if isinstance(value, str) else None


def _people(value: Any) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    return [
        p for p in items if isinstance(p, dict) and p.get("@type") == "Person" and p.get("name")
    ]


def read_fields(data: dict) -> dict[str, Any]:
    """TitleRecord fields the JSON-LD carries; values as found ("8.1" stays a string)."""
    out: dict[str, Any] = {}
    name = _str(data.get("name"))
    if name:
        out["primary_title"] = name
    alt = _str(data.get("alternateName"))
    if alt:
        out["also_known_as"] = [alt]
    kind = data.get("@type")
    if isinstance(kind, str) and _TYPES.get(kind):
        out["title_type"] = _TYPES[kind]
    genre = data.get("genre")
    if isinstance(genre, str):
        genre = [genre]
    if isinstance(genre, list):
        out["genres"] = [html.unescape(g) for g in genre if isinstance(g, str)]
    rating = data.get("aggregateRating")
    if isinstance(rating, dict):
        if rating.get("ratingValue") is not None:
            out["average_rating"] = rating["ratingValue"]
        if rating.get("ratingCount") is not None:
            out["num_votes"] = rating["ratingCount"]
    for key, field in (
        ("contentRating", "certificate"),
        ("description", "plot"),
        ("image", "poster_url"),
    ):
        value = _str(data.get(key))
        if value:
            out[field] = value
    published = data.get("datePublished")
    if isinstance(published, str) and _DATE_RE.fullmatch(published):
        out["release_date"] = published
        out["start_year"] = int(published[:4])
    keywords = data.get("keywords")
    if isinstance(keywords, str) and keywords:
        out["keywords"] = [html.unescape(k) for k in keywords.split(",") if k]
    # schema.org "creator" holds the writers of a film, the creators of a series.
    creator = "creator" if kind == "TVSeries" else "writer"
    credits = [
        credit
        for key, category in (("director", "director"), ("creator", creator), ("actor", "cast"))
        for credit in _credits(category, data.get(key))
    ]
    if credits:
        out["credits"] = credits
    return out


def _credits(category: str, people: Any) -> list[CreditRecord]:
    """A credit for each person of one schema.org role, numbered in order."""
    credits: list[CreditRecord] = []
    seen: set[str] = set()
    for person in _people(people):
        m = _NCONST_RE.search(person.get("url") or "")
        nconst = m.group(1) if m else None
        if nconst and nconst in seen:  # creator lists repeat people across credits
            continue
        if nconst:
            seen.add(nconst)
        credits.append(
            CreditRecord(
                category=category,
                ordering=len(credits) + 1,
                nconst=nconst,
                name=html.unescape(person["name"]),
                characters=[],
                notes=[],
            )
        )
    return credits
