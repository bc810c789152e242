"""The Wayback Machine as a source (``-a as_of``): a title read from its capture nearest
a date, or with ``as_of=latest`` from its newest usable capture.  Pure: no Scrapy.

WARC files (``-s ARCHIVE_WARC``) answer under this source as the Wayback Machine
would (``crawler.sources.warc``, a downloader middleware), so their answers are read
here too.  URLs, capture times and distances are ``crawler.sources.archive``'s;
the listing of a title's captures and the walk over them are ``crawler.sources.cdx``'s.

A capture is read like the site's answer, with its own time; a capture too far from
as_of, or none at all, is ``not_archived``; a capture of an error, a block or a 404
is never read as a title (``archived_<reason>``).  Along the latest walk such a
capture is passed over for the next older one of the same listing.  A title's full
credits page is a URL of its own: its captures are found as the title page's are (its
own nearest to as_of, or its own newest usable one), under the same distance rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from crawler.blocks import WAF_ACTION_HEADER, block_reason, header_text
from crawler.ids import is_imdb_host
from crawler.records import FullCreditsResult, PageKind, PageResult
from crawler.sources.archive import Archive, Replay, parse_replay, recorded_header
from crawler.sources.base import (
    REDIRECT_CODES,
    RETRY_KINDS,
    Answer,
    Ask,
    Credits,
    Known,
    NextCapture,
    Page,
    Refusal,
    Reply,
    Retry,
    ReuseCapture,
    Source,
    Target,
    counted,
    nothing_known,
    page_meta,
    page_of,
    read_credits,
    read_page,
    redirect_answer,
    status_count,
    unread,
)
from crawler.sources.cdx import CaptureFailure, Reuse, Walk, parse_listing, plan
from crawler.state.run import WAYBACK


@dataclass(frozen=True)
class WaybackSource:
    """Captures of ``archive`` (a date, or latest); ``name``: WAYBACK, or WARC when
    local files answer in its place."""

    archive: Archive
    name: str = WAYBACK
    known: Known = field(default=nothing_known, compare=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.archive.host,)  # the archive's host only

    @property
    def as_of(self) -> datetime | None:
        return self.archive.as_of

    def for_run(self, started_at: datetime, known: Known) -> Source:
        # latest: "now" is the run's start, a resumed session's too: one run, one as_of.
        archive = self.archive.at(started_at) if self.archive.latest else self.archive
        return replace(self, archive=archive, known=known)

    def title_url(self, tconst: str, page: str | None = None) -> str:
        return self.archive.title_url(tconst, page)

    def ask(self, tconst: str, page: str | None = None, walk: Walk | None = None) -> Ask:
        """The title's (or its ``page``'s) replay as of the date; with latest its CDX
        query, or, along its walk, the replay of its next capture."""
        meta = {"archive": True, **page_meta(page)}
        if not self.archive.latest:
            return Ask(self.archive.title_url(tconst, page), meta)
        if walk is None:
            return Ask(self.archive.title_url(tconst, page), {**meta, "cdx": True})
        return Ask(self.archive.capture_url(tconst, walk.first, page), {**meta, "walk": walk})

    def reaches(self, captured: datetime) -> bool:
        return not self.archive.too_far(captured)

    def answer(self, reply: Reply) -> Answer:
        if reply.meta.get("cdx"):
            return counted(self._listing(reply), f"archive/cdx_status/{reply.status}")
        return counted(self._capture(reply), status_count(reply))

    # --- as_of=latest: the one CDX query of a title --------------------------------

    def _listing(self, reply: Reply) -> Answer:
        """The newest capture that may be usable is read next (newer than the dataset's,
        in a refresh run), or the dataset's stands."""
        refused = block_reason(reply.status, reply.headers)
        if refused is not None or reply.status != 200:
            return Refusal(refused or f"http_{reply.status}",
                           "the archive's answer to the CDX query")
        try:
            captures = parse_listing(reply.body)
        except ValueError as exc:
            return Refusal("cdx_unreadable", f"not a list of captures: {exc}"[:500])
        # A full credits page is read anew whenever its title's page is.
        known = self.known(reply.tconst) if page_of(reply) is None else None
        return self._walk(reply, plan(captures, self.archive.since(), known))

    def _walk(self, reply: Reply, decision: Walk | CaptureFailure | Reuse) -> Answer:
        if isinstance(decision, Walk):
            return NextCapture(self.ask(reply.tconst, page_of(reply), decision))
        if isinstance(decision, Reuse):
            return ReuseCapture()
        captured = decision.captured_at
        return Refusal(decision.reason, decision.detail,
                       captured.isoformat() if captured is not None else None)

    def _unusable(self, reply: Reply, reason: str, detail: str | None,
                  captured_at: str | None) -> Answer:
        """A capture that is no title page nor merge: along a walk, passed over for the
        next older one; else the title's failure."""
        walk: Walk | None = reply.meta.get("walk")
        if walk is None or not reason.startswith("archived_"):
            return Refusal(reason, detail, captured_at)
        return counted(self._walk(reply, walk.passed_over(reason)),
                       f"archive/passed_over/{reason}")

    # --- a capture, or the archive's own answer ------------------------------------

    def _capture(self, reply: Reply) -> Answer:
        archive, status = self.archive, reply.status
        captured = archive.capture_time(reply.url, reply.headers, status)
        captured_at = captured.isoformat() if captured is not None else None
        if captured is not None and archive.too_far(captured):
            return Refusal("not_archived", archive.distance_text(captured), captured_at)
        if captured is None:
            block = block_reason(status, reply.headers)
        else:  # the capture's own headers, as recorded (the Wayback Machine prefixes them)
            action = recorded_header(reply.headers, WAF_ACTION_HEADER)
            block = block_reason(status, {WAF_ACTION_HEADER: action} if action else {})
        if status in REDIRECT_CODES and block is None:
            return self._redirect(reply, captured_at)
        if captured is None:  # the archive's own answer
            if block is not None:
                return Refusal(block, f"HTTP {status} from the archive")
            if status in (404, 410):
                return Refusal("not_archived", "no capture")
            return Refusal(f"http_{status}", "the archive's answer, not a capture")
        if block is not None or status >= 300:
            reason = block or ("not_found" if status in (404, 410) else f"http_{status}")
            return self._unusable(reply, f"archived_{reason}",
                                  f"the capture is an HTTP {status} answer", captured_at)
        return self._read(reply, captured_at)

    def _read(self, reply: Reply, captured_at: str | None) -> Answer:
        if page_of(reply) is not None:
            credits, seen = read_credits(reply)
            if credits["kind"] is PageKind.CREDITS:
                return Credits(credits, self.name, captured_at, counts=(seen,))
            return self._unread(reply, credits, seen, captured_at)
        result, seen = read_page(reply)
        record = result["title"]
        if result["kind"] is PageKind.TITLE and record is not None:
            return Page(record, self.name, captured_at, counts=(seen,))
        return self._unread(reply, result, seen, captured_at)

    def _unread(self, reply: Reply, result: PageResult | FullCreditsResult, seen: str,
                captured_at: str | None) -> Answer:
        reason, detail = unread(result, archived=captured_at is not None)
        otherwise = self._unusable(reply, reason, detail, captured_at)
        walk: Walk | None = reply.meta.get("walk")
        # Along a walk of captures an empty one is passed over at once.
        if result["kind"] in ({PageKind.TRUNCATED} if walk else RETRY_KINDS):
            return Retry(self.ask(reply.tconst, page_of(reply), walk), str(result["kind"]),
                         otherwise, counts=(seen,))
        return counted(otherwise, seen)

    def _redirect(self, reply: Reply, captured_at: str | None) -> Answer:
        """To the same title's capture (the nearest one, or a recorded redirect to
        itself): followed, unless too far from as_of; else the one redirect rule."""
        archive = self.archive
        target = self._target(urljoin(reply.url, header_text(reply.headers, b"Location")))
        replay = target.replay
        if (replay is not None and replay.tconst == reply.tconst
                and archive.too_far(replay.time)):
            return Refusal("not_archived", archive.distance_text(replay.time),
                           replay.time.isoformat())
        follow = self.ask(reply.tconst, page_of(reply), reply.meta.get("walk"))
        return redirect_answer(reply.tconst, target, replace(follow, url=target.url),
                               captured_at)

    def _target(self, url: str) -> ArchiveTarget:
        """A replay of an IMDb page is ours, of a title when it names one; any other
        URL on the archive is no title; anywhere else is offsite."""
        if not self.archive.on_archive(url):
            return ArchiveTarget(url, urlsplit(url).hostname or "", False, None)
        replay = parse_replay(url)
        if replay is None:
            return ArchiveTarget(url, urlsplit(url).hostname or "", True, None)
        return ArchiveTarget(url, replay.host, is_imdb_host(replay.host), replay.tconst,
                             replay)


@dataclass(frozen=True)
class ArchiveTarget(Target):
    """Where a redirect points on the archive, with the replay it names, if any."""

    replay: Replay | None = None
