"""The mirror's archive mode: a local stand-in for the Wayback Machine's raw replay.

``MirrorServer(archive=captures)`` answers ``/web/<timestamp>[<mod>_]/<IMDb title URL>``
from ``captures`` (tconst -> its captures, each at its own 14-digit timestamp; a title's
full credits page ``/title/<tconst>/fullcredits/`` is a URL of its own, keyed
``<tconst>/fullcredits``: :func:`fullcredits_captures`):

* a timestamp that is not a capture's own -> 302 to the nearest capture's exact URL
  (the earlier one on a tie; 4-13 digits are padded to their lower bound);
* a capture -> its recorded status and body, with ``Memento-Datetime`` (its time) and a
  ``Link: <original>; rel="original"``; a recorded redirect (a merged title, another
  site) -> its status with a ``Location`` rewritten into the archive;
* a title without any capture, or a URL that is no replay -> 404, no Memento-Datetime;
* a capture's recorded headers (a challenge's ``x-amzn-waf-action``) -> replayed as
  ``x-archive-orig-<name>``, as the Wayback Machine replays the headers it recorded.

``/cdx/search/cdx?url=<IMDb title URL>`` is its CDX API (:func:`answer_cdx`): the
title's captures, oldest first, with their recorded status (``output=json``: a row of
field names, then a row per capture; ``fl``, ``from``, ``to`` and ``limit`` as the
wayback-cdx-server README describes them).

:func:`latest_standin` builds an archive whose newest capture of each title is a
recorded 2026 challenge, its older ones the real pages of ``pages_dir``
(:func:`with_recorded_challenges` adds such a capture to any archive).

Written independently of ``crawler.sources.archive`` (the mirror is the crawl's counterpart,
not its copy).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from crawler.ids import is_tconst

HTML = "text/html; charset=utf-8"
IMDB = "https://www.imdb.com"
_REPLAY_RE = re.compile(r"^/web/(\d{4,14})([a-z]{2}_)?/(.+)$")
_TITLE_RE = re.compile(r"^/title/(tt\d{7,10})(/fullcredits)?/?$")
FULLCREDITS = "fullcredits"
# SOURCES.tsv layouts that are title pages, and the status imdb.com sent with each.
TITLE_LAYOUTS = ("next2021plus", "legacy")
NOT_ARCHIVED = (b"<!DOCTYPE html><html><head><title>Wayback Machine</title></head><body>"
                b"<p>Local archive: this page is not archived.</p></body></html>")
ORIGINAL_HEADER_PREFIX = "x-archive-orig-"
CDX_PATH = "/cdx/search/cdx"
# The fields a CDX query gets when it names none (wayback-cdx-server README).
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
# imdb.com answers every non-browser client with its WAF challenge since 2026-03-20.
CHALLENGE_SINCE = "20260320000000"


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
    headers: tuple[tuple[str, str], ...] = ()  # other headers imdb.com sent

    def content(self) -> bytes:
        return self.page.read_bytes() if self.page is not None else self.body

    @classmethod
    def challenge(cls, timestamp: str) -> Capture:
        """imdb.com's 2026 challenge, as recorded: 202, the header, an empty body."""
        return cls(timestamp, status=202, headers=(("x-amzn-waf-action", "challenge"),))

    @classmethod
    def error(cls, timestamp: str, status: int = 503) -> Capture:
        """An error page imdb.com answered with."""
        return cls(timestamp, status=status,
                   body=f"<html><body><h1>{status}</h1></body></html>".encode())

    @classmethod
    def challenge_page(cls, timestamp: str, page: Path) -> Capture:
        """A 200 whose body is a challenge page (``page``: a saved one)."""
        return cls(timestamp, page=page)


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


def fullcredits_key(tconst: str) -> str:
    """The key of a title's full credits page in an archive's captures."""
    return f"{tconst}/{FULLCREDITS}"


def fullcredits_captures(pages_dir: str | Path) -> dict[str, list[Capture]]:
    """The saved full credits pages of ``pages_dir`` (SOURCES.tsv layout ``fullcredits``)
    as captures at their capture dates, keyed by :func:`fullcredits_key`."""
    found = captures_from_sources(pages_dir, layouts=(FULLCREDITS,))
    return {fullcredits_key(t): c for t, c in found.items()}


def _key(path: str) -> tuple[str, str] | None:
    """(tconst, captures key) of a title page's or full credits page's path."""
    m = _TITLE_RE.match(path)
    if not m:
        return None
    return m.group(1), fullcredits_key(m.group(1)) if m.group(2) else m.group(1)


def nearest(captures: Sequence[Capture], timestamp: str) -> Capture:
    target = capture_time(timestamp)
    return min(captures, key=lambda c: (abs(capture_time(c.timestamp) - target), c.timestamp))


def _http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def tconst_of_replay(path: str) -> str | None:
    """The tconst a replay path asks for, else None."""
    m = _REPLAY_RE.match(path)
    if not m:
        return None
    found = _key(urlsplit(_absolute(m.group(3))).path)
    return found[0] if found else None


