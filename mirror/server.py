"""A local IMDb mirror: a threaded HTTP/1.1 server on 127.0.0.1 serving saved real
pages and rendered records, with fault injection (see :mod:`mirror.faults`).

Routes::

    /robots.txt                 allows /title/ (or a fault's answer: 500, 404, ...)
    /title/<tconst>             301 -> /title/<tconst>/
    /title/<tconst>/?anything   the page (records first, then saved pages), else 404
    /title/<tconst>/fullcredits 301 -> /title/<tconst>/fullcredits/
    /title/<tconst>/fullcredits/
                                its full credits page: a saved real one first (a legacy
                                ``fullcredits`` page of ``pages_dir``, a ``fullcredits-next``
                                ``__NEXT_DATA__`` of ``next_json_dir``), else rendered from
                                the record (made-up crew for synthetic titles only), else 404
    /_mirror/mlt/<tconst>.json  the "More like this" cards a js-only page loads
    /_mirror/stats              hits per path, as JSON
    /web/<ts>id_/<title URL>    archive mode (``archive=``): Wayback-style replay of
                                captures (see :mod:`mirror.archive`)
    /cdx/search/cdx?url=...     archive mode: its CDX API (the captures of a title URL)

Every request is noted in ``arrivals`` (arrival time, path, User-Agent), and the most
served at once in ``max_in_flight``.

Usage in a test::

    with MirrorServer(records=graph, faults={"tt9000002": Fault.status(503, times=1)}) as m:
        urlopen(m.url("tt9000001"))
        assert m.hits["/title/tt9000001/"] == 1
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import socket
import threading
import time
import zlib
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.ids import is_tconst
from crawler.records import TitleRecord
from mirror import archive as archive_mode
from mirror.faults import BOMB_BYTES, HUGE_BYTES, WAF_STATUS, Fault, pick, pick_by_rate
from mirror.render import (
    fullcredits_page_from_next_json,
    more_like_this_payload,
    render_fullcredits_page_bytes,
    render_title_page_bytes,
)
from mirror.synthetic import is_synthetic

ROBOTS_TXT = b"User-agent: *\nAllow: /title/\nDisallow: /search/\n"
_TITLE_RE = re.compile(r"^/title/(tt\d{7,10})(/fullcredits)?(/?)$")
FULLCREDITS = "fullcredits"
_MLT_RE = re.compile(r"^/_mirror/mlt/(tt\d{7,10})\.json$")
_NEXT_RE = re.compile(rb'<script id="__NEXT_DATA__" type="application/json">')
_LAYOUT_FALLBACK = ("next2021plus", "legacy")
HTML = "text/html; charset=utf-8"

# Written after the shape of AWS WAF's challenge page (HTTP 202): a script setting
# awsWafCookieDomainList and gokuProps, a challenge.js from token.awswaf.com, an empty
# container and a noscript notice.  The values are made up; nothing here works.
CHALLENGE_HTML = b"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title></title>
<script type="text/javascript">
window.awsWafCookieDomainList = ['127.0.0.1'];
window.gokuProps = {"key": "bWlycm9yLWtleQ==", "iv": "bWlycm9yLWl2", "context": "bWlycm9y"};
</script>
<script src="https://mirror.invalid.token.awswaf.com/mirror/challenge.js"></script>
</head>
<body>
<div id="challenge-container"></div>
<script type="text/javascript">
AwsWafIntegration.getToken().then(function () { window.location.reload(true); });
</script>
<noscript>
<h1>Local mirror: challenge</h1>
This response imitates a bot check. Scripts are needed to pass it, and the mirror never
lets anyone pass.
</noscript>
</body>
</html>
"""


# Bodies of AWS WAF's captcha (405) and block (403) answers: short, made up, no title data.
WAF_BODIES = {
    "challenge": b"",  # imdb.com's 2026 challenge: 202 and nothing else
    "captcha": b"<!DOCTYPE html><html><head><title></title></head><body>"
               b"<div id=\"captcha-container\"></div></body></html>",
    "block": b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head>"
             b"<body><h1>403 Forbidden</h1></body></html>",
}
_STREAM_CHUNK = 1 << 16


@functools.lru_cache(maxsize=2)
def gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes, gzipped (1 GiB -> about 1 MB); made once, in 1 MiB steps."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = []
    left = size
    while left > 0:
        parts.append(packer.compress(zeros[: min(left, len(zeros))]))
        left -= len(zeros)
    parts.append(packer.flush())
    return b"".join(parts)


