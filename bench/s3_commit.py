"""Commit latency of the exporter: a local directory against an S3-compatible server
(moto_server from the dev extra, started on 127.0.0.1 and a free port).

Each chunk holds N title pages (titles and ratings files); the figure is the time of
``ParquetExporter.commit()``: locally close, fsync, rename and log; on S3 complete the
uploads and PUT the marker.  moto is a Python server, so S3 figures are an upper bound
of the protocol's own cost, not of a real store's latency.

    python bench/s3_commit.py                  # 20 chunks of 50 titles
    python bench/s3_commit.py --chunks 50 --titles 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.s3_server import CREDENTIALS, S3Server  # noqa: E402
from tests.test_parquet_exporter import make_exporter, title  # noqa: E402


def bench(output_dir: str, chunks: int, titles: int) -> tuple[float, float]:
    exporter = make_exporter(output_dir, PARQUET_ROW_GROUP_SIZE=1000)
    seconds, n = [], 0
    for _ in range(chunks):
        for _ in range(titles):
            n += 1
            exporter.process_item(title(f"tt{1_000_000 + n}"))
        started = time.perf_counter()
        exporter.commit()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--titles", type=int, default=50, help="title pages per chunk")
    args = parser.parse_args()
    os.environ.update(CREDENTIALS)
    server = S3Server().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = bench(tmp, args.chunks, args.titles)
        s3 = bench(server.uri(server.new_bucket(), "bench"), args.chunks, args.titles)
    finally:
        server.stop()
    for where, (median, worst) in (("local directory", local), ("S3 (moto_server)", s3)):
        print(f"{where}: commit of {args.titles} titles: median {median:.1f} ms, "
              f"max {worst:.1f} ms ({args.chunks} chunks)")


if __name__ == "__main__":
    main()
