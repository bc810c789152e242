"""Shared fixtures: where the reference pages live, and a clean skip without them."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared beside the checkout; IMDB_SHARED overrides it (e.g. in CI clones elsewhere).
SHARED = Path(os.environ.get("IMDB_SHARED", ROOT.parent / "shared"))
REAL_PAGES = SHARED / "pages" / "real"
SEED_DIR = SHARED / "seed"


def shared_available() -> bool:
    return (REAL_PAGES / "SOURCES.tsv").is_file()


def real_pages(layout: str | None = None) -> list[Path]:
    """Real pages from ../shared/pages/real, optionally of one layout."""
    if not shared_available():
        return []
    with open(REAL_PAGES / "SOURCES.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [REAL_PAGES / r["file"] for r in rows if layout is None or r["layout"] == layout]


# The modules that take longest (each test runs crawl processes), longest first: make test
# (pytest-xdist, --dist loadfile --no-loadscope-reorder) hands whole modules out in
# collection order to whichever worker is free, so a long one must not be left for last.
LONGEST_FIRST = ("test_s3_output", "test_resume_faults", "test_shared_crawl", "test_schedule",
                 "test_resume", "test_shared_forgetting", "test_archive_resume", "test_faults",
                 "test_report", "test_archive_latest", "test_imdb_datasets",
                 "test_first_contact", "test_soak", "test_secrets", "test_views",
                 "test_hostile_http", "test_refresh", "test_resume_full_credits",
                 "test_compact", "test_archive_crawl", "test_rendering", "test_timeline",
                 "test_kill_anywhere", "test_warc_damage", "test_crawl_graph",
                 "test_hostile_world")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # one process: the usual order
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def module_rank(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        return rank.get(module.__name__.rsplit(".", 1)[-1] if module else "", len(rank))

    items.sort(key=module_rank)  # stable: the others keep their order


SKIP_REASON = f"reference pages not found at {REAL_PAGES} (../shared is absent in this clone)"
needs_shared = pytest.mark.skipif(not shared_available(), reason=SKIP_REASON)


@pytest.fixture
def shared_dir() -> Path:
    if not shared_available():
        pytest.skip(SKIP_REASON)
    return SHARED


@pytest.fixture(scope="session")
def redis_server():  # type: ignore[no-untyped-def]
    """One real redis-server for the test session, on a free port (tests/redis_server.py)."""
    from tests.redis_server import INSTALL_HINT, RedisServer, redis_available, required

    if not redis_available():
        if required():
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis_server) -> str:  # type: ignore[no-untyped-def]
    """The session's Redis, emptied for this test."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return str(redis_server.url)


@pytest.fixture(scope="session")
def s3_server():  # type: ignore[no-untyped-def]
    """One real S3-compatible server (moto_server) for the session, on a free port, with
    the test credentials in the environment (tests/s3_server.py)."""
    from tests.s3_server import CREDENTIALS, S3Server, moto_server

    if not moto_server():
        pytest.fail("moto_server not installed: run `make install` (moto[server] is in the "
                    "dev extra)")
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    server = S3Server().start()
    yield server
    server.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_bucket(s3_server) -> str:  # type: ignore[no-untyped-def]
    """A new empty bucket on the session's S3 server."""
    return str(s3_server.new_bucket())
