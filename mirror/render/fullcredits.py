"""A title's full credits page in the current (Next.js) layout: ``__NEXT_DATA__`` with
``props.pageProps.contentData.categories[]`` (each category's ``id``, ``name`` and a
``section`` of ``items`` with its ``total``), the GraphQL answers the real page embeds for
each category's first people (``contentData.data.title.creditCategories``: the cast's
actor/actress, episode counts), and a plain HTML list of the same.

As on the real page, every cast member is listed and a crew category lists its first ten
people: ``listed`` and ``total`` differ when it has more.  Markup and key order are written
after the real pages' structure; no text, script or style of theirs is copied.

- :func:`full_credits_of` builds what the page shows from a title record: its credits, plus
  (``made_up_crew``, for synthetic titles only) a few departments of made-up people, one of
  them larger than it lists, and episode counts for a series' cast.
- :func:`render_fullcredits_page_bytes` is what a server answers on
  ``/title/<tconst>/fullcredits`` for a record; :func:`fullcredits_page_from_next_json`
  wraps a real page's ``__NEXT_DATA__`` (``../shared/pages/next-json``) in a page.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from crawler.records import (
    CreditCategoryRecord,
    CreditRecord,
    FullCreditRecord,
    TitleRecord,
)
from mirror.render.common import esc, script_json

LISTED_PER_CATEGORY = 10  # a crew category lists its first ten; the cast is listed whole
_CAST = ("actor", "actress", "cast")
_ORDER = ("director", "writer", "creator", "cast")
# Headings as the real page words them: (one person, several).
_NAMES = {
    "director": ("Director", "Directors"),
    "writer": ("Writer", "Writers"),
    "creator": ("Creator", "Creators"),
    "cast": ("Cast", "Cast"),
    "composer": ("Composer", "Composers"),
    "cinematographer": ("Cinematographer", "Cinematographers"),
    "editor": ("Editor", "Editors"),
    "sound_department": ("Sound Department", "Sound Department"),
    "visual_effects": ("Visual Effects", "Visual Effects"),
}
_SERIES = ("tvSeries", "tvMiniSeries")


class FullCredits(NamedTuple):
    """What a full credits page shows: the people of each category (listed ones only, in
    page order) and each category with ``listed``/``total``.  Also what the extractor reads
    back from the rendered page."""

    tconst: str
    credits: list[FullCreditRecord]
    categories: list[CreditCategoryRecord]


# --- what the page shows -----------------------------------------------------------------


def _from_credit(c: CreditRecord, ordering: int) -> FullCreditRecord:
    """A title-page credit as a full credits line; its notes split as the pipelines do."""
    credited_as = None
    attributes: list[str] = []
    uncredited = False
    for note in c.get("notes", []):
        if note.lower() == "uncredited":
            uncredited = True
        elif note.lower().startswith("as ") and credited_as is None:
            credited_as = note[3:].strip()
        elif note not in attributes:
            attributes.append(note)
    return FullCreditRecord(
        category=c.get("category", "cast"),
        ordering=ordering,
        nconst=c.get("nconst"),
        name=c.get("name", ""),
        characters=list(c.get("characters", [])),
        job=None,
        credited_as=credited_as,
        attributes=attributes,
        uncredited=uncredited,
        episode_count=None,
        episode_start_year=None,
        episode_end_year=None,
    )


def _record_groups(record: TitleRecord) -> dict[str, list[FullCreditRecord]]:
    """The record's credits by page category, each in billing order."""
    groups: dict[str, list[CreditRecord]] = {}
    for c in record.get("credits", []):
        key = "cast" if c.get("category") in _CAST else c.get("category", "cast")
        groups.setdefault(key, []).append(c)
    ordered = sorted(groups, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER))
    return {
        key: [
            _from_credit(c, n)
            for n, c in enumerate(sorted(groups[key], key=lambda c: c.get("ordering", 0)), 1)
        ]
        for key in ordered
    }


def _crew_person(rng: random.Random, category: str, ordering: int, job: str) -> FullCreditRecord:
    first = rng.choice(("Alma", "Bruno", "Cleo", "Dmitri", "Edda", "Felix", "Greta", "Hugo"))
    last = rng.choice(("Aalto", "Berg", "Czerny", "Dahl", "Eklund", "Falk", "Gram", "Holm"))
    return FullCreditRecord(
        category=category,
        ordering=ordering,
        nconst=f"nm8{rng.randrange(1_000_000):06d}",
        name=f"{first} {last}",
        characters=[],
        job=job,
        credited_as=None,
        attributes=[],
        uncredited=False,
        episode_count=None,
        episode_start_year=None,
        episode_end_year=None,
    )


