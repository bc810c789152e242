"""Memory and speed of the local mirror itself: it must stay flat and fast however
large the synthetic graph, so that a crawl benchmark measures the crawler, not it.

For each graph size, starts ``python -m mirror --synthetic N --pad BYTES`` in its own
process, fetches a few hundred distinct title pages spread over the graph (each one
rendered on request; nothing is cached ahead), and prints the mirror's peak RSS and
the pages/s it served to plain keep-alive HTTP clients, one and several at a time:

    python bench/mirror_memory.py                     # 1,000 and 100,000 titles, ~900 KB
    python bench/mirror_memory.py --titles 5000 --pages 1000 --clients 8

Figures are printed, not asserted.  Peak RSS is read from /proc (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crawl import start_mirror  # noqa: E402

FIRST = 9_000_001  # mirror.synthetic.FIRST: the graph's first title is tt9000001


def rss_mb(pid: int, field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spread(titles: int, count: int, offset: int) -> list[str]:
    """``count`` distinct tconsts spread evenly over the graph, shifted by ``offset``."""
    step = max(1, titles // count)
    return [f"tt{FIRST + (offset + k * step) % titles}" for k in range(min(count, titles))]


def fetch_all(base_url: str, tconsts: list[str], clients: int) -> tuple[float, int]:
    """Fetch every page over ``clients`` keep-alive connections; (seconds, bytes)."""
    parts = urlsplit(base_url)
    shares = [tconsts[i::clients] for i in range(clients)]
    sizes = [0] * clients
    errors: list[str] = []

    def run(n: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        try:
            for tconst in shares[n]:
                conn.request("GET", f"/title/{tconst}/")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    errors.append(f"{tconst}: {resp.status}")
                sizes[n] += len(body)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} pages failed, first: {errors[0]}")
    return elapsed, sum(sizes)


def measure(titles: int, pad: int, pages: int, clients: int) -> None:
    proc, base_url = start_mirror(titles, pad)
    try:
        at_start = rss_mb(proc.pid, "VmRSS")
        one_s, one_bytes = fetch_all(base_url, spread(titles, pages, 0), 1)
        many_s, many_bytes = fetch_all(base_url, spread(titles, pages, 1), clients)
        peak = rss_mb(proc.pid, "VmHWM")
    finally:
        proc.kill()
        proc.wait()
    size_kb = one_bytes / pages / 1000
    print(
        f"{titles:>7,} titles, {pages} pages of ~{size_kb:.0f} KB: "
        f"RSS {at_start:.0f} MB at start, peak {peak:.0f} MB; "
        f"1 client {pages / one_s:.0f} pages/s ({one_bytes / one_s / 1e6:.0f} MB/s), "
        f"{clients} clients {pages / many_s:.0f} pages/s ({many_bytes / many_s / 1e6:.0f} MB/s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, nargs="*", default=[1_000, 100_000])
    parser.add_argument("--pad", type=int, default=900_000, help="page size in bytes")
    parser.add_argument("--pages", type=int, default=400, help="pages fetched per pass")
    parser.add_argument("--clients", type=int, default=8, help="connections of the 2nd pass")
    args = parser.parse_args()
    for n in args.titles:
        measure(n, args.pad, args.pages, args.clients)


if __name__ == "__main__":
    main()
