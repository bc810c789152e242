"""Rendering title pages through headless Chromium (crawler.download.rendering).

The settings and policy tests run anywhere.  The ``browser`` tests drive the real
spider in a subprocess against the local mirror on 127.0.0.1 and need Debian's
chromium-headless-shell; they skip, naming the package, when it is absent.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from crawler import defaults
from crawler.download import rendering
from crawler.download.rendering import (
    BROWSER_PACKAGE,
    BrowserUnavailableError,
    abort_request,
    browser_meta,
    check_browser,
    configure,
    same_site,
)
from mirror.faults import Fault
from mirror.loader import load_catalogue
from mirror.server import MirrorServer
from tests.crawling import read_table, run_crawl

BROWSER_PRESENT = os.access(defaults.BROWSER_EXECUTABLE, os.X_OK)
needs_browser = pytest.mark.skipif(
    not BROWSER_PRESENT,
    reason=f"{defaults.BROWSER_EXECUTABLE} not found: install Debian's package "
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
    assert handlers["http"] == "crawler.download.rendering.BrowserDownloadHandler"
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
    assert settings["PLAYWRIGHT_ABORT_REQUEST"] == "crawler.download.rendering.abort_request"


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


# --- through the real spider, against pages whose list only a browser sees -------------------

SEED = "tt0050634"


class _Mirror(MirrorServer):
    """The mirror, with what a browser must not load added to every page: images, a font and
    a stylesheet from the mirror itself, an image and a tracker from another host, and a
    script that tries to navigate there."""

    def __init__(self, other_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extras = (
            '<link rel="stylesheet" href="/_assets/site.css">'
            "<style>@font-face{font-family:F;src:url(/_assets/font.woff2)}"
            "body{font-family:F}</style>"
            '<img src="/_assets/poster.jpg" alt="">'
            f'<img src="{other_url}/_assets/offsite.jpg" alt="">'
            f"<script>fetch('{other_url}/_track',{{mode:'no-cors'}}).catch(function(){{}});"
            f"setTimeout(function(){{location.href='{other_url}/_away';}},0);</script>"
            "</body>"
        ).encode()

    def page_bytes(self, tconst: str, page: str | None = None) -> tuple[bytes, int, str] | None:
        found = super().page_bytes(tconst, page)
        if found is None:
            return None
        body, status, content_type = found
        return body.replace(b"</body>", self.extras), status, content_type


@dataclass
class _Site:
    mirror: _Mirror
    other: MirrorServer  # 127.0.0.2, same port: a request that leaves 127.0.0.1 lands here
    expected: list[str]  # the seed's "More like this" list, in rank order

    @property
    def base_url(self) -> str:
        return self.mirror.base_url

    def assets_hit(self) -> list[str]:
        return [p for p in self.mirror.hits if p.startswith("/_assets/")]


def _on_one_port(records: dict[str, Any]) -> tuple[ExitStack, MirrorServer, _Mirror]:
    """The other host on a free port of 127.0.0.2, then the mirror on that port of 127.0.0.1.
    A port free on one address may be held on the other (by a test in another worker), so
    a port taken there is given back and another chosen."""
    for _ in range(20):
        stack = ExitStack()
        other = stack.enter_context(MirrorServer(host="127.0.0.2"))
        try:
            mirror = stack.enter_context(_Mirror(other.base_url, records=records, port=other.port))
        except OSError as exc:
            stack.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            continue
        return stack, other, mirror
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2 in 20 tries")


@pytest.fixture
def site() -> Iterator[_Site]:
    record, options = load_catalogue()[SEED]
    # The list is neither in the served HTML nor in its JSON: a script inserts it after load.
    records = {SEED: (record, {**options, "js_only_more_like_this": True})}
    stack, other, mirror = _on_one_port(records)
    with stack:
        yield _Site(mirror, other, [s["tconst"] for s in record["more_like_this"]])


def test_the_pair_takes_another_port_when_127_0_0_1_holds_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The port the first try gets on 127.0.0.2 is held on 127.0.0.1: the pair is made on
    another port, and the first 127.0.0.2 server is closed."""

    held: list[socket.socket] = []
    made: list[MirrorServer] = []
    real_init = MirrorServer.__init__

    def init(self: MirrorServer, **kwargs: Any) -> None:
        real_init(self, **kwargs)
        made.append(self)
        if not held and kwargs.get("host") == "127.0.0.2":
            sock = socket.socket()
            sock.bind(("127.0.0.1", self.port))
            sock.listen()
            held.append(sock)

    monkeypatch.setattr(MirrorServer, "__init__", init)
    try:
        stack, other, mirror = _on_one_port({})
        with stack:
            assert mirror.port == other.port != made[0].port
            assert other.base_url.startswith("http://127.0.0.2:")
            assert mirror.base_url.startswith("http://127.0.0.1:")
            assert made[0]._httpd.socket.fileno() == -1  # the first try's server is closed
    finally:
        held[0].close()