def _made_up_crew(tconst: str) -> dict[str, tuple[list[FullCreditRecord], int]]:
    """Made-up departments of a synthetic title: {category: (listed people, total)}.
    Visual effects has more people than the page lists; one sound person has no id."""
    rng = random.Random(f"crew:{tconst}")
    vfx_total = LISTED_PER_CATEGORY + rng.randint(5, 800)
    sound = [_crew_person(rng, "sound_department", n, "sound mixer") for n in (1, 2, 3)]
    sound[2]["nconst"] = None  # a person the page links no id for
    sound[1]["uncredited"] = True
    editors = [_crew_person(rng, "editor", n, "editor") for n in range(1, rng.randint(2, 3))]
    first, last = editors[0]["name"].split()
    editors[0]["credited_as"] = f"{first[0]}. {last}"  # "(as A. Berg)"
    return {
        "composer": ([_crew_person(rng, "composer", 1, "composer")], 1),
        "cinematographer": (
            [_crew_person(rng, "cinematographer", 1, "director of photography")],
            1,
        ),
        "editor": (editors, len(editors)),
        "sound_department": (sound, 3),
        "visual_effects": (
            [
                _crew_person(rng, "visual_effects", n, "digital compositor")
                for n in range(1, LISTED_PER_CATEGORY + 1)
            ],
            vfx_total,
        ),
    }


