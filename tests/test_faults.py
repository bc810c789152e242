"""Faults, blocks and bad pages, through the real spider and the mirror: nothing lost.

Each test injects faults into the mirror and checks the dataset itself: every title
asked for is a ``titles`` row or a ``failures`` row with the right reason (or an
``aliases`` row), never both, never missing.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from crawler import defaults
from mirror.faults import Fault
from mirror.server import MirrorServer
from mirror.synthetic import synthetic_graph, tconst_of
from tests import forkserver
from tests.crawling import ROOT, read_table, run_crawl

GRAPH = synthetic_graph(40, out_degree=3, seed=5)
T = [tconst_of(i) for i in range(1, 41)]


class TimedMirror(MirrorServer):
    """The mirror, also noting when each request of a path arrived."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.times: dict[str, list[float]] = defaultdict(list)
        self._times_lock = threading.Lock()

    def _count(self, path: str) -> int:
        with self._times_lock:
            self.times[path].append(time.monotonic())
        return super()._count(path)


@contextmanager
def mirror_with(faults: Mapping[str, Fault | Sequence[Fault]], **kwargs: Any
                ) -> Iterator[TimedMirror]:
    with TimedMirror(records=GRAPH, faults=faults, **kwargs) as mirror:
        yield mirror


def outcome(out: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    titles = {r["tconst"]: r for r in read_table(out, "titles")}
    failures: dict[str, dict] = {}
    for r in read_table(out, "failures"):
        assert r["tconst"] not in failures, f"{r['tconst']} failed twice"
        failures[r["tconst"]] = r
    assert not set(titles) & set(failures), "a title is both fetched and failed"
    return titles, failures


def crawl(mirror: MirrorServer, out: Path, seeds: Sequence[str], **kwargs: Any) -> Any:
    proc = run_crawl(mirror.base_url, out, seed=",".join(seeds), **kwargs)
    return proc


def test_transient_http_errors_are_retried_and_retry_after_honoured(tmp_path: Path) -> None:
    faults = {
        T[0]: Fault.status(503, times=2),
        T[1]: Fault.status(500, times=1),
        T[2]: Fault.status(502, times=1),
        T[3]: Fault.throttle(retry_after=1, times=1),
    }
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:5], depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == T[:5] and failures == {}
    assert mirror.hits[f"/title/{T[0]}/"] == 3
    assert mirror.hits[f"/title/{T[1]}/"] == 2
    # The 429 asked for 1 s: the retry came no sooner (our own backoff here is 0.05 s).
    first, second = mirror.times[f"/title/{T[3]}/"]
    assert second - first >= 1.0


def test_permanent_errors_become_failures_with_reasons(tmp_path: Path) -> None:
    faults = {
        T[0]: Fault.status(503),
        T[1]: Fault.status(404),
        T[2]: Fault("non_html"),
        T[3]: Fault.wrong_title(T[10]),
        T[4]: Fault.status(403),
    }
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:6], depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[5]]
    got = {t: (f["reason"], f["http_status"], f["attempts"]) for t, f in failures.items()}
    assert got == {
        T[0]: ("http_503", 503, 5),  # 1 + CRAWL_RETRY_TIMES (4), then given up
        T[1]: ("not_found", 404, 1),
        T[2]: ("other", 200, 1),
        T[3]: ("wrong_title", 200, 1),
        T[4]: ("http_403", 403, 1),
    }
    assert mirror.hits[f"/title/{T[0]}/"] == 5
    assert all(f["depth"] == 0 and f["url"].endswith(f"/title/{t}/")
               for t, f in failures.items())


def test_timeouts_and_dropped_connections(tmp_path: Path) -> None:
    faults = {
        T[0]: Fault.slow(3, times=1),
        T[1]: Fault.drop(times=1),
        T[2]: Fault.slow(3),
        T[3]: Fault.drop(),
    }
    settings = {"DOWNLOAD_TIMEOUT": "1", "CRAWL_RETRY_TIMES": "1"}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:5], depth=0, settings=settings)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0], T[1], T[4]]
    got = {t: (f["reason"], f["attempts"]) for t, f in failures.items()}
    assert got == {T[2]: ("timeout", 2), T[3]: ("connection_lost", 2)}


