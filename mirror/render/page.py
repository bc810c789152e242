"""A whole title page: head (with the JSON-LD block), the ``data-testid`` sections, the
``__NEXT_DATA__`` script, and optional padding to a real page's size."""

from __future__ import annotations

from crawler.records import TitleRecord
from mirror.render.common import compact_votes, esc, script_json
from mirror.render.json_ld import json_ld
from mirror.render.markup import more_like_this_html
from mirror.render.next_data import next_data
from mirror.render.sections import body


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


def _head(r: TitleRecord) -> str:
    tconst = r["tconst"]
    title = r.get("primary_title") or tconst
    year = f" ({r['start_year']})" if r.get("start_year") else ""
    return (
        '<!DOCTYPE html><html lang="en-US" xmlns:og="http://opengraphprotocol.org/schema/">'
        '<head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width"/>'
        f"<title>{esc(title)}{esc(year)} - IMDb</title>"
        f'<meta name="description" content="{esc(r.get("plot") or "")}"/>'
        f'<meta property="og:url" content="https://www.imdb.com/title/{tconst}/"/>'
        '<meta property="og:site_name" content="IMDb"/>'
        f'<meta property="og:title" content="{esc(title)}{esc(year)} - IMDb"/>'
        f'<meta property="imdb:pageConst" content="{tconst}"/>'
        f'<link rel="canonical" href="https://www.imdb.com/title/{tconst}/"/>'
        f'<script type="application/ld+json">{script_json(json_ld(r))}</script>'
        '</head><body><div id="__next"><main role="main">'
    )


_END = "</body></html>"


def _parts(
    r: TitleRecord,
    votes_display: str | None,
    rating_display: str | None,
    js_only_more_like_this: bool,
    with_next_data: bool = True,
) -> tuple[str, str]:
    """The page around where the padding goes: the body's markup, then ``__NEXT_DATA__``
    (real pages carry their bulk before it; it ends ~1 KB before their end)."""
    if rating_display is None and isinstance(r.get("average_rating"), int | float):
        rating_display = f"{r['average_rating']:.1f}/10"
    votes = r.get("num_votes")
    if votes_display is None and isinstance(votes, int):
        votes_display = compact_votes(votes)
    main = body(r, votes_display, rating_display, js_only_more_like_this)
    tail = ""
    if with_next_data:
        data = next_data(r, with_more_like_this=not js_only_more_like_this)
        tail = f'<script id="__NEXT_DATA__" type="application/json">{script_json(data)}</script>'
    return _head(r) + main + "</main></div>", tail + _END


def render_title_page(
    record: TitleRecord,
    *,
    votes_display: str | None = None,
    rating_display: str | None = None,
    js_only_more_like_this: bool = False,
    pad_to_bytes: int = 0,
    with_next_data: bool = True,
) -> str:
    """The HTML of the title page of ``record``.

    ``votes_display``/``rating_display`` override what the HTML shows ("16K", "8.3/10");
    by default they are derived from ``num_votes``/``average_rating``.  With
    ``js_only_more_like_this`` the "More like this" cards are neither in the HTML nor in
    the JSON: an inline script fetches them from ``/_mirror/mlt/<tconst>.json`` after
    load.  ``pad_to_bytes`` pads (hidden markup + a comment, before ``__NEXT_DATA__``) to
    at least that many bytes.  ``with_next_data=False`` leaves ``__NEXT_DATA__`` out, as a
    changed IMDb page might: only JSON-LD and the HTML remain.
    """
    before, after = _parts(record, votes_display, rating_display, js_only_more_like_this,
                           with_next_data)
    if not pad_to_bytes:
        return before + after
    size = len(before.encode("utf-8")) + len(after.encode("utf-8"))
    return before + _padding(pad_to_bytes - size) + after


def render_title_page_bytes(
    record: TitleRecord,
    *,
    votes_display: str | None = None,
    rating_display: str | None = None,
    js_only_more_like_this: bool = False,
    pad_to_bytes: int = 0,
    with_next_data: bool = True,
) -> bytes:
    """``render_title_page(...).encode("utf-8")``, made faster for padded pages: only the
    page proper is encoded; the (ASCII) padding is added as bytes."""
    before, after = (part.encode() for part in _parts(
        record, votes_display, rating_display, js_only_more_like_this, with_next_data))
    if not pad_to_bytes:
        return before + after
    padding = _padding(pad_to_bytes - len(before) - len(after)).encode("ascii")
    return b"".join((before, padding, after))


def more_like_this_payload(record: TitleRecord) -> dict:
    """What ``/_mirror/mlt/<tconst>.json`` serves: the cards' markup and their data."""
    similar = record.get("more_like_this", [])
    return {"tconst": record["tconst"], "html": more_like_this_html(similar), "titles": similar}