def _add_episodes(record: TitleRecord, cast: list[FullCreditRecord]) -> None:
    """A series' cast with made-up episode counts within its years."""
    start = record.get("start_year")
    if record.get("title_type") not in _SERIES or not isinstance(start, int):
        return
    end = record.get("end_year")
    for n, c in enumerate(cast, 1):
        c["episode_count"] = max(1, 40 // n)
        c["episode_start_year"] = start
        c["episode_end_year"] = end if isinstance(end, int) and n % 2 else None


def _heading(category: str, total: int) -> str:
    shown = category.replace("_", " ").title()
    one, many = _NAMES.get(category, (shown, shown))
    return one if total == 1 else many


def full_credits_of(record: TitleRecord, *, made_up_crew: bool = False) -> FullCredits:
    """The full credits page of ``record``: its own credits (all listed), plus, with
    ``made_up_crew`` (synthetic titles only: a real title's crew is not made up), a few
    crew departments and a series' episode counts."""
    groups = {k: (v, len(v)) for k, v in _record_groups(record).items()}
    if made_up_crew:
        _add_episodes(record, groups.get("cast", ([], 0))[0])
        groups.update(_made_up_crew(record["tconst"]))
    credits: list[FullCreditRecord] = []
    categories: list[CreditCategoryRecord] = []
    for category, (people, total) in groups.items():
        credits.extend(people)
        categories.append(
            CreditCategoryRecord(
                category=category,
                category_id=category,
                name=_heading(category, total),
                listed=len(people),
                total=total,
                alphabetical_from=None,
            )
        )
    return FullCredits(record["tconst"], credits, categories)


# --- the page ------------------------------------------------------------------------------


def attributes_text(c: FullCreditRecord) -> str:
    """ "associate producer (voice) (as A. Berg) (uncredited)": the item's ``attributes``."""
    parts = [c["job"]] if c.get("job") else []
    parts += [f"({a})" for a in c.get("attributes", [])]
    if c.get("credited_as"):
        parts.append(f"(as {c['credited_as']})")
    if c.get("uncredited"):
        parts.append("(uncredited)")
    return " ".join(p for p in parts if p)


def _item(c: FullCreditRecord, is_cast: bool, series: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"id": c.get("nconst"), "rowTitle": c["name"]}
    if item["id"] is None:
        del item["id"]
    item.update({"isSeries": series, "isCast": is_cast})
    if is_cast:
        item["characters"] = list(c.get("characters", []))
    text = attributes_text(c)
    if text:
        item["attributes"] = text
    item["className"] = "full-credits-page-list-item"
    return item


def _node(c: FullCreditRecord, page_category: str) -> dict[str, Any]:
    """The GraphQL answer the real page embeds for a category's first people."""
    episodes = None
    if c.get("episode_count"):
        episodes = {"year": c.get("episode_start_year"), "endYear": c.get("episode_end_year")}
    return {
        "node": {
            "__typename": "Cast" if page_category == "cast" else "Crew",
            "category": {"id": c["category"], "__typename": "CreditCategory"},
            "name": {
                "id": c.get("nconst"),
                "nameText": {"text": c["name"], "__typename": "NameText"},
                "__typename": "Name",
            },
            "episodeCredits": {
                "total": c.get("episode_count") or 0,
                "yearRange": episodes,
                "__typename": "EpisodeCastConnection",
            },
        },
        "__typename": "CreditEdge",
    }


def fullcredits_next_data(full: FullCredits, *, series: bool = False) -> dict[str, Any]:
    """The ``__NEXT_DATA__`` object of the page."""
    by_category: dict[str, list[FullCreditRecord]] = {}
    for c in full.credits:
        key = "cast" if c["category"] in _CAST else c["category"]
        by_category.setdefault(key, []).append(c)
    categories: list[dict[str, Any]] = []
    embedded: list[dict[str, Any]] = []
    for cat in full.categories:
        people = by_category.get(cat["category"], [])
        is_cast = cat["category"] == "cast"
        section: dict[str, Any] = {
            "items": [_item(c, is_cast, series) for c in people],
            "listItemType": 2,
            "total": cat.get("total"),
        }
        categories.append({"id": cat["category_id"], "name": cat.get("name"), "section": section})
        embedded.append(
            {
                "category": {"id": cat["category"], "__typename": "CreditCategory"},
                "credits": {
                    "total": cat.get("total"),
                    "edges": [_node(c, cat["category"]) for c in people[:LISTED_PER_CATEGORY]],
                },
                "__typename": "TitleCreditCategoryWithCredits",
            }
        )
    title = {"id": full.tconst, "creditCategories": embedded, "__typename": "Title"}
    content = {
        "entityMetadata": {"id": full.tconst},
        "data": {"title": title},
        "categories": categories,
    }
    return {
        "props": {"pageProps": {"contentData": content}},
        "page": "/title/[tconst]/fullcredits",
        "query": {"tconst": full.tconst},
    }


def _visible(full: FullCredits) -> str:
    """The departments as a reader sees them: names, characters or jobs, "N more"."""
    by_category: dict[str, list[FullCreditRecord]] = {}
    for c in full.credits:
        by_category.setdefault("cast" if c["category"] in _CAST else c["category"], []).append(c)
    out = []
    for cat in full.categories:
        rows = []
        for c in by_category.get(cat["category"], []):
            link = f'href="/name/{c["nconst"]}/"' if c.get("nconst") else ""
            detail = " / ".join(c.get("characters", [])) or attributes_text(c)
            rows.append(
                f'<li class="full-credits-page-list-item"><a {link}>{esc(c["name"])}</a>'
                f"<span>{esc(detail)}</span></li>"
            )
        more = (cat.get("total") or 0) - cat["listed"]
        button = f"<button>{more} more</button>" if more > 0 else ""
        out.append(
            f'<section data-testid="sub-section-{esc(cat["category"])}">'
            f"<h3>{esc(cat.get('name') or cat['category'])} {cat.get('total')}</h3>"
            f"<ul>{''.join(rows)}</ul>{button}</section>"
        )
    return "".join(out)


def _page(tconst: str, title: str, main: str, next_json: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"/>'
        f"<title>{esc(title)} - Full cast &amp; crew - IMDb</title>"
        f'<link rel="canonical" href="https://www.imdb.com/title/{tconst}/fullcredits/"/>'
        f'<meta property="og:url" content="https://www.imdb.com/title/{tconst}/fullcredits/"/>'
        f'</head><body><div id="__next"><main role="main"><h1>Full cast &amp; crew</h1>{main}'
        '</main></div><script id="__NEXT_DATA__" type="application/json">'
        f"{next_json}</script></body></html>"
    )


def render_fullcredits_page(record: TitleRecord, *, made_up_crew: bool = False) -> str:
    """The HTML of ``record``'s full credits page (see :func:`full_credits_of`)."""
    full = full_credits_of(record, made_up_crew=made_up_crew)
    series = record.get("title_type") in _SERIES
    data = fullcredits_next_data(full, series=series)
    # Next.js escapes "<" inside its JSON: the first "<" after it is the closing tag.
    next_json = script_json(data).replace("<", "\\u003c")
    title = record.get("primary_title") or record["tconst"]
    return _page(record["tconst"], title, _visible(full), next_json)


def render_fullcredits_page_bytes(record: TitleRecord, *, made_up_crew: bool = False) -> bytes:
    """What ``/title/<tconst>/fullcredits`` answers for a record the mirror has: pass
    ``made_up_crew=True`` for synthetic titles, never for catalogue (real) ones."""
    return render_fullcredits_page(record, made_up_crew=made_up_crew).encode("utf-8")


def fullcredits_page_from_next_json(raw: bytes, tconst: str) -> bytes:
    """A real page's ``__NEXT_DATA__`` (a ``../shared/pages/next-json`` file, read when
    served, never stored here) in a page, escaped as Next.js does ("<" only occurs inside
    JSON strings, where ``\\u003c`` means the same)."""
    head = _page(tconst, tconst, "", "\0").encode("utf-8")
    before, after = head.split(b"\0")
    return before + raw.strip().replace(b"<", b"\\u003c") + after
