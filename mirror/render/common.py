"""What every layer of a rendered page shares: display texts of IMDb's pages (public:
tests use them), the names of title types and credit categories, and credits grouped
by category."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from crawler.records import CreditRecord, Money

TYPE_TEXT = {
    "movie": "Movie",
    "short": "Short",
    "tvSeries": "TV Series",
    "tvMiniSeries": "TV Mini Series",
    "tvEpisode": "TV Episode",
    "tvMovie": "TV Movie",
    "tvSpecial": "TV Special",
    "tvShort": "TV Short",
    "video": "Video",
    "videoGame": "Video Game",
}
SERIES = {"tvSeries", "tvMiniSeries"}
CATEGORY_TEXT = {
    "director": ("Director", "Directors"),
    "writer": ("Writer", "Writers"),
    "creator": ("Creator", "Creators"),
    "cast": ("Star", "Stars"),
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_CURRENCY_SIGN = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
_CAST = ("actor", "actress", "cast")


def compact_votes(n: int) -> str:
    """IMDb's short vote count: 987 -> "987", 16123 -> "16K", 1234 -> "1.2K", 2.4M -> "2.4M"."""
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}" if value < 10 else f"{math.floor(value)}"
            return text.removesuffix(".0") + suffix
    return str(n)


def money_display(money: Money) -> str:
    """``{"amount": 17923, "currency": "USD"}`` -> ``"$17,923"`` (others: ``"RUR 1,000"``)."""
    sign = _CURRENCY_SIGN.get(money["currency"])
    return f"{sign}{money['amount']:,}" if sign else f"{money['currency']} {money['amount']:,}"


def runtime_short(minutes: int) -> str:
    """95 -> "1h 35m" (the hero line)."""
    h, m = divmod(minutes, 60)
    return " ".join(p for p in (f"{h}h" if h else "", f"{m}m" if m else "") if p) or "0m"


def runtime_long(minutes: int) -> str:
    """95 -> "1 hour 35 minutes" (technical specs)."""
    h, m = divmod(minutes, 60)
    parts = []
    if h:
        parts.append(f"{h} hour" + ("s" if h != 1 else ""))
    if m or not h:
        parts.append(f"{m} minute" + ("s" if m != 1 else ""))
    return " ".join(parts)


def date_display(iso: str) -> str:
    """ "1957-10-12" -> "October 12, 1957"; "1957-10" -> "October 1957"; "1957" -> "1957"."""
    parts = [int(p) for p in iso.split("-")]
    if len(parts) == 3:
        return f"{_MONTHS[parts[1] - 1]} {parts[2]}, {parts[0]}"
    if len(parts) == 2:
        return f"{_MONTHS[parts[1] - 1]} {parts[0]}"
    return str(parts[0])


def rating_display(rating: float) -> str:
    return f"{rating:.1f}"


def slug(text: str) -> str:
    return text.lower().replace(" ", "-")


def iso_duration(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m or not h else "")


def esc(value: Any) -> str:
    """``value`` as text safe in HTML content and in a quoted attribute."""
    return escape(str(value), quote=True)


def script_json(obj: Any) -> str:
    """``obj`` as compact JSON safe inside a ``<script>``."""
    # "</" inside a script would end it early; JSON allows the escaped slash.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def by_category(credits: list[CreditRecord]) -> dict[str, list[CreditRecord]]:
    """Credits grouped as the page shows them (actors and actresses as "cast"), each
    group in credit order."""
    groups: dict[str, list[CreditRecord]] = {}
    for c in credits:
        key = "cast" if c.get("category") in _CAST else c.get("category", "cast")
        groups.setdefault(key, []).append(c)
    for group in groups.values():
        group.sort(key=lambda c: c.get("ordering", 0))
    return groups


def category_text(category: str, count: int) -> str:
    """The label of a credit group: "Director" for one, "Directors" for several."""
    one, many = CATEGORY_TEXT.get(category, (category.title(), category.title() + "s"))
    return one if count == 1 else many
