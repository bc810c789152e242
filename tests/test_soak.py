"""Soak: 2,000 titles, 20% of requests hit by transient faults of mixed kinds and 2% of
titles by permanent ones.  Every title ends in ``titles`` or ``failures`` exactly once,
and every title whose faults were transient is in ``titles``."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import read_table, run_crawl

N = 2000
TRANSIENT = [  # each hits only a path's first request (times=1), so a retry gets the page
    Fault.status(503, times=1),
    Fault.status(500, times=1),
    Fault.throttle(retry_after=0, times=1),
    Fault.drop(times=1),
    Fault("truncated_json", times=1),
    Fault("truncated_page", times=1),
    Fault.challenge(times=1),
    Fault.slow(1.5, times=1),  # longer than DOWNLOAD_TIMEOUT below
]
PERMANENT = [Fault.status(503), Fault.status(404), Fault.challenge(), Fault("malformed_json")]
EXPECTED_REASON = {503: "http_503", 404: "not_found", "challenge": "blocked",
                   "malformed_json": "truncated"}


def test_every_title_in_titles_or_failures_once_transient_ones_recovered(tmp_path: Path) -> None:
    graph = synthetic_graph(N, out_degree=6, seed=11)
    rng = random.Random(7)
    doomed = rng.sample(sorted(graph), N * 2 // 100)
    faults = {t: PERMANENT[i % len(PERMANENT)] for i, t in enumerate(doomed)}
    settings = {"DOWNLOAD_TIMEOUT": "1", "CONCURRENT_REQUESTS": "16",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
                "LOG_LEVEL": "WARNING"}
    with MirrorServer(records=graph, faults=faults, fault_rate=0.2, rate_faults=TRANSIENT,
                      fault_seed=3) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=tconst_of(1), depth=100,
                         max_titles=N + 500, settings=settings, timeout=900)
        requested = [p.split("/")[2] for p, _ in mirror.log if p.startswith("/title/")]
    assert proc.returncode == 0, proc.stderr[-3000:]

    titles = Counter(r["tconst"] for r in read_table(tmp_path / "out", "titles"))
    failures = {}
    for r in read_table(tmp_path / "out", "failures"):
        assert r["tconst"] not in failures
        failures[r["tconst"]] = r
    assert max(titles.values()) == 1
    scheduled = set(requested)
    assert set(titles) | set(failures) == scheduled
    assert not set(titles) & set(failures)

    # Transient faults really happened, in every kind, and all were recovered from.
    assert len(scheduled) >= N
    in_graph_ok = set(graph) - set(doomed)
    assert in_graph_ok <= set(titles)
    # Permanent ones failed for their own reason; links out of the graph are 404s.
    for t in doomed:
        fault = faults[t]
        key = fault.params.get("status", fault.kind)
        assert failures[t]["reason"] == EXPECTED_REASON[key], (t, fault, failures[t])
    outside = scheduled - set(graph)
    assert outside and all(failures[t]["reason"] == "not_found" for t in outside)
    retried = sum(1 for n in Counter(requested).values() if n > 1)
    assert retried > N * 0.15
