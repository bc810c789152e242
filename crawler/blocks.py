"""What a block looks like, and reading a header: pure, no Scrapy (sources read
answers with these; ``crawler.failures`` names the rest of the failure reasons)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.headers import header_text

# AWS WAF tells what it did in this header; each action is a block, never a page.
WAF_ACTION_HEADER = b"x-amzn-waf-action"
BLOCK_REASONS = {
    "challenge": "blocked",  # HTTP 202, an empty body (2026) or a challenge page (before)
    "captcha": "captcha",  # HTTP 405
    "block": "waf_block",  # HTTP 403
}
# IMDb's challenge status: a 202 is never a title page, with or without the header.
CHALLENGE_STATUS = 202


def block_reason(status: int, headers: Mapping[bytes, Any] | Any) -> str | None:
    """The failure reason when an answer is a block (see ``BLOCK_REASONS``), else None."""
    action = header_text(headers, WAF_ACTION_HEADER).strip().lower()
    if action:
        return BLOCK_REASONS.get(action, "blocked")
    if status == CHALLENGE_STATUS:
        return "blocked"
    return None
