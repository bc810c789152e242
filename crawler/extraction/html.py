"""The ``data-testid`` HTML layer: slices of the page found by string search, read by regex.

Nothing parses the whole page: ``section()`` cuts out one element by its ``data-testid``
(matching its closing tag by counting nesting), and the readers work on that slice only.
Values are the text the page shows ("8.3/10", "16K", "$17,923").

Hostile markup must cost linear time.  A regex that scans to a closer (``<!--.*?-->``,
``<[^>]*>``, ``>(.*?)</a>``) and is retried at every later start after a failure is quadratic
when the closer is missing (an unclosed ``<svg `` kept a 600 KB page busy for 74 s): here
such scans either accept the end of the fragment as the closer (an unclosed tag, comment or
svg hides the rest, as in a browser) or are done by ``str.find`` in one forward pass.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterator
from typing import Any

from crawler.extraction.body import find
from crawler.ids import NCONST_PATTERN, TCONST_PATTERN
from crawler.records import CreditRecord, SimilarTitleRecord

_TAG_NAME_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)")
_TAG_NAME_BYTES_RE = re.compile(_TAG_NAME_RE.pattern.encode())
# What may follow a tag's name, as ``[\s>]`` has it in text: ">" or any whitespace character.
_SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()]  # U+3000 is the last
_AFTER_NAME_BYTES = b"(?:" + b"|".join(re.escape(c.encode()) for c in [">", *_SPACES]) + b")"
# Each always matches from its start (to the closer, else to the end): linear in ``sub``.
_TAG_RE = re.compile(r"<[^>]*(?:>|\Z)")
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_SVG_RE = re.compile(r"<svg\b.*?(?:</svg>|\Z)", re.S)
_LIST_ITEM_START_RE = re.compile(r'class="ipc-metadata-list-item__list-content-item[^"]*"')
_NCONST_RE = re.compile(rf'href="/name/({NCONST_PATTERN})')
_MAX_SECTION = 400_000
# How far back from a data-testid its element's "<" is looked for.
_MAX_OPEN_TAG = 3000
# Unclosed elements read before ``sections`` gives up: each costs a scan of _MAX_SECTION.
_MAX_UNCLOSED = 8


def _parent(testid: str) -> str:
    """The prefix up to the last separator: "title-boxoffice-" of "title-boxoffice-budget",
    "title-" of "title-boxoffice-", "" of "title-" and of "plot"."""
    stem = testid[:-1]
    return stem[: max(stem.rfind("-"), stem.rfind("_")) + 1]


class TestIds:
    """Finds elements by data-testid in the page's markup, by ``find`` from known points.

    ``page`` is a ``Body.page``: the text, or the UTF-8 bytes (searched as they are; only the
    elements cut out are decoded).  ``end`` bounds the search (the ``__NEXT_DATA__`` script,
    after the markup, need not be searched).  A title page's head (~300 KB of styles and
    scripts) has no data-testid, and related ones share prefixes ("title-boxoffice-budget",
    "title-boxoffice-grossdomestic"): each search starts at the first data-testid of its
    parent prefix ("title-boxoffice-", itself searched from the first "title-", found once),
    so the Box office fields of a page without that section cost one short search, not one
    long one each.  Within a prefix, the data-testids met are kept (``_Group``): a page
    whose Box office section lacks two of its fields searches past that section once, not
    once for each.
    """

    def __init__(self, page: str | bytes, end: int | None = None) -> None:
        self.page = page
        self.end = len(page) if end is None or end < 0 else end
        self._starts: dict[str, int] = {}
        self._groups: dict[str, _Group] = {}

    def _find(self, needle: str, start: int) -> int:
        return find(self.page, needle, start, self.end)

    def _start(self, prefix: str) -> int:
        """Offset of the first ``data-testid="<prefix>...``, or -1 (memoised)."""
        at = self._starts.get(prefix)
        if at is None:
            lo = self._start(_parent(prefix)) if prefix else 0
            at = -1 if lo < 0 else self._find(f'data-testid="{prefix}', lo)
            self._starts[prefix] = at
        return at

    def first(self, testid: str, start: int = 0) -> int:
        """Offset of the first ``data-testid="<testid>"`` at or after ``start``, or -1."""
        if not testid or '"' in testid:
            return -1
        parent = _parent(testid)
        group = self._groups.get(parent)
        if group is None:
            lo = self._start(parent)
            if lo < 0:
                return -1
            group = self._groups[parent] = _Group(self.page, f'data-testid="{parent}', lo)
        return group.first(f'data-testid="{testid}"', start, self.end)

    def positions(self, testid: str) -> list[int]:
        found: list[int] = []
        at = self.first(testid)
        while at >= 0:
            found.append(at)
            at = self.first(testid, at + 1)
        return found

    def section(self, testid: str) -> tuple[str, int] | None:
        at = self.first(testid)
        return _element_in(self.page, at) if at >= 0 else None

    def sections(self, testid: str) -> list[str]:
        """Each element with this data-testid, outermost only (one nested in another is
        part of it), so that repeated or nested copies cost linear time."""
        out: list[str] = []
        done = unclosed = 0
        for at in self.positions(testid):
            if at < done:
                continue
            found = _element_in(self.page, at)
            if found:
                out.append(found[0])
                done = found[1]
            else:
                unclosed += 1
                if unclosed >= _MAX_UNCLOSED:
                    break
        return out


