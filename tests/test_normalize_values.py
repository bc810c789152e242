"""Parse rules of pipelines.values, on strings that real IMDb pages show."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import parsel
import pytest

from pipelines.values import (
    clean_list,
    clean_text,
    parse_bool,
    parse_count,
    parse_int,
    parse_money,
    parse_rating,
    parse_release_date,
    parse_runtime,
    parse_timestamp,
    without_nul,
)
from tests.conftest import SEED_DIR, needs_shared, real_pages

# Strings the seed page (tt0050634) shows, with the value each stands for.
SEED_STRINGS = {
    "8.3/10": ("rating", 8.3),
    "16K": ("count", (16000, True)),
    "$17,923": ("money", (17923, "USD")),
    "1h 35m": ("runtime", 95),
    "1 hour 35 minutes": ("runtime", 95),
}
PARSERS = {
    "rating": parse_rating,
    "count": parse_count,
    "money": parse_money,
    "runtime": parse_runtime,
}


@needs_shared
def test_seed_strings_are_on_the_seed_page() -> None:
    text = (SEED_DIR / "tt0050634.txt").read_text(encoding="utf-8")
    for s in SEED_STRINGS:
        assert s in text, s


@pytest.mark.parametrize(("raw", "kind_expected"), SEED_STRINGS.items())
def test_seed_strings(raw: str, kind_expected: tuple[str, object]) -> None:
    kind, expected = kind_expected
    assert PARSERS[kind](raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8.3/10", 8.3),
        ("8.3", 8.3),
        (8.3, 8.3),
        (8, 8.0),
        ("5,6", 5.6),  # tt8848336, German page
        ("9.0 / 10", 9.0),
        ("11", None),
        ("", None),
        ("N/A", None),
        (None, None),
        (True, None),
        (float("nan"), None),
    ],
)
def test_parse_rating(raw: object, expected: float | None) -> None:
    assert parse_rating(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("16K", (16000, True)),
        ("1.2M", (1_200_000, True)),
        ("1.9M", (1_900_000, True)),
        ("2M", (2_000_000, True)),  # tt0133093
        ("4.8K", (4800, True)),  # tt11095742
        ("4,8K", (4800, True)),
        ("16,123", (16123, False)),
        ("307,893", (307893, False)),  # legacy ratingCount
        ("(16,123)", (16123, False)),
        ("83", (83, False)),
        ("742", (742, False)),
        (16123, (16123, False)),
        (16123.0, (16123, False)),
        ("1,2,3", None),
        ("16,12", None),
        ("many", None),
        ("", None),
        (-5, None),
        (1.5, None),
        (None, None),
    ],
)
def test_parse_count(raw: object, expected: tuple[int, bool] | None) -> None:
    assert parse_count(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$17,923", (17923, "USD")),
        ("€18,000,000 (estimated)", (18_000_000, "EUR")),  # tt1167638
        ("¥2,400,000,000 (estimated)", (2_400_000_000, "JPY")),  # tt0119698
        ("₩12,215,500,000 (estimated)", (12_215_500_000, "KRW")),  # tt0468492
        ("JPY\u00a02,400,000,000", (2_400_000_000, "JPY")),  # legacy tt0119698
        ("&pound;338,493", (338493, "GBP")),  # legacy, HTML entity
        ("£338,493", (338493, "GBP")),
        ("₹1,000,000", (1_000_000, "INR")),
        ("DEM 1,000,000", (1_000_000, "DEM")),
        ("1.000.000 €", (1_000_000, "EUR")),
        ("1 000 000 €", (1_000_000, "EUR")),
        ("CA$2,500,000", (2_500_000, "CAD")),
        ("A$100", (100, "AUD")),
        ("$12.50", (12, "USD")),
        ("1.234,56 €", (1234, "EUR")),
        ({"amount": 18000000, "currency": "EUR"}, (18_000_000, "EUR")),
        ({"amount": 17923, "currency": "USD", "__typename": "Money"}, (17923, "USD")),
        ({"amount": None, "currency": "USD"}, None),
        ({"amount": 5, "currency": "dollars"}, None),
        ("$1,23", None),
        ("¤100", None),
        ("$", None),
        ("17,923", None),
        ("", None),
        (17923, None),
        (None, None),
    ],
)
def test_parse_money(raw: object, expected: tuple[int, str] | None) -> None:
    assert parse_money(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1h 35m", 95),
        ("2h", 120),
        ("45m", 45),
        ("1 hour 35 minutes", 95),
        ("2 hours 1 minute", 121),  # tt0076759
        ("2 hours", 120),
        ("2h 32min", 152),  # tt0468569, 2021
        ("153 min", 153),  # legacy
        ("PT153M", 153),  # legacy datetime attribute
        ("PT1H35M", 95),
        ("95", 95),
        (95, 95),
        (95.0, 95),
        ("h m", None),
        ("soon", None),
        ("", None),
        (95.5, None),
        (None, None),
    ],
)
def test_parse_runtime(raw: object, expected: int | None) -> None:
    assert parse_runtime(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1957-10-12", (date(1957, 10, 12), "day")),
        ("1957-10", (date(1957, 10, 1), "month")),
        ("1957", (date(1957, 1, 1), "year")),
        ("October 12, 1957 (Soviet Union)", (date(1957, 10, 12), "day")),
        ("12 October 1957", (date(1957, 10, 12), "day")),
        ("October 1957", (date(1957, 10, 1), "month")),
        (date(1957, 10, 12), (date(1957, 10, 12), "day")),
        ("1957-02-30", None),
        ("Smarch 12, 1957", None),
        ("", None),
        (1957, None),
    ],
)
def test_parse_release_date(raw: object, expected: tuple[date, str] | None) -> None:
    assert parse_release_date(raw) == expected


def test_small_helpers() -> None:
    assert clean_text("  Varvara Kapitanova\n -babushka\u00a0Borisa ") == (
        "Varvara Kapitanova -babushka Borisa"
    )
    assert clean_text("   ") is None
    assert clean_list([" Drama", "", None, "War "]) == ["Drama", "War"]
    assert clean_list("Drama") == ["Drama"]
    assert clean_list(None) == []
    assert parse_int("1957") == 1957
    assert parse_int(1957) == 1957
    assert parse_int("soon") is None
    assert parse_bool(False) is False
    assert parse_bool("true") is True
    assert parse_bool("maybe") is None
    assert parse_timestamp("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_timestamp("yesterday") is None


# --- the same fact twice on one real page: as the HTML shows it, as the JSON carries it ---


def _next_pages() -> list[tuple[Path, parsel.Selector, dict]]:
    out = []
    for path in real_pages("next2021plus"):
        sel = parsel.Selector(path.read_text(encoding="utf-8"))
        raw = sel.css("script#__NEXT_DATA__::text").get()
        if raw:
            out.append((path, sel, json.loads(raw)["props"]["pageProps"]))
    return out


@needs_shared
def test_html_strings_agree_with_json_on_real_pages() -> None:
    checked = {"money": 0, "runtime": 0, "votes": 0, "rating": 0}
    for path, sel, props in _next_pages():
        above, main = props.get("aboveTheFoldData") or {}, props.get("mainColumnData") or {}
        budget_html = sel.css(
            "[data-testid=title-boxoffice-budget] .ipc-metadata-list-item__list-content-item::text"
        ).get()
        budget = (main.get("productionBudget") or {}).get("budget")
        if budget_html and budget:
            assert parse_money(budget_html) == parse_money(budget), path.name
            checked["money"] += 1
        runtime_html = "".join(
            sel.css(
                "[data-testid=title-techspec_runtime] .ipc-metadata-list-item__content-container "
                "::text"
            ).getall()
        )
        seconds = (above.get("runtime") or {}).get("seconds")
        if runtime_html and seconds:
            assert parse_runtime(runtime_html) == seconds // 60, path.name
            checked["runtime"] += 1
        score = sel.xpath(
            '(//*[@data-testid="hero-rating-bar__aggregate-rating__score"])[1]//text()'
        ).getall()
        votes_html = sel.css(
            "[data-testid=hero-rating-bar__aggregate-rating__score] ~ div::text"
        ).get()
        summary = above.get("ratingsSummary") or {}
        if score and votes_html and summary.get("voteCount"):
            rating_html = "".join(score)
            assert parse_rating(rating_html) == summary["aggregateRating"], path.name
            votes, abbreviated = parse_count(votes_html)  # type: ignore[misc]
            exact = summary["voteCount"]
            if abbreviated:  # rounded to 2 significant digits, or 1 decimal of K/M
                assert abs(votes - exact) / exact < 0.05, (path.name, votes_html, exact)
            else:
                assert votes == exact, path.name
            checked["votes"] += 1
            checked["rating"] += 1
    # the real pages hold these many comparable facts; fewer means the test read nothing
    assert checked["money"] >= 15 and checked["runtime"] >= 25 and checked["votes"] >= 25, checked


@needs_shared
def test_legacy_budget_strings_parse() -> None:
    amounts = []
    for path in real_pages("legacy"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for m in re.finditer(r'<h4 class="inline">Budget:</h4>\s*([^<]+?)\s*<', text):
            parsed = parse_money(m.group(1).replace("&nbsp;", "\u00a0"))
            assert parsed is not None, (path.name, m.group(1))
            amounts.append(parsed)
    assert (12_215_500_000, "KRW") in amounts and (63_000_000, "USD") in amounts


def test_without_nul_strips_every_string_and_counts() -> None:
    item = {"primary_title": "A\x00B", "genres": ["Dra\x00ma", "War"], "n": 3,
            "credits": [{"name": "\x00\x00X", "ordering": 1}], "pair": ("a\x00", None)}
    assert without_nul(item) == ({"primary_title": "AB", "genres": ["Drama", "War"], "n": 3,
                                  "credits": [{"name": "X", "ordering": 1}],
                                  "pair": ("a", None)}, 5)
    assert without_nul("plain") == ("plain", 0)


def test_without_nul_leaves_text_that_only_spells_a_nul() -> None:
    # The fast check looks for an escape; text that writes one out is still text.
    item = {"plot": "printf(\"\\x00 \\u0000\")", "credits": [{"name": "Back\\slash"}]}
    assert without_nul(item) == (item, 0)
    assert without_nul({"plot": "\\x00", "title": "A\x00"}) == (
        {"plot": "\\x00", "title": "A"}, 1)


def test_without_nul_finds_a_nul_in_values_the_fast_check_cannot_write() -> None:
    # Beyond 64 bits, a lone surrogate, a key that is no string, an object: each is
    # still looked through.
    assert without_nul({"big": 2**70, "t": "a\x00"}) == ({"big": 2**70, "t": "a"}, 1)
    assert without_nul({"s": "\ud800", "t": ["\x00b"]}) == ({"s": "\ud800", "t": ["b"]}, 1)
    assert without_nul({1: "x\x00", "d": date(2020, 1, 2)}) == ({1: "x", "d": date(2020, 1, 2)}, 1)
    plain = {"d": date(2020, 1, 2), "n": None}
    assert without_nul(plain) == (plain, 0)
