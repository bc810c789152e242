"""The mirror's archive mode: a local stand-in for the Wayback Machine's raw replay.

``MirrorServer(archive=captures)`` answers ``/web/<timestamp>[<mod>_]/<IMDb title URL>``
from ``captures`` (tconst -> its captures, each at its own 14-digit timestamp):

* a timestamp that is not a capture's own -> 302 to the nearest capture's exact URL
  (the earlier one on a tie; 4-13 digits are padded to their lower bound);
* a capture -> its recorded status and body, with ``Memento-Datetime`` (its time) and a
  ``Link: <original>; rel="original"``; a recorded redirect (a merged title, another
  site) -> its status with a ``Location`` rewritten into the archive;
* a title without any capture, or a URL that is no replay -> 404, no Memento-Datetime.

Written independently of ``crawler.archive`` (the mirror is the crawl's counterpart,
not its copy).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawler.ids import is_tconst

HTML = "text/html; charset=utf-8"
IMDB = "https://www.imdb.com"
_REPLAY_RE = re.compile(r"^/web/(\d{4,14})([a-z]{2}_)?/(.+)$")
_TITLE_RE = re.compile(r"^/title/(tt\d{7,10})/?$")
# SOURCES.tsv layouts that are title pages, and the status imdb.com sent with each.
TITLE_LAYOUTS = ("next2021plus", "legacy")
NOT_ARCHIVED = (b"<!DOCTYPE html><html><head><title>Wayback Machine</title></head><body>"
                b"<p>Local archive: this page is not archived.</p></body></html>")


@dataclass(frozen=True)
class Capture:
    """One capture of a title page: at ``timestamp`` (14 digits), imdb.com answered
    ``status`` with ``body`` (or ``page``, a saved file read when replayed), or, with
    ``location``, redirected there (a tconst, or a full URL)."""

    timestamp: str
    body: bytes = b""
    page: Path | None = None
    status: int = 200
    location: str | None = None
    content_type: str = HTML

    def content(self) -> bytes:
        return self.page.read_bytes() if self.page is not None else self.body


def capture_time(timestamp: str) -> datetime:
    padded = timestamp + "00000101000000"[len(timestamp):]
    return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def sources_timestamp(capture_date: str) -> str | None:
    """SOURCES.tsv's capture date (``2018-08-20`` or a year) -> a timestamp at its start;
    None when the date is not known (``<=2026``)."""
    text = capture_date.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text.replace("-", "") + "000000"
    if re.fullmatch(r"\d{4}", text):
        return text + "0101000000"
    return None


def captures_from_sources(pages_dir: str | Path,
                          layouts: Sequence[str] = TITLE_LAYOUTS) -> dict[str, list[Capture]]:
    """The real pages of ``pages_dir`` (``SOURCES.tsv``) as captures at their capture dates:
    title pages only, one per (title, date), in time order."""
    folder = Path(pages_dir)
    with open(folder / "SOURCES.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out: dict[str, dict[str, Capture]] = {}
    for row in rows:
        stamp = sources_timestamp(row["capture_date"])
        if row["layout"] not in layouts or stamp is None or not is_tconst(row["title_id"]):
            continue
        out.setdefault(row["title_id"], {}).setdefault(
            stamp, Capture(stamp, page=folder / row["file"]))
    return {t: [c[s] for s in sorted(c)] for t, c in out.items()}


def nearest(captures: Sequence[Capture], timestamp: str) -> Capture:
    target = capture_time(timestamp)
    return min(captures, key=lambda c: (abs(capture_time(c.timestamp) - target), c.timestamp))


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def tconst_of_replay(path: str) -> str | None:
    """The tconst a replay path asks for (faults are keyed by it), else None."""
    m = _REPLAY_RE.match(path)
    if not m:
        return None
    t = _TITLE_RE.match(urlsplit(_absolute(m.group(3))).path)
    return t.group(1) if t else None


def _absolute(original: str) -> str:
    return original if "://" in original else "http://" + original


def answer(captures: Mapping[str, Sequence[Capture]], path: str
           ) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, content type) of the archive's answer to ``path``."""
    m = _REPLAY_RE.match(path)
    if not m:
        return 404, {}, NOT_ARCHIVED, HTML
    timestamp, modifier, original = m.group(1), m.group(2) or "", _absolute(m.group(3))
    parts = urlsplit(original)
    host = (parts.hostname or "").lower()
    title = _TITLE_RE.match(parts.path)
    found = captures.get(title.group(1)) if title and host.endswith("imdb.com") else None
    if not found:
        return 404, {}, NOT_ARCHIVED, HTML
    capture = nearest(found, timestamp)
    if capture.timestamp != timestamp:
        return 302, {"Location": f"/web/{capture.timestamp}{modifier}/{original}"}, b"", HTML
    headers = {"Memento-Datetime": _http_date(capture_time(capture.timestamp)),
               "Link": f'<{original}>; rel="original"'}
    if capture.location is not None:
        to = capture.location
        target = to if "://" in to else urljoin(IMDB, f"/title/{to}/")
        headers["Location"] = f"/web/{capture.timestamp}{modifier}/{target}"
    return capture.status, headers, capture.content(), capture.content_type
