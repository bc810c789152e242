"""Damaged WARC files through the real spider (ARCHIVE_WARC, no network): a record whose
header has a 64 MB line, a record cut short, a truncated file, and SIGTERM while a big
file is being indexed.  Figures of the indexing time: bench/warc_damage.py."""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from mirror.archive import Capture, captures_from_sources
from tests import forkserver
from tests.conftest import REAL_PAGES, needs_shared
from tests.crawling import ROOT, crawl_command, read_table, run_crawl
from tests.damaged_warcs import huge_member, member, record, sound

pytestmark = needs_shared

NOWHERE = "http://127.0.0.1:9"  # nothing listens: no request may go anywhere
GOOD = ("tt0133093", "tt0119698")  # The Matrix, Princess Mononoke: 2018-08-20 captures
DAMAGED, CUT = "tt0468569", "tt0078788"  # only in damaged records
AS_OF = "2018-08-20"
MB = 1 << 20
DAMAGE_LINE = re.compile(r"ARCHIVE_WARC: damaged record in (.+) at offset (\d+): (.+); "
                         r"skipped, the rest of the file is read$")


def capture_of(tconst: str) -> dict[str, list[Capture]]:
    (found,) = [c for c in captures_from_sources(REAL_PAGES)[tconst]
                if c.timestamp.startswith(AS_OF.replace("-", ""))]
    return {tconst: [found]}


def crawl(warc: Path, out: Path, seeds: tuple[str, ...], **settings: str
          ) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = run_crawl(NOWHERE, out, seed=",".join(seeds), depth=0, timeout=120,
                     extra_args={"as_of": AS_OF},
                     settings={"WAYBACK_BASE_URL": NOWHERE, "ARCHIVE_WARC": str(warc),
                               **settings})
    return proc, time.monotonic() - started


def damage_lines(stderr: str) -> list[tuple[str, int, str]]:
    return [(m.group(1), int(m.group(2)), m.group(3)) for line in stderr.splitlines()
            if (m := DAMAGE_LINE.search(line))]


def outcomes(out: Path) -> tuple[set[str], dict[str, str], dict[str, object]]:
    titles = {r["tconst"] for r in read_table(out, "titles")}
    failures = {r["tconst"]: r["reason"] for r in read_table(out, "failures")}
    (run,) = read_table(out, "crawl_runs")
    return titles, failures, run


def test_a_64_mb_header_line_is_named_counted_and_skipped(tmp_path: Path) -> None:
    """The real default limit (64 KB): good records before and after the damaged one are
    read, and the crawl ends in seconds."""
    before, after = sound(capture_of(GOOD[0]), gzip=True), sound(capture_of(GOOD[1]), gzip=True)
    bad = huge_member(DAMAGED, 64 * MB)
    assert len(gzip.decompress(bad)) > 64 * MB
    warc = tmp_path / "big-line.warc.gz"
    warc.write_bytes(before + bad + after)
    proc, took = crawl(warc, tmp_path / "out", (*GOOD, DAMAGED))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert took <= 30, took
    assert damage_lines(proc.stderr) == [
        (str(warc), len(before), "WARC header longer than 65536 bytes (ARCHIVE_WARC_MAX_HEADER)")]
    titles, failures, run = outcomes(tmp_path / "out")
    assert titles == set(GOOD)
    assert failures == {DAMAGED: "not_archived"}
    assert run["warc_damaged_records"] == 1


@pytest.mark.parametrize("gzipped", [True, False], ids=["warc.gz", "warc"])
def test_a_record_cut_short_and_a_truncated_file(tmp_path: Path, gzipped: bool) -> None:
    """A record cut short in the middle (the next record follows early) and a file cut in
    its last record: each named once with its offset and counted; every sound record read.
    A smaller limit (ARCHIVE_WARC_MAX_HEADER) changes nothing for sound records."""
    first, second = (sound(capture_of(t), gzip=gzipped) for t in GOOD)
    if gzipped:
        cut_short = member(record(DAMAGED))[:-40]  # the gzip member ends early
        last = member(record(CUT))[:-20]
    else:
        cut_short = record(DAMAGED, cut=30)  # its Content-Length says 30 bytes more
        last = record(CUT)[:-60]
    warc = tmp_path / ("cut.warc.gz" if gzipped else "cut.warc")
    warc.write_bytes(first + cut_short + second + last)
    proc, _ = crawl(warc, tmp_path / "out", (*GOOD, DAMAGED, CUT),
                    ARCHIVE_WARC_MAX_HEADER="4096")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = damage_lines(proc.stderr)
    assert [(path, offset) for path, offset, _ in lines] == [
        (str(warc), len(first)), (str(warc), len(first) + len(cut_short) + len(second))]
    assert all(what.startswith(("cut short", "corrupt gzip member")) for _, _, what in lines)
    titles, failures, run = outcomes(tmp_path / "out")
    assert titles == set(GOOD)
    assert failures == {DAMAGED: "not_archived", CUT: "not_archived"}
    assert run["warc_damaged_records"] == 2


def test_sigterm_while_indexing_ends_the_crawl_in_seconds(tmp_path: Path) -> None:
    """A record that inflates to 8 GiB (8 MB on disk) keeps the index busy for a long
    while; SIGTERM as soon as the crawl waits for it ends the crawl within 10 s."""
    warc = tmp_path / "big.warc.gz"
    warc.write_bytes(sound(capture_of(GOOD[0]), gzip=True)
                     + huge_member(DAMAGED, 8192 * MB, trailer=False))
    out = tmp_path / "out"
    cmd = crawl_command(NOWHERE, out, seed=",".join(GOOD), depth=0,
                        extra_args={"as_of": AS_OF},
                        settings={"WAYBACK_BASE_URL": NOWHERE, "ARCHIVE_WARC": str(warc)})
    proc = forkserver.popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The deadline for the first line: past it the process is killed and the read ends.
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line)
            if "ARCHIVE_WARC: the crawl waits for the index" in line:
                break
        assert proc.poll() is None, "".join(seen)[-3000:]
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=10)
        took = time.monotonic() - signalled
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = "".join(seen) + rest
    assert took <= 10, took
    assert proc.returncode == 1, stderr[-3000:]
    assert "ARCHIVE_WARC: indexing stopped after" in stderr
    assert "indexed in" not in stderr  # it was interrupted, not done
    assert "error: finish reason shutdown" in stderr
    titles, failures, run = outcomes(out)
    assert run["finish_reason"] == "shutdown"
    # Never sent, so recorded as the stop's unfinished titles (no JOBDIR).
    assert titles == set() and failures == {t: "not_fetched" for t in GOOD}
