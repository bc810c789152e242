"""Full credits: every cast member and every crew department of a title, with how much
of each the page lists, from ``/title/<tconst>/fullcredits`` (or ``/reference``).

Layouts read (``FullCreditsResult.layout``):

- ``fullcredits-next``: the current page; ``__NEXT_DATA__`` holds
  ``props.pageProps.contentData.categories[]``, each with IMDb's ``id``, its ``name`` and a
  ``section`` of ``items`` (``id`` = nconst, ``rowTitle``, ``characters``, ``attributes``)
  and the category's ``total``.  Every cast member is listed; a crew category lists its
  first people only (the page loads the rest from an API we do not use): ``listed`` and
  ``total`` say how many.
- ``reference-next``: a ``/reference`` page, ``props.pageProps.mainColumnData.categories[]``
  with the same item shape.  Since late 2025 these use concept ids
  (``amzn1.imdb.concept.name_credit_category.<uuid>``): the ones seen on real pages are
  mapped to IMDb's category ids; any other is kept as given.
- ``fullcredits-legacy``: the pre-2021 page; one ``<h4 class="dataHeaderWithBorder">``
  heading per department, followed by a ``simpleCreditsTable`` (the cast: a ``cast_list``
  table).  Everything is listed; headings are mapped to the same ids.

The cast is ``actor``/``actress`` where the page says so (the first people of the cast, in
the GraphQL answers the Next.js pages embed; the episode links of a legacy series), else
``cast``.  Pure Python; every scan is ``str.find`` from known anchors, one forward pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from crawler.extraction import classify, legacy, next_data
from crawler.extraction.body import Body, read_utf8_first
from crawler.extraction.next_data import dig
from crawler.ids import NCONST_PATTERN, is_tconst, tconst_from_url
from crawler.records import (
    CreditCategoryRecord,
    FullCreditRecord,
    FullCreditsResult,
    PageKind,
)

NEXT_LAYOUT = "fullcredits-next"
REFERENCE_LAYOUT = "reference-next"
LEGACY_LAYOUT = "fullcredits-legacy"
CAST = "cast"
_CAST_ROLES = frozenset({"actor", "actress"})
_NCONST_RE = re.compile(NCONST_PATTERN)
_HREF_NCONST_RE = re.compile(rf"/name/({NCONST_PATTERN})")
_MAX_ITEMS = 20_000  # lines of one page: Titanic's has ~2,000 on the old layout
_MAX_SECTIONS = 200

# Headings of the legacy page -> IMDb's category ids.  The 2021 legacy page carries the id
# itself (``<h4 name="director" id="director" ...>Directed by``): this table is that page's,
# plus "Other crew", which the 2013 pages show where it shows "Additional Crew".  Series
# pages prefix some headings with "Series " (removed before the lookup).
LEGACY_HEADINGS: dict[str, str] = {
    "directed by": "director",
    "writing credits": "writer",
    "cast": "cast",
    "produced by": "producer",
    "music by": "composer",
    "cinematography by": "cinematographer",
    "film editing by": "editor",
    "casting by": "casting_director",
    "production design by": "production_designer",
    "art direction by": "art_director",
    "set decoration by": "set_decorator",
    "costume design by": "costume_designer",
    "makeup department": "make_up_department",
    "production management": "production_manager",
    "second unit director or assistant director": "assistant_director",
    "art department": "art_department",
    "sound department": "sound_department",
    "special effects by": "special_effects",
    "visual effects by": "visual_effects",
    "stunts": "stunts",
    "camera and electrical department": "camera_department",
    "animation department": "animation_department",
    "casting department": "casting_department",
    "costume and wardrobe department": "costume_department",
    "editorial department": "editorial_department",
    "location management": "location_management",
    "music department": "music_department",
    "script and continuity department": "script_department",
    "transportation department": "transportation_department",
    "additional crew": "miscellaneous",
    "other crew": "miscellaneous",
    "thanks": "thanks",
}

# Concept ids of 2025 reference pages -> IMDb's category ids: each seen on a real page, whose
# categories come in the same order and under the same headings as the id-carrying ones.
_CONCEPT = "amzn1.imdb.concept.name_credit_category."
CONCEPT_IDS: dict[str, str] = {
    "amzn1.imdb.concept.name_credit_group.7caf7d16-5db9-4f4f-8864-d4c6e711c686": "cast",
    _CONCEPT + "a9ab2a8b-9153-4edb-a27a-7c2346830d77": "actor",
    _CONCEPT + "7f6d81aa-23aa-4503-844d-38201eb08761": "actress",
    _CONCEPT + "ace5cb4c-8708-4238-9542-04641e7c8171": "director",
    _CONCEPT + "c84ecaff-add5-4f2e-81db-102a41881fe3": "writer",
    _CONCEPT + "0af123ce-1605-4a51-93cf-7ad477b11832": "producer",
    _CONCEPT + "00f5faa0-5f76-4eb5-87a1-ec8d484d1779": "composer",
    _CONCEPT + "e2bf7217-c947-461b-aa58-47e27da1c78e": "cinematographer",
    _CONCEPT + "63b1f9c6-9d3b-4be6-88fc-6321c9fa5ae2": "editor",
    _CONCEPT + "67b6990c-f7de-4882-916b-dad87ec4406a": "casting_director",
    _CONCEPT + "ce558628-5755-438c-92d7-757518864a00": "production_designer",
    _CONCEPT + "60a44752-af76-44f7-9de0-ec51aea2180d": "art_director",
    _CONCEPT + "359a8a76-1c15-4fd1-bd31-26c7e2a046f8": "set_decorator",
    _CONCEPT + "a2d21716-45de-40e2-9f7d-9de01fc34a71": "costume_designer",
    _CONCEPT + "c3f25a53-cdb2-4260-ab78-1ef0a6052ee1": "make_up_department",
    _CONCEPT + "b3eac1a6-a62b-4f46-8b93-5331b94f6af3": "production_manager",
    _CONCEPT + "306aa45f-30d6-4786-a7f9-b3103ebca806": "assistant_director",
    _CONCEPT + "d782ea94-18fe-4513-a71c-7cdd652ef2d8": "art_department",
    _CONCEPT + "ce258419-131b-41f0-b2c5-227f5d9b719f": "sound_department",
    _CONCEPT + "856eb49a-7610-47d5-9a07-c7df3f715075": "special_effects",
    _CONCEPT + "fcb0b804-e618-4044-8a74-79e94d17e3cd": "visual_effects",
    _CONCEPT + "79cc5241-902a-4d4b-971d-27a3590fa1f4": "stunts",
    _CONCEPT + "daf5bc70-1a41-413b-af5a-af1e285bf049": "camera_department",
    _CONCEPT + "44d5f7aa-fe79-46e8-a72a-0f861c37bfff": "animation_department",
    _CONCEPT + "5c60f6fa-29f1-40a4-8fe5-b4c26a6a7db4": "casting_department",
    _CONCEPT + "19e9f38d-89a0-4963-91c1-e3958f1d4534": "costume_department",
    _CONCEPT + "2677b7dc-373c-41d1-8b13-7bdc171ca372": "editorial_department",
    _CONCEPT + "95338d09-b2a1-4188-ac9f-55f5255bb437": "location_management",
    _CONCEPT + "aad1533c-6974-45a4-ba98-5f2f43286cfc": "music_department",
    _CONCEPT + "bf32c344-897c-4e0a-b401-36bfa2c3669e": "script_department",
    _CONCEPT + "8c952a79-f27c-4e5a-be85-b114b0ecd04e": "transportation_department",
    _CONCEPT + "a7c2d410-e513-4bd7-85d5-73060ec46a84": "miscellaneous",
}


def category_of(raw_id: str) -> str:
    """IMDb's category id for an id as a page gives it (concept ids mapped, else as is)."""
    return CONCEPT_IDS.get(raw_id, raw_id)


