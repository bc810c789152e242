"""Decide what kind of page a fetched body is, before reading anything."""

from __future__ import annotations

import re
from typing import Any

from crawler.extraction.body import Body, find, rfind
from crawler.ids import TCONST_PATTERN, tconst_from_url
from crawler.records import PageKind

_CANONICAL_RE = re.compile(
    r"""<link[^>]{0,200}?rel=["']canonical["'][^>]{0,200}?href=["']([^"']{1,2000})["']"""
    r"""|<link[^>]{0,200}?href=["']([^"']{1,2000})["'][^>]{0,200}?rel=["']canonical["']"""
)
_OG_URL_RE = re.compile(
    r"""<meta[^>]{0,100}?property=["']og:url["'][^>]{0,100}?content=["']([^"']{1,2000})"""
)
_NEXT_TCONST_RE = re.compile(rf'"pageProps":\{{[^{{}}]{{0,200}}?"tconst":"({TCONST_PATTERN})"')
_SUBPAGE_RE = re.compile(rf"/title/{TCONST_PATTERN}/([a-z]+)")
# Markers of AWS WAF's challenge page (served with HTTP 202 to clients it wants to verify).
_CHALLENGE_MARKERS = ("awsWafCookieDomainList", "AwsWafIntegration", "token.awswaf.com")
_HTML_TYPES = ("text/html", "application/xhtml")
_HEAD_FIRST = 20000  # characters searched for the challenge's markers, and first for the URL
_HEAD = 60000  # characters searched for the canonical URL
# The most characters a match of _CANONICAL_RE or _OG_URL_RE can span (their bounds summed).
_LONGEST_MATCH = 2500


def is_challenge(body: Body, status: int) -> bool:
    head = body.head(_HEAD_FIRST)
    marked = any(marker in head for marker in _CHALLENGE_MARKERS)
    if status == 202:
        return marked or "challenge" in head
    # With HTTP 200 the markers alone do not make a challenge: a title page carries its
    # data, and its text may contain anything (hypothesis found a cast member named
    # "token.awswaf.com").  The challenge page has no title data at all.
    return marked and find(body.page, "__NEXT_DATA__") < 0 and "application/ld+json" not in head


def canonical_url(body: Body) -> str | None:
    """The page's canonical URL (or og:url) from the first 60,000 characters of its text.

    The first 20,000, decoded already for ``is_challenge``, are searched first (the
    canonical link is in a page's head): a match starting far enough from their end to be
    whole is the answer the 60,000 would give, as no match spans more than
    ``_LONGEST_MATCH`` characters.  A character past U+00FF in the rest of those 60,000
    made decoding them cost ~0.1 ms a page."""
    head = body.head(_HEAD_FIRST)
    m = _CANONICAL_RE.search(head)
    if m is None or (len(head) == _HEAD_FIRST and m.start() + _LONGEST_MATCH > _HEAD_FIRST):
        head = body.head(_HEAD)
        m = _CANONICAL_RE.search(head)
    if m:
        return m.group(1) or m.group(2)
    m = _OG_URL_RE.search(head)
    return m.group(1) if m else None


def page_tconst(body: Body, next_start: int = -1) -> tuple[str | None, str | None]:
    """(tconst the page says it is about, sub-page name such as "fullcredits" or None).
    ``next_start``: the offset of the ``__NEXT_DATA__`` tag, if the page has one."""
    found: str | None = None
    subpage: str | None = None
    canon = canonical_url(body)
    if canon:
        found = tconst_from_url(canon)
        m = _SUBPAGE_RE.search(canon)
        if m:
            subpage = m.group(1)
    if next_start >= 0:
        m = _NEXT_TCONST_RE.search(body.chars(next_start, 2000))
        if m:
            found = m.group(1)
    return found, subpage


def _ends_html(body: Body) -> bool:
    """The page ends with its own ``</html>``, not one inside a script that is still open
    (legacy pages carry ads whose markup sits in JavaScript strings)."""
    page = body.page
    # The last "</html>" of the last 4,096 characters (at most 4 bytes each).
    start = max(0, len(page) - (4096 if isinstance(page, str) else 4 * 4096))
    end = max(rfind(page, "</html>", start), rfind(page, "</HTML>", start))
    if end < 0 or not body.in_tail(end, 4096):
        return False
    opened = _last_script_tag(page, end)
    if opened < 0:
        return True
    # Is that script closed before the end?  Searched forward from it: the answer is the
    # same, and the closing tag is found right after the script instead of after a scan
    # back over everything that follows it.
    return find(page, "</script", opened, end) >= 0 or find(page, "</SCRIPT", opened, end) >= 0


_SCRIPT_OPEN = ("<script", "<SCRIPT")
_SCRIPT_OPEN_BYTES = (b"<script", b"<SCRIPT")
_AFTER_SCRIPT = (">", " ", "\t", "\n", "\r")
_AFTER_SCRIPT_BYTES = (b">", b" ", b"\t", b"\n", b"\r")


def _last_script_tag(page: str | bytes, end: int) -> int:
    """Start of the last ``<script>`` / ``<script ...`` tag before ``end``, or -1."""
    text = not isinstance(page, bytes)
    names: tuple[Any, ...] = _SCRIPT_OPEN if text else _SCRIPT_OPEN_BYTES
    after: tuple[Any, ...] = _AFTER_SCRIPT if text else _AFTER_SCRIPT_BYTES
    found = -1
    for name in names:
        at = end
        while (at := page.rfind(name, found + 1, at)) >= 0:
            if page[at + 7 : at + 8] in after:
                found = at
                break
    return found


def classify_envelope(
    body: Body, status: int, content_type: str | None
) -> tuple[PageKind, str] | None:
    """A verdict from what surrounds the page (status, type, markers), or None to read on."""
    if content_type and not any(t in content_type.lower() for t in _HTML_TYPES):
        return PageKind.OTHER, f"not HTML: {content_type}"
    if body.is_blank():
        return PageKind.EMPTY, "empty body"
    if is_challenge(body, status):
        return PageKind.CHALLENGE, f"AWS WAF challenge (HTTP {status})"
    if status >= 400:
        return PageKind.OTHER, f"HTTP {status}"
    if not _ends_html(body):
        return PageKind.TRUNCATED, "no closing </html>"
    return None
