"""IMDb identifiers and title URLs: parsing seeds, canonicalising links."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# ASCII digits only ("\d" also takes "٠١٣" and other Unicode digits).  Other modules build
# their patterns from these two; ``is_tconst`` is the one test of a bare id.
TCONST_PATTERN = "tt[0-9]{7,10}"
NCONST_PATTERN = "nm[0-9]{7,10}"
TCONST_RE = re.compile(TCONST_PATTERN)
_TITLE_PATH_RE = re.compile(rf"/title/({TCONST_PATTERN})(?:/|\Z)")
# A title's full credits page (-a credits=full): /title/<tconst>/fullcredits/, with the
# slash as the title page's URL has it (older pages named it without).  A page of a title is
# named by its tconst and ``page``: None for the title page, FULLCREDITS for this one.
FULLCREDITS = "fullcredits"
_PAGE_PATH_RE = re.compile(rf"/title/({TCONST_PATTERN})(?:/|/({FULLCREDITS})/?)?")


def is_tconst(value: object) -> bool:
    """True for "tt" and 7 to 10 ASCII digits, nothing before or after (no newline either)."""
    return isinstance(value, str) and TCONST_RE.fullmatch(value) is not None


def tconst_code(tconst: str) -> int | None:
    """A tconst as one integer (its number and its digit count), None for anything else.

    Eight bytes in an ``array`` instead of a ~60-byte string: a crawl's frontier holds a
    level's links this way (see ``crawler.frontier.local``).  ``tconst_of_code`` undoes it.
    """
    if not is_tconst(tconst):
        return None
    digits = tconst[2:]
    return int(digits) << 4 | len(digits)


def tconst_of_code(code: int) -> str:
    """The tconst ``tconst_code`` made ``code`` from (leading zeros kept)."""
    return f"tt{code >> 4:0{code & 15}d}"


def tconst_from_url(url: str) -> str | None:
    """The tconst of a title URL or path (``/title/tt0050634/?ref_=x`` -> ``tt0050634``)."""
    m = _TITLE_PATH_RE.search(urlsplit(url).path if "://" in url else url.split("?")[0])
    return m.group(1) if m else None


def is_imdb_host(host: str | None) -> bool:
    """imdb.com or one of its hosts (www., m., ...): the one test of "an IMDb URL"."""
    host = (host or "").lower()
    return host == "imdb.com" or host.endswith(".imdb.com")


def parse_seed(value: str) -> str:
    """One seed (a tconst or an IMDb title URL) -> its tconst; ValueError otherwise."""
    value = value.strip()
    if is_tconst(value):
        return value
    if "://" in value:
        host = urlsplit(value).hostname or ""
        tconst = tconst_from_url(value)
        if tconst and is_imdb_host(host):
            return tconst
    raise ValueError(
        f"invalid seed {value!r}: expected a tconst like tt0050634 "
        "or an IMDb title URL like https://www.imdb.com/title/tt0050634/"
    )


def parse_seeds(value: str) -> list[str]:
    """Comma-separated seeds -> tconsts in order, without repeats."""
    seeds: list[str] = []
    for part in value.split(","):
        if not part.strip():
            continue
        tconst = parse_seed(part)
        if tconst not in seeds:
            seeds.append(tconst)
    if not seeds:
        raise ValueError("no seed given: expected one or more tconsts, comma-separated")
    return seeds


def page_path(tconst: str, page: str | None = None) -> str:
    """``/title/ttN/`` (the title page), or ``/title/ttN/fullcredits/`` (``page``)."""
    if not is_tconst(tconst):
        raise ValueError(f"not a tconst: {tconst!r}")
    if page is None:
        return f"/title/{tconst}/"
    if page != FULLCREDITS:
        raise ValueError(f"not a page of a title: {page!r}")
    return f"/title/{tconst}/{page}/"


def page_of_path(path: str) -> tuple[str, str | None] | None:
    """(tconst, page) of a path that is exactly a title page or its full credits page
    (``/title/ttN``, ``/title/ttN/``, ``/title/ttN/fullcredits``, ``.../fullcredits/``)."""
    m = _PAGE_PATH_RE.fullmatch(path)
    return (m.group(1), m.group(2)) if m else None


def title_url(base_url: str, tconst: str, page: str | None = None) -> str:
    """The canonical title URL (``{base}/title/ttN/``), no query, no ``ref_``; with
    ``page``, the title's full credits page."""
    return f"{base_url.rstrip('/')}{page_path(tconst, page)}"