# --- "job (note) (note) &": the text of a credit ---------------------------------------------

_PAREN_RE = re.compile(r"[()]")
_EPISODES_RE = re.compile(
    r"([0-9]{1,6}) episodes?(?:,\s*([0-9]{4})(?:\s*[-–]\s*([0-9]{4}))?)?", re.IGNORECASE
)
_CONNECTORS = ("&", "and", ",")


class CreditText(NamedTuple):
    """A credit's text split as the pipelines split notes (see ``pipelines.credits``)."""

    job: str | None  # what stands outside brackets, connectors ("&", "and") dropped
    credited_as: str | None
    attributes: list[str]
    uncredited: bool
    episodes: tuple[int, int | None, int | None] | None  # (count, first year, last year)


def _clean(text: str) -> str:
    return " ".join(text.split())


def split_brackets(text: str) -> tuple[str, list[str]]:
    """(text outside brackets, each top-level bracketed part) of ``"job (a) (b (c)) &"``.

    Each ")" closes the nearest open "(" (one pass, a stack); a bracket left unpaired is
    text as shown ("((stunt performer)" -> ("(", ["stunt performer"]))."""
    if "(" not in text:
        return _clean(text), []
    opened: list[int] = []
    pairs: list[tuple[int, int]] = []  # in the order they close: inner ones first
    for m in _PAREN_RE.finditer(text):
        if m.group() == "(":
            opened.append(m.start())
        elif opened:
            pairs.append((opened.pop(), m.start()))
    outside: list[str] = []
    parts: list[str] = []
    pos = 0
    for start, end in sorted(pairs):
        if start >= pos:  # not inside a pair already taken
            outside.append(text[pos:start])
            parts.append(text[start + 1 : end])
            pos = end + 1
    outside.append(text[pos:])
    return _clean(" ".join(outside)), [p for x in parts if (p := _clean(x))]


