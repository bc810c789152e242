"""The ``data-testid`` sections of a title page below the hero, one function each, and
:func:`body`, the page's ``<main>`` content in the order of the real pages."""

from __future__ import annotations

import json

from crawler.records import CreditRecord, TitleRecord
from mirror.render.common import by_category, date_display, esc, runtime_long, slug
from mirror.render.hero import hero
from mirror.render.markup import (
    cast_item,
    detail,
    inline_list,
    list_items,
    money_item,
    more_like_this_html,
    principal_credits,
    section,
)

MLT_JSON_PATH = "/_mirror/mlt/{tconst}.json"  # where the js-only cards are fetched from

# The cards arrive only after load: a browser runs this, an HTML-only fetcher never does.
_MLT_SCRIPT = """<script>
(function(){function go(){fetch(%s).then(function(r){return r.json()}).then(
function(d){var h=document.getElementById("mirror-mlt");if(h){h.outerHTML=d.html;}})}
if(document.readyState==="loading"){document.addEventListener("DOMContentLoaded",go)}
else{go()}})();
</script>"""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def awards(r: TitleRecord) -> str:
    wins, noms = r.get("awards_wins"), r.get("awards_nominations")
    if wins is None and noms is None and not r.get("prestigious_award"):
        return ""
    head = ""
    if r.get("prestigious_award"):
        pw = r.get("prestigious_award_wins") or 0
        pn = r.get("prestigious_award_nominations") or 0
        award = esc(r["prestigious_award"])
        head = f"Won {_plural(pw, award)}" if pw else f"Nominated for {_plural(pn, award)}"
    parts = []
    if wins:
        parts.append(_plural(wins, "win"))
    if noms:
        parts.append(_plural(noms, "nomination"))
    summary = " &amp; ".join(parts) + " total" if parts else ""
    return (
        '<section class="ipc-page-section" data-testid="Awards"><div data-testid="awards">'
        '<ul role="presentation"><li role="presentation" data-testid="award_information">'
        f'<a href="/title/{r["tconst"]}/awards/?ref_=tt_awd">{head or "Awards"}</a>'
        f'<div><ul role="presentation"><li role="presentation"><span>{summary}</span></li>'
        "</ul></div></li></ul></div></section>"
    )


def top_cast(tconst: str, groups: dict[str, list[CreditRecord]]) -> str:
    """Top cast, then the crew again as the real page lists it below the cast."""
    cast = groups.get("cast", [])
    if not cast and not any(groups.get(c) for c in ("director", "writer", "creator")):
        return ""
    items = "".join(cast_item(tconst, c, i) for i, c in enumerate(cast, 1))
    return (
        '<section class="ipc-page-section" data-testid="title-cast">'
        '<div data-testid="title-cast-header"><hgroup><h3>Top cast</h3></hgroup></div>'
        f'<div class="title-cast__grid">{items}</div>'
        f"{principal_credits(groups, stars=False)}</section>"
    )


def more_like_this(r: TitleRecord, js_only: bool) -> str:
    """The cards, or a placeholder the script fills in a browser."""
    if js_only:
        path = json.dumps(MLT_JSON_PATH.format(tconst=r["tconst"]))
        return '<div id="mirror-mlt"></div>' + _MLT_SCRIPT % path
    if r.get("more_like_this"):
        return more_like_this_html(r["more_like_this"])
    return ""


def _plot_summary(r: TitleRecord) -> str:
    author = ""
    if r.get("storyline_author"):
        a = esc(r["storyline_author"])
        author = (
            f'<span>—<a href="/search/title/?plot_author={a}&amp;view=simple'
            f'&amp;ref_=tt_stry_pl">{a}</a></span>'
        )
    return (
        f'<div role="presentation" data-testid="storyline-plot-summary"><div>'
        f'<div class="ipc-html-content-inner-div">{esc(r["storyline"])}{author}'
        "</div></div></div>"
    )


def _keywords(r: TitleRecord) -> str:
    keywords = r.get("keywords", [])
    links = "".join(
        f'<a class="ipc-chip" href="/search/keyword/?keywords={esc(slug(k))}'
        f'&amp;ref_=tt_stry_kw"><span role="presentation">{esc(k)}</span></a>'
        for k in keywords
    )
    total = r.get("keywords_total")
    if total and total > len(keywords):
        links += (
            f'<a class="ipc-chip" href="/title/{r["tconst"]}/keywords?ref_=tt_stry_kw">'
            f'<span role="presentation">{total - len(keywords)} more</span></a>'
        )
    return f'<div data-testid="storyline-plot-keywords">{links}</div>'


def _storyline_rows(r: TitleRecord) -> str:
    rows = []
    if r.get("taglines"):
        rows.append(
            f'<li role="presentation" data-testid="storyline-taglines">'
            f'<a href="/title/{r["tconst"]}/taglines?ref_=tt_stry_tg">Taglines</a>'
            f"<div>{list_items(r['taglines'])}</div></li>"
        )
    if r.get("genres"):
        rows.append(
            f'<li role="presentation" data-testid="storyline-genres"><span>Genres</span>'
            f"<div>{list_items(r['genres'], '/search/title/?genres={}')}</div></li>"
        )
    certificate = r.get("certificate")
    if certificate:
        rows.append(
            f'<li role="presentation" data-testid="storyline-certificate">'
            f"<span>Certificate</span><div>{list_items([certificate])}</div></li>"
        )
    if not rows:
        return ""
    return f'<ul role="presentation" class="ipc-metadata-list">{"".join(rows)}</ul>'


