"""The mirror server: saved pages byte-identical, rendered records, 404, robots.txt,
redirects, hit counts, keep-alive, the js-only cards endpoint and the command line."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from mirror import MirrorServer, SyntheticGraph, load_catalogue, synthetic_graph
from tests.conftest import REAL_PAGES, ROOT, needs_shared


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _raw(port: int, path: str, method: str = "GET") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


@needs_shared
def test_saved_pages_are_served_byte_identical() -> None:
    with MirrorServer(pages_dir=REAL_PAGES) as m:
        assert m.base_url.startswith("http://127.0.0.1:")
        status, headers, body = _get(m.url("tt0133093") + "?ref_=tt_sims_tt_t_1")
        assert status == 200
        assert body == (REAL_PAGES / "tt0133093__flexget__next2021plus.html").read_bytes()
        assert headers["Content-Length"] == str(len(body))
        assert m.hits["/title/tt0133093/"] == 1


@needs_shared
def test_layout_can_be_chosen_and_the_waf_page_is_a_202() -> None:
    with MirrorServer(pages_dir=REAL_PAGES, layout="legacy") as m:
        status, _, body = _get(m.url("tt0133093"))
        assert status == 200
        legacy = {f.read_bytes() for f in REAL_PAGES.glob("tt0133093__*__legacy.html")}
        assert body in legacy
        # No legacy file for this one: falls back to the current layout.
        status, _, body = _get(m.url("tt0086425"))
        assert body == (REAL_PAGES / "tt0086425__flexget__next2021plus.html").read_bytes()
    with MirrorServer(pages_dir=REAL_PAGES, layout="other") as m:
        status, _, body = _get(m.url("tt0111161"))
        assert status == 202
        assert body == (REAL_PAGES / "tt0111161__abstractcore__other.html").read_bytes()


def test_records_are_rendered_and_cached() -> None:
    with MirrorServer(records=load_catalogue()) as m:
        status, headers, first = _get(m.url("tt0050634"))
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b"<title>Letyat zhuravli (1957) - IMDb</title>" in first
        _, _, second = _get(m.url("tt0050634"))
        assert first == second
        assert m.hits["/title/tt0050634/"] == 2
        status, _, body = _get(m.url("tt0058625"))
        assert status == 200 and b"Suna no onna" in body


def test_unknown_titles_and_paths_are_404() -> None:
    with MirrorServer(records=synthetic_graph(3)) as m:
        assert _get(m.url("tt0000001"))[0] == 404
        assert _get(m.base_url + "/name/nm0000001/")[0] == 404
        assert _get(m.base_url + "/_mirror/mlt/tt0000001.json")[0] == 404
        assert m.hits["/title/tt0000001/"] == 1


def test_robots_allows_titles() -> None:
    with MirrorServer() as m:
        status, headers, body = _get(m.base_url + "/robots.txt")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        assert b"Allow: /title/" in body
        assert m.hits["/robots.txt"] == 1


def test_title_without_slash_redirects() -> None:
    with MirrorServer(records=synthetic_graph(2)) as m:
        resp = _raw(m.port, "/title/tt9000001?ref_=x")
        assert resp.status == 301
        assert resp.getheader("Location") == "/title/tt9000001/"
        # urllib follows it to the page.
        status, _, body = _get(m.base_url + "/title/tt9000001")
        assert status == 200 and b"Synthetic Title 1" in body
        assert m.hits["/title/tt9000001"] == 2 and m.hits["/title/tt9000001/"] == 1


def test_keep_alive_serves_several_requests_on_one_connection() -> None:
    with MirrorServer(records=synthetic_graph(3)) as m:
        conn = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
        bodies = []
        for tconst in ("tt9000001", "tt9000002", "tt9000003"):
            conn.request("GET", f"/title/{tconst}/")
            resp = conn.getresponse()
            assert resp.status == 200 and not resp.will_close
            bodies.append(resp.read())
        conn.close()
        assert all(b"__NEXT_DATA__" in b for b in bodies)
        assert [m.hits[f"/title/tt900000{i}/"] for i in (1, 2, 3)] == [1, 1, 1]


def test_head_has_length_and_no_body() -> None:
    with MirrorServer(records=synthetic_graph(1)) as m:
        resp = _raw(m.port, "/title/tt9000001/", "HEAD")
        assert resp.status == 200 and int(resp.getheader("Content-Length")) > 1000


def test_js_only_cards_come_from_the_mlt_endpoint() -> None:
    records = load_catalogue()
    with MirrorServer(records=records, render_options={"js_only_more_like_this": True}) as m:
        _, _, page = _get(m.url("tt0050634"))
        assert b'data-testid="MoreLikeThis"' not in page
        assert b"/_mirror/mlt/tt0050634.json" in page
        status, headers, body = _get(m.base_url + "/_mirror/mlt/tt0050634.json")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        payload = json.loads(body)
        assert [t["tconst"] for t in payload["titles"]][:2] == ["tt0053106", "tt0052600"]
        assert payload["html"].count("tt_sims_tt_t_") == 11


def test_render_options_pad_pages() -> None:
    with MirrorServer(records=synthetic_graph(2), render_options={"pad_to_bytes": 900_000}) as m:
        _, headers, body = _get(m.url("tt9000002"))
        assert len(body) == 900_000 and headers["Content-Length"] == "900000"


def test_command_line_prints_its_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mirror", "--catalogue", "--synthetic", "5", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        assert _get(base + "/title/tt0050634/")[0] == 200
        assert _get(base + "/title/tt9000005/")[0] == 200
        assert json.loads(_get(base + "/_mirror/stats")[2]) == {
            "/title/tt0050634/": 1, "/title/tt9000005/": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("n", [1, 12])
def test_every_synthetic_title_is_served(n: int) -> None:
    graph = synthetic_graph(n)
    with MirrorServer(records=graph) as m:
        for tconst in graph:
            assert _get(m.url(tconst))[0] == 200
        assert sum(m.hits.values()) == n


def test_pages_are_rendered_per_request_and_only_a_few_kept() -> None:
    graph = SyntheticGraph(100_000)
    with MirrorServer(records=graph, cache_pages=3) as m:
        for i in (1, 50_000, 99_999, 7, 1):
            assert _get(m.url(f"tt{9_000_000 + i}"))[0] == 200
        assert len(m._cache) == 3
        assert _get(m.url("tt9100001"))[0] == 404  # one past the last title