def _drop_connectors(text: str) -> str:
    """ "written by &" -> "written by"; "and" -> "" (the words joining credits)."""
    words = text.split(" ")
    while words and words[-1] in _CONNECTORS:
        words.pop()
    return " ".join(words)


def episodes_of(note: str) -> tuple[int, int | None, int | None] | None:
    """ "90 episodes, 2005-2017" -> (90, 2005, 2017); "1 episode, 2009" -> (1, 2009, None)."""
    m = _EPISODES_RE.fullmatch(note.strip())
    if m is None:
        return None
    start, end = m.group(2), m.group(3)
    return int(m.group(1)), int(start) if start else None, int(end) if end else None


def parse_credit_text(text: str) -> CreditText:
    """ "associate producer (as Pamela Easley Harris)" -> job, credited_as; "(voice)
    (uncredited)" -> attributes ["voice"], uncredited; "(5 episodes, 2005-2007)" -> episodes."""
    if not text:
        return CreditText(None, None, [], False, None)
    outside, parts = split_brackets(text)
    credited_as: str | None = None
    attributes: list[str] = []
    uncredited = False
    episodes = None
    for part in parts:
        low = part.lower()
        if low == "uncredited":
            uncredited = True
        elif low.startswith("as ") and credited_as is None and part[3:].strip():
            credited_as = part[3:].strip()
        elif episodes is None and (found := episodes_of(part)) is not None:
            episodes = found
        else:
            attributes.append(part)
    # A note said twice ("(IMAX version)" after each of two jobs) is one attribute.
    attributes = list(dict.fromkeys(attributes))
    # A bracket left unpaired at either end is no part of a job ("((stunt performer)").
    job = _drop_connectors(outside).strip("() ")
    return CreditText(job or None, credited_as, attributes, uncredited, episodes)