def test_broken_and_huge_pages(tmp_path: Path) -> None:
    faults = {
        T[0]: Fault("truncated_json", times=1),
        T[1]: Fault("malformed_json"),
        T[2]: Fault("truncated_page", times=1),
        T[3]: Fault("empty"),
        T[4]: Fault.huge(6_000_000),  # 5-6x a real page, under DOWNLOAD_MAXSIZE (8 MiB)
    }
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:5], depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0], T[2], T[4]]
    assert titles[T[4]]["primary_title"] == GRAPH[T[4]]["primary_title"]
    assert {t: f["reason"] for t, f in failures.items()} == {T[1]: "truncated", T[3]: "empty"}
    # Broken bodies were asked for again before giving up (1 + CRAWL_RETRY_TIMES).
    assert mirror.hits[f"/title/{T[1]}/"] == 5
    # Asked for again without carrying the last download's meta (Scrapy 2.19 warns).
    assert "[scrapy.spidermiddlewares.metacopy] WARNING" not in proc.stderr


# The first answers of these crawls may all be blocks, by design: the early stop on the
# site's refusal (tested below) is off, so each block's own handling shows.
ONE_BY_ONE = {"CRAWL_BLOCK_FIRST_ANSWERS": "0"}


def test_a_challenge_is_a_block_never_a_title(tmp_path: Path) -> None:
    faults = {T[0]: Fault.challenge(times=2), T[1]: Fault.challenge()}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:3], depth=0, settings=ONE_BY_ONE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0], T[2]]
    f = failures[T[1]]
    assert (f["reason"], f["http_status"], f["attempts"]) == ("blocked", 202, 4)
    # Retried later, with growing delays (base 0.05 s: 0.05, 0.1, 0.2).
    times = mirror.times[f"/title/{T[1]}/"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3 and gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2


def test_the_crawl_stops_itself_when_blocks_dominate(tmp_path: Path) -> None:
    faults = {t: Fault.challenge() for t in T}
    settings = {"CRAWL_BLOCK_WINDOW": "6", "CRAWL_BLOCK_STOP_RATIO": "0.5",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "CRAWL_BLOCK_BACKOFF_BASE": "0.2",
                **ONE_BY_ONE}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:20], depth=2, settings=settings)
        requests = sum(n for p, n in mirror.hits.items() if p.startswith("/title/"))
    assert proc.returncode == 1
    assert "stopping: 6 of the last 6 responses were AWS WAF challenges" in proc.stderr
    assert requests <= 10  # it stopped knocking
    titles, failures = outcome(tmp_path / "out")
    assert titles == {}
    # Every title asked for is accounted for: a title the site answered with a challenge
    # is blocked (even when the stop came while it waited to be asked again), and only
    # a title never asked for is not_fetched.
    assert sorted(failures) == sorted(T[:20])
    asked = {t for t in T[:20] if mirror.hits.get(f"/title/{t}/")}
    assert asked and {t for t, f in failures.items() if f["reason"] == "blocked"} == asked
    assert {f["reason"] for t, f in failures.items() if t not in asked} == {"not_fetched"}
    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert run["finish_reason"] == "blocked"


def test_merged_title_is_recorded_as_alias_and_followed_once(tmp_path: Path) -> None:
    faults = {T[1]: Fault.redirect(T[20]), T[2]: Fault.redirect(T[0])}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:3], depth=0)
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0], T[20]] and failures == {}
    aliases = {r["tconst"]: r["canonical_tconst"] for r in read_table(tmp_path / "out", "aliases")}
    assert aliases == {T[1]: T[20], T[2]: T[0]}
    assert mirror.hits[f"/title/{T[0]}/"] == 1  # already fetched: not fetched again
    assert mirror.hits[f"/title/{T[20]}/"] == 1


def test_redirects_to_other_hosts_are_dropped_and_counted(tmp_path: Path) -> None:
    with MirrorServer(records=GRAPH, host="127.0.0.2") as elsewhere:
        faults = {T[0]: Fault.redirect(elsewhere.url(T[5]))}
        with mirror_with(faults) as mirror:
            proc = crawl(mirror, tmp_path / "out", T[:2], depth=0,
                         settings={"LOG_LEVEL": "DEBUG"})
        assert sum(elsewhere.hits.values()) == 0
    assert proc.returncode == 0, proc.stderr[-2000:]
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[1]]
    assert failures[T[0]]["reason"] == "offsite_redirect"
    assert "'offsite/redirects_dropped': 1" in proc.stderr


# --- AWS WAF answers (issue 7) -----------------------------------------------------------

