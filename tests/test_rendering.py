"""Rendering title pages through headless Chromium (crawler.rendering).

The settings and policy tests run anywhere.  The ``browser`` tests drive the real
spider in a subprocess against the local mirror on 127.0.0.1 and need Debian's
chromium-headless-shell; they skip, naming the package, when it is absent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler import rendering
from crawler.rendering import (
    BROWSER_PACKAGE,
    BrowserUnavailableError,
    abort_request,
    browser_meta,
    check_browser,
    configure,
    same_site,
)

BROWSER_PRESENT = os.access(rendering.DEFAULT_BROWSER_EXECUTABLE, os.X_OK)
needs_browser = pytest.mark.skipif(
    not BROWSER_PRESENT,
    reason=f"{rendering.DEFAULT_BROWSER_EXECUTABLE} not found: install Debian's package "
    f"{BROWSER_PACKAGE} (scripts/install-browser.sh)",
)


def _settings(**values: object) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for k, v in values.items():
        settings.set(k, v, priority="cmdline")
    return settings


# --- settings -----------------------------------------------------------------------------


def test_configure_installs_the_handler_for_the_sites_scheme_only() -> None:
    settings = _settings(IMDB_BASE_URL="http://127.0.0.1:8123")
    configure(settings)
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert handlers["http"] == "crawler.rendering.BrowserDownloadHandler"
    assert "https" not in handlers
    assert settings["PLAYWRIGHT_BROWSER_TYPE"] == "chromium"
    launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert launch["executable_path"] == "/usr/lib/chromium/chromium-headless-shell"
    assert launch["headless"] is True
    for flag in ("--no-sandbox", "--disable-background-networking", "--disable-quic",
                 "--disable-component-update", "--disable-sync", "--no-first-run"):
        assert flag in launch["args"]
    rules = [a for a in launch["args"] if a.startswith("--host-resolver-rules=")]
    assert rules == ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
    assert settings["PLAYWRIGHT_ABORT_REQUEST"] == "crawler.rendering.abort_request"


def test_configure_takes_the_executable_from_settings_and_lets_the_command_line_win() -> None:
    settings = _settings(
        IMDB_BASE_URL="https://www.imdb.com",
        BROWSER_EXECUTABLE="/opt/chromium/headless_shell",
        PLAYWRIGHT_BROWSER_TYPE="firefox",
    )
    configure(settings)
    assert settings.getdict("DOWNLOAD_HANDLERS")["https"].endswith("BrowserDownloadHandler")
    launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS")
    assert launch["executable_path"] == "/opt/chromium/headless_shell"
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE www.imdb.com" in launch["args"]
    assert settings["PLAYWRIGHT_BROWSER_TYPE"] == "firefox"  # -s beats configure()


def test_check_browser_names_the_package_when_the_executable_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BrowserUnavailableError) as missing:
        check_browser(_settings(RENDER="auto", BROWSER_EXECUTABLE=str(tmp_path / "nope")))
    assert "chromium-headless-shell" in str(missing.value)
    assert "apt-get install" in str(missing.value)
    assert str(tmp_path / "nope") in str(missing.value)

    not_executable = tmp_path / "chromium"
    not_executable.write_text("")
    with pytest.raises(BrowserUnavailableError, match="is not executable"):
        check_browser(_settings(RENDER="always", BROWSER_EXECUTABLE=str(not_executable)))


@needs_browser
@pytest.mark.browser
def test_check_browser_accepts_the_installed_browser() -> None:
    check_browser(_settings(RENDER="auto"))


def test_browser_meta_asks_for_the_browser_with_fresh_dicts() -> None:
    first = browser_meta("http://127.0.0.1:8000")
    second = browser_meta("http://127.0.0.1:8000")
    assert first["playwright"] is True
    assert first["playwright_page_goto_kwargs"]["wait_until"] == "domcontentloaded"
    (wait,) = first["playwright_page_methods"]
    assert wait.method is rendering.wait_for_page_data
    # scrapy-playwright pops keys from these: two requests must not share them.
    assert first["playwright_page_goto_kwargs"] is not second["playwright_page_goto_kwargs"]
    assert first["playwright_page_methods"] is not second["playwright_page_methods"]


# --- what the browser may load ------------------------------------------------------------


@dataclass
class _Request:
    url: str
    resource_type: str


@pytest.mark.parametrize(
    ("resource_type", "aborted"),
    [("document", False), ("script", False), ("xhr", False), ("fetch", False),
     ("image", True), ("media", True), ("font", True), ("stylesheet", True),
     ("websocket", True), ("manifest", True), ("other", True)],
)
def test_abort_request_keeps_only_what_renders_data(resource_type: str, aborted: bool) -> None:
    request = _Request("http://127.0.0.1:8000/x", resource_type)
    assert abort_request(request) is aborted  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "host", "port", "same"),
    [
        ("http://127.0.0.1:8000/title/tt0050634/", "127.0.0.1", 8000, True),
        ("http://127.0.0.1:8001/", "127.0.0.1", 8000, False),  # another service on the host
        ("http://127.0.0.2:8000/", "127.0.0.1", 8000, False),
        ("http://localhost:8000/", "127.0.0.1", 8000, False),
        ("https://www.imdb.com/title/tt0050634/", "www.imdb.com", 443, True),
        ("http://www.imdb.com/", "www.imdb.com", 443, True),  # upgraded by the site
        ("https://m.media-amazon.com/images/x.jpg", "www.imdb.com", 443, False),
        ("https://imdb.com.evil.example/", "www.imdb.com", 443, False),
        ("data:image/png;base64,AAAA", "www.imdb.com", 443, True),
        ("ws://www.imdb.com/socket", "www.imdb.com", 443, False),
    ],
)
def test_same_site(url: str, host: str, port: int, same: bool) -> None:
    assert same_site(url, host, port) is same
