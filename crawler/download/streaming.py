"""A download handler that writes a body to a file as it arrives, for IMDb's dataset files.

Scrapy holds a whole response in memory (and the crawl caps bodies at DOWNLOAD_MAXSIZE,
8 MiB); ``title.principals.tsv.gz`` is several hundred MB.  A request whose meta holds
``STREAM_TO`` (a directory) is fetched here with ``http.client`` in a thread and a 200's
body goes to a temporary file there, a MiB at a time; the response reaching the spider
has an empty body and ``request.meta[STREAMED_FILE]`` names the file (the caller deletes
it).  Any other request (robots.txt) goes through Scrapy's own HTTP/1.1 handler.

Everything around the download stays Scrapy's: the downloader slot (DOWNLOAD_DELAY
between files, one at a time per host), robots.txt (``crawler.download.robots``), the user agent
and other request headers, retries with backoff (``crawler.download.retry``), redirects.  A
non-200 answer keeps the first ``PREVIEW_BYTES`` of its body for the error line.
Download errors are raised as Scrapy's own exception classes, so ``crawler.failures``
names them as it names any other.  No proxy support: the request goes straight out.
"""

from __future__ import annotations

import http.client
import os
import socket
import tempfile
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    ResponseDataLossError,
)
from scrapy.http import Headers, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

STREAM_TO = "stream_to"  # request meta: the directory the body is written to
STREAMED_FILE = "streamed_file"  # set by the handler: the file holding the body
STREAMED_BYTES = "streamed_bytes"
CHUNK_BYTES = 1 << 20
PREVIEW_BYTES = 2048
# Hop-by-hop or body-describing headers that no longer describe the (empty) body we pass on;
# without Content-Encoding, Scrapy's decompression middleware leaves the response alone.
_DROPPED = {"content-encoding", "transfer-encoding"}


class _Fetched:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes,
                 path: str | None, size: int, latency: float) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.path, self.size, self.latency = path, size, latency


class StreamingDownloadHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._stop = threading.Event()

    async def download_request(self, request: Request) -> Response:
        directory = request.meta.get(STREAM_TO)
        if directory is None:
            return await super().download_request(request)
        timeout = float(request.meta.get("download_timeout") or 180)
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, values in request.headers.items() for v in values
                   if k.lower() != b"host"]
        fetched: _Fetched = await maybe_deferred_to_future(deferToThread(
            fetch_to_file, request.method, request.url, headers, timeout, str(directory),
            self._stop))
        request.meta["download_latency"] = fetched.latency
        if fetched.path is not None:
            request.meta[STREAMED_FILE] = fetched.path
            request.meta[STREAMED_BYTES] = fetched.size
        kept = Headers()
        for name, value in fetched.headers:
            if name.lower() not in _DROPPED:
                kept.appendlist(name, value)
        return Response(request.url, status=fetched.status, headers=kept, body=fetched.body,
                        request=request, flags=["streamed"] if fetched.path else [])

    async def close(self) -> None:
        self._stop.set()  # a download still running gives up at its next MiB
        await super().close()


def fetch_to_file(method: str, url: str, headers: list[tuple[str, str]], timeout: float,
                  directory: str, stop: threading.Event) -> _Fetched:
    """One request with ``http.client``; a 200's body into a new file in ``directory``."""
    started = time.monotonic()
    parts = urlsplit(url)
    connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                        else http.client.HTTPConnection)
    conn = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    path: str | None = None
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        latency = time.monotonic() - started
        if response.status != 200 or method == "HEAD":
            body = response.read(PREVIEW_BYTES)
            return _Fetched(response.status, response.getheaders(), body, None, 0, latency)
        os.makedirs(directory, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=directory, prefix=f".{os.getpid()}-",
                                    suffix=".part")
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := response.read(CHUNK_BYTES):
                if stop.is_set():
                    raise DownloadCancelledError("the crawl is closing")
                out.write(chunk)
                size += len(chunk)
        expected = response.getheader("Content-Length")
        if expected is not None and expected.strip().isdigit() and int(expected) != size:
            raise ResponseDataLossError(f"the connection closed after {size} of {expected} "
                                        "bytes (Content-Length)")
        return _Fetched(200, response.getheaders(), b"", path, size, latency)
    except BaseException as exc:
        if path is not None:
            os.unlink(path)
        mapped = _scrapy_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        conn.close()


def _scrapy_error(exc: BaseException) -> BaseException:
    """The Scrapy exception ``crawler.failures`` knows for a socket-level error."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, socket.gaierror):
        return CannotResolveHostError(text)
    if isinstance(exc, TimeoutError | socket.timeout):
        return DownloadTimeoutError(text)
    if isinstance(exc, ConnectionRefusedError):
        return DownloadConnectionRefusedError(text)
    if isinstance(exc, http.client.IncompleteRead | http.client.RemoteDisconnected
                  | ConnectionError):
        return ResponseDataLossError(f"the connection closed before the whole body came: "
                                     f"{text}")
    return exc
