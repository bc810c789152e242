"""A local stand-in for IMDb's dataset host: ``/<file>.tsv.gz`` with ETag and Last-Modified,
304 for a matching conditional request, and faults on demand.  Runs in a thread of the
test process on 127.0.0.1 and a free port; the crawl runs in a subprocess and asks it.

Files are set with ``put(name, body)`` (``name`` like ``title.ratings``, ``body`` the
gzipped bytes); ``fault(name, ...)`` makes a file answer with a status or cut its body
short.  ``log`` holds (path, headers) of every request.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tsv_gz(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """IMDb's format: a header, tab-separated UTF-8 lines, gzipped."""
    lines = ["\t".join(header), *("\t".join(r) for r in rows)]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0)


@dataclass
class Served:
    body: bytes
    last_modified: datetime | None
    validators: bool = True  # send ETag and Last-Modified
    status: int | None = None  # answer this instead (404, 503, ...)
    cut: bool = False  # announce the whole body, send half, close

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


class DatasetsServer:
    def __init__(self, robots: str | None = "User-agent: *\nAllow: /\n") -> None:
        self.files: dict[str, Served] = {}
        self.robots = robots
        self.log: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def put(self, name: str, body: bytes, last_modified: datetime | None = None,
            validators: bool = True) -> None:
        modified = last_modified or datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
        with self._lock:
            self.files[f"/{name}.tsv.gz"] = Served(body, modified, validators)

    def fault(self, name: str, status: int | None = None, cut: bool = False) -> None:
        with self._lock:
            served = self.files[f"/{name}.tsv.gz"]
            served.status, served.cut = status, cut

    def requests(self, name: str) -> list[dict[str, str]]:
        """Headers of every request for a file, in order."""
        with self._lock:
            return [h for p, h in self.log if p == f"/{name}.tsv.gz"]

    def start(self) -> DatasetsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DatasetsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _not_modified(served: Served, headers: Any) -> bool:
    if not served.validators:
        return False
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:  # RFC 9110 13.1.3: If-None-Match wins
        return served.etag in [t.strip() for t in if_none_match.split(",")]
    since = headers.get("If-Modified-Since")
    if since and served.last_modified is not None:
        try:
            return served.last_modified <= email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _handler(server: DatasetsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with server._lock:
                server.log.append((self.path, dict(self.headers.items())))
                served = server.files.get(self.path)
            if self.path == "/robots.txt":
                if server.robots is None:
                    self._send(404, b"", {})
                else:
                    self._send(200, server.robots.encode(), {"Content-Type": "text/plain"})
                return
            if served is None:
                self._send(404, b"Not Found", {"Content-Type": "text/plain"})
                return
            if served.status is not None:
                self._send(served.status, f"status {served.status}".encode(), {})
                return
            headers = {"Content-Type": "binary/octet-stream"}
            if served.validators:
                headers["ETag"] = served.etag
                if served.last_modified is not None:
                    headers["Last-Modified"] = email.utils.format_datetime(
                        served.last_modified, usegmt=True)
            if _not_modified(served, self.headers):
                self.send_response(304)
                for k, v in headers.items():
                    if k != "Content-Type":
                        self.send_header(k, v)
                self.end_headers()
                return
            if served.cut:
                self.send_response(200)
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body[: len(served.body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(200, served.body, headers)

    return Handler
