"""Pre-2021 ("legacy") title pages: the markup IMDb served before the redesign.

Two generations are read alike: 2013-2014 pages (``id="overview-top"``, ``star-box``)
and 2016-2020 pages (``class="title_wrapper"``, ``ratings_wrapper``).  Both carry the
"People who liked this also liked..." cards (``rec_item`` / ``rec_overview``), the
``cast_list`` table, ``<h4 class="inline">Label:</h4>`` blocks for the crew lines and the
Details / Box office / Tech specs sections, and ``#titleStoryLine``.

Every scan is ``str.find`` from a known anchor with a bounded window, one forward pass
each: hostile markup (unclosed tags, repeated anchors) costs linear time.  Text is made
visible with :func:`crawler.extraction.html.text_of` (itself linear).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from crawler.ids import NCONST_PATTERN, TCONST_PATTERN
from crawler.records import CreditRecord, SimilarTitleRecord

_WINDOW = 200_000  # a section never spans more than this
_BLOCK = 30_000  # one "Label:" block
_MAX_ITEMS = 2_000  # cards, cast rows, blocks: a page has far fewer

_NCONST_RE = re.compile(rf"/name/({NCONST_PATTERN})")
_TCONST_RE = re.compile(rf"({TCONST_PATTERN})")
_YEAR_RE = re.compile(r"([0-9]{4})(?:\s*[–-]\s*([0-9]{4})?)?")
_INT_RE = re.compile(r"[0-9][0-9,]*")
_NOTE_RE = re.compile(r"\(([^()]*)\)")
_CODE_RE = re.compile(
    r"(?:/country/|/language/|[?&]country=|[?&]country_of_origin=|[?&]primary_language="
    r"|[?&]languages=)([A-Za-z]{2,4})\b"
)
_COMPANY_RE = re.compile(r"/company/(co[0-9]+)")
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january", "february", "march", "april", "may", "june", "july", "august",
            "september", "october", "november", "december",
        ),
        1,
    )
}
_DATE_RE = re.compile(r"^(?:(?:([0-9]{1,2})\s+)?([A-Za-z]+)\s+)?([0-9]{4})\b")
_AWARD_WON_RE = re.compile(r"Won ([0-9]+) ([A-Z][A-Za-z ]*?)s?\.")
_AWARD_NOM_RE = re.compile(r"Nominated for ([0-9]+) ([A-Z][A-Za-z ]*?)s?\.")
_WINS_RE = re.compile(r"([0-9]+) wins?\b")
_NOMS_RE = re.compile(r"([0-9]+) nominations?\b")


_TAG_NAME_RE = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
# Elements that flow within a line: "Adam Jones (<a>Bradley Cooper</a>)" reads without spaces.
_TAG_STOP_RE = re.compile(r"[\"'>]")
_INLINE = frozenset({"a", "span", "b", "i", "em", "strong", "small", "abbr", "time", "u"})
_SKIPPED = ("script", "style", "svg")


def _tag_end(text: str, pos: int) -> int:
    """Offset after the ``>`` that ends the tag whose attributes start at ``pos``; quoted
    values may hold ``<`` and ``>`` (an author's "Name <mail@host>" in an href)."""
    n = len(text)
    while (m := _TAG_STOP_RE.search(text, pos)) is not None:
        if m.group() == ">":
            return m.end()
        close = text.find(m.group(), m.end())
        if close < 0:
            return n
        pos = close + 1
    return n


def text_of(fragment: str) -> str:
    """The text a reader sees in a fragment: tags dropped (inline ones without a space),
    comments, scripts and svgs hidden, entities decoded, whitespace collapsed.  One forward
    pass: an unclosed tag, quote or comment hides the rest, as in a browser."""
    out: list[str] = []
    pos = 0
    n = len(fragment)
    while pos < n:
        lt = fragment.find("<", pos)
        if lt < 0:
            out.append(fragment[pos:])
            break
        out.append(fragment[pos:lt])
        if fragment.startswith("<!--", lt):
            end = fragment.find("-->", lt + 4)
            pos = n if end < 0 else end + 3
            continue
        m = _TAG_NAME_RE.match(fragment, lt)
        if not m:
            out.append("<")
            pos = lt + 1
            continue
        name = m.group(1).lower()
        pos = _tag_end(fragment, m.end())
        out.append("" if name in _INLINE else " ")
        if name in _SKIPPED and fragment[lt + 1] != "/":
            end = fragment.find(f"</{name}>", pos)
            pos = n if end < 0 else end + len(name) + 3
    return " ".join(html.unescape("".join(out)).split())


def _cut(text: str, start: str, end: str, lo: int = 0, limit: int = _WINDOW) -> str | None:
    """``text`` from the first ``start`` (at or after ``lo``) to the next ``end`` (or
    ``limit`` characters on, when ``end`` is missing)."""
    at = text.find(start, lo)
    if at < 0:
        return None
    hi = min(len(text), at + limit)
    stop = text.find(end, at + len(start), hi)
    return text[at : hi if stop < 0 else stop]


def _inner(tag_and_rest: str) -> str:
    """What follows the ``>`` closing the first tag of the fragment."""
    gt = tag_and_rest.find(">")
    return tag_and_rest[gt + 1 :] if gt >= 0 else ""


def _attr(fragment: str, name: str) -> str | None:
    """The value of ``name="..."`` in the fragment's first tag."""
    gt = fragment.find(">")
    head = fragment if gt < 0 else fragment[:gt]
    m = re.search(rf'\s{re.escape(name)}="', head)
    if m is None:
        return None
    lo = m.end()
    hi = head.find('"', lo)
    return head[lo:hi] if hi >= 0 else None


def _links(fragment: str) -> list[tuple[str, str]]:
    """(href, visible text) of each ``<a ...>...</a>``, in order."""
    out: list[tuple[str, str]] = []
    pos = 0
    while len(out) < _MAX_ITEMS:
        at = fragment.find("<a ", pos)
        if at < 0:
            break
        gt = _tag_end(fragment, at + 3) - 1
        end = fragment.find("</a>", gt)
        if end < 0:
            end = len(fragment)
        out.append((_attr(fragment[at:gt + 1], "href") or "", text_of(fragment[gt + 1 : end])))
        pos = end + 1
    return out


def _notes(text: str) -> list[str]:
    return [n.strip() for n in _NOTE_RE.findall(text) if n.strip()]


def _without_notes(text: str) -> str:
    return " ".join(_NOTE_RE.sub(" ", text).split())


# --- title, year, plot ----------------------------------------------------------------------


def _header(text: str) -> str | None:
    """The title block: from the title wrapper (2016+) or overview (2013) to its end."""
    for anchor in ('class="title_wrapper"', 'id="overview-top"'):
        block = _cut(text, anchor, 'class="plot_summary', limit=60_000)
        if block:
            return block
    return None


def read_title(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    head = _header(text)
    if head is None:
        return out
    h1 = _cut(head, "<h1", "</h1>", limit=5_000)
    if h1:
        inner = _inner(h1)
        stops = [
            i
            for i in (inner.find('<span id="titleYear"'), inner.find('<span class="nobr"'),
                      inner.find("<br"))
            if i >= 0
        ]
        name = text_of(inner[: min(stops)] if stops else inner)
        if name:
            out["primary_title"] = name
        year = _YEAR_RE.search(text_of(inner[min(stops) :])) if stops else None
        if year is None:  # series: "TV Series (2005–2017)" in the subtext
            release = _cut(head, 'title="See more release dates"', "</a>", limit=2_000)
            year = _YEAR_RE.search(text_of(_inner(release))) if release else None
        if year:
            out["start_year"] = int(year.group(1))
            if year.group(2):
                out["end_year"] = int(year.group(2))
    original = _cut(head, 'class="originalTitle"', '<span class="description"', limit=2_000)
    if original is None:
        original = _cut(head, 'class="title-extra"', "<i>", limit=2_000)
    if original is not None:
        value = text_of(_inner(original)).strip('"').strip()
        if value:
            out["original_title"] = value
    return out


def read_plot(text: str) -> dict[str, Any]:
    """The outline under the title and the Storyline summary, as text a reader sees."""
    out: dict[str, Any] = {}
    plot = _cut(text, 'class="summary_text"', "</div>", limit=20_000)
    if plot is None:
        head = _cut(text, 'id="overview-top"', 'id="overview-bottom"', limit=60_000)
        plot = _cut(head, 'itemprop="description"', "</p>", limit=20_000) if head else None
    if plot is not None:
        # "See full summary" links end a cut outline; they are not part of it.
        value = text_of(_inner(plot.split('<a href="plotsummary', 1)[0]))
        value = value.removesuffix("See full summary »").strip()
        if value and not value.startswith("Add a Plot"):  # the page's placeholder
            out["plot"] = value
    story = _cut(text, 'id="titleStoryLine"', '<span class="see-more', limit=40_000)
    summary = _cut(story, 'class="inline canwrap"', "</div>", limit=30_000) if story else None
    if summary is not None:
        body = _inner(summary)
        written = body.find('<em class="nobr">')
        author = None
        if written >= 0:
            author = text_of(body[written:]).removeprefix("Written by").strip() or None
            body = body[:written]
        value = text_of(body)
        if value:
            out["storyline"] = value
            out["storyline_author"] = author
    return out


# --- rating bar, reviews, awards ------------------------------------------------------------


def read_rating(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    bar = _cut(text, 'class="ratings_wrapper"', 'class="star-rating-widget"', limit=10_000)
    if bar is not None:
        value = _cut(bar, 'class="ratingValue"', "</strong>", limit=2_000)
        if value:
            span = _cut(value, "<span", "</span>", limit=500)
            if span and text_of(_inner(span)):
                out["average_rating"] = text_of(_inner(span))
        votes = _cut(bar, '<span class="small"', "</span>", limit=500)
        if votes and text_of(_inner(votes)):
            out["num_votes"] = text_of(_inner(votes))
    score = _cut(text, 'class="metacriticScore', "</span>", limit=1_000)
    if score:
        m = _INT_RE.search(text_of(_inner(_inner(score))))
        if m:
            out["metascore"] = int(m.group())
    for field, href in (("user_review_count", 'href="reviews?'),
                        ("critic_review_count", 'href="externalreviews?')):
        link = _cut(text, href, "</a>", limit=1_000)
        if link is None:
            continue
        shown = text_of(_inner(link)) or (_attr("<a " + link, "title") or "")
        m = _INT_RE.match(shown)
        if m:
            out[field] = m.group()
    awards = _cut(text, 'id="titleAwardsRanks"', '<span class="see-more', limit=10_000)
    if awards is not None:
        out.update(_awards(awards))
    return out


def _awards(block: str) -> dict[str, Any]:
    parts: list[str] = []
    for marker in ('class="awards-blurb"', 'itemprop="awards"'):
        pos = 0
        while len(parts) < 10 and (at := block.find(marker, pos)) >= 0:
            end = block.find("</span>", at)
            end = len(block) if end < 0 else end
            # a <b> inside the span closes first: read up to the span's own closer
            bold = block.find("<b>", at, end)
            if bold >= 0:
                end2 = block.find("</span>", end + 1)
                end = end if end2 < 0 else end2
            parts.append(text_of(_inner(block[at:end])))
            pos = end
    line = " ".join(p for p in parts if p)
    if not line:
        return {}
    out: dict[str, Any] = {}
    prize_wins = prize_noms = 0
    won = _AWARD_WON_RE.search(line)
    nominated = _AWARD_NOM_RE.search(line)
    if won:
        out["prestigious_award"] = won.group(2)
        prize_wins = int(won.group(1))
        out["prestigious_award_wins"] = prize_wins
    if nominated:
        out.setdefault("prestigious_award", nominated.group(2))
        prize_noms = int(nominated.group(1))
        out["prestigious_award_nominations"] = prize_noms
    rest = line[won.end() if won else nominated.end() if nominated else 0 :]
    wins = _WINS_RE.search(rest)
    noms = _NOMS_RE.search(rest)
    if wins or won:
        out["awards_wins"] = prize_wins + (int(wins.group(1)) if wins else 0)
    if noms or nominated:
        out["awards_nominations"] = prize_noms + (int(noms.group(1)) if noms else 0)
    return out


# --- "Label:" blocks: crew lines and details --------------------------------------------------


def blocks(text: str) -> list[tuple[str, str]]:
    """(label without the colon, content up to the block's ``</div>``) of each
    ``<h4 class="inline">Label:</h4>`` of the page, in page order."""
    out: list[tuple[str, str]] = []
    pos = 0
    opener = '<h4 class="inline"'
    while len(out) < _MAX_ITEMS and (at := text.find(opener, pos)) >= 0:
        close = text.find("</h4>", at, at + 1_000)
        if close < 0:
            pos = at + len(opener)
            continue
        label = text_of(_inner(text[at:close])).rstrip(":").strip()
        lo = close + len("</h4>")
        end = text.find("</div>", lo, lo + _BLOCK)
        end = min(len(text), lo + _BLOCK) if end < 0 else end
        out.append((label, text[lo:end]))
        pos = end
    return out


_CREW = {
    "Director": "director",
    "Directors": "director",
    "Writer": "writer",
    "Writers": "writer",
    "Creator": "creator",
    "Creators": "creator",
}


def _crew(category: str, content: str) -> list[CreditRecord]:
    """People linked in a crew line, each with the notes that follow its link."""
    out: list[CreditRecord] = []
    content = content.split('<span class="ghost">', 1)[0]
    pos = 0
    while len(out) < _MAX_ITEMS and (at := content.find("<a ", pos)) >= 0:
        gt = content.find(">", at)
        if gt < 0:
            break
        end = content.find("</a>", gt)
        end = len(content) if end < 0 else end
        nxt = content.find("<a ", end)
        href = _attr(content[at : gt + 1], "href") or ""
        m = _NCONST_RE.search(href)
        pos = end + 1
        if not m:  # "2 more credits"
            continue
        tail = text_of(content[end : len(content) if nxt < 0 else nxt])
        if any(c["nconst"] == m.group(1) and c["notes"] == _notes(tail) for c in out):
            continue  # a line that names one person twice (seen on series pages)
        out.append(
            CreditRecord(
                category=category,
                ordering=len(out) + 1,
                nconst=m.group(1),
                name=text_of(content[gt + 1 : end]),
                characters=[],
                notes=_notes(tail),
            )
        )
    return out


def _items(content: str) -> list[str]:
    """The values of a block as shown, split at its "|" separators."""
    shown = text_of(content.split('<span class="see-more', 1)[0])
    return [x.strip() for x in shown.split("|") if x.strip()]


def _money(content: str) -> str | None:
    """ "$144,446, 31 October 1999, Limited Release" -> "$144,446": the amount and the
    notes in brackets after it; an amount never has ", " inside."""
    shown = text_of(content)
    return shown.split(", ", 1)[0].strip() or None


def _iso_date(shown: str) -> tuple[str | None, str | None]:
    """ "15 August 1979 (USA)" -> ("1979-08-15", "USA")."""
    country = _NOTE_RE.search(shown)
    m = _DATE_RE.match(shown.strip())
    if not m:
        return None, country.group(1).strip() if country else None
    day, month, year = m.groups()
    iso = year
    if month and month.lower() in _MONTHS:
        iso += f"-{_MONTHS[month.lower()]:02d}"
        if day:
            iso += f"-{int(day):02d}"
    return iso, country.group(1).strip() if country else None


def _countries(body: str) -> dict[str, Any]:
    links = [(h, t) for h, t in _links(body) if t]
    return {
        "countries_of_origin": [t for _, t in links] or _items(body),
        "countries_of_origin_codes": [
            m.group(1).upper() for h, _ in links if (m := _CODE_RE.search(h))
        ],
    }


def _languages(body: str) -> dict[str, Any]:
    links = [(h, t) for h, t in _links(body) if t]
    return {
        "spoken_languages": [t for _, t in links] or _items(body),
        "spoken_language_codes": [
            m.group(1).lower() for h, _ in links if (m := _CODE_RE.search(h))
        ],
    }


def _release_date(body: str) -> dict[str, Any]:
    shown = text_of(body)
    if not shown:
        return {}
    release_date, release_country = _iso_date(shown)
    return {"release_date": release_date, "release_country": release_country}


def _also_known_as(body: str) -> dict[str, Any]:
    return {"also_known_as": [text_of(body)] if text_of(body) else []}


def _filming_locations(body: str) -> dict[str, Any]:
    return {"filming_locations": [t for _, t in _links(body) if t] or _items(body)}


def _production(body: str) -> dict[str, Any]:
    links = [(h, t) for h, t in _links(body) if t]
    return {
        "production_companies": [t for _, t in links],
        "production_company_ids": [m.group(1) for h, _ in links if (m := _COMPANY_RE.search(h))],
    }


def _runtime(body: str) -> dict[str, Any]:
    items = _items(body)
    # "194 min (2 parts)": the figure, not the note
    return {"runtime_minutes": _without_notes(items[0])} if items else {}


def _keywords(body: str) -> dict[str, Any]:
    links = _links(body)
    return {"keywords": [t for h, t in links if t and ("/keyword/" in h or "keywords=" in h)]}


def _taglines(body: str) -> dict[str, Any]:
    tagline = text_of(body)
    return {"taglines": [tagline]} if tagline else {}


def _as(field: str, read: Callable[[str], Any]) -> Callable[[str], dict[str, Any]]:
    """A block reader that sets ``field`` to what ``read`` finds in the block."""
    return lambda body: {field: read(body)}


def _usa_money(field: str) -> Callable[[str], dict[str, Any]]:
    """A reader of a money block that counts only when it is marked "(USA)"."""
    return lambda body: {field: _money(body)} if "(USA)" in text_of(body) else {}


# "Label:" of a details block -> its reader (the block's content, "See more" cut off -> fields).
_BLOCK_READERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "Country": _countries,
    "Countries": _countries,
    "Language": _languages,
    "Languages": _languages,
    "Release Date": _release_date,
    "Also Known As": _also_known_as,
    "Filming Locations": _filming_locations,
    "Production Co": _production,
    "Budget": _as("budget", _money),
    "Opening Weekend USA": _as("opening_weekend_us_canada", _money),
    "Opening Weekend": _usa_money("opening_weekend_us_canada"),
    "Gross USA": _as("gross_us_canada", _money),
    "Gross": _usa_money("gross_us_canada"),
    "Cumulative Worldwide Gross": _as("gross_worldwide", _money),
    "Runtime": _runtime,
    "Sound Mix": _as("sound_mix", _items),
    "Color": _as("color", _items),
    "Aspect Ratio": _as("aspect_ratio", _items),
    "Plot Keywords": _keywords,
    "Taglines": _taglines,
}


def read_blocks(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    credits: list[CreditRecord] = []
    for label, content in blocks(text):
        if label in _CREW:
            category = _CREW[label]
            if not any(c["category"] == category for c in credits):
                credits += _crew(category, content)
            continue
        read = _BLOCK_READERS.get(label)
        if read is not None:
            out.update(read(content.split('<span class="see-more', 1)[0]))
    if credits:
        out["credits"] = credits
    return out


# --- cast table -------------------------------------------------------------------------------


def read_cast(text: str) -> list[CreditRecord]:
    table = _cut(text, '<table class="cast_list"', "</table>")
    if table is None:
        return []
    out: list[CreditRecord] = []
    pos = 0
    while len(out) < _MAX_ITEMS and (at := table.find("<tr", pos)) >= 0:
        end = table.find("</tr>", at)
        end = len(table) if end < 0 else end
        row = table[at:end]
        pos = end + 1
        char_at = row.find('<td class="character"')
        if char_at < 0:
            continue  # "Cast overview, first billed only:", "Rest of cast listed ..."
        person = row[:char_at]
        name = None
        nconst = None
        for href, shown in _links(person):
            m = _NCONST_RE.search(href)
            if m and shown:
                nconst, name = m.group(1), shown
                break
        if not name:
            continue
        cell = row[char_at:]
        notes: list[str] = []
        category = "cast"
        toggle = cell.find('class="toggle-episodes"')
        if toggle >= 0:  # "<a href="#" class="toggle-episodes" onclick="...'actor'...">90 episodes"
            link_at = cell.rfind("<a ", 0, toggle)
            link_at = toggle if link_at < 0 else link_at
            tag_end = cell.find(">", toggle)
            tag = cell[link_at : len(cell) if tag_end < 0 else tag_end]
            for role in ("actress", "actor"):
                if f"'{role}'" in tag:
                    category = role
                    break
            episodes = text_of(cell[link_at:])
            cell = cell[:link_at]
            if episodes:
                notes.append(episodes)
        shown = text_of(_inner(cell))
        # "Colonel Everett Young / ..." : the "..." stands for characters not shown
        characters = [
            c.strip() for c in _without_notes(shown).split(" / ") if c.strip() not in ("", "...")
        ]
        out.append(
            CreditRecord(
                category=category,
                ordering=len(out) + 1,
                nconst=nconst,
                name=name,
                characters=characters,
                notes=_notes(shown) + notes,
            )
        )
    return out


# --- "People who liked this also liked..." ------------------------------------------------


def read_recommendations(text: str) -> list[SimilarTitleRecord]:
    """The cards in page order: each ``rec_item`` (tconst, the title its poster names),
    completed from its ``rec_overview`` (title, year, genres, rating, votes) when present."""
    area = _cut(text, 'id="title_recs"', 'id="titleRecs-end"', limit=_WINDOW)
    if area is None:
        return []
    overviews_at = area.find('class="rec_overviews"')
    items = area if overviews_at < 0 else area[:overviews_at]
    cards: list[SimilarTitleRecord] = []
    pos = 0
    while len(cards) < _MAX_ITEMS and (at := items.find('class="rec_item"', pos)) >= 0:
        gt = items.find(">", at)
        if gt < 0:
            break
        pos = gt
        m = _TCONST_RE.fullmatch(_attr("<div " + items[at:gt + 1], "data-tconst") or "")
        if not m:
            continue
        nxt = items.find('class="rec_item"', gt)
        img = _cut(items[gt : len(items) if nxt < 0 else nxt], "<img", ">", limit=3_000)
        title = _attr(img, "title") if img else None
        cards.append(
            SimilarTitleRecord(
                rank=len(cards) + 1,
                tconst=m.group(1),
                primary_title=text_of(title) if title else None,
                original_title=None,
                title_type=None,
                start_year=None,
                end_year=None,
                average_rating=None,
                num_votes=None,
                genres=[],
            )
        )
    if overviews_at >= 0:
        by_id = {c["tconst"]: c for c in cards}
        pos = overviews_at
        seen = 0
        while seen < _MAX_ITEMS and (at := area.find('<div class="rec_overview"', pos)) >= 0:
            seen += 1
            nxt = area.find('<div class="rec_overview"', at + 1)
            overview = area[at : len(area) if nxt < 0 else nxt]
            pos = at + 1
            tconst = _attr(overview, "data-tconst")
            card = by_id.get(tconst or "")
            if card is not None:
                _complete(card, overview)
    return cards


def _complete(card: SimilarTitleRecord, overview: str) -> None:
    title = _cut(overview, 'class="rec-title"', "</div>", limit=5_000)
    if title is not None:
        bold = _cut(title, "<b>", "</b>", limit=2_000)
        if bold and text_of(bold):
            card["primary_title"] = text_of(bold)
        year = _cut(title, '<span class="nobr">', "</span>", limit=500)
        shown = text_of(year) if year else ""
        m = _YEAR_RE.search(shown)
        if m:
            card["start_year"] = int(m.group(1))
            card["end_year"] = int(m.group(2)) if m.group(2) else None
        if "TV Series" in shown or "TV Mini" in shown:
            card["title_type"] = "tvMiniSeries" if "Mini" in shown else "tvSeries"
    genre = _cut(overview, 'class="rec-cert-genre', "</div>", limit=5_000)
    if genre is not None:
        genres = [g.strip() for g in text_of(_inner(genre)).split("|") if g.strip()]
        card["genres"] = genres
    rating = _cut(overview, 'class="rec-rating"', 'class="rating-bg"', limit=5_000)
    label = _attr("<div " + rating[rating.find('class="rating rating-list"'):], "title") if (
        rating and 'class="rating rating-list"' in rating
    ) else None
    if label:  # "Users rated this 8.1/10 (121,002 votes) - click stars to rate"
        value = label.removeprefix("Users rated this ")
        slash = value.find("/10")
        if slash > 0:
            card["average_rating"] = value[:slash]
        votes = _NOTE_RE.search(value)
        if votes and votes.group(1).endswith(" votes"):
            card["num_votes"] = votes.group(1).removesuffix(" votes")


# --- all of it ------------------------------------------------------------------------------


def read(text: str) -> dict[str, Any]:
    """Every TitleRecord field a legacy page shows (values as shown)."""
    out: dict[str, Any] = {}
    out.update(read_rating(text))
    out.update(read_blocks(text))
    out.update(read_plot(text))
    out.update(read_title(text))
    cast = read_cast(text)
    if cast:
        out["credits"] = [*out.get("credits", []), *cast]
    cards = read_recommendations(text)
    if cards:
        out["more_like_this"] = cards
    return out
