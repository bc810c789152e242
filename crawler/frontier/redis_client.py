"""The shared frontier's Redis client: one connection check, one error class."""

from __future__ import annotations

import redis

from crawler.masking import check_url, scrub, shown_url


class FrontierError(ValueError):
    """The shared frontier cannot be used as asked (one line, for the user)."""


def connect(url: str) -> redis.Redis:
    """A client for ``url``; FrontierError in one line when it cannot be reached, or
    when where its password ends is ambiguous (no part of it shown)."""
    try:
        check_url("FRONTIER_URL", url)
    except ValueError as exc:
        raise FrontierError(str(exc)) from None
    shown = shown_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except ValueError as exc:
        raise FrontierError(f"FRONTIER_URL={shown!r} is not a Redis URL: "
                            f"{scrub(str(exc), url)}") from None
    except redis.RedisError as exc:
        raise FrontierError(f"FRONTIER_URL={shown!r}: Redis cannot be reached "
                            f"({scrub(str(exc), url)})") from None
    return client
