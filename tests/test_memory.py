"""crawler.memory: glibc's thresholds are really set, and gc.freeze() spans the crawl."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.memory import SteadyMemory

ROOT = Path(__file__).resolve().parent.parent

# Whether a fresh allocation of N bytes got a mapping of its own (glibc's mallinfo2 counts
# mapped bytes apart), in a process of its own so the tests' heap is left alone.
_MAPPED = textwrap.dedent("""
    import ctypes, sys
    from crawler.memory import tune_malloc

    class Info(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = Info
    if sys.argv[1] != "-":
        print(tune_malloc(int(sys.argv[1]), 8 << 20))
    before = libc.mallinfo2().hblkhd
    block = bytearray(int(sys.argv[2]))
    print(libc.mallinfo2().hblkhd - before >= len(block))
""")


def _mapped(threshold: str, size: int) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _MAPPED, threshold, str(size)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_glibc_maps_a_large_block_by_default() -> None:
    # What the setting changes: glibc's own threshold starts at 128 KiB.
    assert _mapped("-", 3_000_000) == ["True"]


def test_the_mmap_threshold_decides_what_gets_a_mapping() -> None:
    assert _mapped(str(4 << 20), 3_000_000) == ["True", "False"]  # set; in the heap
    assert _mapped(str(256 << 10), 600_000) == ["True", "True"]  # set; mapped


def test_the_projects_settings_turn_it_on() -> None:
    assert project_settings.EXTENSIONS["crawler.memory.SteadyMemory"]
    assert project_settings.MALLOC_MMAP_THRESHOLD == 1 << 20
    assert project_settings.MALLOC_TRIM_THRESHOLD == 8 << 20
    assert project_settings.GC_FREEZE is True


def test_the_objects_before_the_crawl_are_frozen_while_it_runs() -> None:
    crawler = get_crawler(settings_dict={"GC_FREEZE": True, "MALLOC_MMAP_THRESHOLD": 0,
                                         "MALLOC_TRIM_THRESHOLD": 0})
    ext = SteadyMemory.from_crawler(crawler)
    assert gc.get_freeze_count() == 0
    ext.spider_opened(None)  # type: ignore[arg-type]
    try:
        assert gc.get_freeze_count() > 10_000  # pytest and Scrapy are loaded
    finally:
        ext.spider_closed(None)  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0


def test_gc_freeze_off_leaves_the_collector_alone() -> None:
    ext = SteadyMemory.from_crawler(get_crawler(settings_dict={"GC_FREEZE": False}))
    ext.spider_opened(None)  # type: ignore[arg-type]
    assert gc.get_freeze_count() == 0
    ext.spider_closed(None)  # type: ignore[arg-type]


def test_nothing_asked_is_nothing_to_set() -> None:
    from crawler.memory import tune_malloc

    assert tune_malloc(0, 0) is True