def fault_key_of_replay(path: str) -> str | None:
    """The mirror's fault key of a replay path: ``/title/<tconst>/``, or for a full
    credits page ``/title/<tconst>/fullcredits/``; None for another path."""
    m = _REPLAY_RE.match(path)
    if not m:
        return None
    found = _key(urlsplit(_absolute(m.group(3))).path)
    if found is None:
        return None
    tconst, key = found
    return f"/title/{tconst}/" if key == tconst else f"/title/{key}/"


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
    title = _key(parts.path)
    found = captures.get(title[1]) if title and host.endswith("imdb.com") else None
    if not found:
        return 404, {}, NOT_ARCHIVED, HTML
    capture = nearest(found, timestamp)
    if capture.timestamp != timestamp:
        return 302, {"Location": f"/web/{capture.timestamp}{modifier}/{original}"}, b"", HTML
    headers = {"Memento-Datetime": _http_date(capture_time(capture.timestamp)),
               "Link": f'<{original}>; rel="original"'}
    for name, value in capture.headers:
        headers[ORIGINAL_HEADER_PREFIX + name.lower()] = value
    if capture.location is not None:
        to = capture.location
        target = to if "://" in to else urljoin(IMDB, f"/title/{to}/")
        headers["Location"] = f"/web/{capture.timestamp}{modifier}/{target}"
    return capture.status, headers, capture.content(), capture.content_type


def _pad_bound(timestamp: str, upper: bool) -> str:
    return timestamp + ("99991231235959" if upper else "00000101000000")[len(timestamp):]


def _cdx_row(key: str, capture: Capture, fields: Sequence[str]) -> list[str]:
    body = capture.content() if {"digest", "length"} & set(fields) else b""
    values = {
        "urlkey": f"com,imdb)/title/{key}",
        "timestamp": capture.timestamp,
        "original": f"{IMDB}/title/{key}/",
        "mimetype": capture.content_type.split(";")[0].strip(),
        "statuscode": str(capture.status),
        "digest": base64.b32encode(hashlib.sha1(body).digest()).decode(),
        "length": str(len(body)),
    }
    return [values[f] for f in fields]


def answer_cdx(captures: Mapping[str, Sequence[Capture]], query: str
               ) -> tuple[int, dict[str, str], bytes, str]:
    """(status, headers, body, content type) of the CDX API's answer to ``query``: the
    captures of one title URL (an exact match), oldest first."""
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    wanted = urlsplit(_absolute(params.get("url", "")))
    title = _key(wanted.path)
    if not title or not (wanted.hostname or "").lower().endswith("imdb.com"):
        return 400, {}, b"url= names no IMDb title page", "text/plain"
    fields = [f for f in params.get("fl", ",".join(CDX_FIELDS)).split(",") if f]
    if not set(fields) <= set(CDX_FIELDS):
        return 400, {}, f"unknown field in fl={','.join(fields)}".encode(), "text/plain"
    low = _pad_bound(params.get("from", ""), upper=False)
    high = _pad_bound(params.get("to", ""), upper=True)
    found = [c for c in captures.get(title[1], []) if low <= c.timestamp <= high]
    found.sort(key=lambda c: c.timestamp)
    limit = int(params.get("limit", "0") or 0)
    found = found[:limit] if limit > 0 else found[limit:] if limit < 0 else found
    rows = [_cdx_row(title[1], c, fields) for c in found]
    if params.get("output") == "json":
        body = json.dumps([fields, *rows] if rows else []).encode()
        return 200, {}, body, "application/json"
    return 200, {}, "".join(" ".join(r) + "\n" for r in rows).encode(), "text/plain"


def with_recorded_challenges(captures: Mapping[str, Sequence[Capture]],
                             challenged_at: str = "20261101000000") -> dict[str, list[Capture]]:
    """``captures`` with, for every title, a newest capture at ``challenged_at`` that
    recorded imdb.com's 2026 challenge (202, ``x-amzn-waf-action: challenge``, an empty
    body): each title's newest usable capture is then its newest other one."""
    if challenged_at < CHALLENGE_SINCE:
        raise ValueError(f"challenged_at={challenged_at}: imdb.com answered with challenges "
                         f"from {CHALLENGE_SINCE} on")
    return {tconst: sorted([*found, Capture.challenge(challenged_at)],
                           key=lambda c: c.timestamp)
            for tconst, found in captures.items()}


def latest_standin(pages_dir: str | Path, challenged_at: str = "20261101000000",
                   layouts: Sequence[str] = TITLE_LAYOUTS) -> dict[str, list[Capture]]:
    """A Wayback stand-in for ``as_of=latest``: each title's real pages of ``pages_dir``
    at their capture dates (SOURCES.tsv), then, newest, a recorded 2026 challenge."""
    return with_recorded_challenges(captures_from_sources(pages_dir, layouts), challenged_at)
