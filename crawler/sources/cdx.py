"""``-a as_of=latest``: a title's captures as the archive lists them, and which to read.

Pure functions, no Scrapy.  One query of the archive's CDX API per title lists its
captures with the status IMDb answered each with
(``{WAYBACK_BASE_URL}/cdx/search/cdx?url=www.imdb.com/title/<tconst>/&output=json
&fl=timestamp,statuscode,mimetype``).  The JSON answer is an array of rows whose first
row names the fields, and every value is a string (wayback-cdx-server README); ``-``
is the CDX format's placeholder for an unknown value (a revisit record's status).
From that list a ``Walk`` is made: the captures that may be usable, newest first.
A capture the list already shows unusable (a recorded
challenge, 202; an error, 4xx/5xx) is never downloaded; one whose body turns out
unusable (a challenge page, an empty body, an error page) is passed over for the next
older one of the same list, with no second query.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from crawler.ids import FULLCREDITS, TCONST_PATTERN, page_path

CDX_PATH = "/cdx/search/cdx"
FIELDS = ("timestamp", "statuscode", "mimetype")
# IMDb's challenge status: a title page is never a 202 (crawler.failures.CHALLENGE_STATUS).
CHALLENGE_STATUS = 202
_TIMESTAMP_RE = re.compile(r"^\d{14}$", re.ASCII)
_QUERY_TITLE_RE = re.compile(
    rf"^(?:[a-z]+://)?(?:www\.)?imdb\.com/title/({TCONST_PATTERN})(?:/|/({FULLCREDITS})/?)?$",
    re.ASCII | re.IGNORECASE)


def cdx_url(base_url: str, tconst: str, page: str | None = None) -> str:
    """The one CDX query of a title (or of its full credits ``page``): all its captures,
    with their recorded status."""
    query = urlencode({"url": f"www.imdb.com{page_path(tconst, page)}", "output": "json",
                       "fl": ",".join(FIELDS)}, safe="/,")
    return f"{base_url.rstrip('/')}{CDX_PATH}?{query}"


def cdx_page(url: str) -> tuple[str, str | None] | None:
    """(tconst, page) a CDX query asks for (its ``url=``), None for any other URL."""
    parts = urlsplit(url)
    if parts.path != CDX_PATH:
        return None
    wanted = parse_qs(parts.query).get("url") or [""]
    m = _QUERY_TITLE_RE.match(wanted[0])
    return (m.group(1), FULLCREDITS if m.group(2) else None) if m else None


def cdx_tconst(url: str) -> str | None:
    """The tconst a CDX query of a title page asks for (its ``url=``), None for any other
    URL."""
    found = cdx_page(url)
    return found[0] if found is not None and found[1] is None else None


def _time(timestamp: str) -> datetime:
    return datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Listed:
    """One capture as the CDX API lists it."""

    timestamp: str  # 14 digits, UTC
    status: int | None  # the status IMDb answered; None when unknown ("-", a revisit)
    mimetype: str = ""

    @property
    def time(self) -> datetime:
        return _time(self.timestamp)


def parse_listing(body: bytes | str) -> list[Listed]:
    """The CDX API's JSON answer -> captures, oldest first; ValueError when it is not one.

    An empty body or ``[]`` lists none; rows that are not captures (a resume key) are
    skipped.  The CDX server gzips its answers unless asked not to: a body still gzipped
    (sent without ``Content-Encoding``) is inflated here."""
    if isinstance(body, bytes) and body[:2] == b"\x1f\x8b":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise ValueError(f"a gzipped CDX answer that does not inflate: {exc}") from None
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not text.strip():
        return []
    rows = json.loads(text)
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError("a CDX answer is a JSON array of arrays")
    rows = [r for r in rows if r]
    if not rows:
        return []
    header = [str(name) for name in rows[0]]
    if "timestamp" not in header:
        raise ValueError(f"the CDX answer's first row names no timestamp: {header[:8]}")
    at = {name: i for i, name in enumerate(header)}
    out = []
    for row in rows[1:]:
        if len(row) != len(header) or not _TIMESTAMP_RE.match(str(row[at["timestamp"]])):
            continue
        status = str(row[at["statuscode"]]) if "statuscode" in at else "-"
        mimetype = str(row[at["mimetype"]]) if "mimetype" in at else ""
        out.append(Listed(str(row[at["timestamp"]]),
                          int(status) if status.isdigit() else None, mimetype))
    return sorted(set(out))


def listed_reason(capture: Listed) -> str | None:
    """The failure reason of a capture its listed status already shows unusable; None
    when it may be a title page or a merge (only reading it tells)."""
    status = capture.status
    if status is None:
        return None  # unknown (a revisit repeats another capture's): read it to know
    if status == CHALLENGE_STATUS:
        return "archived_blocked"
    if status in (404, 410):
        return "archived_not_found"
    if status < 200 or status >= 400:
        return f"archived_http_{status}"
    return None


@dataclass(frozen=True)
class CaptureFailure:
    """The title's outcome when no capture can be read."""

    reason: str
    detail: str
    captured_at: datetime | None  # the newest capture's time, if any