class _Group:
    """The offsets of ``data-testid="<prefix>`` in a page, found in order from its first,
    and how far they have been searched: a data-testid under that prefix is looked up
    among them, and only past them is the page searched again."""

    __slots__ = ("offsets", "page", "prefix", "searched")

    def __init__(self, page: str | bytes, prefix: str, first: int) -> None:
        # Any: the page and its needles are both text or both bytes.
        self.page: Any = page
        self.prefix: Any = prefix.encode() if isinstance(page, bytes) else prefix
        self.offsets = [first]
        self.searched = first + 1  # every offset before this one is in ``offsets``

    def first(self, needle: str, start: int, end: int) -> int:
        """Offset of the first ``needle`` (which starts with the prefix) in [start, end)."""
        page = self.page
        wanted: Any = needle.encode() if isinstance(page, bytes) else needle
        offsets = self.offsets
        for i in range(bisect.bisect_left(offsets, start), len(offsets)):
            if page.startswith(wanted, offsets[i], end):
                return offsets[i]
        while self.searched < end:
            at = page.find(self.prefix, self.searched, end)
            self.searched = end if at < 0 else at + 1
            if at < 0:
                break
            offsets.append(at)
            if at >= start and page.startswith(wanted, at, end):
                return at
        return -1


def section(text: str, testid: str, start: int = 0) -> tuple[str, int] | None:
    """(outer HTML of the element with this data-testid, end offset), or None."""
    at = text.find(f'data-testid="{testid}"', start)
    if at < 0:
        return None
    return _element_at(text, at)


def _element_in(page: str | bytes, at: int) -> tuple[str, int] | None:
    """``_element_at`` on a ``Body.page``: (the element's text, its end offset in ``page``)."""
    if isinstance(page, str):
        return _element_at(page, at)
    found = _element_span(page, at)
    return None if found is None else (page[found[0] : found[1]].decode("utf-8"), found[1])


def _element_at(text: str, at: int) -> tuple[str, int] | None:
    """The element whose start tag contains offset ``at``, up to its matching end tag."""
    open_at = text.rfind("<", max(0, at - _MAX_OPEN_TAG), at)
    m = _TAG_NAME_RE.match(text, open_at) if open_at >= 0 else None
    if not m:
        return None
    opener = re.compile(rf"<{m.group(1)}[\s>]|</{m.group(1)}>")
    depth = 0
    limit = min(len(text), open_at + _MAX_SECTION)
    for tag in opener.finditer(text, open_at, limit):
        depth += -1 if tag.group().startswith("</") else 1
        if depth == 0:
            return text[open_at : tag.end()], tag.end()
    return None


