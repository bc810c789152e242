"""Pure parsers from values as found on an IMDb page to typed values.

Each function takes what the extraction layer returns (a JSON number, or the
string the HTML shows) and returns a typed value, or ``None`` when the input
cannot be read.  None of them raises on bad input: a value the page did not
give, or gave in a form we do not know, is missing, never a guess.

No Scrapy import: these are unit-tested on their own.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeGuard

import orjson

# Currency symbols and prefixes as IMDb shows them -> ISO 4217.  The whole prefix
# is looked up, so "A$" is AUD.  A bare "$" is USD: IMDb writes other dollars
# with a prefix ("CA$", "A$") or an ISO code ("CAD 1,000,000"); ISO codes pass as is.
# "¥" is JPY: IMDb shows Chinese yuan as "CN¥".
CURRENCY_SYMBOLS: dict[str, str] = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "JP¥": "JPY",
    "CN¥": "CNY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₱": "PHP",
    "₫": "VND",
    "₪": "ILS",
    "₴": "UAH",
    "฿": "THB",
    "zł": "PLN",
    "A$": "AUD",
    "AU$": "AUD",
    "CA$": "CAD",
    "C$": "CAD",
    "NZ$": "NZD",
    "HK$": "HKD",
    "NT$": "TWD",
    "MX$": "MXN",
    "R$": "BRL",
    "S$": "SGD",
}

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
# 16,123 / 16.123 / 16 123 / 1'000: groups of three after the first.
_GROUPED_INT = re.compile(r"^\d{1,3}(?:([,.' \u00a0\u202f])\d{3})?(?:\1\d{3})*$")
_PLAIN_INT = re.compile(r"^\d+$")
_ISO_CODE = re.compile(r"^[A-Z]{3}$")
_MONEY_UNIT_FIRST = re.compile(r"^(?P<c>[^\d\s]+)\s*(?P<n>\d[\d.,' ]*)$")
_MONEY_UNIT_LAST = re.compile(r"^(?P<n>\d[\d.,' ]*?)\s*(?P<c>[^\d\s]+)$")


def without_nul(value: Any) -> tuple[Any, int]:
    """``value`` with the NUL characters of every string in it removed (in nested lists,
    tuples and dicts too), and how many were removed.  A NUL is never text a page shows,
    and many readers of the data (C strings, terminals, some databases) cut a value at
    it."""
    # Almost every item has none, and walking it in Python costs more than the rest of
    # normalizing it: ask C first.  orjson escapes a NUL as \\u0000 (3x faster than
    # repr()'s \\x00); a string that spells the escape itself only sends the value down
    # the exact walk.
    if not _may_hold_nul(value):
        return value, 0
    return _strip_nul(value)


def _may_hold_nul(value: Any) -> bool:
    try:
        dumped = orjson.dumps(value, default=repr, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # a 65-bit int, a lone surrogate, deep nesting...
        return "\\x00" in repr(value)
    return b"\\u0000" in dumped


def _strip_nul(value: Any) -> tuple[Any, int]:
    if isinstance(value, str):
        count = value.count("\x00")
        return (value.replace("\x00", ""), count) if count else (value, 0)
    if isinstance(value, dict):
        pairs = {k: _strip_nul(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    if isinstance(value, list | tuple):
        parts = [_strip_nul(v) for v in value]
        return type(value)(v for v, _ in parts), sum(n for _, n in parts)
    return value, 0


def clean_text(value: Any) -> str | None:
    """Trim and collapse whitespace (incl. no-break spaces); empty -> None."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    # A printable string has no whitespace but " " (tabs, newlines, no-break and other
    # Unicode spaces are all unprintable): without a double space it only needs a strip.
    if value.isprintable() and "  " not in value:
        return value.strip() or None
    text = _SPACES.sub(" ", value).strip()
    return text or None