@dataclass(frozen=True)
class Reuse:
    """The dataset's capture of the title is still the newest usable one."""


@dataclass(frozen=True)
class Walk:
    """A title's captures still to try, newest first (carried in the request's meta)."""

    to_try: tuple[str, ...]  # timestamps of captures that may be usable, newest first
    listed: int  # captures listed (within ARCHIVE_MAX_DISTANCE)
    newest: str  # timestamp of the newest listed capture
    newest_reason: str | None  # why the newest capture is unusable, once known
    known: str | None = None  # timestamp of the dataset's capture (a refresh run)
    since: str | None = None  # ARCHIVE_MAX_DISTANCE's bound, when set (ISO-8601)

    @property
    def first(self) -> str:
        return self.to_try[0]

    def passed_over(self, reason: str) -> Walk | CaptureFailure | Reuse:
        """The first capture turned out unusable (``reason``): the walk goes on with the
        next older one; once none is left, the dataset's capture is reused, or the title
        fails with the reason of its newest capture."""
        newest_reason = self.newest_reason or reason
        rest = self.to_try[1:]
        if rest:
            return replace(self, to_try=rest, newest_reason=newest_reason)
        if self.known is not None:
            return Reuse()
        return _all_unusable(self.listed, self.newest, newest_reason, self.since)


def _all_unusable(listed: int, newest: str, reason: str, since: str | None) -> CaptureFailure:
    what = "the only capture" if listed == 1 else f"all {listed} captures"
    within = f" since {since}" if since else ""
    return CaptureFailure(reason, f"{what}{within} {'was' if listed == 1 else 'were'} "
                          f"unusable (the newest, {_time(newest).isoformat()}: {reason})",
                          _time(newest))


def plan(captures: list[Listed], since: datetime | None = None,
         known: datetime | None = None) -> Walk | CaptureFailure | Reuse:
    """What to read of a title's listed ``captures``: a ``Walk`` over those that may be
    usable, newest first; ``Reuse`` when none is newer than the dataset's capture
    (``known``); a ``CaptureFailure`` when there is none to read.  Captures before ``since``
    (ARCHIVE_MAX_DISTANCE back from now) are left out."""
    kept = [c for c in captures if since is None or c.time >= since]
    if not kept:
        if known is not None:
            return Reuse()
        if not captures:
            return CaptureFailure("not_archived", "no capture", None)
        last = captures[-1].time
        return CaptureFailure("not_archived", f"newest capture {last.isoformat()} is before "
                              f"{since.isoformat() if since else '?'} (ARCHIVE_MAX_DISTANCE "
                              "back from now)", last)
    newest = kept[-1]
    bound = since.isoformat() if since is not None else None
    known_ts = known.astimezone(UTC).strftime("%Y%m%d%H%M%S") if known is not None else None
    to_try = tuple(c.timestamp for c in reversed(kept) if listed_reason(c) is None
                   and (known_ts is None or c.timestamp > known_ts))
    if not to_try:
        if known is not None:
            return Reuse()
        reason = listed_reason(newest)
        assert reason is not None  # else it would be a capture to try
        return _all_unusable(len(kept), newest.timestamp, reason, bound)
    return Walk(to_try, len(kept), newest.timestamp, listed_reason(newest), known_ts, bound)