def _element_span(raw: bytes, at: int) -> tuple[int, int] | None:
    """``_element_at`` in UTF-8 bytes, as offsets.  Its bounds, in characters, are applied in
    bytes first (a character is 1-4 of them) and counted in characters only when the bytes
    do not decide."""
    open_at = raw.rfind(b"<", max(0, at - 4 * _MAX_OPEN_TAG), at)
    if 0 <= open_at < at - _MAX_OPEN_TAG and len(raw[open_at:at].decode()) > _MAX_OPEN_TAG:
        open_at = -1
    m = _TAG_NAME_BYTES_RE.match(raw, open_at) if open_at >= 0 else None
    if not m:
        return None
    name = m.group(1)
    opener = re.compile(b"<" + name + _AFTER_NAME_BYTES + b"|</" + name + b">")
    depth, pos = 0, open_at
    for bound in _section_bounds(raw, open_at):
        for tag in opener.finditer(raw, pos, bound):
            depth += -1 if tag.group().startswith(b"</") else 1
            if depth == 0:
                return open_at, tag.end()
            pos = tag.end()
    return None


def _section_bounds(raw: bytes, start: int) -> Iterator[int]:
    """Where an element from ``start`` must end: ``_MAX_SECTION`` bytes on, then (only if the
    element is longer) ``_MAX_SECTION`` characters on."""
    yield min(len(raw), start + _MAX_SECTION)
    if start + _MAX_SECTION < len(raw):
        stop = start + 4 * _MAX_SECTION
        while stop < len(raw) and 0x80 <= raw[stop] < 0xC0:  # not inside a character
            stop -= 1
        chars = raw[start:stop].decode("utf-8")[:_MAX_SECTION]
        yield start + len(chars.encode())


def _inner_texts(
    frag: str, start: re.Pattern[str], closers: tuple[str, ...]
) -> Iterator[tuple[re.Match[str], str, int]]:
    """Each match of ``start``, the text from the ">" ending its tag to the nearest of
    ``closers``, and the offset after that closer: what ``start[^>]*>(.*?)(?:closer|...)``
    (re.S) finds, by str.find.

    That regex fails at every later start once one start has no ">" or closer after it, and
    retrying it at each costs quadratic time; this stops at the first such failure.
    """
    pos = 0
    while (m := start.search(frag, pos)) is not None:
        gt = frag.find(">", m.end())
        if gt < 0:
            return
        end, size = -1, 0
        for closer in closers:
            hi = len(frag) if end < 0 else end + len(closer) - 1
            at = frag.find(closer, gt + 1, hi)
            if at >= 0:
                end, size = at, len(closer)
        if end < 0:
            return
        pos = end + size
        yield m, frag[gt + 1 : end], pos


def text_of(fragment: str) -> str:
    """Visible text of a fragment, whitespace collapsed."""
    fragment = _SVG_RE.sub("", _COMMENT_RE.sub("", fragment))
    return " ".join(html.unescape(_TAG_RE.sub(" ", fragment)).split())


def pieces(fragment: str) -> list[str]:
    """Text nodes of a fragment, in order, without empty ones."""
    fragment = _SVG_RE.sub("", _COMMENT_RE.sub("", fragment))
    out = []
    for chunk in _TAG_RE.split(fragment):
        chunk = " ".join(html.unescape(chunk).split())
        if chunk:
            out.append(chunk)
    return out


def list_items(fragment: str) -> list[str]:
    items = (text_of(x) for _, x, _ in _inner_texts(fragment, _LIST_ITEM_START_RE, _ITEM_CLOSERS))
    return [t for t in items if t]


_ITEM_CLOSERS = ("</a>", "</span>")


def _items_of(ids: TestIds, testid: str) -> list[str] | None:
    found = ids.section(testid)
    return list_items(found[0]) if found else None


