"""Benchmark extract_page over every current-layout (next2021plus) real page.

Prints, per page, the median time of several rounds, then the median and p90 over pages,
next to the time of a bare ``json.loads`` and a bare ``orjson.loads`` of the same pages'
``__NEXT_DATA__`` block (the floor: extraction parses it with orjson).
Usage: .venv/bin/python bench/extract.py [rounds]
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.extraction import extract_page  # noqa: E402

SHARED = Path(os.environ.get("IMDB_SHARED", ROOT.parent / "shared"))
REAL = SHARED / "pages" / "real"


def pages() -> list[tuple[str, bytes]]:
    with open(REAL / "SOURCES.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["layout"] == "next2021plus"]
    return [(r["title_id"], (REAL / r["file"]).read_bytes()) for r in rows]


def timed(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    if not (REAL / "SOURCES.tsv").is_file():
        print(f"no reference pages at {REAL}; nothing to measure")
        return 0
    extract_ms: list[float] = []
    loads_ms: list[float] = []
    orjson_ms: list[float] = []
    for tconst, body in pages():
        url = f"https://www.imdb.com/title/{tconst}/"
        extract_page(body, url)  # warm-up
        ms = timed(lambda body=body, url=url: extract_page(body, url), rounds)
        text = body.decode("utf-8")
        start = text.index(">", text.index('<script id="__NEXT_DATA__"')) + 1
        block = text[start : text.index("</script>", start)]
        base = timed(lambda block=block: json.loads(block), rounds)
        raw = block.encode("utf-8")
        fast = timed(lambda raw=raw: orjson.loads(raw), rounds)
        extract_ms.append(ms)
        loads_ms.append(base)
        orjson_ms.append(fast)
        size = len(body) / 1e6
        print(
            f"{tconst:<11} {size:5.2f} MB  extract {ms:6.2f} ms  json.loads {base:5.2f} ms  "
            f"orjson.loads {fast:5.2f} ms"
        )
    print(f"\npages: {len(extract_ms)}, rounds each: {rounds}")
    for label, values in (
        ("extract_page", extract_ms),
        ("json.loads only", loads_ms),
        ("orjson.loads only", orjson_ms),
    ):
        med = statistics.median(values)
        print(f"{label:<18} median {med:.2f} ms  p90 {p90(values):.2f} ms per page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
