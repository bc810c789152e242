"""Crawling the past: title pages read from a Wayback Machine archive (``-a as_of``).

Pure functions, no Scrapy.  The Wayback source (``crawler.sources.wayback``) asks here
for the URL of a title "as of" a date (the archive's raw replay form), and, on an
answer, whether it is a capture, when that capture was taken, and whether it is too
far from the date to count.

With ``as_of=latest`` a title is read from its newest usable capture instead: its
captures are listed by one CDX query (``crawler.sources.cdx``) and read newest first.

Replay URLs: ``{WAYBACK_BASE_URL}/web/<timestamp>id_/https://www.imdb.com/title/<tconst>/``.
``id_`` asks for the capture as it was recorded, without the archive's rewriting.
A timestamp that is not a capture's own is redirected by the archive to the nearest
capture; the crawl follows that redirect itself.  A capture is recognised by its
``Memento-Datetime`` header (RFC 7089), which gives the time it was taken.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.checks import check_base_url, parse_age
from crawler.headers import header_text
from crawler.ids import FULLCREDITS, is_imdb_host, page_of_path, page_path, tconst_from_url
from crawler.sources.cdx import cdx_url

DEFAULT_BASE_URL = "https://web.archive.org"
# The site whose captures are asked for: the URL the archive keys its captures by.
ORIGINAL_SITE = "https://www.imdb.com"
MEMENTO_HEADER = b"Memento-Datetime"
# -a as_of=latest: each title from its newest usable capture.
LATEST = "latest"
# The Wayback Machine replays a capture's recorded headers under this prefix.
ORIGINAL_HEADER_PREFIX = b"x-archive-orig-"

_AS_OF_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$", re.ASCII)
# /web/<4-14 digits><optional 2-letter modifier + "_">/<original URL>
_REPLAY_RE = re.compile(r"^/web/(\d{4,14})(?:[a-z]{2}_)?/(.+)$", re.ASCII)
_DAY = 86400


def is_latest(value: object) -> bool:
    """``as_of=latest`` (any case): the newest usable capture of each title."""
    return str(value).strip().lower() == LATEST


def parse_as_of(value: object, now: datetime | None = None) -> datetime:
    """``2018``, ``2018-08`` or ``2018-08-20`` -> the first instant of that period (UTC).

    The archive pads a short timestamp to its lower bound too (``2018`` ->
    ``20180101000000``), so ``as_of=2018`` asks for the capture nearest New Year 2018.
    A period that starts after ``now`` (default: now) is refused: no capture is from then.
    """
    text = str(value).strip()
    m = _AS_OF_RE.match(text)
    expected = "expected latest, YYYY, YYYY-MM or YYYY-MM-DD, e.g. as_of=2018-08-20"
    if not m:
        raise ValueError(f"as_of={value!r} is not a date; {expected}")
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        moment = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        raise ValueError(f"as_of={value!r} is not a real date; {expected}") from None
    if year < 1996:  # the archive's first captures are from 1996
        raise ValueError(f"as_of={value!r} is before 1996, when web archiving began; "
                         f"{expected}")
    today = (now or datetime.now(UTC)).astimezone(UTC)
    if moment > today:
        raise ValueError(f"as_of={value!r} is in the future (today is "
                         f"{today.date().isoformat()}, UTC); expected a date up to today, "
                         f"or as_of={LATEST} for each title's newest capture")
    return moment


def parse_max_distance(value: object) -> timedelta:
    """ARCHIVE_MAX_DISTANCE: a number of days (``365``) or an age (``365d``, ``52w``, ``12h``)."""
    text = str(value).strip().lower()
    expected = "expected a number of days (365) or an age with a unit (365d, 52w, 12h)"
    if text.isdigit():
        seconds = int(text) * _DAY
    else:
        try:
            seconds = parse_age("ARCHIVE_MAX_DISTANCE", text)
        except ValueError:
            raise ValueError(f"ARCHIVE_MAX_DISTANCE={value!r} is not a distance; "
                             f"{expected}") from None
    if seconds <= 0:
        raise ValueError(f"ARCHIVE_MAX_DISTANCE={value!r} must be above zero; {expected}")
    return timedelta(seconds=seconds)


def timestamp14(moment: datetime) -> str:
    """The archive's timestamp of an instant: ``YYYYMMDDhhmmss`` (UTC)."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def timestamp_time(timestamp: str) -> datetime:
    """A timestamp of 4-14 digits -> the instant, shorter ones padded to their lower bound."""
    padded = timestamp + "00000101000000"[len(timestamp):]
    return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def replay_url(base_url: str, timestamp: str, tconst: str, page: str | None = None) -> str:
    """The raw replay URL of a title's capture nearest ``timestamp`` (with ``page``, of
    its full credits page: a URL of its own, with captures of its own)."""
    return f"{base_url.rstrip('/')}/web/{timestamp}id_/{ORIGINAL_SITE}{page_path(tconst, page)}"


