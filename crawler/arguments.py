"""Checking the crawl's arguments and settings before anything runs.

Each check raises ``ValueError`` with one line saying what is wrong and what
is accepted; the ``crawl`` command prints it and exits non-zero, without a
traceback and without writing anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from crawler import defaults
from crawler.checks import format_age, parse_age
from crawler.ids import parse_seeds
from crawler.masking import check_url, scrub, shown_url

RENDER_MODES = ("never", "auto", "always")
# -a credits: the title page's credits only, or every credit of its full credits page.
CREDITS_MODES = ("page", "full")


@dataclass(frozen=True)
class CrawlArguments:
    seeds: list[str]
    depth: int
    max_titles: int
    refresh: int = 0  # seconds; a title fetched more recently than this is reused
    as_of: str | None = None  # -a as_of as given (YYYY[-MM[-DD]] or latest): the archive's pages
    credits: str = defaults.CREDITS  # page, or full: each title's full credits page too

    @property
    def full_credits(self) -> bool:
        return self.credits == "full"

    @property
    def refresh_text(self) -> str:
        return format_age(self.refresh)


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
    refresh: object = defaults.REFRESH,
    as_of: object = None,
    credits: object = defaults.CREDITS,
) -> CrawlArguments:
    args = CrawlArguments(
        seeds=parse_seeds(str(seed)),
        depth=_int("depth", depth, 0),
        max_titles=_int("max_titles", max_titles, 1),
        refresh=parse_age("refresh", refresh),
        as_of=None if as_of is None else str(as_of).strip(),
        credits=check_credits(credits),
    )
    if args.as_of is not None:
        from crawler.sources.archive import LATEST, is_latest, parse_as_of

        if is_latest(args.as_of):
            return replace(args, as_of=LATEST)
        parse_as_of(args.as_of)
        if args.refresh:
            # Reuse is decided by fetch time, which says nothing of a capture's date.
            raise ValueError("refresh cannot be combined with a dated as_of: a run of the "
                             "past fetches every title; drop -a refresh, or use "
                             "-a as_of=latest")
    return args


def check_credits(value: object) -> str:
    mode = str(value).strip().lower()
    if mode not in CREDITS_MODES:
        raise ValueError(f"credits={value!r} is not a credits mode; expected page (the title "
                         "page's credits) or full (every credit of each title's full credits "
                         "page too)")
    return mode


def check_render(value: str) -> str:
    mode = str(value).strip().lower()
    if mode not in RENDER_MODES:
        raise ValueError(f"RENDER={value!r} is not a rendering mode; expected one of "
                         + ", ".join(RENDER_MODES))
    return mode


def check_output_dir(value: str) -> Path | str:
    """The output directory must be creatable and writable; nothing is created here.
    An object store (``s3://bucket/prefix``) must parse and its bucket answer."""
    if "://" in str(value):
        return check_object_store(str(value))
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


def check_object_store(value: str) -> str:
    """``s3://bucket/prefix`` (pyarrow's URI options allowed): well formed, and its bucket
    exists and answers with the endpoint and credentials given; nothing is written."""
    import pyarrow as pa
    import pyarrow.fs as pafs

    from crawler.state import dataset

    check_url("OUTPUT_DIR", value)
    shown = shown_url(value)
    expected = ("expected a local directory or s3://bucket/prefix (endpoint: "
                "?endpoint_override=http://host:port or AWS_ENDPOINT_URL)")
    if not dataset.is_remote(value):
        raise ValueError(f"OUTPUT_DIR={shown!r} is not a supported object store; {expected}")
    try:
        rem = dataset.remote(value)
    except (pa.ArrowException, ValueError) as exc:
        raise ValueError(f"OUTPUT_DIR={shown!r} is not a valid object store URI "
                         f"({scrub(str(exc), value)}); "
                         f"{expected}") from None
    assert rem is not None
    bucket = rem.root.split("/", 1)[0]
    try:
        info = rem.fs.get_file_info(bucket)
    except OSError as exc:
        why = " ".join(scrub(str(exc), value).split())
        raise ValueError(f"OUTPUT_DIR={shown!r} cannot be reached: {why}") from None
    if info.type == pafs.FileType.NotFound:
        raise ValueError(f"OUTPUT_DIR={shown!r}: bucket {bucket!r} does not exist; create it "
                         "or name another")
    return value


# -a arguments the spider takes; ``_job`` is the job id Scrapyd passes to every spider.
ACCEPTED_ARGUMENTS = ("seed", "depth", "max_titles", "refresh", "as_of", "credits", "run_id",
                      "_job")


def check_argument_names(names: list[str]) -> None:
    unknown = sorted(n for n in names if n not in ACCEPTED_ARGUMENTS)
    if unknown:
        accepted = ", ".join(a for a in ACCEPTED_ARGUMENTS if not a.startswith("_"))
        raise ValueError(f"unknown argument(s) {', '.join(f'-a {n}' for n in unknown)}; "
                         f"accepted: {accepted}")


# Settings that must be numbers within a range: (name, minimum, whole number).
NUMERIC_SETTINGS = (
    ("CONCURRENT_REQUESTS", 1, True),
    ("CONCURRENT_REQUESTS_PER_DOMAIN", 1, True),
    ("DOWNLOAD_DELAY", 0, False),
    ("DOWNLOAD_TIMEOUT", 0.001, False),
    ("DOWNLOAD_MAXSIZE", 1, True),
    ("AUTOTHROTTLE_START_DELAY", 0, False),
    ("AUTOTHROTTLE_MAX_DELAY", 0, False),
    ("AUTOTHROTTLE_TARGET_CONCURRENCY", 0.001, False),
    ("CRAWL_MAX_MERGE_CHAIN", 1, True),
    ("ARCHIVE_CDX_DELAY", 0, False),
)


def check_numeric_settings(get: Callable[[str], object]) -> None:
    """Zero or negative concurrency (a crawl that hangs), a negative delay: refused."""
    for name, minimum, whole in NUMERIC_SETTINGS:
        value = get(name)
        if value is None:
            continue
        try:
            number = float(str(value).strip())
        except ValueError:
            number = float("nan")
        if not number >= minimum or (whole and not number.is_integer()):
            kind = "a whole number" if whole else "a number"
            raise ValueError(f"{name}={value!r} is out of range; expected {kind} >= {minimum}")


def job_arguments(args: CrawlArguments) -> dict[str, str]:
    """The arguments a JOBDIR job is recorded with, and must be resumed with (``refresh``
    and ``credits`` only when given, so jobs recorded before them still resume)."""
    recorded = {"seed": ",".join(args.seeds), "depth": str(args.depth),
                "max_titles": str(args.max_titles)}
    if args.refresh:
        recorded["refresh"] = args.refresh_text
    if args.as_of is not None:
        recorded["as_of"] = args.as_of
    if args.credits != defaults.CREDITS:
        recorded["credits"] = args.credits
    return recorded
