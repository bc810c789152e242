"""Checking the crawl's arguments and settings before anything runs.

Each check raises ``ValueError`` with one line saying what is wrong and what
is accepted; the ``crawl`` command prints it and exits non-zero, without a
traceback and without writing anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crawler import defaults
from crawler.ids import parse_seeds

RENDER_MODES = ("never", "auto", "always")


@dataclass(frozen=True)
class CrawlArguments:
    seeds: list[str]
    depth: int
    max_titles: int


def _int(name: str, value: object, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number; expected an integer "
                         f">= {minimum}") from None
    if number < minimum:
        raise ValueError(f"{name}={number} is out of range; expected an integer >= {minimum}")
    return number


def parse_arguments(
    seed: str = defaults.SEED,
    depth: object = defaults.DEPTH,
    max_titles: object = defaults.MAX_TITLES,
) -> CrawlArguments:
    return CrawlArguments(
        seeds=parse_seeds(str(seed)),
        depth=_int("depth", depth, 0),
        max_titles=_int("max_titles", max_titles, 1),
    )


def check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"IMDB_BASE_URL={value!r} is not an http(s) URL with a host; "
                         "expected e.g. https://www.imdb.com or http://127.0.0.1:8000")
    return value.rstrip("/")


def check_render(value: str) -> str:
    mode = str(value).strip().lower()
    if mode not in RENDER_MODES:
        raise ValueError(f"RENDER={value!r} is not a rendering mode; expected one of "
                         + ", ".join(RENDER_MODES))
    return mode


def check_output_dir(value: str) -> Path:
    """The output directory must be creatable and writable; nothing is created here."""
    path = Path(value).expanduser()
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"OUTPUT_DIR={value!r} is not writable (checked {probe}); expected a "
                         "directory this user can write to, or one that can be created")
    return path


def job_arguments(args: CrawlArguments) -> dict[str, str]:
    """The arguments a JOBDIR job is recorded with, and must be resumed with."""
    return {"seed": ",".join(args.seeds), "depth": str(args.depth),
            "max_titles": str(args.max_titles)}