def storyline(r: TitleRecord) -> str:
    story = (
        (_plot_summary(r) if r.get("storyline") else "")
        + (_keywords(r) if r.get("keywords", []) else "")
        + _storyline_rows(r)
    )
    if not story:
        return ""
    return section("Storyline", "storyline-header", "Storyline", f"<div>{story}</div>")


def _coded_links(names: list[str], codes: list[str], href: str) -> str:
    """Inline links to ``href`` filled with each name's code (``""`` when it has none)."""
    return inline_list(
        "".join(
            f'<li role="presentation" class="ipc-inline-list__item"><a class="ipc-link" '
            f'href="{href.format(esc(codes[i] if i < len(codes) else ""))}">{esc(name)}</a></li>'
            for i, name in enumerate(names)
        )
    )


def _companies(names: list[str], ids: list[str]) -> str:
    return inline_list(
        "".join(
            '<li role="presentation" class="ipc-inline-list__item">'
            + (
                f'<a class="ipc-link" href="/company/{ids[i]}/?ref_=tt_dt_co_{i + 1}">{esc(c)}</a>'
                if i < len(ids) and ids[i]
                else f'<span class="ipc-link">{esc(c)}</span>'
            )
            + "</li>"
            for i, c in enumerate(names)
        )
    )


def _release_detail(r: TitleRecord, iso: str) -> str:
    shown = date_display(iso)
    if r.get("release_country"):
        shown += f" ({r['release_country']})"
    return detail(
        "title-details-releasedate",
        "Release date",
        list_items([shown], f"/title/{r['tconst']}/releaseinfo?ref_=tt_dt_rdat"),
    )


def details(r: TitleRecord) -> str:
    rows = []
    release = r.get("release_date")
    if release:
        rows.append(_release_detail(r, release))
    countries = r.get("countries_of_origin", [])
    if countries:
        label = "Country of origin" if len(countries) == 1 else "Countries of origin"
        href = "/search/title/?country_of_origin={}&amp;ref_=tt_dt_cn"
        links = _coded_links(countries, r.get("countries_of_origin_codes", []), href)
        rows.append(detail("title-details-origin", label, links))
    languages = r.get("spoken_languages", [])
    if languages:
        label = "Language" if len(languages) == 1 else "Languages"
        href = "/search/title?title_type=feature&amp;primary_language={}&amp;ref_=tt_dt_ln"
        links = _coded_links(languages, r.get("spoken_language_codes", []), href)
        rows.append(detail("title-details-languages", label, links))
    if r.get("also_known_as"):
        rows.append(detail("title-details-akas", "Also known as", list_items(r["also_known_as"])))
    if r.get("filming_locations"):
        where = list_items(r["filming_locations"], "/search/title/?locations={}&amp;ref_=tt_dt_loc")
        rows.append(detail("title-details-filminglocations", "Filming locations", where))
    companies = r.get("production_companies", [])
    if companies:
        label = "Production company" if len(companies) == 1 else "Production companies"
        names = _companies(companies, r.get("production_company_ids", []))
        rows.append(detail("title-details-companies", label, names))
    if not rows:
        return ""
    content = f'<div data-testid="title-details-section"><ul role="presentation">{"".join(rows)}'
    return section("Details", "title-details-header", "Details", content + "</ul></div>")


def box_office(r: TitleRecord) -> str:
    box = "".join(
        [
            money_item("title-boxoffice-budget", "Budget", r.get("budget"), " (estimated)"),
            money_item(
                "title-boxoffice-grossdomestic", "Gross US & Canada", r.get("gross_us_canada")
            ),
            money_item(
                "title-boxoffice-openingweekenddomestic",
                "Opening weekend US & Canada",
                r.get("opening_weekend_us_canada"),
            ),
            money_item(
                "title-boxoffice-cumulativeworldwidegross",
                "Gross worldwide",
                r.get("gross_worldwide"),
            ),
        ]
    )
    if not box:
        return ""
    content = f'<div data-testid="title-boxoffice-section"><ul role="presentation">{box}</ul></div>'
    return section("BoxOffice", "title-boxoffice-header", "Box office", content)


def tech_specs(r: TitleRecord) -> str:
    specs = []
    runtime = r.get("runtime_minutes")
    if isinstance(runtime, int):
        specs.append(
            f'<li role="presentation" class="ipc-metadata-list__item" '
            f'data-testid="title-techspec_runtime"><span>Runtime</span>'
            f"<div>{runtime_long(runtime)}</div></li>"
        )
    for testid, label, key in (
        ("title-techspec_color", "Color", "color"),
        ("title-techspec_soundmix", "Sound mix", "sound_mix"),
        ("title-techspec_aspectratio", "Aspect ratio", "aspect_ratio"),
    ):
        if r.get(key):
            specs.append(detail(testid, label, list_items(r[key])))  # type: ignore[literal-required]
    if not specs:
        return ""
    content = (
        f'<div data-testid="title-techspecs-section"><ul role="presentation">{"".join(specs)}'
        "</ul></div>"
    )
    return section("TechSpecs", "title-techspecs-header", "Technical specs", content)


def body(r: TitleRecord, votes_shown: str | None, rating_shown: str | None, js_only: bool) -> str:
    """Everything inside ``<main>``, section by section in page order."""
    groups = by_category(r.get("credits", []))
    return "".join(
        [
            hero(r, groups, votes_shown, rating_shown),
            awards(r),
            top_cast(r["tconst"], groups),
            more_like_this(r, js_only),
            storyline(r),
            details(r),
            box_office(r),
            tech_specs(r),
        ]
    )
