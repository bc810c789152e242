"""Damaged WARC benchmark: indexing ARCHIVE_WARC files whose record header has a huge line.

Prints, per file (a sound record, the damaged one, a sound record):

1. the index's time (``WarcIndex.build``) and peak RSS, at header lines of 8/16/32/64 MB
   (and 1 GiB gzipped), for ``.warc`` and ``.warc.gz``: linear is a constant s/GB;
2. with ``--warcio``, warcio's own ArchiveIterator over the same files (its header reader
   is quadratic in the line: the figures of issue 19 were 2.8/7.9/31 s at 8/16/32 MB);
3. a real crawl over a record that inflates to 8 GiB: seconds from SIGTERM (sent once the
   crawl waits for the index) to the end of indexing, and to the process's exit.

    python bench/warc_damage.py
    python bench/warc_damage.py --sizes 8,16 --warcio
"""

from __future__ import annotations

import argparse
import gzip
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crawling import crawl_command  # noqa: E402
from tests.damaged_warcs import huge_member, member, record  # noqa: E402

MB = 1 << 20
NOWHERE = "http://127.0.0.1:9"

# Run in a child: its peak RSS is the indexing's alone (with Scrapy's imports).
INDEX = """
import sys, time
from pathlib import Path
from crawler.sources.warc import WarcIndex
started = time.monotonic()
index = WarcIndex.build([Path(sys.argv[1])])
took = time.monotonic() - started
assert len(index.captures) == 2 and len(index.damaged) == 1, (index.captures, index.damaged)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over an exec, from the parent.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(took, int(hwm) // 1024)
"""
WARCIO = """
import sys, time
from warcio.archiveiterator import ArchiveIterator
started = time.monotonic()
with open(sys.argv[1], "rb") as f:
    n = sum(1 for _ in ArchiveIterator(f))
print(time.monotonic() - started, n)
"""


def write(path: Path, line: int, gzipped: bool) -> Path:
    damaged = huge_member("tt0000002", line)
    if gzipped:
        path.write_bytes(member(record("tt0000001")) + damaged + member(record("tt0000003")))
    else:
        with open(path, "wb") as f:
            f.write(record("tt0000001"))
            f.write(gzip.decompress(damaged))
            f.write(record("tt0000003"))
    return path


def child(code: str, path: Path) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out.stdout.split()


def indexing(tmp: Path, sizes: list[int], with_warcio: bool) -> None:
    print("header line   file        size on disk   index s   s/GB   peak RSS MB"
          + ("   warcio s" if with_warcio else ""))
    for gzipped in (False, True):
        for size in sizes:
            if size > 64 and not gzipped:
                continue  # a 1 GiB plain file is only disk traffic; gzipped says the same
            path = write(tmp / f"line{size}.warc{'.gz' if gzipped else ''}", size * MB, gzipped)
            took, rss = child(INDEX, path)
            row = (f"{size:>6} MB     {path.suffix:<10} {path.stat().st_size / MB:>10.1f} MB"
                   f"   {float(took):7.2f}  {float(took) / (size / 1024):5.1f}   {rss:>8}")
            if with_warcio and size <= 32:
                row += f"   {float(child(WARCIO, path)[0]):8.2f}"
            print(row, flush=True)
            path.unlink()


def sigterm(tmp: Path) -> None:
    warc = tmp / "big.warc.gz"
    warc.write_bytes(member(record("tt0133093")) + huge_member("tt0000002", 8192 * MB,
                                                               trailer=False))
    cmd = crawl_command(NOWHERE, tmp / "out", seed="tt0133093", depth=0,
                        extra_args={"as_of": "2018-08-20"},
                        settings={"WAYBACK_BASE_URL": NOWHERE, "ARCHIVE_WARC": str(warc)})
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stderr is not None
    stopped = signalled = 0.0
    for line in proc.stderr:
        if not signalled and "the crawl waits for the index" in line:
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
        if "indexing stopped" in line:
            stopped = time.monotonic()
    proc.wait()
    print(f"SIGTERM while indexing a record of 8 GiB inflated: indexing stopped "
          f"{stopped - signalled:.2f} s after it, exit {proc.returncode} after "
          f"{time.monotonic() - signalled:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="8,16,32,64,1024",
                        help="header line lengths in MB (comma-separated)")
    parser.add_argument("--warcio", action="store_true",
                        help="also time warcio's reader (up to 32 MB: it is quadratic)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        indexing(Path(tmp), [int(s) for s in args.sizes.split(",")], args.warcio)
        sigterm(Path(tmp))


if __name__ == "__main__":
    main()
