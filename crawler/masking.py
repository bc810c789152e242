"""Secrets kept out of everything the project prints, logs or stores.

Every URL a user gives (``OUTPUT_DIR``, ``FRONTIER_URL``, ``IMDB_BASE_URL``,
``WAYBACK_BASE_URL``, ``IMDB_DATASETS_URL``) may carry credentials: a user name and
password (``s3://KEY:SECRET@bucket/...``, ``redis://:PW@host``) or, for pyarrow's
object store URIs and Redis, a credential in the query (``?secret_key=...``).
:func:`shown_url` is the one masking function: logs, exception messages, stats, rows,
the report and every printed path go through it.

A URL whose credentials cannot be told apart from the rest (a raw ``@``, ``/``, ``?``,
``#`` or ``:`` in a password, a port that is not a number) is refused by
:func:`check_url` before anything uses it, with a line that shows no part of it: where
such a password ends is a guess, and a wrong guess would print its tail.
"""

from __future__ import annotations

import os
import re

HIDDEN = "***"
# Query parameters that carry a credential (pyarrow's S3 URI options, Redis URLs).
SECRET_PARAMS = ("access_key", "secret_key", "session_token", "password", "token")
_SECRET_QUERY = re.compile(rf"(^|[?&])({'|'.join(SECRET_PARAMS)})=([^&#]*)", re.IGNORECASE)
_NETLOC = re.compile(r"[^/?#]*")


def _split(url: str) -> tuple[str, str, str] | None:
    """(scheme, netloc, rest) of a URL; None for anything else (a local path)."""
    scheme, sep, tail = url.partition("://")
    if not sep:
        return None
    netloc = _NETLOC.match(tail)
    assert netloc is not None  # the pattern matches the empty string
    return scheme, netloc.group(), tail[netloc.end():]


def is_ambiguous(url: str | os.PathLike[str]) -> bool:
    """True when a URL's credentials may reach past its authority, or its port is not a
    number: the user name or password holds a raw ``@``, ``/``, ``?``, ``#`` or ``:``."""
    split = _split(os.fspath(url))
    if split is None:
        return False
    _, netloc, rest = split
    if netloc.count("@") > 1 or ("@" in rest and ("@" in netloc or ":" in netloc)):
        return True
    host = netloc.rpartition("@")[2]
    port = host.rpartition("]")[2] if host.startswith("[") else host
    return ":" in port and not port.partition(":")[2].isdigit()


def shown_url(url: str | os.PathLike[str]) -> str:
    """``url`` fit for a log line, a message, a row or a page: its user name and password
    replaced by ``***``, so are credentials in its query.  A local path is returned as
    it is; an ambiguous URL (see :func:`is_ambiguous`) is not shown at all."""
    text = os.fspath(url)
    split = _split(text)
    if split is None:
        return text
    scheme, netloc, rest = split
    if is_ambiguous(text):
        return f"<a {scheme} URL not shown: its credentials are ambiguous>"
    userinfo, at, host = netloc.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        netloc = f"{HIDDEN if user else ''}{':' + HIDDEN if colon else ''}@{host}"
    rest = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}{m.group(2)}={HIDDEN}", rest)
    return f"{scheme}://{netloc}{rest}"


def secrets_of(url: str | os.PathLike[str]) -> list[str]:
    """The credentials in ``url`` (user name, password, secret query values), as given
    and percent-decoded, longest first; short ones (under 3 characters) left out, as
    hiding them in a message would garble it."""
    from urllib.parse import unquote

    split = _split(os.fspath(url))
    if split is None:
        return []
    _, netloc, rest = split
    userinfo = netloc.rpartition("@")[0]
    found = [*userinfo.split(":", 1), *(m.group(3) for m in _SECRET_QUERY.finditer(rest))]
    values = {v for raw in found for v in (raw, unquote(raw)) if len(v) >= 3}
    return sorted(values, key=len, reverse=True)


def scrub(text: str, *urls: str | os.PathLike[str]) -> str:
    """``text`` (an exception's message, another program's output) with each of ``urls``
    shown masked and any credential of theirs hidden wherever it appears."""
    for url in urls:
        raw = os.fspath(url)
        if raw:
            text = text.replace(raw, shown_url(raw))
            for secret in secrets_of(raw):
                text = text.replace(secret, HIDDEN)
    return text


def check_url(name: str, value: str | os.PathLike[str]) -> None:
    """ValueError, in a line that shows no part of ``value``, for an ambiguous URL."""
    if is_ambiguous(value):
        raise ValueError(
            f"{name} is refused and not shown: where its credentials end is ambiguous (a "
            "raw '@', '/', '?', '#' or ':' in the user name or password, or a port that is "
            "not a number); percent-encode them in the URL (%40 for @, %2F for /, %3F for "
            "?, %23 for #, %3A for :)")
