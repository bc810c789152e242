"""Every fault kind of the mirror does what it says, seen from a plain HTTP client."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time

import pytest

from mirror import Fault, MirrorServer, synthetic_graph
from mirror.faults import pick, pick_by_rate

GRAPH = synthetic_graph(4)
T1, T2 = "tt9000001", "tt9000002"
PATH = f"/title/{T1}/"


def _fetch(port: int, path: str = PATH, timeout: float = 10) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _next_data(body: bytes) -> bytes:
    m = re.search(rb'<script id="__NEXT_DATA__" type="application/json">(.*?)</script>', body,
                  re.S)
    assert m
    return m.group(1)


@pytest.mark.parametrize("code", [500, 502, 503, 404])
def test_status_faults(code: int) -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.status(code)}) as m:
        assert _fetch(m.port)[0] == code
        assert _fetch(m.port)[0] == code  # permanent
        assert _fetch(m.port, f"/title/{T2}/")[0] == 200  # other titles unaffected


def test_throttle_sends_retry_after() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.throttle(retry_after=7)}) as m:
        status, headers, _ = _fetch(m.port)
        assert status == 429 and headers["retry-after"] == "7"


def test_transient_faults_fail_first_n_then_succeed() -> None:
    faults = {PATH: [Fault.status(503, times=2, retry_after=1), Fault.throttle(2, times=1)]}
    with MirrorServer(records=GRAPH, faults=faults) as m:
        results = [_fetch(m.port) for _ in range(5)]
        assert [r[0] for r in results] == [503, 503, 429, 200, 200]
        assert results[0][1]["retry-after"] == "1" and results[2][1]["retry-after"] == "2"
        assert m.hits[PATH] == 5


def test_slow_response_arrives_after_the_delay() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.slow(0.4, times=1)}) as m:
        started = time.monotonic()
        status, _, body = _fetch(m.port)
        assert status == 200 and b"Synthetic Title 1" in body
        assert time.monotonic() - started >= 0.4
    # A client with a shorter timeout than the delay gives up.
    slow = MirrorServer(records=GRAPH, faults={T1: Fault.slow(2.0)}, max_delay=0.5)
    with slow as m, pytest.raises(TimeoutError):
        _fetch(m.port, timeout=0.2)


def test_slow_delay_is_bounded_by_max_delay() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.slow(60)}, max_delay=0.1) as m:
        started = time.monotonic()
        assert _fetch(m.port)[0] == 200
        assert time.monotonic() - started < 5


def test_drop_sends_half_the_body_then_closes() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.drop(times=1)}) as m:
        conn = http.client.HTTPConnection("127.0.0.1", m.port, timeout=10)
        conn.request("GET", PATH)
        resp = conn.getresponse()
        length = int(resp.getheader("Content-Length"))
        with pytest.raises(http.client.IncompleteRead) as info:
            resp.read()
        assert len(info.value.partial) == length // 2
        conn.close()
        status, _, body = _fetch(m.port)
        assert status == 200 and len(body) == length


def test_challenge_is_a_202_waf_page() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.challenge()}) as m:
        status, headers, body = _fetch(m.port)
        assert status == 202
        assert headers["x-amzn-waf-action"] == "challenge"
        assert b"AwsWafIntegration" in body and b"awsWafCookieDomainList" in body
        assert b'id="challenge-container"' in body
        assert b"__NEXT_DATA__" not in body and b"Synthetic" not in body


def test_redirect_to_a_merged_title() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.redirect(T2)}) as m:
        status, headers, _ = _fetch(m.port)
        assert status == 301 and headers["location"] == f"/title/{T2}/"


def test_wrong_title_serves_another_page_under_the_url() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.wrong_title(T2)}) as m:
        status, _, body = _fetch(m.port)
        assert status == 200
        data = json.loads(_next_data(body))
        assert data["props"]["pageProps"]["tconst"] == T2


def test_truncated_and_malformed_next_data() -> None:
    faults = {T1: Fault("truncated_json"), T2: Fault("malformed_json")}
    with MirrorServer(records=GRAPH, faults=faults) as m:
        for path in (PATH, f"/title/{T2}/"):
            status, headers, body = _fetch(m.port, path)
            assert status == 200 and int(headers["content-length"]) == len(body)
            assert body.rstrip().endswith(b"</html>")  # only the JSON is broken
            with pytest.raises(json.JSONDecodeError):
                json.loads(_next_data(body))
            assert b'data-testid="hero__pageTitle"' in body


def test_truncated_page_has_no_end() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault("truncated_page",
                                                      params={"fraction": 0.3})}) as m:
        _, _, full = _fetch(m.port, f"/title/{T2}/")
        status, _, body = _fetch(m.port)
        assert status == 200 and b"</html>" not in body
        assert 0.2 * len(full) < len(body) < 0.4 * len(full)


def test_non_html_content_type() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault("non_html")}) as m:
        status, headers, body = _fetch(m.port)
        assert status == 200 and headers["content-type"] == "application/json"
        assert json.loads(body)["tconst"] == T1


def test_huge_page_is_twenty_megabytes_and_still_a_page() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.huge()}) as m:
        status, headers, body = _fetch(m.port)
        assert status == 200 and len(body) == 20_000_000
        assert headers["content-length"] == "20000000"
        assert json.loads(_next_data(body))["props"]["pageProps"]["tconst"] == T1
        assert body.endswith(b"</body></html>")


def test_empty_body() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault("empty", times=1)}) as m:
        assert _fetch(m.port)[2] == b""
        assert _fetch(m.port)[0] == 200


def test_rate_faults_are_deterministic_and_spread() -> None:
    graph = synthetic_graph(60)
    outcomes = []
    for _ in range(2):
        with MirrorServer(records=graph, fault_rate=0.3, fault_seed=5,
                          rate_faults=[Fault.status(503)]) as m:
            outcomes.append([_fetch(m.port, f"/title/{t}/")[0] for t in graph])
    assert outcomes[0] == outcomes[1]
    failed = outcomes[0].count(503)
    assert 6 <= failed <= 30 and set(outcomes[0]) == {200, 503}


def test_rate_faults_with_times_are_transient() -> None:
    fault = Fault.status(503, times=1)
    hits = [pick_by_rate(1.0, [fault], 0, PATH, attempt) for attempt in range(3)]
    assert hits == [fault, None, None]


def test_pick_walks_the_faults_in_order() -> None:
    a, b = Fault.status(500, times=1), Fault.throttle(times=2)
    assert [pick([a, b], n) for n in range(4)] == [a, b, b, None]
    assert pick([Fault.challenge()], 1000) == Fault.challenge()


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault("teapot")
    with pytest.raises(ValueError):
        Fault("status")
    with pytest.raises(ValueError):
        Fault("redirect")


def test_set_faults_while_running() -> None:
    with MirrorServer(records=GRAPH) as m:
        assert _fetch(m.port)[0] == 200
        m.set_faults({T1: Fault.status(502)})
        assert _fetch(m.port)[0] == 502


def test_server_keeps_serving_after_a_client_vanishes() -> None:
    with MirrorServer(records=GRAPH, faults={T1: Fault.slow(0.2, times=1)}) as m:
        sock = socket.create_connection(("127.0.0.1", m.port))
        sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.close()
        assert _fetch(m.port, f"/title/{T2}/")[0] == 200


def test_redirect_to_another_host() -> None:
    fault = Fault.redirect("http://elsewhere.invalid/title/tt9000002/")
    with MirrorServer(records=GRAPH, faults={T1: fault}) as m:
        status, headers, _ = _fetch(m.port)
        assert status == 301 and headers["location"] == "http://elsewhere.invalid/title/tt9000002/"