# data-testid -> TitleRecord list field, read as the list items the page shows.
LIST_SECTIONS: dict[str, str] = {
    "storyline-genres": "genres",
    "storyline-taglines": "taglines",
    "storyline-plot-keywords": "keywords",
    "title-details-origin": "countries_of_origin",
    "title-details-languages": "spoken_languages",
    "title-details-akas": "also_known_as",
    "title-details-filminglocations": "filming_locations",
    "title-details-companies": "production_companies",
    "title-techspec_color": "color",
    "title-techspec_soundmix": "sound_mix",
    "title-techspec_aspectratio": "aspect_ratio",
}
# data-testid -> TitleRecord field holding the first item as shown ("$25,000,000 (estimated)").
FIRST_ITEM_SECTIONS: dict[str, str] = {
    "storyline-certificate": "certificate",
    "title-boxoffice-budget": "budget",
    "title-boxoffice-openingweekenddomestic": "opening_weekend_us_canada",
    "title-boxoffice-grossdomestic": "gross_us_canada",
    "title-boxoffice-cumulativeworldwidegross": "gross_worldwide",
}


def read_hero(ids: TestIds) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for testid in ("hero__pageTitle", "hero-title-block__title"):
        found = ids.section(testid)
        if found:
            title = text_of(found[0])
            if title:
                out["primary_title"] = title
            break
    found = ids.section("hero-rating-bar__aggregate-rating")
    if found:
        score = section(found[0], "hero-rating-bar__aggregate-rating__score")
        if score:
            parts = pieces(score[0])
            if parts:
                out["average_rating"] = "".join(parts)  # "8.7/10"
            rest = pieces(found[0][found[0].find(score[0]) + len(score[0]) :])
            if rest:
                out["num_votes"] = rest[0]  # "2M"
    found = ids.section("plot")
    if found:
        plot = section(found[0], "plot-xl") or section(found[0], "plot-l")
        value = text_of(plot[0] if plot else found[0])
        if value:
            out["plot"] = value
    return out


def read_storyline(ids: TestIds) -> dict[str, Any]:
    found = ids.section("storyline-plot-summary")
    if not found:
        return {}
    frag = found[0]
    author = None
    dash = frag.find("—")
    if dash >= 0:
        author = text_of(frag[dash + 1 :]) or None
        frag = frag[:dash]
    return {"storyline": text_of(frag) or None, "storyline_author": author}


def read_details(ids: TestIds, wanted: set[str]) -> dict[str, Any]:
    """The wanted fields of the Storyline, Details, Box office and Tech specs sections."""
    out: dict[str, Any] = {}
    for testid, field in LIST_SECTIONS.items():
        items = _items_of(ids, testid) if field in wanted else None
        if items:
            out[field] = items
    for testid, field in FIRST_ITEM_SECTIONS.items():
        items = _items_of(ids, testid) if field in wanted else None
        if items:
            out[field] = items[0]
    found = ids.section("title-techspec_runtime") if "runtime_minutes" in wanted else None
    if found:
        parts = pieces(found[0])
        if len(parts) > 1:
            out["runtime_minutes"] = " ".join(parts[1:])  # "1 hour 26 minutes"
    return out


_CHAR_START_RE = re.compile(r'data-testid="cast-item-characters-link"')
_CAST_NOTE_RE = re.compile(r"\(([^()]+)\)")


def read_cast(ids: TestIds) -> list[CreditRecord] | None:
    credits: list[CreditRecord] = []
    for frag in ids.sections("title-cast-item"):
        actor = section(frag, "title-cast-item__actor")
        if not actor:
            continue
        m = _NCONST_RE.search(actor[0])
        characters: list[str] = []
        notes: list[str] = []
        for _, link, _ in _inner_texts(frag, _CHAR_START_RE, ("</a>",)):
            credited_as = section(link, "cast-item-characters-with-as")
            if credited_as:  # "<span>Self</span><span ...with-as>as Self</span>"
                notes.append(text_of(credited_as[0]))
                link = link.replace(credited_as[0], "")
            if text_of(link):
                characters.append(text_of(link))
        chars_list = section(frag, "cast-item-characters-list")
        if chars_list:
            tail = text_of(chars_list[0])
            for c in (*characters, *notes):
                tail = tail.replace(c, " ", 1)
            notes += [n.strip() for n in _CAST_NOTE_RE.findall(tail)]
        credits.append(
            CreditRecord(
                category="cast",
                ordering=len(credits) + 1,
                nconst=m.group(1) if m else None,
                name=text_of(actor[0]),
                characters=characters,
                notes=notes,
            )
        )
    return credits or None


