"""A real redis-server (Debian's) on 127.0.0.1 and a free port, for one test session.

Started by the ``redis_url`` fixture (tests/conftest.py); never the system server on
6379.  Without redis-server installed the shared-crawl tests skip, naming the install
script, except under REQUIRE_REDIS=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from tests.local_server import LocalServer, free_port

READY = "Ready to accept connections"
__all__ = ["RedisServer", "free_port"]


class RedisServer(LocalServer):
    name = "redis-server"

    def __init__(self, executable: str | None = None, debug: bool = False) -> None:
        super().__init__()
        self.executable = executable or shutil.which("redis-server") or ""
        self._dir = tempfile.mkdtemp(prefix="redis-test-")
        self.debug = debug  # DEBUG RELOAD (an older snapshot restored) allowed

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _try_start(self, timeout: float) -> bool:
        cmd = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", self._dir,
               "--daemonize", "no", "--loglevel", "notice",
               *(["--enable-debug-command", "yes"] if self.debug else [])]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        ready = threading.Event()
        lines: list[str] = []

        def watch() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                if READY in line:
                    ready.set()
            ready.set()  # exited: wake the waiter

        threading.Thread(target=watch, daemon=True).start()
        ready.wait(timeout)
        if self.process.poll() is None and any(READY in line for line in lines):
            return True
        self.stop()
        return False

    def kill(self) -> None:
        """SIGKILL: nothing is saved."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def start_again(self, timeout: float = 30.0) -> None:
        """Start on the same port: what it holds then is only a snapshot saved earlier
        (SAVE), if any; without one, nothing."""
        if not self._try_start(timeout):
            raise RuntimeError(f"redis-server did not start again on port {self.port}")

    def restart(self) -> None:
        self.kill()
        self.start_again()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def required() -> bool:
    return os.environ.get("REQUIRE_REDIS") == "1"


INSTALL_HINT = f"redis-server not installed: run `bash {Path('scripts/install-redis.sh')}`"
