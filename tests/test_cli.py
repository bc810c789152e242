"""Bad input ends `scrapy crawl` with one clear line, a non-zero exit, no traceback,
nothing written; and the consoles that run code from the network stay off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests import forkserver
from tests.crawling import ROOT, crawl_command

# Nothing listens here: a check that let a crawl start would fail to connect, and the
# test would see a crawl's output rather than the one-line error.
UNUSED = "http://127.0.0.1:9"


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return forkserver.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.mark.parametrize(
    ("args", "settings", "message"),
    [
        ({"seed": "foo"}, {}, "invalid seed 'foo': expected a tconst like tt0050634"),
        ({"seed": "https://example.com/title/tt0050634/"}, {}, "invalid seed"),
        ({"depth": "-1"}, {}, "depth=-1 is out of range; expected an integer >= 0"),
        ({"max_titles": "0"}, {}, "max_titles=0 is out of range; expected an integer >= 1"),
        ({}, {"RENDER": "sometimes"}, "RENDER='sometimes' is not a rendering mode; "
                                      "expected one of never, auto, always"),
        ({}, {"IMDB_BASE_URL": "http://user:secret@127.0.0.1:9"},
         "IMDB_BASE_URL='http://***:***@127.0.0.1:9' carries credentials"),
        ({}, {"IMDB_BASE_URL": "http://127.0.0.1:9?x=1"}, "has a query or fragment"),
        ({}, {"IMDB_BASE_URL": "http://127.0.0.1:9/#f"}, "has a query or fragment"),
        ({}, {"CONCURRENT_REQUESTS_PER_DOMAIN": "0"},
         "CONCURRENT_REQUESTS_PER_DOMAIN='0' is out of range; expected a whole number >= 1"),
        ({}, {"CONCURRENT_REQUESTS": "-2"}, "CONCURRENT_REQUESTS='-2' is out of range"),
        ({}, {"DOWNLOAD_DELAY": "-1"}, "DOWNLOAD_DELAY='-1' is out of range; expected a "
                                       "number >= 0"),
        ({"seed": "tt\u0660\u0661\u0663\u0663\u0660\u0669\u0663"}, {}, "invalid seed"),
        ({"credits": "all"}, {}, "credits='all' is not a credits mode; expected page (the "
                                 "title page's credits) or full"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(
    tmp_path: Path, args: dict[str, str], settings: dict[str, str], message: str
) -> None:
    out = tmp_path / "out"
    seed = args.pop("seed", "tt0050634")
    depth = int(args.pop("depth", 0))
    max_titles = args.pop("max_titles", None)
    cmd = crawl_command(UNUSED, out, seed=seed, depth=None,
                        max_titles=int(max_titles) if max_titles else None,
                        settings=settings, extra_args={"depth": str(depth), **args})
    proc = run(cmd)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"scrapy crawl more_like_this: error: {lines[0].split('error: ', 1)[1]}"]
    assert message in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "secret" not in proc.stderr  # credentials are never echoed
    assert not out.exists()


def test_unwritable_output_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = run(crawl_command(UNUSED, blocker / "out", seed="tt0050634"))
    assert proc.returncode == 2
    assert "OUTPUT_DIR=" in proc.stderr and "is not writable" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_code_consoles_are_off() -> None:
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False
    extensions = settings.getwithbase("EXTENSIONS")
    assert extensions["scrapy.extensions.telnet.TelnetConsole"] is None
    assert extensions["scrapy.extensions.remote_control.RemoteControl"] is None
    # That no crawl loads them is checked on a real crawl's log in test_crawl_real_pages.


def test_scrapy_list_names_the_spiders() -> None:
    proc = run([sys.executable, "-m", "scrapy", "list"])
    assert proc.stdout.split() == ["imdb_datasets", "more_like_this"]


def test_a_crawl_that_fetched_no_title_exits_1(tmp_path: Path) -> None:
    from mirror.server import MirrorServer

    with MirrorServer(records={}) as mirror:  # every title is a 404
        proc = run(crawl_command(mirror.base_url, tmp_path / "out", seed="tt0050634"))
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(
        "scrapy crawl more_like_this: error: no title could be fetched; see the failures "
        "table for why")