def clean_list(values: Any) -> list[str]:
    """A list of trimmed strings, empties dropped; a single string is a one-item list."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        return []
    out = []
    for v in values:
        text = clean_text(v)
        if text is not None:
            out.append(text)
    return out


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(value: str) -> str:
    return _SPACES.sub(" ", html.unescape(value)).strip()


def parse_rating(value: Any) -> float | None:
    """IMDb user rating: ``"8.3/10"``, ``"8.3"``, ``"5,6"`` (German page) or 8.3 -> 8.3.

    Only values within 0..10 are ratings.
    """
    if type(value) is float and 0 <= value <= 10:  # the usual case: a JSON number
        return value
    if _is_number(value):
        rating = float(value)
    elif isinstance(value, str):
        m = re.match(r"^(\d{1,2}(?:[.,]\d+)?)\s*(?:/\s*10)?$", _plain(value))
        if not m:
            return None
        rating = float(m.group(1).replace(",", "."))
    else:
        return None
    if math.isnan(rating) or not 0 <= rating <= 10:
        return None
    return rating


def _parse_int_text(text: str) -> int | None:
    """``"16,123"``, ``"16.123"``, ``"16 123"`` or ``"83"`` -> int."""
    text = text.strip()
    if _PLAIN_INT.match(text):
        return int(text)
    if _GROUPED_INT.match(text):
        return int(re.sub(r"\D", "", text))
    return None


_SUFFIX = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}


def parse_count(value: Any) -> tuple[int, bool] | None:
    """A count of votes or reviews -> ``(count, abbreviated)``.

    ``"16K"`` -> ``(16000, True)``, ``"1.2M"`` -> ``(1200000, True)``,
    ``"16,123"`` -> ``(16123, False)``, ``16123`` -> ``(16123, False)``.
    ``abbreviated`` says the page rounded the number: 16K is 15,500..16,499.
    Parentheses (legacy pages: ``"(16,123)"``) are ignored.
    """
    if _is_number(value):
        if isinstance(value, float) and not value.is_integer():
            return None
        return (int(value), False) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = _plain(value).strip("()").strip()
    m = re.match(r"^(\d+(?:[.,]\d+)?)\s*([KMB])$", text, re.IGNORECASE)
    if m:
        number = float(m.group(1).replace(",", "."))
        return round(number * _SUFFIX[m.group(2).upper()]), True
    count = _parse_int_text(text)
    return None if count is None else (count, False)


def _parse_amount(text: str) -> int | None:
    """``"17,923"``, ``"1.000.000"``, ``"1 000 000"`` -> int; cents are dropped from
    ``"1,234.56"`` / ``"1.234,56"``, but ``"1,23"`` is ambiguous and gives None."""
    text = text.strip()
    whole = _parse_int_text(text)
    if whole is not None:
        return whole
    m = re.match(r"^(.*\d)([.,])\d{2}$", text)
    if not m:
        return None
    head, decimal = m.groups()
    grouped_by = {",": ".", ".": ","}[decimal]
    if grouped_by in head or (decimal == "." and _PLAIN_INT.match(head)):
        return _parse_int_text(head)
    return None


def parse_money(value: Any) -> tuple[int, str] | None:
    """An amount of money -> ``(amount, ISO 4217 code)``.

    ``{"amount": 17923, "currency": "USD"}`` passes through; strings as IMDb
    shows them: ``"$17,923"``, ``"€18,000,000 (estimated)"``, ``"£338,493"``,
    ``"₹1,000,000"``, ``"JPY 2,400,000,000"``, ``"DEM 1,000,000"``,
    ``"1.000.000 €"``.  Symbols map through ``CURRENCY_SYMBOLS``.
    """
    if isinstance(value, Mapping):
        amount, currency = value.get("amount"), value.get("currency")
        if not _is_number(amount) or not isinstance(currency, str):
            return None
        if isinstance(amount, float) and not amount.is_integer():
            amount = math.floor(amount)
        currency = currency.strip().upper()
        return (int(amount), currency) if _ISO_CODE.match(currency) else None
    if not isinstance(value, str):
        return None
    text = re.sub(r"\(.*?\)", "", _plain(value)).strip()  # "(estimated)"
    m = _MONEY_UNIT_FIRST.match(text) or _MONEY_UNIT_LAST.match(text)
    if not m:
        return None
    amount = _parse_amount(m.group("n"))
    unit = m.group("c")
    currency = unit if _ISO_CODE.match(unit) else CURRENCY_SYMBOLS.get(unit)
    return None if amount is None or currency is None else (amount, currency)


_HOURS = r"(?:h|hr|hrs|hour|hours)"
_MINUTES = r"(?:m|min|mins|minute|minutes)"
_RUNTIME_TEXT = re.compile(
    rf"^(?:(?P<h>\d+)\s*{_HOURS}\.?)?\s*(?:(?P<m>\d+)\s*{_MINUTES}\.?)?$", re.IGNORECASE
)
_ISO_DURATION = re.compile(r"^PT(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:\d+S)?$")


def parse_runtime(value: Any) -> int | None:
    """Runtime in minutes: ``"1h 35m"`` -> 95, ``"2h"`` -> 120, ``"45m"`` -> 45,
    ``"1 hour 35 minutes"`` -> 95, ``"2h 32min"``, ``"153 min"``, ``"PT153M"``.

    Numbers pass through: extraction has already turned JSON seconds into minutes.
    """
    if _is_number(value):
        if isinstance(value, float) and not value.is_integer():
            return None
        return int(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = _plain(value)
    if _PLAIN_INT.match(text):
        return int(text)
    m = _ISO_DURATION.match(text.upper()) or _RUNTIME_TEXT.match(text)
    if not m or (m.group("h") is None and m.group("m") is None):
        return None
    return int(m.group("h") or 0) * 60 + int(m.group("m") or 0)


def parse_int(value: Any) -> int | None:
    """A whole number: 1957, ``"1957"``, ``"16,123"``; counts like ``"1.2K"`` are rounded."""
    if type(value) is int:  # the usual case: a JSON number
        return value if value >= 0 else None
    counted = parse_count(value)
    return None if counted is None else counted[0]


def parse_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(value.strip().lower())
    return None


_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}


def parse_release_date(value: Any) -> tuple[date, str] | None:
    """A release date -> ``(date, precision)``, precision ``"day"``, ``"month"`` or ``"year"``.

    ISO ``"1957-10-12"``, partial ``"1957-10"`` / ``"1957"`` (the date is the first
    day of that month or year) and English text ``"October 12, 1957 (Soviet Union)"``.
    """
    if isinstance(value, datetime):
        return value.date(), "day"
    if isinstance(value, date):
        return value, "day"
    if not isinstance(value, str):
        return None
    text = re.sub(r"\(.*?\)", "", _plain(value)).strip()
    try:
        m = re.match(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$", text)
        if m:
            y, mo, d = m.groups()
            precision = "day" if d else "month" if mo else "year"
            return date(int(y), int(mo or 1), int(d or 1)), precision
        m = re.match(r"^([A-Za-z]+)\.?\s+(?:(\d{1,2}),?\s+)?(\d{4})$", text)
        if m and m.group(1).lower() in _MONTHS:
            month = _MONTHS[m.group(1).lower()]
            day = m.group(2)
            return date(int(m.group(3)), month, int(day or 1)), "day" if day else "month"
        m = re.match(r"^(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})$", text)
        if m and m.group(2).lower() in _MONTHS:
            return date(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1))), "day"
    except ValueError:  # 1957-02-30
        return None
    return None


def parse_timestamp(value: Any) -> datetime | None:
    """ISO-8601 (``"2024-05-01T12:00:00Z"``, ``"...+00:00"``) or datetime -> aware UTC datetime.

    A naive value is taken to be UTC (the spider stamps UTC).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
