"""Decode a fetched body and decide what kind of page it is, before reading anything."""

from __future__ import annotations

import codecs
import re
from typing import Any

from crawler.ids import TCONST_PATTERN, tconst_from_url
from crawler.records import PageKind

_CHARSET_RE = re.compile(rb"""charset=["']?([A-Za-z0-9_.:-]{1,40})""")
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


def decode_body(body: bytes | str | None) -> str:
    """Text of a body: UTF-8 when it is, else the declared charset, else cp1252; never raises."""
    return decode(body)[0]


def decode(body: bytes | str | None) -> tuple[str, bytes | None]:
    """(text of a body, the body itself when it is that text's UTF-8 encoding, else None).

    The bytes let the JSON layers hand their slice straight to orjson, with no re-encoding.
    """
    if body is None:
        return "", None
    if isinstance(body, str):
        return body, None
    raw = bytes(body)
    try:
        return raw.decode("utf-8"), raw
    except UnicodeDecodeError:
        pass
    m = _CHARSET_RE.search(raw[:4096])
    if m:
        try:
            charset = m.group(1).decode("ascii")
            # A page declared UTF-8 that is not: re-encoded (e.g. to Latin-1) on the way, unless
            # its valid UTF-8 characters outnumber the broken bytes (a stray byte or two).
            if codecs.lookup(charset).name != "utf-8" or _mostly_utf8(raw):
                return raw.decode(charset, errors="replace"), None
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("cp1252", errors="replace"), None


def _mostly_utf8(raw: bytes) -> bool:
    text = raw.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - broken > broken


def is_challenge(text: str, status: int) -> bool:
    head = text[:20000]
    marked = any(marker in head for marker in _CHALLENGE_MARKERS)
    if status == 202:
        return marked or "challenge" in head
    # With HTTP 200 the markers alone do not make a challenge: a title page carries its
    # data, and its text may contain anything (hypothesis found a cast member named
    # "token.awswaf.com").  The challenge page has no title data at all.
    return marked and "__NEXT_DATA__" not in text and "application/ld+json" not in head


def canonical_url(text: str) -> str | None:
    head = text[:60000]
    m = _CANONICAL_RE.search(head)
    if m:
        return m.group(1) or m.group(2)
    m = _OG_URL_RE.search(head)
    return m.group(1) if m else None


def page_tconst(text: str, next_start: int = -1) -> tuple[str | None, str | None]:
    """(tconst the page says it is about, sub-page name such as "fullcredits" or None)."""
    found: str | None = None
    subpage: str | None = None
    canon = canonical_url(text)
    if canon:
        found = tconst_from_url(canon)
        m = _SUBPAGE_RE.search(canon)
        if m:
            subpage = m.group(1)
    if next_start >= 0:
        m = _NEXT_TCONST_RE.search(text, next_start, next_start + 2000)
        if m:
            found = m.group(1)
    return found, subpage


def _ends_html(text: str, raw: bytes | None = None) -> bool:
    """The page ends with its own ``</html>``, not one inside a script that is still open
    (legacy pages carry ads whose markup sits in JavaScript strings).

    ``raw``, when given, is ``text`` encoded in UTF-8: the script tags are then searched in
    it (ASCII tags occur at the same places in both, in the same order; a bytes scan is
    faster, and half the memory of a text holding any character past U+00FF)."""
    tail = max(0, len(text) - 4096)
    end = max(text.rfind("</html>", tail), text.rfind("</HTML>", tail))
    if end < 0:
        return False
    page: str | bytes = text
    if raw is not None:
        page, end = raw, len(raw) - len(text[end:].encode("utf-8"))
    opened = _last_script_tag(page, end)
    if opened < 0:
        return True
    # Is that script closed before the end?  Searched forward from it: the answer is the
    # same, and the closing tag is found right after the script instead of after a scan
    # back over everything that follows it.
    if isinstance(page, bytes):
        return page.find(b"</script", opened, end) >= 0 or page.find(b"</SCRIPT", opened, end) >= 0
    return page.find("</script", opened, end) >= 0 or page.find("</SCRIPT", opened, end) >= 0


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
    text: str, status: int, content_type: str | None, raw: bytes | None = None
) -> tuple[PageKind, str] | None:
    """A verdict from what surrounds the page (status, type, markers), or None to read on.
    ``raw``: ``text``'s UTF-8 bytes when the body was that (see ``decode``)."""
    if content_type and not any(t in content_type.lower() for t in _HTML_TYPES):
        return PageKind.OTHER, f"not HTML: {content_type}"
    if not text.strip():
        return PageKind.EMPTY, "empty body"
    if is_challenge(text, status):
        return PageKind.CHALLENGE, f"AWS WAF challenge (HTTP {status})"
    if status >= 400:
        return PageKind.OTHER, f"HTTP {status}"
    if not _ends_html(text, raw):
        return PageKind.TRUNCATED, "no closing </html>"
    return None
