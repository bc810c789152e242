"""Small pieces of ``data-testid`` HTML that several page sections use: links to people,
inline lists, metadata rows, credit rows, cast items and "More like this" cards.

The markup is written after the structure of the real pages; no text, script or style
of theirs is copied."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from crawler.records import CreditRecord, Money, SimilarTitleRecord
from mirror.render.common import category_text, esc, money_display, rating_display

_REFS = {"director": "tt_ov_dr", "creator": "tt_ov_wr", "writer": "tt_ov_wr", "cast": "tt_ov_st"}


def person_link(c: CreditRecord, ref: str, testid: str = "") -> str:
    attr = f' data-testid="{testid}"' if testid else ""
    if c.get("nconst"):
        return (
            f'<a class="ipc-link"{attr} href="/name/{c["nconst"]}/?ref_={ref}">{esc(c["name"])}</a>'
        )
    return f'<span class="ipc-link"{attr}>{esc(c.get("name", ""))}</span>'


def list_items(values: list[str], link: str | None = None) -> str:
    """An inline list of texts, each a link to ``link.format(quoted text)`` when given."""
    items = []
    for v in values:
        inner = (
            f'<a class="ipc-link" href="{link.format(esc(quote(v)))}">{esc(v)}</a>'
            if link
            else f'<span class="ipc-list-item__text">{esc(v)}</span>'
        )
        items.append(f'<li role="presentation" class="ipc-inline-list__item">{inner}</li>')
    return f'<ul role="presentation" class="ipc-inline-list">{"".join(items)}</ul>'


def inline_list(items: str) -> str:
    return f'<ul role="presentation" class="ipc-inline-list">{items}</ul>'


def detail(testid: str, label: str, content: str) -> str:
    """A labelled row of a metadata list (Details, Box office, Technical specs)."""
    return (
        f'<li role="presentation" class="ipc-metadata-list__item" data-testid="{testid}">'
        f'<span class="ipc-metadata-list-item__label">{esc(label)}</span>'
        f'<div class="ipc-metadata-list-item__content-container">{content}</div></li>'
    )


def money_item(testid: str, label: str, value: Any, suffix: str = "") -> str:
    if isinstance(value, dict):
        shown = money_display(cast(Money, value)) + suffix
    elif isinstance(value, str):
        shown = value
    else:
        return ""
    return detail(testid, label, list_items([shown]))


def section(testid: str, header: str, title: str, content: str) -> str:
    """A titled page section; ``header`` is the test id of its header."""
    return (
        f'<section class="ipc-page-section" data-testid="{testid}">'
        f'<div data-testid="{header}"><hgroup><h3>{title}</h3></hgroup></div>{content}</section>'
    )


def _principal_credit(cat: str, credits: list[CreditRecord], ref: str) -> str:
    items = "".join(
        f'<li role="presentation" class="ipc-inline-list__item">{person_link(c, ref)}'
        + "".join(
            f'<span class="ipc-metadata-list-item__list-content-item--subText">({esc(n)})</span>'
            for n in c.get("notes", [])
        )
        + "</li>"
        for c in credits
    )
    return (
        f'<li role="presentation" class="ipc-metadata-list__item" '
        f'data-testid="title-pc-principal-credit" data-category="{cat}">'
        f'<span class="ipc-metadata-list-item__label">{category_text(cat, len(credits))}'
        f'</span><div><ul role="presentation" class="ipc-inline-list">{items}</ul></div></li>'
    )


def principal_credits(groups: dict[str, list[CreditRecord]], *, stars: bool) -> str:
    """Directors, creators, writers (and the first three stars when ``stars``)."""
    cats = ("director", "creator", "writer", "cast") if stars else ("director", "creator", "writer")
    parts = [
        _principal_credit(cat, groups[cat][:3] if cat == "cast" else groups[cat], _REFS[cat])
        for cat in cats
        if groups.get(cat)
    ]
    return f'<ul role="presentation" class="ipc-metadata-list title-pc-list">{"".join(parts)}</ul>'


def _characters(tconst: str, c: CreditRecord, n: int) -> str:
    nconst = c.get("nconst")
    chars = []
    for ch in c.get("characters", []):
        if nconst:
            chars.append(
                f'<li role="presentation"><a href="/title/{tconst}/characters/{nconst}'
                f'?ref_=tt_cl_c_{n}" data-testid="cast-item-characters-link">'
                f"<span>{esc(ch)}</span></a></li>"
            )
        else:
            chars.append(
                f'<li role="presentation"><span data-testid="cast-item-characters-link">'
                f"{esc(ch)}</span></li>"
            )
    notes = "".join(
        f'<li role="presentation"><span>({esc(note)})</span></li>' for note in c.get("notes", [])
    )
    return "".join(chars) + notes


def cast_item(tconst: str, c: CreditRecord, n: int) -> str:
    """The ``n``-th item of "Top cast": avatar link, name, characters and notes."""
    nconst = c.get("nconst")
    name = esc(c.get("name", ""))
    avatar = (
        f'<a href="/name/{nconst}/?ref_=tt_cl_i_{n}" aria-label="{name}"></a>' if nconst else ""
    )
    actor = (
        f'<a data-testid="title-cast-item__actor" href="/name/{nconst}/?ref_=tt_cl_t_{n}">'
        f"{name}</a>"
        if nconst
        else f'<span data-testid="title-cast-item__actor">{name}</span>'
    )
    return (
        f'<div data-testid="title-cast-item" class="title-cast-item" '
        f'data-category="{esc(c.get("category", "cast"))}">'
        f'<div data-testid="title-cast-item__avatar"><div role="group">{avatar}</div></div>'
        f"<div>{actor}<div>"
        f'<ul role="presentation" data-testid="cast-item-characters-list">'
        f"{_characters(tconst, c, n)}</ul></div></div></div>"
    )


def _card(s: SimilarTitleRecord, n: int) -> str:
    tconst = s["tconst"]
    title = esc(s.get("primary_title") or "")
    rating = s.get("average_rating")
    star = ""
    if rating is not None:
        shown = rating_display(rating) if isinstance(rating, int | float) else str(rating)
        star = (
            f'<span class="ipc-rating-star ipc-rating-star--imdb" '
            f'aria-label="IMDb rating: {esc(shown)}">{esc(shown)}</span>'
        )
    return (
        f'<div role="group" class="ipc-poster-card" data-tconst="{tconst}">'
        f'<div role="group" class="ipc-poster"><img alt="{title}" loading="lazy"/>'
        f'<a href="/title/{tconst}/?ref_=tt_sims_tt_i_{n}" '
        f'aria-label="View title page for {title}"></a></div>'
        f'<div class="ipc-rating-star-group">{star}'
        f'<button data-testid="rate-button" aria-label="Rate {title}"></button></div>'
        f'<a class="ipc-poster-card__title" aria-label="View title page for {title}" '
        f'href="/title/{tconst}/?ref_=tt_sims_tt_t_{n}"><span data-testid="title">{title}'
        f"</span></a></div>"
    )


def more_like_this_html(similar: list[SimilarTitleRecord]) -> str:
    """The "More like this" section (also what the js-only script builds in the browser)."""
    cards = "".join(_card(s, i) for i, s in enumerate(similar, 1))
    return (
        '<section class="ipc-page-section" data-testid="MoreLikeThis">'
        "<div><hgroup><h3>More like this</h3></hgroup></div>"
        '<div role="group" data-testid="shoveler">'
        f'<div data-testid="shoveler-items-container">{cards}</div></div></section>'
    )
