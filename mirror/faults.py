"""Declarative faults for the mirror server.

A :class:`Fault` says what goes wrong on a request, and for how long::

    Fault("status", times=2, params={"status": 503})   # first 2 requests 503, then the page
    Fault.throttle(retry_after=3)                        # every request 429 + Retry-After: 3
    Fault.slow(0.5, times=1)                             # first request 0.5 s late, then fast

``times=None`` is a permanent fault; ``times=N`` fails the first N requests of the path
and lets the following ones through.  Several faults for one path run one after the
other: ``[Fault.status(503, times=1), Fault.throttle(times=1)]`` gives 503, then 429,
then the page.  Counting is per path (query string ignored) and thread-safe.

Kinds and their ``params``:

==================  =========================================================================
``status``          ``status`` (500, 502, 503, 404, ...), optional ``retry_after`` seconds
``throttle``        HTTP 429 with ``Retry-After: retry_after`` (default 1)
``slow``            the normal response after ``delay`` seconds (capped by the server's
                    ``max_delay``)
``drop``            200, headers with the full Content-Length, half the body, then the
                    connection is closed
``challenge``       HTTP 202 with an AWS-WAF-style challenge page (no title data)
``waf``             what AWS WAF answers for ``action``: ``challenge`` is HTTP 202 with an
                    empty body (imdb.com since 2026), ``captcha`` HTTP 405, ``block``
                    HTTP 403; each with ``x-amzn-waf-action: <action>``
``redirect``        HTTP 301 to ``/title/<to>/`` (a merged title), or to ``to`` itself
                    when it is a full URL (a redirect to another host)
``wrong_title``     200 with the page of ``tconst`` under the requested URL
``truncated_json``  200, the page with ``__NEXT_DATA__`` cut at ``fraction`` (default 0.5);
                    the HTML around it is complete
``malformed_json``  200, the page with ``__NEXT_DATA__`` made invalid JSON
``truncated_page``  200, the page cut at ``fraction`` (no ``</html>``), honest Content-Length
``non_html``        200 with ``Content-Type: application/json`` and a JSON body
``huge``            200, the page padded to ``bytes`` (default 20 MB)
``oversize``        200, ``bytes`` of filler streamed, never held in memory; with an honest
                    Content-Length, or ``chunked`` without one
``gzip_bomb``       200, ``Content-Encoding: gzip``: about 1 MB on the wire that inflates
                    to ``bytes`` of zeros (default 1 GiB)
``empty``           200 with an empty body
==================  =========================================================================
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "status",
        "throttle",
        "slow",
        "drop",
        "challenge",
        "redirect",
        "wrong_title",
        "truncated_json",
        "malformed_json",
        "truncated_page",
        "non_html",
        "huge",
        "empty",
        "waf",
        "oversize",
        "gzip_bomb",
    }
)
HUGE_BYTES = 20_000_000
# AWS WAF's actions and the status each is answered with.
WAF_STATUS = {"challenge": 202, "captcha": 405, "block": 403}
BOMB_BYTES = 1 << 30


@dataclass(frozen=True)
class Fault:
    kind: str
    times: int | None = None  # None: every request; N: the first N requests, then OK
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be None or >= 0")
        if self.kind == "status" and "status" not in self.params:
            raise ValueError("a status fault needs params={'status': ...}")
        if self.kind in ("redirect",) and "to" not in self.params:
            raise ValueError("a redirect fault needs params={'to': tconst}")
        if self.kind == "wrong_title" and "tconst" not in self.params:
            raise ValueError("a wrong_title fault needs params={'tconst': ...}")
        if self.kind == "waf" and self.params.get("action") not in WAF_STATUS:
            raise ValueError(f"a waf fault needs params={{'action': ...}}, one of "
                             f"{sorted(WAF_STATUS)}")
        if self.kind in ("oversize", "gzip_bomb") and int(self.params.get("bytes", 0)) <= 0:
            raise ValueError(f"a {self.kind} fault needs params={{'bytes': n}} with n > 0")

    # Short constructors, one per kind.
    @classmethod
    def status(
        cls, code: int, *, times: int | None = None, retry_after: float | None = None
    ) -> Fault:
        params: dict[str, Any] = {"status": code}
        if retry_after is not None:
            params["retry_after"] = retry_after
        return cls("status", times, params)

    @classmethod
    def throttle(cls, retry_after: float = 1, *, times: int | None = None) -> Fault:
        return cls("throttle", times, {"retry_after": retry_after})

    @classmethod
    def slow(cls, delay: float, *, times: int | None = None) -> Fault:
        return cls("slow", times, {"delay": delay})

    @classmethod
    def drop(cls, *, times: int | None = None) -> Fault:
        return cls("drop", times)

    @classmethod
    def challenge(cls, *, times: int | None = None) -> Fault:
        return cls("challenge", times)

    @classmethod
    def redirect(cls, to: str, *, times: int | None = None) -> Fault:
        return cls("redirect", times, {"to": to})

    @classmethod
    def wrong_title(cls, tconst: str, *, times: int | None = None) -> Fault:
        return cls("wrong_title", times, {"tconst": tconst})

    @classmethod
    def waf(cls, action: str, *, times: int | None = None) -> Fault:
        return cls("waf", times, {"action": action})

    @classmethod
    def oversize(cls, size: int, *, chunked: bool = False, times: int | None = None) -> Fault:
        return cls("oversize", times, {"bytes": size, "chunked": chunked})

    @classmethod
    def gzip_bomb(cls, size: int = BOMB_BYTES, *, times: int | None = None) -> Fault:
        return cls("gzip_bomb", times, {"bytes": size})

    @classmethod
    def huge(cls, size: int = HUGE_BYTES, *, times: int | None = None) -> Fault:
        return cls("huge", times, {"bytes": size})


def pick(faults: Sequence[Fault], attempt: int) -> Fault | None:
    """The fault of the ``attempt``-th request (0-based) of a path, or None (serve normally)."""
    n = attempt
    for fault in faults:
        if fault.times is None:
            return fault
        if n < fault.times:
            return fault
        n -= fault.times
    return None


def pick_by_rate(
    rate: float, faults: Sequence[Fault], seed: int, path: str, attempt: int
) -> Fault | None:
    """Random faults at ``rate``, the same in every run: the draw depends only on
    (seed, path, attempt), not on the order in which threads serve requests.  A fault
    with ``times=N`` can only hit the first N attempts of a path (transient)."""
    if rate <= 0 or not faults:
        return None
    rng = random.Random(f"{seed}:{path}:{attempt}")
    if rng.random() >= rate:
        return None
    fault = faults[rng.randrange(len(faults))]
    if fault.times is not None and attempt >= fault.times:
        return None
    return fault
