"""Why a title failed: the one place that names failure reasons.

The retry middleware (``crawler.download.retry``) and the spider both ask here: which
download errors are worth retrying, which answers are blocks, and what reason a
title's row in ``failures`` gets.  Exceptions are matched by class, not by name.
"""

from __future__ import annotations

from scrapy import exceptions as scrapy_exceptions
from twisted.internet import defer
from twisted.internet import error as twisted_error
from twisted.web import _newclient

# What a block looks like is pure (sources read it without Scrapy): named here too.
from crawler.blocks import BLOCK_REASONS as BLOCK_REASONS
from crawler.blocks import CHALLENGE_STATUS as CHALLENGE_STATUS
from crawler.blocks import WAF_ACTION_HEADER as WAF_ACTION_HEADER
from crawler.blocks import block_reason as block_reason
from crawler.blocks import header_text as header_text

# Download errors, most specific first: (exception classes, reason, worth retrying).
_EXCEPTION_REASONS: tuple[tuple[tuple[type[BaseException], ...], str, bool], ...] = (
    ((scrapy_exceptions.DownloadTimeoutError, twisted_error.TimeoutError,
      twisted_error.TCPTimedOutError), "timeout", True),
    ((scrapy_exceptions.DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError),
     "connection_refused", True),
    ((scrapy_exceptions.CannotResolveHostError, twisted_error.DNSLookupError),
     "dns_error", True),
    ((scrapy_exceptions.ResponseDataLossError, scrapy_exceptions.DownloadFailedError,
      _newclient.ResponseFailed, _newclient.ResponseNeverReceived,
      twisted_error.ConnectionDone, twisted_error.ConnectionLost, twisted_error.ConnectError),
     "connection_lost", True),
    ((OSError,), "connection_lost", True),  # other handlers' socket errors
    # A body over DOWNLOAD_MAXSIZE is cancelled by the download handler.
    ((scrapy_exceptions.DownloadCancelledError, defer.CancelledError), "too_large", False),
)
# Scrapy's decompression middleware drops a body that inflates past DOWNLOAD_MAXSIZE.
_MAXSIZE_MARKER = "DOWNLOAD_MAXSIZE"


class CrawlStopped(scrapy_exceptions.IgnoreRequest):
    """A request never sent because the shared crawl was stopped.  Its title keeps no
    outcome, so the close records it as the stop's other unfinished titles are."""


class RobotsDisallowed(scrapy_exceptions.IgnoreRequest):
    """robots.txt disallows the URL (crawler.download.robots)."""


class RobotsUnavailable(scrapy_exceptions.IgnoreRequest):
    """robots.txt could not be read (5xx, 429, a block, no answer): RFC 9309 says assume
    complete disallow (crawler.download.robots)."""


# Refusals raised by crawler.download.robots, matched by class.
_ROBOTS_REASONS: tuple[tuple[type[scrapy_exceptions.IgnoreRequest], str], ...] = (
    (RobotsUnavailable, "robots_unavailable"),
    (RobotsDisallowed, "robots_disallowed"),
)


def exception_reason(exc: BaseException) -> str:
    """The failure reason of a request that ended in ``exc``."""
    for robots_class, robots_reason in _ROBOTS_REASONS:
        if isinstance(exc, robots_class):
            return robots_reason
    if isinstance(exc, scrapy_exceptions.IgnoreRequest):
        text = str(exc)
        if _MAXSIZE_MARKER in text:
            return "too_large"
        return "robots_disallowed" if "robots" in text.lower() else "ignored"
    for classes, reason, _ in _EXCEPTION_REASONS:
        if isinstance(exc, classes):
            return reason
    return f"error_{type(exc).__name__}"


def is_transient(exc: BaseException) -> bool:
    """A download error worth retrying (a glitch, not an answer)."""
    return any(isinstance(exc, classes) and retry for classes, _, retry in _EXCEPTION_REASONS)


def exception_detail(exc: BaseException) -> str:
    """What the failure's ``detail`` column records of an exception: its class and text."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text and exception_reason(exc) == "too_large":  # a chunked body cut off: no text
        text = "the body grew past DOWNLOAD_MAXSIZE"
    return (f"{name}: {text}" if text else name)[:500]