@dataclass(frozen=True)
class Replay:
    """A replay URL taken apart: the capture timestamp asked for and the original URL."""

    timestamp: str
    original: str
    tconst: str | None  # None when the original is not an IMDb title URL
    page: str | None = None  # FULLCREDITS for a title's full credits page

    @property
    def time(self) -> datetime:
        return timestamp_time(self.timestamp)

    @property
    def host(self) -> str:
        """The host of the original URL (an IMDb host, or any other)."""
        return urlsplit(self.original).hostname or ""


def parse_replay(url: str) -> Replay | None:
    """``.../web/20180820123456id_/https://www.imdb.com/title/tt0133093/`` -> its parts;
    None when the path is not a replay path."""
    m = _REPLAY_RE.match(urlsplit(url).path)
    if not m:
        return None
    timestamp, original = m.group(1), m.group(2)
    try:
        timestamp_time(timestamp)
    except ValueError:  # not a date (month 13, ...)
        return None
    if "://" not in original:  # the archive also accepts "imdb.com/title/..."
        original = "http://" + original
    imdb = is_imdb_host(urlsplit(original).hostname)
    if not imdb:
        return Replay(timestamp, original, None)
    found = page_of_path(urlsplit(original).path)
    page = FULLCREDITS if found is not None and found[1] == FULLCREDITS else None
    return Replay(timestamp, original, tconst_from_url(original), page)


