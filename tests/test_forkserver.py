"""The tests' warm start (tests/forkserver.py) behaves as the subprocess it replaces:
the same exit code and output, signals reaching the crawl, pipes and timeouts."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from mirror.loader import load_catalogue
from mirror.server import MirrorServer
from tests import forkserver
from tests.crawling import ROOT, crawl_command, read_table

UNUSED = "http://127.0.0.1:9"  # nothing listens: a crawl that started would fail to connect


def test_a_forked_command_ends_as_its_subprocess_does(tmp_path: Path) -> None:
    cmd = crawl_command(UNUSED, tmp_path / "out", seed="foo")
    assert forkserver.CLIENT.takes(cmd, str(ROOT), dict(forkserver.os.environ))
    forked = forkserver.run(cmd, cwd=ROOT, timeout=60)
    real = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        real.returncode, real.stdout, real.stderr)
    assert forked.returncode == 2
    assert forked.stderr.splitlines()[-1].startswith(
        "scrapy crawl more_like_this: error: invalid seed 'foo': expected a tconst")
    assert not (tmp_path / "out").exists()


def test_a_forked_crawl_writes_its_rows_and_a_sigkill_reaches_it(tmp_path: Path) -> None:
    with MirrorServer(records=load_catalogue()) as mirror:
        done = forkserver.run(crawl_command(mirror.base_url, tmp_path / "a", seed="tt0050634"),
                              cwd=ROOT, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        (row,) = read_table(tmp_path / "a", "titles")
        assert (row["tconst"], row["primary_title"]) == ("tt0050634", "Letyat zhuravli")
        # A crawl held by a delay far longer than the test: only the signal ends it.
        cmd = crawl_command(mirror.base_url, tmp_path / "b", seed="tt0050634", depth=2,
                            settings={"DOWNLOAD_DELAY": "600"})
        proc = forkserver.popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stderr.readline()  # it runs: its log has begun
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(60) == -signal.SIGKILL
        proc.stderr.close()
