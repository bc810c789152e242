"""A hostile or broken site, through the real spider and the mirror: bodies too large
(on the wire, chunked, a gzip bomb) and a robots.txt that cannot be read.

Every title asked for ends as exactly one row, with the reason named in
``crawler.failures``; memory stays bounded; errors are one log line, never a traceback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

from crawler import settings as project_settings
from mirror.faults import Fault
from mirror.server import MirrorServer, gzip_zeros
from mirror.synthetic import synthetic_graph, tconst_of
from tests.crawling import ROOT, crawl_command, read_table, run_crawl

GRAPH = synthetic_graph(12, out_degree=2, seed=8)
T = [tconst_of(i) for i in range(1, 13)]
MAXSIZE = project_settings.DOWNLOAD_MAXSIZE
BOMB = 1 << 30  # inflates to 1 GiB
RSS_BOUND = 300 * 1024 * 1024  # far below the bomb; Scrapy's 1 GiB limit took 1.19 GB
ROBOTS_WARNING = "[crawler.download.robots] WARNING"

# Runs a command and reports its peak RSS (KiB on Linux) as the last line of stderr.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.call(sys.argv[1:])\n"
    "print('peak_rss_kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
    " file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def outcome(out: Path) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    titles = {r["tconst"]: r for r in read_table(out, "titles")}
    failures: dict[str, dict[str, Any]] = {}
    for r in read_table(out, "failures"):
        assert r["tconst"] not in failures, f"{r['tconst']} failed twice"
        failures[r["tconst"]] = r
    assert not set(titles) & set(failures), "a title is both fetched and failed"
    return titles, failures


def title_hits(mirror: MirrorServer) -> int:
    return sum(n for path, n in mirror.hits.items() if path.startswith("/title/"))


# --- Size limits ------------------------------------------------------------------------

def test_the_limits_suit_title_pages() -> None:
    # Real pages are 0.2-1.1 MB: both limits leave headroom, and stay far from 1 GiB.
    assert project_settings.DOWNLOAD_WARNSIZE == 2 * 1024 * 1024
    assert MAXSIZE == 8 * 1024 * 1024


def test_the_bomb_is_small_on_the_wire_and_inflates_to_its_size() -> None:
    assert len(gzip_zeros(BOMB)) < 2_000_000
    small = gzip_zeros(3 * MAXSIZE)
    assert zlib.decompress(small, 31) == bytes(3 * MAXSIZE)


def test_bodies_over_the_limit_fail_too_large(tmp_path: Path) -> None:
    faults = {
        T[0]: Fault.oversize(300_000_000),  # Content-Length: 300 MB
        T[1]: Fault.oversize(8 * MAXSIZE, chunked=True),  # no Content-Length
        T[2]: Fault.oversize(MAXSIZE + 1),  # one byte too many
    }
    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=",".join(T[:4]), depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[3]]
    assert titles[T[3]]["primary_title"] == GRAPH[T[3]]["primary_title"]
    got = {t: (f["reason"], f["http_status"], f["attempts"]) for t, f in failures.items()}
    assert got == {t: ("too_large", None, 1) for t in T[:3]}  # never retried
    assert "Expected to receive 300000000 bytes" in failures[T[0]]["detail"]
    assert failures[T[1]]["detail"] == (
        "DownloadCancelledError: the body grew past DOWNLOAD_MAXSIZE")
    assert f"larger than download max size ({MAXSIZE})" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_gzip_bomb_fails_too_large_in_bounded_memory(tmp_path: Path) -> None:
    faults = {T[0]: Fault.gzip_bomb(BOMB)}
    with MirrorServer(records=GRAPH, faults=faults) as mirror:
        cmd = crawl_command(mirror.base_url, tmp_path / "out", seed=",".join(T[:3]), depth=0)
        proc = subprocess.run([sys.executable, "-c", RSS_WRAPPER, *cmd], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=False)
        assert mirror.hits[f"/title/{T[0]}/"] == 1
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == T[1:3]
    bomb = failures[T[0]]
    assert (bomb["reason"], bomb["attempts"]) == ("too_large", 1)
    assert "exceeded DOWNLOAD_MAXSIZE" in bomb["detail"]
    peak = int(proc.stderr.rsplit("peak_rss_kib", 1)[1].split()[0]) * 1024
    assert 0 < peak < RSS_BOUND, f"peak RSS {peak / 2**20:.0f} MiB"


# --- robots.txt -------------------------------------------------------------------------

def test_robots_txt_answering_500_refuses_every_title(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH, faults={"/robots.txt": Fault.status(500)}) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=",".join(T[:3]), depth=1)
        robots_hits, hits = mirror.hits["/robots.txt"], title_hits(mirror)
    assert proc.returncode == 1
    assert "error: no title could be fetched" in proc.stderr
    assert robots_hits == 1 + project_settings.CRAWL_RETRY_TIMES  # retried, then decided
    assert hits == 0  # not one title asked for
    titles, failures = outcome(tmp_path / "out")
    assert titles == {}
    assert sorted(failures) == T[:3]
    assert {f["reason"] for f in failures.values()} == {"robots_unavailable"}
    assert all("(HTTP 500)" in f["detail"] for f in failures.values())
    assert proc.stderr.count(ROBOTS_WARNING) == 1
    warning = next(line for line in proc.stderr.splitlines() if ROBOTS_WARNING in line)
    assert "robots.txt is unreachable (HTTP 500): assuming complete disallow" in warning
    assert "Traceback" not in proc.stderr


def test_robots_txt_passing_outage_is_retried(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH, faults={"/robots.txt": Fault.status(503, times=2)}) as m:
        proc = run_crawl(m.base_url, tmp_path / "out", seed=",".join(T[:2]), depth=0)
        assert m.hits["/robots.txt"] == 3
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == T[:2] and failures == {}
    assert ROBOTS_WARNING not in proc.stderr


def test_robots_txt_answering_404_means_no_rules(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH, faults={"/robots.txt": Fault.status(404)}) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=T[0], depth=1)
        assert mirror.hits["/robots.txt"] == 1
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    links = [s["tconst"] for s in GRAPH[T[0]]["more_like_this"]]
    assert links and sorted(titles) == sorted({T[0], *links}) and failures == {}
    assert ROBOTS_WARNING not in proc.stderr


def test_a_disallowed_title_is_never_fetched(tmp_path: Path) -> None:
    robots = f"User-agent: *\nDisallow: /title/{T[1]}/\n".encode()
    with MirrorServer(records=GRAPH, robots_txt=robots) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=",".join(T[:3]), depth=0)
        assert mirror.hits[f"/title/{T[1]}/"] == 0
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0], T[2]]
    assert (failures[T[1]]["reason"], failures[T[1]]["attempts"]) == ("robots_disallowed", 1)


def test_robots_rules_hold_for_every_request_that_waited_for_them(tmp_path: Path) -> None:
    # Eight title requests wait for robots.txt at once.  Awaiting the one shared
    # Deferred handed the rules to the first waiter only: the others went out unchecked.
    banned = [T[1], T[4], T[6], T[7]]
    robots = "User-agent: *\n" + "".join(f"Disallow: /title/{t}/\n" for t in banned)
    with MirrorServer(records=GRAPH, robots_txt=robots.encode()) as mirror:
        proc = run_crawl(mirror.base_url, tmp_path / "out", seed=",".join(T[:8]), depth=0)
        assert [mirror.hits[f"/title/{t}/"] for t in banned] == [0, 0, 0, 0]
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == sorted(set(T[:8]) - set(banned))
    assert {t: f["reason"] for t, f in failures.items()} == dict.fromkeys(
        banned, "robots_disallowed")


def test_an_unreachable_site_is_one_line_no_traceback(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run_crawl(f"http://127.0.0.1:{port}", tmp_path / "out", seed=",".join(T[:2]),
                     depth=0, settings={"LOG_LEVEL": "INFO"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count(ROBOTS_WARNING) == 1
    assert "connection_refused" in proc.stderr
    assert "error: no title could be fetched" in proc.stderr
    titles, failures = outcome(tmp_path / "out")
    assert titles == {}
    assert {t: f["reason"] for t, f in failures.items()} == {
        t: "robots_unavailable" for t in T[:2]}