_CARD_LINK_START_RE = re.compile(rf'href="/title/({TCONST_PATTERN})/?\?ref_=tt_sims_tt_t_[0-9]+"')
_CARD_STAR_RE = re.compile(r'class="ipc-rating-star[^"]*"')
_CARD_RATING_RE = re.compile(r"([0-9.,]+)<")


def _card_rating(frag: str, lo: int, hi: int) -> str | None:
    """The last rating a star shows in ``frag[lo:hi]`` (``frag`` without its svgs):
    ``class="ipc-rating-star..." ...>8.7<``."""
    rating = None
    pos = lo
    while (m := _CARD_STAR_RE.search(frag, pos, hi)) is not None:
        gt = frag.find(">", m.end(), hi)
        if gt < 0:
            break
        r = _CARD_RATING_RE.match(frag, gt + 1, hi)
        if r:
            rating = r.group(1)
            pos = r.end()
        else:
            pos = m.end()
    return rating


def read_more_like_this(ids: TestIds) -> list[SimilarTitleRecord] | None:
    found = ids.section("MoreLikeThis")
    if not found:
        return None
    # Star icons sit between a rating star and its figure: without them, the figure follows.
    frag = _SVG_RE.sub("", found[0])
    cards: list[SimilarTitleRecord] = []
    prev = 0
    for m, title, end in _inner_texts(frag, _CARD_LINK_START_RE, ("</a>",)):
        rating = _card_rating(frag, prev, m.start())
        prev = end
        cards.append(
            SimilarTitleRecord(
                rank=len(cards) + 1,
                tconst=m.group(1),
                primary_title=text_of(title) or None,
                original_title=None,
                title_type=None,
                start_year=None,
                end_year=None,
                average_rating=rating,
                num_votes=None,
                genres=[],
            )
        )
    return cards or None


# Pre-2021 title pages: microdata and the <title>/og:title "Name (Year)".
_OG_TITLE_RE = re.compile(
    r"""<meta[^>]{0,60}property=['"]og:title['"][^>]{0,40}content="([^"]*)\""""
)
_TITLE_RE = re.compile(r"<title>([^<]*)</title>")
# "(?<!\s)": the spaces before "(" are tried from the first of them only; from each of a
# long run of spaces, "\s+" would rescan the rest of the run (quadratic).
_NAME_YEAR_RE = re.compile(
    r"^(.*?)(?<!\s)\s+\((?:[^()]*?\s)?([0-9]{4})(?:[–-]([0-9]{4})?\s*)?\)"
)
# Bounded repeats: each start costs at most a few KB of scanning, whatever follows it.
_ITEMPROP_RE = {
    "average_rating": re.compile(r'itemprop="ratingValue"[^>]{0,500}>([^<]{1,100})<'),
    "num_votes": re.compile(r'itemprop="ratingCount"[^>]{0,500}>([^<]{1,100})<'),
}
_GENRE_RE = re.compile(
    r'itemprop="genre"[^>]{0,500}>\s{0,200}(?:<[^>]{1,500}>\s{0,200}){0,10}([^<\s][^<]{0,200})<'
)


def read_legacy(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    m = _OG_TITLE_RE.search(text, 0, 60000) or _TITLE_RE.search(text, 0, 60000)
    if m:
        label = html.unescape(m.group(1)).removesuffix(" - IMDb")
        ny = _NAME_YEAR_RE.match(label)
        if ny:
            out["primary_title"] = ny.group(1)
            out["start_year"] = int(ny.group(2))
            if ny.group(3):
                out["end_year"] = int(ny.group(3))
        elif label.strip():
            out["primary_title"] = label.strip()
    for field, rx in _ITEMPROP_RE.items():
        m = rx.search(text)
        if m:
            out[field] = m.group(1).strip()
    # The "Genres:" heading of the genre block carries the itemprop too.
    genres = [g.strip() for g in _GENRE_RE.findall(text) if not g.strip().endswith(":")]
    if genres:
        out["genres"] = list(dict.fromkeys(genres))
    return out