def _record(
    category: str,
    ordering: int,
    nconst: str | None,
    name: str,
    characters: list[str],
    text: CreditText,
) -> FullCreditRecord:
    count, first, last = text.episodes or (None, None, None)
    return FullCreditRecord(
        category=category,
        ordering=ordering,
        nconst=nconst if isinstance(nconst, str) and _NCONST_RE.fullmatch(nconst) else None,
        name=name,
        characters=characters,
        job=text.job,
        credited_as=text.credited_as,
        attributes=text.attributes,
        uncredited=text.uncredited,
        episode_count=count,
        episode_start_year=first,
        episode_end_year=last,
    )


# --- __NEXT_DATA__ ----------------------------------------------------------------------


class NextCredits(NamedTuple):
    layout: str
    found_tconst: str | None
    credits: list[FullCreditRecord]
    categories: list[CreditCategoryRecord]


def next_categories(data: dict) -> tuple[str, list] | None:
    """(layout, the categories list) of a parsed ``__NEXT_DATA__``, or None when it is not a
    credits page (a title page has neither list)."""
    pp = dig(data, "props", "pageProps")
    cats = dig(pp, "contentData", "categories")
    if isinstance(cats, list):
        return NEXT_LAYOUT, cats
    cats = dig(pp, "mainColumnData", "categories")
    if isinstance(cats, list):
        return REFERENCE_LAYOUT, cats
    return None


def next_tconst(data: dict) -> str | None:
    """The tconst the page says it is about (its route query, pageProps, or its data)."""
    pp = dig(data, "props", "pageProps")
    for value in (
        dig(data, "query", "tconst"),
        dig(pp, "tconst"),
        dig(pp, "contentData", "entityMetadata", "id"),
        dig(pp, "contentData", "data", "title", "id"),
        dig(pp, "mainColumnData", "id"),
    ):
        if is_tconst(value):
            return str(value)
    return None


class _Roles(NamedTuple):
    """What the page's embedded GraphQL answers add to its list items: the cast role
    (actor/actress) and, on series, the episode counts, keyed (category, nconst)."""

    cast_roles: dict[str, str]
    episodes: dict[tuple[str, str], tuple[int, int | None, int | None]]


def _graphql_nodes(data: dict) -> Iterator[tuple[str, dict, str | None]]:
    """(category, credit node, its own role's category) of each credit the page embeds."""
    pp = dig(data, "props", "pageProps")
    for groups in (
        dig(pp, "contentData", "data", "title", "creditCategories"),
        dig(pp, "mainColumnData", "creditCategories"),
    ):
        for group in groups if isinstance(groups, list) else []:
            category = dig(group, "category", "id")
            for edge in dig(group, "credits", "edges") or []:
                node = dig(edge, "node")
                if isinstance(category, str) and isinstance(node, dict):
                    yield category, node, dig(node, "category", "id")
    for edge in dig(pp, "mainColumnData", "creditGroupings", "edges") or []:
        group_id = dig(edge, "node", "grouping", "groupingId")
        for credit in dig(edge, "node", "credits", "edges") or []:
            node = dig(credit, "node")
            role = dig(node, "creditedRoles", "edges", 0, "node", "category", "categoryId")
            if isinstance(group_id, str) and isinstance(node, dict):
                yield (
                    category_of(group_id),
                    node,
                    category_of(role) if isinstance(role, str) else None,
                )


def _episodes_node(value: Any) -> tuple[int, int | None, int | None] | None:
    """``{"total": 62, "yearRange": {"year": 2008, "endYear": 2013}}`` -> (62, 2008, 2013)."""
    total = dig(value, "total")
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        return None
    first, last = dig(value, "yearRange", "year"), dig(value, "yearRange", "endYear")
    return (
        total,
        first if isinstance(first, int) and not isinstance(first, bool) else None,
        last if isinstance(last, int) and not isinstance(last, bool) else None,
    )


