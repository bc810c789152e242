"""HTTP header values as text: the one place header bytes are decoded.

Scrapy keeps header values as bytes.  They are read as Latin-1, which maps every byte
to a character (HTTP's historical charset), so a value never fails to decode.
"""

from __future__ import annotations

from typing import Any


def header_decode(value: bytes | str | None) -> str:
    """A header value as text ("" when absent or empty)."""
    if not value:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def header_text(headers: Any, name: bytes) -> str:
    """A response header as text ("" when absent, or when ``headers`` is no header map)."""
    try:
        value = headers.get(name)
    except (AttributeError, TypeError):
        return ""
    return header_decode(value)