def test_waf_answers_are_blocks_named_by_their_action(tmp_path: Path) -> None:
    from crawler.settings import CRAWL_BLOCK_RETRY_TIMES

    faults = {T[0]: Fault.waf("challenge"), T[1]: Fault.waf("captcha"),
              T[2]: Fault.waf("block")}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:4], depth=0, settings=ONE_BY_ONE)
        served = {status for path, status in mirror.log if path == f"/title/{T[0]}/"}
        hits = [mirror.hits[f"/title/{t}/"] for t in T[:3]]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert served == {202}
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[3]]
    attempts = 1 + CRAWL_BLOCK_RETRY_TIMES
    assert hits == [attempts] * 3
    got = {t: (f["reason"], f["http_status"], f["attempts"], f["detail"])
           for t, f in failures.items()}
    assert got == {
        # imdb.com's 2026 challenge: 202 and an empty body, a block and never "empty".
        T[0]: ("blocked", 202, attempts, "x-amzn-waf-action: challenge"),
        T[1]: ("captcha", 405, attempts, "x-amzn-waf-action: captcha"),
        T[2]: ("waf_block", 403, attempts, "x-amzn-waf-action: block"),
    }
    assert "pages/empty" not in proc.stderr  # the empty body was never read as a page


def test_the_crawl_stops_when_every_title_gets_the_2026_challenge(tmp_path: Path) -> None:
    # The site's first three answers are its challenge: the crawl stops there (the early
    # rule of crawler.download.retry), before the window of 6 is full, and says what works.
    faults = {t: Fault.waf("challenge") for t in T}
    settings = {"CRAWL_BLOCK_WINDOW": "6", "CRAWL_BLOCK_STOP_RATIO": "0.5",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "2", "CRAWL_BLOCK_BACKOFF_BASE": "0.2"}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:20], depth=2, settings=settings)
        asked = {t for t in T[:20] if mirror.hits.get(f"/title/{t}/")}
        answers = sum(n for p, n in mirror.hits.items() if p.startswith("/title/"))
    assert proc.returncode == 1
    assert "stopping: the first 3 answers of 127.0.0.1 were AWS WAF blocks" in proc.stderr
    assert "of the last 6 responses" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        "scrapy crawl more_like_this: error: 127.0.0.1 answered 3 of 3 requests with its WAF "
        "challenge (HTTP 202, x-amzn-waf-action: challenge); this crawler does not solve")
    # The third answer stopped it; requests Scrapy's downloader already held still go out
    # (at most CONCURRENT_REQUESTS, 8), as with the windowed rule.
    assert answers <= 10
    titles, failures = outcome(tmp_path / "out")
    assert titles == {} and sorted(failures) == sorted(T[:20])
    # Challenged titles are blocked (even one stopped while it waited for its retry);
    # titles never asked for are not_fetched.
    assert asked and len(asked) < 20
    assert {t for t, f in failures.items() if f["reason"] == "blocked"} == asked
    assert {f["reason"] for t, f in failures.items() if t not in asked} == {"not_fetched"}
    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert run["finish_reason"] == "blocked"


def test_challenges_after_real_pages_keep_the_windowed_stop_rule(tmp_path: Path) -> None:
    # The seed is read; then every title answers with the challenge.  The site served a
    # page, so the early rule is over: the window of 6 decides, at its sixth answer.
    faults = {t: Fault.waf("challenge") for t in T[1:]}
    settings = {"CRAWL_BLOCK_WINDOW": "6", "CRAWL_BLOCK_STOP_RATIO": "0.5",
                "CONCURRENT_REQUESTS_PER_DOMAIN": "1"}
    with mirror_with(faults) as mirror:
        proc = crawl(mirror, tmp_path / "out", T[:1], depth=1, settings=settings)
    assert proc.returncode == 1
    assert "stopping: 5 of the last 6 responses were AWS WAF challenges" in proc.stderr
    assert "stopping: the first" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        "scrapy crawl more_like_this: error: finish reason blocked: the site refused this "
        "client (AWS WAF); see the failures table")
    titles, failures = outcome(tmp_path / "out")
    assert sorted(titles) == [T[0]]
    links = [c["tconst"] for c in GRAPH[T[0]]["more_like_this"]]
    assert sorted(failures) == sorted(links)
    assert {f["reason"] for f in failures.values()} == {"blocked"}
    (run,) = read_table(tmp_path / "out", "crawl_runs")
    assert (run["finish_reason"], run["error"]) == ("blocked", None)


# --- the live site's refusal, fast and plain (issue 17) -----------------------------------