def _roles(data: dict) -> _Roles:
    roles = _Roles({}, {})
    for n, (category, node, role) in enumerate(_graphql_nodes(data)):
        if n >= _MAX_ITEMS:
            break
        nconst = dig(node, "name", "id")
        if not isinstance(nconst, str):
            continue
        if category == CAST and role in _CAST_ROLES:
            roles.cast_roles.setdefault(nconst, str(role))
        episodes = _episodes_node(node.get("episodeCredits"))
        if episodes is not None:
            roles.episodes.setdefault((category, nconst), episodes)
    return roles


def _next_item(item: Any, category: str, ordering: int, roles: _Roles) -> FullCreditRecord | None:
    name = item.get("rowTitle") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name.strip():
        return None
    nconst = item.get("id")
    nconst = nconst if isinstance(nconst, str) and _NCONST_RE.fullmatch(nconst) else None
    chars = item.get("characters")
    characters = (
        [_clean(c) for c in chars if isinstance(c, str) and c.strip()]
        if isinstance(chars, list)
        else []
    )
    attrs = item.get("attributes")
    text = parse_credit_text(attrs if isinstance(attrs, str) else "")
    role = category
    if category == CAST:
        role = roles.cast_roles.get(nconst or "", CAST)
        if text.job:  # a cast line has no job: what stands outside brackets is a note
            text = text._replace(job=None, attributes=[text.job, *text.attributes])
    if text.episodes is None:
        found = roles.episodes.get((category, nconst or "")) or _episodes_node(
            item.get("episodeCredits")
        )
        text = text._replace(episodes=found)
    return _record(role, ordering, nconst, _clean(name), characters, text)


def _next_category(
    cat: Any, roles: _Roles, credits: list[FullCreditRecord]
) -> CreditCategoryRecord | None:
    """Appends the category's credits to ``credits``; returns its record."""
    raw_id = cat.get("id") if isinstance(cat, dict) else None
    if not isinstance(raw_id, str) or not raw_id:
        return None
    category = category_of(raw_id)
    items = dig(cat, "section", "items")
    listed = 0
    for item in items if isinstance(items, list) else []:
        if len(credits) >= _MAX_ITEMS:
            break
        record = _next_item(item, category, listed + 1, roles)
        if record is not None:
            listed += 1
            credits.append(record)
    total = dig(cat, "section", "total")
    split = dig(cat, "section", "splitIndex")  # index of the last one in credits order
    name = cat.get("name")
    return CreditCategoryRecord(
        category=category,
        category_id=raw_id,
        name=_clean(name) if isinstance(name, str) else None,
        listed=listed,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        alphabetical_from=split + 2
        if isinstance(split, int) and not isinstance(split, bool) and 0 <= split + 1 < listed
        else None,
    )


def read_next(data: dict) -> NextCredits | None:
    """The credits of a parsed ``__NEXT_DATA__`` of a full credits or reference page, or
    None when it is neither."""
    found = next_categories(data)
    if found is None:
        return None
    layout, cats = found
    roles = _roles(data)
    credits: list[FullCreditRecord] = []
    categories: list[CreditCategoryRecord] = []
    for cat in cats[:_MAX_SECTIONS]:
        record = _next_category(cat, roles, credits)
        if record is not None:
            categories.append(record)
    return NextCredits(layout, next_tconst(data), credits, categories)


# --- legacy HTML --------------------------------------------------------------------------

_HEADING = 'class="dataHeaderWithBorder"'
_CAST_TABLE = '<table class="cast_list"'
_CREW_TABLE = "simpleCreditsTable"
_PAGE_ID_RE = re.compile(r"[a-z][a-z_]{0,60}")
# Notes and characters of a legacy cast line are on lines of their own, a blank line apart.
_BLANK_LINE_RE = re.compile(r"\n[ \t\r\f\v]*\n")
_NOTE_WORDS = ("uncredited", "voice", "archive footage", "archive sound", "credit only")