def memento_time(headers: Any) -> datetime | None:
    """The ``Memento-Datetime`` of an answer (the capture's own time), None when absent.

    Only a replayed capture carries it; the archive's own answers (its redirect to the
    nearest capture, "not archived", a rate limit) do not."""
    text = header_text(headers, MEMENTO_HEADER)
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def memento_header(moment: datetime) -> str:
    """``Memento-Datetime`` value of a capture time (an HTTP date, GMT)."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def recorded_header(headers: Any, name: bytes) -> str:
    """A header of the capture as IMDb sent it: the Wayback Machine replays it as
    ``x-archive-orig-<name>``, a WARC replay (and the mirror's) as it is."""
    for key in (name, ORIGINAL_HEADER_PREFIX + name):
        if text := header_text(headers, key):
            return text
    return ""


@dataclass(frozen=True)
class Archive:
    """Where and as of when a crawl reads its titles."""

    base_url: str
    as_of: datetime  # with latest: when the run started
    max_distance: timedelta | None  # None: any capture counts (latest, by default)
    latest: bool = False  # each title from its newest usable capture (crawler.sources.cdx)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    def title_url(self, tconst: str, page: str | None = None) -> str:
        """The URL a title (or its ``page``) is first asked for: its replay at as_of, or
        with latest the CDX query that lists its captures."""
        if self.latest:
            return cdx_url(self.base_url, tconst, page)
        return replay_url(self.base_url, timestamp14(self.as_of), tconst, page)

    def capture_url(self, tconst: str, timestamp: str, page: str | None = None) -> str:
        """The replay URL of one capture (its own 14-digit timestamp)."""
        return replay_url(self.base_url, timestamp, tconst, page)

    def since(self) -> datetime | None:
        """With latest: the oldest capture time that counts (None: any)."""
        if not self.latest or self.max_distance is None:
            return None
        return self.as_of - self.max_distance

    def at(self, moment: datetime) -> Archive:
        """This archive as of ``moment`` (a latest run's own start, once it is known)."""
        return replace(self, as_of=moment)

    def on_archive(self, url: str) -> bool:
        """The URL is the archive's own (same host and port)."""
        return urlsplit(url).netloc == urlsplit(self.base_url).netloc

    def too_far(self, captured: datetime) -> bool:
        if self.max_distance is None:
            return False
        if self.latest:
            return captured < self.as_of - self.max_distance
        return abs(captured - self.as_of) > self.max_distance

    def distance_text(self, captured: datetime) -> str:
        days = abs(captured - self.as_of).total_seconds() / _DAY
        if self.latest:
            return (f"capture {captured.isoformat()} is {days:.0f} days old, beyond "
                    "ARCHIVE_MAX_DISTANCE")
        return (f"nearest capture {captured.isoformat()} is {days:.0f} days from as_of "
                f"{self.as_of.date().isoformat()}")

    def capture_time(self, url: str, headers: Any, status: int) -> datetime | None:
        """When the answer's capture was taken: its ``Memento-Datetime``, else, for a page
        (2xx), the full timestamp of the URL it was reached at (the archive redirects to a
        capture's exact timestamp); None when it is no capture."""
        moment = memento_time(headers)
        if moment is not None or not 200 <= status < 300:
            return moment
        replay = parse_replay(url)
        if replay is None or len(replay.timestamp) != 14:
            return None
        return replay.time


def archive_from_settings(as_of: str | None, get: Callable[[str], Any],
                          now: datetime | None = None) -> Archive | None:
    """The archive a crawl reads from (None: the live site); ValueError, in one line, for
    a bad WAYBACK_BASE_URL, ARCHIVE_MAX_DISTANCE or ARCHIVE_WARC, or a setting that
    cannot go with ``as_of``.  With latest, ``now`` is the run's start (default: now).

    ARCHIVE_MAX_DISTANCE left empty means 365 days around a date, and no limit with
    latest (set, it counts back from now)."""
    warc = get("ARCHIVE_WARC")
    if as_of is None:
        if warc:
            raise ValueError(f"ARCHIVE_WARC={warc!r} needs -a as_of=<date> (YYYY, YYYY-MM or "
                             "YYYY-MM-DD): the capture nearest that date is read")
        return None
    base_url = check_base_url(get("WAYBACK_BASE_URL") or DEFAULT_BASE_URL, "WAYBACK_BASE_URL",
                              DEFAULT_BASE_URL)
    distance = str(get("ARCHIVE_MAX_DISTANCE") or "").strip()
    latest = is_latest(as_of)
    max_distance = (parse_max_distance(distance) if distance
                    else None if latest else timedelta(days=365))
    render = str(get("RENDER") or "never").strip().lower()
    if render != "never":
        raise ValueError(f"RENDER={render} cannot be used with as_of: captures are read as "
                         "recorded; expected RENDER=never")
    if warc:
        warc_paths(warc)
    if latest:
        return Archive(base_url, now or datetime.now(UTC), max_distance, latest=True)
    return Archive(base_url, parse_as_of(as_of), max_distance)


# Characters that make an ARCHIVE_WARC entry a glob rather than a path.
_GLOB_CHARS = set("*?[")


def warc_paths(value: object) -> list[Path]:
    """The files ARCHIVE_WARC names (comma-separated paths or globs), sorted, each once;
    ValueError naming what matched nothing."""
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    found: list[Path] = []
    for part in (str(p).strip() for p in parts):
        if not part:
            continue
        if _GLOB_CHARS & set(part):
            matches = sorted(Path(p) for p in glob.glob(part, recursive=True)
                             if Path(p).is_file())
        else:
            matches = [Path(part)] if Path(part).is_file() else []
        if not matches:
            raise ValueError(f"ARCHIVE_WARC: {part!r} matches no file; expected WARC files "
                             "(.warc or .warc.gz), comma-separated paths or globs")
        found.extend(m for m in matches if m not in found)
    if not found:
        raise ValueError(f"ARCHIVE_WARC={value!r} names no file; expected WARC files "
                         "(.warc or .warc.gz), comma-separated paths or globs")
    return found
