"""A fetched body, decoded only where something reads it.

A title page is ~1 MB, and one character past U+00FF anywhere in it makes Python store its
whole text at 2 bytes a character: decoding it all cost ~0.6 ms a page, a tenth of a
crawl's time.  When the body is UTF-8 it is searched as bytes instead (ASCII markers and
tags occur at the same places, in the same order, in the bytes as in the text), and only
the slices that are read are decoded.  Other bodies are decoded whole, as before.

Checking a whole body for UTF-8 still cost ~0.1 ms a page, so :func:`read_utf8_first`
does not: it reads the body as UTF-8 bytes, every slice read decoded strictly (orjson
checks what it parses), and reads it again, checked whole, only if a slice it read was
not UTF-8.  A body whose unread parts are not UTF-8 is read as the UTF-8 it is where read.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_CHARSET_RE = re.compile(rb"""charset=["']?([A-Za-z0-9_.:-]{1,40})""")
# Validated in pieces: a piece with a character past U+00FF costs its own size, not the page's.
_CHECK_BYTES = 16384


class Body:
    """A body and the one thing that is searched in it, :attr:`page`: the UTF-8 bytes when the
    body is UTF-8, else its text.  Offsets into a body are in :attr:`page`'s units."""

    def __init__(self, body: bytes | str | None, *, assume_utf8: bool = False) -> None:
        """``assume_utf8``: bytes are taken for UTF-8 unchecked, and a read of a slice that
        is not raises ``UnicodeDecodeError`` (see :func:`read_utf8_first`)."""
        self.raw: bytes | None = None
        self._text: str | None = None
        self._head: str | None = None
        self._head_whole = False  # _head is the whole text
        if body is None:
            self._text = ""
        elif isinstance(body, str):
            self._text = body
        else:
            raw = bytes(body)
            if assume_utf8 or _is_utf8(raw):
                self.raw = raw
            else:
                self._text = _decode_other(raw)

    @property
    def page(self) -> str | bytes:
        return self.raw if self.raw is not None else self.text

    @property
    def text(self) -> str:
        """The whole text (decoded on first use: only layers that read a whole page use it)."""
        if self._text is None:
            assert self.raw is not None
            self._text = self.raw.decode("utf-8")
        return self._text

    def chars(self, start: int, count: int) -> str:
        """Up to ``count`` characters of text from offset ``start``."""
        if self.raw is None:
            return self.text[start : start + count]
        return _chars(self.raw, start, count)

    def head(self, count: int) -> str:
        """The first ``count`` characters (the longest head asked for is kept: classify
        asks for the same one twice)."""
        if self._head is None or (len(self._head) < count and not self._head_whole):
            self._head = self.chars(0, count)
            self._head_whole = len(self._head) < count
        return self._head if len(self._head) <= count else self._head[:count]

    def in_tail(self, at: int, count: int) -> bool:
        """Does offset ``at`` (a character's start) lie within the last ``count`` characters?"""
        if self.raw is None:
            return len(self.text) - at <= count
        after = len(self.raw) - at
        if after <= count or after > 4 * count:  # bytes bound characters both ways
            return after <= count
        return len(self.raw[at:].decode("utf-8")) <= count

    def is_blank(self) -> bool:
        """Nothing but whitespace (as ``str.isspace`` has it)?"""
        if self.raw is None:
            return not self.text.strip()
        rest = self.raw.lstrip()
        if not rest:
            return True
        if rest[0] < 0x80 and not chr(rest[0]).isspace():
            return False  # the usual answer, without decoding anything
        return not self.text.strip()


def find(page: str | bytes, needle: str, start: int = 0, end: int | None = None) -> int:
    """``page.find(needle)`` in a ``Body.page`` of either kind (UTF-8 finds a needle at the
    same characters in the bytes as in the text)."""
    if isinstance(page, bytes):
        return page.find(needle.encode(), start, end)
    return page.find(needle, start, end)


def rfind(page: str | bytes, needle: str, start: int = 0, end: int | None = None) -> int:
    if isinstance(page, bytes):
        return page.rfind(needle.encode(), start, end)
    return page.rfind(needle, start, end)


def _chars(raw: bytes, start: int, count: int) -> str:
    """``count`` characters from byte ``start``, decoding no more than about that many bytes."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    parts: list[str] = []
    got, at = 0, start
    while got < count and at < len(raw):
        step = count - got  # at least one character per 4 bytes: a few steps at most
        part = decoder.decode(raw[at : at + step], at + step >= len(raw))  # final: strict
        parts.append(part)
        got += len(part)
        at += step
    return "".join(parts)[:count]


def read_utf8_first(read: Callable[[Body], T], body: bytes | str | None) -> T:
    """``read`` of the body taken for UTF-8; if a slice it read was not UTF-8, ``read`` of the
    body checked whole (and, if it is not UTF-8, decoded as its charset says)."""
    try:
        return read(Body(body, assume_utf8=True))
    except UnicodeDecodeError:
        return read(Body(body))


def utf8_or_raise(source: bytes | memoryview | str) -> None:
    """Raise ``UnicodeDecodeError`` if ``source`` (bytes orjson would not parse) is not
    UTF-8: the parse failed for the encoding, not for a page cut off or broken."""
    if not isinstance(source, str):
        bytes(source).decode("utf-8")


def _is_utf8(raw: bytes) -> bool:
    if raw.isascii():
        return True
    view, at, size = memoryview(raw), 0, len(raw)
    try:
        while at < size:
            final = at + _CHECK_BYTES >= size
            _, used = codecs.utf_8_decode(view[at : at + _CHECK_BYTES], "strict", final)
            at += used  # a character cut at the piece's end starts the next piece
    except UnicodeDecodeError:
        return False
    return True


def _decode_other(raw: bytes) -> str:
    """The text of a body that is not UTF-8: its declared charset, else cp1252; never raises."""
    m = _CHARSET_RE.search(raw[:4096])
    if m:
        try:
            charset = m.group(1).decode("ascii")
            # A page declared UTF-8 that is not: re-encoded (e.g. to Latin-1) on the way, unless
            # its valid UTF-8 characters outnumber the broken bytes (a stray byte or two).
            if codecs.lookup(charset).name != "utf-8" or _mostly_utf8(raw):
                return raw.decode(charset, errors="replace")
        except (LookupError, UnicodeDecodeError):
            pass
    return raw.decode("cp1252", errors="replace")


def _mostly_utf8(raw: bytes) -> bool:
    text = raw.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return non_ascii - broken > broken
