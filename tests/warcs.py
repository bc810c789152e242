"""Small WARC files for tests, written with warcio from the mirror's captures (in tmp
dirs at test time: page content is never committed)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from mirror.archive import IMDB, Capture


def write_warc(path: Path, captures: Mapping[str, Sequence[Capture]], *, gzip: bool) -> Path:
    """One WARC response record per capture: imdb.com's answer at the capture's time."""
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gzip)
        for tconst, found in captures.items():
            for capture in found:
                headers = [("Content-Type", capture.content_type), *capture.headers]
                if capture.location is not None:
                    to = capture.location
                    headers.append(("Location", to if "://" in to else f"{IMDB}/title/{to}/"))
                status = f"{capture.status} {HTTPStatus(capture.status).phrase}"
                when = datetime.strptime(capture.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
                record = writer.create_warc_record(
                    f"{IMDB}/title/{tconst}/", "response",
                    payload=io.BytesIO(capture.content()),
                    http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
                )
                writer.write_record(record)
    return path