def _page_index(pages_dir: Path, suffix: str = "html") -> dict[str, dict[str, Path]]:
    """tconst -> {layout: file} for files named ``<tconst>__<source>__<layout>.<suffix>``."""
    index: dict[str, dict[str, Path]] = {}
    for file in sorted(pages_dir.glob(f"*.{suffix}")):
        parts = file.stem.split("__")
        if len(parts) == 3 and is_tconst(parts[0]):
            index.setdefault(parts[0], {}).setdefault(parts[2], file)
    return index


def _content_type(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "text/html"
    return HTML


def _pad(body: bytes, size: int) -> bytes:
    """``body`` grown to ``size`` bytes by a comment before ``</body>`` (or at the end)."""
    missing = size - len(body)
    if missing < 8:
        return body
    filler = b"<!--" + b"z" * (missing - 7) + b"-->"
    at = body.rfind(b"</body>")
    return body + filler if at < 0 else body[:at] + filler + body[at:]


def _break_next_data(body: bytes, *, truncate: float | None) -> bytes:
    m = _NEXT_RE.search(body)
    if not m:
        return body[: len(body) // 2] if truncate is not None else body + b"{"
    end = body.find(b"</script>", m.end())
    data = body[m.end() : end]
    if truncate is not None:
        broken = data[: int(len(data) * truncate)]
    else:  # a doubled comma between two top-level keys: invalid JSON, whatever the data
        at = data.find(b',"mainColumnData":')
        at = at if at >= 0 else 1
        broken = data[:at] + b"," + data[at:]
    return body[: m.end()] + broken + body[end:]


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops SYNs when a crawl opens its connections in
    # a burst, and each dropped one costs the client a 1 s retransmit.
    request_queue_size = 128


class MirrorServer:
    """The mirror.  ``records`` maps tconst to a TitleRecord or ``(record, render options)``;
    ``render_options`` apply to every rendered record (a record's own win).  ``faults``
    maps a tconst or a path to a Fault or a sequence of Faults; ``fault_rate`` adds
    random faults drawn from ``rate_faults`` (default: 503 and 429) with ``fault_seed``.

    ``records`` is looked up per request and never copied, so it can be a mapping that
    makes records on demand (:class:`~mirror.synthetic.SyntheticGraph`).  ``robots_txt``
    is served at /robots.txt.  Pages are
    rendered per request; the last ``cache_pages`` are kept, so memory stays flat
    however large the graph."""

    def __init__(
        self,
        *,
        pages_dir: str | Path | None = None,
        next_json_dir: str | Path | None = None,
        records: Mapping[str, TitleRecord | tuple[TitleRecord, dict[str, Any]]] | None = None,
        faults: Mapping[str, Fault | Sequence[Fault]] | None = None,
        layout: str = "next2021plus",
        render_options: Mapping[str, Any] | None = None,
        fault_rate: float = 0.0,
        rate_faults: Sequence[Fault] | None = None,
        fault_seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        max_delay: float = 30.0,
        cache_pages: int = 16,
        robots_txt: bytes = ROBOTS_TXT,
        archive: Mapping[str, Sequence[archive_mode.Capture]] | None = None,
    ) -> None:
        self.layout = layout
        self.robots_txt = robots_txt
        # tconst -> its captures: /web/ replay URLs are answered (mirror.archive)
        self.archive = archive
        self.pages = _page_index(Path(pages_dir)) if pages_dir is not None else {}
        # tconst -> {layout: file} of saved __NEXT_DATA__ (fullcredits-next: its full credits)
        self.next_json = (_page_index(Path(next_json_dir), "json")
                          if next_json_dir is not None else {})
        self.records: Mapping[str, TitleRecord | tuple[TitleRecord, dict[str, Any]]] = (
            records if records is not None else {}
        )
        self.render_options: dict[str, Any] = dict(render_options or {})
        self.faults: dict[str, list[Fault]] = {}
        self.set_faults(faults or {})
        self.fault_rate = fault_rate
        self.rate_faults = (
            list(rate_faults) if rate_faults is not None else [Fault.status(503), Fault.throttle(1)]
        )
        self.fault_seed = fault_seed
        self.max_delay = max_delay
        self.hits: Counter[str] = Counter()  # path (no query) -> requests
        self.log: list[tuple[str, int]] = []  # (path with query, status), in order
        # (time.monotonic() on arrival, path with query, User-Agent) of every request, in
        # order, and the most requests ever being served at once: what a politeness test
        # measures (request rate, spacing, concurrency).
        self.arrivals: list[tuple[float, str, str]] = []
        # The User-Agent of the request this thread is serving: a test that counts requests
        # (tests/test_resume.py's Trigger) tells one crawl process's from another's.
        self.serving = threading.local()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[bytes, int, str]] = OrderedDict()
        self._cache_pages = cache_pages
        self._httpd = _Server((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ---
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host if isinstance(host, str) else host.decode()}:{self.port}"

    def url(self, tconst: str) -> str:
        return f"{self.base_url}/title/{tconst}/"

    def start(self) -> MirrorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="mirror-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- configuration while running ---
    def set_faults(self, faults: Mapping[str, Fault | Sequence[Fault]]) -> None:
        table: dict[str, list[Fault]] = {}
        for key, value in faults.items():
            path = f"/title/{key}/" if is_tconst(key) else key
            table[path] = [value] if isinstance(value, Fault) else list(value)
        self.faults = table

    # --- content ---
    def title_count(self) -> int:
        """Titles served: records and saved pages (a tconst in both counts twice)."""
        return len(self.records) + len(self.pages)

    def record(self, tconst: str) -> tuple[TitleRecord, dict[str, Any]] | None:
        """The record of ``tconst`` and its render options, or None."""
        value = self.records.get(tconst)
        if value is None:
            return None
        record, options = value if isinstance(value, tuple) else (value, {})
        return record, {**self.render_options, **options}

    def page_bytes(self, tconst: str, page: str | None = None) -> tuple[bytes, int, str] | None:
        """(body, status, content type) of a title (or of its full credits ``page``), or
        None when the mirror lacks it.  Made per request; the most recent few are cached."""
        key = f"{tconst}/{page}" if page else tconst
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        found = self._make_fullcredits(tconst) if page else self._make_page(tconst)
        if found is not None and self._cache_pages > 0:
            with self._lock:
                self._cache[key] = found
                while len(self._cache) > self._cache_pages:
                    self._cache.popitem(last=False)
        return found

    def _make_page(self, tconst: str) -> tuple[bytes, int, str] | None:
        found = self.record(tconst)
        if found is not None:
            record, options = found
            return render_title_page_bytes(record, **options), 200, HTML
        files = self.pages.get(tconst, {})
        layout = next((x for x in (self.layout, *_LAYOUT_FALLBACK) if x in files), None)
        if layout is None:
            return None
        body = files[layout].read_bytes()
        # The saved WAF page is a block, as imdb.com sends it: 202.
        return body, 202 if layout == "other" else 200, _content_type(body)

    def _make_fullcredits(self, tconst: str) -> tuple[bytes, int, str] | None:
        saved = self.pages.get(tconst, {}).get(FULLCREDITS)
        if saved is not None:
            body = saved.read_bytes()
            return body, 200, _content_type(body)
        data = self.next_json.get(tconst, {}).get("fullcredits-next")
        if data is not None:
            return fullcredits_page_from_next_json(data.read_bytes(), tconst), 200, HTML
        found = self.record(tconst)
        if found is None:
            return None
        # A real title's crew is never made up: only synthetic titles get departments.
        body = render_fullcredits_page_bytes(found[0], made_up_crew=is_synthetic(tconst))
        return body, 200, HTML

    def mlt_json(self, tconst: str) -> bytes | None:
        found = self.record(tconst)
        if found is None:
            return None
        return json.dumps(more_like_this_payload(found[0]), ensure_ascii=False).encode("utf-8")

    def _count(self, path: str) -> int:
        with self._lock:
            attempt = self.hits[path]
            self.hits[path] += 1
            return attempt

    def _fault_for(self, path: str, attempt: int) -> Fault | None:
        listed = self.faults.get(path)
        if listed:
            return pick(listed, attempt)
        return pick_by_rate(self.fault_rate, self.rate_faults, self.fault_seed, path, attempt)


def _handler_for(mirror: MirrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_MirrorHandler):
        pass

    Handler.mirror = mirror
    return Handler


class _MirrorHandler(BaseHTTPRequestHandler):
    mirror: MirrorServer
    protocol_version = "HTTP/1.1"  # keep-alive; every response has a Content-Length
    server_version = "imdb-mirror/0.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        mirror = self.mirror
        mirror.serving.user_agent = self.headers.get("User-Agent", "")
        with mirror._lock:
            mirror.arrivals.append((time.monotonic(), self.path, mirror.serving.user_agent))
            mirror.in_flight += 1
            mirror.max_in_flight = max(mirror.max_in_flight, mirror.in_flight)
        try:
            self._route(head)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away: nothing to answer
        finally:
            with mirror._lock:
                mirror.in_flight -= 1

    # --- responses ---
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = HTML,
        headers: Mapping[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)
        with self.mirror._lock:
            self.mirror.log.append((self.path, status))

    def _not_found(self, head: bool) -> None:
        self._send(
            404,
            b"<!DOCTYPE html><html><head><title>404 Error - IMDb</title></head>"
            b"<body><h1>404 Error</h1><p>Not in the mirror.</p></body></html>",
            head=head,
        )

    def _route(self, head: bool) -> None:
        path = urlsplit(self.path).path
        mirror = self.mirror
        if path == "/robots.txt":
            # Faults keyed "/robots.txt" answer instead (a 500, a 404, a block...); random
            # faults (fault_rate) are for titles only.
            attempt = mirror._count(path)
            listed = mirror.faults.get(path)
            fault = pick(listed, attempt) if listed else None
            if fault is None or not self._answer_instead(fault, "", head):
                self._send(200, mirror.robots_txt, "text/plain; charset=utf-8", head=head)
            return
        if path == "/_mirror/stats":
            with mirror._lock:
                body = json.dumps(dict(mirror.hits)).encode()
            self._send(200, body, "application/json", head=head)
            return
        m = _MLT_RE.match(path)
        if m:
            mirror._count(path)
            cards = mirror.mlt_json(m.group(1))
            if cards is None:
                self._not_found(head)
            else:
                self._send(200, cards, "application/json; charset=utf-8", head=head)
            return
        if mirror.archive is not None and path.startswith("/web/"):
            self._replay(path, head)
            return
        if mirror.archive is not None and path == archive_mode.CDX_PATH:
            self._cdx(path, head)
            return
        m = _TITLE_RE.match(path)
        if not m:
            mirror._count(path)
            self._not_found(head)
            return
        tconst, page = m.group(1), FULLCREDITS if m.group(2) else None
        attempt = mirror._count(path)
        if not m.group(3):
            self._send(301, b"", headers={"Location": f"{path}/"}, head=head)
            return
        fault = mirror._fault_for(path, attempt)
        if fault is not None and self._apply(fault, tconst, head, page):
            return
        found = mirror.page_bytes(tconst, page)
        if found is None:
            self._not_found(head)
            return
        body, status, content_type = found
        self._send(status, body, content_type, head=head)

    def _replay(self, path: str, head: bool) -> None:
        """Archive mode: faults keyed by a tconst apply to its replay URLs (the archive's
        own answers: a 429, a 503...), then the archive answers (mirror.archive)."""
        mirror = self.mirror
        assert mirror.archive is not None
        attempt = mirror._count(path)
        tconst = archive_mode.tconst_of_replay(path)
        key = archive_mode.fault_key_of_replay(path)
        listed = mirror.faults.get(key) if key else None
        fault = pick(listed, attempt) if listed else None
        if fault is not None and self._answer_instead(fault, tconst or "", head):
            return
        status, headers, body, content_type = archive_mode.answer(mirror.archive, path)
        self._send(status, body, content_type, headers=headers, head=head)

    def _cdx(self, path: str, head: bool) -> None:
        """Archive mode's CDX API; faults keyed by its path answer instead (a 429...)."""
        mirror = self.mirror
        assert mirror.archive is not None
        attempt = mirror._count(path)
        listed = mirror.faults.get(path)
        fault = pick(listed, attempt) if listed else None
        if fault is not None and self._answer_instead(fault, "", head):
            return
        status, headers, body, content_type = archive_mode.answer_cdx(
            mirror.archive, urlsplit(self.path).query)
        self._send(status, body, content_type, headers=headers, head=head)

    def _apply(self, fault: Fault, tconst: str, head: bool, page: str | None = None) -> bool:
        """Serve ``fault``; False when the normal page should follow (a slow response)."""
        if fault.kind == "slow":
            time.sleep(min(float(fault.params.get("delay", 1.0)), self.mirror.max_delay))
            return False
        if not self._answer_instead(fault, tconst, head):
            self._spoil_page(fault, tconst, head, page)
        return True

    def _answer_instead(self, fault: Fault, tconst: str, head: bool) -> bool:
        """Answer without the page (an error, a block, a redirect...); False for the
        faults that spoil the page itself."""
        p = fault.params
        kind = fault.kind
        if kind == "throttle":
            retry_after = {"Retry-After": _seconds(p.get("retry_after", 1))}
            self._send(429, b"Too many requests", "text/plain", retry_after, head)
        elif kind == "status":
            extra = (
                {"Retry-After": _seconds(p["retry_after"])}
                if p.get("retry_after") is not None
                else {}
            )
            code = int(p["status"])
            body = f"<html><body><h1>{code}</h1></body></html>".encode()
            self._send(code, body, headers=extra, head=head)
        elif kind == "challenge":
            self._send(202, CHALLENGE_HTML, headers={"x-amzn-waf-action": "challenge"}, head=head)
        elif kind == "redirect":
            to = str(p["to"])  # a tconst (a merged title), or a full URL (another host)
            location = to if "://" in to else f"/title/{to}/"
            self._send(301, b"", headers={"Location": location}, head=head)
        elif kind == "non_html":
            body = json.dumps({"tconst": tconst, "message": "not a page"}).encode()
            self._send(200, body, "application/json", head=head)
        elif kind == "empty":
            self._send(200, b"", head=head)
        elif kind == "waf":
            action = str(p["action"])
            self._send(WAF_STATUS[action], WAF_BODIES[action],
                       headers={"x-amzn-waf-action": action}, head=head)
        elif kind == "oversize":
            self._stream_filler(int(p["bytes"]), chunked=bool(p.get("chunked")), head=head)
        elif kind == "gzip_bomb":
            self._stream_bomb(int(p.get("bytes", BOMB_BYTES)), head)
        else:
            return False
        return True

    def _spoil_page(self, fault: Fault, tconst: str, head: bool, page: str | None = None) -> None:
        """Serve a page gone wrong: another title's, cut, broken or padded."""
        p = fault.params
        kind = fault.kind
        found = self.mirror.page_bytes(p["tconst"] if kind == "wrong_title" else tconst, page)
        if found is None:
            self._not_found(head)
            return
        body, _status, content_type = found
        if kind == "drop":
            self._drop(body, content_type, head)
            return
        if kind == "truncated_json":
            body = _break_next_data(body, truncate=float(p.get("fraction", 0.5)))
        elif kind == "malformed_json":
            body = _break_next_data(body, truncate=None)
        elif kind == "truncated_page":
            body = body[: int(len(body) * float(p.get("fraction", 0.5)))]
        elif kind == "huge":
            body = _pad(body, int(p.get("bytes", HUGE_BYTES)))
        self._send(200, body, content_type, head=head)

    def _begin(self, headers: Mapping[str, str]) -> None:
        self.send_response(200)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        with self.mirror._lock:
            self.mirror.log.append((self.path, 200))

    def _stream_filler(self, size: int, *, chunked: bool, head: bool) -> None:
        """``size`` bytes of an HTML comment, made chunk by chunk (a 300 MB page costs the
        mirror no memory); the client may hang up at any point."""
        length = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
        self._begin({"Content-Type": HTML, **length})
        if head:
            return
        prefix = b"<!DOCTYPE html><html><body><!--"
        filler = b"z" * _STREAM_CHUNK
        sent = 0
        while sent < size:
            data = prefix if sent == 0 else filler[: min(_STREAM_CHUNK, size - sent)]
            data = data[: size - sent]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            sent += len(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _stream_bomb(self, size: int, head: bool) -> None:
        body = gzip_zeros(size)
        self._begin({"Content-Type": HTML, "Content-Encoding": "gzip",
                     "Content-Length": str(len(body))})
        if not head:
            for at in range(0, len(body), _STREAM_CHUNK):
                self.wfile.write(body[at : at + _STREAM_CHUNK])

    def _drop(self, body: bytes, content_type: str, head: bool) -> None:
        """Headers with the full length, half the body, then the connection closed."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
        with self.mirror._lock:
            self.mirror.log.append((self.path, 200))


def _seconds(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else str(number)
