"""A user's first contact (issue 16): `make demo` on a fresh clone with nothing beside it,
a quiet healthy crawl, and Scrapy's own `scrapy parse` check of one title page."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


from crawler import settings as project_settings
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import crawl_command, read_table

ROOT = Path(__file__).resolve().parent.parent
SEED = "tt0050634"
# A log line at WARNING or above, in Scrapy's default format ("... [logger] WARNING: ...").
LOUD = re.compile(r"\] (WARNING|ERROR|CRITICAL):")


def run(cmd: list[str], *, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          check=False, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


# --- a quiet healthy crawl ---------------------------------------------------------------

def healthy_graph(n: int) -> dict[str, dict]:
    """The synthetic graph without the links it sends outside itself (404s by design)."""
    graph = synthetic_graph(n, out_degree=3, seed=5)
    return {t: {**r, "more_like_this": [c for c in r["more_like_this"] if c["tconst"] in graph]}
            for t, r in graph.items()}


def test_a_healthy_crawl_at_the_default_log_level_prints_no_warning(tmp_path: Path) -> None:
    graph = healthy_graph(20)
    with MirrorServer(records=graph) as mirror:
        cmd = crawl_command(mirror.base_url, tmp_path / "out", seed=tconst_of(1), depth=20,
                            max_titles=20)
        i = cmd.index("LOG_LEVEL=INFO")
        del cmd[i - 1:i + 1]  # the project's own log level
        proc = run(cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert project_settings.LOG_LEVEL == "INFO"
    assert "[scrapy.core.engine] INFO: Spider closed (finished)" in proc.stderr
    assert sorted(r["tconst"] for r in read_table(tmp_path / "out", "titles")) == sorted(graph)
    assert read_table(tmp_path / "out", "failures") == []
    assert [line for line in proc.stderr.splitlines() if LOUD.search(line)] == []
    assert "log_count/WARNING" not in proc.stderr and "log_count/ERROR" not in proc.stderr
    assert "Traceback" not in proc.stderr


