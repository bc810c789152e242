"""Value checks shared by the crawl's arguments and its sources: ages and base URLs.

Each raises ``ValueError`` with one line saying what is wrong and what is accepted.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.masking import check_url, shown_url

_AGE_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_AGE_RE = re.compile(r"^(?:(\d+)([wdhms]))+$", re.ASCII)
_AGE_PART_RE = re.compile(r"(\d+)([wdhms])", re.ASCII)


def parse_age(name: str, value: object) -> int:
    """``7d``, ``12h``, ``90m``, ``1d12h``, ``0`` -> seconds."""
    text = str(value).strip().lower()
    if text == "0":
        return 0
    if not _AGE_RE.match(text):
        raise ValueError(f"{name}={value!r} is not an age; expected 0 or a number with a unit "
                         "(w, d, h, m, s), e.g. 7d, 12h, 90m, 1d12h")
    return sum(int(n) * _AGE_UNITS[unit] for n, unit in _AGE_PART_RE.findall(text))


def format_age(seconds: int) -> str:
    """The shortest age text for ``seconds`` (``604800`` -> ``7d``; ``0`` -> ``0``)."""
    if seconds == 0:
        return "0"
    parts = []
    for unit, size in _AGE_UNITS.items():
        if unit == "w":
            continue
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def check_base_url(value: str, name: str = "IMDB_BASE_URL",
                   example: str = "https://www.imdb.com") -> str:
    """Scheme and host (and port) only: anything more would end up in every URL and row.
    No message shows a credential (``crawler.masking``)."""
    check_url(name, str(value))
    parts = urlsplit(str(value))
    shown = shown_url(str(value))
    expected = f"expected e.g. {example} or http://127.0.0.1:8000"
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{name}={shown!r} has a bad port; {expected}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name}={shown!r} is not an http(s) URL with a host; "
                         f"{expected}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{name}={shown!r} carries credentials, which would be sent and "
                         f"stored with every row; {expected}")
    if parts.query or parts.fragment or "?" in str(value) or "#" in str(value):
        raise ValueError(f"{name}={shown!r} has a query or fragment; {expected}")
    if parts.path.strip("/"):
        raise ValueError(f"{name}={shown!r} has a path; {expected}")
    return f"{parts.scheme}://{parts.netloc}"
