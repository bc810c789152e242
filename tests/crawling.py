"""Running the real spider in a subprocess (a fresh reactor each time) and reading its output."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from tests import forkserver

ROOT = Path(__file__).resolve().parent.parent

# Fast, deterministic settings for a crawl of the local mirror.
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "8",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "CRAWL_BACKOFF_BASE": "0.05",
    "CRAWL_BACKOFF_MAX": "0.2",
    "CRAWL_BLOCK_BACKOFF_BASE": "0.05",
    "CRAWL_BLOCK_FIRST_BACKOFF_BASE": "0.05",
    "DOWNLOAD_TIMEOUT": "5",
    "PROGRESS_INTERVAL": "0",
    "LOG_LEVEL": "INFO",
    # A test that reads dataset.duckdb turns it on (VIEWS): a build costs a process.
    "VIEWS_REBUILD": "False",
}
VIEWS = {"VIEWS_REBUILD": "True"}


def crawl_command(base_url: str, output_dir: Path | str, *, seed: str, depth: int | None = 0,
                  max_titles: int | None = None, settings: dict[str, Any] | None = None,
                  extra_args: dict[str, str] | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this", "-a", f"seed={seed}"]
    if depth is not None:
        cmd += ["-a", f"depth={depth}"]
    if max_titles is not None:
        cmd += ["-a", f"max_titles={max_titles}"]
    for k, v in (extra_args or {}).items():
        cmd += ["-a", f"{k}={v}"]
    merged = {**FAST, "IMDB_BASE_URL": base_url, "OUTPUT_DIR": str(output_dir),
              **(settings or {})}
    for k, v in merged.items():
        cmd += ["-s", f"{k}={v}"]
    return cmd


def run_crawl(base_url: str, output_dir: Path | str, *, timeout: float = 300,
              **kwargs: Any) -> subprocess.CompletedProcess[str]:
    cmd = crawl_command(base_url, output_dir, **kwargs)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if forkserver.CLIENT.takes(cmd, str(ROOT), env):
        return forkserver.CLIENT.run(cmd, env, timeout)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def read_table(output_dir: Path | str, table: str) -> list[dict[str, Any]]:
    """All rows of a table as a hive-partitioned dataset (what a reader sees)."""
    path = Path(output_dir) / table
    if not path.exists():
        return []
    dataset = ds.dataset(path, format="parquet", partitioning="hive")
    return dataset.to_table().to_pylist()


def until_older_than(out: Path | str, age: timedelta) -> None:
    """Let the clock pass ``age`` beyond the newest fetch in ``out``: a refresh run
    (``refresh=1s``) must find every title older than that, however fast it starts."""
    newest = max(r["crawled_at"] for r in read_table(out, "titles"))
    time.sleep(max(0.0, (newest + age - datetime.now(UTC)).total_seconds()))
