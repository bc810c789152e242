"""The hero section of a title page: title, original title, year / certificate / runtime,
rating bar, genres, plot, principal credits and review counts."""

from __future__ import annotations

from crawler.records import CreditRecord, TitleRecord
from mirror.render.common import SERIES, TYPE_TEXT, esc, runtime_short
from mirror.render.markup import principal_credits


def _metadata(r: TitleRecord) -> str:
    tconst = r["tconst"]
    meta = []
    kind = r.get("title_type")
    if kind is not None and kind != "movie":
        meta.append(f'<li role="presentation">{esc(TYPE_TEXT.get(kind, kind))}</li>')
    if r.get("start_year") is not None:
        years = str(r["start_year"])
        if r.get("end_year"):
            years += f"–{r['end_year']}"
        elif r.get("title_type") in SERIES:
            years += "–"
        meta.append(
            f'<li role="presentation"><a href="/title/{tconst}/releaseinfo?ref_=tt_ov_rdat">'
            f"{years}</a></li>"
        )
    if r.get("certificate"):
        meta.append(
            f'<li role="presentation"><a href="/title/{tconst}/parentalguide/certificates'
            f'?ref_=tt_ov_pg">{esc(r["certificate"])}</a></li>'
        )
    runtime = r.get("runtime_minutes")
    if isinstance(runtime, int):
        meta.append(f'<li role="presentation">{runtime_short(runtime)}</li>')
    return (
        f'<ul role="presentation" data-testid="hero-title-block__metadata" '
        f'class="ipc-inline-list">{"".join(meta)}</ul>'
    )


def _heading(r: TitleRecord) -> str:
    title = r.get("primary_title") or ""
    out = (
        f'<h1 data-testid="hero__pageTitle"><span class="hero__primary-text">{esc(title)}'
        "</span></h1>"
    )
    original = r.get("original_title")
    if original and original != title:
        out += f'<div class="hero__original-title">Original title: {esc(original)}</div>'
    return out


def _rating_bar(tconst: str, votes_shown: str | None, rating_shown: str | None) -> str:
    if rating_shown is None:
        return ""
    score = rating_shown.split("/")[0]
    return (
        '<div data-testid="hero-rating-bar__aggregate-rating"><div>IMDb RATING</div>'
        f'<a role="button" aria-label="View User Ratings" href="/title/{tconst}/ratings/'
        '?ref_=tt_ov_rt"><span><div>'
        '<div data-testid="hero-rating-bar__aggregate-rating__score">'
        f"<span>{esc(score)}</span><span>/<!-- -->10</span></div><div></div>"
        f"<div>{esc(votes_shown) if votes_shown else ''}</div></div></span></a></div>"
    )


def _genres_and_plot(r: TitleRecord) -> str:
    out = ""
    if r.get("genres"):
        chips = "".join(
            f'<a class="ipc-chip" href="/search/title/?genres={esc(g)}&amp;ref_=tt_ov_inf">'
            f'<span class="ipc-chip__text">{esc(g)}</span></a>'
            for g in r["genres"]
        )
        out += f'<div data-testid="genres" class="ipc-chip-list">{chips}</div>'
    if r.get("plot"):
        p = esc(r["plot"])
        out += (
            f'<p data-testid="plot"><span data-testid="plot-xs_to_m">{p}</span>'
            f'<span data-testid="plot-l">{p}</span><span data-testid="plot-xl">{p}</span></p>'
        )
    return out


def _review_counts(r: TitleRecord) -> str:
    tconst = r["tconst"]
    counts = []
    if r.get("user_review_count") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/reviews?ref_=tt_ov_rt">'
            f'<span><span class="score">{esc(r["user_review_count"])}</span>'
            '<span class="label">User reviews</span></span></a></li>'
        )
    if r.get("critic_review_count") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/externalreviews?ref_=tt_ov_rt">'
            f'<span><span class="score">{esc(r["critic_review_count"])}</span>'
            '<span class="label">Critic reviews</span></span></a></li>'
        )
    if r.get("metascore") is not None:
        counts.append(
            f'<li role="presentation"><a href="/title/{tconst}/criticreviews?ref_=tt_ov_rt">'
            f'<span><span class="score"><span class="metacritic-score-box">'
            f'{esc(r["metascore"])}</span></span><span class="label">Metascore</span>'
            "</span></a></li>"
        )
    if not counts:
        return ""
    return f'<ul role="presentation" data-testid="reviewContent-all-reviews">{"".join(counts)}</ul>'


def hero(
    r: TitleRecord,
    groups: dict[str, list[CreditRecord]],
    votes_shown: str | None,
    rating_shown: str | None,
) -> str:
    return (
        '<section class="ipc-page-section" data-testid="hero-parent"><div>'
        + _heading(r)
        + _metadata(r)
        + "</div>"
        + _rating_bar(r["tconst"], votes_shown, rating_shown)
        + _genres_and_plot(r)
        + principal_credits(groups, stars=True)
        + _review_counts(r)
        + "</section>"
    )