def test_a_site_that_answers_only_with_the_challenge_ends_the_default_crawl_fast(
        tmp_path: Path) -> None:
    """The default crawl (one seed, the project's own delays and backoffs) of a site that
    answers every title, and in the second case its robots.txt too, with the 2026
    challenge.  Both crawls run at once; each is timed from its start to its exit."""
    seed = defaults.SEED
    every_title = {t: Fault.waf("challenge") for t in [seed, *T]}
    robots_too = {**every_title, "/robots.txt": Fault.waf("challenge")}
    with mirror_with(every_title) as titles_only, mirror_with(robots_too) as whole_site:
        started = {}
        running = {}
        for name, mirror in (("titles", titles_only), ("robots", whole_site)):
            cmd = [sys.executable, "-m", "scrapy", "crawl", "more_like_this",
                   "-s", f"IMDB_BASE_URL={mirror.base_url}",
                   "-s", f"OUTPUT_DIR={tmp_path / name}"]
            started[name] = time.monotonic()
            running[name] = forkserver.popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True,
                                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
        ended = {}
        for name, proc in running.items():
            stderr = proc.communicate(timeout=300)[1]
            ended[name] = (proc.returncode, time.monotonic() - started[name], stderr)
        hits = {name: dict(m.hits) for name, m in (("titles", titles_only),
                                                   ("robots", whole_site))}
    line = ("scrapy crawl more_like_this: error: 127.0.0.1 answered 3 of 3 requests with its "
            "WAF challenge (HTTP 202, x-amzn-waf-action: challenge); this crawler does not "
            "solve challenges. Read IMDb's pages from the Internet Archive (-a as_of=latest "
            "or a date) or from your own WARC files (-s ARCHIVE_WARC=...).")
    for name, (code, elapsed, stderr) in ended.items():
        assert code == 1, (name, stderr[-3000:])
        assert elapsed <= 90, (name, elapsed)
        assert "Traceback" not in stderr
        assert stderr.splitlines()[-1] == line
        assert "as_of" in line and "ARCHIVE_WARC" in line
        assert "Spider closed (blocked)" in stderr
        assert "robots_unavailable" not in stderr
        out = tmp_path / name
        assert read_table(out, "titles") == []
        (failure,) = read_table(out, "failures")  # the seed, never lost
        assert (failure["tconst"], failure["reason"]) == (seed, "blocked")
        (run,) = read_table(out, "crawl_runs")
        assert (run["finish_reason"], run["error"]) == ("blocked", line.split("error: ", 1)[1])
    # Three answers each: the seed's (robots.txt allowed it), or robots.txt's own.
    assert hits["titles"] == {"/robots.txt": 1, f"/title/{seed}/": 3}
    assert hits["robots"] == {"/robots.txt": 3}
    assert read_table(tmp_path / "titles", "failures")[0]["attempts"] == 3


def probing_middleware() -> Any:
    from scrapy.utils.test import get_crawler

    from crawler import settings as project_settings
    from crawler.download.retry import BackoffRetryMiddleware

    names = ("IMDB_BASE_URL", "CRAWL_BLOCK_FIRST_ANSWERS", "CRAWL_BLOCK_FIRST_BACKOFF_BASE",
             "CRAWL_BLOCK_WINDOW", "CRAWL_BLOCK_STOP_RATIO", "CRAWL_BLOCK_RETRY_TIMES")
    crawler = get_crawler(settings_dict={n: getattr(project_settings, n) for n in names})
    middleware = BackoffRetryMiddleware(crawler)
    middleware.crawler = SimpleNamespace(engine=None)  # no crawl running: nothing to close
    return middleware


def test_the_early_rule_counts_the_sites_first_answers_only() -> None:
    from scrapy.http import Request, Response

    challenge = {"x-amzn-waf-action": "challenge"}
    site = "https://www.imdb.com"
    title = Request(f"{site}/title/tt0050634/", meta={"tconst": "tt0050634"})
    robots = Request(f"{site}/robots.txt")

    # robots.txt allowing the crawl says nothing; two blocks and a robots.txt block stop it.
    mw = probing_middleware()
    mw._probe(robots, Response(robots.url, status=200), None)
    for request in (title, title, robots):
        mw._probe(request, Response(request.url, status=202, headers=challenge), "blocked")
    assert mw.stopping and not mw.probing
    assert mw.stats.get_value("blocks/refused").startswith(
        "www.imdb.com answered 3 of 3 requests with its WAF challenge (HTTP 202, "
        "x-amzn-waf-action: challenge)")

    # A title page ends the rule: later blocks are the window's to judge.
    mw = probing_middleware()
    mw._probe(title, Response(title.url, status=202, headers=challenge), "blocked")
    mw._probe(title, Response(title.url, status=200), None)
    assert not mw.probing and not mw.stopping

    # An archive's answer (as_of): this crawl never asks the site, the rule is off.
    mw = probing_middleware()
    capture = Request("https://web.archive.org/web/2018id_/https://www.imdb.com/title/tt1/")
    mw._probe(capture, Response(capture.url, status=202, headers=challenge), "blocked")
    assert not mw.probing and not mw.stopping