def _legacy_sections(text: str) -> Iterator[tuple[str, str, str]]:
    """(the heading's start tag, its inner markup, the markup up to the next heading) of
    each department, in page order."""
    at = text.find(_HEADING, max(0, text.find('id="fullcredits_content"')))
    count = 0
    while at >= 0 and count < _MAX_SECTIONS:
        count += 1
        tag_end = legacy._tag_end(text, at)
        nxt = text.find(_HEADING, tag_end)
        hi = len(text) if nxt < 0 else nxt
        open_at = text.rfind("<h4", max(0, at - 500), at)
        close = text.find("</h4>", tag_end, min(hi, tag_end + 3_000))
        if open_at >= 0 and close >= 0:
            yield text[open_at:tag_end], text[tag_end:close], text[close + 5 : hi]
        at = nxt


def _heading(tag: str, inner: str) -> tuple[str, str | None, str]:
    """(category, the id the page gives it or None, heading as shown without its notes)."""
    name = legacy.text_of(inner).split("(", 1)[0].strip()
    page_id = legacy._attr(tag, "id")
    if page_id is not None and _PAGE_ID_RE.fullmatch(page_id):
        return page_id, page_id, name
    key = name.lower().removeprefix("series ").strip()
    return LEGACY_HEADINGS.get(key, name), None, name


def _table(body: str, marker: str) -> str | None:
    at = body.find(marker)
    if at < 0:
        return None
    end = body.find("</table>", at)
    return body[at : len(body) if end < 0 else end]


def _rows(table: str) -> Iterator[str]:
    """Each ``<tr>...</tr>`` (one missing its ``</tr>`` ends where the next row starts)."""
    pos = count = 0
    while count < _MAX_ITEMS and (at := table.find("<tr", pos)) >= 0:
        nxt = table.find("<tr", at + 3)
        hi = len(table) if nxt < 0 else nxt
        end = table.find("</tr>", at, hi)
        pos = hi if end < 0 else end
        count += 1
        yield table[at:pos]


def _cell(row: str, marker: str) -> str | None:
    """The inner markup of the first cell whose start tag begins with ``marker``."""
    at = row.find(marker)
    if at < 0:
        return None
    gt = legacy._tag_end(row, at + 3)
    end = row.find("</td>", gt)
    return row[gt : len(row) if end < 0 else end]


def _person(fragment: str) -> tuple[str | None, str]:
    """(nconst, name) of the first person link with a name; else (None, the text shown)."""
    for href, shown in legacy._links(fragment):
        m = _HREF_NCONST_RE.search(href)
        if m and shown:
            return m.group(1), shown
    return None, legacy.text_of(fragment).removesuffix("...").strip()


def _crew_row(row: str, category: str, ordering: int) -> FullCreditRecord | None:
    cell = _cell(row, '<td class="name"')
    if cell is None:
        return None  # the blank rows between groups of writers
    nconst, name = _person(cell)
    if not name:
        return None
    credit = _cell(row, '<td class="credit"')
    text = parse_credit_text(legacy.text_of(credit) if credit is not None else "")
    if category == "writer" and text.job is None and text.attributes:
        # Writers' jobs stand in brackets here ("(screenplay) and"), outside on newer pages
        text = text._replace(job=text.attributes[0], attributes=text.attributes[1:])
    return _record(category, ordering, nconst, name, [], text)


def _trailing_notes(shown: str) -> tuple[str, list[str]]:
    """ "Dujour (White Rabbit Girl) (uncredited)" -> ("Dujour (White Rabbit Girl)",
    ["(uncredited)"]): the bracketed notes at the end, as far as they read as notes."""
    notes: list[str] = []
    end = len(shown)
    while end > 0 and shown[end - 1] == ")":
        depth = 0
        at = end - 1
        while at >= 0:  # back to the "(" that opens this group
            depth += {")": 1, "(": -1}.get(shown[at], 0)
            if depth == 0:
                break
            at -= 1
        note = shown[at + 1 : end - 1].strip().lower() if at >= 0 else ""
        if not (note.startswith("as ") or note in _NOTE_WORDS or episodes_of(note)):
            break
        notes.append(shown[at:end])
        end = at
        while end > 0 and shown[end - 1].isspace():
            end -= 1
    notes.reverse()
    return shown[:end], notes


