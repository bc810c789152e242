"""Write a :class:`~crawler.records.TitleRecord` as an IMDb title page of the current
(Next.js, ``aboveTheFoldData`` + ``mainColumnData``) layout.

The page carries each fact three ways, like the real pages, one module per layer:

* :mod:`~mirror.render.next_data`: the ``__NEXT_DATA__`` JSON (real key names and nesting);
* :mod:`~mirror.render.json_ld`: the schema.org JSON-LD block;
* :mod:`~mirror.render.hero` and :mod:`~mirror.render.sections`: the ``data-testid``
  HTML sections, built from the pieces in :mod:`~mirror.render.markup`;
* :mod:`~mirror.render.fullcredits`: the title's full credits page (``/fullcredits``);
* :mod:`~mirror.render.page` puts them together; :mod:`~mirror.render.common` holds the
  display texts every layer shares.

The markup is written here after the structure of the real pages; no text, script or
style of theirs is copied.  The record is *normalised* (numbers as numbers,
:class:`~crawler.records.Money` dicts, ISO dates).  A fact the record does not have is
left out of all three layers, except that ``votes_display`` lets the HTML show a vote
count ("16K") that the JSON does not know, as on the seed page.
"""

from mirror.render.common import (
    compact_votes,
    date_display,
    money_display,
    rating_display,
    runtime_long,
    runtime_short,
)
from mirror.render.fullcredits import (
    fullcredits_page_from_next_json,
    render_fullcredits_page_bytes,
)
from mirror.render.json_ld import json_ld
from mirror.render.markup import more_like_this_html
from mirror.render.next_data import next_data
from mirror.render.page import (
    more_like_this_payload,
    render_title_page,
    render_title_page_bytes,
)
from mirror.render.sections import MLT_JSON_PATH

__all__ = [
    "MLT_JSON_PATH",
    "compact_votes",
    "date_display",
    "fullcredits_page_from_next_json",
    "json_ld",
    "money_display",
    "more_like_this_html",
    "more_like_this_payload",
    "next_data",
    "rating_display",
    "render_fullcredits_page_bytes",
    "render_title_page",
    "render_title_page_bytes",
    "runtime_long",
    "runtime_short",
]