def _crawl(site: _Site, out: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return run_crawl(site.base_url, out, seed=SEED, depth=0, timeout=120, settings=settings)


def _stat(log: str, name: str) -> int | str | None:
    m = re.search(rf"'{re.escape(name)}': ('[^']*'|\d+)", log)
    if not m:
        return None
    value = m.group(1)
    return value.strip("'") if value.startswith("'") else int(value)


def _edges(out: Path) -> list[str]:
    rows = sorted(read_table(out, "more_like_this"), key=lambda r: r["rank"])
    assert all(r["tconst"] == SEED for r in rows)
    return [r["similar_tconst"] for r in rows]


@needs_browser
@pytest.mark.browser
def test_render_never_does_not_see_the_list(site: _Site, tmp_path: Path) -> None:
    result = _crawl(site, tmp_path, RENDER="never")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [r["tconst"] for r in read_table(tmp_path, "titles")] == [SEED]
    assert _edges(tmp_path) == []
    assert site.mirror.hits[f"/_mirror/mlt/{SEED}.json"] == 0  # nothing ran the page's script


@needs_browser
@pytest.mark.browser
def test_render_auto_recovers_the_list_without_leaving_the_host(
    site: _Site, tmp_path: Path
) -> None:
    result = _crawl(site, tmp_path, RENDER="auto")
    log = result.stderr
    assert result.returncode == 0, log[-3000:]
    assert [r["tconst"] for r in read_table(tmp_path, "titles")] == [SEED]
    assert len(site.expected) == 11
    assert _edges(tmp_path) == site.expected
    assert _stat(log, "render/auto_refetch") == 1
    # Plain fetch, then the browser's: the page's script fetched the list itself.
    assert site.mirror.hits[f"/title/{SEED}/"] == 2
    assert site.mirror.hits[f"/_mirror/mlt/{SEED}.json"] == 1
    # Images, fonts and stylesheets of the site itself were never requested ...
    assert site.assets_hit() == []
    # ... and nothing reached the other host: not the image, the tracker or the navigation.
    assert dict(site.other.hits) == {}
    assert _stat(log, "render/aborted/resource/image") == 1
    assert _stat(log, "render/aborted/resource/stylesheet") == 1
    assert _stat(log, "render/aborted/resource/font") == 1
    assert _stat(log, "render/aborted/offsite") == 3  # image, tracker, navigation
    assert _stat(log, "render/aborted/offsite_navigation") == 1


@needs_browser
@pytest.mark.browser
def test_render_always_fetches_every_title_through_the_browser(
    site: _Site, tmp_path: Path
) -> None:
    result = _crawl(site, tmp_path, RENDER="always")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _edges(tmp_path) == site.expected
    assert _stat(result.stderr, "render/auto_refetch") is None
    assert _stat(result.stderr, "playwright/page_count") == 1
    # The only plain request is robots.txt; the title page was fetched once, by the browser.
    assert site.mirror.hits[f"/title/{SEED}/"] == 1
    assert site.mirror.hits["/robots.txt"] == 1
    assert site.assets_hit() == []
    assert dict(site.other.hits) == {}


# No browser needed: these show what happens without one.
@pytest.mark.parametrize(
    ("executable", "says"),
    [("/nonexistent/chromium-headless-shell", "does not exist"),
     ("/bin/false", "did not start")],
)
def test_a_browser_that_cannot_start_fails_the_crawl(
    site: _Site, tmp_path: Path, executable: str, says: str
) -> None:
    result = _crawl(site, tmp_path, RENDER="auto", BROWSER_EXECUTABLE=executable)
    log = result.stderr
    assert result.returncode == 1, log[-3000:]
    if says == "does not exist":
        # Caught by `scrapy crawl` before anything starts: one line, nothing written.
        assert log.strip().splitlines() == [log.strip()]
        assert log.startswith("scrapy crawl more_like_this: error: ")
        assert "apt-get install -y chromium-headless-shell" in log
        assert not tmp_path.joinpath("titles").exists()
        assert site.mirror.hits[f"/title/{SEED}/"] == 0
        return
    assert _stat(log, "finish_reason") == "browser_failed"
    error = [line for line in log.splitlines() if "ERROR" in line and executable in line]
    assert error, log[-3000:]
    assert says in error[0]
    assert "apt-get install -y chromium-headless-shell" in error[0]
    assert read_table(tmp_path, "titles") == []
    assert site.mirror.hits[f"/title/{SEED}/"] == 0  # stopped before the first title


@needs_browser
@pytest.mark.browser
def test_a_merge_redirect_followed_by_the_browser_is_an_alias(tmp_path: Path) -> None:
    records = load_catalogue()
    neighbour = records[SEED][0]["more_like_this"][0]["tconst"]
    faults = {"tt0000001": Fault.redirect(SEED)}
    with MirrorServer(records=records, faults=faults) as mirror:
        result = run_crawl(mirror.base_url, tmp_path, seed=f"tt0000001,{neighbour}", depth=0,
                           timeout=120, settings={"RENDER": "always"})
    assert result.returncode == 0, result.stderr[-3000:]
    aliases = [(r["tconst"], r["canonical_tconst"]) for r in read_table(tmp_path, "aliases")]
    assert aliases == [("tt0000001", SEED)]
    assert sorted(r["tconst"] for r in read_table(tmp_path, "titles")) == sorted(
        [SEED, neighbour])
    assert read_table(tmp_path, "failures") == []


def test_a_browser_that_dies_and_cannot_restart_closes_the_crawl() -> None:
    """After a crash scrapy-playwright launches the browser again; if that fails, the crawl
    stops with ``browser_failed`` instead of failing every remaining title one by one."""
    import asyncio

    from scrapy.utils.test import get_crawler

    settings = _settings(IMDB_BASE_URL="http://127.0.0.1:8000", RENDER="always")
    configure(settings)
    # No reactor in this process, so no real handler: only the state the launch path uses,
    # driven by asyncio.run below.
    crawler = get_crawler(settings_dict={**settings.copy_to_dict(),
                                         "TWISTED_REACTOR_ENABLED": False})
    crawler.stats.open_spider()
    handler = rendering.BrowserDownloadHandler.__new__(rendering.BrowserDownloadHandler)
    handler._crawler = crawler
    handler.stats = crawler.stats
    handler._failed = False
    handler._closing = None

    class Provider:
        async def launch_browser(self) -> None:
            raise RuntimeError("Browser closed.\n==== logs ====\nbrowser has crashed")

    closed: list[str] = []

    class Engine:
        spider = object()

        async def close_spider_async(self, *, reason: str) -> None:
            closed.append(reason)

    handler.browser_provider = Provider()  # type: ignore[assignment]
    handler._launched = True  # it had started with the spider
    crawler.engine = Engine()  # type: ignore[assignment]

    async def relaunch_twice() -> None:
        handler.browser_launch_lock = asyncio.Lock()
        for _ in range(2):
            with pytest.raises(RuntimeError, match="Browser closed"):
                await handler._maybe_launch_browser()
        assert handler._closing is not None
        await handler._closing  # the close it scheduled

    asyncio.run(relaunch_twice())
    assert closed == ["browser_failed"]  # once, however many requests hit the failure
    error = crawler.stats.get_value("render/browser_error")
    assert error.startswith("RuntimeError: Browser closed.")
