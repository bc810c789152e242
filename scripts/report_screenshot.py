"""Full-page PNG of a report in Debian's chromium-headless-shell (docs/report.png).

    python scripts/report_screenshot.py output/report.html docs/report.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.defaults import BROWSER_EXECUTABLE  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


def main(source: str, target: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=BROWSER_EXECUTABLE, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(Path(source).resolve().as_uri(), wait_until="load")
            page.screenshot(path=target, full_page=True)
        finally:
            browser.close()
    print(target)


if __name__ == "__main__":
    main(*sys.argv[1:3])