def _characters(cell: str) -> tuple[list[str], str]:
    """(characters, the text of the notes) of a character cell without its episode link."""
    blank = _BLANK_LINE_RE.search(cell)
    if blank is not None:
        shown, notes = legacy.text_of(cell[: blank.start()]), legacy.text_of(cell[blank.end() :])
    else:
        shown, found = _trailing_notes(legacy.text_of(cell))
        notes = " ".join(found)
    names = [c.strip() for c in shown.split(" / ")]
    return [c for c in names if c and c != "..."], notes


def _cast_row(row: str, ordering: int) -> FullCreditRecord | None:
    char_at = row.find('<td class="character"')
    if char_at < 0:
        return None
    nconst, name = _person(row[:char_at])
    cell = _cell(row[char_at:], '<td class="character"')
    if not name or cell is None:
        return None
    role = CAST
    episodes = ""
    toggle = cell.find('class="toggle-episodes"')
    if toggle >= 0:  # series: <a class="toggle-episodes" onclick="...'actor'...">90 episodes, ...
        link_at = cell.rfind("<a ", 0, toggle)
        link_at = toggle if link_at < 0 else link_at
        tag_end = cell.find(">", toggle)
        tag = cell[link_at : len(cell) if tag_end < 0 else tag_end]
        role = next((r for r in ("actress", "actor") if f"'{r}'" in tag), CAST)
        episodes = f"({legacy.text_of(cell[link_at:])})"
        cell = cell[:link_at]
    characters, notes = _characters(cell)
    text = parse_credit_text(f"{notes} {episodes}")
    if text.job:  # a cast line has no job: what stands outside brackets is a note
        text = text._replace(job=None, attributes=[text.job, *text.attributes])
    return _record(role, ordering, nconst, name, characters, text)


def _legacy_cast(table: str, credits: list[FullCreditRecord]) -> tuple[int, int | None]:
    """Appends the cast to ``credits``: (people listed, ordering where the alphabetical
    rest of the cast starts, or None)."""
    listed = 0
    alphabetical_from = None
    for row in _rows(table):
        if len(credits) >= _MAX_ITEMS:
            break
        record = _cast_row(row, listed + 1)
        if record is not None:
            listed += 1
            credits.append(record)
        elif listed and 'class="castlist_label"' in row and legacy.text_of(row):
            alphabetical_from = listed + 1  # "Rest of cast listed alphabetically:"
    return listed, alphabetical_from if alphabetical_from and alphabetical_from <= listed else None


def read_legacy(text: str) -> tuple[list[FullCreditRecord], list[CreditCategoryRecord]]:
    """Every department of a legacy full credits page, in page order, with its people."""
    credits: list[FullCreditRecord] = []
    categories: list[CreditCategoryRecord] = []
    for tag, inner, body in _legacy_sections(text):
        category, page_id, name = _heading(tag, inner)
        cast_at, crew_at = body.find(_CAST_TABLE), body.find(_CREW_TABLE)
        alphabetical_from = None
        if cast_at >= 0 and (crew_at < 0 or cast_at < crew_at):
            listed, alphabetical_from = _legacy_cast(_table(body, _CAST_TABLE) or "", credits)
        else:
            listed = 0
            for row in _rows(_table(body, _CREW_TABLE) or ""):
                record = _crew_row(row, category, listed + 1)
                if record is not None and len(credits) < _MAX_ITEMS:
                    listed += 1
                    credits.append(record)
        categories.append(
            CreditCategoryRecord(
                category=category,
                category_id=page_id,
                name=name or None,
                listed=listed,
                total=listed,  # the old page lists everyone
                alphabetical_from=alphabetical_from,
            )
        )
    return credits, categories


