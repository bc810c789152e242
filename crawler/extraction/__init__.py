"""Title-page extraction: bytes of a fetched page -> a classified ``PageResult``; full
credits pages: :func:`extract_full_credits` -> a ``FullCreditsResult``.

Pure Python (no Scrapy): the spider, the tests and ``bench/extract.py`` call it alike.
"""

from __future__ import annotations

from crawler.extraction.fullcredits import classify_full_credits, extract_full_credits
from crawler.extraction.page import extract
from crawler.ids import tconst_from_url
from crawler.records import PageKind, PageResult

__all__ = ["classify_full_credits", "extract_full_credits", "extract_page"]


def extract_page(
    body: bytes | str, url: str, status: int = 200, content_type: str | None = None
) -> PageResult:
    """Classify a fetched page and, for a title page, read every field it shows.

    Never raises: whatever goes wrong becomes a PageResult of kind OTHER with the reason.
    """
    try:
        return extract(body, url, status, content_type)
    except Exception as exc:  # a broken page must not stop a crawl
        try:
            tconst = tconst_from_url(url) if isinstance(url, str) else None
        except Exception:
            tconst = None
        return PageResult(
            kind=PageKind.OTHER,
            reason=f"extraction error: {exc!r}"[:300],
            tconst=tconst,
            found_tconst=None,
            title=None,
        )
