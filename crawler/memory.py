"""Keeps a long crawl's memory and pauses flat: glibc's heap tuned for 900 KB pages, and
the objects that exist before the crawl left out of Python's full garbage collections.

Measured with ``bench/crawl.py`` (docs/speed.md, "Memory of a long crawl"):

* **The heap.**  A title page passes through the heap as a ~900 KB body, a few at a time,
  and a page read as text (a legacy page, one not in UTF-8) as a text of up to 1.8 MB.
  By default glibc raises its mmap threshold to the largest block freed so far, so these
  land in the heap, between small blocks that live longer; the holes
  they leave are too small for the next page, and the heap grows past them for a moment.
  Those moments grew the peak with the length of the crawl (+6-9% from 1,000 to 20,000
  titles) while the median stayed flat.  A fixed ``MALLOC_MMAP_THRESHOLD`` gives each
  block that large its own mapping, returned whole when freed.  Fixing it also fixes glibc's
  trim threshold at 128 KiB, which gave memory back and took it again on every page (a
  third of the speed): ``MALLOC_TRIM_THRESHOLD`` keeps 8 MiB of the heap's top.
* **The collector.**  A full collection walked every object of the ~1,800 imported modules
  (~120,000 objects) every ~2 s, ~100 ms each time, and found nothing to free.
  ``gc.freeze()`` once the spider opens moves them out of its reach; the crawl's own
  objects are collected as before.  They are unfrozen when the spider closes, so a
  process that runs crawls one after another frees the first one's cycles.

glibc only: elsewhere (musl, macOS) the malloc settings do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from scrapy import signals

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

# mallopt(3) parameter numbers, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def _glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library is another."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it
    except (OSError, TypeError, AttributeError):
        return None
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def tune_malloc(mmap_threshold: int, trim_threshold: int) -> bool:
    """Fix glibc's mmap and trim thresholds (bytes; 0 leaves one as it is).  True if each
    one asked for was set (none asked for counts as set)."""
    wanted = [(M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold)]
    wanted = [(param, value) for param, value in wanted if value > 0]
    if not wanted:
        return True
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return all(mallopt(param, value) == 1 for param, value in wanted)


class SteadyMemory:
    """The extension: tunes malloc when the crawler is built, freezes at spider open."""

    def __init__(self, freeze: bool) -> None:
        self.freeze = freeze
        self.frozen = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        mmap_threshold = settings.getint("MALLOC_MMAP_THRESHOLD")
        trim_threshold = settings.getint("MALLOC_TRIM_THRESHOLD")
        if not tune_malloc(mmap_threshold, trim_threshold) and _glibc_mallopt() is not None:
            logger.warning("glibc refused MALLOC_MMAP_THRESHOLD=%d or MALLOC_TRIM_THRESHOLD=%d",
                           mmap_threshold, trim_threshold)
        ext = cls(settings.getbool("GC_FREEZE"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if self.freeze:
            # No gc.collect() first: there it found nothing to free (0 of ~116,000 objects)
            # and took ~50 ms of the crawl's time.
            gc.freeze()
            self.frozen = True

    def spider_closed(self, spider: Spider) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