# --- the page -----------------------------------------------------------------------------


def is_legacy_credits(text: str, subpage: str | None) -> bool:
    """A pre-2021 full credits page: its content block, or department headings on a page
    whose canonical URL is the full credits one."""
    return 'id="fullcredits_content"' in text or (subpage == "fullcredits" and _HEADING in text)


def _result(
    kind: PageKind,
    reason: str | None,
    tconst: str | None,
    found: str | None = None,
    layout: str | None = None,
) -> FullCreditsResult:
    return FullCreditsResult(
        kind=kind,
        layout=layout,
        reason=reason,
        tconst=tconst,
        found_tconst=found,
        credits=[],
        categories=[],
    )


def _read(body: bytes | str, url: str, status: int, content_type: str | None) -> FullCreditsResult:
    return read_utf8_first(lambda page: _read_page(page, url, status, content_type), body)


def _read_page(page: Body, url: str, status: int, content_type: str | None) -> FullCreditsResult:
    url_tconst = tconst_from_url(url) if isinstance(url, str) else None
    verdict = classify.classify_envelope(page, status, content_type)
    if verdict:
        return _result(verdict[0], verdict[1], url_tconst)
    tag_at, source = next_data.locate(page.page)
    found, subpage = classify.page_tconst(page)
    if tag_at >= 0:
        data = next_data.load(source)
        if data is None:
            return _result(PageKind.TRUNCATED, "__NEXT_DATA__ cut off or broken", url_tconst)
        read = read_next(data)
        if read is None:
            return _result(PageKind.OTHER, "not a full credits page", url_tconst, found)
        layout, found = read.layout, read.found_tconst or found
        credits, categories = read.credits, read.categories
    elif is_legacy_credits(page.text, subpage):
        layout = LEGACY_LAYOUT
        credits, categories = read_legacy(page.text)
        if not categories:
            return _result(PageKind.OTHER, "no credit departments on the page", url_tconst, found)
    else:
        return _result(PageKind.OTHER, "not a full credits page", url_tconst, found)
    if found is None:
        return _result(PageKind.OTHER, "the page does not say which title", url_tconst)
    if url_tconst is not None and found != url_tconst:
        reason = f"page is about {found}, not {url_tconst}"
        return _result(PageKind.WRONG_TITLE, reason, url_tconst, found, layout)
    result = _result(PageKind.CREDITS, None, url_tconst, found, layout)
    result["credits"], result["categories"] = credits, categories
    return result


def extract_full_credits(
    body: bytes | str, url: str, status: int = 200, content_type: str | None = None
) -> FullCreditsResult:
    """Classify a fetched full credits (or /reference) page and read every credit on it.

    Never raises: whatever goes wrong becomes a result of kind OTHER with the reason.
    ``kind`` is CREDITS for a credits page of the title the URL asked for; CHALLENGE, EMPTY,
    TRUNCATED and WRONG_TITLE as for title pages (see ``crawler.extraction.classify``).
    """
    try:
        return _read(body, url, status, content_type)
    except Exception as exc:  # a broken page must not stop a crawl
        try:
            tconst = tconst_from_url(url) if isinstance(url, str) else None
        except Exception:
            tconst = None
        return _result(PageKind.OTHER, f"extraction error: {exc!r}"[:300], tconst)


def classify_full_credits(
    body: bytes | str, url: str, status: int = 200, content_type: str | None = None
) -> tuple[PageKind, str | None, str | None]:
    """(kind, layout, reason) of a fetched full credits response: ``CREDITS`` with the layout
    ("fullcredits-next", "reference-next", "fullcredits-legacy"), else why it is not one."""
    result = extract_full_credits(body, url, status, content_type)
    return result["kind"], result["layout"], result["reason"]
